// Unit tests of max_patches/arvae-live.js under Node (node --test tests/js/), with a fake Live Set and a scripted
// daemon that answers per protocol v1. Expected messages and notes are written out by hand below.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const {FakeSet, loadDevice, DEVICE_JS} = require("./fake_max.js");

const ATTRS = [
  ["rhythmic_complexity", 0, 1],
  ["pitch_range", 0, 29 / 26],
  ["note_density", 0, 1],
  ["contour", -29 / 26, 29 / 26],
];

// Four quarter notes C D E F in one 4/4 bar (beats from the clip start).
const SCALE_NOTES = [
  {pitch: 60, start_time: 0, duration: 1, velocity: 100},
  {pitch: 62, start_time: 1, duration: 1, velocity: 100},
  {pitch: 64, start_time: 2, duration: 1, velocity: 100},
  {pitch: 65, start_time: 3, duration: 1, velocity: 100},
];

// A daemon stand-in: it answers what the device sends, queued (UDP is asynchronous; Max never re-enters the script
// from inside an outlet call), delivered by flush(). results: [[pitch, start, dur, vel], ...] per variation.
function scriptedDaemon(dev, opts) {
  const queue = [];
  const o = Object.assign({online: true, models: ["folk-4attr-small"], attrs: ATTRS, results: null,
    asked: [], achieved: [], drop: () => false}, opts);
  const reply = (...m) => queue.push(m);
  dev.onSend((m) => {
    if (!o.online) return;
    const [addr, rid] = m;
    if (addr === "/arvae/ping") reply("/arvae/ping", rid, 123.0);
    if (addr === "/arvae/hello") reply("/arvae/hello", rid, "0.1.0", 1, "cpu");
    if (addr === "/arvae/status") reply("/arvae/status", rid, "ready", o.models[0], "cpu", 0, 1.0, 2.0, 0, 0);
    if (addr === "/arvae/models/list") {
      reply("/arvae/models/begin", rid, o.models.length);
      o.models.forEach((id, i) => reply("/arvae/models/item", rid, i, id, o.attrs.length));
      reply("/arvae/models/end", rid, o.models.length);
    }
    if (addr === "/arvae/attrs/list") {
      reply("/arvae/attrs/begin", rid, o.attrs.length);
      o.attrs.forEach((a, i) => reply("/arvae/attrs/item", rid, i, a[0], a[1], a[2]));
      reply("/arvae/attrs/end", rid, o.attrs.length);
    }
    if (addr === "/arvae/clip/end") reply("/arvae/clip/end", rid, m[2], m[3]);
    if (addr === "/arvae/regen" && o.results !== null) {
      o.results.forEach((notes, v) => {
        reply("/arvae/result/begin", rid, v, notes.length, 4);
        notes.forEach((n, i) => {
          if (!o.drop(v, i)) reply("/arvae/result/note", rid, v, i, n[0], n[1], n[2], n[3]);
        });
        if (o.asked[v]) reply("/arvae/result/asked", rid, v, ...o.asked[v]);
        reply("/arvae/result/end", rid, v, notes.length, ...(o.achieved[v] || []));
      });
      reply("/arvae/regen", rid, o.results.length, 42.5);
    }
  });
  return {
    opts: o,
    flush() {
      while (queue.length > 0) dev.msg(...queue.shift());
    },
  };
}

function setWithScale(extra) {
  const set = new FakeSet();
  set.addTrack(4);
  set.detailClip = set.putClip(0, 0, Object.assign({notes: SCALE_NOTES}, extra));
  return set;
}

function ready(set, daemonOpts) {
  const dev = loadDevice({set: set, replyPort: 9555});
  const daemon = scriptedDaemon(dev, daemonOpts);
  dev.msg("bang");
  daemon.flush();
  return {dev, daemon};
}

function clipsOfTrack(set, t) {
  return set.tracks[t].slots.map((s) => s.clip);
}

