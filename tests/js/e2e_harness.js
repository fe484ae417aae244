// End-to-end harness: runs max_patches/arvae-live.js (fake LiveAPI, real timers) against a real daemon over UDP.
//
// It plays the part of the patch's udpsend/udpreceive: each message the script gives outlet 0 becomes one OSC
// datagram to 127.0.0.1:<daemon-port> (integral numbers as int32 `i`, others as float32 `f`, strings as `s`,
// which is how Max's js + udpsend type them), and each datagram arriving on <reply-port> is decoded and given to
// the script as a message whose selector is the OSC address (udpreceive -> deferlow -> routepass -> js).
//
// Usage: node tests/js/e2e_harness.js <daemon-port> <reply-port> <scenario>
// Scenarios: "regen" (a 2-bar melody, two variations, one dial moved) and "offline" (nobody listens).
// Prints one JSON object: the device's status lines, the clips now in the fake Set, the Set's change log, and every
// datagram received from the daemon as hex, so the caller can decode them on its own and compare.
"use strict";

const dgram = require("dgram");
const {FakeSet, loadDevice} = require("./fake_max.js");

// ---- OSC 1.0 encoding (only what protocol v1 uses: i, f, s) ----------------------------------------------------

function oscString(s) {
  const raw = Buffer.from(String(s) + "\0", "utf8");
  const padded = Buffer.alloc(Math.ceil(raw.length / 4) * 4);
  raw.copy(padded);
  return padded;
}

function encode(msg) {
  const [address, ...args] = msg;
  let tags = ",";
  const parts = [];
  for (const a of args) {
    if (typeof a === "number" && Number.isInteger(a) && Math.abs(a) <= 2147483647) {
      tags += "i";
      const b = Buffer.alloc(4);
      b.writeInt32BE(a);
      parts.push(b);
    } else if (typeof a === "number") {
      tags += "f";
      const b = Buffer.alloc(4);
      b.writeFloatBE(a);
      parts.push(b);
    } else {
      tags += "s";
      parts.push(oscString(a));
    }
  }
  return Buffer.concat([oscString(address), oscString(tags), ...parts]);
}

function readString(buf, off) {
  const end = buf.indexOf(0, off);
  return [buf.toString("utf8", off, end), Math.ceil((end + 1) / 4) * 4];
}

function decode(buf) {
  let [address, off] = readString(buf, 0);
  let tags;
  [tags, off] = readString(buf, off);
  const args = [];
  for (const t of tags.slice(1)) {
    if (t === "i") { args.push(buf.readInt32BE(off)); off += 4; }
    else if (t === "f") { args.push(buf.readFloatBE(off)); off += 4; }
    else if (t === "s") { let s; [s, off] = readString(buf, off); args.push(s); }
    else throw new Error("unexpected OSC type " + t + " in " + address);
  }
  return [address, args];
}

// ---- the scenario ----------------------------------------------------------------------------------------------

// Two bars of a melody (beats from the clip start): quarters, then 8ths and a half note played a little late
// (6.05: off the grid, so the daemon snaps it and says so in a /arvae/warning).
const MELODY = [
  [60, 0, 1], [62, 1, 1], [64, 2, 1], [65, 3, 1],
  [67, 4, 0.5], [65, 4.5, 0.5], [64, 5, 0.5], [62, 5.5, 0.5], [60, 6.05, 1.95],
].map(([pitch, start, dur]) => ({pitch: pitch, start_time: start, duration: dur, velocity: 96}));

function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error("timed out waiting"));
      setTimeout(tick, 20);
    };
    tick();
  });
}

async function main() {
  const [daemonPort, replyPort, scenario] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
  const set = new FakeSet();
  set.addTrack(4);
  set.detailClip = set.putClip(0, 0, {name: "theme", length: 8, notes: MELODY});
  const dev = loadDevice({set: set, replyPort: replyPort, realTime: true});

  const received = [];
  const sock = dgram.createSocket("udp4");
  sock.on("message", (buf) => {
    received.push(buf.toString("hex"));
    const [address, args] = decode(buf);
    // udpreceive -> deferlow: delivered later, never inside the script's own outlet call
    setImmediate(() => dev.msg(address, ...args));
  });
  await new Promise((resolve) => sock.bind(replyPort, "127.0.0.1", resolve));
  dev.onSend((msg) => sock.send(encode(msg), daemonPort, "127.0.0.1"));

  dev.msg("bang");
  let error = null;
  try {
    if (scenario === "regen") {
      await waitFor(() => /online/.test(dev.text("status_conn")) && dev.text("attr_label_0") !== "", 20000);
      dev.msg("variations", 2);
      dev.msg("seed", 11);
      dev.msg("temperature", 0.5);
      dev.msg("target", 2, 0.9);
      dev.msg("regen", 1);
      await waitFor(() => /^(Wrote|Nothing written)/.test(dev.text("status_msg")), 60000);
    } else {
      await new Promise((resolve) => setTimeout(resolve, 300));
      dev.msg("regen", 1);
    }
  } catch (e) {
    error = String(e);
  }
  dev.ctx.notifydeleted();
  sock.close();
  const clips = set.tracks[0].slots.map((s) => s.clip === null ? null : {
    name: s.clip.name, length: s.clip.length, color: s.clip.color,
    notes: s.clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]),
  });
  process.stdout.write(JSON.stringify({
    error: error,
    status_conn: dev.text("status_conn"),
    status_msg: dev.text("status_msg"),
    attr_labels: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => dev.text("attr_label_" + i)),
    attr_results: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => dev.text("attr_result_" + i)),
    clips: clips,
    changes: set.changes,
    undo_steps: set.undoSteps,
    sent: dev.sent,
    received: received,
    misses: dev.patcher.misses,
  }) + "\n");
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
