// arvae-live.js: the logic of the arvae-live Max for Live device (runs in Max's classic `js` object).
//
// What it does: reads the clip shown in Live's Clip View (Session or Arrangement) through the Live API, uploads its
// notes to the `arvae-live serve` daemon over OSC (protocol v1, see docs/protocol.md), asks for regenerated
// variations with the targets set on the attribute dials, and writes each returned variation into a new clip slot
// below the source clip (or, with "Replace" on, over existing clips / the Arrangement clip's notes).
//
// Wiring (arvae-live.maxpat):
//   inlet 0  <- live.thisdevice (bang), the controls (`target i v`, `variations n`, `temperature t`, `seed s`,
//               `replace 0/1`, `auto 0/1`, `model i`, `regen`, `free`), and every OSC reply from
//               `udpreceive 9128` after `routepass` has let through only the addresses the daemon sends.
//   outlet 0 -> `udpsend 127.0.0.1 9127`: OSC messages, the address as the selector.
//   outlet 1 -> `print arvae-live`: a log line per action (the Max Console).
// The status lines, dial labels, dials and the model menu are reached by scripting name (this.patcher.getnamed).
//
// The script is plain ES5 (Max's `js` is a JavaScript 1.8.5 engine, the same in Max 8 and 9): no let/const, arrow
// functions or template strings. tests/js/ runs it under Node with a fake LiveAPI, fake patcher and fake Task.
//
// Rules it keeps (the device's contract with the performer):
//   * Nothing in the Set changes unless a complete result arrived: errors, lost datagrams, a daemon that is not
//     running, polyphonic / 3/4 / >64-bar / empty clips all end with a message and no Live API write.
//   * Results go to empty slots below the source clip; an occupied slot is overwritten only with "Replace" on;
//     an Arrangement clip is rewritten only with "Replace" on.
//   * Each write (one variation into one slot) is wrapped in one Live undo step.

autowatch = 0;
inlets = 1;
outlets = 2;

// ---- constants -------------------------------------------------------------------------------------------------

var PROTO_VERSION = 1;
var CLIENT_NAME = "arvae-m4l";
var DEFAULT_REPLY_PORT = 9128; // overridden by the js box argument: `js arvae-live.js 9128`
var DAEMON_HINT = "127.0.0.1:9127";
var MAX_DIALS = 8; // attribute dials in the patch: attr_dial_0 .. attr_dial_7
var MAX_BEATS = 256; // 64 bars of 4/4, the daemon's limit per request
var MAX_NOTES = 1024; // the daemon's limit per uploaded clip
var MAX_VARIATIONS = 8; // the Variations box's range (the protocol allows 16)
var BEATS_PER_BAR = 4;
// Two notes that sound together for longer than this are a chord, not legato slop from a played-in melody.
// 1/8 beat (a 32nd note): shorter overlaps are trimmed by the daemon and reported as a warning instead.
var POLY_TOL_BEATS = 0.125;
var PING_INTERVAL_MS = 2000;
var OFFLINE_AFTER_MISSED = 2; // pings found unanswered before the status line says offline (4 to 6 s of silence)
var UPLOAD_TIMEOUT_MS = 3000; // clip upload -> `/arvae/clip/end` acknowledgement
var RESULT_TIMEOUT_MS = 30000; // `/arvae/regen` -> its final reply (a 64-bar, 8-variation request on a CPU)
var AUTO_DEBOUNCE_MS = 400; // "Auto": regenerate this long after the last dial move
// Clip colours for the variations (Live's `color` is 0xRRGGBB), cycled by variation index.
var VARIATION_COLORS = [0x1fb8a6, 0x3f8fd2, 0xa97fe0, 0xe0a33f];

// Errors from the daemon, in words a performer can act on (protocol v1 codes).
var ERROR_WORDS = {
    bad_args: "the daemon did not understand the request",
    unknown_address: "the daemon does not know this request (is it an older version?)",
    unknown_model: "the daemon has no such model",
    unknown_attr: "the loaded model has no such attribute",
    no_clip: "the daemon lost the uploaded clip",
    clip_incomplete: "notes were lost on the way to the daemon",
    too_large: "the clip is too large for the daemon",
    unsupported: "the daemon cannot do this with this clip",
    busy: "the daemon is busy with another request",
    cancelled: "the request was cancelled",
    internal: "the daemon hit an internal error (see its terminal)"
};

