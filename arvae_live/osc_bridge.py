"""OSC requests -> daemon work: each datagram's messages checked against the protocol table and handled.

The table in protocol.py drives dispatch: a message's address finds its `Request` (arguments, ranges, whether it
needs the engine, its coalescing key) and its handler here. Handlers run on the receiving thread and stay light: they
validate, update the client's uploads, answer the cheap requests at once and hand anything that needs the model to
the daemon's single engine thread as a job. Nothing raises out of `OscBridge.handle_datagram`: a datagram that cannot
be parsed is counted and logged at debug level (with a rate-limited summary at warning level), a request that fails
gets `/arvae/error`, and a bug becomes error code `internal`.

Every reply goes through the daemon's `send`, which applies the unverified client's byte credit and paces long
streams (docs/protocol.md, "Sharing and safety").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from arvae_live import __version__
from arvae_live.client_state import Client, ClientState, ClientTable
from arvae_live.core.key import melody_scale
from arvae_live.core.meters import SIMPLE, Grid, grid_for_meter, meter_numbers
from arvae_live.core.notes import NoteFields, carried_note_fields
from arvae_live.core.representation import Adjustment, Note, Vocabulary, tokens_to_note_arrays
from arvae_live.engine import LiveModel, Regeneration
from arvae_live.errors import ArvaeError, UnknownAttributeError
from arvae_live.model_store import UnknownModelError
from arvae_live.osc_wire import MalformedDatagram, MessageTemplate, encode_message, parse_datagram
from arvae_live.protocol import (
    MAX_WARNINGS,
    PROTOCOL_VERSION,
    REQUESTS,
    SCALE_MODES,
    UNVERIFIED_MESSAGE,
    ParsedRequest,
    ProtocolError,
    coalesce_key,
    meter_of,
    parse_request,
    parse_rid,
)
from arvae_live.scheduling import SMALL_JOB_BAR_VARIATIONS, Job, Pick, Work

if TYPE_CHECKING:
    from arvae_live.daemon import ModelHost, Stats

log = logging.getLogger(__name__)

MALFORMED_SUMMARY_SEC = 10.0  # at most one warning line per this many seconds about malformed datagrams
# Fewest bytes one variation's result stream can take (a /result/begin and a /result/end): an unverified client
# whose credit cannot cover that many is refused before the engine spends any time on its request.
_MIN_STREAM_BYTES = 88
AUTO_MODEL = "auto"  # /arvae/model/load auto: no chosen model, each clip goes to the model serving its meter

# The result stream's fixed-shape messages (protocol.STREAM_MESSAGES), headers encoded once.
_RESULT_BEGIN = MessageTemplate("/arvae/result/begin", "iiif")  # rid v n_notes length_beats
_RESULT_NOTE = MessageTemplate("/arvae/result/note", "iiiiffi")  # rid v idx pitch start_beats dur_beats velocity

# Library errors an engine job may raise, matched by type (most specific first), and the code each is answered with.
_ERROR_CODES_BY_TYPE: tuple[tuple[type[Exception], str], ...] = (
    (UnknownModelError, "unknown_model"),
    (UnknownAttributeError, "unknown_attr"),
    (ArvaeError, "bad_args"),
)


class DaemonSide(Protocol):
    """What the bridge uses of the daemon (arvae_live.daemon.Daemon provides it)."""

    models: ModelHost
    stats: Stats
    clients: ClientTable
    device: str
    budget_ms: float | None
    default_scale: tuple[str, int]  # the scale of clients that sent no /arvae/scale (serve --scale)

    def send(self, state: ClientState, rid: int, address: str, datagrams: list[bytes]) -> bool:
        """Send a reply's datagrams to the client's reply port, within its credit; False when refused or dropped."""

    def submit(self, job: Job) -> Job | None:
        """Queue an engine job; returns the queued job it replaced. Raises ProtocolError busy."""

    def cancel(self, state: ClientState, rid: int) -> Job | None:
        """Take a queued job of this client out of the queue."""

    def queue_size(self) -> int: ...

    def state(self) -> str: ...


class MalformedLog:
    """Malformed datagrams: each at debug level, and at most one warning per `every_sec` summing them up."""

    def __init__(self, every_sec: float = MALFORMED_SUMMARY_SEC) -> None:
        self.every_sec = every_sec
        self._count = 0
        self._last_warning = -float("inf")

    def note(self, state: ClientState, size: int, err: Exception | str) -> None:
        log.debug("malformed datagram from %s (%d bytes): %s", state, size, err)
        self._count += 1
        now = time.monotonic()
        if now - self._last_warning >= self.every_sec:
            log.warning(
                "ignored %d malformed datagram(s) since the last such warning (at most one per %g s); the latest "
                "from %s, %d bytes: %s", self._count, self.every_sec, state, size, err,
            )  # fmt: skip
            self._count = 0
            self._last_warning = now


class OscBridge:
    """Request handling between datagrams and the daemon.

    Args:
        daemon: the daemon side (sending, the engine queue, models, counters, clients).
    """

    def __init__(self, daemon: DaemonSide) -> None:
        self.daemon = daemon
        self.malformed = MalformedLog()
        self._received = 0.0  # perf_counter of the datagram being handled
        # The handler of each address in the table: immediate ones answer, engine ones return the job's work.
        self._handlers: dict[str, Callable[[ClientState, ParsedRequest, float], Work | None]] = {
            "/arvae/hello": self._hello,
            "/arvae/verify": self._verify,
            "/arvae/ping": self._ping,
            "/arvae/status": self._status,
            "/arvae/models/list": self._models_list,
            "/arvae/model/load": self._model_load,
            "/arvae/attrs/list": self._attrs_list,
            "/arvae/clip/begin": self._clip_begin,
            "/arvae/clip/note": self._clip_note,
            "/arvae/clip/end": self._clip_end,
            "/arvae/attrs/measure": self._attrs_measure,
            "/arvae/regen": self._regen,
            "/arvae/sample": self._sample,
            "/arvae/interp": self._interp,
            "/arvae/scale": self._scale,
            "/arvae/cancel": self._cancel,
            "/arvae/resend": self._resend,
        }
        assert self._handlers.keys() == REQUESTS.keys(), "every address of the table needs a handler, and only those"

    # ---- entry point ----

    def handle_datagram(self, data: bytes, client: Client) -> None:
        """Parse one datagram (message or bundle) and handle its messages in arrival order. Never raises."""
        self._received = time.perf_counter()
        state = self.daemon.clients.touch(client, len(data))
        try:
            messages = parse_datagram(data)
        except Exception as err:  # MalformedDatagram; anything else would be a parser bug, still never fatal
            self.daemon.stats.count("bad_datagrams")
            self.malformed.note(state, len(data), err if isinstance(err, MalformedDatagram) else repr(err))
            return
        for msg in messages:
            self.daemon.stats.count("requests")
            try:
                if msg.problem:
                    raise ProtocolError("bad_args", f"{msg.address[:100]}: {msg.problem}")
                self._handle(state, parse_request(msg.address, msg.args))
            except ProtocolError as err:
                self.send_error(state, _rid_or_zero(msg.args), err.code, err.message, msg.address)
            except Exception as err:  # never into the receive loop
                log.exception("handler for %s failed", msg.address)
                self.send_error(state, _rid_or_zero(msg.args), "internal", str(err), msg.address)

    def _handle(self, state: ClientState, req: ParsedRequest) -> None:
        """Answer an immediate request, or queue an engine request's work as a job."""
        if not state.admitted:
            raise ProtocolError("busy", f"the daemon holds its maximum of {self.daemon.clients.max_clients} clients")
        spec = REQUESTS[req.address]
        if spec.engine:
            _check_credit_for_stream(state, req)
        work = self._handlers[req.address](state, req, self._received)
        if not spec.engine:
            return
        job = Job(state, req.rid, req.address, work, self._received, coalesce_key(req, state), _is_small(state, req))
        replaced = self.daemon.submit(job)
        if replaced is not None:
            self.send_error(state, replaced.rid, "cancelled", "replaced by a newer request", replaced.address)

    def run_guarded(self, job: Job, pick: Pick) -> None:
        """Run a job on an engine thread, `pick(model_id)` giving that thread's copy of a held model, turning every
        failure into /arvae/error (library errors by type)."""
        try:
            job.run(pick)
        except ProtocolError as err:
            self.send_error(job.client, job.rid, err.code, err.message, job.address)
        except ArvaeError as err:
            code = next(c for t, c in _ERROR_CODES_BY_TYPE if isinstance(err, t))
            self.send_error(job.client, job.rid, code, str(err), job.address)
        except Exception as err:
            log.exception("engine job %s rid %d failed", job.address, job.rid)
            self.send_error(job.client, job.rid, "internal", f"{type(err).__name__}: {err}", job.address)

    # ---- replies ----

    def send_error(self, state: ClientState, rid: int, code: str, message: str, address: str) -> None:
        """Send /arvae/error (even for rid 0: a failure is never silent) and count it."""
        self.daemon.stats.count("errors")
        log.debug("error %s for rid %d from %s: %s", code, rid, state, message)
        message = message.splitlines()[0][:1000] if message else code
        self.daemon.send(state, rid, address, [encode_message("/arvae/error", rid, code, message, address[:200])])

    def _reply(self, state: ClientState, req: ParsedRequest, address: str, *args: int | float | str) -> None:
        self.daemon.stats.count("served")
        if req.rid:
            self.daemon.send(state, req.rid, req.address, [encode_message(address, req.rid, *args)])

    def _reply_list(
        self, state: ClientState, req: ParsedRequest, stem: str, items: Sequence[tuple], about: tuple = ()
    ) -> None:
        """A listing: stem/begin rid n *about, n x stem/item rid idx ..., stem/end rid n."""
        self.daemon.stats.count("served")
        if not req.rid:
            return
        out = [encode_message(f"{stem}/begin", req.rid, len(items), *about)]
        out += [encode_message(f"{stem}/item", req.rid, idx, *item) for idx, item in enumerate(items)]
        out.append(encode_message(f"{stem}/end", req.rid, len(items)))
        self.daemon.send(state, req.rid, req.address, out)

    # ---- immediate requests ----

    def _hello(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        if req.values["proto"] != PROTOCOL_VERSION:
            raise ProtocolError(
                "unsupported", f"this daemon speaks protocol {PROTOCOL_VERSION}, not {req.values['proto']}"
            )
        nonce = state.register(int(req.values["reply_port"]))  # the reply below goes to the new port
        log.debug("hello from %s (%s), replies to port %d", req.values["client"], state, req.values["reply_port"])
        version = f"arvae-live {__version__}"
        self._reply(state, req, "/arvae/hello", version, PROTOCOL_VERSION, self.daemon.device, nonce)

    def _verify(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        state.verify(int(req.values["nonce"]))
        log.debug("%s verified, replies to port %s", state, state.reply_port)
        self._reply(state, req, "/arvae/verify", 1)

    def _scale(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        mode, mask = str(req.values["mode"]), int(req.values.get("mask", 0))
        if mode not in SCALE_MODES:
            raise ProtocolError("bad_args", f"scale mode must be one of {', '.join(SCALE_MODES)}, got {mode[:40]!r}")
        if (mode == "set") != (mask > 0):
            raise ProtocolError("bad_args", "scale mode set takes a pitch-class mask 1..4095; auto and off take none")
        state.scale = (mode, mask)
        self._reply(state, req, "/arvae/scale", mode, mask)

    def _ping(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        self._reply(state, req, "/arvae/ping", time.monotonic() * 1e3 % 1e7)

    def _status(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        d, s = self.daemon, self.daemon.stats
        self._reply(
            state, req, "/arvae/status", d.state(), d.models.current_id, d.device, d.queue_size(),
            s.percentile(50), s.percentile(95), s.get("served"), s.get("errors"),
            s.percentile(50, engine=True), s.percentile(95, engine=True),
        )  # fmt: skip

    def _models_list(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        self._reply_list(state, req, "/arvae/models", self.daemon.models.listing())

    def _clip_begin(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        v = req.values
        if v["length_beats"] <= 0:
            raise ProtocolError("bad_args", "length_beats must be > 0")
        num, den = meter_of(v) or (4, 4)  # a client from before meters: 4/4
        meter = f"{num}/{den}"
        grid = self._served_grid(state, meter, num, den)  # refused now, before the notes, when no model serves it
        state.begin_upload(v["slot"], v["n_notes"], v["length_beats"], meter, grid)

    def _clip_note(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        v = req.values
        if v["dur_beats"] <= 0:
            raise ProtocolError("bad_args", "dur_beats must be > 0")
        state.upload_note(v["slot"], v["idx"], Note(v["pitch"], v["start_beats"], v["dur_beats"], v["velocity"]))

    def _clip_end(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        n = state.end_upload(req.values["slot"], req.values["n_notes"])
        self._reply(state, req, "/arvae/clip/end", req.values["slot"], n)

    def _cancel(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        job = self.daemon.cancel(state, req.values["target_rid"])
        self._reply(state, req, "/arvae/cancel", req.values["target_rid"])
        if job is not None:
            self.send_error(state, job.rid, "cancelled", f"cancelled by /arvae/cancel {req.rid}", job.address)

    def _resend(self, state: ClientState, req: ParsedRequest, received: float) -> None:
        target, v = req.values["target_rid"], req.values["v"]
        out = list(state.kept_stream(target, v))
        self.daemon.stats.count("served")
        if req.rid:
            out.append(encode_message("/arvae/resend", req.rid, target, v))
        self.daemon.send(state, req.rid, req.address, out)

    # ---- engine requests (return the work as a closure; it runs on the engine thread) ----

    def _model_load(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        def run(_pick: Pick) -> None:
            if req.values["id"] == AUTO_MODEL:
                state.model_id = None
                self._reply(state, req, "/arvae/model/load", AUTO_MODEL, "")
                return
            lm = self.daemon.models.switch(req.values["id"])
            state.model_id = lm.model_id  # this client's choice: its clips of other meters are refused, not switched
            self._reply(state, req, "/arvae/model/load", lm.model_id, lm.grid.name)

        return run

    def _attrs_list(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        asked = req.values.get("model")
        meter = _meter_text(asked) if isinstance(asked, str) else None

        def run(pick: Pick) -> None:
            if meter is not None:
                lm = pick(self._model_for(state, *meter))
            else:
                lm = self.daemon.models.get(asked if asked is not None else state.model_id)
            items = [(a.name, float(a.low), float(a.high)) for a in lm.attributes]
            self._reply_list(state, req, "/arvae/attrs", items, (lm.model_id, lm.grid.name))

        return run

    # ---- which model serves a meter ----

    def _served_grid(self, state: ClientState, meter: str, num: int, den: int) -> Grid:
        """The grid serving meter num/den, checked against the loaded models and this client's model choice.

        Raises:
            ProtocolError: unsupported, naming the meter and what is served (or the client's choice).
        """
        grid = grid_for_meter(num, den)
        self._model_for(state, meter, grid)
        return grid

    def _model_for(self, state: ClientState, meter: str, grid: Grid | None) -> str:
        """The id of the model that serves a clip in meter (on grid, None: no grid has it) for this client: the one
        it chose with /arvae/model/load, else the current model of the grid. Never switches silently.

        Raises:
            ProtocolError: unsupported, in one line naming the meter and what is served.
        """
        models = self.daemon.models
        chosen = state.model_id
        if chosen is not None and chosen in models.loaded:
            lm = models.loaded[chosen]
            if lm.grid is not grid:
                raise ProtocolError(
                    "unsupported", f"meter {meter}: this client chose model {chosen}, which serves "
                    f"{', '.join(lm.grid.meters)}; load a model serving {meter} (loaded: {models.served_text()}) "
                    f"or send /arvae/model/load {AUTO_MODEL}",
                )  # fmt: skip
            return chosen
        model_id = None if grid is None else models.for_grid(grid)
        if model_id is None:
            raise ProtocolError(
                "unsupported", f"meter {meter} is not served by any loaded model; loaded: {models.served_text()}"
            )
        return model_id

    def _attrs_measure(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        clip = state.clip(req.values["slot"])  # the clip as it is now, not at run time

        def run(pick: Pick) -> None:
            lm = pick(self._model_for(state, clip.meter, clip.grid))
            tokens, _ = clip.tokens(lm.vocab)
            values = lm.measure_attributes(tokens)
            args: list[int | float | str] = []
            for name in lm.attribute_names:
                args += [name, float(values[name].mean())]
            self._reply(state, req, "/arvae/attrs/measure", *args)

        return run

    def _regen(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        clip = state.clip(req.values["slot"])
        v = req.values

        def run(pick: Pick) -> None:
            lm = pick(self._model_for(state, clip.meter, clip.grid))
            tokens, adjustments = clip.tokens(lm.vocab)
            M = tokens.shape[0]
            start = v["start_bar"]
            n = v["n_bars"] or M - start
            if start >= M or start + n > M:
                raise ProtocolError(
                    "bad_args", f"measures {start}..{start + n - 1} are outside the clip's {M} ({clip.meter})"
                )
            scale, key = clip_scale(tokens, lm.vocab, state.scale or self.daemon.default_scale, lm.grid)
            res = lm.regenerate(
                tokens[start : start + n], req.targets, v["variations"], v["temperature"], v["seed"],
                budget_ms=self.daemon.budget_ms, scale=scale, since=received,
            )  # fmt: skip
            res.key = key
            if req.rid == 0:
                return
            streams = []
            for var in range(res.tokens.shape[0]):
                full = tokens.copy()
                full[start : start + n] = res.tokens[var]
                notes = carried_note_fields(full, lm.vocab, clip.notes, clip.length_beats, lm.grid)
                streams.append(self._stream(req.rid, var, notes, clip.length_beats, res, lm))
            self._finish(state, req, received, streams, res, _warnings(req.rid, adjustments))

        return run

    def _sample(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        v = req.values
        asked = meter_of(v)

        def run(pick: Pick) -> None:
            if asked is not None:
                meter, grid = f"{asked[0]}/{asked[1]}", grid_for_meter(*asked)
            elif state.model_id in self.daemon.models.loaded:  # no meter: the chosen model's own
                grid = self.daemon.models.loaded[state.model_id].grid
                meter = next(iter(grid.meters))
            else:
                meter, grid = "4/4", SIMPLE
            lm = pick(self._model_for(state, meter, grid))
            mode, mask = state.scale or self.daemon.default_scale
            scale = [k for k in range(12) if mask >> k & 1] if mode == "set" else None  # no clip: no key to find
            res = lm.sample(
                v["n_bars"], req.targets, v["variations"], v["temperature"], v["seed"],
                budget_ms=self.daemon.budget_ms, scale=scale, since=received,
            )  # fmt: skip
            if req.rid == 0:
                return
            length = float(v["n_bars"] * lm.grid.measure_quarters)
            streams = []
            for var in range(res.tokens.shape[0]):
                notes = carried_note_fields(res.tokens[var], lm.vocab, (), length, lm.grid)
                streams.append(self._stream(req.rid, var, notes, length, res, lm))
            self._finish(state, req, received, streams, res)

        return run

    def _interp(self, state: ClientState, req: ParsedRequest, received: float) -> Work:
        clip_a = state.clip(req.values["slot_a"])
        clip_b = state.clip(req.values["slot_b"])
        if clip_a.grid is not clip_b.grid:
            raise ProtocolError(
                "bad_args", f"slot_a's clip is in {clip_a.meter} and slot_b's in {clip_b.meter}: interpolate between "
                "clips of one grid (4/4 with 2/2 and 2/4; 12/8 with 6/8)",
            )  # fmt: skip

        def run(pick: Pick) -> None:
            lm = pick(self._model_for(state, clip_a.meter, clip_a.grid))
            ta, _ = clip_a.tokens(lm.vocab)
            tb, _ = clip_b.tokens(lm.vocab)
            res = lm.interpolate(ta, tb, req.values["steps"])
            if req.rid == 0:
                return
            length = float(res.tokens.shape[1] * lm.grid.measure_quarters)
            streams = []
            for var in range(res.tokens.shape[0]):
                notes = carried_note_fields(res.tokens[var], lm.vocab, clip_a.notes, length, lm.grid)
                streams.append(self._stream(req.rid, var, notes, length, res, lm))
            self._finish(state, req, received, streams, res)

        return run

    @staticmethod
    def _stream(rid: int, var: int, notes: NoteFields, length: float, res: Regeneration, lm: LiveModel) -> list[bytes]:
        """One variation's datagrams: /result/begin, one /result/note per note, /result/asked, /result/end."""
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
        return out

    def _finish(
        self,
        state: ClientState,
        req: ParsedRequest,
        received: float,
        streams: list[list[bytes]],
        res: Regeneration,
        warnings: Sequence[bytes] = (),
    ) -> None:
        """Send warnings, every variation's stream and the final reply in one go (one credit check, paced), and
        keep the streams for /arvae/resend."""
        latency_ms = (time.perf_counter() - received) * 1e3
        self.daemon.stats.record(latency_ms, res.engine_ms)
        self.daemon.stats.count("served")
        extra = (res.key or "",) if req.address == "/arvae/regen" else ()  # the key the notes kept to; "": any pitch
        final = encode_message(req.address, req.rid, len(streams), latency_ms, *extra)
        state.keep_result(req.rid, streams)  # before sending: a /resend may follow the final reply at once
        self.daemon.send(state, req.rid, req.address, [*warnings, *(d for s in streams for d in s), final])


def clip_scale(
    tokens: np.ndarray, vocab: Vocabulary, choice: tuple[str, int], grid: Grid = SIMPLE
) -> tuple[frozenset[int] | None, str]:
    """The pitch classes a regeneration of a clip keeps to, and the key's name, for a client's /arvae/scale choice.

    "auto" takes the key of the whole clip (not only the bars regenerated) plus its own chromatic notes; "set" the
    mask's pitch classes; "off" none (None, "").
    """
    mode, mask = choice
    if mode == "off":
        return None, ""
    pitches, _, durations = tokens_to_note_arrays(tokens, vocab, grid)
    own = frozenset(int(p) % 12 for p in pitches)
    if mode == "set":
        return frozenset(k for k in range(12) if mask >> k & 1) | own, "custom"
    key, classes = melody_scale(pitches, durations)
    return (None, "") if key is None else (classes, key.name)


def _warnings(rid: int, adjustments: Sequence[Adjustment]) -> list[bytes]:
    """The /arvae/warning datagrams for a clip's grid changes: at most MAX_WARNINGS, then one saying how many more."""
    out = [encode_message("/arvae/warning", rid, adj.kind, adj.message) for adj in adjustments[:MAX_WARNINGS]]
    if len(adjustments) > MAX_WARNINGS:
        out.append(encode_message("/arvae/warning", rid, "more", f"{len(adjustments) - MAX_WARNINGS} more warnings"))
    return out


def _is_small(state: ClientState, req: ParsedRequest) -> bool:
    """Whether a request is small work (at most SMALL_JOB_BAR_VARIATIONS bars x variations of the current model), which
    the second engine thread may run while the first is busy. Only clip and stream requests: they use the current
    model alone."""
    v = req.values
    if req.address == "/arvae/regen":
        bars = v["n_bars"] or state.clip(v["slot"]).n_measures - v["start_bar"]
        work = bars * v["variations"]
    elif req.address == "/arvae/sample":
        work = v["n_bars"] * v["variations"]
    elif req.address == "/arvae/interp":
        work = v["steps"] * max(state.clip(v["slot_a"]).n_measures, state.clip(v["slot_b"]).n_measures)
    elif req.address == "/arvae/attrs/measure":
        work = state.clip(v["slot"]).n_measures
    else:
        return False
    return work <= SMALL_JOB_BAR_VARIATIONS


def _check_credit_for_stream(state: ClientState, req: ParsedRequest) -> None:
    """Refuse at once a result-stream request whose smallest possible reply an unverified client's credit cannot
    take, so that an unverified flood costs no engine time."""
    credit = state.credit()
    n = req.values.get("variations", req.values.get("steps", 0))
    if credit is not None and n and credit < n * _MIN_STREAM_BYTES:
        raise ProtocolError("unverified", UNVERIFIED_MESSAGE)


def _meter_text(text: str) -> tuple[str, Grid | None] | None:
    """("3/4", its grid or None) for a string of the form num/den; None for anything else (a model id)."""
    meter = meter_numbers(text)
    return None if meter is None else (f"{meter[0]}/{meter[1]}", grid_for_meter(*meter))


def _rid_or_zero(args: Iterable) -> int:
    """The request id of a request's arguments, or 0 when arg 0 is not a valid rid."""
    try:
        return parse_rid(list(args))
    except (ProtocolError, TypeError):
        return 0
