// A fake Max `js` environment and a strict fake Live Set, to run max_patches/arvae-live.js under Node.
//
// What is faked and how closely:
//   * LiveAPI: built from lom_api.js, the table of documented Live API members. A path word, property, child or
//     function that is not in the table throws ("not documented"), and so does any LiveAPI member outside the
//     table. Values come back as Max hands them over (arrays of atoms, ["id", N] for a child, a JSON string from
//     get_notes_extended). Errors follow FakeSet.errorMode: "throw" (the call throws) or "log" (the call prints to
//     set.console and changes nothing, the way Live reports many failed calls only in the Max Console).
//     set.failNext(cls, name, times) makes the next calls of a function or property write fail that way.
//     set.liveVersion (default 12) is the Live that runs: a property the table says came later fails (errorMode)
//     on get. The Song's scale (root_note, scale_intervals) is C Major, as in a new Live 12 Set: set.song.root_note
//     and set.song.scale_intervals change it.
//     Every change to the Set is recorded in set.changes.
//   * this.patcher.getnamed(name): the boxes with a varname in the real arvae-live.maxpat (a name the script asks
//     for that the patch lacks is recorded in patcher.misses). `reply_in` (udpreceive) binds its port on a network,
//     `probe_out` (udpsend) sends to one, `state_store` (pattr) keeps what it is set to, the dials rename their
//     DeviceParameter on `_parameter_longname`.
//   * Global: shared by every device loaded with the same `globals` (default: one store per Node process, like one
//     Max application).
//   * Task: schedule/cancel against a manual clock (tests advance it) or real timers (the end-to-end harness).
//   * FakeNet: UDP on 127.0.0.1 in memory. Each bound port has a receive queue of `capacity` messages (Max's
//     udpreceive holds 2048 by default); what arrives while it is full is dropped. flush() drains the queues one
//     message at a time, as Max's scheduler does, so replies sent while draining queue behind.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");
const {LIVEAPI, ROOTS, CLASSES} = require("./lom_api.js");

const REPO = path.resolve(__dirname, "..", "..");
const DEVICE_JS = path.join(REPO, "max_patches", "arvae-live.js");
const PATCH = path.join(REPO, "max_patches", "arvae-live.maxpat");

function patchData() {
  return JSON.parse(fs.readFileSync(PATCH, "utf8")).patcher;
}

// ---- the fake Set ----------------------------------------------------------------------------------------------

class LiveError extends Error {}

class FakeSet {
  constructor() {
    this.nextId = 1;
    this.objects = new Map(); // id -> object
    this.tracks = [];
    this.scenes = [];
    this.changes = []; // "what path" strings, in order
    this.console = []; // what Live printed in "log" mode
    this.errorMode = "throw";
    this.failures = []; // [{cls, name, times}]
    this.liveVersion = 12;
    this.song = this.make("Song", {root_note: 0, scale_intervals: [0, 2, 4, 5, 7, 9, 11],
      signature_numerator: 4, signature_denominator: 4});
    this.view = this.make("Song.View", {parent: this.song});
    this.detailClip = null;
    this.highlightedSlot = null;
    this.device = this.make("Device", {name: "arvae-live", parameters: []});
    this.addParameter("Device On", 1);
    for (const entry of patchData().boxes) {
      const box = entry.box;
      if (box.parameter_enable === 1 && box.maxclass !== "newobj") {
        const v = box.saved_attribute_attributes.valueof;
        const initial = v.parameter_initial ? Number(v.parameter_initial[0]) : 0;
        const p = this.addParameter(v.parameter_longname, initial);
        p.varname = box.varname;
      }
    }
  }

  make(cls, fields) {
    const obj = Object.assign({cls: cls, id: this.nextId++}, fields);
    this.objects.set(obj.id, obj);
    return obj;
  }

  forget(obj) {
    this.objects.delete(obj.id);
    if (obj.clip) this.forget(obj.clip);
    if (this.detailClip === obj) this.detailClip = null;
    if (this.highlightedSlot === obj) this.highlightedSlot = null;
  }

  addParameter(name, value) {
    const p = this.make("DeviceParameter", {name: name, value: value, automation_state: 0, is_enabled: 1});
    this.device.parameters.push(p);
    return p;
  }