// ---- state -----------------------------------------------------------------------------------------------------

var state = newState();

function newState() {
    return {
        started: false,
        replyPort: DEFAULT_REPLY_PORT,
        nextRid: 1,
        online: false,
        pingRid: 0, // rid of the ping still waiting for an answer, 0 if none
        pingSentMs: 0,
        missedPings: 0,
        latencyMs: -1,
        models: [], // [{id, nAttrs}]
        currentModel: "",
        attrs: [], // [{name, rawMin, rawMax}]
        lists: {}, // rid -> {kind, n, items}
        targets: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        touched: [false, false, false, false, false, false, false, false],
        variations: 1,
        temperature: 1.0,
        seed: 0,
        replace: false,
        auto: false,
        modelLoadRid: 0,
        job: null
    };
}

var pingTask = null;
var timeoutTask = null;
var autoTask = null;

// ---- entry points (messages from the patch) --------------------------------------------------------------------

// live.thisdevice bangs once the device and the Live API are ready (LiveAPI must not be used before).
function bang() {
    init();
}

function init() {
    if (typeof jsarguments !== "undefined" && jsarguments.length > 1 && Number(jsarguments[1]) > 0) {
        state.replyPort = Number(jsarguments[1]);
    }
    state.started = true;
    showConnection();
    showMessage("connecting to the arvae-live daemon on " + DAEMON_HINT + "...");
    send(["/arvae/hello", rid(), CLIENT_NAME, state.replyPort, PROTO_VERSION]);
    requestLists();
    if (pingTask === null) {
        pingTask = new Task(pingTick, this);
    }
    pingTick();
}

// The js object is being deleted (device removed, Set closed): stop the timers.
function notifydeleted() {
    if (pingTask !== null) pingTask.cancel();
    if (timeoutTask !== null) timeoutTask.cancel();
    if (autoTask !== null) autoTask.cancel();
}

function target(index, value) {
    // Dials output their restored values while the device loads, before live.thisdevice bangs: those are not the
    // performer's choice for this session, so a dial counts as set only once it moves after the device is ready.
    if (!state.started) return;
    var i = Math.floor(Number(index));
    if (!(i >= 0 && i < MAX_DIALS)) return;
    state.targets[i] = clamp(Number(value), 0, 1);
    state.touched[i] = true;
    showAttrResult(i, "asked " + fmt(state.targets[i]));
    if (state.auto) {
        if (autoTask === null) autoTask = new Task(autoFire, this);
        autoTask.cancel();
        autoTask.schedule(AUTO_DEBOUNCE_MS);
    }
}

// "Free" button: untouched dials are not sent, so those attributes keep the values they have in the clip.
function free(v) {
    if (arguments.length > 0 && Number(v) === 0) return; // the button's release
    for (var i = 0; i < MAX_DIALS; i++) {
        state.touched[i] = false;
        showAttrResult(i, i < state.attrs.length ? "free (keeps the clip's value)" : "");
    }
    showMessage("all dials free: attributes keep the clip's own values");
}

function variations(n) {
    state.variations = Math.floor(clamp(Number(n), 1, MAX_VARIATIONS));
}

function temperature(t) {
    state.temperature = clamp(Number(t), 0, 2);
}

function seed(s) {
    state.seed = Math.max(0, Math.floor(Number(s)));
}

function replace(on) {
    state.replace = Number(on) !== 0;
}

function auto(on) {
    state.auto = Number(on) !== 0;
}

// The model menu (live.menu) sends its index.
function model(index) {
    var i = Math.floor(Number(index));
    if (!(i >= 0 && i < state.models.length)) return;
    var id = state.models[i].id;
    if (id === state.currentModel) return;
    state.modelLoadRid = rid();
    showMessage("loading model " + id + "...");
    send(["/arvae/model/load", state.modelLoadRid, id]);
}

