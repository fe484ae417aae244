// End-to-end harness: runs max_patches/arvae-live.js (strict fake Live Set, real timers) against a real daemon over
// UDP on 127.0.0.1, one or two copies of the device in one process (one Max: they share a Global).
//
// It plays the part of the patch's udpsend/udpreceive: each message the script gives outlet 0 becomes one OSC
// datagram to 127.0.0.1:<daemon-port> from that device's own socket (integral numbers as int32 `i`, others as
// float32 `f`, strings as `s`, which is how Max's js + udpsend type them); `port N` to the device's udpreceive binds
// a real socket on N (a port in use fails the way Max's does: nothing arrives), and each datagram arriving there is
// decoded and given to the script as a message whose selector is the OSC address (udpreceive -> deferlow ->
// routepass -> js).
//
// Usage: node tests/js/e2e_harness.js <daemon-port> <base-reply-port> <scenario>
// Scenarios: "regen" (a 2-bar melody, two variations, one dial moved), "offline" (nobody listens), "two" (another
// program holds the base port; two devices regenerate at once), "modes" (Sample, then Interpolate), "resend" (the
// device's receive drops the first stream's second note: it must ask again with /arvae/resend), "key" (the Key
// menu on Live's scale, Db major pentatonic in the fake Set, then a regeneration and a Sample).
// Prints one JSON object: per device its status lines, the clips now in the fake Set, the Set's change log, what it
// sent and every datagram it received as hex, so the caller can decode them on its own and compare.
"use strict";

const dgram = require("dgram");
const {FakeSet, loadDevice} = require("./fake_max.js");

// ---- OSC 1.0 encoding (only what the protocol uses: i, f, s) ---------------------------------------------------

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

// ---- a device wired to real sockets ----------------------------------------------------------------------------

// Two bars of a melody (beats from the clip start): quarters, then 8ths and a half note played a little late
// (6.05: off the grid, so the daemon snaps it and says so in a /arvae/warning).
const MELODY = [
  [60, 0, 1], [62, 1, 1], [64, 2, 1], [65, 3, 1],
  [67, 4, 0.5], [65, 4.5, 0.5], [64, 5, 0.5], [62, 5.5, 0.5], [60, 6.05, 1.95],
].map(([pitch, start, dur]) => ({pitch: pitch, start_time: start, duration: dur, velocity: 96}));

const GLOBALS = new Map();

function closeQuietly(sock) {
  try { sock.close(); } catch (e) { /* already closed */ }
}
const sockets = [];

async function wiredDevice(set, daemonPort, basePort, opts) {
  const out = dgram.createSocket("udp4"); // the patch's udpsend: its own source port, so its own client
  sockets.push(out);
  await new Promise((resolve) => out.bind(0, "127.0.0.1", resolve));
  const received = [];
  let inSock = null;
  let dev = null;
  let dropped = 0;
  const io = {
    bindReply(port) {
      if (inSock !== null) closeQuietly(inSock);
      const sock = dgram.createSocket("udp4");
      sockets.push(sock);
      inSock = sock;
      sock.on("error", () => closeQuietly(sock)); // EADDRINUSE: like Max, the device just hears nothing there
      sock.on("message", (buf) => {
        const [address, args] = decode(buf);
        if (opts.drop && opts.drop(address, args, dropped)) { dropped += 1; return; }
        received.push(buf.toString("hex"));
        setImmediate(() => dev.msg(address, ...args)); // deferlow: later, never inside the script's own outlet call
      });
      sock.bind(port, "127.0.0.1");
      return true;
    },
    probe(port, msg) { out.send(encode(msg), port, "127.0.0.1"); },
  };
  dev = loadDevice({set: set, basePort: basePort, realTime: true, globals: GLOBALS, io: io});
  dev.onSend((msg) => out.send(encode(msg), daemonPort, "127.0.0.1"));
  dev.received = received;
  return dev;
}

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

const FINISHED = /^(Wrote|Nothing written|Replaced)/;

function readyDevice(dev) {
  return waitFor(() => /online/.test(dev.text("status_conn")) && dev.text("attr_label_0") !== "", 20000);
}

// A wired device that has loaded (bang) and has the daemon's lists.
async function startedDevice(set, daemonPort, basePort, opts) {
  const dev = await wiredDevice(set, daemonPort, basePort, opts || {});
  dev.msg("bang");
  await readyDevice(dev);
  return dev;
}

// Sends the controls' messages ([selector, value] pairs), presses Go, waits for the outcome.
async function press(dev, controls) {
  for (const [selector, ...args] of controls) dev.msg(selector, ...args);
  dev.patcher.boxes.get("status_msg").text = "";
  dev.msg("go", 1);
  await waitFor(() => FINISHED.test(dev.text("status_msg")), 60000);
  return dev.text("status_msg");
}