  parameterOf(varname) {
    return this.device.parameters.find((p) => p.varname === varname);
  }

  // A MIDI track with at least nSlots scenes (scenes are shared by all tracks).
  addTrack(nSlots, fields) {
    const track = this.make("Track", Object.assign({name: "track", has_midi_input: 1, slots: [],
      arrangement: []}, fields));
    this.tracks.push(track);
    while (this.scenes.length < (nSlots || 0)) this.insertScene(this.scenes.length);
    while (track.slots.length < this.scenes.length) track.slots.push(this.make("ClipSlot", {track: track,
      clip: null}));
    return track;
  }

  insertScene(index) {
    this.scenes.splice(index, 0, this.make("Scene", {}));
    for (const t of this.tracks) t.slots.splice(index, 0, this.make("ClipSlot", {track: t, clip: null}));
  }

  removeScene(index) {
    this.forget(this.scenes[index]);
    this.scenes.splice(index, 1);
    for (const t of this.tracks) this.forget(t.slots.splice(index, 1)[0]);
  }

  removeTrack(track) {
    this.tracks.splice(this.tracks.indexOf(track), 1);
    for (const s of track.slots) this.forget(s);
    for (const c of track.arrangement) this.forget(c);
    this.forget(track);
  }

  moveTrack(track, to) {
    this.tracks.splice(this.tracks.indexOf(track), 1);
    this.tracks.splice(to, 0, track);
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
    const clip = this.make("Clip", Object.assign({
      parent: parent, name: "melody", is_midi_clip: 1, is_arrangement_clip: 0, color_index: 0,
      signature_numerator: 4, signature_denominator: 4, looping: 1, loop_start: 0, start_marker: 0, length: 4,
      notes: [], nextNoteId: 1,
    }, props));
    clip.notes = clip.notes.map((n) => this.newNote(clip, n));
    return clip;
  }

  newNote(clip, n) {
    return Object.assign({note_id: clip.nextNoteId++, mute: 0, probability: 1, velocity_deviation: 0,
      release_velocity: 64}, n);
  }

  // After `after` calls that work, the next `times` calls (or property writes) of cls.name fail in errorMode.
  failNext(cls, name, times, after) {
    this.failures.push({cls: cls, name: name, times: times || 1, after: after || 0});
  }

  takeFailure(cls, name) {
    const f = this.failures.find((x) => x.cls === cls && x.name === name && x.times > 0);
    if (f === undefined) return false;
    if (f.after > 0) {
      f.after -= 1;
      return false;
    }
    f.times -= 1;
    return true;
  }

  // A Live error in the current errorMode: throws, or logs and returns undefined.
  fail(message) {
    if (this.errorMode === "throw") throw new LiveError(message);
    this.console.push(message);
    return undefined;
  }

  change(what) {
    this.changes.push(what);
  }

  pathOf(obj) {
    switch (obj.cls) {
      case "Song": return "live_set";
      case "Song.View": return "live_set view";
      case "Track": return "live_set tracks " + this.tracks.indexOf(obj);
      case "Scene": return "live_set scenes " + this.scenes.indexOf(obj);
      case "ClipSlot": return this.pathOf(obj.track) + " clip_slots " + obj.track.slots.indexOf(obj);
      case "Clip":
        if (obj.parent.cls === "ClipSlot") return this.pathOf(obj.parent) + " clip";
        return this.pathOf(obj.parent) + " arrangement_clips " + obj.parent.arrangement.indexOf(obj);
      case "Device": return "this_device";
      case "DeviceParameter": return "this_device parameters " + this.device.parameters.indexOf(obj);
      default: return "";
    }
  }

  // The elements of a child: an array for a list child, the object (or null) for a single one.
  child(obj, name) {
    switch (obj.cls + "." + name) {
      case "Song.tracks": return this.tracks;
      case "Song.scenes": return this.scenes;
      case "Song.view": return this.view;
      case "Song.View.detail_clip": return this.detailClip;
      case "Song.View.highlighted_clip_slot": return this.highlightedSlot;
      case "Track.clip_slots": return obj.slots;
      case "Track.arrangement_clips": return obj.arrangement;
      case "ClipSlot.clip": return obj.clip;
      case "Device.parameters": return obj.parameters;
      default: throw new Error("fake Set: no child " + name + " on " + obj.cls);
    }
  }