// The Regenerate button (live.text in button mode sends 1 on press; a 0 is ignored).
function regen(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    startRegen();
}

function ping() {
    pingTick();
}

// Every OSC reply arrives as a message whose selector is the OSC address.
function anything() {
    var args = Array.prototype.slice.call(arguments);
    handleReply(messagename, args);
}

// ---- OSC out ---------------------------------------------------------------------------------------------------

function rid() {
    var r = state.nextRid;
    state.nextRid = state.nextRid >= 2147483647 ? 1 : state.nextRid + 1;
    return r;
}

function send(msg) {
    outlet(0, msg);
}

function log(text) {
    outlet(1, text);
}

function requestLists() {
    send(["/arvae/models/list", rid()]);
    send(["/arvae/attrs/list", rid()]);
    send(["/arvae/status", rid()]);
}

function pingTick() {
    if (state.pingRid !== 0) {
        state.missedPings += 1;
        if (state.online && state.missedPings >= OFFLINE_AFTER_MISSED) {
            state.online = false;
            state.latencyMs = -1;
            showConnection();
            showMessage("lost the daemon: no answer on " + DAEMON_HINT + " (is `arvae-live serve` still running?)");
        }
    }
    state.pingRid = rid();
    state.pingSentMs = nowMs();
    send(["/arvae/ping", state.pingRid]);
    if (pingTask !== null) pingTask.schedule(PING_INTERVAL_MS);
}

// ---- OSC in ----------------------------------------------------------------------------------------------------

var HANDLERS = {
    "/arvae/hello": onHello,
    "/arvae/ping": onPing,
    "/arvae/status": onStatus,
    "/arvae/models/begin": onListBegin,
    "/arvae/models/item": onListItem,
    "/arvae/models/end": onListEnd,
    "/arvae/attrs/begin": onListBegin,
    "/arvae/attrs/item": onListItem,
    "/arvae/attrs/end": onListEnd,
    "/arvae/model/load": onModelLoaded,
    "/arvae/clip/end": onClipAck,
    "/arvae/result/begin": onResultBegin,
    "/arvae/result/note": onResultNote,
    "/arvae/result/asked": onResultAsked,
    "/arvae/result/end": onResultEnd,
    "/arvae/regen": onRegenDone,
    "/arvae/warning": onWarning,
    "/arvae/error": onError
};

function handleReply(address, args) {
    var h = HANDLERS[address];
    if (h === undefined) {
        log("ignored unexpected reply " + address);
        return;
    }
    markOnline();
    h(address, args);
}

function markOnline() {
    if (!state.online) {
        state.online = true;
        showConnection();
        // The daemon may have started after the device: fetch what the first attempt could not get.
        if (state.models.length === 0 || state.attrs.length === 0) requestLists();
        if (state.job === null) showMessage("daemon online: select a MIDI clip and press Regenerate");
    }
}

function onHello(address, args) {
    log("daemon " + args[1] + " (protocol " + args[2] + ", " + args[3] + ")");
}

function onPing(address, args) {
    if (Number(args[0]) !== state.pingRid) return; // an answer to an older ping: already counted as missed
    state.latencyMs = nowMs() - state.pingSentMs;
    state.pingRid = 0;
    state.missedPings = 0;
    showConnection();
}

function onStatus(address, args) {
    // rid state model device queue p50_ms p95_ms served errors
    state.currentModel = String(args[2]);
    selectModelInMenu();
    showConnection();
}

// models/attrs lists come as begin (n), n items, end (n); applied only when complete.
function onListBegin(address, args) {
    var kind = address.indexOf("/arvae/models/") === 0 ? "models" : "attrs";
    state.lists[args[0]] = {kind: kind, n: Number(args[1]), items: []};
}