function simpleNotes(clip) {
  return clip.notes.map((n) => [n.pitch, n.start_time, n.duration, n.velocity]);
}

test("init says hello with the reply port from the js box argument, asks for the lists, pings", () => {
  const dev = loadDevice({set: new FakeSet(), replyPort: 9555});
  dev.msg("bang");
  const addrs = dev.sent.map((m) => m[0]);
  assert.deepEqual(addrs, ["/arvae/hello", "/arvae/models/list", "/arvae/attrs/list", "/arvae/status",
    "/arvae/ping"]);
  assert.deepEqual(dev.sent[0].slice(2), ["arvae-m4l", 9555, 1]);
  const rids = dev.sent.map((m) => m[1]);
  assert.equal(new Set(rids).size, rids.length, "every request has its own rid");
  assert.match(dev.text("status_conn"), /offline/);
});

test("replies bring the device online, fill the model menu and build the dials", () => {
  const set = new FakeSet();
  const {dev} = ready(set);
  assert.match(dev.text("status_conn"), /daemon online \| model folk-4attr-small/);
  const menu = dev.patcher.boxes.get("model_menu").messages;
  assert.deepEqual(menu[0], ["_parameter_range", "folk-4attr-small"]);
  assert.deepEqual(menu[menu.length - 1], ["set", 0]);
  for (let i = 0; i < 8; i++) {
    const visible = i < 4;
    assert.equal(dev.patcher.boxes.get("attr_dial_" + i).hidden, visible ? 0 : 1, "dial " + i);
    assert.equal(dev.text("attr_label_" + i), visible ? ATTRS[i][0] : "");
  }
  assert.deepEqual(dev.patcher.misses, []);
});

test("ping latency is the round trip on the device's clock", () => {
  const dev = loadDevice({set: new FakeSet()});
  dev.msg("bang");
  const pingRid = dev.sentTo("/arvae/ping")[0][1];
  dev.clock.advance(7);
  dev.msg("/arvae/ping", pingRid, 99.0);
  assert.match(dev.text("status_conn"), /ping 7\.0 ms/);
});

test("the status line goes offline after two unanswered pings", () => {
  const set = new FakeSet();
  const {dev, daemon} = ready(set);
  daemon.opts.online = false;
  dev.clock.advance(2000); // a ping goes out, nobody answers
  dev.clock.advance(2000); // found unanswered (1), another goes out
  assert.match(dev.text("status_conn"), /online/);
  dev.clock.advance(2000); // found unanswered (2): offline
  assert.match(dev.text("status_conn"), /offline/);
});

