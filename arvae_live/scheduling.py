"""Sharing the daemon between clients: the engine queue served round robin, and paced sending of result streams.

`FairQueue` holds the engine jobs per client: at most MAX_QUEUE_PER_CLIENT queued per client and MAX_QUEUE in all
(more are refused `busy`), and the engine takes one job from each client in turn, so a client that floods the queue
waits for its own jobs, not another's. A newer job with the same coalescing key (protocol.py: client, address and
e.g. slot) replaces the queued older one at once, which frees its place. A request already running is not
interrupted, so while the engine thread works, a second one takes small jobs (at the head of their client's queue).

`Pacer` sends datagrams to one destination back to back up to PACE_BURST, then at PACE_PER_MS per millisecond (a
token bucket per destination), so that a receiver with a 2,048-message queue (Max's udpreceive) is not overrun by one
burst. A burst that fits is sent at once on the caller's thread (an 8-bar result is a few dozen datagrams: no
hand-over, no added latency); the rest waits on the pacer's thread, so the engine never sleeps for it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arvae_live.protocol import (
    MAX_QUEUE,
    MAX_QUEUE_PER_CLIENT,
    PACE_BURST,
    PACE_MAX_BACKLOG,
    PACE_PER_MS,
    ProtocolError,
)

if TYPE_CHECKING:
    from arvae_live.engine import LiveModel

log = logging.getLogger(__name__)

# Work of at most this many bars x variations is "small": while the engine thread runs a request, a second engine
# thread (with its own copy of the current model) runs small ones, so an 8-bar regen does not wait for another
# client's 16 x 64-bar one.
SMALL_JOB_BAR_VARIATIONS = 64
# pick(model_id): the engine thread's own copy of a held model (each thread has its own: a LiveModel serves one caller).
Pick = Callable[[str], "LiveModel"]
Work = Callable[[Pick], None]  # a job's work: runs on an engine thread, picking the model it needs


@dataclass
class Job:
    """A request for an engine thread.

    Attributes:
        client: the client it came from (its client_state.ClientState; anything hashable), the unit of fairness.
        rid: its request id.
        address: its OSC address.
        run: the work; runs on an engine thread, given that thread's `pick` (its copy of a held model, by id).
        received: time.perf_counter() when its datagram arrived.
        coalesce_key: a newer queued job with the same key replaces this one (protocol.coalesce_key); None: never.
        small: the second engine thread may run it (see SMALL_JOB_BAR_VARIATIONS).
    """

    client: object
    rid: int
    address: str
    run: Work
    received: float
    coalesce_key: tuple | None = None
    small: bool = False


class FairQueue:
    """Engine jobs per client, served round robin. Thread-safe.

    Args:
        max_total: jobs queued in all.
        max_per_client: jobs queued per client.
    """

    def __init__(self, max_total: int = MAX_QUEUE, max_per_client: int = MAX_QUEUE_PER_CLIENT) -> None:
        self.max_total = max_total
        self.max_per_client = max_per_client
        self._jobs: OrderedDict[object, deque[Job]] = OrderedDict()  # client -> its queued jobs; next client first
        self._total = 0
        self._running = 0  # jobs taken by get() and not yet task_done()
        self._closed = False
        # One lock, two wake-up lists: the engine thread waits on _cond, the second engine thread on _small. A wake-up
        # that finds nothing to do still costs the running thread the GIL for a moment: waking both threads for every
        # job put 1 ms on a quiet daemon's p50 round trip, so each is woken only when there is work it may take.
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        self._small = threading.Condition(lock)

    def put(self, job: Job) -> Job | None:
        """Queue a job; returns the queued job it replaced (same coalescing key), if any.

        Raises:
            ProtocolError: busy, when the client's share or the whole queue is full.
        """
        with self._cond:
            mine = self._jobs.get(job.client)
            replaced = None
            if mine is not None and job.coalesce_key is not None:
                replaced = next((j for j in mine if j.coalesce_key == job.coalesce_key), None)
                if replaced is not None:
                    mine.remove(replaced)
                    self._total -= 1
            if mine is not None and len(mine) >= self.max_per_client:
                self._restore(mine, replaced)
                raise ProtocolError("busy", f"{self.max_per_client} requests of this client already queued; try again")
            if self._total >= self.max_total:
                self._restore(mine, replaced)
                raise ProtocolError("busy", f"{self.max_total} requests already queued; try again")
            if mine is None:
                mine = self._jobs[job.client] = deque()
            mine.append(job)
            self._total += 1
            self._cond.notify()
            if self._running and job.small:  # the engine thread is busy: the second may take it
                self._small.notify()
            return replaced

    def _restore(self, mine: deque[Job] | None, replaced: Job | None) -> None:
        if replaced is not None:  # refused: the older job stays (at the back; it is the client's latest anyway)
            mine.append(replaced)
            self._total += 1

    def cancel(self, client: object, rid: int) -> Job | None:
        """Take a queued job of this client out of the queue; None when there is none (finished, running, unknown)."""
        with self._cond:
            mine = self._jobs.get(client)
            job = next((j for j in mine if j.rid == rid), None) if mine else None
            if job is not None:
                mine.remove(job)
                self._total -= 1
                if not mine:
                    del self._jobs[client]
            return job

    def get(self, small_only: bool = False) -> Job | None:
        """The next job, round robin over clients; blocks until there is one; None once closed.

        Args:
            small_only: for the second engine thread: only a small job at the head of a client's queue, and only
                while another job is running (when the engine thread is free, it takes everything).
        """
        with self._cond:
            waiter = self._small if small_only else self._cond
            while (client := self._next_client(small_only)) is None:
                if self._closed:
                    return None
                waiter.wait()
            if self._closed:
                return None
            mine = self._jobs.pop(client)
            job = mine.popleft()
            self._total -= 1
            self._running += 1
            if mine:
                self._jobs[client] = mine  # to the back of the round
            if self._next_client(small_only=True) is not None:  # a small job waits behind this one
                self._small.notify()
            return job

    def _next_client(self, small_only: bool) -> object | None:
        if not small_only:
            return next(iter(self._jobs), None)
        if not self._running:
            return None
        return next((client for client, mine in self._jobs.items() if mine[0].small), None)

    def task_done(self) -> None:
        """The job from the last get() has finished."""
        with self._cond:
            self._running -= 1

    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        with self._cond:
            return not self._total and not self._running

    def close(self) -> None:
        """Wake the engine thread and make every later get() return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            self._small.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return self._total