function onListItem(address, args) {
    var list = state.lists[args[0]];
    if (list === undefined) return;
    var idx = Number(args[1]);
    if (list.kind === "models") {
        list.items[idx] = {id: String(args[2]), nAttrs: Number(args[3])};
    } else {
        list.items[idx] = {name: String(args[2]), rawMin: Number(args[3]), rawMax: Number(args[4])};
    }
}

function onListEnd(address, args) {
    var list = state.lists[args[0]];
    delete state.lists[args[0]];
    if (list === undefined) return;
    var got = 0;
    for (var i = 0; i < list.n; i++) if (list.items[i] !== undefined) got++;
    if (got !== list.n) {
        showMessage("the " + list.kind + " list arrived incomplete (" + got + " of " + list.n + "); asking again");
        send(["/arvae/" + list.kind + "/list", rid()]);
        return;
    }
    if (list.kind === "models") applyModels(list.items);
    else applyAttrs(list.items);
}

function onModelLoaded(address, args) {
    state.currentModel = String(args[1]);
    if (Number(args[0]) === state.modelLoadRid) showMessage("model " + state.currentModel + " loaded");
    selectModelInMenu();
    showConnection();
    send(["/arvae/attrs/list", rid()]);
}

function onWarning(address, args) {
    var job = state.job;
    if (job !== null && Number(args[0]) === job.regenRid) job.warnings.push(String(args[2]));
}

function onError(address, args) {
    var r = Number(args[0]);
    var code = String(args[1]);
    var words = ERROR_WORDS[code] !== undefined ? ERROR_WORDS[code] : "the daemon reported an error";
    var detail = args.length > 2 ? String(args[2]) : "";
    var job = state.job;
    if (job !== null && r === job.uploadRid && code === "clip_incomplete" && job.uploadTries < 2) {
        // UDP lost a note on the way: send the whole clip once more (protocol v1: re-sent notes overwrite).
        log("upload incomplete (" + detail + "), sending the clip again");
        uploadClip(job);
        return;
    }
    if (job !== null && (r === job.uploadRid || r === job.regenRid)) {
        endJob();
        showMessage("Nothing written: " + words + " - " + detail);
        return;
    }
    if (r === state.modelLoadRid) {
        showMessage("Could not load the model: " + words + " - " + detail);
        selectModelInMenu();
        return;
    }
    log("daemon error " + code + ": " + detail);
}

// ---- regeneration ----------------------------------------------------------------------------------------------

function autoFire() {
    if (state.job === null) startRegen();
}

function startRegen() {
    if (!state.online) {
        showMessage("Daemon offline: nothing answers on " + DAEMON_HINT +
            ". Start it in a terminal with `arvae-live serve`, then press Regenerate again.");
        return;
    }
    var clip = readDetailClip();
    if (clip.error !== undefined) {
        showMessage(clip.error);
        return;
    }
    if (state.job !== null) {
        // Latest wins: the older request's results are dropped (and the daemon stops working on it).
        send(["/arvae/cancel", rid(), state.job.regenRid || state.job.uploadRid]);
        endJob();
    }
    var useSeed = state.seed > 0 ? state.seed : 1 + Math.floor(Math.random() * 2147483646);
    var job = {
        clip: clip,
        seed: useSeed,
        temperature: state.temperature,
        variations: clip.isArrangement ? 1 : state.variations,
        targets: currentTargets(),
        uploadRid: 0,
        uploadTries: 0,
        regenRid: 0,
        results: [],
        warnings: [],
        startedMs: nowMs()
    };
    state.job = job;
    showMessage("sending " + clip.notes.length + " notes (" + clip.nBars + " bars)...");
    uploadClip(job);
}

// The dials the performer moved, as [name, value] pairs; untouched attributes keep the clip's own value.
function currentTargets() {
    var out = [];
    for (var i = 0; i < state.attrs.length && i < MAX_DIALS; i++) {
        if (state.touched[i]) out.push([state.attrs[i].name, state.targets[i]]);
    }
    return out;
}

