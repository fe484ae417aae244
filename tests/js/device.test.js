// Unit tests of max_patches/arvae-live.js under Node (node --test tests/js/), with the strict fake Live Set
// (fake_max.js, built from lom_api.js) and a daemon stand-in (daemon_stub.js) on an in-memory network. Expected
// messages and notes are written out by hand below.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const {FakeSet, FakeNet, loadDevice, makeLiveAPI, DEVICE_JS} = require("./fake_max.js");
const {daemonStub, ATTRS} = require("./daemon_stub.js");

// Four quarter notes C D E F in one 4/4 bar (beats from the clip start).
const SCALE_NOTES = [
  {pitch: 60, start_time: 0, duration: 1, velocity: 100},
  {pitch: 62, start_time: 1, duration: 1, velocity: 100},
  {pitch: 64, start_time: 2, duration: 1, velocity: 100},
  {pitch: 65, start_time: 3, duration: 1, velocity: 100},
];

function setWithScale(extra, nSlots) {
  const set = new FakeSet();
  set.addTrack(nSlots || 4);
  set.detailClip = set.putClip(0, 0, Object.assign({notes: SCALE_NOTES}, extra));
  return set;
}

// A device that has claimed its port, registered and received the daemon's lists.
function ready(set, daemonOpts, deviceOpts) {
  const net = (deviceOpts && deviceOpts.net) || new FakeNet();
  const daemon = daemonStub(net, daemonOpts);
  const dev = loadDevice(Object.assign({set: set, net: net, globals: new Map()}, deviceOpts));
  dev.msg("bang");
  net.flush();
  return {dev, daemon, net};
}

function slotsOf(set, t) {
  return set.tracks[t].slots.map((s) => s.clip);
}

function simpleNotes(clip) {
  return clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]);
}

// Everything a write could change, to compare before and after a refused one.
function snapshot(set) {
  return JSON.stringify({
    scenes: set.scenes.length,
    tracks: set.tracks.map((t) => ({
      slots: t.slots.map((s) => s.clip && {name: s.clip.name, color: s.clip.color_index, notes: simpleNotes(s.clip)}),
      arrangement: t.arrangement.map((c) => simpleNotes(c).sort((a, b) => a[1] - b[1] || a[0] - b[0])),
    })),
  });
}

test("init proves its port, says hello with it, echoes the nonce, then asks for the lists and sets the key", () => {
  const set = new FakeSet();
  const {dev} = ready(set, {}, {basePort: 9555});
  const addrs = dev.sent.map((m) => m[0]);
  assert.deepEqual(addrs.slice(0, 3), ["/arvae/hello", "/arvae/ping", "/arvae/verify"]);
  assert.deepEqual(dev.sent[0].slice(2), ["arvae-m4l", 9555, 1]);
  assert.deepEqual(dev.sentTo("/arvae/verify")[0].slice(2), [777001]);
  assert.deepEqual(addrs.slice(3), ["/arvae/models/list", "/arvae/attrs/list", "/arvae/status", "/arvae/scale"]);
  assert.deepEqual(dev.sentTo("/arvae/scale")[0].slice(2), ["auto"]);
  const rids = dev.sent.map((m) => m[1]);
  assert.equal(new Set(rids).size, rids.length, "every request has its own rid");
  assert.deepEqual(dev.patcher.boxes.get("reply_in").messages, [["maxqueuesize", 8192], ["port", 9555]]);
  assert.match(dev.text("status_conn"), /online/);
});

test("a daemon without /arvae/verify (no nonce in its hello) is used as it is", () => {
  const {dev} = ready(new FakeSet(), {verify: false});
  assert.deepEqual(dev.sentTo("/arvae/verify"), []);
  assert.equal(dev.text("attr_label_0"), "rhythmic complexity");
});

test("replies bring the device online, fill the model menu, name dials and parameters after the attributes", () => {
  const set = new FakeSet();
  const {dev} = ready(set, {attrs: [["note_density", 0, 1], ["contour", -1, 1], ["rhythmic_complexity", 0, 1]]});
  assert.match(dev.text("status_conn"), /daemon online \| model folk-4attr-small/);
  const menu = dev.patcher.boxes.get("model_menu").messages;
  // "auto (by meter)" first (#18), then each model with the first meter it serves
  assert.deepEqual(menu[0], ["_parameter_range", "auto (by meter)", "folk-4attr-small 4/4"]);
  assert.deepEqual(menu[menu.length - 1], ["set", 0]);
  for (let i = 0; i < 8; i++) assert.equal(dev.patcher.boxes.get("attr_dial_" + i).hidden, i < 3 ? 0 : 1);
  // full names, readable, and the automation lanes (parameter names) follow the attributes
  assert.equal(dev.text("attr_label_2"), "rhythmic complexity");
  const names = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => set.parameterOf("attr_dial_" + i).name);
  assert.deepEqual(names, ["note_density", "contour", "rhythmic_complexity", "Attr 4", "Attr 5", "Attr 6",
    "Attr 7", "Attr 8"]);
  assert.deepEqual(set.console, [], "never two parameters with one name");
  assert.deepEqual(dev.patcher.misses, []);
});

test("ping latency is the round trip on the device's clock", () => {
  const {dev, net} = ready(new FakeSet());
  dev.clock.advance(2000);
  const pingRid = dev.sentTo("/arvae/ping").pop()[1];
  dev.clock.advance(7);
  net.flush();
  assert.equal(dev.ctx.state.pingRid, 0);
  assert.match(dev.text("status_conn"), /ping 7\.0 ms/);
  assert.ok(pingRid > 0);
});

test("the status line goes offline after two unanswered pings, and the device says hello again", () => {
  const {dev, daemon} = ready(new FakeSet());
  daemon.opts.online = false;
  dev.clock.advance(2000);
  dev.clock.advance(2000);
  assert.match(dev.text("status_conn"), /online/);
  dev.clock.advance(2000);
  assert.match(dev.text("status_conn"), /offline/);
  const hellos = dev.sentTo("/arvae/hello").length;
  dev.clock.advance(2000);
  assert.equal(dev.sentTo("/arvae/hello").length, hellos + 1);
});