test("a full regeneration writes each variation into a new slot below, one undo step each", () => {
  const set = setWithScale();
  const {dev, daemon} = ready(set, {
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
  dev.msg("regen", 1);
  // The upload, exactly: begin (slot 0, 4 notes, 4 beats), the notes in order, end.
  const up = dev.sent.map((m) => [m[0]].concat(m.slice(2)));
  assert.deepEqual(up, [
    ["/arvae/clip/begin", 0, 4, 4],
    ["/arvae/clip/note", 0, 0, 60, 0, 1, 100],
    ["/arvae/clip/note", 0, 1, 62, 1, 1, 100],
    ["/arvae/clip/note", 0, 2, 64, 2, 1, 100],
    ["/arvae/clip/note", 0, 3, 65, 3, 1, 100],
    ["/arvae/clip/end", 0, 4],
  ]);
  assert.equal(set.changes.length, 0, "nothing written before the result");
  daemon.flush();
  const regen = dev.sentTo("/arvae/regen")[0];
  // slot 0, 2 variations, temperature 0.5, seed 7, from bar 0, 1 bar, only the moved dial
  assert.deepEqual(regen.slice(2), [0, 2, 0.5, 7, 0, 1, "note_density", 0.8]);
  const clips = clipsOfTrack(set, 0);
  assert.deepEqual(simpleNotes(clips[0]), SCALE_NOTES.map((n) => [n.pitch, n.start_time, n.duration, 100]));
  assert.deepEqual(simpleNotes(clips[1]), [[67, 0, 0.5, 90], [69, 0.5, 0.5, 90]]);
  assert.deepEqual(simpleNotes(clips[2]), [[72, 0, 2, 80]]);
  assert.equal(clips[3], null);
  assert.equal(clips[1].name, "melody arvae 1/2");
  assert.equal(clips[2].name, "melody arvae 2/2");
  assert.equal(clips[1].length, 4);
  assert.notEqual(clips[1].color, 0);
  assert.equal(set.undoSteps, 2);
  assert.ok(set.changes.every((c) => c.depth === 1), "every change inside an undo step");
  assert.equal(set.undoDepth, 0);
  assert.match(dev.text("status_msg"), /Wrote 2 variation\(s\) into slot\(s\) 2, 3 of track 1/);
  // asked / achieved: note_density asked 0.80, mean achieved (0.75 + 0.85) / 2 = 0.80; the others are free
  assert.equal(dev.text("attr_result_2"), "asked 0.80, got 0.80");
  // a free dial shows the value the daemon kept from the clip: rhythmic_complexity 0.1, got (0.2 + 0.4) / 2
  assert.equal(dev.text("attr_result_0"), "clip 0.10, got 0.30");
  assert.equal(dev.text("attr_result_3"), "clip 0.60, got 0.50");
  assert.deepEqual(dev.patcher.misses, []);
});

test("a clip name with spaces is kept whole in the variations' names", () => {
  const set = setWithScale({name: "my first theme"});
  const {dev, daemon} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("regen", 1);
  daemon.flush();
  assert.equal(set.tracks[0].slots[1].clip.name, "my first theme arvae 1/1");
});

test("occupied slots below are skipped without Replace, overwritten with it", () => {
  const set = setWithScale();
  const keep = set.putClip(0, 1, {name: "keep me", notes: [{pitch: 50, start_time: 0, duration: 4, velocity: 1}]});
  const {dev, daemon} = ready(set, {results: [[[67, 0, 1, 90]]]});
  dev.msg("seed", 1);
  dev.msg("regen", 1);
  daemon.flush();
  assert.equal(set.tracks[0].slots[1].clip, keep);
  assert.deepEqual(simpleNotes(keep), [[50, 0, 4, 1]]);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[2].clip), [[67, 0, 1, 90]]);

  dev.msg("replace", 1);
  dev.msg("regen", 1);
  daemon.flush();
  assert.notEqual(set.tracks[0].slots[1].clip, keep);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[1].clip), [[67, 0, 1, 90]]);
});

test("with no free slot below, a scene is added inside the same undo step", () => {
  const set = new FakeSet();
  set.addTrack(1);
  set.detailClip = set.putClip(0, 0, {notes: SCALE_NOTES});
  const {dev, daemon} = ready(set, {results: [[[67, 0, 1, 90]], [[69, 0, 1, 90]]]});
  dev.msg("variations", 2);
  dev.msg("regen", 1);
  daemon.flush();
  assert.equal(set.tracks[0].slots.length, 3);
  assert.deepEqual(simpleNotes(set.tracks[0].slots[2].clip), [[69, 0, 1, 90]]);
  assert.equal(set.undoSteps, 2);
  assert.ok(set.changes.every((c) => c.depth === 1));
});

