"""The OSC protocol, version 1, as data: every request address with its arguments and ranges, the replies, the error
codes and the limits; and the validation of a request's arguments against that table.

docs/protocol.md shows this table (tests/test_protocol.py checks that the two agree). The design it follows is
shared/design/protocol-v1.md; where this table differs, docs/protocol.md says so.

No sockets here: osc_bridge.py decodes datagrams and calls `parse_request`; daemon.py does the work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROTOCOL_VERSION = 1
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9127
DEFAULT_REPLY_PORT = 9128

# Limits (protocol-v1 "Limits"); each violation is answered with `too_large` or `bad_args`.
MAX_DATAGRAM_OUT_BYTES = 4096  # every datagram the daemon sends
MAX_ARGS_OUT = 64  # OSC arguments per message sent (Max lists and zl objects crop long lists)
MAX_NOTES = 1024  # notes per uploaded clip
MAX_BARS = 64  # bars per request (and per uploaded clip)
MAX_VARIATIONS = 16  # variations per request
MAX_SLOTS = 16  # upload slots per client, 0..15
MAX_TARGETS = 16  # name/value pairs per request
UPLOAD_TTL_SEC = 5.0  # a partial upload is dropped this long after its last message
RID_MAX = 2**31 - 1

ERROR_CODES = {
    "bad_args": "wrong argument count, type or range",
    "unknown_address": "no such request address",
    "unknown_model": "no model with that id",
    "unknown_attr": "the model has no such attribute, or cannot steer it",
    "no_clip": "nothing uploaded to that slot (or the upload expired)",
    "clip_incomplete": "/clip/end came before all notes; the message lists the missing idx",
    "too_large": "a limit was exceeded (notes, bars, variations, datagram size)",
    "unsupported": "a protocol version or feature this daemon does not speak",
    "busy": "the request queue is full; try again",
    "cancelled": "a newer request from the same client and slot, or /arvae/cancel, replaced it",
    "internal": "a bug in the daemon; the message says what failed",
}


class ProtocolError(Exception):
    """A request the daemon answers with /arvae/error: an error code from ERROR_CODES and a one-line message."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, f"unknown error code {code}"
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Param:
    """One request argument after rid.

    Attributes:
        name: argument name (snake_case, as in docs/protocol.md).
        type: 'i' (int32; integral floats accepted), 'f' (float; ints accepted) or 's' (string).
        low, high: inclusive range for numbers; None for no bound.
        too_large: a value above high is answered `too_large` rather than `bad_args`.
    """

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    too_large: bool = False

    def describe(self) -> str:
        """'name:t' plus the range, as shown in docs/protocol.md."""
        rng = ""
        if self.low is not None or self.high is not None:
            lo = "" if self.low is None else _fmt(self.low)
            hi = "" if self.high is None else _fmt(self.high)
            rng = f" {lo}..{hi}"
        return f"{self.name}:{self.type}{rng}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Request:
    """One request address of the table.

    Attributes:
        address: OSC address, e.g. /arvae/regen.
        params: required arguments after rid, in order.
        reply: what the daemon sends back (docs form).
        doc: one line saying what the request does.
        optional: arguments that may follow the required ones.
        targets: trailing `name:s value:f` attribute-target pairs are allowed (values 0..1).
        engine: the request runs on the engine thread (it needs the model); others are answered at once.
    """

    address: str
    params: tuple[Param, ...]
    reply: str
    doc: str
    optional: tuple[Param, ...] = ()
    targets: bool = False
    engine: bool = False

    def signature(self) -> str:
        """'rid:i slot:i 0..15 ...' as shown in docs/protocol.md."""
        parts = ["rid:i"] + [p.describe() for p in self.params] + [f"[{p.describe()}]" for p in self.optional]
        if self.targets:
            parts.append("[name:s value:f 0..1]...")
        return " ".join(parts)


_SLOT = Param("slot", "i", 0, MAX_SLOTS - 1)
_VARIATIONS = Param("variations", "i", 1, MAX_VARIATIONS, too_large=True)
_TEMPERATURE = Param("temperature", "f", 0.0, 10.0)
_SEED = Param("seed", "i", -(2**31), 2**31 - 1)
_STREAM = "result stream per variation, then"

