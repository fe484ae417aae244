// A daemon stand-in for the Node tests: it answers what devices send over a FakeNet, per protocol v1 and this
// wave's additions (/arvae/hello's nonce, /arvae/verify, /arvae/resend), into each client's registered reply port.
// Replies are queued on the network (UDP is asynchronous; Max never re-enters the script from inside an outlet
// call) and delivered by net.flush().
//
// opts.key is what the final /arvae/regen reply names as the key used (null: the reply has no key, as before the
// Key control); /arvae/scale is checked as the daemon checks it and kept per client (client(dev).scale), or, with
// opts.scale false, refused as an unknown address (an older daemon).
// opts.meters lists the meters it serves: a /arvae/clip/begin in another is refused `unsupported`, as the daemon does.
// Models and meters (#18): opts.grids maps a model id to its grid (default simple); /arvae/models/item ends with
// grid and meters, /arvae/attrs/begin with model and grid; `/arvae/attrs/list rid num/den` lists the attributes of
// the model serving that meter: opts.byGrid[grid] = {model, attrs} (default: the current model, opts.attrs).
// /arvae/model/load records the client's choice (client(dev).chosen; "auto" drops it): its clips and attribute
// lists in another grid's meters are then refused `unsupported`. opts.legacy: a daemon from before meters (none of
// these trailing arguments; a num/den to attrs/list is taken as a model id).
// opts.results(kind, request) -> [[[pitch, start, dur, vel], ...] per variation] decides the notes; opts.drop(v, i,
// pass) drops note i of variation v on a pass (0: the first stream, 1..: resends).
"use strict";

const ATTRS = [
  ["rhythmic_complexity", 0, 1],
  ["pitch_range", 0, 29 / 26],
  ["note_density", 0, 1],
  ["contour", -29 / 26, 29 / 26],
];