// Each refused clip: a clear message, no upload, and not a single change to the Set.
const REFUSED = [
  ["polyphonic", {notes: SCALE_NOTES.concat([{pitch: 67, start_time: 1, duration: 1, velocity: 100}])},
    /polyphonic: two notes sound together at bar 1 beat 2/],
  ["3/4", {signature_numerator: 3}, /clip is in 3\/4: the models work on 4\/4 bars/],
  ["longer than 64 bars", {length: 260}, /65 bars long: the limit is 64 bars/],
  ["empty", {notes: []}, /has no notes/],
  ["only muted notes", {notes: [{pitch: 60, start_time: 0, duration: 1, velocity: 100, mute: 1}]}, /has no notes/],
  ["audio", {is_midi_clip: 0}, /audio clip/],
];
for (const [what, props, message] of REFUSED) {
  test("a " + what + " clip is refused with a message and changes nothing", () => {
    const set = setWithScale(props);
    const {dev, daemon} = ready(set, {results: [[[67, 0, 1, 90]]]});
    dev.sent.length = 0;
    dev.msg("regen", 1);
    daemon.flush();
    assert.match(dev.text("status_msg"), message);
    assert.deepEqual(dev.sent.filter((m) => m[0].indexOf("/arvae/clip/") === 0), []);
    assert.deepEqual(set.changes, []);
  });
}

test("legato overlaps shorter than a 32nd note are not chords", () => {
  const notes = [{pitch: 60, start_time: 0, duration: 1.1, velocity: 100},
    {pitch: 62, start_time: 1, duration: 1, velocity: 100}];
  const set = setWithScale({notes: notes});
  const {dev} = ready(set);
  dev.msg("regen", 1);
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 1);
});

test("no clip selected: a message, nothing sent", () => {
  const set = new FakeSet();
  set.addTrack(2);
  const {dev} = ready(set);
  dev.sent.length = 0;
  dev.msg("regen", 1);
  assert.match(dev.text("status_msg"), /No clip selected/);
  assert.deepEqual(dev.sent, []);
});

test("daemon not running: the device says so and changes nothing", () => {
  const set = setWithScale();
  const dev = loadDevice({set: set});
  dev.msg("bang");
  dev.clock.advance(5000);
  dev.sent.length = 0;
  dev.msg("regen", 1);
  assert.match(dev.text("status_msg"), /Daemon offline: nothing answers on 127\.0\.0\.1:9127.*arvae-live serve/);
  assert.deepEqual(dev.sent.filter((m) => m[0] !== "/arvae/ping"), []);
  assert.deepEqual(set.changes, []);
});

test("a daemon that stops answering mid-request: timeout message, nothing written", () => {
  const set = setWithScale();
  const {dev, daemon} = ready(set, {results: null}); // acknowledges the upload, never sends a result
  dev.msg("regen", 1);
  daemon.flush();
  dev.clock.advance(31000);
  assert.match(dev.text("status_msg"), /Nothing written: no result from the daemon/);
  assert.deepEqual(set.changes, []);
});

test("a result with a lost note is not written", () => {
  const set = setWithScale();
  const {dev, daemon} = ready(set, {results: [[[67, 0, 1, 90], [69, 1, 1, 90]]], drop: (v, i) => i === 1});
  dev.msg("regen", 1);
  daemon.flush();
  assert.match(dev.text("status_msg"), /Nothing written: variation 1 arrived with 1 of 2 notes/);
  assert.deepEqual(set.changes, []);
});

test("a daemon error is shown in words and nothing is written", () => {
  const set = setWithScale();
  const {dev, daemon} = ready(set);
  dev.msg("regen", 1);
  const uploadRid = dev.sentTo("/arvae/clip/end")[0][1];
  dev.msg("/arvae/error", uploadRid, "too_large", "clip has 2000 notes, the limit is 1024", "/arvae/clip/begin");
  daemon.flush();
  assert.equal(dev.text("status_msg"),
    "Nothing written: the clip is too large for the daemon - clip has 2000 notes, the limit is 1024");
  assert.deepEqual(dev.sentTo("/arvae/regen"), []);
  assert.deepEqual(set.changes, []);
});

