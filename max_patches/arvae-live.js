// arvae-live.js: the logic of the arvae-live Max for Live device (runs in Max's classic `js` object).
//
// What it does: reads clips through the Live API, talks to the `arvae-live serve` daemon over OSC (protocol v1,
// docs/protocol.md) and writes what comes back into new clips. Three modes:
//   Regenerate   the clip in the Clip View, with the moved dials as attribute targets (Session: new slots below it;
//                Arrangement: its notes replaced, after a confirm);
//   Sample       N new bars from the dials alone, into the selected (highlighted) slot and the empty ones below;
//   Interpolate  from the clip in the Clip View to a second clip chosen with "Set B", N steps, into slots below A.
//
// Wiring (arvae-live.maxpat):
//   inlet 0  <- live.thisdevice (bang), the controls (`target i v`, `variations n`, `temperature t`, `seed s`,
//               `bars n`, `mode i`, `key i`, `replace 0/1`, `auto 0/1`, `model i`, `go`, `cancel`, `overwrite`,
//               `setb`, `free`), the saved state (`restore ...`, from the pattr `state_store`), and every OSC reply
//               from `udpreceive` after `routepass` has let through only the addresses the daemon (or the port probe)
//               sends.
//   outlet 0 -> `udpsend 127.0.0.1 9127`: OSC messages, the address as the selector.
//   outlet 1 -> `print arvae-live`: a log line per action (the Max Console).
// Boxes reached by scripting name (this.patcher.getnamed): the status lines, dial labels and results, the dials, the
// model and key menus, `reply_in` (the udpreceive: `port N`), `probe_out` (a udpsend to this device's own reply port)
// and `state_store` (the pattr that keeps the saved state in the Live Set).
//
// The script is plain ES5 (Max's `js` is a JavaScript 1.8.5 engine, the same in Max 8 and 9): no let/const, arrow
// functions or template strings. tests/js/ runs it under Node against a strict fake of the Live Object Model
// (tests/js/lom_api.js lists every Live API function and property used here, with its documentation page).
//
// Rules it keeps (the device's contract with the performer):
//   * Nothing in the Set changes unless every variation arrived whole (a lost datagram is asked for again with
//     /arvae/resend). Errors, a daemon that is not running, polyphonic / >64-bar / empty clips and meters no model
//     serves all end with a message and no Live API write.
//   * Results go into empty slots; nothing is overwritten except an Arrangement clip's notes, and only after the
//     performer confirms with Overwrite. Track, slot and clip are looked up again by id when the result is written.
//   * Every write is read back; when Live refuses one (by throwing or by only logging), everything written for that
//     request is taken back and the status line says what failed.
//   * Several copies of the device coexist: each claims its own reply port (9128 upward) and starts its request ids
//     at a random base, so replies are never taken for another copy's.

autowatch = 0;
inlets = 1;
outlets = 2;

// ---- constants -------------------------------------------------------------------------------------------------

var PROTO_VERSION = 1;
var CLIENT_NAME = "arvae-m4l";
var BASE_REPLY_PORT = 9128; // overridden by the js box argument: `js arvae-live.js 9128`
var REPLY_PORT_TRIES = 32; // reply ports tried: base .. base + 31
var DAEMON_HINT = "127.0.0.1:9127";
var MAX_DIALS = 8; // attribute dials in the patch: attr_dial_0 .. attr_dial_7
var MAX_BARS = 64; // bars per clip and per request (protocol limit)
var MAX_BEATS = 256; // MAX_BARS bars of 4/4
var MAX_NOTES = 1024; // notes per uploaded clip (protocol limit)
var MAX_VARIATIONS = 8; // the Variations box's range, also the Interpolate steps (the protocol allows 16)
var BEATS_PER_BAR = 4;
// The model menu's first item: /arvae/model/load auto, each clip goes to the model serving its meter (the default).
var AUTO_MODEL = "auto";
var AUTO_MENU_ITEM = "auto (by meter)";
// Meters whose bars pair into one model measure (arvae_live/core/meters.py: 2/4 on the simple grid, 6/8 on the
// compound one; tests/test_max_patch.py checks the table): Sample's n_bars counts measures, so it sends half.
var BARS_PER_MEASURE = {"2/4": 2, "6/8": 2};
// Two notes that sound together for longer than this are a chord, not legato slop from a played-in melody.
// 1/8 beat (a 32nd note): shorter overlaps are trimmed by the daemon and reported as a warning instead.
var POLY_TOL_BEATS = 0.125;
var PING_INTERVAL_MS = 2000;
var OFFLINE_AFTER_MISSED = 2; // pings found unanswered before the status line says offline (4 to 6 s of silence)
var PROBE_TIMEOUT_MS = 500; // a probe sent to our own reply port that has not come back by then: port taken
var UPLOAD_TIMEOUT_MS = 3000; // clip upload -> `/arvae/clip/end` acknowledgement
var RESULT_TIMEOUT_MS = 30000; // request -> its final reply (a 64-bar, 8-variation request on a CPU)
// A result stream that has been quiet this long has ended or lost its tail: ask again for what is missing. The daemon
// computes every variation before it streams the first, so a pause inside a stream is a loss, not work.
var STALL_MS = 1500;
var RECEIVE_QUEUE = 8192; // udpreceive's maxqueuesize (messages); the default 2,048 holds 3 of 8 64-bar variations
var RESEND_TRIES = 3; // /arvae/resend per variation before giving up
var AUTO_DEBOUNCE_MS = 400; // "Auto": regenerate this long after the performer's last dial move
var VALUE_TOLERANCE = 0.001; // dial output vs the parameter's own value: more apart means modulation
var PROBE_ADDRESS = "/arvae/device/probe"; // sent to ourselves only, never to the daemon
var PORT_REGISTRY = "arvae_live_reply_ports"; // Max Global shared by every copy of this script in one Max
var STATE_VERSION = "v3"; // first atom of the saved state ("v2" before auto, "v1" before the Key menu, still read)
var MODES = ["regen", "sample", "interp"];
var MODE_NAMES = ["Regenerate", "Sample", "Interpolate"];
// The Key menu's items (KEY_NAMES in build_patch.py) and their names in the saved state: which pitches the daemon
// keeps to (/arvae/scale): the clip's own key, any pitch, or the Set's scale (Live 12: Song.root_note and
// Song.scale_intervals), sent as a pitch-class mask.
var KEY_CHOICES = ["auto", "off", "live"];
var PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
// The dials' parameter names as saved in the patch (build_patch.py); renamed after the loaded model's attributes.
var DIAL_PARAMETER_NAMES = ["rhythmic_complexity", "pitch_range", "note_density", "contour", "Attr 5", "Attr 6",
    "Attr 7", "Attr 8"];
// Clip colours for the variations: indexes into Live's clip colour palette (Clip.color_index), cycled.
var VARIATION_COLOR_INDEXES = [14, 16, 20, 24];

// Errors from the daemon, in words a performer can act on (protocol v1 codes; tests/test_max_patch.py checks the
// list against arvae_live/protocol.py).
var ERROR_WORDS = {
    bad_args: "the daemon did not understand the request",
    unknown_address: "the daemon does not know this request (is it an older version?)",
    unknown_model: "the daemon has no such model",
    unknown_attr: "the loaded model has no such attribute",
    no_clip: "the daemon lost the uploaded clip",
    clip_incomplete: "notes were lost on the way to the daemon",
    too_large: "the clip is too large for the daemon",
    unsupported: "the daemon cannot do this with this clip",
    busy: "the daemon is busy with other requests",
    cancelled: "the request was cancelled",
    internal: "the daemon hit an internal error (see its terminal)",
    unverified: "the daemon wants this device to register again",
    no_result: "the daemon no longer holds that result"
};

// ---- state -----------------------------------------------------------------------------------------------------

var state = newState();

function newState() {
    var ridBase = 1 + Math.floor(Math.random() * 0x70000000); // leaves 2^28 rids before the int32 end
    return {
        started: false,
        basePort: BASE_REPLY_PORT,
        replyPort: 0, // claimed and probed; 0 until then
        portTry: -1,
        probeNonce: 0,
        instanceKey: "i" + Math.floor(Math.random() * 1e9),
        ridBase: ridBase,
        nextRid: ridBase,
        online: false,
        helloRid: 0,
        helloSentMs: 0,
        registered: false, // the daemon answered our /arvae/hello
        verify: "no", // "no", "pending", "yes", or "legacy" (a daemon without /arvae/verify)
        verifyRid: 0,
        pingRid: 0, // rid of the ping still waiting for an answer, 0 if none
        pingSentMs: 0,
        missedPings: 0,
        latencyMs: -1,
        models: [], // [{id, nAttrs, grid, meters}]
        currentModel: "", // the daemon's current model (/arvae/status, /arvae/model/load)
        chosenModel: "", // the model this device chose in the menu; "": auto (by meter)
        attrs: [], // [{name, rawMin, rawMax}]
        // What the dials were built for: the model and grid /arvae/attrs/begin named ("" from a daemon before
        // meters) and the meter asked for ("": this client's model, no meter).
        attrsModel: "",
        attrsGrid: "",
        attrsMeter: "",
        gridMeters: {}, // grid -> its meters ["4/4", "2/2", "2/4"], from /arvae/models/item
        attrsAsked: {}, // rid of an /arvae/attrs/list -> the meter it asked for ("" none)
        lists: {}, // rid -> {kind, n, items, about}
        targets: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        touched: [false, false, false, false, false, false, false, false],
        dialParams: [], // LOM ids of the dials' DeviceParameters (0: not found)
        dialNames: DIAL_PARAMETER_NAMES.slice(), // the dials' parameter names now
        variations: 1,
        temperature: 1.0,
        seed: 0,
        bars: 4,
        mode: 0,
        key: 0, // index into KEY_CHOICES
        scaleRid: 0, // rid of the last /arvae/scale
        scaleSent: "", // "mode mask" of the last /arvae/scale, to send Live's scale again only when it changed
        replace: false,
        auto: false,
        modelLoadRid: 0,
        menuLoadRid: 0,
        restored: null, // {model, names} from the Live Set, applied once the daemon's lists arrive
        savedOnce: false, // the device has written its state to the Set (a restore after that would be stale)
        saveWanted: false, // the performer changed something before the saved state was applied: save after it
        partner: null, // Interpolate's clip B: {id, name}
        job: null,
        pendingWrite: null, // a finished job waiting for Overwrite
        autoPending: false
    };
}

