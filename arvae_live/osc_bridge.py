"""OSC <-> daemon: decode datagrams, validate requests against protocol.py, keep uploads, answer or enqueue.

Handlers run on the receiving thread and stay light: they validate, update the upload store, answer the cheap
requests at once and hand anything that needs the model to the daemon's single engine thread as a job. Nothing
raises out of `OscBridge.handle_datagram`: a datagram that cannot be parsed is counted and logged at debug level, a
request that fails gets `/arvae/error`, and a bug becomes error code `internal` (python-osc's own server swallows
parse errors silently; here they are counted).

Replies are encoded by `encode_message`, a small encoder for the only three types sent (i, f, s): python-osc's
builder costs tens of microseconds per message, and a result stream is dozens of messages.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher

from arvae_live import __version__
from arvae_live.core.notes import NoteFields, carried_note_fields
from arvae_live.core.representation import (
    BEATS_PER_MEASURE,
    Adjustment,
    Note,
    Vocabulary,
    n_measures_for,
    notes_to_tokens,
)
from arvae_live.engine import LiveModel, Regeneration
from arvae_live.errors import ArvaeError, UnknownAttributeError
from arvae_live.protocol import (
    MAX_ARGS_OUT,
    MAX_DATAGRAM_OUT_BYTES,
    PROTOCOL_VERSION,
    REQUESTS,
    UPLOAD_TTL_SEC,
    ParsedRequest,
    ProtocolError,
    parse_request,
    parse_rid,
)

log = logging.getLogger(__name__)

Client = tuple[str, int]  # (IP, source port) of a datagram: the identity of a client
MAX_CLIENT_SLOTS = 512  # finished clips kept over all clients (least recently used dropped first)
MAX_WARNINGS = 8  # /arvae/warning messages per request; the last one then says how many more there were
_PATTERN_CHARS = set("*?[]{}")  # OSC address-pattern syntax, which this daemon does not expand


# ---- encoding ---------------------------------------------------------------------------------------------------


_INT32 = struct.Struct(">i")
_FLOAT32 = struct.Struct(">f")


def _osc_string(s: str) -> bytes:
    b = s.encode("utf-8") + b"\0"
    return b + b"\0" * (-len(b) % 4)


def encode_message(address: str, *args: int | float | str) -> bytes:
    """One OSC 1.0 message with int32, float32 and string arguments only (the types Max handles).

    Args:
        address: OSC address.
        args: ints (int32 range), floats (sent as float32) or strings.

    Returns:
        The datagram.

    Raises:
        ValueError: a type other than int/float/str, or the message breaks the size limits (64 args, 4096 bytes).
    """
    if len(args) > MAX_ARGS_OUT:
        raise ValueError(f"{address}: {len(args)} arguments, more than {MAX_ARGS_OUT}")
    tags = [","]
    body = []
    for a in args:
        t = type(a)  # exact built-in types first: the ABC checks below cost more than the packing
        if t is int:
            tags.append("i")
            body.append(_INT32.pack(a))
        elif t is float:
            tags.append("f")
            body.append(_FLOAT32.pack(a))
        elif t is str:
            tags.append("s")
            body.append(_osc_string(a))
        elif isinstance(a, bool) or a is None:
            raise ValueError(f"{address}: cannot send {a!r}; only i, f, s go toward Max")
        elif isinstance(a, Integral):
            tags.append("i")
            body.append(_INT32.pack(int(a)))
        elif isinstance(a, Real):
            tags.append("f")
            body.append(_FLOAT32.pack(float(a)))
        elif isinstance(a, str):
            tags.append("s")
            body.append(_osc_string(a))
        else:
            raise ValueError(f"{address}: cannot send a {type(a).__name__}")
    data = _osc_string(address) + _osc_string("".join(tags)) + b"".join(body)
    if len(data) > MAX_DATAGRAM_OUT_BYTES:
        raise ValueError(f"{address}: {len(data)} bytes, more than {MAX_DATAGRAM_OUT_BYTES}")
    return data


class MessageTemplate:
    """A message of fixed address and argument types, its header encoded once: `encode(*args)` is one struct.pack.

    For the messages sent once per note, where encode_message's per-argument work was most of the cost of streaming
    a result. Only numeric types (i, f), so the size is fixed and checked here; the bytes are encode_message's.

    Args:
        address: OSC address.
        tags: the argument types, e.g. "iiiiffi".
    """

    def __init__(self, address: str, tags: str) -> None:
        if not tags or set(tags) - {"i", "f"} or len(tags) > MAX_ARGS_OUT:
            raise ValueError(f"{address}: a template takes 1..{MAX_ARGS_OUT} i/f arguments, got {tags!r}")
        self.address = address
        self.tags = tags
        self._head = _osc_string(address) + _osc_string("," + tags)
        self._args = struct.Struct(">" + tags)
        if len(self._head) + self._args.size > MAX_DATAGRAM_OUT_BYTES:
            raise ValueError(f"{address}: messages of {tags!r} exceed {MAX_DATAGRAM_OUT_BYTES} bytes")

    def encode(self, *args: int | float) -> bytes:
        """The datagram, byte for byte what encode_message(address, *args) gives for args of these types.

        Raises:
            struct.error: wrong number of arguments, or an int outside int32 (as encode_message).
        """
        return self._head + self._args.pack(*args)


def decode_message(data: bytes) -> tuple[str, list[int | float | str]]:
    """Decode an OSC message of i, f and s arguments only (what the daemon sends); the inverse of encode_message.

    A few times faster than python-osc's parser, which matters to a client timing dozens of replies.

    Raises:
        ValueError: not such a message (a bundle, another type tag, truncated).
    """
    try:
        end = data.index(b"\0")
        address = data[:end].decode("utf-8")
        pos = (end + 4) & ~3
        end = data.index(b"\0", pos)
        tags = data[pos:end].decode("ascii")
        pos = (end + 4) & ~3
        if not tags.startswith(","):
            raise ValueError("no type tags")
        args: list[int | float | str] = []
        for t in tags[1:]:
            if t == "i":
                args.append(struct.unpack_from(">i", data, pos)[0])
                pos += 4
            elif t == "f":
                args.append(struct.unpack_from(">f", data, pos)[0])
                pos += 4
            elif t == "s":
                end = data.index(b"\0", pos)
                args.append(data[pos:end].decode("utf-8"))
                pos = (end + 4) & ~3
            else:
                raise ValueError(f"type tag {t!r} is not one the daemon sends")
    except (struct.error, UnicodeDecodeError) as err:
        raise ValueError(f"malformed OSC message: {err}") from err
    return address, args


# The result stream's fixed-shape messages (protocol.STREAM_MESSAGES), headers encoded once.
_RESULT_BEGIN = MessageTemplate("/arvae/result/begin", "iiif")  # rid v n_notes length_beats
_RESULT_NOTE = MessageTemplate("/arvae/result/note", "iiiiffi")  # rid v idx pitch start_beats dur_beats velocity


# ---- uploads ----------------------------------------------------------------------------------------------------


@dataclass
class Upload:
    """A clip being uploaded: notes by idx until /clip/end."""

    n_notes: int
    length_beats: float
    notes: dict[int, Note] = field(default_factory=dict)
    touched: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Clip:
    """A finished upload: the notes (times in beats) and the clip length."""

    notes: tuple[Note, ...]
    length_beats: float
    _tokens: dict = field(default_factory=dict, compare=False, repr=False)  # Vocabulary -> (tokens, adjustments)

    @property
    def n_measures(self) -> int:
        return max(1, n_measures_for(self.length_beats))

    def tokens(self, vocab: Vocabulary) -> tuple[np.ndarray, list[Adjustment]]:
        """The clip on the grid of vocab, and the changes made to fit it (computed once per vocabulary)."""
        hit = self._tokens.get(vocab)
        if hit is None:
            hit = self._tokens[vocab] = notes_to_tokens(self.notes, self.n_measures, vocab)
        return hit


class UploadStore:
    """Uploads and finished clips per (client, slot). Thread-safe; partial uploads expire after UPLOAD_TTL_SEC."""

    def __init__(self, ttl_sec: float = UPLOAD_TTL_SEC, max_clips: int = MAX_CLIENT_SLOTS) -> None:
        self.ttl_sec = ttl_sec
        self.max_clips = max_clips
        self._partial: dict[tuple[Client, int], Upload] = {}
        self._clips: OrderedDict[tuple[Client, int], Clip] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for key in [k for k, u in self._partial.items() if now - u.touched > self.ttl_sec]:
            del self._partial[key]

    def begin(self, client: Client, slot: int, n_notes: int, length_beats: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            self._partial[(client, slot)] = Upload(n_notes, length_beats, touched=now)
            if len(self._partial) > self.max_clips:  # a flood of begins from many clients: drop the oldest
                del self._partial[min(self._partial, key=lambda k: self._partial[k].touched)]

    def note(self, client: Client, slot: int, idx: int, note: Note) -> None:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            up = self._partial.get((client, slot))
            if up is None:
                raise ProtocolError("no_clip", f"no upload in progress for slot {slot} (send /arvae/clip/begin)")
            if idx >= up.n_notes:
                raise ProtocolError("bad_args", f"idx {idx} out of range 0..{up.n_notes - 1} announced by begin")
            up.notes[idx] = note  # a re-sent idx overwrites
            up.touched = now

    def end(self, client: Client, slot: int, n_notes: int) -> int:
        """Finish an upload; returns the number of notes received."""
        with self._lock:
            self._expire(time.monotonic())
            up = self._partial.get((client, slot))
            if up is None:
                raise ProtocolError("no_clip", f"no upload in progress for slot {slot} (it may have expired)")
            if n_notes != up.n_notes:
                raise ProtocolError("bad_args", f"n_notes {n_notes} differs from the {up.n_notes} begin announced")
            missing = [i for i in range(up.n_notes) if i not in up.notes]
            if missing:
                shown = ",".join(map(str, missing[:20])) + (",..." if len(missing) > 20 else "")
                raise ProtocolError("clip_incomplete", f"missing {len(missing)} note(s): idx {shown}")
            del self._partial[(client, slot)]
            notes = tuple(up.notes[i] for i in range(up.n_notes))
            self._clips[(client, slot)] = Clip(notes, up.length_beats)
            self._clips.move_to_end((client, slot))
            while len(self._clips) > self.max_clips:
                self._clips.popitem(last=False)
            return len(notes)

    def clip(self, client: Client, slot: int) -> Clip:
        with self._lock:
            clip = self._clips.get((client, slot))
            if clip is None:
                raise ProtocolError("no_clip", f"no clip uploaded to slot {slot}")
            self._clips.move_to_end((client, slot))
            return clip

    def sizes(self) -> tuple[int, int]:
        """(partial uploads, finished clips) held, for status and memory tests."""
        with self._lock:
            return len(self._partial), len(self._clips)


# ---- the bridge -------------------------------------------------------------------------------------------------


@dataclass
class Job:
    """A request for the engine thread."""

    client: Client
    rid: int
    address: str
    run: Callable[[], None]
    received: float  # time.perf_counter() when the datagram arrived
    coalesce_key: tuple | None = None  # jobs with the same key: a newer one cancels an older queued one
    cancelled: bool = False


class OscBridge:
    """Request handling between datagrams and the daemon.

    The daemon object provides: `send(client, data)`, `submit(job)`, `cancel(client, rid) -> bool`,
    `models` (a ModelHost), `stats` (a Stats), `device` (str), `budget_ms` (float | None) and `state()` (str).
    """

    def __init__(self, daemon) -> None:
        self.daemon = daemon
        self.uploads = UploadStore()
        self.dispatcher = Dispatcher(strict_timing=False)
        for address in REQUESTS:
            self.dispatcher.map(address, self._on_message, needs_reply_address=True)
        self.dispatcher.set_default_handler(self._on_unknown, needs_reply_address=True)
        self._immediate: dict[str, Callable[[Client, ParsedRequest, float], None]] = {
            "/arvae/hello": self._hello,
            "/arvae/ping": self._ping,
            "/arvae/status": self._status,
            "/arvae/models/list": self._models_list,
            "/arvae/clip/begin": self._clip_begin,
            "/arvae/clip/note": self._clip_note,
            "/arvae/clip/end": self._clip_end,
            "/arvae/cancel": self._cancel,
        }
        self._engine: dict[str, Callable[[Client, ParsedRequest, float], Callable[[], None]]] = {
            "/arvae/model/load": self._model_load,
            "/arvae/attrs/list": self._attrs_list,
            "/arvae/attrs/measure": self._attrs_measure,
            "/arvae/regen": self._regen,
            "/arvae/sample": self._sample,
            "/arvae/interp": self._interp,
        }
        assert set(self._immediate) | set(self._engine) == set(REQUESTS), "every address needs a handler"
        self._received = 0.0  # perf_counter of the datagram being handled

    # ---- entry point ----

    def handle_datagram(self, data: bytes, client: Client) -> None:
        """Parse one datagram (message or bundle) and handle every message in it. Never raises."""
        self._received = time.perf_counter()
        try:
            packet = osc_packet.OscPacket(data)
            messages = [m.message for m in packet.messages]
        except Exception as err:  # python-osc raises ParseError, but also struct/index/unicode errors on junk
            self.daemon.stats.count("bad_datagrams")
            log.debug("bad datagram from %s (%d bytes): %s", client, len(data), err)
            return
        for msg in messages:
            try:
                if _PATTERN_CHARS.intersection(msg.address):
                    self._on_unknown(client, msg.address, *msg.params)
                    continue
                for handler in self.dispatcher.handlers_for_address(msg.address):
                    handler.invoke(client, msg)
            except Exception as err:  # never into the server loop
                log.exception("handler for %s failed", getattr(msg, "address", "?"))
                self._error(client, _rid_or_zero(getattr(msg, "params", ())), "internal", str(err), "?")

    # ---- replies ----

    def send(self, client: Client, address: str, *args: int | float | str) -> None:
        self.daemon.send(client, encode_message(address, *args))

    def _error(self, client: Client, rid: int, code: str, message: str, address: str) -> None:
        """Send /arvae/error (even for rid 0: a failure is never silent) and count it."""
        self.daemon.stats.count("errors")
        log.debug("error %s for rid %d from %s: %s", code, rid, client, message)
        message = message.splitlines()[0][:1000] if message else code
        self.send(client, "/arvae/error", rid, code, message, address[:200])

    # ---- dispatch ----

    def _on_unknown(self, client: Client, address: str, *args) -> None:
        self.daemon.stats.count("requests")
        self._error(client, _rid_or_zero(args), "unknown_address", f"unknown address {address[:100]}", address)

    def _on_message(self, client: Client, address: str, *args) -> None:
        self.daemon.stats.count("requests")
        received = self._received
        try:
            req = parse_request(address, args)
            if address in self._immediate:
                self._immediate[address](client, req, received)
                return
            run = self._engine[address](client, req, received)
            key = None
            if address in ("/arvae/regen", "/arvae/attrs/measure"):
                key = (client, address, req.values["slot"])
            self.daemon.submit(Job(client, req.rid, address, run, received, key))
        except ProtocolError as err:
            self._error(client, _rid_or_zero(args), err.code, err.message, address)

    def run_guarded(self, job: Job) -> None:
        """Run a job on the engine thread, turning every failure into /arvae/error."""
        try:
            job.run()
        except ProtocolError as err:
            self._error(job.client, job.rid, err.code, err.message, job.address)
        except UnknownAttributeError as err:
            self._error(job.client, job.rid, "unknown_attr", str(err), job.address)
        except ArvaeError as err:
            code = "unknown_model" if type(err).__name__ == "UnknownModelError" else "bad_args"
            self._error(job.client, job.rid, code, str(err), job.address)
        except Exception as err:
            log.exception("engine job %s rid %d failed", job.address, job.rid)
            self._error(job.client, job.rid, "internal", f"{type(err).__name__}: {err}", job.address)

    # ---- immediate requests ----

    def _hello(self, client: Client, req: ParsedRequest, received: float) -> None:
        if req.values["proto"] != PROTOCOL_VERSION:
            raise ProtocolError(
                "unsupported", f"this daemon speaks protocol {PROTOCOL_VERSION}, not {req.values['proto']}"
            )
        self.daemon.register_reply_port(client, int(req.values["reply_port"]))
        log.info("hello from %s (%s), replies to port %d", req.values["client"], client, req.values["reply_port"])
        self._reply(client, req, "/arvae/hello", f"arvae-live {__version__}", PROTOCOL_VERSION, self.daemon.device)

    def _ping(self, client: Client, req: ParsedRequest, received: float) -> None:
        self._reply(client, req, "/arvae/ping", time.monotonic() * 1e3 % 1e7)

    def _status(self, client: Client, req: ParsedRequest, received: float) -> None:
        s = self.daemon.stats
        p50, p95 = s.percentile(50), s.percentile(95)
        self._reply(
            client, req, "/arvae/status", self.daemon.state(), self.daemon.models.current_id, self.daemon.device,
            self.daemon.queue_size(), p50, p95, s.get("served"), s.get("errors"),
            s.percentile(50, engine=True), s.percentile(95, engine=True),
        )  # fmt: skip

    def _models_list(self, client: Client, req: ParsedRequest, received: float) -> None:
        items = self.daemon.models.listing()
        if req.rid == 0:
            return
        self.send(client, "/arvae/models/begin", req.rid, len(items))
        for idx, (model_id, n_attrs) in enumerate(items):
            self.send(client, "/arvae/models/item", req.rid, idx, model_id, n_attrs)
        self.send(client, "/arvae/models/end", req.rid, len(items))
        self.daemon.stats.count("served")

    def _clip_begin(self, client: Client, req: ParsedRequest, received: float) -> None:
        v = req.values
        if v["length_beats"] <= 0:
            raise ProtocolError("bad_args", "length_beats must be > 0")
        self.uploads.begin(client, v["slot"], v["n_notes"], v["length_beats"])

    def _clip_note(self, client: Client, req: ParsedRequest, received: float) -> None:
        v = req.values
        if v["dur_beats"] <= 0:
            raise ProtocolError("bad_args", "dur_beats must be > 0")
        self.uploads.note(
            client, v["slot"], v["idx"], Note(v["pitch"], v["start_beats"], v["dur_beats"], v["velocity"])
        )

    def _clip_end(self, client: Client, req: ParsedRequest, received: float) -> None:
        n = self.uploads.end(client, req.values["slot"], req.values["n_notes"])
        self._reply(client, req, "/arvae/clip/end", req.values["slot"], n)

    def _cancel(self, client: Client, req: ParsedRequest, received: float) -> None:
        self.daemon.cancel(client, req.values["target_rid"])
        self._reply(client, req, "/arvae/cancel", req.values["target_rid"])

    def _reply(self, client: Client, req: ParsedRequest, address: str, *args: int | float | str) -> None:
        self.daemon.stats.count("served")
        if req.rid:
            self.send(client, address, req.rid, *args)

    # ---- engine requests (return the work as a closure; it runs on the engine thread) ----

    def _model_load(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        def run() -> None:
            lm = self.daemon.models.switch(req.values["id"])
            self._reply(client, req, "/arvae/model/load", lm.model_id)

        return run

    def _attrs_list(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        def run() -> None:
            lm = self.daemon.models.get(req.values.get("model"))
            if req.rid == 0:
                return
            n = len(lm.attributes)
            self.send(client, "/arvae/attrs/begin", req.rid, n)
            for idx, a in enumerate(lm.attributes):
                self.send(client, "/arvae/attrs/item", req.rid, idx, a.name, float(a.low), float(a.high))
            self.send(client, "/arvae/attrs/end", req.rid, n)
            self.daemon.stats.count("served")

        return run

    def _attrs_measure(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        clip = self.uploads.clip(client, req.values["slot"])  # the clip as it is now, not at run time

        def run() -> None:
            lm = self.daemon.models.current
            tokens, _ = clip.tokens(lm.vocab)
            values = lm.measure_attributes(tokens)
            args: list[int | float | str] = []
            for name in lm.attribute_names:
                args += [name, float(values[name].mean())]
            self._reply(client, req, "/arvae/attrs/measure", *args)

        return run

    def _regen(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        clip = self.uploads.clip(client, req.values["slot"])
        v = req.values

        def run() -> None:
            lm = self.daemon.models.current
            tokens, adjustments = clip.tokens(lm.vocab)
            M = tokens.shape[0]
            start = v["start_bar"]
            n = v["n_bars"] or M - start
            if start >= M or start + n > M:
                raise ProtocolError("bad_args", f"bars {start}..{start + n - 1} are outside the clip's {M} bars")
            res = lm.regenerate(
                tokens[start : start + n], req.targets, v["variations"], v["temperature"], v["seed"],
                budget_ms=self.daemon.budget_ms,
            )  # fmt: skip
            if req.rid == 0:
                return
            for adj in adjustments[:MAX_WARNINGS]:
                self.send(client, "/arvae/warning", req.rid, adj.kind, adj.message)
            if len(adjustments) > MAX_WARNINGS:
                self.send(client, "/arvae/warning", req.rid, "more", f"{len(adjustments) - MAX_WARNINGS} more warnings")
            for var in range(res.tokens.shape[0]):
                full = tokens.copy()
                full[start : start + n] = res.tokens[var]
                notes = carried_note_fields(full, lm.vocab, clip.notes, clip.length_beats)
                self._stream(client, req.rid, var, notes, clip.length_beats, res, lm)
            self._finish(client, req, received, "/arvae/regen", res.tokens.shape[0], res)

        return run

    def _sample(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        v = req.values

        def run() -> None:
            lm = self.daemon.models.current
            res = lm.sample(
                v["n_bars"], req.targets, v["variations"], v["temperature"], v["seed"], budget_ms=self.daemon.budget_ms
            )
            if req.rid == 0:
                return
            length = float(v["n_bars"] * BEATS_PER_MEASURE)
            for var in range(res.tokens.shape[0]):
                notes = carried_note_fields(res.tokens[var], lm.vocab, (), length)
                self._stream(client, req.rid, var, notes, length, res, lm)
            self._finish(client, req, received, "/arvae/sample", res.tokens.shape[0], res)

        return run

    def _interp(self, client: Client, req: ParsedRequest, received: float) -> Callable[[], None]:
        clip_a = self.uploads.clip(client, req.values["slot_a"])
        clip_b = self.uploads.clip(client, req.values["slot_b"])

        def run() -> None:
            lm = self.daemon.models.current
            ta, _ = clip_a.tokens(lm.vocab)
            tb, _ = clip_b.tokens(lm.vocab)
            res = lm.interpolate(ta, tb, req.values["steps"])
            if req.rid == 0:
                return
            length = float(res.tokens.shape[1] * BEATS_PER_MEASURE)
            for var in range(res.tokens.shape[0]):
                notes = carried_note_fields(res.tokens[var], lm.vocab, clip_a.notes, length)
                self._stream(client, req.rid, var, notes, length, res, lm)
            self._finish(client, req, received, "/arvae/interp", res.tokens.shape[0], res)

        return run

    def _stream(
        self, client: Client, rid: int, var: int, notes: NoteFields, length: float, res: Regeneration, lm: LiveModel
    ) -> None:
        """One variation: /result/begin, one /result/note per note, /result/asked, /result/end.

        The datagrams are all encoded first and then sent in one go: each send can wake the client, and encoding
        between sends would let the two processes take turns on the CPU.
        """
        pitches, starts, durs, vels = notes
        n_notes = len(pitches)
        out = [_RESULT_BEGIN.encode(rid, var, n_notes, float(length))]
        pack = _RESULT_NOTE.encode
        out += [pack(rid, var, idx, *f) for idx, f in enumerate(zip(pitches, starts, durs, vels, strict=True))]
        if res.asked:
            asked: list[int | float | str] = []
            for name, values in res.asked.items():
                asked += [name, float(np.mean(values))]
            out.append(encode_message("/arvae/result/asked", rid, var, *asked))
        achieved: list[int | float | str] = []
        for name in lm.attribute_names:
            achieved += [name, float(res.achieved[name][var].mean())]
        out.append(encode_message("/arvae/result/end", rid, var, n_notes, *achieved))
        self.daemon.send_many(client, out)

    def _finish(
        self, client: Client, req: ParsedRequest, received: float, address: str, n: int, res: Regeneration
    ) -> None:
        latency_ms = (time.perf_counter() - received) * 1e3
        self.daemon.stats.record(latency_ms, res.engine_ms)
        self._reply(client, req, address, n, latency_ms)


def _rid_or_zero(args: Iterable) -> int:
    """The request id of a request's arguments, or 0 when arg 0 is not a valid rid."""
    try:
        return parse_rid(list(args))
    except (ProtocolError, TypeError):
        return 0