test("a full regeneration writes each variation into a new slot below, read back, nothing undocumented", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {
    results: [[[67, 0, 0.5, 90], [69, 0.5, 0.5, 90]], [[72, 0, 2, 80]]],
    achieved: [["rhythmic_complexity", 0.2, "pitch_range", 0.1, "note_density", 0.75, "contour", 0.5],
      ["rhythmic_complexity", 0.4, "pitch_range", 0.3, "note_density", 0.85, "contour", 0.5]],
    asked: [["rhythmic_complexity", 0.1, "pitch_range", 0.2, "note_density", 0.8, "contour", 0.6],
      ["rhythmic_complexity", 0.1, "pitch_range", 0.2, "note_density", 0.8, "contour", 0.6]],
  });
  dev.msg("variations", 2);
  dev.msg("seed", 7);
  dev.msg("temperature", 0.5);
  dev.msg("target", 2, 0.8);
  dev.sent.length = 0;
  dev.msg("go", 1);
  const up = dev.sent.map((m) => [m[0]].concat(m.slice(2)));
  assert.deepEqual(up, [
    ["/arvae/clip/begin", 0, 4, 4],
    ["/arvae/clip/note", 0, 0, 60, 0, 1, 100],
    ["/arvae/clip/note", 0, 1, 62, 1, 1, 100],
    ["/arvae/clip/note", 0, 2, 64, 2, 1, 100],
    ["/arvae/clip/note", 0, 3, 65, 3, 1, 100],
    ["/arvae/clip/end", 0, 4],
  ]);
  assert.match(dev.text("status_busy"), /^busy: regenerating/);
  assert.equal(set.changes.length, 0, "nothing written before the result");
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(2), [0, 2, 0.5, 7, 0, 1, "note_density", 0.8]);
  const clips = slotsOf(set, 0);
  assert.deepEqual(simpleNotes(clips[1]), [[67, 0, 0.5, 90], [69, 0.5, 0.5, 90]]);
  assert.deepEqual(simpleNotes(clips[2]), [[72, 0, 2, 80]]);
  assert.equal(clips[3], null);
  assert.equal(clips[1].name, "melody arvae 1/2");
  assert.equal(clips[2].name, "melody arvae 2/2");
  assert.equal(clips[1].length, 4);
  assert.notEqual(clips[1].color_index, clips[2].color_index);
  assert.match(dev.text("status_msg"),
    /^Wrote 2 variation\(s\) into slot\(s\) 2, 3 of track 1 \(daemon 43 ms, seed 7\)/);
  assert.equal(dev.text("status_busy"), "");
  assert.equal(dev.text("attr_result_2"), "asked 0.80, got 0.80");
  assert.equal(dev.text("attr_result_0"), "clip 0.10, got 0.30");
  assert.deepEqual(dev.patcher.misses, []);
});

test("the fake Live Set refuses what the LOM does not document (Song.begin_undo_step is Python-only)", () => {
  const set = new FakeSet();
  set.addTrack(1);
  const LiveAPI = makeLiveAPI(set);
  const song = new LiveAPI("live_set");
  assert.throws(() => song.call("begin_undo_step"), /Song\.begin_undo_step is not documented/);
  assert.throws(() => song.goto("live_set"), /member goto is not documented/);
  assert.throws(() => new LiveAPI("live_set tracks 0 devices 0"), /no documented child devices/);
  assert.throws(() => new LiveAPI("live_app"), /root path live_app is not documented/);
  assert.throws(() => new LiveAPI("live_set tracks 0").set("has_midi_input", 0), /read-only/);
});

test("a clip name with spaces is kept whole in the variations' names", () => {
  const set = setWithScale({name: "my first theme"});
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("go", 1);
  net.flush();
  assert.equal(set.tracks[0].slots[1].clip.name, "my first theme arvae 1/1");
});

test("occupied slots below are skipped, never overwritten (Replace or not)", () => {
  const set = setWithScale();
  const keep = set.putClip(0, 1, {name: "keep me", notes: [{pitch: 50, start_time: 0, duration: 4, velocity: 1}]});
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("replace", 1);
  dev.msg("go", 1);
  net.flush();
  assert.equal(set.tracks[0].slots[1].clip, keep);
  assert.deepEqual(simpleNotes(keep), [[50, 0, 4, 1]]);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[2].clip), [[67, 0, 1, 90]]);
});

test("with no free slot below, a scene is added at the end", () => {
  const set = setWithScale({}, 1);
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]], [[69, 0, 1, 90]]]});
  dev.msg("variations", 2);
  dev.msg("go", 1);
  net.flush();
  assert.equal(set.scenes.length, 3);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[2].clip), [[69, 0, 1, 90]]);
});

// Each refused clip: a clear message, no upload, and not a single change to the Set.
const REFUSED = [
  ["polyphonic", {notes: SCALE_NOTES.concat([{pitch: 67, start_time: 1, duration: 1, velocity: 100}])},
    /polyphonic: two notes sound together at bar 1 beat 2/],
  ["unreadable signature", {signature_numerator: 0}, /signature \(0\/4\) could not be read/],
  ["longer than 64 bars", {length: 260}, /65 bars long: the limit is 64 bars/],
  ["empty", {notes: []}, /has no notes/],
  ["only muted notes", {notes: [{pitch: 60, start_time: 0, duration: 1, velocity: 100, mute: 1}]}, /has no notes/],
  ["audio", {is_midi_clip: 0}, /audio clip/],
];
for (const [what, props, message] of REFUSED) {
  test("a " + what + " clip is refused with a message and changes nothing", () => {
    const set = setWithScale(props);
    const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
    dev.sent.length = 0;
    dev.msg("go", 1);
    net.flush();
    assert.match(dev.text("status_msg"), message);
    assert.deepEqual(dev.sent.filter((m) => m[0].indexOf("/arvae/clip/") === 0), []);
    assert.deepEqual(set.changes, []);
  });
}

// #18: the device no longer refuses clips that are not 4/4 (it did, until the daemon served other meters): it sends
// the clip's signature and the daemon decides.
test("a 3/4 clip goes to the daemon with its meter and regenerates to the clip end", () => {
  const set = setWithScale({signature_numerator: 3, length: 3, notes: SCALE_NOTES.slice(0, 3)});
  const {dev, daemon, net} = ready(set, {results: [[[67, 0, 1, 90], [64, 2, 1, 90]]]});
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/clip/begin")[0].slice(2), [0, 3, 3, 3, 4]);
  assert.equal(dev.sentTo("/arvae/regen")[0][7], 0); // n_bars 0: to the clip end, in the model's measures
  assert.equal(daemon.client(dev).uploads[0].meter, "3/4");
  assert.deepEqual(simpleNotes(set.tracks[0].slots[1].clip), [[67, 0, 1, 90], [64, 2, 1, 90]]);
});

test("a 4/4 clip's upload carries no meter, as before meters", () => {
  const set = setWithScale({});
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/clip/begin")[0].slice(2), [0, 4, 4]);
  assert.equal(dev.sentTo("/arvae/regen")[0][7], 1);
});

test("a meter the daemon does not serve: its one-line refusal is shown and the Set is unchanged", () => {
  const set = setWithScale({signature_numerator: 9, signature_denominator: 8, length: 4.5});
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("go", 1);
  net.flush();
  assert.match(dev.text("status_msg"), /meter 9\/8 is not served by any loaded model; loaded: simple/);
  assert.deepEqual(dev.sentTo("/arvae/regen"), []);
  assert.deepEqual(set.changes, []);
});