var pingTask = null;
var timeoutTask = null;
var stallTask = null;
var autoTask = null;
var probeTask = null;

// ---- entry points (messages from the patch) --------------------------------------------------------------------

// live.thisdevice bangs once the device and the Live API are ready (LiveAPI must not be used before).
function bang() {
    init();
}

function init() {
    if (state.started) return;
    if (typeof jsarguments !== "undefined" && jsarguments.length > 1 && Number(jsarguments[1]) > 0) {
        state.basePort = Number(jsarguments[1]);
    }
    state.started = true;
    state.dialParams = findDialParameters();
    // A larger receive queue than Max's default 2,048 for a burst of results; what is lost anyway is asked for again.
    boxMessage("reply_in", ["maxqueuesize", RECEIVE_QUEUE]);
    showConnection();
    showBusy();
    claimNextPort();
}

// The js object is being deleted (device removed, Set closed): stop the timers, give the reply port back.
function notifydeleted() {
    var tasks = [pingTask, timeoutTask, stallTask, autoTask, probeTask];
    for (var i = 0; i < tasks.length; i++) if (tasks[i] !== null) tasks[i].cancel();
    releasePort();
}

function target(index, value) {
    var i = Math.floor(Number(index));
    if (!(i >= 0 && i < MAX_DIALS)) return;
    var v = clamp(Number(value), 0, 1);
    state.targets[i] = v;
    // Dials output their saved values while the device loads, before live.thisdevice bangs: the value is kept, and
    // whether the dial counts as set comes from the saved state (restore) once the daemon's attribute list is in.
    if (!state.started) return;
    state.touched[i] = true;
    showAttrResult(i, "asked " + fmt(v));
    saveState();
    if (state.auto && isPerformerMove(i, v)) scheduleAuto();
}