function uploadClip(job) {
    var notes = job.clip.notes;
    job.uploadRid = rid();
    job.uploadTries += 1;
    send(["/arvae/clip/begin", job.uploadRid, 0, notes.length, job.clip.lengthBeats]);
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        send(["/arvae/clip/note", job.uploadRid, 0, i, n.pitch, n.start, n.dur, n.velocity]);
    }
    send(["/arvae/clip/end", job.uploadRid, 0, notes.length]);
    armTimeout(UPLOAD_TIMEOUT_MS, "the daemon did not acknowledge the clip upload");
}

function onClipAck(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.uploadRid) return;
    if (Number(args[2]) !== job.clip.notes.length) {
        endJob();
        showMessage("Nothing written: the daemon received " + args[2] + " of " + job.clip.notes.length + " notes");
        return;
    }
    job.regenRid = rid();
    var msg = ["/arvae/regen", job.regenRid, 0, job.variations, job.temperature, job.seed, 0, job.clip.nBars];
    for (var i = 0; i < job.targets.length; i++) {
        msg.push(job.targets[i][0]);
        msg.push(job.targets[i][1]);
    }
    send(msg);
    showMessage("regenerating " + job.clip.nBars + " bars x " + job.variations + " variation(s), seed " + job.seed +
        "...");
    armTimeout(RESULT_TIMEOUT_MS, "no result from the daemon");
}

function onResultBegin(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.regenRid) return;
    job.results[Number(args[1])] = {
        n: Number(args[2]), lengthBeats: Number(args[3]), notes: [], asked: null, achieved: null
    };
}

function onResultNote(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.regenRid) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.notes[Number(args[2])] = {
        pitch: Number(args[3]), start: Number(args[4]), dur: Number(args[5]), velocity: Number(args[6])
    };
}

// What the daemon aimed at per attribute (mean over the bars): the dial targets, and for free dials the clip's own.
function onResultAsked(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.regenRid) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.asked = {};
    for (var i = 2; i + 1 < args.length; i += 2) res.asked[String(args[i])] = Number(args[i + 1]);
}

function onResultEnd(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.regenRid) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.endCount = Number(args[2]);
    res.achieved = {};
    for (var i = 3; i + 1 < args.length; i += 2) res.achieved[String(args[i])] = Number(args[i + 1]);
}

function onRegenDone(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.regenRid) return;
    var nVar = Number(args[1]);
    var latency = Number(args[2]);
    var problem = checkResults(job, nVar);
    endJob();
    if (problem !== "") {
        showMessage("Nothing written: " + problem + ". Press Regenerate again.");
        return;
    }
    var where = writeResults(job);
    showAchieved(job);
    var text = where + " (daemon " + fmtMs(latency) + ", seed " + job.seed + ")";
    if (job.warnings.length > 0) text += ". Note: " + job.warnings.join("; ");
    showMessage(text);
}

// "" when every variation arrived whole, else what is missing.
function checkResults(job, nVar) {
    if (nVar < 1) return "the daemon returned no variation";
    for (var v = 0; v < nVar; v++) {
        var res = job.results[v];
        if (res === undefined || res.achieved === null) return "variation " + (v + 1) + " was lost on the way";
        var got = 0;
        for (var i = 0; i < res.n; i++) if (res.notes[i] !== undefined) got++;
        if (got !== res.n || res.endCount !== res.n) {
            return "variation " + (v + 1) + " arrived with " + got + " of " + res.n + " notes";
        }
    }
    job.results.length = nVar;
    return "";
}

function armTimeout(ms, what) {
    if (timeoutTask === null) timeoutTask = new Task(onTimeout, this);
    timeoutTask.cancel();
    state.timeoutWhat = what;
    timeoutTask.schedule(ms);
}

function onTimeout() {
    if (state.job === null) return;
    endJob();
    showMessage("Nothing written: " + state.timeoutWhat + " (is `arvae-live serve` running on " + DAEMON_HINT +
        "?)");
}

function endJob() {
    state.job = null;
    if (timeoutTask !== null) timeoutTask.cancel();
}

// ---- reading the clip (Live API, read only) --------------------------------------------------------------------