REQUESTS: dict[str, Request] = {
    r.address: r
    for r in (
        Request(
            "/arvae/hello",
            (Param("client", "s"), Param("reply_port", "i", 1, 65535), Param("proto", "i")),
            "/arvae/hello rid server_version:s proto:i device:s",
            "register the port this client (IP and source port) wants replies on",
        ),
        Request("/arvae/ping", (), "/arvae/ping rid daemon_ms:f", "liveness; daemon_ms: daemon monotonic clock"),
        Request(
            "/arvae/status",
            (),
            "/arvae/status rid state:s model:s device:s queue:i p50_ms:f p95_ms:f served:i errors:i",
            "counters and latency percentiles of the engine requests",
        ),
        Request(
            "/arvae/models/list",
            (),
            "/arvae/models/begin rid n, n x /arvae/models/item rid idx id:s n_attrs:i, /arvae/models/end rid n",
            "the models the daemon can serve (loaded or loadable)",
        ),
        Request(
            "/arvae/model/load",
            (Param("id", "s"),),
            "/arvae/model/load rid id:s once the model is ready",
            "make a model current (loads it first if needed)",
            engine=True,
        ),
        Request(
            "/arvae/attrs/list",
            (),
            "/arvae/attrs/begin rid n, n x /arvae/attrs/item rid idx name:s raw_min:f raw_max:f, "
            "/arvae/attrs/end rid n",
            "the attributes of the current (or named) model and their raw ranges",
            optional=(Param("model", "s"),),
            engine=True,
        ),
        Request(
            "/arvae/clip/begin",
            (
                _SLOT,
                Param("n_notes", "i", 0, MAX_NOTES, too_large=True),
                Param("length_beats", "f", 0.0, 4.0 * MAX_BARS, too_large=True),
            ),  # fmt: skip
            "none",
            "start (or restart) an upload to a slot",
        ),
        Request(
            "/arvae/clip/note",
            (
                _SLOT,
                Param("idx", "i", 0, MAX_NOTES - 1),
                Param("pitch", "i", 0, 127),
                Param("start_beats", "f", 0.0, 4.0 * MAX_BARS),
                Param("dur_beats", "f", 0.0, 4.0 * MAX_BARS),
                Param("velocity", "i", 1, 127),
            ),  # fmt: skip
            "none (errors only)",
            "one note of the upload; a re-sent idx overwrites",
        ),
        Request(
            "/arvae/clip/end",
            (_SLOT, Param("n_notes", "i", 0, MAX_NOTES, too_large=True)),
            "/arvae/clip/end rid slot:i n_received:i, or error clip_incomplete naming the missing idx",
            "finish an upload; the clip is then kept for regen, attrs/measure and interp",
        ),
        Request(
            "/arvae/attrs/measure",
            (_SLOT,),
            "/arvae/attrs/measure rid name:s value:f ... (per-measure mean, normalised 0..1)",
            "the attributes of an uploaded clip",
            engine=True,
        ),
        Request(
            "/arvae/regen",
            (
                _SLOT,
                _VARIATIONS,
                _TEMPERATURE,
                _SEED,
                Param("start_bar", "i", 0, MAX_BARS - 1),
                Param("n_bars", "i", 0, MAX_BARS, too_large=True),
            ),  # fmt: skip
            f"warnings, {_STREAM} /arvae/regen rid n_variations:i latency_ms:f",
            "regenerate bars start_bar.. (n_bars 0: to the clip end) of an uploaded clip with attribute targets",
            targets=True,
            engine=True,
        ),
        Request(
            "/arvae/sample",
            (_VARIATIONS, _TEMPERATURE, _SEED, Param("n_bars", "i", 1, MAX_BARS, too_large=True)),
            f"{_STREAM} /arvae/sample rid n_variations:i latency_ms:f",
            "new bars from the prior with attribute targets",
            targets=True,
            engine=True,
        ),
        Request(
            "/arvae/interp",
            (
                Param("slot_a", "i", 0, MAX_SLOTS - 1),
                Param("slot_b", "i", 0, MAX_SLOTS - 1),
                Param("steps", "i", 1, MAX_VARIATIONS, too_large=True),
            ),  # fmt: skip
            f"{_STREAM} /arvae/interp rid steps:i latency_ms:f",
            "interpolate in latent space from the clip in slot_a to the one in slot_b, one variation per step",
            engine=True,
        ),
        Request(
            "/arvae/cancel",
            (Param("target_rid", "i", 1, RID_MAX),),
            "/arvae/cancel rid target_rid:i (the target, if still queued, gets error cancelled)",
            "drop a queued request of this client",
        ),
    )
}