test("legato overlaps shorter than a 32nd note are not chords", () => {
  const set = setWithScale({notes: [{pitch: 60, start_time: 0, duration: 1.1, velocity: 100},
    {pitch: 62, start_time: 1, duration: 1, velocity: 100}]});
  const {dev} = ready(set);
  dev.msg("go", 1);
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 1);
});

test("no clip selected: a message, nothing sent", () => {
  const set = new FakeSet();
  set.addTrack(2);
  const {dev} = ready(set);
  dev.sent.length = 0;
  dev.msg("go", 1);
  assert.match(dev.text("status_msg"), /No clip selected/);
  assert.deepEqual(dev.sent, []);
});

test("daemon not running: the device says so and changes nothing", () => {
  const set = setWithScale();
  const {dev} = ready(set, {online: false});
  dev.clock.advance(5000);
  dev.sent.length = 0;
  dev.msg("go", 1);
  assert.match(dev.text("status_msg"), /Daemon offline: nothing answers on 127\.0\.0\.1:9127.*arvae-live serve/);
  assert.deepEqual(dev.sent.filter((m) => m[0] !== "/arvae/ping" && m[0] !== "/arvae/hello"), []);
  assert.deepEqual(set.changes, []);
});

test("a daemon that stops answering mid-request: timeout message, nothing written, not busy", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]], answerRequests: false});
  dev.msg("go", 1);
  net.flush();
  dev.clock.advance(31000);
  assert.match(dev.text("status_msg"), /Nothing written: no result from the daemon/);
  assert.equal(dev.text("status_busy"), "");
  assert.deepEqual(set.changes, []);
});

test("a lost note is asked for again with /arvae/resend and the variation is written whole", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90], [69, 1, 1, 90]]], drop: (v, i, pass) => pass === 0 &&
    i === 1});
  dev.msg("go", 1);
  net.flush();
  const regenRid = dev.sentTo("/arvae/regen")[0][1];
  assert.deepEqual(dev.sentTo("/arvae/resend").map((m) => m.slice(2)), [[regenRid, 0]]);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[1].clip), [[67, 0, 1, 90], [69, 1, 1, 90]]);
});

test("a lost final reply: once the stream goes quiet the whole variations are written, without a resend", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]], [[69, 0, 1, 90]]]});
  dev.msg("variations", 2);
  dev.msg("seed", 4);
  dev.msg("go", 1);
  net.flush(1); // the upload's acknowledgement: the request goes out, its replies queue up
  const queue = net.bound.get(9128).queue;
  assert.equal(queue.pop()[0], "/arvae/regen"); // the final reply is lost
  net.flush();
  assert.deepEqual(set.changes, []);
  dev.clock.advance(1600);
  assert.deepEqual(dev.sentTo("/arvae/resend"), []);
  assert.equal(dev.text("status_msg"), "Wrote 2 variation(s) into slot(s) 2, 3 of track 1 (seed 4)");
});

test("a daemon that cannot resend: the loss is named and nothing is written", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90], [69, 1, 1, 90]]], resend: false,
    drop: (v, i) => i === 1});
  dev.msg("go", 1);
  net.flush();
  assert.match(dev.text("status_msg"), /Nothing written: variation 1 was lost on the way and this daemon cannot/);
  assert.deepEqual(set.changes, []);
});

test("a variation that stays incomplete after 3 resends is not written", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90], [69, 1, 1, 90]]], drop: (v, i) => i === 1});
  dev.msg("go", 1);
  net.flush();
  assert.equal(dev.sentTo("/arvae/resend").length, 3);
  assert.match(dev.text("status_msg"), /Nothing written: variation 1 was still incomplete after 3 resends \(1 of 2/);
  assert.deepEqual(set.changes, []);
});

// 8 variations x 64 bars (8 notes a bar): 4,128 result datagrams in one burst into a 2,048-message queue.
test("results arrive whole through a 2,048-message receive queue: 8 variations x 64 bars all written", () => {
  const set = new FakeSet();
  set.addTrack(10);
  const melody = [];
  for (let b = 0; b < 64; b++) for (let k = 0; k < 4; k++) {
    melody.push({pitch: 60 + k, start_time: b * 4 + k, duration: 1, velocity: 100});
  }
  set.detailClip = set.putClip(0, 0, {length: 256, notes: melody});
  const results = [];
  for (let v = 0; v < 8; v++) {
    const notes = [];
    for (let i = 0; i < 512; i++) notes.push([60 + ((i + v) % 12), i * 0.5, 0.5, 64 + v]);
    results.push(notes);
  }
  const net = new FakeNet({capacity: 2048});
  const {dev} = ready(set, {results: results}, {net: net});
  dev.msg("variations", 8);
  dev.msg("go", 1);
  net.flush();
  assert.ok(net.dropped > 2000, "the burst overran the queue: " + net.dropped + " dropped");
  for (let round = 0; round < 20 && dev.ctx.state.job !== null; round++) {
    dev.clock.advance(1600); // the stream went quiet: the device asks for what is missing
    net.flush();
  }
  assert.match(dev.text("status_msg"), /^Wrote 8 variation\(s\) into slot\(s\) 2, 3, 4, 5, 6, 7, 8, 9 of track 1/);
  for (let v = 0; v < 8; v++) {
    assert.deepEqual(simpleNotes(set.tracks[0].slots[1 + v].clip), results[v], "variation " + v);
  }
  assert.ok(dev.sentTo("/arvae/resend").length >= 5);
});

test("a daemon error is shown in words and nothing is written", () => {
  const set = setWithScale();
  const {dev, net} = ready(set);
  dev.msg("go", 1);
  const uploadRid = dev.sentTo("/arvae/clip/end")[0][1];
  dev.msg("/arvae/error", uploadRid, "too_large", "clip has 2000 notes, the limit is 1024", "/arvae/clip/begin");
  net.flush();
  assert.equal(dev.text("status_msg"), "Nothing written: the clip is too large for the daemon - clip has 2000 " +
    "notes, the limit is 1024. Press Regenerate again.");
  assert.deepEqual(dev.sentTo("/arvae/regen"), []);
  assert.deepEqual(set.changes, []);
});

test("clip_incomplete makes the device send the whole clip once more", () => {
  const set = setWithScale();
  const {dev} = ready(set);
  dev.msg("go", 1);
  const first = dev.sentTo("/arvae/clip/end")[0][1];
  dev.msg("/arvae/error", first, "clip_incomplete", "missing idx 2", "/arvae/clip/end");
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 2);
  assert.equal(dev.sentTo("/arvae/clip/note").length, 8);
  assert.notEqual(dev.sentTo("/arvae/clip/end")[1][1], first);
});