// The clip in the Clip View, checked and converted to protocol notes; {error: text} when it cannot be used.
function readDetailClip() {
    var clip = new LiveAPI("live_set view detail_clip");
    if (Number(clip.id) === 0) {
        return {error: "No clip selected: click a MIDI clip so it shows in the Clip View, then press Regenerate."};
    }
    if (Number(first(clip.get("is_midi_clip"))) !== 1) {
        return {error: "The selected clip is an audio clip: select a MIDI clip with a melody."};
    }
    var num = Number(first(clip.get("signature_numerator")));
    var den = Number(first(clip.get("signature_denominator")));
    if (num !== 4 || den !== 4) {
        return {error: "The clip is in " + num + "/" + den + ": the models work on 4/4 bars. Set the clip's " +
            "signature to 4/4 (Clip View, Signature) and press Regenerate."};
    }
    var isArrangement = Number(first(clip.get("is_arrangement_clip"))) === 1;
    if (isArrangement && !state.replace) {
        return {error: "This is an Arrangement clip: turn on Replace to overwrite its notes with the result, " +
            "or drag the clip into a Session slot to get new clips below it."};
    }
    var looping = Number(first(clip.get("looping"))) === 1;
    var regionStart = Number(first(clip.get(looping ? "loop_start" : "start_marker")));
    var lengthBeats = Number(first(clip.get("length")));
    if (lengthBeats > MAX_BEATS + 1e-6) {
        return {error: "The clip is " + fmtBars(lengthBeats) + " bars long: the limit is 64 bars. Shorten the " +
            "clip or its loop and press Regenerate."};
    }
    var reply = clip.call("get_notes_extended", 0, 128, regionStart, lengthBeats);
    var raw = (typeof reply === "string" ? JSON.parse(reply) : reply).notes;
    var notes = [];
    for (var i = 0; i < raw.length; i++) {
        var r = raw[i];
        if (Number(r.mute) === 1) continue; // muted notes are not part of the melody
        var start = Number(r.start_time) - regionStart;
        if (start < 0 || start >= lengthBeats) continue;
        var dur = Math.min(Number(r.duration), lengthBeats - start);
        if (!(dur > 0)) continue;
        notes.push({
            pitch: Number(r.pitch), start: start, dur: dur,
            velocity: Math.max(1, Math.min(127, Math.round(Number(r.velocity))))
        });
    }
    if (notes.length === 0) {
        return {error: "The clip has no notes: record or draw a melody first, then press Regenerate."};
    }
    if (notes.length > MAX_NOTES) {
        return {error: "The clip has " + notes.length + " notes: the limit is " + MAX_NOTES + ". Shorten it."};
    }
    notes.sort(function (a, b) { return a.start - b.start || b.pitch - a.pitch; });
    var chord = findChord(notes);
    if (chord !== null) {
        return {error: "The clip is polyphonic: two notes sound together at bar " + chord.bar + " beat " +
            chord.beat + ". The models regenerate one melody line; delete the chord notes or use a melody clip."};
    }
    var parent = new LiveAPI("id " + firstId(clip.get("canonical_parent")));
    var where = parseSlotPath(String(parent.unquotedpath));
    if (!isArrangement && where === null) {
        return {error: "Could not find the clip's slot in the Session (" + parent.unquotedpath + ")."};
    }
    return {
        id: Number(clip.id),
        name: atomsText(clip.get("name")),
        isArrangement: isArrangement,
        regionStart: regionStart,
        lengthBeats: lengthBeats,
        nBars: Math.ceil(lengthBeats / BEATS_PER_BAR - 1e-9),
        notes: notes,
        track: where === null ? -1 : where.track,
        slot: where === null ? -1 : where.slot
    };
}

// The first place where a note starts while an earlier one still sounds (beyond POLY_TOL_BEATS), or null.
function findChord(notes) {
    var maxEnd = -1;
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        if (i > 0 && n.start < maxEnd - POLY_TOL_BEATS) {
            return {bar: Math.floor(n.start / BEATS_PER_BAR) + 1, beat: Math.floor(n.start % BEATS_PER_BAR) + 1};
        }
        maxEnd = Math.max(maxEnd, n.start + n.dur);
    }
    return null;
}