# What the daemon sends besides the direct replies above.
STREAM_MESSAGES = (
    ("/arvae/result/begin", "rid v:i n_notes:i length_beats:f"),
    ("/arvae/result/note", "rid v:i idx:i pitch:i start_beats:f dur_beats:f velocity:i"),
    ("/arvae/result/asked", "rid v:i name:s asked:f ..."),
    ("/arvae/result/end", "rid v:i n_notes:i name:s achieved:f ..."),
    ("/arvae/warning", "rid code:s message:s"),
    ("/arvae/error", "rid code:s message:s address:s"),
)


def _number(value: object, p: Param) -> int | float:
    """The argument as the param's type; ProtocolError bad_args otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError("bad_args", f"{p.name} must be a number ({p.type}), got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError("bad_args", f"{p.name} must be finite, got {value}")
    if p.type == "i":
        if isinstance(value, float):
            if not value.is_integer():
                raise ProtocolError("bad_args", f"{p.name} must be an integer, got {value}")
            value = int(value)
        return value
    return float(value)


def check_param(p: Param, value: object) -> int | float | str:
    """Convert and range-check one argument.

    Raises:
        ProtocolError: bad_args (type or range) or too_large (above a limit).
    """
    if p.type == "s":
        if not isinstance(value, str):
            raise ProtocolError("bad_args", f"{p.name} must be a string, got {type(value).__name__}")
        if not value or len(value) > 256:
            raise ProtocolError("bad_args", f"{p.name} must be 1..256 characters")
        return value
    v = _number(value, p)
    if p.high is not None and v > p.high:
        code = "too_large" if p.too_large else "bad_args"
        raise ProtocolError(code, f"{p.name} must be in range {p.describe().split(' ', 1)[1]}, got {v}")
    if p.low is not None and v < p.low:
        raise ProtocolError("bad_args", f"{p.name} must be in range {p.describe().split(' ', 1)[1]}, got {v}")
    return v


def parse_rid(args: list | tuple) -> int:
    """The request id (arg 0) as an int 0..2^31-1; ProtocolError bad_args (with rid unknown) otherwise."""
    if not args:
        raise ProtocolError("bad_args", "missing rid (arg 0 must be an int request id)")
    return int(check_param(Param("rid", "i", 0, RID_MAX), args[0]))


@dataclass(frozen=True)
class ParsedRequest:
    """A validated request: rid, the named arguments, and the attribute targets {name: 0..1} in order given."""

    address: str
    rid: int
    values: dict[str, int | float | str]
    targets: dict[str, float]


def parse_request(address: str, args: list | tuple) -> ParsedRequest:
    """Validate a request against the table.

    Args:
        address: the OSC address.
        args: the OSC arguments, rid first.

    Returns:
        ParsedRequest.

    Raises:
        ProtocolError: unknown_address, bad_args or too_large, with a one-line message.
    """
    req = REQUESTS.get(address)
    if req is None:
        raise ProtocolError("unknown_address", f"unknown address {address[:100]}")
    rid = parse_rid(args)
    rest = list(args[1:])
    n_fixed = len(req.params)
    if len(rest) < n_fixed:
        raise ProtocolError("bad_args", f"{address} needs {req.signature()}, got {len(args)} argument(s)")
    values = {p.name: check_param(p, v) for p, v in zip(req.params, rest)}
    extra = rest[n_fixed:]
    n_opt = min(len(req.optional), len(extra))
    values.update({p.name: check_param(p, v) for p, v in zip(req.optional, extra[:n_opt])})
    extra = extra[n_opt:]
    targets: dict[str, float] = {}
    if extra:
        if not req.targets:
            raise ProtocolError("bad_args", f"{address} needs {req.signature()}, got {len(args)} argument(s)")
        if len(extra) % 2:
            raise ProtocolError("bad_args", "attribute targets must be name/value pairs")
        if len(extra) // 2 > MAX_TARGETS:
            raise ProtocolError("too_large", f"at most {MAX_TARGETS} attribute targets")
        for name, value in zip(extra[::2], extra[1::2]):
            name = check_param(Param("target name", "s"), name)
            if name in targets:
                raise ProtocolError("bad_args", f"attribute {name} given twice")
            targets[name] = float(check_param(Param(f"target {name}", "f", 0.0, 1.0), value))
    return ParsedRequest(address, rid, values, targets)
