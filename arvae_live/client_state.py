"""What the daemon keeps per client, and the table of clients.

A client is the IP and source port of its datagrams (two Max `udpsend` objects are two clients; liblo's `oscsend`,
which sends each call from a new port, is a new client each call). Per client the daemon holds:
- its registration: the reply port from /arvae/hello, the nonce sent there, and whether the client has echoed it with
  /arvae/verify (it then gets full replies; before, the bytes sent to it are bounded by
  UNVERIFIED_REPLY_FACTOR x the bytes it has sent, a running credit);
- its uploads (partial, by slot) and finished clips (by slot): at most MAX_SLOTS of each, so a client can only ever
  replace its own;
- its last RESULTS_KEPT completed result streams, for /arvae/resend.

The table holds at most MAX_CLIENTS clients. Any datagram refreshes its client. A client silent for
REGISTRATION_TTL_SEC is dropped with everything it held. When the table is full, a newcomer takes the place of the
least recently seen client that never verified (a flood from many source ports only displaces other unverified
clients); when every client held is verified and active, the newcomer is refused (`busy`), never another's state.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from arvae_live.core.meters import SIMPLE, Grid
from arvae_live.core.representation import Adjustment, Note, Vocabulary, n_measures_for, notes_to_tokens
from arvae_live.protocol import (
    MAX_CLIENTS,
    REGISTRATION_TTL_SEC,
    RESULT_KEEP_SEC,
    RESULTS_KEPT,
    RID_MAX,
    UNVERIFIED_REPLY_FACTOR,
    UPLOAD_TTL_SEC,
    ProtocolError,
)

Client = tuple[str, int]  # (IP, source port) of a datagram: the identity of a client
_UPLOAD_OWNER = "uploads belong to the sending client (IP and source port): send begin, notes and end from one socket"


@dataclass
class Upload:
    """A clip being uploaded: notes by idx until /clip/end."""

    n_notes: int
    length_beats: float
    meter: str = "4/4"
    grid: Grid = SIMPLE
    notes: dict[int, Note] = field(default_factory=dict)
    touched: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Clip:
    """A finished upload: the notes and the clip length (quarter notes), its meter ("3/4") and the grid serving it."""

    notes: tuple[Note, ...]
    length_beats: float
    meter: str = "4/4"
    grid: Grid = SIMPLE
    _tokens: dict = field(default_factory=dict, compare=False, repr=False)  # Vocabulary -> (tokens, adjustments)

    @property
    def n_measures(self) -> int:
        """Measures of the clip's grid (a 6/8 or 2/4 measure is two bars), at least 1."""
        return max(1, n_measures_for(self.length_beats, self.grid))

    def tokens(self, vocab: Vocabulary) -> tuple[np.ndarray, list[Adjustment]]:
        """The clip on its grid as (n_measures, grid.ticks) tokens of vocab, and the changes made to fit it
        (computed once per vocabulary)."""
        hit = self._tokens.get(vocab)
        if hit is None:
            hit = self._tokens[vocab] = notes_to_tokens(self.notes, self.n_measures, vocab, self.grid)
        return hit


@dataclass
class KeptResult:
    """A completed result: per variation, the datagrams of its stream (/result/begin .. /result/end), as sent."""

    streams: list[list[bytes]]
    kept_at: float = field(default_factory=time.monotonic)