test("unverified: the device registers again and sends the request again", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("go", 1);
  const uploadRid = dev.sentTo("/arvae/clip/end")[0][1];
  net.bound.get(9128).queue.length = 0; // the daemon refused the upload instead of acknowledging it
  dev.msg("/arvae/error", uploadRid, "unverified", "send /arvae/hello, then echo its nonce", "/arvae/clip/end");
  net.flush();
  assert.equal(dev.sentTo("/arvae/hello").length, 2);
  assert.equal(dev.sentTo("/arvae/verify").length, 2);
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 2);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[1].clip), [[67, 0, 1, 90]]);
});

// ---- guarded writes: Live refuses a step (throws, or only logs); the Set ends as it was --------------------------

const WRITE_STEPS = [
  ["ClipSlot", "create_clip", /Live refused to create a clip in tracks 0 clip_slots 2/],
  ["Clip", "add_new_notes", /Live refused to add the notes/],
  ["Clip", "name", /Live refused to name the clip/],
  ["Clip", "color_index", /Live refused to colour the clip/],
  ["Song", "create_scene", /Live refused to add a scene/],
];
for (const mode of ["throw", "log"]) {
  for (const [cls, name, message] of WRITE_STEPS) {
    test("guarded write (" + mode + "): " + cls + "." + name + " refused -> a message and the Set as it was", () => {
      const set = setWithScale({}, 3);
      set.errorMode = mode;
      const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]], [[69, 0, 1, 90]], [[71, 0, 1, 90]]]});
      const before = snapshot(set);
      // the second variation fails (with 3 slots, the third needs a new scene: that one fails at once)
      set.failNext(cls, name, 1, cls === "Song" ? 0 : 1);
      dev.msg("variations", 3);
      dev.msg("go", 1);
      net.flush();
      assert.match(dev.text("status_msg"), message);
      assert.match(dev.text("status_msg"), /the Set is as it was/);
      assert.equal(snapshot(set), before);
      if (mode === "log") assert.ok(set.console.length >= 1);
    });
  }
}

// ---- Arrangement: Replace, a confirm, the notes sounding into the region, a guarded rewrite ------------------------

function arrangementSet() {
  const set = new FakeSet();
  set.addTrack(2);
  const arr = set.putArrangementClip(0, {name: "verse", looping: 0, start_marker: 8, length: 4,
    notes: SCALE_NOTES.map((n) => Object.assign({}, n, {start_time: n.start_time + 8}))
      .concat([{pitch: 40, start_time: 2, duration: 1, velocity: 100},
        {pitch: 45, start_time: 6, duration: 4, velocity: 100}])});
  set.detailClip = arr;
  return {set, arr};
}

test("an Arrangement clip is overwritten only with Replace on and after Overwrite", () => {
  const {set, arr} = arrangementSet();
  const {dev, net} = ready(set, {results: [[[67, 0, 2, 90], [69, 2, 2, 91]]]});
  dev.msg("go", 1);
  assert.match(dev.text("status_msg"), /Arrangement clip: turn on Replace/);
  dev.msg("replace", 1);
  dev.msg("variations", 3); // an Arrangement clip gets one variation
  dev.msg("go", 1);
  net.flush();
  assert.equal(dev.sentTo("/arvae/regen")[0][3], 1);
  assert.match(dev.text("status_msg"),
    /^Ready: press Overwrite to replace the notes of Arrangement clip "verse" \(beats 8-12\)/);
  assert.equal(dev.text("status_busy"), "waiting: Overwrite or Cancel");
  assert.deepEqual(set.changes, [], "nothing before the confirm");
  dev.msg("overwrite", 1);
  // the region 8..12 holds the result; the note before it is untouched; the one sounding into it ends at 8
  assert.deepEqual(simpleNotes(arr).sort((a, b) => a[1] - b[1]),
    [[40, 2, 1, 100], [45, 6, 2, 100], [67, 8, 2, 90], [69, 10, 2, 91]]);
  assert.match(dev.text("status_msg"), /^Replaced the notes of Arrangement clip "verse"/);
});

test("Cancel at the confirm keeps the Arrangement clip as it was", () => {
  const {set} = arrangementSet();
  const {dev, net} = ready(set, {results: [[[67, 0, 2, 90]]]});
  dev.msg("replace", 1);
  dev.msg("go", 1);
  net.flush();
  dev.msg("cancel", 1);
  dev.msg("overwrite", 1);
  assert.deepEqual(set.changes, []);
  assert.match(dev.text("status_msg"), /nothing waits to be overwritten/);
});

for (const mode of ["throw", "log"]) {
  test("an Arrangement rewrite refused half way (" + mode + ") is taken back: notes and lengths as they were", () => {
    const {set} = arrangementSet();
    set.errorMode = mode;
    const {dev, net} = ready(set, {results: [[[67, 0, 2, 90]]]});
    dev.msg("replace", 1);
    dev.msg("go", 1);
    net.flush();
    const before = snapshot(set);
    set.failNext("Clip", "add_new_notes");
    dev.msg("overwrite", 1);
    assert.match(dev.text("status_msg"), /Live refused to add the result's notes.*the Set is as it was/);
    assert.equal(snapshot(set), before);
  });
}

// ---- several instances --------------------------------------------------------------------------------------------

test("two devices claim their own reply ports (skipping one held by another program), replies never cross", () => {
  const set = new FakeSet();
  set.addTrack(4);
  set.addTrack(4);
  const a = set.putClip(0, 0, {name: "a", notes: SCALE_NOTES});
  const b = set.putClip(1, 0, {name: "b", notes: SCALE_NOTES});
  const net = new FakeNet();
  net.occupy(9129); // another program listens there
  const globals = new Map(); // one Max application
  const daemon = daemonStub(net, {results: (kind, m) => [[[m[5] === 1 ? 61 : 62, 0, 1, 90]]]});
  const clock = require("./fake_max.js").makeClock(false);
  const one = loadDevice({set, net, globals, clock});
  const two = loadDevice({set, net, globals, clock});
  one.msg("bang");
  two.msg("bang");
  net.flush();
  clock.advance(600); // two's probe of 9129 does not come back: it moves on
  net.flush();
  assert.equal(one.replyPort, 9128);
  assert.equal(two.replyPort, 9130);
  assert.equal(one.sentTo("/arvae/hello").pop()[3], 9128);
  assert.equal(two.sentTo("/arvae/hello").pop()[3], 9130);
  assert.match(two.text("status_conn"), /online .*port 9130/);
  assert.ok(Math.abs(one.ctx.state.ridBase - two.ctx.state.ridBase) > 1000, "rids start at random bases");
  set.detailClip = a;
  one.msg("seed", 1);
  one.msg("go", 1);
  set.detailClip = b;
  two.msg("seed", 2);
  two.msg("go", 1);
  net.flush();
  assert.deepEqual(simpleNotes(set.tracks[0].slots[1].clip), [[61, 0, 1, 90]]);
  assert.deepEqual(simpleNotes(set.tracks[1].slots[1].clip), [[62, 0, 1, 90]]);
  assert.equal(set.tracks[0].slots[2].clip, null);
  assert.equal(set.tracks[1].slots[2].clip, null);
  assert.equal(daemon.clients.size, 2);
  one.ctx.notifydeleted();
  assert.equal(JSON.parse(globals.get("arvae_live_reply_ports").ports)[9128], undefined, "the port is given back");
});

// ---- restored state ----------------------------------------------------------------------------------------------

test("saved dial values, set dials and model are applied once the daemon's lists arrive", () => {
  const set = setWithScale();
  const net = new FakeNet();
  const daemon = daemonStub(net, {models: ["bach-arvae", "folk-arvae"], results: [[[67, 0, 1, 90]]]});
  const dev = loadDevice({set, net, globals: new Map()});
  // Live restores the parameters and the pattr before live.thisdevice bangs
  dev.msg("target", 0, 0.25);
  dev.msg("target", 2, 0.9);
  dev.msg("target", 3, 0.7);
  dev.msg("restore", "v1", "folk-arvae", "note_density", "rhythmic_complexity");
  dev.msg("bang");
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/model/load").map((m) => m[2]), ["folk-arvae"]);
  assert.equal(daemon.opts.current, "folk-arvae");
  assert.match(dev.text("status_msg"),
    /restored from the Set: model folk-arvae, dials rhythmic_complexity 0\.25, note_density 0\.90/);
  assert.equal(dev.text("attr_result_3"), "free (keeps the clip's value)");
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(8), ["rhythmic_complexity", 0.25, "note_density", 0.9]);
  assert.equal(dev.saved, null, "what the Set holds is not written back until the performer changes something");
  dev.msg("target", 1, 0.6);
  assert.deepEqual(dev.saved, ["v3", "folk-arvae", "auto", "rhythmic_complexity", "pitch_range", "note_density"]);
});

