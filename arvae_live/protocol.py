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

# Limits (protocol-v1 "Limits"), each defined once here: the daemon enforces them, docs/protocol.md shows them (the
# generated limits table), and the Max device's script is checked against them. A request over a size limit is
# answered `too_large`, other violations `bad_args`.
MAX_DATAGRAM_OUT_BYTES = 4096  # every datagram the daemon sends
MAX_ARGS_OUT = 64  # OSC arguments per message sent (Max lists and zl objects crop long lists)
MAX_NOTES = 1024  # notes per uploaded clip
MAX_BARS = 64  # bars per request (and per uploaded clip)
MAX_VARIATIONS = 16  # variations per request
MAX_SLOTS = 16  # upload slots per client, 0..15
MAX_TARGETS = 16  # name/value pairs per request
MAX_WARNINGS = 8  # /arvae/warning messages per request; the last one then says how many more there were
UPLOAD_TTL_SEC = 5.0  # a partial upload is dropped this long after its last message
RID_MAX = 2**31 - 1
MAX_METER = 64  # a meter's numerator and denominator are 1..this (the served ones are far smaller: core/meters.py)
# Incoming datagrams: anything over these is dropped (structure) or answered bad_args (arguments) before any work.
MAX_DATAGRAM_IN_BYTES = 65535  # the largest UDP datagram, read whole
MAX_MESSAGES_IN = 32  # messages per datagram (a bundle's messages, nested ones included)
MAX_BUNDLE_DEPTH = 4  # bundles inside bundles
MAX_ARGS_IN = 64  # arguments per request message
# Sharing the daemon between clients (a client is an IP and source port).
MAX_QUEUE = 64  # queued engine requests in all; more are answered `busy`
MAX_QUEUE_PER_CLIENT = 8  # queued engine requests per client; the engine serves clients round robin
MAX_CLIENTS = 64  # clients whose registration, uploads, clips and results are held
REGISTRATION_TTL_SEC = 600.0  # a client's registration and state are dropped after this long without a datagram
UNVERIFIED_REPLY_FACTOR = 10  # bytes sent to an unverified client <= this x the bytes it has sent
RESULTS_KEPT = 4  # completed results per client kept for /arvae/resend
RESULT_KEEP_SEC = 60.0  # ... each for this long
# Pacing: a burst never fills half of Max's 2,048-message udpreceive queue, and the pace stays above what steady use
# sends (8-bar regens of 4 variations back to back are about 24 datagrams per ms), so it only slows the big streams.
PACE_BURST = 1024  # result datagrams sent back to back to one reply port, then ...
PACE_PER_MS = 32  # ... at most this many per millisecond until the burst allowance refills
PACE_MAX_BACKLOG = 65536  # datagrams waiting for one reply port; a reply that would exceed it is dropped (resend)

LIMITS = (
    ("MAX_NOTES", MAX_NOTES, "notes per uploaded clip"),
    ("MAX_BARS", MAX_BARS, "measures per request; a clip is at most MAX_BARS x 4 quarter notes long"),
    ("MAX_METER", MAX_METER, "largest numerator or denominator of a clip's or a sample's meter"),
    ("MAX_VARIATIONS", MAX_VARIATIONS, "variations or interpolation steps per request"),
    ("MAX_SLOTS", MAX_SLOTS, "upload slots per client (0..15)"),
    ("MAX_TARGETS", MAX_TARGETS, "attribute targets per request"),
    ("MAX_WARNINGS", MAX_WARNINGS, "warnings per request (then one saying how many more)"),
    ("UPLOAD_TTL_SEC", UPLOAD_TTL_SEC, "seconds a partial upload is kept after its last message"),
    ("MAX_DATAGRAM_OUT_BYTES", MAX_DATAGRAM_OUT_BYTES, "bytes per datagram the daemon sends"),
    ("MAX_ARGS_OUT", MAX_ARGS_OUT, "arguments per message the daemon sends"),
    ("MAX_DATAGRAM_IN_BYTES", MAX_DATAGRAM_IN_BYTES, "bytes per datagram read (whole)"),
    ("MAX_MESSAGES_IN", MAX_MESSAGES_IN, "messages per incoming datagram; a bundle with more is dropped"),
    ("MAX_BUNDLE_DEPTH", MAX_BUNDLE_DEPTH, "bundles nested in bundles; deeper is dropped"),
    ("MAX_ARGS_IN", MAX_ARGS_IN, "arguments per request; more is answered bad_args"),
    ("MAX_QUEUE", MAX_QUEUE, "engine requests queued in all (more: busy)"),
    ("MAX_QUEUE_PER_CLIENT", MAX_QUEUE_PER_CLIENT, "engine requests queued per client (more: busy)"),
    ("MAX_CLIENTS", MAX_CLIENTS, "clients held (registration, uploads, clips, results)"),
    ("REGISTRATION_TTL_SEC", REGISTRATION_TTL_SEC, "seconds without a datagram before a client's state is dropped"),
    ("UNVERIFIED_REPLY_FACTOR", UNVERIFIED_REPLY_FACTOR, "reply bytes per request byte for an unverified client"),
    ("RESULTS_KEPT", RESULTS_KEPT, "completed results per client kept for /arvae/resend"),
    ("RESULT_KEEP_SEC", RESULT_KEEP_SEC, "seconds each kept result stays available"),
    ("PACE_BURST", PACE_BURST, "datagrams sent back to back to one reply port"),
    ("PACE_PER_MS", PACE_PER_MS, "datagrams per millisecond to one reply port after a burst"),
    ("PACE_MAX_BACKLOG", PACE_MAX_BACKLOG, "datagrams waiting for one reply port; a reply past it is dropped"),
)