class _Bucket:
    """One destination's sending allowance (PACE_BURST tokens, refilled at PACE_PER_MS per ms) and backlog."""

    def __init__(self, now: float) -> None:
        self.tokens = float(PACE_BURST)
        self.updated = now
        self.backlog: deque[bytes] = deque()

    def refill(self, now: float) -> None:
        self.tokens = min(float(PACE_BURST), self.tokens + (now - self.updated) * 1e3 * PACE_PER_MS)
        self.updated = now


class Pacer:
    """Paced datagram sending per destination (see the module docstring). `start()` runs its thread.

    Args:
        sock: the socket to send from.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="arvae-pacer", daemon=True)

    def start(self) -> Pacer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def send(self, dest: tuple[str, int], datagrams: list[bytes]) -> bool:
        """Send datagrams to dest in order: what the allowance covers now, the rest from the pacer's thread.

        Sending happens under the lock, here and on the pacer's thread, so a destination's datagrams never overtake
        one another. A reply that would leave more than PACE_MAX_BACKLOG datagrams waiting for dest is not sent at
        all (False): a receiver that asks faster than it can be answered loses replies, not the daemon's memory.
        """
        with self._cond:
            now = time.monotonic()
            bucket = self._buckets.get(dest)
            if bucket is None:
                bucket = self._buckets[dest] = _Bucket(now)
            bucket.refill(now)
            if len(bucket.backlog) + len(datagrams) > PACE_MAX_BACKLOG + PACE_BURST:
                return False
            if bucket.backlog:  # behind what is already waiting
                bucket.backlog.extend(datagrams)
                return True
            n_now = min(len(datagrams), int(bucket.tokens))
            bucket.tokens -= n_now
            self._send_now(dest, datagrams if n_now == len(datagrams) else datagrams[:n_now])
            if n_now < len(datagrams):
                bucket.backlog.extend(datagrams[n_now:])
                self._cond.notify()
            return True

    def pending(self) -> int:
        """Datagrams waiting to be sent."""
        with self._cond:
            return sum(len(b.backlog) for b in self._buckets.values())

    def _send_now(self, dest: tuple[str, int], datagrams: list[bytes]) -> None:
        sendto = self._sock.sendto
        try:
            for data in datagrams:
                sendto(data, dest)
        except OSError as err:  # e.g. nobody listening (ICMP refused) or the socket closed during shutdown
            log.debug("reply to %s:%d failed: %s", *dest, err)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not any(b.backlog for b in self._buckets.values()):
                    self._forget_idle(time.monotonic())
                    self._cond.wait(1.0)
                if self._stop:
                    return
                now = time.monotonic()
                for dest, bucket in self._buckets.items():  # a share for every waiting destination per turn
                    bucket.refill(now)
                    n = min(len(bucket.backlog), int(bucket.tokens))
                    if n:
                        bucket.tokens -= n
                        self._send_now(dest, [bucket.backlog.popleft() for _ in range(n)])
            time.sleep(0.0005)  # outside the lock: senders and the engine get in between

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets with no backlog and a full allowance: a new bucket would be the same."""
        for dest, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if not bucket.backlog and bucket.tokens >= PACE_BURST:
                del self._buckets[dest]
