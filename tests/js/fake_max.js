// A fake Max `js` environment and a fake Live Set, to run max_patches/arvae-live.js under Node.
//
// What is faked and how closely:
//   * LiveAPI: paths "live_set", "live_set view detail_clip", "live_set tracks N", "... clip_slots M", "... clip",
//     "id N"; get() returns arrays like Max does (["id", N] for object properties); call() implements the Live 11
//     note API (get_notes_extended returns a JSON string, add_new_notes takes {notes: [...]},
//     remove_notes_extended), ClipSlot create_clip/delete_clip, Song create_scene/begin_undo_step/end_undo_step.
//     Every change to the Set is recorded in set.changes with the undo-step depth at which it happened.
//   * this.patcher.getnamed(name): the boxes with a varname in the real arvae-live.maxpat, so a name the script asks
//     for that the patch lacks is recorded in patcher.misses.
//   * Task: schedule/cancel against a manual clock (tests advance it) or real timers (the end-to-end harness).
//   * outlet(n, ...): recorded; outlet 0 messages are the OSC messages the patch gives to udpsend.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

const REPO = path.resolve(__dirname, "..", "..");
const DEVICE_JS = path.join(REPO, "max_patches", "arvae-live.js");
const PATCH = path.join(REPO, "max_patches", "arvae-live.maxpat");

// ---- the fake Set ----------------------------------------------------------------------------------------------

class FakeSet {
  constructor() {
    this.nextId = 1;
    this.objects = new Map(); // id -> object
    this.tracks = [];
    this.nScenes = 0;
    this.detailClip = null;
    this.changes = []; // [{what, depth}]
    this.undoDepth = 0;
    this.undoSteps = 0; // completed begin/end pairs
    this.song = this.register({kind: "song"});
  }

  register(obj) {
    obj.id = this.nextId++;
    this.objects.set(obj.id, obj);
    return obj;
  }

  addTrack(nSlots) {
    const track = this.register({kind: "track", index: this.tracks.length, slots: [], arrangement: []});
    this.tracks.push(track);
    this.nScenes = Math.max(this.nScenes, nSlots);
    for (let s = 0; s < this.nScenes; s++) this.addSlot(track);
    for (const t of this.tracks) while (t.slots.length < this.nScenes) this.addSlot(t);
    return track;
  }

  addSlot(track) {
    track.slots.push(this.register({kind: "slot", track: track, index: track.slots.length, clip: null}));
  }

  // A Session clip in track t, slot s; props override the defaults (a looping 4/4 MIDI clip).
  putClip(t, s, props) {
    const slot = this.tracks[t].slots[s];
    slot.clip = this.makeClip(slot, props);
    return slot.clip;
  }

  putArrangementClip(t, props) {
    const track = this.tracks[t];
    const clip = this.makeClip(track, Object.assign({is_arrangement_clip: 1}, props));
    track.arrangement.push(clip);
    return clip;
  }

  makeClip(parent, props) {
    const clip = Object.assign({
      kind: "clip", parent: parent, name: "melody", is_midi_clip: 1, is_arrangement_clip: 0,
      signature_numerator: 4, signature_denominator: 4, looping: 1, loop_start: 0, start_marker: 0,
      length: 4, color: 0, notes: [],
    }, props);
    clip.notes = clip.notes.map((n, i) => Object.assign({note_id: i + 1, mute: 0, probability: 1,
      velocity_deviation: 0, release_velocity: 64}, n));
    return this.register(clip);
  }

  change(what) {
    this.changes.push({what: what, depth: this.undoDepth});
  }

  pathOf(obj) {
    switch (obj.kind) {
      case "song": return "live_set";
      case "track": return "live_set tracks " + obj.index;
      case "slot": return this.pathOf(obj.track) + " clip_slots " + obj.index;
      case "clip":
        if (obj.parent.kind === "slot") return this.pathOf(obj.parent) + " clip";
        return this.pathOf(obj.parent) + " arrangement_clips " + obj.parent.arrangement.indexOf(obj);
      default: return "";
    }
  }