test("a saved state that arrives after the daemon's lists is still applied", () => {
  const set = setWithScale();
  const net = new FakeNet();
  daemonStub(net, {results: [[[67, 0, 1, 90]]]});
  const dev = loadDevice({set, net, globals: new Map()});
  dev.msg("target", 3, 0.3);
  dev.msg("bang");
  net.flush();
  dev.msg("restore", "v1", "folk-4attr-small", "contour");
  assert.equal(dev.text("attr_result_3"), "asked 0.30");
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(8), ["contour", 0.3]);
  dev.msg("target", 0, 0.5); // the performer's move is saved; a restore after it would be stale and is ignored
  dev.msg("restore", "v1", "-", "pitch_range");
  assert.doesNotMatch(dev.text("attr_result_1"), /^asked/);
  // v3 (#18) saves the performer's model choice: the v1 Set's model is the daemon's current one, so auto ("-")
  assert.deepEqual(dev.saved, ["v3", "-", "auto", "rhythmic_complexity", "contour"]);
});

// ---- writes by id --------------------------------------------------------------------------------------------------

test("a track moved while the daemon works: the result goes below the clip where it is now, and says so", () => {
  const set = setWithScale();
  set.addTrack(4);
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  const track = set.tracks[0];
  dev.msg("go", 1);
  set.moveTrack(track, 1);
  net.flush();
  assert.deepEqual(simpleNotes(track.slots[1].clip), [[67, 0, 1, 90]]);
  assert.match(dev.text("status_msg"), /of track 2 \(it moved: now track 2, slot 1\)/);
});

test("a source clip or track deleted while the daemon works: a clear message, nothing written", () => {
    const deleteClip = (set) => {
    set.forget(set.tracks[0].slots[0].clip);
    set.tracks[0].slots[0].clip = null;
  };
  for (const remove of [deleteClip, (set) => set.removeTrack(set.tracks[0])]) {
    const set = setWithScale();
    set.addTrack(4);
    const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
    dev.msg("go", 1);
    remove(set);
    const before = snapshot(set);
    net.flush();
    assert.match(dev.text("status_msg"),
      /Nothing written: the source clip "melody" was moved or deleted while the daemon worked/);
    assert.equal(snapshot(set), before);
  }
});

// ---- Auto ---------------------------------------------------------------------------------------------------------

test("Auto: the performer's dial move regenerates once; automation, modulation and macros do not", () => {
  const set = setWithScale({}, 8);
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("auto", 1);
  const param = set.parameterOf("attr_dial_2");
  const move = (v) => { param.value = v; dev.msg("target", 2, v); };
  param.automation_state = 1; // automation plays the dial
  move(0.6);
  dev.clock.advance(500);
  param.automation_state = 0;
  param.is_enabled = 0; // a macro holds it
  move(0.65);
  dev.clock.advance(500);
  param.is_enabled = 1;
  param.value = 0.5;
  dev.msg("target", 2, 0.7); // modulation moves the output, not the parameter's value
  dev.clock.advance(500);
  assert.deepEqual(dev.sentTo("/arvae/clip/begin"), []);
  move(0.8); // the performer
  move(0.82);
  dev.clock.advance(500);
  net.flush();
  assert.equal(dev.sentTo("/arvae/regen").length, 1);
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(8), ["note_density", 0.82]);
});

test("Auto: moves during a request leave one pending write, and Auto adds no scenes", () => {
  const set = setWithScale({}, 3);
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("auto", 1);
  const param = set.parameterOf("attr_dial_0");
  for (const v of [0.1, 0.2]) {
    param.value = v;
    dev.msg("target", 0, v);
  }
  dev.clock.advance(500); // first Auto request goes out
  for (const v of [0.3, 0.4, 0.5]) { param.value = v; dev.msg("target", 0, v); dev.clock.advance(500); }
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 1, "one request at a time");
  net.flush(); // first result written in slot 2; one pending
  dev.clock.advance(500);
  net.flush(); // the pending one: slot 3
  dev.clock.advance(500);
  net.flush();
  assert.equal(dev.sentTo("/arvae/regen").length, 2);
  param.value = 0.9;
  dev.msg("target", 0, 0.9);
  dev.clock.advance(500);
  net.flush();
  assert.equal(set.scenes.length, 3, "no scene added by Auto");
  assert.match(dev.text("status_msg"), /Auto adds no scenes/);
});

// ---- modes, busy, Cancel -------------------------------------------------------------------------------------------