  // A path as LiveAPI takes it -> the object or null. Words that are not documented children throw.
  resolve(p) {
    const words = String(p).trim().split(/\s+/);
    if (words[0] === "id") return this.objects.get(Number(words[1])) || null;
    const root = ROOTS[words[0]];
    if (root === undefined) throw new Error("fake LiveAPI: root path " + words[0] + " is not documented");
    let obj = words[0] === "live_set" ? this.song : this.device;
    for (let i = 1; i < words.length && obj !== null; i++) {
      const spec = CLASSES[obj.cls].children[words[i]];
      if (spec === undefined) {
        throw new Error("fake LiveAPI: " + obj.cls + " has no documented child " + words[i] + " (path " + p + ")");
      }
      const value = this.child(obj, words[i]);
      if (spec.kind === "list") {
        i += 1;
        obj = value[Number(words[i])] || null;
      } else {
        obj = value || null;
      }
    }
    return obj;
  }
}

// ---- LiveAPI, built from the table -----------------------------------------------------------------------------

function atoms(value) {
  if (Array.isArray(value)) return value.slice(); // a list property (Song.scale_intervals): one atom per element
  if (typeof value === "string") return value.split(" "); // Max may hand a symbol with spaces over as several atoms
  return [value];
}

function makeLiveAPI(set) {
  const documented = new Set(Object.keys(LIVEAPI.members));

  function LiveAPI(p) {
    const obj = set.resolve(p);
    const api = {
      id: obj === null ? 0 : obj.id,
      unquotedpath: obj === null ? "" : set.pathOf(obj),
      type: obj === null ? "" : obj.cls,
      get: (prop) => apiGet(obj, prop),
      set: (prop, value) => apiSet(obj, prop, value),
      call: (fn, ...args) => apiCall(obj, fn, args),
      getcount: (childName) => apiGetcount(obj, childName),
    };
    return new Proxy(api, {
      get(target, key) {
        if (typeof key === "symbol") return target[key];
        if (!documented.has(key)) throw new Error("fake LiveAPI: member " + key + " is not documented");
        return target[key];
      },
      set(target, key) {
        throw new Error("fake LiveAPI: the script may not assign LiveAPI." + String(key));
      },
    });
  }

  function spec(obj) {
    if (obj === null) throw new Error("fake LiveAPI: use of an object with id 0");
    if (set.objects.get(obj.id) !== obj) return null; // deleted meanwhile: Live answers nothing
    return CLASSES[obj.cls];
  }

  function apiGet(obj, prop) {
    const cls = spec(obj);
    if (cls === null) {
      set.fail("get " + prop + ": the object no longer exists");
      return [];
    }
    if (cls.properties[prop] !== undefined) {
      const since = cls.since && cls.since[prop];
      if (since !== undefined && set.liveVersion < parseFloat(since)) {
        return set.fail("get: no property " + prop + " in Live " + set.liveVersion + " (since " + since + ")");
      }
      if (obj.cls === "ClipSlot" && prop === "has_clip") return [obj.clip === null ? 0 : 1];
      return atoms(obj[prop]);
    }
    const child = cls.children[prop];
    if (child !== undefined) {
      const value = set.child(obj, prop);
      if (child.kind === "one") return ["id", value ? value.id : 0];
      return [].concat(...value.map((o) => ["id", o.id]));
    }
    throw new Error("fake LiveAPI: " + obj.cls + "." + prop + " is not documented");
  }

  function apiSet(obj, prop, value) {
    const cls = spec(obj);
    if (cls === null) return set.fail("set " + prop + ": the object no longer exists");
    const access = cls.properties[prop];
    if (access === undefined) throw new Error("fake LiveAPI: " + obj.cls + "." + prop + " is not documented");
    if (access.indexOf("set") < 0) throw new Error("fake LiveAPI: " + obj.cls + "." + prop + " is read-only");
    if (set.takeFailure(obj.cls, prop)) return set.fail("set " + prop + ": refused (injected)");
    obj[prop] = typeof obj[prop] === "number" ? Number(value) : String(value);
    set.change("set " + prop + " " + set.pathOf(obj));
    return undefined;
  }

  function apiGetcount(obj, childName) {
    const cls = spec(obj);
    const child = cls === null ? undefined : cls.children[childName];
    if (child === undefined || child.kind !== "list") {
      throw new Error("fake LiveAPI: " + (obj ? obj.cls : "?") + "." + childName + " is not a documented list");
    }
    return set.child(obj, childName).length;
  }

  function apiCall(obj, fn, args) {
    const cls = spec(obj);
    if (cls === null) return set.fail("call " + fn + ": the object no longer exists");
    if (cls.functions[fn] === undefined) throw new Error("fake LiveAPI: " + obj.cls + "." + fn + " is not documented");
    if (set.takeFailure(obj.cls, fn)) return set.fail(fn + ": refused (injected)");
    return FUNCTIONS[obj.cls + "." + fn](set, obj, args);
  }

  return LiveAPI;
}