class ClientState:
    """One client's registration, reply credit, uploads, clips and kept results.

    Uploads and clips are touched by the receiving thread only; the credit and the kept results also by the engine
    thread (under `_lock`).

    Args:
        client: (IP, source port).
        upload_ttl_sec: a partial upload is dropped this long after its last message.
        admitted: False for a client the full table could not take: its requests are answered `busy`.
    """

    def __init__(self, client: Client, upload_ttl_sec: float = UPLOAD_TTL_SEC, admitted: bool = True) -> None:
        self.client = client
        self.admitted = admitted
        self.upload_ttl_sec = upload_ttl_sec
        self.reply_port: int | None = None  # None: the daemon's default reply port
        self.nonce = 0  # 0: no registration yet
        self.verified = False
        # /arvae/scale: "auto" (each clip's key), "off" (any pitch) or "set" with a 12-bit pitch-class mask; None:
        # the daemon's default (serve --scale).
        self.scale: tuple[str, int] | None = None
        # /arvae/model/load: the model this client chose (its clips of other grids are refused); None: the model
        # serving each clip's meter.
        self.model_id: str | None = None
        self.last_seen = time.monotonic()
        self.received_bytes = 0
        self.sent_bytes = 0
        self.uploads: dict[int, Upload] = {}
        self.clips: dict[int, Clip] = {}
        self._results: OrderedDict[int, KeptResult] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{self.client[0]}:{self.client[1]}"

    # ---- registration and credit ----

    def register(self, reply_port: int) -> int:
        """Register a reply port (/arvae/hello); returns the new nonce. The client is unverified until it echoes it."""
        with self._lock:
            self.reply_port = reply_port
            self.nonce = 1 + secrets.randbelow(RID_MAX)  # a positive int32
            self.verified = False
            return self.nonce

    def verify(self, nonce: int) -> None:
        """/arvae/verify: the nonce of the last hello proves the client reads its reply port.

        Raises:
            ProtocolError: unverified, when there is no registration or the nonce differs.
        """
        with self._lock:
            if not self.nonce:
                raise ProtocolError("unverified", "no registration to verify: send /arvae/hello first")
            if nonce != self.nonce:
                raise ProtocolError("unverified", "the nonce differs from the last /arvae/hello's; echo that one")
            self.verified = True

    def credit_in(self, n_bytes: int) -> None:
        """Count a datagram of n_bytes from this client."""
        with self._lock:
            self.received_bytes += n_bytes
            self.last_seen = time.monotonic()

    def credit(self) -> int | None:
        """Bytes that may still be sent to this client; None when verified (no bound)."""
        with self._lock:
            if self.verified:
                return None
            return UNVERIFIED_REPLY_FACTOR * self.received_bytes - self.sent_bytes

    def spend(self, n_bytes: int) -> bool:
        """Take n_bytes of credit for a reply; False (nothing taken) when an unverified client lacks it."""
        with self._lock:
            if not self.verified and self.sent_bytes + n_bytes > UNVERIFIED_REPLY_FACTOR * self.received_bytes:
                return False
            self.sent_bytes += n_bytes
            return True

    # ---- uploads and clips ----

    def _expire_uploads(self, now: float) -> None:
        for slot in [s for s, u in self.uploads.items() if now - u.touched > self.upload_ttl_sec]:
            del self.uploads[slot]

    def begin_upload(
        self, slot: int, n_notes: int, length_beats: float, meter: str = "4/4", grid: Grid = SIMPLE
    ) -> None:
        """Start an upload of n_notes notes, length_beats quarter notes long, in meter (served by grid)."""
        now = time.monotonic()
        self._expire_uploads(now)
        self.uploads[slot] = Upload(n_notes, length_beats, meter, grid, touched=now)

    def upload_note(self, slot: int, idx: int, note: Note) -> None:
        now = time.monotonic()
        self._expire_uploads(now)
        up = self.uploads.get(slot)
        if up is None:
            raise ProtocolError("no_clip", f"no upload in progress for slot {slot} from {self}; {_UPLOAD_OWNER}")
        if idx >= up.n_notes:
            raise ProtocolError("bad_args", f"idx {idx} out of range 0..{up.n_notes - 1} announced by begin")
        up.notes[idx] = note  # a re-sent idx overwrites
        up.touched = now

    def end_upload(self, slot: int, n_notes: int) -> int:
        """Finish an upload, keeping the clip in its slot; returns the number of notes received."""
        self._expire_uploads(time.monotonic())
        up = self.uploads.get(slot)
        if up is None:
            raise ProtocolError(
                "no_clip", f"no upload in progress for slot {slot} from {self} (it may have expired); {_UPLOAD_OWNER}"
            )
        if n_notes != up.n_notes:
            raise ProtocolError("bad_args", f"n_notes {n_notes} differs from the {up.n_notes} begin announced")
        missing = [i for i in range(up.n_notes) if i not in up.notes]
        if missing:
            shown = ",".join(map(str, missing[:20])) + (",..." if len(missing) > 20 else "")
            raise ProtocolError("clip_incomplete", f"missing {len(missing)} note(s): idx {shown}")
        del self.uploads[slot]
        self.clips[slot] = Clip(tuple(up.notes[i] for i in range(up.n_notes)), up.length_beats, up.meter, up.grid)
        return up.n_notes

    def clip(self, slot: int) -> Clip:
        clip = self.clips.get(slot)
        if clip is None:
            raise ProtocolError("no_clip", f"no clip uploaded to slot {slot} by {self}")
        return clip

    # ---- kept results ----

    def keep_result(self, rid: int, streams: list[list[bytes]]) -> None:
        """Keep a completed result's streams for /arvae/resend (the last RESULTS_KEPT, each RESULT_KEEP_SEC)."""
        with self._lock:
            self._results[rid] = KeptResult(streams)
            self._results.move_to_end(rid)
            while len(self._results) > RESULTS_KEPT:
                self._results.popitem(last=False)

    def kept_stream(self, rid: int, variation: int) -> list[bytes]:
        """The datagrams of variation `variation` of the kept result `rid`.

        Raises:
            ProtocolError: no_result, when the result is unknown, gone, or has no such variation.
        """
        with self._lock:
            kept = self._results.get(rid)
            if kept is None or time.monotonic() - kept.kept_at > RESULT_KEEP_SEC:
                self._results.pop(rid, None)
                raise ProtocolError(
                    "no_result",
                    f"no result {rid} from {self} (the last {RESULTS_KEPT} are kept {RESULT_KEEP_SEC:g} s)",
                )
            if variation >= len(kept.streams):
                raise ProtocolError("no_result", f"result {rid} has {len(kept.streams)} variation(s), not {variation}")
            return kept.streams[variation]

    def n_results(self) -> int:
        with self._lock:
            return len(self._results)