// "Free" button: untouched dials are not sent, so those attributes keep the values they have in the clip.
function free(v) {
    if (arguments.length > 0 && Number(v) === 0) return; // the button's release
    for (var i = 0; i < MAX_DIALS; i++) {
        state.touched[i] = false;
        showAttrResult(i, i < state.attrs.length ? "free (keeps the clip's value)" : "");
    }
    saveState();
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

function bars(n) {
    state.bars = Math.floor(clamp(Number(n), 1, MAX_BARS));
}

// The Mode menu: 0 Regenerate, 1 Sample, 2 Interpolate.
function mode(i) {
    state.mode = Math.floor(clamp(Number(i), 0, MODES.length - 1));
    boxMessage("go_button", ["text", MODE_NAMES[state.mode]]);
    if (state.started) showMessage(modeHint());
}

// The Key menu: 0 Auto (the clip's key), 1 Off (any pitch), 2 Live's scale. Sent at once when the daemon has
// registered this device, else after the handshake; while the device loads the menu's saved value is only kept.
function key(i) {
    state.key = Math.floor(clamp(Number(i), 0, KEY_CHOICES.length - 1));
    if (!state.started) return;
    saveState();
    if (ready()) sendScale(true);
}

function replace(on) {
    state.replace = Number(on) !== 0;
}

function auto(on) {
    state.auto = Number(on) !== 0;
    if (!state.auto && autoTask !== null) autoTask.cancel();
    state.autoPending = false;
}

// The model menu (live.menu) sends its index: 0 "auto (by meter)", then the daemon's models; the saved choice is
// restored by name instead (see restore).
function model(index) {
    if (!state.started) return;
    var i = Math.floor(Number(index));
    if (!(i >= 0 && i <= state.models.length)) return;
    loadModel(i === 0 ? AUTO_MODEL : state.models[i - 1].id);
    state.menuLoadRid = state.modelLoadRid; // the performer's choice: saved once loaded
}

// The main button (live.text in button mode sends 1 on press; a 0 is ignored).
function go(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    startJob(false);
}

function regen(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    startJob(false);
}

function cancel(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    if (state.pendingWrite !== null) {
        state.pendingWrite = null;
        showBusy();
        showMessage("Cancelled: nothing was overwritten");
        return;
    }
    var job = state.job;
    if (job === null) {
        showMessage("nothing to cancel");
        return;
    }
    var targetRid = job.requestRid || job.uploadRid;
    if (targetRid) send(["/arvae/cancel", rid(), targetRid]);
    state.autoPending = false;
    endJob();
    showMessage("Cancelled: nothing written");
}

// Overwrite: confirms a pending overwrite (an Arrangement clip's notes).
function overwrite(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    var job = state.pendingWrite;
    if (job === null) {
        showMessage("nothing waits to be overwritten");
        return;
    }
    state.pendingWrite = null;
    showBusy();
    finishWrite(job);
}

// "Set B": the clip now in the Clip View becomes Interpolate's second clip.
function setb(v) {
    if (arguments.length > 0 && Number(v) === 0) return;
    var clip = readDetailClip({allowArrangement: true});
    if (clip.error !== undefined) {
        showMessage("Set B: " + clip.error);
        return;
    }
    state.partner = {id: clip.id, name: clip.name};
    setText("partner_label", "B: " + (clip.name === "" ? "clip" : clip.name));
    showMessage("B is \"" + clip.name + "\": select clip A and press Interpolate");
}

// The saved state from the Live Set (pattr `state_store`, when the Set loads): `v3 <model chosen, or - for auto>
// <key> <names of the dials that were set>...`. `v2` (no auto then) and `v1` (no key either) held the model in use,
// chosen or not: it is loaded only when it is not the daemon's current one (as then), so an old Set is not tied to
// one meter by a model it never chose. The key applies at once, the rest once the daemon's lists are in; taken as
// late as the device has saved nothing itself.
function restore() {
    if (state.savedOnce) return;
    var atoms = Array.prototype.slice.call(arguments);
    var version = atoms.length > 0 ? String(atoms[0]) : "";
    var first = version === "v1" ? 2 : 3; // the first dial name
    if ((version !== "v1" && version !== "v2" && version !== STATE_VERSION) || atoms.length < first) return;
    state.restored = {model: String(atoms[1]) === "-" ? "" : String(atoms[1]), names: {},
        chosen: version === STATE_VERSION};
    if (version !== "v1") applyRestoredKey(String(atoms[2]));
    for (var i = first; i < atoms.length; i++) state.restored.names[String(atoms[i])] = true;
    if (state.models.length > 0) applyRestoredModel();
    if (state.attrs.length > 0) applyAttrs(state.attrs);
}

function ping() {
    pingTick();
}

// Every OSC reply arrives as a message whose selector is the OSC address.
function anything() {
    var args = Array.prototype.slice.call(arguments);
    if (String(messagename).charAt(0) !== "/") {
        log("ignored message " + messagename);
        return;
    }
    handleReply(String(messagename), args);
}

// ---- reply port: claimed in the shared registry, then proven by a probe that comes back ------------------------

// Copies of this device in one Max share a Global, so they never pick the same port; a port another program holds
// is found by the probe (a datagram to ourselves) not coming back.
// The registry is kept as a JSON string: a Global's properties are shared between separate script instances, and a
// string is what every Max version shares by value.
function portRegistry() {
    var g = new Global(PORT_REGISTRY);
    return typeof g.ports === "string" ? JSON.parse(g.ports) : {};
}

function savePortRegistry(ports) {
    var g = new Global(PORT_REGISTRY);
    g.ports = JSON.stringify(ports);
}

function claimNextPort() {
    var ports = portRegistry();
    for (var t = state.portTry + 1; t < REPLY_PORT_TRIES; t++) {
        var port = state.basePort + t;
        if (ports[port] === undefined || ports[port] === state.instanceKey) {
            ports[port] = state.instanceKey;
            savePortRegistry(ports);
            state.portTry = t;
            state.replyPort = port;
            probePort(port);
            return;
        }
    }
    state.replyPort = 0;
    showMessage("No free reply port in " + state.basePort + "-" + (state.basePort + REPLY_PORT_TRIES - 1) +
        ": close other programs or devices that listen there (the Max Console names the port in use).");
}

function probePort(port) {
    state.probeNonce = 1 + Math.floor(Math.random() * 2147483646);
    boxMessage("reply_in", ["port", port]);
    boxMessage("probe_out", ["port", port]);
    boxMessage("probe_out", [PROBE_ADDRESS, state.probeNonce]);
    if (probeTask === null) probeTask = new Task(onProbeTimeout, this);
    probeTask.cancel();
    probeTask.schedule(PROBE_TIMEOUT_MS);
}

function onProbe(address, args) {
    if (state.probeNonce === 0 || Number(args[0]) !== state.probeNonce) return; // another copy's probe
    state.probeNonce = 0;
    if (probeTask !== null) probeTask.cancel();
    log("replies come to port " + state.replyPort);
    showMessage("connecting to the arvae-live daemon on " + DAEMON_HINT + " (replies to port " + state.replyPort +
        ")...");
    sayHello();
    if (pingTask === null) pingTask = new Task(pingTick, this);
    pingTick();
}

function onProbeTimeout() {
    if (state.probeNonce === 0) return;
    log("port " + state.replyPort + " is taken by another program; trying the next");
    state.probeNonce = 0;
    var ports = portRegistry();
    ports[state.replyPort] = "taken"; // by something that is not an arvae-live device: skip it from now on
    savePortRegistry(ports);
    claimNextPort();
}

function releasePort() {
    if (state.replyPort === 0 || typeof Global === "undefined") return;
    var ports = portRegistry();
    if (ports[state.replyPort] === state.instanceKey) {
        delete ports[state.replyPort];
        savePortRegistry(ports);
    }
}

// ---- OSC out ---------------------------------------------------------------------------------------------------

function rid() {
    var r = state.nextRid;
    state.nextRid = state.nextRid >= 2147483647 ? 1 : state.nextRid + 1;
    return r;
}

// A rid this copy of the device handed out (replies to another copy's rids are not ours).
function ownRid(r) {
    if (state.nextRid >= state.ridBase) return r >= state.ridBase && r < state.nextRid;
    return r >= state.ridBase || (r >= 1 && r < state.nextRid);
}

function send(msg) {
    outlet(0, msg);
}

function log(text) {
    outlet(1, text);
}

// /arvae/hello registers our reply port; the daemon answers with a nonce that we echo with /arvae/verify.
function sayHello() {
    state.helloSentMs = nowMs();
    state.helloRid = rid();
    send(["/arvae/hello", state.helloRid, CLIENT_NAME, state.replyPort, PROTO_VERSION]);
}

function requestLists() {
    send(["/arvae/models/list", rid()]);
    requestAttrs(state.attrsMeter);
    send(["/arvae/status", rid()]);
}

// Asks for the attributes of the model serving `meter` ("3/4"; "": this client's model); returns the rid.
function requestAttrs(meter) {
    var r = rid();
    state.attrsAsked[r] = meter;
    send(meter === "" ? ["/arvae/attrs/list", r] : ["/arvae/attrs/list", r, meter]);
    return r;
}

// True when the dials were built for a model serving `meter` ("num/den"), or when the daemon is from before meters
// (it names no grid: it has one model, and refuses other meters at the upload).
function dialsServe(meter) {
    if (state.attrsGrid === "") return true;
    var meters = state.gridMeters[state.attrsGrid];
    if (meters !== undefined) return meters.indexOf(meter) >= 0;
    return state.attrsMeter === meter || (state.attrsMeter === "" && meter === "4/4");
}

function ready() {
    return state.verify === "yes" || state.verify === "legacy";
}

function pingTick() {
    if (state.pingRid !== 0) {
        state.missedPings += 1;
        if (state.online && state.missedPings >= OFFLINE_AFTER_MISSED) goOffline();
    }
    // Until the daemon has answered our hello (it may start after us, or restart and forget us), say hello again.
    if (!state.registered && state.replyPort !== 0 && state.probeNonce === 0 &&
        nowMs() - state.helloSentMs >= PING_INTERVAL_MS / 2) {
        sayHello();
    }
    state.pingRid = rid();
    state.pingSentMs = nowMs();
    send(["/arvae/ping", state.pingRid]);
    if (pingTask !== null) pingTask.schedule(PING_INTERVAL_MS);
}

function goOffline() {
    state.online = false;
    state.registered = false;
    state.verify = "no";
    state.latencyMs = -1;
    showConnection();
    showMessage("lost the daemon: no answer on " + DAEMON_HINT + " (is `arvae-live serve` still running?)");
}

// ---- OSC in ----------------------------------------------------------------------------------------------------

var HANDLERS = {
    "/arvae/device/probe": onProbe,
    "/arvae/hello": onHello,
    "/arvae/verify": onVerify,
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
    "/arvae/regen": onRequestDone,
    "/arvae/sample": onRequestDone,
    "/arvae/interp": onRequestDone,
    "/arvae/resend": onResendDone,
    "/arvae/scale": onScale,
    "/arvae/cancel": onCancelled,
    "/arvae/warning": onWarning,
    "/arvae/error": onError
};

function handleReply(address, args) {
    var h = HANDLERS[address];
    if (h === undefined) {
        log("ignored unexpected reply " + address);
        return;
    }
    if (address === PROBE_ADDRESS) {
        h(address, args);
        return;
    }
    // Another copy of the device may share our reply port for a moment (before its hello registered its own):
    // what does not carry one of our rids is not for us.
    if (!ownRid(Number(args[0]))) return;
    markOnline();
    h(address, args);
}

function markOnline() {
    if (!state.online) {
        state.online = true;
        showConnection();
        if (state.job === null) showMessage("daemon online: " + modeHint());
    }
}

// /arvae/hello rid server_version proto device [nonce]: a nonce means the daemon wants it echoed by /arvae/verify.
function onHello(address, args) {
    if (state.registered && state.verify !== "no") return; // an answer to a hello sent again meanwhile
    state.registered = true;
    log("daemon " + args[1] + " (protocol " + args[2] + ", " + args[3] + ")");
    if (args.length > 4 && Number(args[4]) > 0) {
        state.verify = "pending";
        state.verifyRid = rid();
        send(["/arvae/verify", state.verifyRid, Number(args[4])]);
    } else {
        onVerified("legacy");
    }
}

function onVerify(address, args) {
    if (Number(args[0]) !== state.verifyRid) return;
    if (Number(args[1]) === 1) onVerified("yes");
}

function onVerified(how) {
    state.verify = how;
    requestLists();
    sendScale(false); // a daemon that restarted forgot this client's choice
    var job = state.job;
    if (job !== null && job.retryAfterVerify) {
        job.retryAfterVerify = false;
        log("registered again; sending the request again");
        runJobFromStart(job);
    }
}

function onPing(address, args) {
    if (Number(args[0]) !== state.pingRid) return; // an answer to an older ping: already counted as missed
    state.latencyMs = nowMs() - state.pingSentMs;
    state.pingRid = 0;
    state.missedPings = 0;
    showConnection();
}

function onStatus(address, args) {
    // rid state model device queue p50_ms p95_ms served errors ...
    state.currentModel = String(args[2]);
    selectModelInMenu();
    showConnection();
}

// models/attrs lists come as begin (n), n items, end (n); applied only when complete. An attrs list's begin names
// its model and grid after n (absent from a daemon before meters).
function onListBegin(address, args) {
    var kind = address.indexOf("/arvae/models/") === 0 ? "models" : "attrs";
    state.lists[args[0]] = {kind: kind, n: Number(args[1]), items: [],
        model: args.length > 2 ? String(args[2]) : "", grid: args.length > 3 ? String(args[3]) : ""};
}

function onListItem(address, args) {
    var list = state.lists[args[0]];
    if (list === undefined) return;
    var idx = Number(args[1]);
    if (list.kind === "models") {
        list.items[idx] = {id: String(args[2]), nAttrs: Number(args[3]), grid: args.length > 4 ? String(args[4]) : "",
            meters: args.length > 5 ? String(args[5]).split(" ") : []};
    } else {
        list.items[idx] = {name: String(args[2]), rawMin: Number(args[3]), rawMax: Number(args[4])};
    }
}

function onListEnd(address, args) {
    var r = Number(args[0]);
    var list = state.lists[r];
    delete state.lists[r];
    var meter = state.attrsAsked[r];
    delete state.attrsAsked[r];
    if (list === undefined) return;
    var got = 0;
    for (var i = 0; i < list.n; i++) if (list.items[i] !== undefined) got++;
    if (got !== list.n) {
        showMessage("the " + list.kind + " list arrived incomplete (" + got + " of " + list.n + "); asking again");
        if (list.kind === "models") {
            send(["/arvae/models/list", rid()]);
        } else {
            var again = requestAttrs(meter === undefined ? "" : meter);
            if (state.job !== null && state.job.attrsRid === r) state.job.attrsRid = again;
        }
        return;
    }
    if (list.kind === "models") {
        applyModels(list.items);
        return;
    }
    state.attrsModel = list.model;
    state.attrsGrid = list.grid;
    state.attrsMeter = meter === undefined ? "" : meter;
    showConnection();
    var job = state.job;
    if (job !== null && job.attrsRid === r) {
        dialsRebuiltForJob(job, list.items);
        return;
    }
    applyAttrs(list.items);
}

// id: a model id, or AUTO_MODEL (the model serving each clip's meter).
function loadModel(id) {
    if (id === (state.chosenModel === "" ? AUTO_MODEL : state.chosenModel)) {
        selectModelInMenu();
        return;
    }
    state.modelLoadRid = rid();
    showMessage(id === AUTO_MODEL ? "model: auto, the one serving each clip's meter" : "loading model " + id + "...");
    send(["/arvae/model/load", state.modelLoadRid, id]);
}

// /arvae/model/load rid id [grid]: id "auto" when the choice was dropped.
function onModelLoaded(address, args) {
    var id = String(args[1]);
    var mine = Number(args[0]) === state.modelLoadRid;
    if (id === AUTO_MODEL) {
        state.chosenModel = "";
        if (mine) showMessage("model: auto, the one serving each clip's meter");
    } else {
        state.chosenModel = id;
        state.currentModel = id;
        if (mine) showMessage("model " + id + " loaded");
    }
    selectModelInMenu();
    showConnection();
    if (state.savedOnce || Number(args[0]) === state.menuLoadRid) saveState();
    // A chosen model's own attributes; back on auto, those of the model serving the meter the dials were last for.
    requestAttrs(id === AUTO_MODEL ? state.attrsMeter : "");
}

// ---- Key: which pitches the daemon keeps to (/arvae/scale) ---------------------------------------------------------

// Sends the Key menu's choice; `announce`: say it on the status line (a change by the performer).
function sendScale(announce) {
    var choice = scaleChoice();
    state.scaleSent = choice.mode + " " + choice.mask;
    state.scaleRid = rid();
    var msg = ["/arvae/scale", state.scaleRid, choice.mode];
    if (choice.mode === "set") msg.push(choice.mask);
    send(msg);
    if (choice.problem !== undefined) showMessage(choice.problem);
    else if (announce) showMessage("Key: " + choice.text);
}

// Live's scale may have changed since it was sent: read it again before a request, and send it when it did.
function refreshLiveScale() {
    if (KEY_CHOICES[state.key] !== "live") return;
    var choice = scaleChoice();
    if (choice.mode + " " + choice.mask !== state.scaleSent) sendScale(false);
}

// {mode, mask, text[, problem]}: what /arvae/scale carries for the Key menu's choice.
function scaleChoice() {
    var k = KEY_CHOICES[state.key];
    if (k === "off") return {mode: "off", mask: 0, text: "off, any pitch"};
    if (k === "live") {
        var live = liveScale();
        if (live.error === undefined) return {mode: "set", mask: live.mask, text: "Live's scale, " + live.name};
        return {mode: "auto", mask: 0, text: "the clip's key",
            problem: "Key: " + live.error + ", so the device keeps to the clip's key (Auto)"};
    }
    return {mode: "auto", mask: 0, text: "the clip's key"};
}

// The Set's scale (Live 12: Song.root_note 0..11, 0 = C, and Song.scale_intervals, semitones above the root) as a
// 12-bit pitch-class mask, bit (root + interval) % 12; {error} when this Live has no such properties (the get
// throws or returns nothing) or they make no sense.
function liveScale() {
    var root;
    var intervals;
    try {
        var song = new LiveAPI("live_set");
        root = atomList(song.get("root_note"));
        intervals = atomList(song.get("scale_intervals"));
    } catch (e) {
        return {error: "this Live has no scale of the Set (Live 12 and later)"};
    }
    if (root.length === 0 || intervals.length === 0) {
        return {error: "this Live has no scale of the Set (Live 12 and later)"};
    }
    var r = Number(root[0]);
    if (!(r >= 0 && r <= 11 && Math.floor(r) === r)) return {error: "Live's root note " + root[0] + " is not 0..11"};
    var mask = 0;
    for (var i = 0; i < intervals.length; i++) {
        var iv = Number(intervals[i]);
        if (!(iv >= 0 && Math.floor(iv) === iv)) return {error: "Live's scale has an interval " + intervals[i]};
        mask |= 1 << ((r + iv) % 12);
    }
    return {mask: mask, name: PITCH_NAMES[r] + ", " + intervals.length + " notes"};
}

// /arvae/scale rid mode mask: the daemon keeps to it from now on.
function onScale(address, args) {
    if (Number(args[0]) !== state.scaleRid) return;
    log("key: " + args[1] + (Number(args[2]) > 0 ? " mask " + args[2] : ""));
}

// The key a regeneration used, from its final reply ("G major", "custom" for a mask, "" for any pitch), in words.
function keyText(key) {
    if (key === null || key === undefined) return "";
    if (key === "") return ", any pitch";
    if (key === "custom") return ", in Live's scale";
    return ", in " + key;
}

function onCancelled(address, args) {
    log("the daemon dropped request " + args[1] + " if it had not started; a late result is ignored");
}

function onWarning(address, args) {
    var job = state.job;
    if (job !== null && Number(args[0]) === job.requestRid) job.warnings.push(String(args[2]));
}

function onError(address, args) {
    var r = Number(args[0]);
    var code = String(args[1]);
    var words = ERROR_WORDS[code] !== undefined ? ERROR_WORDS[code] : "the daemon reported an error";
    var detail = args.length > 2 ? String(args[2]) : "";
    var failedAddress = args.length > 3 ? String(args[3]) : "";
    if (r === state.verifyRid && code === "unknown_address") {
        onVerified("legacy"); // a daemon from before /arvae/verify: it sends everything without it
        return;
    }
    if (r === state.helloRid || r === state.verifyRid) {
        showMessage("The daemon refused this device: " + words + " - " + detail);
        return;
    }
    if (r === state.scaleRid) {
        if (code === "unknown_address" && KEY_CHOICES[state.key] === "auto") {
            log("this daemon has no /arvae/scale (an older arvae-live): it keeps to its own default"); // as asked
            return;
        }
        showMessage(code === "unknown_address" ? "Key: this daemon has no key control (update arvae-live); it " +
            "keeps to its own default" : "Key: the daemon refused the scale: " + words + " - " + detail);
        return;
    }
    var job = state.job;
    if (job !== null && jobOwnsRid(job, r)) {
        onJobError(job, r, code, words, detail);
        return;
    }
    if (r === state.modelLoadRid) {
        showMessage("Could not load the model: " + words + " - " + detail);
        selectModelInMenu();
        return;
    }
    if (code === "unverified") {
        state.registered = false;
        state.verify = "no";
        sayHello();
        return;
    }
    log("daemon error " + code + " for " + failedAddress + ": " + detail);
}

function jobOwnsRid(job, r) {
    return r === job.uploadRid || r === job.requestRid || r === job.resendRid || (job.attrsRid !== 0 &&
        r === job.attrsRid);
}

function onJobError(job, r, code, words, detail) {
    if (code === "unverified" && !job.verifiedRetry) {
        // The daemon forgot our registration (restarted, or it expired): register, then send this request again.
        job.verifiedRetry = true;
        job.retryAfterVerify = true;
        state.registered = false;
        state.verify = "no";
        armTimeout(UPLOAD_TIMEOUT_MS, "the daemon did not accept the device's registration");
        sayHello();
        return;
    }
    if (r === job.uploadRid && code === "clip_incomplete" && job.uploadTries < 2) {
        // UDP lost a note on the way: send the whole clip once more (protocol v1: re-sent notes overwrite).
        log("upload incomplete (" + detail + "), sending the clip again");
        uploadNext(job, true);
        return;
    }
    if (r === job.resendRid) {
        job.resendRid = 0;
        if (code === "no_result" && job.done === null) {
            armStall(); // the request is still being worked on: the stream has not started yet
            return;
        }
        if (code === "unknown_address") {
            failJob("variation " + (job.resendV + 1) + " was lost on the way and this daemon cannot send it " +
                "again (update arvae-live)");
            return;
        }
    }
    failJob(words + " - " + detail);
}

// ---- requests: one job at a time (busy), with Cancel --------------------------------------------------------------

function modeHint() {
    if (state.mode === 1) return "Sample: click an empty slot of a MIDI track, set Sample bars, press Sample";
    if (state.mode === 2) return "Interpolate: show clip B and press Set B, then show clip A and press Interpolate";
    return "select a MIDI clip and press Regenerate";
}

function scheduleAuto() {
    if (autoTask === null) autoTask = new Task(autoFire, this);
    autoTask.cancel();
    autoTask.schedule(AUTO_DEBOUNCE_MS);
}

// At most one write waits: a dial moved during a request regenerates once more when it ends.
function autoFire() {
    if (!state.auto || MODES[state.mode] !== "regen") return;
    if (state.job !== null || state.pendingWrite !== null) {
        state.autoPending = true;
        return;
    }
    startJob(true);
}

function startJob(isAuto) {
    if (state.job !== null) {
        showMessage("Busy with the last request (" + state.job.what + "): wait, or press Cancel");
        return;
    }
    if (state.pendingWrite !== null) {
        state.pendingWrite = null;
        showBusy();
        log("the overwrite that waited for a confirm was dropped");
    }
    if (!state.online) {
        showMessage("Daemon offline: nothing answers on " + DAEMON_HINT +
            ". Start it in a terminal with `arvae-live serve`, then press " + MODE_NAMES[state.mode] + " again.");
        return;
    }
    if (!ready()) {
        showMessage("The daemon is online but has not registered this device yet: press again in a moment.");
        sayHello();
        return;
    }
    var kind = MODES[state.mode];
    var job = kind === "sample" ? sampleJob() : (kind === "interp" ? interpJob() : regenJob());
    if (job.error === undefined && isAuto && job.anchor.isArrangement) {
        job.error = "Auto writes only below Session clips: press Regenerate to overwrite an Arrangement clip.";
    }
    if (job.error !== undefined) {
        showMessage(job.error);
        return;
    }
    job.kind = kind;
    job.auto = isAuto;
    job.seed = state.seed > 0 ? state.seed : 1 + Math.floor(Math.random() * 2147483646);
    job.temperature = state.temperature;
    job.targets = kind === "interp" ? [] : currentTargets();
    state.job = job;
    showBusy();
    var meter = job.meter[0] + "/" + job.meter[1];
    if (kind !== "interp" && !dialsServe(meter)) {
        // The dials belong to a model of another meter: their attributes may not be the serving model's (the daemon
        // would refuse them, unknown_attr). Ask for that model's list first; the job goes on once the dials are
        // rebuilt (dialsRebuiltForJob). The daemon refuses a meter nothing serves here already, in one line.
        job.attrsRid = requestAttrs(meter);
        showMessage("the clip is in " + meter + ": asking the daemon for the attributes of its model...");
        armTimeout(UPLOAD_TIMEOUT_MS, "the daemon did not send the attributes of the model serving " + meter);
        return;
    }
    runJobFromStart(job);
}

// The attributes of the model serving the job's meter are in: the dials are rebuilt from them (as for a change of
// model). Targets the performer set on an attribute that model lacks are not sent quietly without it: the job stops
// and says which, so the performer sets the new dials first; otherwise it goes on with the same dials' targets.
function dialsRebuiltForJob(job, items) {
    job.attrsRid = 0;
    if (timeoutTask !== null) timeoutTask.cancel();
    var before = currentTargets();
    applyAttrs(items);
    var after = {};
    var kept = currentTargets();
    for (var i = 0; i < kept.length; i++) after[kept[i][0]] = true;
    var lost = [];
    for (var j = 0; j < before.length; j++) if (after[before[j][0]] !== true) lost.push(before[j][0]);
    var meter = job.meter[0] + "/" + job.meter[1];
    var which = "model " + state.attrsModel + " (" + meter + ")";
    if (lost.length > 0) {
        endJob();
        showMessage("The dials now follow " + which + ", which has no " + lost.join(", ") + ": set the dials " +
            "and press " + MODE_NAMES[state.mode] + " again.");
        return;
    }
    log("dials rebuilt for " + which);
    job.targets = kept;
    runJobFromStart(job);
}

function regenJob() {
    var clip = readDetailClip({allowArrangement: state.replace});
    if (clip.error !== undefined) return {error: clip.error};

    return newJob("regenerating", clip, null, clip.isArrangement ? 1 : state.variations, clip.nBars, [clip],
        clip.meter);
}

function sampleJob() {
    var slot = new LiveAPI("live_set view highlighted_clip_slot");
    var where = Number(slot.id) === 0 ? null : parseSlotPath(String(slot.unquotedpath));
    if (where === null) {
        return {error: "Sample writes into the selected Session slot: click an empty slot of a MIDI track, then " +
            "press Sample."};
    }
    var track = new LiveAPI("live_set tracks " + where.track);
    if (num(track.get("has_midi_input")) !== 1) {
        return {error: "The selected slot is on an audio track: click a slot of a MIDI track."};
    }
    var place = {id: 0, name: "", isArrangement: false, trackId: Number(track.id), slotId: Number(slot.id),
        track: where.track, slot: where.slot, below: false};
    var meter = setMeter();
    if (meter.error !== undefined) return {error: meter.error};
    return newJob("sampling", place, null, state.variations, state.bars, [], meter.meter);
}

// The Set's time signature (Song.signature_numerator / signature_denominator) as {meter: [num, den]}, or {error}.
// Sample has no clip: its measures are in the Set's meter, so sampling in a 3/4 Set gives 3/4 bars.
function setMeter() {
    var song = new LiveAPI("live_set");
    var sigNum = num(song.get("signature_numerator"));
    var sigDen = num(song.get("signature_denominator"));
    if (!(sigNum >= 1 && sigDen >= 1 && Math.floor(sigNum) === sigNum && Math.floor(sigDen) === sigDen)) {
        return {error: "The Set's signature (" + sigNum + "/" + sigDen + ") could not be read: set it in Live's " +
            "transport bar and press Sample again."};
    }
    return {meter: [sigNum, sigDen]};
}

function interpJob() {
    if (state.partner === null) {
        return {error: "Interpolate needs clip B first: show it in the Clip View and press Set B."};
    }
    var a = readDetailClip({allowArrangement: false});
    if (a.error !== undefined) return {error: a.error};
    if (a.id === state.partner.id) {
        return {error: "Clip A is clip B: show another clip as A (B is \"" + state.partner.name + "\")."};
    }
    var bApi = new LiveAPI("id " + state.partner.id);
    if (Number(bApi.id) === 0) {
        state.partner = null;
        setText("partner_label", "B: none");
        return {error: "Clip B was moved or deleted: show it again and press Set B."};
    }
    var b = readClip(bApi, {allowArrangement: true});
    if (b.error !== undefined) return {error: "Clip B: " + b.error};
    return newJob("interpolating", a, b, state.variations, Math.min(a.nBars, b.nBars), [a, b], a.meter);
}

// meter: [num, den] of the job's clip (clip A for Interpolate) or, for Sample, of the Set.
function newJob(what, anchor, partner, count, nBars, uploads, meter) {
    return {
        what: what,
        meter: meter,
        attrsRid: 0, // the /arvae/attrs/list for the job's meter, while the job waits for it
        anchor: anchor, // where results go: the source clip (regen, interp A) or the selected slot (sample)
        partner: partner,
        count: count,
        nBars: nBars,
        uploads: uploads,
        uploadIndex: 0,
        uploadRid: 0,
        uploadTries: 0,
        requestRid: 0,
        results: [],
        warnings: [],
        done: null, // args of the final reply
        key: null, // the key the daemon kept to, from the final reply; null when it did not say
        expected: count,
        resendRid: 0,
        resendV: -1,
        resendTries: {},
        verifiedRetry: false,
        retryAfterVerify: false
    };
}

// The dials the performer moved, as [name, value] pairs; untouched attributes keep the clip's own value.
function currentTargets() {
    var out = [];
    for (var i = 0; i < state.attrs.length && i < MAX_DIALS; i++) {
        if (state.touched[i]) out.push([state.attrs[i].name, state.targets[i]]);
    }
    return out;
}

function runJobFromStart(job) {
    job.uploadIndex = 0;
    job.uploadTries = 0;
    job.requestRid = 0;
    job.results = [];
    job.done = null;
    if (job.uploads.length > 0) {
        var total = 0;
        for (var i = 0; i < job.uploads.length; i++) total += job.uploads[i].notes.length;
        showMessage("sending " + total + " notes (" + job.nBars + " bars)...");
        uploadNext(job, false);
    } else {
        sendRequest(job);
    }
}

// Uploads job.uploads[job.uploadIndex] into slot uploadIndex (Interpolate: A into 0, B into 1).
function uploadNext(job, again) {
    var clip = job.uploads[job.uploadIndex];
    var slot = job.uploadIndex;
    job.uploadTries = again ? job.uploadTries + 1 : 1;
    job.uploadRid = rid();
    // A 4/4 clip goes without its meter, as before meters: a daemon from before #18 takes it unchanged.
    var begin = ["/arvae/clip/begin", job.uploadRid, slot, clip.notes.length, clip.lengthBeats];
    send(is44(clip) ? begin : begin.concat(clip.meter));
    for (var i = 0; i < clip.notes.length; i++) {
        var n = clip.notes[i];
        send(["/arvae/clip/note", job.uploadRid, slot, i, n.pitch, n.start, n.dur, n.velocity]);
    }
    send(["/arvae/clip/end", job.uploadRid, slot, clip.notes.length]);
    armTimeout(UPLOAD_TIMEOUT_MS, "the daemon did not acknowledge the clip upload");
}

function onClipAck(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.uploadRid) return;
    var clip = job.uploads[job.uploadIndex];
    if (Number(args[2]) !== clip.notes.length) {
        failJob("the daemon received " + args[2] + " of " + clip.notes.length + " notes");
        return;
    }
    job.uploadIndex += 1;
    if (job.uploadIndex < job.uploads.length) uploadNext(job, false);
    else sendRequest(job);
}