# The one line an unverified client gets when a reply does not fit its credit.
UNVERIFIED_MESSAGE = "send /arvae/hello, then echo its nonce with /arvae/verify"

ERROR_CODES = {
    "bad_args": "wrong argument count, type or range, or an unsupported type tag (only i, f and s are taken)",
    "unknown_address": "no such request address",
    "unknown_model": "no model with that id",
    "unknown_attr": "the model has no such attribute, or cannot steer it",
    "no_clip": "nothing uploaded to that slot by this client (IP and source port), or the upload expired",
    "clip_incomplete": "/clip/end came before all notes; the message lists the missing idx",
    "too_large": "a limit was exceeded (notes, bars, variations, datagram size)",
    "unsupported": "a protocol version or feature this daemon does not speak, or a meter no loaded model serves "
    "(the message names the meter and what is served)",
    "busy": "the request queue (in all or this client's share) or the client table is full; try again",
    "cancelled": "a newer request from the same client and slot, or /arvae/cancel, replaced it",
    "unverified": "the reply does not fit an unverified client's byte credit; send /arvae/hello, then /arvae/verify",
    "no_result": "/arvae/resend names a result this client does not have (unknown, gone, or no such variation)",
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
        optional: arguments that may follow the required ones, in order (a prefix of them may be given); in a
            request with targets they are numbers and end at the first string (a target's name).
        targets: trailing `name:s value:f` attribute-target pairs are allowed (values 0..1).
        engine: the request runs on the engine thread (it needs the model); others are answered at once.
        coalesce: for engine requests, the argument names that, with the client and the address, make the
            coalescing key: a newer queued request with the same key replaces the older one (None: never replaced).
    """

    address: str
    params: tuple[Param, ...]
    reply: str
    doc: str
    optional: tuple[Param, ...] = ()
    targets: bool = False
    engine: bool = False
    coalesce: tuple[str, ...] | None = None

    def signature(self) -> str:
        """'rid:i slot:i 0..15 ...' as shown in docs/protocol.md."""
        parts = ["rid:i"] + [p.describe() for p in self.params] + [f"[{p.describe()}]" for p in self.optional]
        if self.targets:
            parts.append("[name:s value:f 0..1]...")
        return " ".join(parts)


SCALE_MODES = ("auto", "off", "set")  # /arvae/scale and serve --scale (without set)

_SLOT = Param("slot", "i", 0, MAX_SLOTS - 1)
_VARIATIONS = Param("variations", "i", 1, MAX_VARIATIONS, too_large=True)
_TEMPERATURE = Param("temperature", "f", 0.0, 10.0)
_SEED = Param("seed", "i", -(2**31), 2**31 - 1)
_STREAM = "result stream per variation, then"
# A meter as two trailing optional ints (absent: 4/4). The range only keeps nonsense out; which meters are served
# (and that den is a power of two) the handlers check against the loaded models.
_METER = (Param("num", "i", 1, MAX_METER), Param("den", "i", 1, MAX_METER))

REQUESTS: dict[str, Request] = {
    r.address: r
    for r in (
        Request(
            "/arvae/hello",
            (Param("client", "s"), Param("reply_port", "i", 1, 65535), Param("proto", "i")),
            "/arvae/hello rid server_version:s proto:i device:s nonce:i, sent to the newly registered port",
            "register the port this client (IP and source port) wants replies on; replies stay small until verified",
        ),
        Request(
            "/arvae/verify",
            (Param("nonce", "i", 1, RID_MAX),),
            "/arvae/verify rid ok:i (1)",
            "echo the nonce of this client's last /arvae/hello: proves it reads its reply port (full replies)",
        ),
        Request("/arvae/ping", (), "/arvae/ping rid daemon_ms:f", "liveness; daemon_ms: daemon monotonic clock"),
        Request(
            "/arvae/status",
            (),
            "/arvae/status rid state:s model:s device:s queue:i p50_ms:f p95_ms:f served:i errors:i "
            "engine_p50_ms:f engine_p95_ms:f",
            "counters and latency percentiles of the engine requests",
        ),
        Request(
            "/arvae/models/list",
            (),
            "/arvae/models/begin rid n, n x /arvae/models/item rid idx id:s n_attrs:i grid:s meters:s, "
            "/arvae/models/end rid n",
            "the models the daemon can serve (loaded or loadable), each with its grid and the meters it serves",
        ),
        Request(
            "/arvae/model/load",
            (Param("id", "s"),),
            "/arvae/model/load rid id:s grid:s once the model is ready",
            "make a model current for its grid (loads it first if needed) and this client's choice: its clips of "
            "other meters are then refused; id `auto`: back to the model serving each clip's meter",
            engine=True,
        ),
        Request(
            "/arvae/attrs/list",
            (),
            "/arvae/attrs/begin rid n model:s grid:s, n x /arvae/attrs/item rid idx name:s raw_min:f raw_max:f, "
            "/arvae/attrs/end rid n",
            "the attributes of this client's model (or the named one, or the one serving a meter given as "
            "`num/den`, e.g. `3/4`) and their raw ranges",
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
            "none (errors only: `unsupported` for a meter no loaded model serves)",
            "start (or restart) an upload to a slot; num/den: the clip's meter (absent: 4/4)",
            optional=_METER,
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
            coalesce=("slot",),
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
            f"warnings, {_STREAM} /arvae/regen rid n_variations:i latency_ms:f key:s",
            "regenerate measures start_bar.. (n_bars 0: to the clip end) of an uploaded clip with attribute targets",
            targets=True,
            engine=True,
            coalesce=("slot",),
        ),
        Request(
            "/arvae/sample",
            (_VARIATIONS, _TEMPERATURE, _SEED, Param("n_bars", "i", 1, MAX_BARS, too_large=True)),
            f"{_STREAM} /arvae/sample rid n_variations:i latency_ms:f",
            "new measures from the prior with attribute targets, in meter num/den (absent: this client's model's, "
            "else 4/4)",
            optional=_METER,
            targets=True,
            engine=True,
            coalesce=(),
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
            coalesce=(),
        ),
        Request(
            "/arvae/resend",
            (Param("target_rid", "i", 1, RID_MAX), Param("v", "i", 0, MAX_VARIATIONS - 1)),
            "variation v's result stream again (carrying target_rid as rid), then /arvae/resend rid target_rid:i v:i",
            f"re-send one variation of one of this client's last {RESULTS_KEPT} results (kept {RESULT_KEEP_SEC:g} s)",
        ),
        Request(
            "/arvae/scale",
            (Param("mode", "s"),),
            "/arvae/scale rid mode:s mask:i",
            "which pitches this client's regen/sample keep to: auto (the clip's key, the default), off (any), "
            "set (mask: bit k = pitch class k, 0 = C; e.g. Live's scale)",
            optional=(Param("mask", "i", 1, 4095),),
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
    if req.targets:  # optional numbers end where the targets' names (strings) begin
        n_opt = next((i for i, x in enumerate(extra[:n_opt]) if isinstance(x, str)), n_opt)
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


def meter_of(values: dict[str, int | float | str]) -> tuple[int, int] | None:
    """The meter (num, den) of a request's optional num/den arguments; None when both are absent.

    Raises:
        ProtocolError: bad_args when only one is given or den is not a power of two (the ranges are checked already).
    """
    num, den = values.get("num"), values.get("den")
    if num is None and den is None:
        return None
    if num is None or den is None:
        raise ProtocolError("bad_args", "a meter needs both num and den (e.g. 3 4 for 3/4)")
    den = int(den)
    if den & (den - 1):
        raise ProtocolError("bad_args", f"meter {num}/{den}: den must be a power of two (1, 2, 4, 8, ...)")
    return int(num), den


def coalesce_key(req: ParsedRequest, client: object) -> tuple | None:
    """The coalescing key of a parsed engine request from `client` (see Request.coalesce); None: never replaced."""
    names = REQUESTS[req.address].coalesce
    if names is None:
        return None
    return (client, req.address, *(req.values[n] for n in names))


def markdown_table() -> str:
    """The tables of docs/protocol.md, generated from REQUESTS (print them: `python -m arvae_live.protocol`)."""
    lines = ["| address | arguments | reply | what it does |", "|---|---|---|---|"]
    for r in REQUESTS.values():
        lines.append(f"| `{r.address}` | `{r.signature()}` | {r.reply} | {r.doc} |")
    lines += ["", "| streamed or unsolicited | arguments |", "|---|---|"]
    lines += [f"| `{address}` | `{args}` |" for address, args in STREAM_MESSAGES]
    lines += ["", "| error code | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in ERROR_CODES.items()]
    lines += ["", "| limit (arvae_live/protocol.py) | value | what it bounds |", "|---|---|---|"]
    lines += [f"| `{name}` | {_fmt(value)} | {doc} |" for name, value, doc in LIMITS]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())  # noqa: T201 - the generator of the docs table