class ClientTable:
    """The clients the daemon holds, at most MAX_CLIENTS, least recently seen first. Used by the receiving thread.

    Args:
        max_clients: how many clients are held.
        ttl_sec: a client silent this long is dropped with its registration, uploads, clips and results.
        upload_ttl_sec: for the ClientStates made here.
    """

    def __init__(
        self,
        max_clients: int = MAX_CLIENTS,
        ttl_sec: float = REGISTRATION_TTL_SEC,
        upload_ttl_sec: float = UPLOAD_TTL_SEC,
    ) -> None:
        self.max_clients = max_clients
        self.ttl_sec = ttl_sec
        self.upload_ttl_sec = upload_ttl_sec
        self._clients: OrderedDict[Client, ClientState] = OrderedDict()
        self._lock = threading.Lock()
        self.refused = 0  # newcomers turned away because every client held was verified and active

    def touch(self, client: Client, n_bytes: int) -> ClientState:
        """The state of the client a datagram of n_bytes came from, made if new, refreshed and credited.

        A newcomer the full table cannot take gets a state of its own that is not held (admitted False).
        """
        with self._lock:
            state = self._clients.get(client)
            if state is not None and time.monotonic() - state.last_seen > self.ttl_sec:
                del self._clients[client]  # back after its state expired: a new client
                state = None
            if state is not None:
                self._clients.move_to_end(client)
            else:
                state = self._admit(client)
        state.credit_in(n_bytes)
        return state

    def _admit(self, client: Client) -> ClientState:
        now = time.monotonic()
        for key in [k for k, s in self._clients.items() if now - s.last_seen > self.ttl_sec]:
            del self._clients[key]  # expired: silent for ttl_sec
        if len(self._clients) >= self.max_clients:
            unverified = next((k for k, s in self._clients.items() if not s.verified), None)
            if unverified is None:
                self.refused += 1
                return ClientState(client, self.upload_ttl_sec, admitted=False)
            del self._clients[unverified]  # the least recently seen client that never verified
        state = self._clients[client] = ClientState(client, self.upload_ttl_sec)
        return state

    def get(self, client: Client) -> ClientState | None:
        with self._lock:
            return self._clients.get(client)

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)

    def sizes(self) -> tuple[int, int]:
        """(partial uploads, finished clips) held over all clients, for status and memory tests."""
        with self._lock:
            states = list(self._clients.values())
        return sum(len(s.uploads) for s in states), sum(len(s.clips) for s in states)