function sendRequest(job) {
    if (job.kind !== "interp") refreshLiveScale();
    job.requestRid = rid();
    var msg;
    if (job.kind === "sample") {
        // n_bars counts the model's measures: 6/8 and 2/4 bars pair into one. A 4/4 sample goes without its meter,
        // as before meters (an older daemon takes it unchanged).
        var meter = job.meter[0] + "/" + job.meter[1];
        var pair = BARS_PER_MEASURE[meter] !== undefined ? BARS_PER_MEASURE[meter] : 1;
        msg = ["/arvae/sample", job.requestRid, job.count, job.temperature, job.seed, Math.ceil(job.nBars / pair)];
        if (meter !== "4/4") msg = msg.concat(job.meter);
    } else if (job.kind === "interp") {
        msg = ["/arvae/interp", job.requestRid, 0, 1, job.count];
    } else {
        // n_bars counts the model's measures, which pair some bars (6/8, 2/4): other meters send 0, "to the end".
        var nBars = is44(job.uploads[0]) ? job.nBars : 0;
        msg = ["/arvae/regen", job.requestRid, 0, job.count, job.temperature, job.seed, 0, nBars];
    }
    for (var i = 0; i < job.targets.length; i++) {
        msg.push(job.targets[i][0]);
        msg.push(job.targets[i][1]);
    }
    send(msg);
    var seedText = job.kind === "interp" ? "" : ", seed " + job.seed;
    showMessage(job.what + " " + job.nBars + " bars x " + job.count + (job.kind === "interp" ? " step(s)" :
        " variation(s)") + seedText + "... (Cancel stops it)");
    armTimeout(RESULT_TIMEOUT_MS, "no result from the daemon");
}

