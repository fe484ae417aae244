// The Live API the device may use: every LiveAPI member, Live Object Model class, child, property and function that
// max_patches/arvae-live.js touches, each with the documentation page it comes from. The fake Live Set in
// fake_max.js is built from this table and throws for anything that is not in it, so a call Live does not document
// (Song.begin_undo_step, say: Live's Python remote-script API has it, the Max LOM does not) fails the tests.
//
// access: "get" (read-only), "get set"; kind of child: "one" (a single object, ["id", N] or id 0) or "list".
// A class's `since` names the Live version that added a property; the fake Set refuses it in an older Live
// (FakeSet.liveVersion).
// Pages: the Live Object Model reference for Live 12 / Max 9 (https://docs.cycling74.com/apiref/lom/) and the
// JavaScript LiveAPI reference (https://docs.cycling74.com/apiref/js/liveapi/). "since" is the first Live version
// with the member, where the page gives one.
"use strict";

const LOM_PAGE = "https://docs.cycling74.com/apiref/lom/";

// Members of the js LiveAPI object itself (constructor argument: a path or "id N").
const LIVEAPI = {
  page: "https://docs.cycling74.com/apiref/js/liveapi/",
  members: {
    id: "the object's id; 0 when the path leads nowhere",
    unquotedpath: "the canonical path of the object, unquoted",
    type: "the LOM class name",
    get: "get(property): the value as an array of atoms",
    set: "set(property, value)",
    call: "call(function, ...args)",
    getcount: "getcount(child): the number of elements of a list child",
  },
};

// Root paths: live_set (the Song) and this_device (the device holding the script).
const ROOTS = {
  live_set: {cls: "Song", page: LOM_PAGE + "song"},
  this_device: {cls: "Device", page: "https://docs.cycling74.com/userguide/m4l/live_api/"},
};

const CLASSES = {
  Song: {
    page: LOM_PAGE + "song",
    children: {tracks: {kind: "list", cls: "Track"}, scenes: {kind: "list", cls: "Scene"},
      view: {kind: "one", cls: "Song.View"}},
    // The Set's scale (Live 12, the Song page): root_note 0..11 (0 = C) and scale_intervals, the scale's notes as
    // semitones above the root (a list of ints: Major is 0 2 4 5 7 9 11).
    // The Set's time signature (the Song page: signature_numerator, signature_denominator): Sample's meter.
    properties: {root_note: "get set", scale_intervals: "get", signature_numerator: "get set",
      signature_denominator: "get set"},
    since: {root_note: "12.0", scale_intervals: "12.0"},
    functions: {
      create_scene: "index: inserts a new scene there (-1: at the end); returns the scene",
      delete_scene: "index: deletes the scene at that index",
    },
  },
  "Song.View": {
    page: LOM_PAGE + "song_view",
    children: {detail_clip: {kind: "one", cls: "Clip"}, highlighted_clip_slot: {kind: "one", cls: "ClipSlot"}},
    properties: {},
    functions: {},
  },
  Scene: {page: LOM_PAGE + "scene", children: {}, properties: {}, functions: {}},
  Track: {
    page: LOM_PAGE + "track",
    children: {clip_slots: {kind: "list", cls: "ClipSlot"},
      arrangement_clips: {kind: "list", cls: "Clip", since: "11.0"}},
    properties: {name: "get", has_midi_input: "get"},
    functions: {},
  },
  ClipSlot: {
    page: LOM_PAGE + "clipslot",
    children: {clip: {kind: "one", cls: "Clip"}},
    properties: {has_clip: "get"},
    functions: {
      create_clip: "length (beats): an empty MIDI clip; an error if the slot has a clip",
      delete_clip: "deletes the slot's clip",
    },
  },
  Clip: {
    page: LOM_PAGE + "clip",
    children: {},
    properties: {
      name: "get set", color_index: "get set", is_midi_clip: "get", is_arrangement_clip: "get",
      signature_numerator: "get set", signature_denominator: "get set", looping: "get set",
      loop_start: "get set", start_marker: "get set", length: "get",
    },
    functions: {
      get_notes_extended: "from_pitch pitch_span from_time time_span: a dictionary {notes: [...]} (Live 11)",
      add_new_notes: "a dictionary {notes: [{pitch, start_time, duration, velocity, mute, ...}]} (Live 11)",
      remove_notes_extended: "from_pitch pitch_span from_time time_span (Live 11)",
      apply_note_modifications: "a dictionary {notes: [{note_id, ...changed fields}]} (Live 11)",
    },
  },
  Device: {
    page: LOM_PAGE + "device",
    children: {parameters: {kind: "list", cls: "DeviceParameter"}},
    properties: {name: "get"},
    functions: {},
  },
  DeviceParameter: {
    page: LOM_PAGE + "deviceparameter",
    children: {},
    properties: {name: "get", value: "get set", automation_state: "get", is_enabled: "get"},
    functions: {},
  },
};

module.exports = {LIVEAPI, ROOTS, CLASSES};