function daemonStub(net, opts) {
  const o = Object.assign({
    online: true, models: ["folk-4attr-small"], current: null, attrs: ATTRS, results: null, asked: [],
    achieved: [], drop: () => false, nonce: 777001, verify: true, resend: true, defaultReplyPort: 9128,
    answerRequests: true, lengthBeats: null, key: null, meters: ["4/4", "2/2", "2/4", "3/4", "12/8", "6/8"],
    grids: {}, byGrid: {}, legacy: false,
  }, opts);
  const GRID_METERS = {simple: ["4/4", "2/2", "2/4"], triple: ["3/4"], compound: ["12/8", "6/8"]};
  const MEASURE_BEATS = {simple: 4, triple: 3, compound: 6};
  const gridOf = (id) => o.grids[id] || "simple";
  const gridOfMeter = (meter) => Object.keys(GRID_METERS).find((g) => GRID_METERS[g].includes(meter));
  // unsupported text for meter, or null when this client may use it (the daemon's _model_for)
  function refusal(c, meter) {
    if (c.chosen && gridOf(c.chosen) !== gridOfMeter(meter)) {
      return "meter " + meter + ": this client chose model " + c.chosen + ", which serves " +
        GRID_METERS[gridOf(c.chosen)].join(", ") + "; load a model serving " + meter + " or send /arvae/model/load auto";
    }
    if (!o.meters.includes(meter)) {
      return "meter " + meter + " is not served by any loaded model; loaded: simple (4/4, 2/2, 2/4): folk-4attr-small";
    }
    return null;
  }
  o.current = o.current || o.models[0];
  const clients = new Map(); // device -> {replyPort, uploads: {slot: {n, length, notes}}, done: Map(rid -> streams)}
  const requests = []; // [device, message] of every request
  function client(dev) {
    if (!clients.has(dev)) clients.set(dev, {replyPort: o.defaultReplyPort, uploads: {}, done: new Map(),
      scale: ["auto", 0], chosen: null});
    return clients.get(dev);
  }

  function stream(reply, rid, v, res, pass) {
    reply("/arvae/result/begin", rid, v, res.notes.length, res.length);
    res.notes.forEach((n, i) => {
      if (!o.drop(v, i, pass)) reply("/arvae/result/note", rid, v, i, n[0], n[1], n[2], n[3]);
    });
    if (res.asked) reply("/arvae/result/asked", rid, v, ...res.asked);
    reply("/arvae/result/end", rid, v, res.notes.length, ...(res.achieved || []));
  }

  net.toDaemon = (dev, m) => {
    requests.push([dev, m]);
    if (!o.online) return;
    const c = client(dev);
    const reply = (...msg) => net.send(c.replyPort, msg);
    const [addr, rid] = m;
    switch (addr) {
      case "/arvae/hello":
        c.replyPort = m[3];
        reply("/arvae/hello", rid, "arvae-live 0.1.0", 1, "cpu", ...(o.verify ? [o.nonce] : []));
        break;
      case "/arvae/verify":
        if (!o.verify) reply("/arvae/error", rid, "unknown_address", "unknown address /arvae/verify", addr);
        else if (m[2] === o.nonce) reply("/arvae/verify", rid, 1);
        else reply("/arvae/error", rid, "bad_args", "wrong nonce", addr);
        break;
      case "/arvae/ping": reply("/arvae/ping", rid, 123.0); break;
      case "/arvae/status": reply("/arvae/status", rid, "ready", o.current, "cpu", 0, 1.0, 2.0, 0, 0); break;
      case "/arvae/models/list":
        reply("/arvae/models/begin", rid, o.models.length);
        o.models.forEach((id, i) => reply("/arvae/models/item", rid, i, id, o.attrs.length,
          ...(o.legacy ? [] : [gridOf(id), GRID_METERS[gridOf(id)].join(" ")])));
        reply("/arvae/models/end", rid, o.models.length);
        break;
      case "/arvae/attrs/list": {
        let model = c.chosen || o.current;
        let attrs = o.attrs;
        if (m.length > 2 && (o.legacy || !String(m[2]).includes("/"))) {
          if (!o.models.includes(m[2])) {
            reply("/arvae/error", rid, "unknown_model", "no model " + m[2], addr);
            break;
          }
          model = m[2];
        } else if (m.length > 2) {
          const why = refusal(c, m[2]);
          if (why !== null) {
            reply("/arvae/error", rid, "unsupported", why, addr);
            break;
          }
          const g = o.byGrid[gridOfMeter(m[2])];
          if (!c.chosen && g !== undefined) {
            model = g.model;
            attrs = g.attrs;
          }
        }
        reply("/arvae/attrs/begin", rid, attrs.length, ...(o.legacy ? [] : [model, gridOf(model)]));
        attrs.forEach((a, i) => reply("/arvae/attrs/item", rid, i, a[0], a[1], a[2]));
        reply("/arvae/attrs/end", rid, attrs.length);
        break;
      }
      case "/arvae/model/load":
        if (m[2] === "auto" && !o.legacy) {
          c.chosen = null;
          reply("/arvae/model/load", rid, "auto", "");
          break;
        }
        o.current = m[2];
        if (!o.legacy) c.chosen = m[2];
        reply("/arvae/model/load", rid, m[2], ...(o.legacy ? [] : [gridOf(m[2])]));
        break;
      case "/arvae/clip/begin": {
        const meter = m.length > 5 ? m[5] + "/" + m[6] : "4/4"; // absent: 4/4, as the daemon takes it
        const why = refusal(c, meter);
        if (why !== null) {
          reply("/arvae/error", rid, "unsupported", why, addr);
          break;
        }
        c.uploads[m[2]] = {n: m[3], length: m[4], meter: meter, notes: []};
        break;
      }
      case "/arvae/clip/note":
      case "/arvae/clip/end":
        if (c.uploads[m[2]] === undefined) { // e.g. after a refused begin: the daemon answers each with no_clip
          reply("/arvae/error", rid, "no_clip", "no upload in progress for slot " + m[2], addr);
        } else if (addr === "/arvae/clip/note") {
          c.uploads[m[2]].notes[m[3]] = m.slice(4);
        } else {
          reply("/arvae/clip/end", rid, m[2], c.uploads[m[2]].notes.length);
        }
        break;
      case "/arvae/regen":
      case "/arvae/sample":
      case "/arvae/interp": {
        if (!o.answerRequests || o.results === null) break;
        const kind = addr.split("/")[2];
        // a sample's meter: its num den (both numbers, before the targets), else 4/4
        const sampleMeter = typeof m[6] === "number" ? m[6] + "/" + m[7] : "4/4";
        const length = o.lengthBeats !== null ? o.lengthBeats : (kind === "sample" ?
          m[5] * MEASURE_BEATS[gridOfMeter(sampleMeter) || "simple"] : c.uploads[0].length);
        const notes = typeof o.results === "function" ? o.results(kind, m, c) : o.results;
        const streams = notes.map((ns, v) => ({notes: ns, length: length, asked: o.asked[v],
          achieved: o.achieved[v]}));
        streams.forEach((res, v) => stream(reply, rid, v, res, 0));
        c.done.set(rid, {streams: streams, passes: 0});
        reply(addr, rid, streams.length, 42.5, ...(kind === "regen" && o.key !== null ? [o.key] : []));
        break;
      }
      case "/arvae/resend": {
        if (!o.resend) {
          reply("/arvae/error", rid, "unknown_address", "unknown address /arvae/resend", addr);
          break;
        }
        const done = c.done.get(m[2]);
        if (done === undefined || done.streams[m[3]] === undefined) {
          reply("/arvae/error", rid, "no_result", "no result " + m[2] + " variation " + m[3], addr);
          break;
        }
        done.passes += 1;
        stream(reply, m[2], m[3], done.streams[m[3]], done.passes);
        reply("/arvae/resend", rid, m[2], m[3]);
        break;
      }
      case "/arvae/cancel": reply("/arvae/cancel", rid, m[2]); break;
      case "/arvae/scale": {
        if (o.scale === false) { // a daemon from before the Key control
          reply("/arvae/error", rid, "unknown_address", "unknown address /arvae/scale", addr);
          break;
        }
        const mask = m.length > 3 ? m[3] : 0;
        if (!["auto", "off", "set"].includes(m[2]) || (m[2] === "set") !== (mask >= 1 && mask <= 4095)) {
          reply("/arvae/error", rid, "bad_args", "bad scale " + m.slice(2).join(" "), addr);
          break;
        }
        c.scale = [m[2], mask];
        reply("/arvae/scale", rid, m[2], mask);
        break;
      }
      default: reply("/arvae/error", rid, "unknown_address", "unknown address " + addr, addr);
    }
  };
  return {opts: o, clients, requests, client};
}

module.exports = {daemonStub, ATTRS};