// ---- results: collected whole, missing variations asked for again -------------------------------------------------

function resultOf(args) {
    var job = state.job;
    if (job === null || job.requestRid === 0 || Number(args[0]) !== job.requestRid) return null;
    armStall();
    return job;
}

function onResultBegin(address, args) {
    var job = resultOf(args);
    if (job === null) return;
    var v = Number(args[1]);
    var old = job.results[v];
    var n = Number(args[2]);
    // A resent stream repeats the same notes: keep what already arrived.
    if (old !== undefined && old.n === n) return;
    job.results[v] = {n: n, lengthBeats: Number(args[3]), notes: [], asked: null, achieved: null, endCount: -1};
}

function onResultNote(address, args) {
    var job = resultOf(args);
    if (job === null) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.notes[Number(args[2])] = {
        pitch: Number(args[3]), start: Number(args[4]), dur: Number(args[5]), velocity: Number(args[6])
    };
}

// What the daemon aimed at per attribute (mean over the bars): the dial targets, and for free dials the clip's own.
function onResultAsked(address, args) {
    var job = resultOf(args);
    if (job === null) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.asked = {};
    for (var i = 2; i + 1 < args.length; i += 2) res.asked[String(args[i])] = Number(args[i + 1]);
}

function onResultEnd(address, args) {
    var job = resultOf(args);
    if (job === null) return;
    var res = job.results[Number(args[1])];
    if (res === undefined) return;
    res.endCount = Number(args[2]);
    res.achieved = {};
    for (var i = 3; i + 1 < args.length; i += 2) res.achieved[String(args[i])] = Number(args[i + 1]);
}

function onRequestDone(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.requestRid) return;
    job.done = args;
    job.expected = Number(args[1]);
    job.latencyMs = Number(args[2]);
    job.key = args.length > 3 ? String(args[3]) : null; // /arvae/regen names the key it kept to
    checkResults(job);
}