test("clip_incomplete makes the device send the whole clip once more", () => {
  const set = setWithScale();
  const dev = loadDevice({set: set});
  dev.msg("bang");
  dev.msg("/arvae/ping", dev.sentTo("/arvae/ping")[0][1], 1.0);
  dev.msg("regen", 1);
  const first = dev.sentTo("/arvae/clip/end")[0][1];
  dev.msg("/arvae/error", first, "clip_incomplete", "missing idx 2", "/arvae/clip/end");
  assert.equal(dev.sentTo("/arvae/clip/begin").length, 2);
  assert.equal(dev.sentTo("/arvae/clip/note").length, 8);
  const second = dev.sentTo("/arvae/clip/end")[1][1];
  assert.notEqual(second, first);
});

test("an Arrangement clip needs Replace; with it, its notes are replaced in one undo step", () => {
  const set = new FakeSet();
  set.addTrack(2);
  const arr = set.putArrangementClip(0, {name: "verse", looping: 0, start_marker: 8, length: 4,
    notes: SCALE_NOTES.map((n) => Object.assign({}, n, {start_time: n.start_time + 8}))
      .concat([{pitch: 40, start_time: 2, duration: 1, velocity: 100}])});
  set.detailClip = arr;
  const {dev, daemon} = ready(set, {results: [[[67, 0, 2, 90], [69, 2, 2, 91]]]});
  dev.msg("regen", 1);
  assert.match(dev.text("status_msg"), /Arrangement clip: turn on Replace/);
  assert.deepEqual(set.changes, []);

  dev.msg("replace", 1);
  dev.msg("variations", 3); // an Arrangement clip gets one variation
  dev.msg("regen", 1);
  daemon.flush();
  assert.equal(dev.sentTo("/arvae/regen")[0][3], 1);
  // the region 8..12 now holds the result shifted by 8; the note before the region is untouched
  assert.deepEqual(simpleNotes(arr).sort((a, b) => a[1] - b[1]), [[40, 2, 1, 100], [67, 8, 2, 90], [69, 10, 2, 91]]);
  assert.equal(set.undoSteps, 1);
  assert.ok(set.changes.every((c) => c.depth === 1));
});

test("the script is ES5: no let/const, arrows, template strings, classes, spread or for-of", () => {
  // Strip comments, strings and regex literals first so that words inside them do not count.
  const src = fs.readFileSync(DEVICE_JS, "utf8")
    .replace(/\/\/[^\n]*/g, "")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, "\"\"")
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/\/(?:[^/\\\n]|\\.)+\/[gimy]*\.exec/g, "RE.exec");
  const forbidden = [/\blet\s/, /\bconst\s/, /=>/, /`/, /\bclass\s/, /\.\.\./, /\bfor\s*\([^)]*\bof\b/,
    /\bimport\b/, /\bexport\b/, /\basync\b/, /\bawait\b/, /\bfunction\s*\*/, /\bfunction\s*\w*\s*\([^)]*=/];
  for (const re of forbidden) assert.doesNotMatch(src, re);
});

test("choosing another model in the menu loads it and rebuilds the dials from its attributes", () => {
  const set = new FakeSet();
  const {dev, daemon} = ready(set, {models: ["folk-4attr-small", "bach-arvae"]});
  assert.deepEqual(dev.patcher.boxes.get("model_menu").messages[0], ["_parameter_range", "folk-4attr-small",
    "bach-arvae"]);
  dev.msg("target", 0, 0.3); // moved on the old model
  dev.sent.length = 0;
  dev.msg("model", 1);
  const load = dev.sentTo("/arvae/model/load")[0];
  assert.equal(load[2], "bach-arvae");
  daemon.opts.attrs = [["note_density", 0, 1], ["contour", -1, 1]];
  dev.msg("/arvae/model/load", load[1], "bach-arvae");
  daemon.flush();
  assert.match(dev.text("status_conn"), /model bach-arvae/);
  assert.equal(dev.text("attr_label_0"), "note_density");
  assert.equal(dev.text("attr_label_1"), "contour");
  assert.equal(dev.patcher.boxes.get("attr_dial_2").hidden, 1);
  // the dial that was moved now controls another attribute: it is free again
  assert.equal(dev.text("attr_result_0"), "free (keeps the clip's value)");
});