function inRange(n, fromPitch, pitchSpan, fromTime, timeSpan) {
  return n.pitch >= fromPitch && n.pitch < fromPitch + pitchSpan && n.start_time >= fromTime &&
    n.start_time < fromTime + timeSpan;
}

function spanArgs(args, fn) {
  if (args.length !== 4 || args.some((a) => typeof a !== "number" || !Number.isFinite(a))) {
    throw new Error("fake LiveAPI: " + fn + " takes from_pitch pitch_span from_time time_span, got " +
      JSON.stringify(args));
  }
  return args;
}

function noteDicts(args, fn) {
  const dict = args[0];
  if (args.length !== 1 || dict === null || typeof dict !== "object" || !Array.isArray(dict.notes)) {
    throw new Error("fake LiveAPI: " + fn + " takes one dictionary {notes: [...]}");
  }
  return dict.notes;
}

// What each documented function does to the fake Set.
const FUNCTIONS = {
  "Song.create_scene"(set, song, args) {
    const index = Number(args[0]);
    if (!(index === -1 || (index >= 0 && index <= set.scenes.length))) return set.fail("create_scene: bad index");
    set.insertScene(index === -1 ? set.scenes.length : index);
    set.change("create_scene " + index);
    return ["id", set.scenes[index === -1 ? set.scenes.length - 1 : index].id];
  },
  "Song.delete_scene"(set, song, args) {
    const index = Number(args[0]);
    if (!(index >= 0 && index < set.scenes.length) || set.scenes.length === 1) {
      return set.fail("delete_scene: bad index");
    }
    set.removeScene(index);
    set.change("delete_scene " + index);
    return undefined;
  },
  "ClipSlot.create_clip"(set, slot, args) {
    const length = Number(args[0]);
    if (slot.clip !== null) return set.fail("create_clip: the clip slot already has a clip");
    if (!(length > 0)) return set.fail("create_clip: length must be > 0");
    slot.clip = set.makeClip(slot, {length: length, name: "", notes: []});
    set.change("create_clip " + set.pathOf(slot));
    return undefined;
  },
  "ClipSlot.delete_clip"(set, slot) {
    if (slot.clip === null) return set.fail("delete_clip: the clip slot is empty");
    set.forget(slot.clip);
    slot.clip = null;
    set.change("delete_clip " + set.pathOf(slot));
    return undefined;
  },
  "Clip.get_notes_extended"(set, clip, args) {
    const [fp, ps, ft, ts] = spanArgs(args, "get_notes_extended");
    const notes = clip.notes.filter((n) => inRange(n, fp, ps, ft, ts)).map((n) => Object.assign({}, n));
    return JSON.stringify({notes: notes});
  },
  "Clip.add_new_notes"(set, clip, args) {
    const notes = noteDicts(args, "add_new_notes");
    for (const n of notes) {
      if (!(n.pitch >= 0 && n.pitch <= 127 && n.duration > 0 && typeof n.start_time === "number")) {
        return set.fail("add_new_notes: invalid note " + JSON.stringify(n));
      }
      if (n.note_id !== undefined) return set.fail("add_new_notes: note_id is Live's to give");
    }
    const ids = notes.map((n) => { const note = set.newNote(clip, n); clip.notes.push(note); return note.note_id; });
    set.change("add_new_notes " + notes.length + " " + set.pathOf(clip));
    return ids;
  },
  "Clip.remove_notes_extended"(set, clip, args) {
    const [fp, ps, ft, ts] = spanArgs(args, "remove_notes_extended");
    clip.notes = clip.notes.filter((n) => !inRange(n, fp, ps, ft, ts));
    set.change("remove_notes_extended " + set.pathOf(clip));
    return undefined;
  },
  "Clip.apply_note_modifications"(set, clip, args) {
    const mods = noteDicts(args, "apply_note_modifications");
    for (const m of mods) {
      if (!clip.notes.some((n) => n.note_id === m.note_id)) return set.fail("apply_note_modifications: no note " +
        m.note_id);
    }
    for (const m of mods) Object.assign(clip.notes.find((n) => n.note_id === m.note_id), m);
    set.change("apply_note_modifications " + mods.length + " " + set.pathOf(clip));
    return undefined;
  },
};