// /arvae/resend rid target_rid v: the variation's stream has been sent again (it arrived before this, in order).
function onResendDone(address, args) {
    var job = state.job;
    if (job === null || Number(args[0]) !== job.resendRid) return;
    job.resendRid = 0;
    checkResults(job);
}

function armStall() {
    if (stallTask === null) stallTask = new Task(onStall, this);
    stallTask.cancel();
    stallTask.schedule(STALL_MS);
}

function onStall() {
    var job = state.job;
    if (job === null || job.requestRid === 0) return;
    if (job.resendRid !== 0) job.resendRid = 0; // that resend (or its answer) was lost too: ask again
    checkResults(job);
}

// Writes when every variation is whole; otherwise asks for the first one that is not (one at a time, so a resend
// never floods the receiver the way the first burst may have).
function checkResults(job) {
    if (job.resendRid !== 0) return; // wait for the resend under way
    if (job.done !== null && job.expected < 1) {
        failJob("the daemon returned no variation");
        return;
    }
    for (var v = 0; v < job.expected; v++) {
        if (variationWhole(job.results[v])) continue;
        var tries = job.resendTries[v] || 0;
        if (tries >= RESEND_TRIES) {
            failJob("variation " + (v + 1) + " was still incomplete after " + RESEND_TRIES + " resends (" +
                describePartial(job.results[v]) + ")");
            return;
        }
        job.resendTries[v] = tries + 1;
        job.resendV = v;
        job.resendRid = rid();
        log("variation " + (v + 1) + " arrived incomplete (" + describePartial(job.results[v]) + "); asking again");
        send(["/arvae/resend", job.resendRid, job.requestRid, v]);
        armStall();
        return;
    }
    job.results.length = job.expected;
    resultsComplete(job);
}

function variationWhole(res) {
    if (res === undefined || res.achieved === null || res.endCount !== res.n) return false;
    for (var i = 0; i < res.n; i++) if (res.notes[i] === undefined) return false;
    return true;
}

function describePartial(res) {
    if (res === undefined) return "nothing arrived";
    var got = 0;
    for (var i = 0; i < res.n; i++) if (res.notes[i] !== undefined) got++;
    return got + " of " + res.n + " notes" + (res.achieved === null ? ", no end" : "");
}

function resultsComplete(job) {
    endJob();
    if (job.anchor.isArrangement) {
        // The one overwrite the device makes: it waits for the performer's Overwrite (or Cancel).
        state.pendingWrite = job;
        showBusy();
        var a = job.anchor;
        showMessage("Ready: press Overwrite to replace the notes of Arrangement clip \"" + a.name + "\" (beats " +
            fmtBeat(a.regionStart) + "-" + fmtBeat(a.regionStart + a.lengthBeats) + ") with the result, or " +
            "Cancel to keep them");
        return;
    }
    finishWrite(job);
}

function finishWrite(job) {
    var out = job.anchor.isArrangement ? writeArrangement(job) : writeSession(job);
    if (out.error !== undefined) {
        showMessage(out.error);
    } else {
        showAchieved(job);
        // The daemon's time is in its final reply, which may have been the datagram lost.
        var facts = [];
        if (job.done !== null) facts.push("daemon " + fmtMs(job.latencyMs));
        if (job.kind !== "interp") facts.push("seed " + job.seed);
        var text = out.text + keyText(job.key) + (facts.length > 0 ? " (" + facts.join(", ") + ")" : "");
        if (job.warnings.length > 0) text += ". Note: " + job.warnings.join("; ");
        showMessage(text);
    }
    afterJob();
}

function failJob(problem) {
    endJob();
    showMessage("Nothing written: " + problem + ". Press " + MODE_NAMES[state.mode] + " again.");
    afterJob();
}

function armTimeout(ms, what) {
    if (timeoutTask === null) timeoutTask = new Task(onTimeout, this);
    timeoutTask.cancel();
    state.timeoutWhat = what;
    timeoutTask.schedule(ms);
}

function onTimeout() {
    var job = state.job;
    if (job === null) return;
    if (job.requestRid !== 0 && job.results.length > 0) {
        checkResults(job); // a stream came but its end did not: ask for the rest (stall may have been lost)
        return;
    }
    failJob(state.timeoutWhat + " (is `arvae-live serve` running on " + DAEMON_HINT + "?)");
}

function endJob() {
    state.job = null;
    if (timeoutTask !== null) timeoutTask.cancel();
    if (stallTask !== null) stallTask.cancel();
    showBusy();
}

// After a request, a dial move that came meanwhile (Auto) regenerates once more.
function afterJob() {
    if (state.autoPending && state.auto && state.job === null) {
        state.autoPending = false;
        scheduleAuto();
    }
}

// ---- reading clips (Live API, read only) -----------------------------------------------------------------------

// The clip in the Clip View, checked and converted to protocol notes; {error: text} when it cannot be used.
function readDetailClip(opts) {
    var clip = new LiveAPI("live_set view detail_clip");
    if (Number(clip.id) === 0) {
        return {error: "No clip selected: click a MIDI clip so it shows in the Clip View, then press " +
            MODE_NAMES[state.mode] + "."};
    }
    return readClip(clip, opts);
}

function readClip(clip, opts) {
    if (num(clip.get("is_midi_clip")) !== 1) {
        return {error: "The selected clip is an audio clip: select a MIDI clip with a melody."};
    }
    // The clip's meter goes to the daemon with the upload: it picks the model serving it, or refuses the meter in
    // one line that the device shows (only the daemon knows which meters its loaded models serve).
    var sigNum = num(clip.get("signature_numerator"));
    var sigDen = num(clip.get("signature_denominator"));
    if (!(sigNum >= 1 && sigDen >= 1 && Math.floor(sigNum) === sigNum && Math.floor(sigDen) === sigDen)) {
        return {error: "The clip's signature (" + sigNum + "/" + sigDen + ") could not be read: set it in the Clip " +
            "View (Signature) and press again."};
    }
    var barBeats = sigNum * 4 / sigDen; // one bar in quarter notes (Live's beats), e.g. 3/4: 3, 6/8: 3
    var isArrangement = num(clip.get("is_arrangement_clip")) === 1;
    if (isArrangement && !opts.allowArrangement) {
        return {error: MODES[state.mode] === "regen" ? "This is an Arrangement clip: turn on Replace to overwrite " +
            "its notes with the result (you confirm first), or drag the clip into a Session slot to get new clips " +
            "below it." : "This is an Arrangement clip: Interpolate writes below clip A in the Session; drag A " +
            "into a Session slot."};
    }
    var looping = num(clip.get("looping")) === 1;
    var regionStart = num(clip.get(looping ? "loop_start" : "start_marker"));
    var lengthBeats = num(clip.get("length"));
    if (lengthBeats > MAX_BEATS + 1e-6) {
        return {error: "The clip is " + fmtBars(lengthBeats, barBeats) + " bars long: the limit is " + MAX_BARS + " bars. " +
            "Shorten the clip or its loop and press again."};
    }
    var raw = readNotes(clip, regionStart, lengthBeats);
    var notes = [];
    for (var i = 0; i < raw.length; i++) {
        var r = raw[i];
        if (Number(r.mute) === 1) continue; // muted notes are not part of the melody
        var start = Number(r.start_time) - regionStart;
        var dur = Math.min(Number(r.duration), lengthBeats - start);
        if (!(dur > 0)) continue;
        notes.push({
            pitch: Number(r.pitch), start: start, dur: dur,
            velocity: Math.max(1, Math.min(127, Math.round(Number(r.velocity))))
        });
    }
    if (notes.length === 0) {
        return {error: "The clip has no notes: record or draw a melody first, then press again."};
    }
    if (notes.length > MAX_NOTES) {
        return {error: "The clip has " + notes.length + " notes: the limit is " + MAX_NOTES + ". Shorten it."};
    }
    notes.sort(function (a, b) { return a.start - b.start || b.pitch - a.pitch; });
    var chord = findChord(notes, barBeats);
    if (chord !== null) {
        return {error: "The clip is polyphonic: two notes sound together at bar " + chord.bar + " beat " +
            chord.beat + ". The models regenerate one melody line; delete the chord notes or use a melody clip."};
    }
    var path = String(clip.unquotedpath);
    var where = isArrangement ? parseArrangementPath(path) : parseSlotPath(path);
    if (where === null) return {error: "Could not find where the clip is in the Set (" + path + ")."};
    var track = new LiveAPI("live_set tracks " + where.track);
    var slotId = isArrangement ? 0 : Number(new LiveAPI("live_set tracks " + where.track + " clip_slots " +
        where.slot).id);
    return {
        id: Number(clip.id),
        name: atomsText(clip.get("name")),
        isArrangement: isArrangement,
        regionStart: regionStart,
        lengthBeats: lengthBeats,
        nBars: Math.ceil(lengthBeats / barBeats - 1e-9),
        meter: [sigNum, sigDen],
        notes: notes,
        trackId: Number(track.id),
        slotId: slotId,
        track: where.track,
        slot: isArrangement ? -1 : where.slot,
        below: true
    };
}

// Notes starting in [from, from + span) as Live's note dictionaries.
function readNotes(clip, from, span) {
    var reply = clip.call("get_notes_extended", 0, 128, from, span);
    var parsed = typeof reply === "string" ? JSON.parse(reply) : reply;
    return parsed === undefined || parsed === null || parsed.notes === undefined ? [] : parsed.notes;
}

// True for a clip in 4/4 (or one read before clips carried their meter).
function is44(clip) {
    return clip.meter === undefined || (clip.meter[0] === 4 && clip.meter[1] === 4);
}