  resolve(p) {
    const words = String(p).trim().split(/\s+/);
    if (words[0] === "id") return this.objects.get(Number(words[1])) || null;
    if (words[0] !== "live_set") return null;
    if (words.length === 1) return this.song;
    if (words[1] === "view" && words[2] === "detail_clip") return this.detailClip;
    if (words[1] !== "tracks") return null;
    let obj = this.tracks[Number(words[2])] || null;
    let i = 3;
    while (obj !== null && i < words.length) {
      if (words[i] === "clip_slots") { obj = obj.slots[Number(words[i + 1])] || null; i += 2; }
      else if (words[i] === "clip") { obj = obj.clip; i += 1; }
      else if (words[i] === "arrangement_clips") { obj = obj.arrangement[Number(words[i + 1])] || null; i += 2; }
      else return null;
    }
    return obj;
  }
}

// The LiveAPI class bound to one FakeSet.
function makeLiveAPI(set) {
  function LiveAPI(p) {
    const obj = set.resolve(p);
    this._obj = obj;
    this.id = obj === null ? 0 : obj.id;
    this.unquotedpath = obj === null ? "" : set.pathOf(obj);
    this.path = "\"" + this.unquotedpath + "\"";
  }

  LiveAPI.prototype.get = function (prop) {
    const o = this._obj;
    if (o === null) return [];
    if (prop === "canonical_parent") return ["id", o.kind === "clip" ? o.parent.id : 0];
    if (prop === "has_clip" && o.kind === "slot") return [o.clip === null ? 0 : 1];
    if (!(prop in o)) throw new Error("fake LiveAPI: no property " + prop + " on " + o.kind);
    // Strings come back as atoms, one per word, as Max's LiveAPI may hand them over.
    return typeof o[prop] === "string" ? o[prop].split(" ") : [o[prop]];
  };

  LiveAPI.prototype.set = function (prop, value) {
    const o = this._obj;
    o[prop] = value;
    set.change("set " + prop + " " + set.pathOf(o));
  };

  LiveAPI.prototype.getcount = function (child) {
    const o = this._obj;
    if (o.kind === "track" && child === "clip_slots") return o.slots.length;
    if (o.kind === "track" && child === "arrangement_clips") return o.arrangement.length;
    throw new Error("fake LiveAPI: no count " + child);
  };

  LiveAPI.prototype.call = function (fn) {
    const args = Array.prototype.slice.call(arguments, 1);
    const o = this._obj;
    if (o === null) throw new Error("fake LiveAPI: call " + fn + " on no object");
    if (o.kind === "song") {
      if (fn === "begin_undo_step") { set.undoDepth += 1; return; }
      if (fn === "end_undo_step") { set.undoDepth -= 1; set.undoSteps += 1; return; }
      if (fn === "create_scene") {
        set.nScenes += 1;
        for (const t of set.tracks) set.addSlot(t);
        set.change("create_scene");
        return;
      }
    }
    if (o.kind === "slot") {
      if (fn === "create_clip") {
        if (o.clip !== null) throw new Error("create_clip: slot has a clip");
        o.clip = set.makeClip(o, {length: Number(args[0]), name: "", notes: []});
        set.change("create_clip " + set.pathOf(o));
        return;
      }
      if (fn === "delete_clip") { o.clip = null; set.change("delete_clip " + set.pathOf(o)); return; }
    }
    if (o.kind === "clip") {
      if (fn === "get_notes_extended") {
        const [fromPitch, pitchSpan, fromTime, timeSpan] = args.map(Number);
        const notes = o.notes.filter((n) => n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
          n.start_time >= fromTime && n.start_time < fromTime + timeSpan);
        return JSON.stringify({notes: notes});
      }
      if (fn === "add_new_notes") {
        const dict = args[0];
        for (const n of dict.notes) o.notes.push(Object.assign({note_id: o.notes.length + 1}, n));
        set.change("add_new_notes " + dict.notes.length + " " + set.pathOf(o));
        return;
      }
      if (fn === "remove_notes_extended") {
        const [fromPitch, pitchSpan, fromTime, timeSpan] = args.map(Number);
        o.notes = o.notes.filter((n) => !(n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan &&
          n.start_time >= fromTime && n.start_time < fromTime + timeSpan));
        set.change("remove_notes_extended " + set.pathOf(o));
        return;
      }
    }
    throw new Error("fake LiveAPI: unknown call " + fn + " on " + o.kind);
  };
  return LiveAPI;
}

// ---- patcher, Task, clock --------------------------------------------------------------------------------------