function report(dev, track) {
  const t = dev.set.tracks[track];
  return {
    status_conn: dev.text("status_conn"),
    status_msg: dev.text("status_msg"),
    reply_port: dev.ctx.state.replyPort,
    attr_labels: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => dev.text("attr_label_" + i)),
    attr_results: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => dev.text("attr_result_" + i)),
    clips: t.slots.map((s) => s.clip === null ? null : {
      name: s.clip.name, length: s.clip.length,
      notes: s.clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]),
    }),
    sent: dev.sent,
    received: dev.received,
    misses: dev.patcher.misses,
  };
}

// ---- scenarios -------------------------------------------------------------------------------------------------

const SCENARIOS = {
  async regen(daemonPort, basePort, set) {
    set.addTrack(4);
    set.detailClip = set.putClip(0, 0, {name: "theme", length: 8, notes: MELODY});
    const dev = await startedDevice(set, daemonPort, basePort);
    await press(dev, [["variations", 2], ["seed", 11], ["temperature", 0.5], ["target", 2, 0.9]]);
    return [report(dev, 0)];
  },

  async offline(daemonPort, basePort, set) {
    set.addTrack(4);
    set.detailClip = set.putClip(0, 0, {name: "theme", length: 8, notes: MELODY});
    const dev = await wiredDevice(set, daemonPort, basePort, {});
    dev.msg("bang");
    await new Promise((resolve) => setTimeout(resolve, 800));
    dev.msg("go", 1);
    return [report(dev, 0)];
  },

  async two(daemonPort, basePort, set) {
    const foreign = dgram.createSocket("udp4"); // another program on the base port
    sockets.push(foreign);
    await new Promise((resolve) => foreign.bind(basePort, "127.0.0.1", resolve));
    set.addTrack(4);
    set.addTrack(4);
    const clipA = set.putClip(0, 0, {name: "one", length: 8, notes: MELODY});
    const clipB = set.putClip(1, 0, {name: "two", length: 8,
      notes: MELODY.map((n) => Object.assign({}, n, {pitch: n.pitch + 5}))});
    const [a, b] = await Promise.all([startedDevice(set, daemonPort, basePort),
      startedDevice(set, daemonPort, basePort)]);
    set.detailClip = clipA;
    const first = press(a, [["variations", 2], ["seed", 3], ["target", 0, 0.2]]);
    set.detailClip = clipB; // read at the press, before either result arrives
    await Promise.all([first, press(b, [["variations", 3], ["seed", 4], ["target", 2, 0.8]])]);
    return [report(a, 0), report(b, 1)];
  },

  async modes(daemonPort, basePort, set) {
    set.addTrack(8);
    const clipA = set.putClip(0, 0, {name: "A", length: 8, notes: MELODY});
    const clipB = set.putClip(0, 6, {name: "B", length: 8,
      notes: MELODY.map((n) => Object.assign({}, n, {pitch: n.pitch + 7}))});
    set.highlightedSlot = set.tracks[0].slots[3];
    const dev = await startedDevice(set, daemonPort, basePort);
    const sampled = await press(dev, [["mode", 1], ["bars", 2], ["variations", 2], ["seed", 9], ["target", 1, 0.4]]);
    dev.msg("mode", 2);
    set.detailClip = clipB;
    dev.msg("setb", 1);
    set.detailClip = clipA;
    await press(dev, [["variations", 3]]);
    return [Object.assign(report(dev, 0), {sampled: sampled})];
  },

  async key(daemonPort, basePort, set) {
    set.addTrack(8);
    set.detailClip = set.putClip(0, 0, {name: "theme", length: 8, notes: MELODY});
    set.highlightedSlot = set.tracks[0].slots[4];
    set.song.root_note = 1; // Db
    set.song.scale_intervals = [0, 2, 4, 7, 9]; // major pentatonic: Db Eb F Ab Bb
    const dev = await startedDevice(set, daemonPort, basePort);
    dev.msg("key", 2); // Live's scale
    const regenerated = await press(dev, [["variations", 2], ["seed", 13], ["target", 1, 0.9]]);
    const sampled = await press(dev, [["mode", 1], ["bars", 2], ["variations", 2], ["seed", 17]]);
    return [Object.assign(report(dev, 0), {regenerated: regenerated, sampled: sampled})];
  },

  async resend(daemonPort, basePort, set) {
    set.addTrack(4);
    set.detailClip = set.putClip(0, 0, {name: "theme", length: 8, notes: MELODY});
    // the first stream's note idx 1 of variation 0 is lost on the way
    const drop = (address, args, dropped) => dropped === 0 && address === "/arvae/result/note" && args[1] === 0 &&
      args[2] === 1;
    const dev = await startedDevice(set, daemonPort, basePort, {drop: drop});
    await press(dev, [["seed", 5]]);
    return [report(dev, 0)];
  },
};

async function main() {
  const [daemonPort, basePort, scenario] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
  const set = new FakeSet();
  let devices = [];
  let error = null;
  try {
    devices = await SCENARIOS[scenario](daemonPort, basePort, set);
  } catch (e) {
    error = String(e && e.stack || e);
  }
  for (const s of sockets) closeQuietly(s);
  process.stdout.write(JSON.stringify({error: error, devices: devices, changes: set.changes}) + "\n");
  process.exit(0); // the devices' timers (pings) would keep Node running
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