// The first place where a note starts while an earlier one still sounds (beyond POLY_TOL_BEATS), or null.
function findChord(notes, barBeats) {
    var maxEnd = -1;
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        if (i > 0 && n.start < maxEnd - POLY_TOL_BEATS) {
            return {bar: Math.floor(n.start / barBeats) + 1, beat: Math.floor(n.start % barBeats) + 1};
        }
        maxEnd = Math.max(maxEnd, n.start + n.dur);
    }
    return null;
}

function parseSlotPath(path) {
    var m = /^live_set tracks (\d+) clip_slots (\d+)/.exec(path);
    return m === null ? null : {track: Number(m[1]), slot: Number(m[2])};
}

function parseArrangementPath(path) {
    var m = /^live_set tracks (\d+) arrangement_clips (\d+)/.exec(path);
    return m === null ? null : {track: Number(m[1]), slot: -1};
}

// ---- writing results (Live API writes happen only here) ----------------------------------------------------------

// A Live API write that failed (threw, or was only logged by Live and found missing when read back).
function WriteError(step, detail) {
    this.step = step;
    this.detail = detail;
}

function attempt(step, fn) {
    try {
        return fn();
    } catch (e) {
        if (e instanceof WriteError) throw e;
        throw new WriteError(step, errorText(e));
    }
}

function expect(ok, step, detail) {
    if (!ok) throw new WriteError(step, detail);
}

// Runs the undo list newest first; "" when every step worked, else what did not.
function rollback(undo) {
    var failed = [];
    for (var i = undo.length - 1; i >= 0; i--) {
        try {
            undo[i].run();
        } catch (e) {
            failed.push(undo[i].what + " (" + errorText(e) + ")");
        }
    }
    return failed.join("; ");
}

function failedWrite(e, undo) {
    if (!(e instanceof WriteError)) e = new WriteError("write", errorText(e));
    var left = rollback(undo);
    var text = "Nothing written: Live refused to " + e.step + " (" + e.detail + ")";
    if (left === "") return {error: text + "; the Set is as it was. The Max Console has Live's own message."};
    return {error: text + ", and taking back the rest failed too: " + left + ". Check the track by hand."};
}

// Where the results go, looked up again now by id: {trackPath, track, slot} or {error}.
function resolveAnchor(job) {
    var a = job.anchor;
    var what = job.kind === "sample" ? "the selected slot" : "the source clip \"" + a.name + "\"";
    var api = new LiveAPI("id " + (job.kind === "sample" ? a.slotId : a.id));
    var path = Number(api.id) === 0 ? "" : String(api.unquotedpath);
    var where = parseSlotPath(path);
    if (where === null) {
        return {error: "Nothing written: " + what + " was moved or deleted while the daemon worked. Select it " +
            "again and press " + MODE_NAMES[state.mode] + "."};
    }
    var track = new LiveAPI("id " + a.trackId);
    if (Number(track.id) === 0 || String(track.unquotedpath) !== "live_set tracks " + where.track) {
        return {error: "Nothing written: the track of " + what + " changed while the daemon worked. Select it " +
            "again and press " + MODE_NAMES[state.mode] + "."};
    }
    var note = where.track !== a.track || where.slot !== a.slot ? " (it moved: now track " + (where.track + 1) +
        ", slot " + (where.slot + 1) + ")" : "";
    return {trackPath: "live_set tracks " + where.track, track: where.track, slot: where.slot, note: note};
}

function writeSession(job) {
    var where = resolveAnchor(job);
    if (where.error !== undefined) return where;
    var song = new LiveAPI("live_set");
    var undo = [];
    var written = [];
    var next = job.anchor.below ? where.slot + 1 : where.slot;
    try {
        for (var v = 0; v < job.results.length; v++) {
            var slot = emptySlotFrom(where.trackPath, next);
            if (slot < 0) {
                if (job.auto) {
                    throw new WriteError("find an empty slot", "Auto adds no scenes: free a slot below the clip " +
                        "or press Regenerate");
                }
                slot = appendScene(song, undo);
            }
            writeClip(where.trackPath + " clip_slots " + slot, job.results[v], variationName(job, v),
                VARIATION_COLOR_INDEXES[v % VARIATION_COLOR_INDEXES.length], undo);
            written.push(slot + 1);
            next = slot + 1;
        }
    } catch (e) {
        return failedWrite(e, undo);
    }
    var noun = job.kind === "interp" ? " step(s)" : " variation(s)";
    return {text: "Wrote " + written.length + noun + " into slot(s) " + written.join(", ") + " of track " +
        (where.track + 1) + where.note};
}

function emptySlotFrom(trackPath, from) {
    var n = Number(new LiveAPI(trackPath).getcount("clip_slots"));
    for (var s = from; s < n; s++) {
        if (num(new LiveAPI(trackPath + " clip_slots " + s).get("has_clip")) !== 1) return s;
    }
    return -1;
}

// A new scene at the end of the Set; returns its slot index.
function appendScene(song, undo) {
    var before = Number(song.getcount("scenes"));
    undo.push({what: "delete the added scene", run: function () {
        if (Number(song.getcount("scenes")) > before) song.call("delete_scene", before);
    }});
    attempt("add a scene", function () { song.call("create_scene", -1); });
    expect(Number(song.getcount("scenes")) === before + 1, "add a scene", "the Set still has " + before + " scenes");
    return before;
}

// One variation into one empty slot: create, notes, name, colour, each read back.
function writeClip(slotPath, res, name, colorIndex, undo) {
    var slot = new LiveAPI(slotPath);
    var step = "create a clip in " + slotPath.replace(/^live_set /, "");
    undo.push({what: "delete the new clip", run: function () {
        if (num(slot.get("has_clip")) === 1) slot.call("delete_clip");
    }});
    attempt(step, function () { slot.call("create_clip", res.lengthBeats); });
    expect(num(slot.get("has_clip")) === 1, step, "the slot is still empty");
    var clip = new LiveAPI(slotPath + " clip");
    var notes = liveNotes(res.notes, 0);
    attempt("add the notes", function () { clip.call("add_new_notes", {notes: notes}); });
    var got = readNotes(clip, 0, res.lengthBeats).length;
    expect(got === notes.length, "add the notes", "the clip holds " + got + " of " + notes.length);
    attempt("name the clip", function () { clip.set("name", name); });
    expect(atomsText(clip.get("name")) === name, "name the clip", "the name did not change");
    attempt("colour the clip", function () { clip.set("color_index", colorIndex); });
    expect(num(clip.get("color_index")) === colorIndex, "colour the clip", "the colour did not change");
}

// Arrangement Replace (after Overwrite): notes sounding into the region are cut at its start, the region's notes go,
// the result comes in. Each step is read back and undone in reverse if a later one fails.
function writeArrangement(job) {
    var a = job.anchor;
    var clip = new LiveAPI("id " + a.id);
    if (Number(clip.id) === 0 || parseArrangementPath(String(clip.unquotedpath)) === null) {
        return {error: "Nothing written: the Arrangement clip \"" + a.name + "\" was moved or deleted meanwhile."};
    }
    var from = a.regionStart;
    var span = a.lengthBeats;
    var res = job.results[0];
    var undo = [];
    try {
        var into = [];
        var before = readNotes(clip, 0, from);
        for (var i = 0; i < before.length; i++) {
            if (Number(before[i].start_time) + Number(before[i].duration) > from + 1e-9) into.push(before[i]);
        }
        if (into.length > 0) {
            var cut = [];
            for (var k = 0; k < into.length; k++) {
                cut.push(withDuration(into[k], from - Number(into[k].start_time)));
            }
            undo.push({what: "restore the shortened notes", run: function () {
                clip.call("apply_note_modifications", {notes: into});
            }});
            attempt("shorten the notes that sound into the region", function () {
                clip.call("apply_note_modifications", {notes: cut});
            });
            var cutNow = readNotes(clip, 0, from);
            for (var c = 0; c < cutNow.length; c++) {
                expect(Number(cutNow[c].start_time) + Number(cutNow[c].duration) <= from + 1e-9,
                    "shorten the notes that sound into the region", "a note still sounds into it");
            }
        }
        var old = readNotes(clip, from, span);
        // Undone by clearing the region and putting the old notes back, whatever part of the steps below happened.
        undo.push({what: "put back the region's notes", run: function () {
            clip.call("remove_notes_extended", 0, 128, from, span);
            if (old.length > 0) clip.call("add_new_notes", {notes: withoutIds(old)});
        }});
        attempt("remove the region's notes", function () { clip.call("remove_notes_extended", 0, 128, from, span); });
        expect(readNotes(clip, from, span).length === 0, "remove the region's notes", "some are still there");
        var notes = liveNotes(res.notes, from);
        attempt("add the result's notes", function () { clip.call("add_new_notes", {notes: notes}); });
        var got = readNotes(clip, from, span).length;
        expect(got === notes.length, "add the result's notes", "the region holds " + got + " of " + notes.length);
    } catch (e) {
        return failedWrite(e, undo);
    }
    return {text: "Replaced the notes of Arrangement clip \"" + a.name + "\" with the result"};
}

// A copy of a note dictionary from get_notes_extended (note_id kept) with another duration, as
// apply_note_modifications takes it.
function withDuration(note, duration) {
    var out = {};
    for (var k in note) if (note.hasOwnProperty(k)) out[k] = note[k];
    out.duration = duration;
    return out;
}

// Live note dictionaries as add_new_notes takes them (note_id is Live's to give).
function withoutIds(notes) {
    var keys = ["pitch", "start_time", "duration", "velocity", "mute", "probability", "velocity_deviation",
        "release_velocity"];
    var out = [];
    for (var i = 0; i < notes.length; i++) {
        var n = {};
        for (var k = 0; k < keys.length; k++) if (notes[i][keys[k]] !== undefined) n[keys[k]] = notes[i][keys[k]];
        out.push(n);
    }
    return out;
}