test("Sample: N bars from the dials into the selected slot and the empty ones below", () => {
  const set = new FakeSet();
  set.addTrack(4);
  set.putClip(0, 2, {name: "keep"});
  set.highlightedSlot = set.tracks[0].slots[1];
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]], [[69, 4, 1, 90]]]});
  dev.msg("mode", 1);
  assert.deepEqual(dev.patcher.boxes.get("go_button").messages.pop(), ["text", "Sample"]);
  dev.msg("bars", 2);
  dev.msg("variations", 2);
  dev.msg("seed", 5);
  dev.msg("target", 1, 0.3);
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/clip/begin"), []);
  assert.deepEqual(dev.sentTo("/arvae/sample")[0].slice(2), [2, 1, 5, 2, "pitch_range", 0.3]);
  assert.equal(set.tracks[0].slots[1].clip.name, "arvae sample 1/2");
  assert.equal(set.tracks[0].slots[1].clip.length, 8);
  assert.equal(set.tracks[0].slots[2].clip.name, "keep");
  assert.deepEqual(simpleNotes(set.tracks[0].slots[3].clip), [[69, 4, 1, 90]]);
});

test("Interpolate: A (in the Clip View) to B (Set B), N steps into slots below A", () => {
  const set = setWithScale({name: "A"});
  const b = set.putClip(0, 3, {name: "B", notes: [{pitch: 72, start_time: 0, duration: 4, velocity: 80}]});
  const {dev, net} = ready(set, {results: [[[60, 0, 1, 90]], [[66, 0, 1, 90]], [[72, 0, 4, 80]]]});
  dev.msg("mode", 2);
  dev.msg("go", 1);
  assert.match(dev.text("status_msg"), /needs clip B first/);
  const a = set.detailClip;
  set.detailClip = b;
  dev.msg("setb", 1);
  assert.equal(dev.text("partner_label"), "B: B");
  set.detailClip = a;
  dev.msg("variations", 3);
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/clip/begin").map((m) => m.slice(2)), [[0, 4, 4], [1, 1, 4]]);
  assert.deepEqual(dev.sentTo("/arvae/interp")[0].slice(2), [0, 1, 3]);
  assert.deepEqual([1, 2, 4].map((s) => set.tracks[0].slots[s].clip.name), ["A to B 1/3", "A to B 2/3",
    "A to B 3/3"]);
  assert.match(dev.text("status_msg"), /^Wrote 3 step\(s\) into slot\(s\) 2, 3, 5 of track 1/);
});

test("busy: a second press waits; Cancel stops the request, writes nothing and ignores its late result", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("go", 1);
  dev.msg("go", 1);
  assert.match(dev.text("status_msg"), /Busy with the last request \(regenerating\): wait, or press Cancel/);
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 1);
  net.flush(1); // the upload's acknowledgement only: the request goes out
  const regenRid = dev.sentTo("/arvae/regen")[0][1];
  dev.msg("cancel", 1);
  assert.deepEqual(dev.sentTo("/arvae/cancel")[0].slice(2), [regenRid]);
  assert.equal(dev.text("status_msg"), "Cancelled: nothing written");
  net.flush();
  assert.deepEqual(set.changes, []);
  assert.match(dev.logs.join("\n"), /the daemon dropped request/);
});

test("choosing another model in the menu loads it and rebuilds the dials from its attributes", () => {
  const set = new FakeSet();
  const {dev, daemon, net} = ready(set, {models: ["folk-4attr-small", "bach-arvae"]});
  dev.msg("target", 0, 0.3);
  daemon.opts.attrs = [["note_density", 0, 1], ["contour", -1, 1]];
  dev.msg("model", 2); // item 0 is "auto (by meter)"
  assert.equal(dev.sentTo("/arvae/model/load")[0][2], "bach-arvae");
  net.flush();
  assert.match(dev.text("status_conn"), /model bach-arvae/);
  assert.equal(dev.text("attr_label_0"), "note density");
  assert.equal(dev.patcher.boxes.get("attr_dial_2").hidden, 1);
  assert.equal(dev.text("attr_result_0"), "free (keeps the clip's value)");
  assert.deepEqual(dev.saved, ["v3", "bach-arvae", "auto"]);
});