// ---- the network (in memory) ------------------------------------------------------------------------------------

class FakeNet {
  constructor(opts) {
    opts = opts || {};
    this.capacity = opts.capacity || Infinity; // udpreceive's queue (Max's default maxqueuesize: 2048)
    this.bound = new Map(); // port -> receiver {deliver(msg), queue}
    this.dropped = 0; // arrived while the receiver's queue was full
    this.unheard = 0; // sent to a port nobody holds
    this.toDaemon = null; // (device, msg) -> void: the daemon stand-in
  }

  // Binds port for receiver (giving up its previous port); false when someone else holds it.
  bind(port, receiver) {
    const holder = this.bound.get(port);
    if (holder !== undefined && holder !== receiver) return false;
    for (const [p, r] of this.bound) if (r === receiver) this.bound.delete(p);
    this.bound.set(port, receiver);
    return true;
  }

  // A port held by another program (never answers, never reads).
  occupy(port) {
    this.bound.set(port, {queue: [], deliver() {}, foreign: true});
  }

  send(port, msg) {
    const r = this.bound.get(port);
    if (r === undefined) { this.unheard += 1; return; }
    if (r.foreign) return;
    if (r.queue.length >= this.capacity) { this.dropped += 1; return; }
    r.queue.push(msg);
  }

  // Delivers queued messages one at a time until every queue is empty (or `limit` messages).
  flush(limit) {
    let n = 0;
    for (;;) {
      let any = false;
      for (const r of this.bound.values()) {
        if (r.queue.length === 0) continue;
        any = true;
        r.deliver(r.queue.shift());
        n += 1;
        if (limit !== undefined && n >= limit) return n;
      }
      if (!any) return n;
    }
  }
}

// ---- patcher, Task, clock --------------------------------------------------------------------------------------

class FakeBox {
  constructor(name, behaviour) {
    this.name = name;
    this.hidden = 0;
    this.text = "";
    this.messages = [];
    this.behaviour = behaviour || null;
  }

  message(selector) {
    const args = [];
    for (const a of Array.prototype.slice.call(arguments, 1)) {
      if (Array.isArray(a)) args.push(...a); else args.push(a);
    }
    this.messages.push([selector].concat(args));
    if (selector === "set") this.text = args.map(String).join(" ");
    if (this.behaviour !== null) this.behaviour(selector, args, this);
  }
}