function parseSlotPath(path) {
    var m = /tracks (\d+) clip_slots (\d+)/.exec(path);
    return m === null ? null : {track: Number(m[1]), slot: Number(m[2])};
}

// ---- writing the result (Live API writes happen only here) -----------------------------------------------------

// Writes every variation; returns a sentence saying where they went.
function writeResults(job) {
    if (job.clip.isArrangement) return writeArrangement(job);
    return writeSession(job);
}

function writeSession(job) {
    var clip = job.clip;
    var song = new LiveAPI("live_set");
    var trackPath = "live_set tracks " + clip.track;
    var track = new LiveAPI(trackPath);
    var nSlots = Number(track.getcount("clip_slots"));
    var targets = [];
    for (var s = clip.slot + 1; s < nSlots && targets.length < job.results.length; s++) {
        var hasClip = Number(first(new LiveAPI(trackPath + " clip_slots " + s).get("has_clip"))) === 1;
        if (state.replace || !hasClip) targets.push(s);
    }
    var written = [];
    for (var v = 0; v < job.results.length; v++) {
        var res = job.results[v];
        song.call("begin_undo_step");
        var slotIndex;
        if (v < targets.length) {
            slotIndex = targets[v];
        } else {
            // No free slot left below: add a scene at the end of the Set (inside this write's undo step).
            song.call("create_scene", -1);
            slotIndex = Number(track.getcount("clip_slots")) - 1;
        }
        var slot = new LiveAPI(trackPath + " clip_slots " + slotIndex);
        if (Number(first(slot.get("has_clip"))) === 1) slot.call("delete_clip"); // only reachable with Replace on
        slot.call("create_clip", res.lengthBeats);
        var out = new LiveAPI(trackPath + " clip_slots " + slotIndex + " clip");
        out.call("add_new_notes", {notes: liveNotes(res.notes, 0)});
        out.set("name", variationName(clip.name, v, job.results.length));
        out.set("color", VARIATION_COLORS[v % VARIATION_COLORS.length]);
        song.call("end_undo_step");
        written.push(slotIndex + 1);
    }
    return "Wrote " + written.length + " variation(s) into slot(s) " + written.join(", ") + " of track " +
        (clip.track + 1);
}

function writeArrangement(job) {
    var clip = job.clip;
    var song = new LiveAPI("live_set");
    var live = new LiveAPI("id " + clip.id);
    var res = job.results[0];
    song.call("begin_undo_step");
    live.call("remove_notes_extended", 0, 128, clip.regionStart, clip.lengthBeats);
    live.call("add_new_notes", {notes: liveNotes(res.notes, clip.regionStart)});
    song.call("end_undo_step");
    return "Replaced the notes of Arrangement clip \"" + clip.name + "\" with the result";
}

// Protocol notes -> Live note dictionaries, shifted by offsetBeats, cut to the region so none overlaps the next.
function liveNotes(notes, offsetBeats) {
    var out = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        out.push({
            pitch: n.pitch, start_time: n.start + offsetBeats, duration: n.dur, velocity: n.velocity, mute: 0
        });
    }
    return out;
}

function variationName(source, v, n) {
    var base = source === "" ? "clip" : source;
    return base + " arvae " + (v + 1) + "/" + n;
}

// ---- the device's display --------------------------------------------------------------------------------------

function applyModels(items) {
    state.models = items;
    var names = [];
    for (var i = 0; i < items.length; i++) names.push(items[i].id);
    var menu = named("model_menu");
    if (menu !== null && names.length > 0) menu.message("_parameter_range", names);
    selectModelInMenu();
    log("models: " + names.join(", "));
}

function selectModelInMenu() {
    var menu = named("model_menu");
    if (menu === null) return;
    for (var i = 0; i < state.models.length; i++) {
        if (state.models[i].id === state.currentModel) menu.message("set", i);
    }
}