test("the script is ES5: no let/const, arrows, template strings, classes, spread or for-of", () => {
  // Strip comments, strings and regex literals first so that words inside them do not count.
  const src = fs.readFileSync(DEVICE_JS, "utf8")
    .replace(/\/\/[^\n]*/g, "")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, "\"\"")
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/\/(?:[^/\\\n]|\\.)+\/[gimy]*\.exec/g, "RE.exec")
    .replace(/\.replace\(\/(?:[^/\\\n]|\\.)+\/[gimy]*/g, ".replace(RE");
  const forbidden = [/\blet\s/, /\bconst\s/, /=>/, /`/, /\bclass\s/, /\.\.\./, /\bfor\s*\([^)]*\bof\b/,
    /\bimport\b/, /\bexport\b/, /\basync\b/, /\bawait\b/, /\bfunction\s*\*/, /\bfunction\s*\w*\s*\([^)]*=/];
  for (const re of forbidden) assert.doesNotMatch(src, re);
});

test("every table entry of lom_api.js names its documentation page", () => {
  const {CLASSES, LIVEAPI, ROOTS} = require("./lom_api.js");
  assert.match(LIVEAPI.page, /^https:\/\/docs\.cycling74\.com\//);
  for (const [name, cls] of Object.entries(CLASSES)) {
    assert.match(cls.page, /^https:\/\/docs\.cycling74\.com\/apiref\/lom\//, name);
  }
  for (const root of Object.values(ROOTS)) assert.match(root.page, /^https:\/\/docs\.cycling74\.com\//);
  // and lists nothing the script does not use (the fake enforces the other direction)
  const src = fs.readFileSync(DEVICE_JS, "utf8");
  for (const [name, cls] of Object.entries(CLASSES)) {
    for (const member of [...Object.keys(cls.children), ...Object.keys(cls.properties), ...Object.keys(cls.functions)]) {
      assert.match(src, new RegExp("\\b" + member + "\\b"), name + "." + member + " is listed but not used");
    }
  }
  assert.equal(ATTRS.length, 4);
});

// ---- Key: which pitches the daemon keeps to (/arvae/scale) --------------------------------------------------------

// The Key menu's items (build_patch.py KEY_NAMES): 0 Auto (clip's key), 1 Off (any pitch), 2 Live's scale.
const KEY_AUTO = 0;
const KEY_OFF = 1;
const KEY_LIVE = 2;

test("the Key menu sends /arvae/scale: off, Live's scale as a pitch-class mask (roots C, G, Bb), auto", () => {
  const set = setWithScale();
  const {dev, daemon, net} = ready(set);
  dev.msg("key", KEY_OFF);
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["off"]);
  assert.equal(dev.text("status_msg"), "Key: off, any pitch");
  dev.msg("key", KEY_LIVE); // a new Live 12 Set: C Major, pitch classes 0 2 4 5 7 9 11
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["set", 1 + 4 + 16 + 32 + 128 + 512 + 2048]);
  set.song.root_note = 7; // G Major: G A B C D E F#, pitch classes 7 9 11 0 2 4 6
  dev.msg("key", KEY_LIVE);
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["set", 1 + 4 + 16 + 64 + 128 + 512 + 2048]);
  assert.equal(dev.text("status_msg"), "Key: Live's scale, G, 7 notes");
  set.song.root_note = 10; // Bb harmonic minor: Bb C Db Eb F Gb A, pitch classes 10 0 1 3 5 6 9
  set.song.scale_intervals = [0, 2, 3, 5, 7, 8, 11];
  dev.msg("key", KEY_LIVE);
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["set", 1 + 2 + 8 + 32 + 64 + 512 + 1024]);
  net.flush();
  assert.deepEqual(daemon.client(dev).scale, ["set", 1643], "the daemon accepted it");
  dev.msg("key", KEY_AUTO);
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["auto"]);
  net.flush();
  assert.deepEqual(daemon.client(dev).scale, ["auto", 0]);
  assert.deepEqual(dev.saved, ["v3", "-", "auto"]);
});

for (const mode of ["throw", "log"]) {
  test("Live's scale in a Live without Song.root_note / scale_intervals (" + mode + "): auto, and the status says so",
    () => {
      const set = setWithScale();
      set.liveVersion = 11;
      set.errorMode = mode;
      const {dev, daemon, net} = ready(set);
      dev.msg("key", KEY_LIVE);
      assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["auto"]);
      assert.equal(dev.text("status_msg"), "Key: this Live has no scale of the Set (Live 12 and later), so the " +
        "device keeps to the clip's key (Auto)");
      net.flush();
      assert.deepEqual(daemon.client(dev).scale, ["auto", 0]);
      if (mode === "log") assert.match(set.console.join("\n"), /no property root_note in Live 11/);
    });
}

test("the Key choice is saved with the Set and sent after the handshake when the Set reopens", () => {
  const set = setWithScale();
  set.song.root_note = 2; // D Major: pitch classes 2 4 6 7 9 11 1
  const first = ready(set).dev;
  first.msg("key", KEY_LIVE);
  assert.deepEqual(first.saved, ["v3", "-", "live"]);
  // reopened: Live hands the pattr's value over before live.thisdevice bangs
  const net = new FakeNet();
  const daemon = daemonStub(net);
  const dev = loadDevice({set, net, globals: new Map()});
  dev.msg("restore", ...first.saved);
  assert.deepEqual(dev.patcher.boxes.get("key_menu").messages, [["set", KEY_LIVE]], "the menu shows it");
  assert.deepEqual(dev.sentTo("/arvae/scale"), [], "nothing before the daemon registered the device");
  dev.msg("bang");
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/scale").map((m) => m.slice(2)), [["set", 2 + 4 + 16 + 64 + 128 + 512 + 2048]]);
  const sent = dev.sent.map((m) => m[0]);
  assert.ok(sent.indexOf("/arvae/verify") < sent.indexOf("/arvae/scale"), "after hello and verify");
  assert.deepEqual(daemon.client(dev).scale, ["set", 2774]);
  assert.equal(dev.saved, null, "not written back until the performer changes something");
});

test("after a reconnection the device sends its Key choice again (a restarted daemon forgot it)", () => {
  const {dev, daemon, net} = ready(setWithScale());
  dev.msg("key", KEY_OFF);
  net.flush();
  daemon.opts.online = false;
  dev.clock.advance(6000);
  assert.match(dev.text("status_conn"), /offline/);
  daemon.clients.clear(); // the daemon restarts
  daemon.opts.online = true;
  dev.clock.advance(2000);
  net.flush();
  assert.match(dev.text("status_conn"), /online/);
  assert.deepEqual(dev.sentTo("/arvae/scale").map((m) => m.slice(2)), [["auto"], ["off"], ["off"]]);
  assert.deepEqual(daemon.client(dev).scale, ["off", 0]);
});

test("Live's scale is read again before each request and sent when it changed", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("key", KEY_LIVE);
  net.flush();
  const before = dev.sentTo("/arvae/scale").length;
  dev.msg("go", 1);
  net.flush();
  assert.equal(dev.sentTo("/arvae/scale").length, before, "unchanged: not sent again");
  set.song.root_note = 9; // A Major: pitch classes 9 11 1 2 4 6 8
  dev.msg("go", 1);
  net.flush();
  const sent = dev.sent.map((m) => m[0]);
  assert.deepEqual(dev.sentTo("/arvae/scale").pop().slice(2), ["set", 2 + 4 + 16 + 64 + 256 + 512 + 2048]);
  assert.ok(sent.lastIndexOf("/arvae/scale") < sent.lastIndexOf("/arvae/regen"), "before the request");
});

for (const [key, words] of [["G major", ", in G major"], ["custom", ", in Live's scale"], ["", ", any pitch"]]) {
  test("the status line shows the key the regeneration used (final reply key \"" + key + "\")", () => {
    const {dev, net} = ready(setWithScale(), {results: [[[67, 0, 1, 90]], [[69, 0, 1, 90]]], key: key});
    dev.msg("variations", 2);
    dev.msg("seed", 7);
    dev.msg("go", 1);
    net.flush();
    assert.equal(dev.text("status_msg"), "Wrote 2 variation(s) into slot(s) 2, 3 of track 1" + words +
      " (daemon 43 ms, seed 7)");
  });
}

test("a daemon without /arvae/scale: quiet on Auto; another Key says it has no effect; requests still work", () => {
  const set = setWithScale();
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]], scale: false});
  assert.doesNotMatch(dev.text("status_msg"), /Key/);
  assert.match(dev.logs.join("\n"), /this daemon has no \/arvae\/scale/);
  dev.msg("key", KEY_OFF);
  net.flush();
  assert.match(dev.text("status_msg"), /^Key: this daemon has no key control \(update arvae-live\)/);
  dev.msg("go", 1);
  net.flush();
  assert.match(dev.text("status_msg"), /^Wrote 1 variation\(s\) into slot\(s\) 2 of track 1 \(daemon 43 ms/);
});

test("a Key change before the saved state is applied wins, and is saved once it is", () => {
  const set = setWithScale();
  const net = new FakeNet();
  const daemon = daemonStub(net);
  const dev = loadDevice({set, net, globals: new Map()});
  dev.msg("restore", "v2", "-", "off", "contour");
  dev.msg("bang");
  dev.msg("key", KEY_LIVE); // before the daemon's lists are in
  assert.equal(dev.saved, null);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/scale").map((m) => m.slice(2)), [["set", 2741]]);
  assert.deepEqual(daemon.client(dev).scale, ["set", 2741]);
  assert.deepEqual(dev.saved, ["v3", "-", "live", "contour"]); // no model chosen yet, as the Set said
});

// ---- #18: dials per meter, the auto model, Sample in the Set's meter -------------------------------------------------

// A daemon serving a 3/4 model with three of the 4/4 model's attributes (no contour).
const TRIPLE = {triple: {model: "folk-triple", attrs: ATTRS.slice(0, 3)}};

function threeFourSet() {
  return setWithScale({signature_numerator: 3, length: 3, notes: SCALE_NOTES.slice(0, 3)});
}

test("a 3/4 clip: the dials are rebuilt from the 3/4 model's attributes before the upload, targets kept", () => {
  const set = threeFourSet();
  const {dev, net} = ready(set, {grids: {"folk-triple": "triple"}, byGrid: TRIPLE, results: [[[67, 0, 1, 90]]]});
  assert.equal(set.parameterOf("attr_dial_3").name, "contour");
  dev.msg("target", 2, 0.8);
  dev.sent.length = 0;
  dev.msg("go", 1);
  assert.deepEqual(dev.sent.map((m) => m[0]), ["/arvae/attrs/list"], "nothing uploaded before the list is in");
  assert.deepEqual(dev.sent[0].slice(2), ["3/4"]);
  net.flush();
  assert.equal(dev.patcher.boxes.get("attr_dial_3").hidden, 1);
  assert.equal(set.parameterOf("attr_dial_3").name, "Attr 4");
  assert.match(dev.text("attr_result_2"), /^asked 0\.80/);
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(8), ["note_density", 0.8]);
  assert.match(dev.text("status_conn"), /model folk-triple/);
  assert.match(set.tracks[0].slots[1].clip.name, /arvae 1\/1$/);
  // the next 3/4 clip asks for nothing more; a 4/4 one brings back the 4/4 model's dials
  dev.sent.length = 0;
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/attrs/list"), []);
  set.detailClip = set.putClip(0, 3, {notes: SCALE_NOTES});
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/attrs/list").map((m) => m.slice(2)), [["4/4"]]);
  assert.equal(set.parameterOf("attr_dial_3").name, "contour");
  assert.deepEqual(set.console, [], "never two parameters with one name");
});

test("a set dial the 3/4 model lacks stops the request with a message: nothing is sent without it", () => {
  const set = threeFourSet();
  const {dev, net} = ready(set, {grids: {"folk-triple": "triple"}, byGrid: TRIPLE, results: [[[67, 0, 1, 90]]]});
  dev.msg("target", 3, 0.9); // contour
  dev.msg("go", 1);
  net.flush();
  assert.match(dev.text("status_msg"), /dials now follow model folk-triple \(3\/4\), which has no contour: set the dials/);
  assert.deepEqual(dev.sentTo("/arvae/clip/begin"), []);
  assert.deepEqual(set.changes, []);
  assert.equal(dev.ctx.state.job, null, "not busy");
  dev.msg("go", 1); // as the dials are now: no contour
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/regen")[0].slice(8), []);
  assert.match(set.tracks[0].slots[1].clip.name, /arvae 1\/1$/);
});

test("a daemon from before meters: no attribute list per meter, the clip goes with its meter", () => {
  const set = threeFourSet();
  const {dev, net} = ready(set, {legacy: true, results: [[[67, 0, 1, 90]]]});
  dev.sent.length = 0;
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/attrs/list"), []);
  assert.deepEqual(dev.sentTo("/arvae/clip/begin")[0].slice(2), [0, 3, 3, 3, 4]);
});

test("the model menu: auto (by meter) is the default; a 4/4 model refuses a 3/4 clip in one line; auto again", () => {
  const set = threeFourSet();
  const {dev, daemon, net} = ready(set, {models: ["bach-arvae", "folk-triple"], grids: {"folk-triple": "triple"},
    byGrid: TRIPLE, results: [[[67, 0, 1, 90]]]});
  const menu = dev.patcher.boxes.get("model_menu").messages;
  assert.deepEqual(menu[0], ["_parameter_range", "auto (by meter)", "bach-arvae 4/4", "folk-triple 3/4"]);
  assert.deepEqual(menu[menu.length - 1], ["set", 0]);
  dev.msg("model", 1);
  net.flush();
  assert.equal(daemon.client(dev).chosen, "bach-arvae");
  assert.deepEqual(dev.saved, ["v3", "bach-arvae", "auto"]);
  dev.msg("go", 1);
  net.flush();
  assert.match(dev.text("status_msg"), /meter 3\/4: this client chose model bach-arvae, which serves 4\/4, 2\/2, 2\/4/);
  assert.deepEqual(set.changes, []);
  dev.msg("model", 0);
  assert.deepEqual(dev.sentTo("/arvae/model/load").pop().slice(2), ["auto"]);
  net.flush();
  assert.equal(daemon.client(dev).chosen, null);
  assert.deepEqual(menu[menu.length - 1], ["set", 0]);
  assert.deepEqual(dev.saved, ["v3", "-", "auto"]);
  dev.msg("go", 1);
  net.flush();
  assert.match(set.tracks[0].slots[1].clip.name, /arvae 1\/1$/);
  assert.match(dev.text("status_conn"), /model folk-triple \|/);
});

test("a Set saved with a chosen model (v3) chooses it again, even when it is the daemon's current one", () => {
  const net = new FakeNet();
  const daemon = daemonStub(net, {models: ["bach-arvae"]});
  const dev = loadDevice({set: new FakeSet(), net, globals: new Map()});
  dev.msg("restore", "v3", "bach-arvae", "auto");
  dev.msg("bang");
  net.flush();
  assert.equal(daemon.client(dev).chosen, "bach-arvae");
  const menu = dev.patcher.boxes.get("model_menu").messages;
  assert.deepEqual(menu[menu.length - 1], ["set", 1]);
});

for (const [sig, bars, nBars, length] of [[[3, 4], 2, 2, 6], [[6, 8], 4, 2, 12], [[12, 8], 1, 1, 6]]) {
  test("Sample in a " + sig.join("/") + " Set sends its meter and " + nBars + " measure(s) for " + bars + " bar(s)",
    () => {
      const set = new FakeSet();
      set.addTrack(4);
      set.song.signature_numerator = sig[0];
      set.song.signature_denominator = sig[1];
      set.highlightedSlot = set.tracks[0].slots[0];
      const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
      dev.msg("mode", 1);
      dev.msg("bars", bars);
      dev.msg("seed", 5);
      dev.msg("go", 1);
      net.flush();
      assert.deepEqual(dev.sentTo("/arvae/sample")[0].slice(2), [1, 1, 5, nBars, sig[0], sig[1]]);
      assert.equal(set.tracks[0].slots[0].clip.length, length);
    });
}

test("Sample in a 4/4 Set sends no meter, as before meters", () => {
  const set = new FakeSet();
  set.addTrack(4);
  set.highlightedSlot = set.tracks[0].slots[0];
  const {dev, net} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("mode", 1);
  dev.msg("go", 1);
  net.flush();
  assert.deepEqual(dev.sentTo("/arvae/sample")[0].slice(2), [1, 1, dev.sentTo("/arvae/sample")[0][4], 4]);
});
