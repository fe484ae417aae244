"""OSC 1.0 on the wire, for the protocol's three argument types (i, f, s): encoding replies, and a strict parser of
incoming datagrams that cannot loop.

The parser replaces python-osc's for incoming datagrams. python-osc trusts a bundle element's size: a size of -4
sent it into an endless loop (issue #12), and 0 or a size past the end are the same family. Here every element size
is checked (> 0, a multiple of 4, inside its bundle) before it is used, so each step moves forward; nesting,
messages per datagram and arguments per message are capped (protocol.py's MAX_* limits); and type tags other than
i, f and s are found before any argument is read. A datagram whose structure is wrong is refused whole
(`MalformedDatagram`); a message whose structure is fine but whose arguments cannot be used (an unsupported tag, too
many arguments) comes back with a `problem`, so the daemon can answer it `bad_args` naming the tag.

The encoder is a small one for the only three types sent: python-osc's builder costs tens of microseconds per
message, and a result stream is dozens of messages.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from numbers import Integral, Real

from arvae_live.protocol import MAX_ARGS_IN, MAX_ARGS_OUT, MAX_BUNDLE_DEPTH, MAX_DATAGRAM_OUT_BYTES, MAX_MESSAGES_IN

_INT32 = struct.Struct(">i")
_FLOAT32 = struct.Struct(">f")
_BUNDLE = b"#bundle\0"
_BUNDLE_HEADER = 16  # "#bundle\0" and an 8-byte time tag


# ---- encoding ---------------------------------------------------------------------------------------------------


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


# ---- parsing ----------------------------------------------------------------------------------------------------


class MalformedDatagram(ValueError):
    """A datagram that is not OSC 1.0 as this daemon reads it (the message says where it breaks); it has no rid."""


@dataclass(frozen=True)
class IncomingMessage:
    """One message of a datagram.

    Attributes:
        address: the OSC address (starts with '/').
        args: the arguments (int, float, str); when `problem` is set, only those before the problem (for the rid).
        problem: why the arguments cannot be used (an unsupported type tag, too many arguments), or None.
    """

    address: str
    args: tuple[int | float | str, ...]
    problem: str | None = None


def _string_end(data: bytes, pos: int, end: int, what: str) -> tuple[str, int]:
    """The NUL-terminated UTF-8 string at pos and the 4-aligned position after it."""
    nul = data.find(b"\0", pos, end)
    if nul < 0:
        raise MalformedDatagram(f"{what} at byte {pos} is not terminated")
    try:
        text = data[pos:nul].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedDatagram(f"{what} at byte {pos} is not UTF-8") from None
    return text, pos + ((nul - pos) // 4 + 1) * 4


def _read_args(data: bytes, pos: int, end: int, tags: str) -> list[int | float | str]:
    args: list[int | float | str] = []
    for t in tags:
        if t == "s":
            text, pos = _string_end(data, pos, end, "a string argument")
            args.append(text)
            continue
        if pos + 4 > end:
            raise MalformedDatagram(f"argument {len(args)} ({t}) runs past the message end")
        args.append((_INT32 if t == "i" else _FLOAT32).unpack_from(data, pos)[0])
        pos += 4
    if pos != end:
        raise MalformedDatagram(f"{end - pos} bytes after the last argument")
    return args


def parse_message(data: bytes, start: int = 0, end: int | None = None, max_args: int = MAX_ARGS_IN) -> IncomingMessage:
    """One OSC message from data[start:end] (the whole datagram by default).

    Raises:
        MalformedDatagram: the address or type tags are not terminated, not UTF-8/ASCII, or the arguments do not fill
            the message exactly.
    """
    end = len(data) if end is None else end
    address, pos = _string_end(data, start, end, "the address")
    if not address.startswith("/"):
        raise MalformedDatagram(f"neither an OSC message nor a bundle (address {address[:40]!r})")
    if pos >= end:  # OSC 1.0 allows a message without a type tag string: no arguments
        return IncomingMessage(address, ())
    if data[pos] != ord(","):
        raise MalformedDatagram("the type tag string does not start with ','")
    nul = data.find(b"\0", pos, end)  # the tags are read as bytes first: a 65k-tag list costs one find
    if nul < 0:
        raise MalformedDatagram("the type tag string is not terminated")
    tag_bytes = data[pos + 1 : nul]
    pos += ((nul - pos) // 4 + 1) * 4
    problem = None
    if len(tag_bytes) > max_args:  # checked first: a 65k-tag list is refused without looking at each tag
        problem = f"{len(tag_bytes)} arguments, more than {max_args}"
    elif tag_bytes.strip(b"ifs"):
        bad = next(k for k, b in enumerate(tag_bytes) if b not in b"ifs")
        tag = chr(tag_bytes[bad]) if tag_bytes[bad] < 128 else f"\\x{tag_bytes[bad]:02x}"
        problem = f"argument {bad} has type tag {tag!r}; this daemon takes only i, f and s"
    if problem:
        rid = _read_args(data, pos, pos + 4, "i") if tag_bytes[:1] == b"i" and pos + 4 <= end else []
        return IncomingMessage(address, tuple(rid), problem)
    return IncomingMessage(address, tuple(_read_args(data, pos, end, tag_bytes.decode("ascii"))))


def _parse_element(data: bytes, start: int, end: int, depth: int, out: list[IncomingMessage]) -> None:
    """Append the messages of the message or bundle data[start:end] to out, in arrival order."""
    if data[start : start + len(_BUNDLE)] != _BUNDLE:
        if len(out) >= MAX_MESSAGES_IN:
            raise MalformedDatagram(f"more than {MAX_MESSAGES_IN} messages in one datagram")
        out.append(parse_message(data, start, end))
        return
    if depth >= MAX_BUNDLE_DEPTH:
        raise MalformedDatagram(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    pos = start + _BUNDLE_HEADER
    if pos > end:
        raise MalformedDatagram("a bundle shorter than its header")
    while pos < end:  # each turn moves pos forward by at least 8 bytes
        if pos + 4 > end:
            raise MalformedDatagram(f"a bundle element size cut off at byte {pos}")
        size = _INT32.unpack_from(data, pos)[0]
        pos += 4
        if size <= 0 or size % 4 or pos + size > end:
            raise MalformedDatagram(f"bundle element size {size} at byte {pos - 4} (must be > 0, x4, inside)")
        _parse_element(data, pos, pos + size, depth + 1, out)
        pos += size


def parse_datagram(data: bytes) -> list[IncomingMessage]:
    """The messages of one datagram (a message, or a bundle of them, nested or not) in arrival order.

    Time tags are ignored: the daemon handles a bundle's messages at once, in the order they appear.

    Raises:
        MalformedDatagram: anything not OSC 1.0, a bundle element size that is <= 0, not a multiple of 4 or past its
            bundle, bundles nested deeper than MAX_BUNDLE_DEPTH, more than MAX_MESSAGES_IN messages.
    """
    if not data or len(data) % 4:
        raise MalformedDatagram(f"{len(data)} bytes is not a positive multiple of 4")
    out: list[IncomingMessage] = []
    _parse_element(data, 0, len(data), 0, out)
    return out


def decode_message(data: bytes) -> tuple[str, list[int | float | str]]:
    """Decode an OSC message of i, f and s arguments only (what the daemon sends); the inverse of encode_message.

    Raises:
        ValueError: not such a message (a bundle, another type tag, truncated).
    """
    msg = parse_message(data, max_args=MAX_ARGS_OUT)
    if msg.problem:
        raise ValueError(msg.problem)
    return msg.address, list(msg.args)