// Protocol notes -> Live note dictionaries, shifted by offsetBeats.
function liveNotes(notes, offsetBeats) {
    var out = [];
    for (var i = 0; i < notes.length; i++) {
        var n = notes[i];
        out.push({pitch: n.pitch, start_time: n.start + offsetBeats, duration: n.dur, velocity: n.velocity, mute: 0});
    }
    return out;
}

function variationName(job, v) {
    var n = job.results.length;
    if (job.kind === "sample") return "arvae sample " + (v + 1) + "/" + n;
    var base = job.anchor.name === "" ? "clip" : job.anchor.name;
    if (job.kind === "interp") return base + " to " + (job.partner.name === "" ? "clip" : job.partner.name) + " " +
        (v + 1) + "/" + n;
    return base + " arvae " + (v + 1) + "/" + n;
}

// ---- Auto: only the performer's own dial moves --------------------------------------------------------------------

// The LOM ids of the dials' parameters in this device, found by the names the patch gives them.
function findDialParameters() {
    var ids = [0, 0, 0, 0, 0, 0, 0, 0];
    try {
        var device = new LiveAPI("this_device");
        var n = Number(device.getcount("parameters"));
        for (var k = 0; k < n; k++) {
            var p = new LiveAPI("this_device parameters " + k);
            var name = atomsText(p.get("name"));
            for (var i = 0; i < MAX_DIALS; i++) if (name === DIAL_PARAMETER_NAMES[i]) ids[i] = Number(p.id);
        }
    } catch (e) {
        log("could not read this device's parameters (" + errorText(e) + "): Auto reacts to every dial change");
    }
    return ids;
}

// A dial change is the performer's when its parameter is not macro- or remote-controlled (is_enabled), no automation
// plays it (automation_state 1) and its own value is what the dial sent (modulation moves the output, not the value).
function isPerformerMove(i, v) {
    var pid = state.dialParams[i];
    if (!pid) return true;
    try {
        var p = new LiveAPI("id " + pid);
        if (Number(p.id) === 0) return true;
        if (num(p.get("is_enabled")) === 0) return false;
        if (num(p.get("automation_state")) === 1) return false;
        return Math.abs(num(p.get("value")) - v) <= VALUE_TOLERANCE;
    } catch (e) {
        return true;
    }
}

// ---- saved state: which dials are set, the model and the key, kept in the Live Set by the pattr `state_store` ------

// Written after the performer's own changes (a dial, Free, the model or Key menu) and, once one has been, after what
// follows from them; never before the saved state has been applied, nor from the daemon's lists alone (a restore may
// still come).
function saveState() {
    if (!state.started) return;
    if (state.restored !== null) {
        state.saveWanted = true;
        return;
    }
    // The performer's model choice; "-" for auto (by meter), the default.
    var atoms = [STATE_VERSION, state.chosenModel === "" ? "-" : state.chosenModel, KEY_CHOICES[state.key]];
    for (var i = 0; i < state.attrs.length && i < MAX_DIALS; i++) if (state.touched[i]) atoms.push(state.attrs[i].name);
    boxMessage("state_store", atoms);
    state.savedOnce = true;
}

// The saved Key choice: shown in the menu (without output) and sent once the daemon has registered the device.
function applyRestoredKey(name) {
    var k = KEY_CHOICES.indexOf(name);
    if (k < 0) return;
    state.key = k;
    boxMessage("key_menu", ["set", k]);
    if (state.started && ready()) sendScale(false);
}

// Once the daemon's model list is in: choose the saved model again (from a v1/v2 Set: if it is not the current one).
function applyRestoredModel() {
    var r = state.restored;
    if (r === null || r.model === "" || r.modelAsked || r.model === state.chosenModel) return;
    if (!r.chosen && r.model === state.currentModel) return;
    for (var i = 0; i < state.models.length; i++) {
        if (state.models[i].id === r.model) {
            r.modelAsked = true;
            loadModel(r.model);
            return;
        }
    }
    log("the saved model " + r.model + " is not served by this daemon; keeping " + state.currentModel);
    r.model = "";
}

// Once the attribute list of the saved model is in: the dials that were set are set again, at their saved values.
function applyRestoredDials() {
    var r = state.restored;
    if (r === null || (r.model !== "" && r.model !== state.currentModel)) return false;
    var set = [];
    for (var i = 0; i < state.attrs.length && i < MAX_DIALS; i++) {
        state.touched[i] = r.names[state.attrs[i].name] === true;
        if (state.touched[i]) set.push(state.attrs[i].name + " " + fmt(state.targets[i]));
    }
    state.restored = null;
    showMessage("restored from the Set: model " + state.currentModel + (set.length > 0 ? ", dials " +
        set.join(", ") : ", all dials free"));
    return true;
}

// ---- the device's display --------------------------------------------------------------------------------------

// The menu: "auto (by meter)" first, then each model with the meters it serves ("bach-arvae 4/4"); a model's grid
// tells which meters its attributes serve (dialsServe).
function applyModels(items) {
    state.models = items;
    var names = [AUTO_MENU_ITEM];
    var ids = [];
    for (var i = 0; i < items.length; i++) {
        names.push(items[i].id + (items[i].meters.length > 0 ? " " + items[i].meters[0] : ""));
        ids.push(items[i].id);
        if (items[i].grid !== "" && items[i].meters.length > 0) state.gridMeters[items[i].grid] = items[i].meters;
    }
    var menu = named("model_menu");
    if (menu !== null) menu.message("_parameter_range", names);
    selectModelInMenu();
    log("models: " + ids.join(", "));
    applyRestoredModel();
}

function selectModelInMenu() {
    var menu = named("model_menu");
    if (menu === null) return;
    if (state.chosenModel === "") {
        menu.message("set", 0);
        return;
    }
    for (var i = 0; i < state.models.length; i++) {
        if (state.models[i].id === state.chosenModel) menu.message("set", i + 1);
    }
}

function applyAttrs(items) {
    var old = state.attrs;
    state.attrs = items;
    var restored = applyRestoredDials();
    for (var i = 0; i < MAX_DIALS; i++) {
        var visible = i < items.length;
        // A moved dial stays set across a reload of the same model's list, not across a change of attribute.
        if (!restored && (!visible || (old[i] !== undefined && old[i].name !== items[i].name))) {
            state.touched[i] = false;
        }
        var dial = named("attr_dial_" + i);
        if (dial !== null) dial.hidden = visible ? 0 : 1;
        var label = named("attr_label_" + i);
        if (label !== null) {
            label.hidden = visible ? 0 : 1;
            label.message("set", visible ? items[i].name.replace(/_/g, " ") : "");
        }
        showAttrResult(i, visible ? (state.touched[i] ? "asked " + fmt(state.targets[i]) :
            "free (keeps the clip's value)") : "");
    }
    nameDialParameters(items);
    if (items.length > MAX_DIALS) {
        showMessage("the model has " + items.length + " attributes; the device shows the first " + MAX_DIALS);
    }
    if (state.savedOnce || state.saveWanted) saveState();
    log("attributes: " + items.length);
}

// The dials' parameters (and so their automation lanes) carry the attribute names; unused dials "Attr N". Names must
// stay unique in the device at every moment, so a dial that changes name first steps aside to its placeholder.
function nameDialParameters(items) {
    var want = [];
    for (var i = 0; i < MAX_DIALS; i++) want.push(i < items.length ? items[i].name : placeholderName(i));
    for (var a = 0; a < MAX_DIALS; a++) {
        if (state.dialNames[a] !== want[a] && state.dialNames[a] !== placeholderName(a)) {
            renameDial(a, placeholderName(a));
        }
    }
    for (var b = 0; b < MAX_DIALS; b++) if (state.dialNames[b] !== want[b]) renameDial(b, want[b]);
}

function placeholderName(i) {
    return "Attr " + (i + 1);
}

function renameDial(i, name) {
    var dial = named("attr_dial_" + i);
    if (dial === null) return;
    dial.message("_parameter_longname", name);
    dial.message("_parameter_shortname", name);
    state.dialNames[i] = name;
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
        // The model the dials are for (the one serving the last clip's meter), else the daemon's current one.
        var shown = state.attrsModel !== "" ? state.attrsModel : state.currentModel;
        if (shown !== "") text += " | model " + shown + (state.chosenModel === "" ? "" : " (chosen)");
        if (state.latencyMs >= 0) text += " | ping " + fmtMs(state.latencyMs);
        if (state.replyPort !== 0 && state.replyPort !== state.basePort) text += " | port " + state.replyPort;
    } else {
        text = "daemon offline: run `arvae-live serve`";
    }
    setText("status_conn", text);
}

function showBusy() {
    var text = "";
    if (state.job !== null) text = "busy: " + state.job.what + " (Cancel stops it)";
    else if (state.pendingWrite !== null) text = "waiting: Overwrite or Cancel";
    setText("status_busy", text);
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

function boxMessage(name, atoms) {
    var box = named(name);
    if (box !== null) box.message.apply(box, atoms);
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

function num(value) {
    return Number(isArray(value) ? value[0] : value);
}

// A property's atoms as an array ([] for nothing).
function atomList(value) {
    if (value === undefined || value === null) return [];
    return isArray(value) ? value : [value];
}

// A string property: Max may hand a name with spaces over as several atoms.
function atomsText(value) {
    return isArray(value) ? value.join(" ") : String(value);
}

function errorText(e) {
    return e !== null && e !== undefined && e.message !== undefined ? String(e.message) : String(e);
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

function fmtBars(beats, barBeats) {
    return String(Math.round(beats / (barBeats || BEATS_PER_BAR) * 100) / 100);
}

function fmtBeat(beats) {
    return String(Math.round(beats * 100) / 100);
}

function nowMs() {
    return new Date().getTime();
}