class FakeBox {
  constructor(name) {
    this.name = name;
    this.hidden = 0;
    this.text = "";
    this.messages = [];
  }

  message(selector) {
    const args = [];
    for (const a of Array.prototype.slice.call(arguments, 1)) {
      if (Array.isArray(a)) args.push(...a); else args.push(a);
    }
    this.messages.push([selector].concat(args));
    if (selector === "set") this.text = args.map(String).join(" ");
  }
}

function makePatcher() {
  const patch = JSON.parse(fs.readFileSync(PATCH, "utf8"));
  const boxes = new Map();
  for (const entry of patch.patcher.boxes) {
    if (entry.box.varname) boxes.set(entry.box.varname, new FakeBox(entry.box.varname));
  }
  return {
    boxes: boxes,
    misses: [],
    getnamed(name) {
      if (!boxes.has(name)) { this.misses.push(name); return null; }
      return boxes.get(name);
    },
  };
}

// A clock and Task class. Manual mode: tasks fire only in clock.advance(ms). Real mode: setTimeout.
function makeClock(real) {
  const clock = {now: 1000000, pending: new Set()};
  function Task(fn, thisObj) {
    this.fn = fn;
    this.thisObj = thisObj;
    this.due = null;
    this.timer = null;
  }
  Task.prototype.schedule = function (ms) {
    this.cancel();
    if (real) {
      this.timer = setTimeout(() => { this.timer = null; this.fn.call(this.thisObj); }, ms || 0);
    } else {
      this.due = clock.now + (ms || 0);
      clock.pending.add(this);
    }
  };
  Task.prototype.cancel = function () {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    this.due = null;
    clock.pending.delete(this);
  };
  clock.Task = Task;
  clock.advance = function (ms) {
    const end = clock.now + ms;
    for (;;) {
      let next = null;
      for (const t of clock.pending) if (t.due <= end && (next === null || t.due < next.due)) next = t;
      if (next === null) break;
      clock.now = next.due;
      clock.pending.delete(next);
      next.due = null;
      next.fn.call(next.thisObj);
    }
    clock.now = end;
  };
  return clock;
}

// ---- loading the device ----------------------------------------------------------------------------------------

// Runs arvae-live.js in a fresh context. opts: {set, replyPort, realTime}. Returns the device handle.
function loadDevice(opts) {
  opts = opts || {};
  const set = opts.set || new FakeSet();
  const clock = makeClock(Boolean(opts.realTime));
  const sent = []; // OSC messages from outlet 0, each [address, ...args]
  const logs = [];
  const listeners = [];
  const patcher = makePatcher();
  const RealDate = Date;
  function FakeDate() { return new RealDate(opts.realTime ? RealDate.now() : clock.now); }
  const ctx = {
    LiveAPI: makeLiveAPI(set),
    Task: clock.Task,
    Date: FakeDate,
    jsarguments: ["arvae-live.js", opts.replyPort || 9128],
    patcher: patcher,
    messagename: undefined,
    post() {},
    outlet(n) {
      const msg = [];
      for (const a of Array.prototype.slice.call(arguments, 1)) {
        if (Array.isArray(a)) msg.push(...a); else msg.push(a);
      }
      if (n === 0) { sent.push(msg); for (const l of listeners) l(msg); } else logs.push(msg.join(" "));
    },
  };
  vm.createContext(ctx);
  vm.runInContext(fs.readFileSync(DEVICE_JS, "utf8"), ctx, {filename: "arvae-live.js"});
  return {
    ctx, set, clock, sent, logs, patcher,
    onSend(fn) { listeners.push(fn); },
    // A message into the js inlet, as the patch would send it ("regen", "target 0 0.8", an OSC reply...).
    msg(selector) {
      const args = Array.prototype.slice.call(arguments, 1);
      if (typeof ctx[selector] === "function" && selector[0] !== "/") return ctx[selector].apply(ctx, args);
      ctx.messagename = selector;
      return ctx.anything.apply(ctx, args);
    },
    text(name) { return patcher.boxes.get(name).text; },
    sentTo(address) { return sent.filter((m) => m[0] === address); },
  };
}

module.exports = {FakeSet, loadDevice, makeLiveAPI, DEVICE_JS, PATCH, REPO};
