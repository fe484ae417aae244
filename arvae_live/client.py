"""A small synchronous OSC client for the daemon: tests, `arvae-live bench`, and scripts.

It listens on its own UDP port (127.0.0.1, any free port), registers that port with /arvae/hello and echoes the
nonce that comes back with /arvae/verify (so the daemon sends it full replies: docs/protocol.md), and collects the
messages of one request by rid until the request's final reply or an /arvae/error. A variation lost on the way can be
asked for again with `resend`.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from arvae_live.core.representation import Note
from arvae_live.osc_wire import decode_message, encode_message
from arvae_live.protocol import PROTOCOL_VERSION


@dataclass(frozen=True)
class Reply:
    """One message received: address and arguments."""

    address: str
    args: tuple

    @property
    def rid(self) -> int | None:
        return self.args[0] if self.args and isinstance(self.args[0], int) else None


class DaemonError(Exception):
    """The daemon answered /arvae/error: code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DaemonClient:
    """Talk to `arvae-live serve` on host:port; replies come to this client's own port (registered by hello).

    Args:
        port: the daemon's request port.
        host: the daemon's address.
        timeout_sec: how long to wait for a reply before TimeoutError.
        hello: register this client's reply port with /arvae/hello and verify it with /arvae/verify at once.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_sec: float = 5.0, hello: bool = True) -> None:
        self.addr = (host, port)
        self.timeout_sec = timeout_sec
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.reply_port = self.sock.getsockname()[1]
        self._rids = itertools.count(1)
        self._early: list[Reply] = []  # messages of other rids that arrived while waiting
        self.nonce = 0
        if hello:
            self.hello()

    def hello(self) -> int:
        """Register this client's reply port and verify it (hello, then verify with its nonce); returns the nonce."""
        self.nonce = self.request("/arvae/hello", "arvae-client", self.reply_port, PROTOCOL_VERSION)[0].args[4]
        self.request("/arvae/verify", self.nonce)
        return self.nonce

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def next_rid(self) -> int:
        return next(self._rids)

    def send(self, address: str, *args: int | float | str) -> None:
        """Send one message from this client's socket (so replies registered by hello come back here)."""
        self.sock.sendto(encode_message(address, *args), self.addr)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.addr)

    def receive(self, timeout_sec: float | None = None) -> Reply:
        """The next message, parsed; TimeoutError when none comes in time."""
        self.sock.settimeout(self.timeout_sec if timeout_sec is None else timeout_sec)
        try:
            data, _ = self.sock.recvfrom(65535)
        except TimeoutError:
            raise TimeoutError("no reply from the daemon") from None
        address, args = decode_message(data)
        return Reply(address, tuple(args))

    def collect(self, rid: int, final: str) -> list[Reply]:
        """Messages for rid until the one on address `final` (included); DaemonError on /arvae/error for rid."""
        out = []
        pending, self._early = [m for m in self._early if m.rid == rid], [m for m in self._early if m.rid != rid]
        deadline = time.monotonic() + self.timeout_sec
        while True:
            msg = pending.pop(0) if pending else self.receive(max(0.001, deadline - time.monotonic()))
            if msg.rid != rid:
                self._early.append(msg)
                continue
            if msg.address == "/arvae/error":
                raise DaemonError(msg.args[1], msg.args[2])
            out.append(msg)
            if msg.address == final:
                return out

    def request(self, address: str, *args: int | float | str, final: str | None = None) -> list[Reply]:
        """Send a request with a fresh rid and collect its replies up to `final` (default: the same address)."""
        rid = self.next_rid()
        self.send(address, rid, *args)
        return self.collect(rid, final or address)

    def resend(self, target_rid: int, variation: int) -> list[Reply]:
        """/arvae/resend: variation `variation` of the completed request target_rid again; returns its stream
        (carrying target_rid), without the closing /arvae/resend. DaemonError no_result when the daemon has it no more.
        """
        rid = self.next_rid()
        self.send("/arvae/resend", rid, target_rid, variation)
        self.collect(rid, "/arvae/resend")  # the stream came first, carrying target_rid: it waits in _early
        mine = [m.rid == target_rid and m.args[1:2] == (variation,) for m in self._early]
        stream = [m for m, keep in zip(self._early, mine) if keep]
        self._early = [m for m, keep in zip(self._early, mine) if not keep]
        return stream

    def upload(
        self, notes: Sequence[Note], length_beats: float, slot: int = 0, meter: tuple[int, int] | None = None
    ) -> int:
        """Upload a clip (times in quarter notes) to a slot, in meter (num, den) (None: sent without one, i.e. 4/4);
        returns n_received from /arvae/clip/end. The begin goes with rid 0: when it is refused (an `unsupported`
        meter), /clip/end fails with DaemonError no_clip; send the begin with `request` to read why."""
        self.send("/arvae/clip/begin", 0, slot, len(notes), float(length_beats), *(meter or ()))
        for idx, n in enumerate(notes):
            self.send("/arvae/clip/note", 0, slot, idx, n.pitch, n.start_beats, n.dur_beats, n.velocity)
        return self.request("/arvae/clip/end", slot, len(notes))[-1].args[2]

    def regen(
        self,
        slot: int = 0,
        targets: dict[str, float] | None = None,
        variations: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        start_bar: int = 0,
        n_bars: int = 0,
    ) -> list[Reply]:
        """/arvae/regen; returns every message of the reply (warnings, result streams, the final /arvae/regen)."""
        pairs: list[int | float | str] = []
        for name, value in (targets or {}).items():
            pairs += [name, float(value)]
        return self.request(
            "/arvae/regen", slot, variations, float(temperature), seed, start_bar, n_bars, *pairs, final="/arvae/regen"
        )


def result_notes(replies: Sequence[Reply], variation: int = 0) -> list[Note]:
    """The notes of one variation from a result stream, in idx order."""
    notes = [r.args for r in replies if r.address == "/arvae/result/note" and r.args[1] == variation]
    return [Note(a[3], a[4], a[5], a[6]) for a in sorted(notes, key=lambda a: a[2])]