function makePatcher(behaviours) {
  const boxes = new Map();
  for (const entry of patchData().boxes) {
    const name = entry.box.varname;
    if (name) boxes.set(name, new FakeBox(name, behaviours[name]));
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

const PROCESS_GLOBALS = new Map();

// ---- loading the device ----------------------------------------------------------------------------------------

// Runs arvae-live.js in a fresh context. opts: {set, basePort, net, clock, realTime, globals, io}.
// io (real-time harness): {bindReply(port, device) -> bool, probe(port, msg)}; without it the device uses opts.net.
// Returns the device handle.
function loadDevice(opts) {
  opts = opts || {};
  const set = opts.set || new FakeSet();
  const clock = opts.clock || makeClock(Boolean(opts.realTime));
  const net = opts.net || new FakeNet();
  const globals = opts.globals || PROCESS_GLOBALS;
  const sent = []; // OSC messages from outlet 0, each [address, ...args]
  const logs = [];
  const listeners = [];
  const dev = {set, clock, net, sent, logs, replyPort: null, saved: null};
  const receiver = {queue: [], deliver: (msg) => dev.msg(...msg)};
  const io = opts.io || {
    bindReply(port) { return net.bind(port, receiver); },
    probe(port, msg) { net.send(port, msg); },
  };
  const behaviours = {
    reply_in(selector, args) {
      if (selector === "maxqueuesize") dev.queueAsked = Number(args[0]);
      if (selector !== "port") return;
      if (io.bindReply(Number(args[0]), dev)) dev.replyPort = Number(args[0]);
      else logs.push("udpreceive: port " + args[0] + " is in use");
    },
    probe_out(selector, args, box) {
      if (selector === "port") { box.port = Number(args[0]); return; }
      io.probe(box.port, [selector].concat(args));
    },
    state_store(selector, args) {
      dev.saved = [selector].concat(args); // pattr @thru 0: kept, not passed on
    },
  };
  for (let i = 0; i < 8; i++) {
    behaviours["attr_dial_" + i] = (selector, args) => {
      if (selector !== "_parameter_longname") return;
      const name = String(args[0]);
      // Max keeps parameter names unique in a device: a clash is an error the test must see.
      if (set.device.parameters.some((p) => p.name === name && p.varname !== "attr_dial_" + i)) {
        set.console.push("parameter name " + name + " is already in use");
        return;
      }
      set.parameterOf("attr_dial_" + i).name = name;
    };
  }
  const patcher = makePatcher(behaviours);
  const RealDate = Date;
  function FakeDate() { return new RealDate(opts.realTime ? RealDate.now() : clock.now); }
  function Global(name) {
    if (!globals.has(name)) globals.set(name, {});
    return globals.get(name);
  }
  const ctx = {
    LiveAPI: makeLiveAPI(set),
    Task: clock.Task,
    Date: FakeDate,
    Global: Global,
    JSON: JSON,
    jsarguments: ["arvae-live.js", opts.basePort || 9128],
    patcher: patcher,
    messagename: undefined,
    post() {},
    outlet(n) {
      const msg = [];
      for (const a of Array.prototype.slice.call(arguments, 1)) {
        if (Array.isArray(a)) msg.push(...a); else msg.push(a);
      }
      if (n === 0) {
        sent.push(msg);
        for (const l of listeners) l(msg);
        if (net.toDaemon !== null && !opts.io) net.toDaemon(dev, msg);
      } else {
        logs.push(msg.join(" "));
      }
    },
  };
  vm.createContext(ctx);
  vm.runInContext(fs.readFileSync(DEVICE_JS, "utf8"), ctx, {filename: "arvae-live.js"});
  // Max creates `udpreceive 9128` with the patch, before the script runs: it holds the port if it is free.
  const initial = Number(/udpreceive (\d+)/.exec(JSON.stringify(patchData().boxes))[1]);
  if (io.bindReply(opts.basePort || initial, dev)) dev.replyPort = opts.basePort || initial;
  Object.assign(dev, {
    ctx, patcher, receiver,
    onSend(fn) { listeners.push(fn); },
    // A message into the js inlet, as the patch would send it ("go", "target 0 0.8", an OSC reply...).
    msg(selector) {
      const args = Array.prototype.slice.call(arguments, 1);
      if (typeof ctx[selector] === "function" && selector[0] !== "/") return ctx[selector].apply(ctx, args);
      ctx.messagename = selector;
      return ctx.anything.apply(ctx, args);
    },
    text(name) { return patcher.boxes.get(name).text; },
    sentTo(address) { return sent.filter((m) => m[0] === address); },
  });
  return dev;
}

module.exports = {FakeSet, FakeNet, LiveError, loadDevice, makeClock, makeLiveAPI, DEVICE_JS, PATCH, REPO};