function applyAttrs(items) {
    var old = state.attrs;
    state.attrs = items;
    for (var i = 0; i < MAX_DIALS; i++) {
        var visible = i < items.length;
        // A moved dial stays set across a reload of the same model's list, not across a change of attribute.
        if (!visible || (old[i] !== undefined && old[i].name !== items[i].name)) state.touched[i] = false;
        var dial = named("attr_dial_" + i);
        if (dial !== null) dial.hidden = visible ? 0 : 1;
        var label = named("attr_label_" + i);
        if (label !== null) {
            label.hidden = visible ? 0 : 1;
            label.message("set", visible ? items[i].name : "");
        }
        showAttrResult(i, visible ? (state.touched[i] ? "asked " + fmt(state.targets[i]) :
            "free (keeps the clip's value)") : "");
    }
    if (items.length > MAX_DIALS) {
        showMessage("the model has " + items.length + " attributes; the device shows the first " + MAX_DIALS);
    }
    log("attributes: " + items.length);
}

// Under each dial: "asked 0.80, got 0.78" for a moved dial, "clip 0.40, got 0.42" for a free one (the value the
// daemon kept from the clip), each the mean over the variations.
function showAchieved(job) {
    for (var i = 0; i < state.attrs.length && i < MAX_DIALS; i++) {
        var name = state.attrs[i].name;
        var asked = null;
        for (var t = 0; t < job.targets.length; t++) if (job.targets[t][0] === name) asked = job.targets[t][1];
        var kept = meanOver(job.results, "asked", name);
        var got = meanOver(job.results, "achieved", name);
        var head = asked !== null ? "asked " + fmt(asked) : (kept !== null ? "clip " + fmt(kept) : "free");
        showAttrResult(i, head + ", got " + (got !== null ? fmt(got) : "-"));
    }
}

// The mean of results[v][field][name] over the variations that have it, or null.
function meanOver(results, field, name) {
    var sum = 0;
    var count = 0;
    for (var v = 0; v < results.length; v++) {
        var values = results[v][field];
        if (values !== null && values[name] !== undefined) {
            sum += values[name];
            count++;
        }
    }
    return count > 0 ? sum / count : null;
}

function showConnection() {
    var text;
    if (state.online) {
        text = "daemon online";
        if (state.currentModel !== "") text += " | model " + state.currentModel;
        if (state.latencyMs >= 0) text += " | ping " + fmtMs(state.latencyMs);
    } else {
        text = "daemon offline: run `arvae-live serve`";
    }
    setText("status_conn", text);
}

function showMessage(text) {
    setText("status_msg", text);
    log(text);
}

function showAttrResult(i, text) {
    setText("attr_result_" + i, text);
}

function setText(name, text) {
    var box = named(name);
    if (box !== null) box.message("set", text);
}

function named(name) {
    if (typeof this.patcher === "undefined" || this.patcher === null) return null;
    var obj = this.patcher.getnamed(name);
    return obj === undefined || obj === null ? null : obj;
}

// ---- small helpers ---------------------------------------------------------------------------------------------

// LiveAPI.get returns an array of atoms; tested without instanceof, which fails for arrays from another realm.
function isArray(value) {
    return Object.prototype.toString.call(value) === "[object Array]";
}

function first(value) {
    return isArray(value) ? value[0] : value;
}

// A string property: Max may hand a name with spaces over as several atoms.
function atomsText(value) {
    return isArray(value) ? value.join(" ") : String(value);
}

// LiveAPI.get of an object property returns ["id", N].
function firstId(value) {
    if (isArray(value)) return value.length > 1 ? value[1] : value[0];
    return value;
}

function clamp(x, lo, hi) {
    if (!(x === x)) return lo; // NaN
    return Math.max(lo, Math.min(hi, x));
}

function fmt(x) {
    return (Math.round(x * 100) / 100).toFixed(2);
}

function fmtMs(ms) {
    return (ms < 10 ? ms.toFixed(1) : String(Math.round(ms))) + " ms";
}

function fmtBars(beats) {
    return String(Math.round(beats / BEATS_PER_BAR * 100) / 100);
}

function nowMs() {
    return new Date().getTime();
}
