"""The daemon: sockets, the receiving thread, the single engine thread, the models held, counters, shutdown.

Threads:
- the receiving thread reads datagrams from the request socket and hands them to `OscBridge.handle_datagram`, which
  answers cheap requests at once and queues the rest (round robin over clients: scheduling.FairQueue);
- the engine thread runs queued jobs one at a time: torch work happens on long-lived threads (python-osc's threading
  servers are for light handlers; libtorch state is per thread);
- the second engine thread runs small jobs (scheduling.SMALL_JOB_BAR_VARIATIONS) while the engine thread is busy,
  with its own copy of each model it uses (a LiveModel keeps caches and serves one caller at a time), so a client's
  8-bar regen does not wait for another client's 16 x 64-bar one;
- the pacer thread sends what is left of long result streams at a pace a receiver's queue can take
  (scheduling.Pacer).

Replies go to the sender's IP on the reply port (9128 by default, or the port the client registered with
/arvae/hello), never to the datagram's source port: Max's udpsend sends from a port nobody listens on. Until a client
has verified its registration (/arvae/verify), the bytes sent to it are bounded by its credit (client_state.py).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections import Counter, deque
from pathlib import Path

import numpy as np
import torch

from arvae_live.client_state import ClientState, ClientTable
from arvae_live.core.device import resolve_device
from arvae_live.core.meters import GRIDS, SIMPLE, Grid
from arvae_live.engine import LiveModel
from arvae_live.errors import ArvaeError
from arvae_live.model_store import UnknownModelError, available_models, models_by_grid, resolve_model
from arvae_live.osc_bridge import OscBridge
from arvae_live.osc_wire import encode_message
from arvae_live.protocol import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REPLY_PORT,
    MAX_DATAGRAM_IN_BYTES,
    UNVERIFIED_MESSAGE,
)
from arvae_live.scheduling import FairQueue, Job, Pacer

log = logging.getLogger(__name__)

LATENCY_WINDOW = 2000  # latencies kept for the percentiles in /arvae/status
# Closed-loop refinement stops when another round would end after this many ms of engine time: the latency bar is
# p50 <= 10 ms and p99 <= 25 ms round trip for an 8-bar clip, and the daemon's own overhead needs a little of that.
DEFAULT_BUDGET_MS = 8.0


class PortInUseError(ArvaeError):
    """The request port is taken (another daemon running?); the message says which port and what to do."""


class Stats:
    """Thread-safe counters and a window of latencies (round trip inside the daemon, and engine time)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._engine_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._lock = threading.Lock()

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def record(self, latency_ms: float, engine_ms: float) -> None:
        with self._lock:
            self._latency_ms.append(latency_ms)
            self._engine_ms.append(engine_ms)

    def percentile(self, q: float, engine: bool = False) -> float:
        """q-th percentile (0..100) of the recent latencies in ms; 0.0 before the first request."""
        with self._lock:
            data = list(self._engine_ms if engine else self._latency_ms)
        return float(np.percentile(data, q)) if data else 0.0


class ModelHost:
    """The models the daemon serves: the ones loaded, the ones it may load (the model folder), and per grid the
    current one (core/meters.py: a grid serves a set of meters; a clip goes to the current model of its grid)."""

    def __init__(self, device: str = "cpu", encoder: str = "auto") -> None:
        self.device = device
        self.encoder = encoder  # LiveModel.from_checkpoint's: "auto" (a distilled encoder where there is one), "full"
        self.loaded: dict[str, LiveModel] = {}
        self.paths: dict[str, Path] = {}
        self.current_by_grid: dict[str, str] = {}  # grid name -> id of the model serving its meters
        self._second: dict[str, LiveModel] = {}  # the second engine thread's copies, by id
        self._lock = threading.Lock()

    def add(self, id_or_path: str | Path) -> LiveModel:
        """Load a model (by id or path) and hold it; the first one added of each grid becomes that grid's current."""
        path = resolve_model(str(id_or_path))
        lm = LiveModel.from_checkpoint(path, device=self.device, encoder=self.encoder)
        with self._lock:
            self.loaded[lm.model_id] = lm
            self.paths[lm.model_id] = path
            self.current_by_grid.setdefault(lm.grid.name, lm.model_id)
        log.info(
            "loaded model %s (%s: %s) from %s (%d attributes)",
            lm.model_id, lm.grid.name, ", ".join(lm.grid.meters), path, len(lm.attributes),
        )  # fmt: skip
        return lm

    @property
    def current_id(self) -> str:
        """The current 4/4 (simple grid) model, or without one the current model of the first grid loaded: what
        /arvae/status shows, and what requests without a meter and MIDI-port mode use."""
        with self._lock:
            if not self.current_by_grid:
                return ""
            return self.current_by_grid.get(SIMPLE.name, next(iter(self.current_by_grid.values())))

    @property
    def current(self) -> LiveModel:
        return self.loaded[self.current_id]

    def for_grid(self, grid: Grid) -> str | None:
        """The id of the current model of a grid; None when no loaded model serves it."""
        with self._lock:
            return self.current_by_grid.get(grid.name)

    def served_text(self) -> str:
        """The meters served and by which model, for refusals: 'simple (4/4, 2/2, 2/4): bach-arvae; triple (3/4): x'."""
        with self._lock:
            by_grid = dict(self.current_by_grid)
        return "; ".join(f"{g} ({', '.join(GRIDS[g].meters)}): {i}" for g, i in by_grid.items()) or "nothing"

    def get(self, model_id: str | None) -> LiveModel:
        """A held model by id (None: the current one); loads it from the model folder if it is not held yet."""
        if model_id is None:
            return self.current
        with self._lock:
            lm = self.loaded.get(model_id)
        if lm is not None:
            return lm
        if model_id not in available_models():
            known = ", ".join(sorted({*self.loaded, *available_models()}))
            raise UnknownModelError(f"unknown model {model_id!r}; available: {known}")
        return self.add(model_id)

    def switch(self, model_id: str) -> LiveModel:
        """Make a model (loading it if needed) the current one of its grid."""
        lm = self.get(model_id)
        with self._lock:
            self.current_by_grid[lm.grid.name] = lm.model_id
        log.info("current %s model is now %s", lm.grid.name, lm.model_id)
        return lm

    def second_copy(self, model_id: str) -> LiveModel:
        """The second engine thread's own copy of a held model, loaded on first use (call it from that thread only)."""
        with self._lock:
            lm, path = self._second.get(model_id), self.paths[model_id]
        if lm is None:
            lm = LiveModel.from_checkpoint(path, device=self.device, encoder=self.encoder)
            with self._lock:
                self._second[model_id] = lm
        return lm

    def listing(self) -> list[tuple[str, int, str, str]]:
        """(id, number of attributes, grid, meters served) of held models, then of loadable ones (attributes unknown
        until loaded: 0; grid from the checkpoint's header)."""
        with self._lock:
            held = [(i, len(lm.attributes), lm.grid.name, " ".join(lm.grid.meters)) for i, lm in self.loaded.items()]
        ids = {h[0] for h in held}
        more = [
            (i, 0, g, " ".join(GRIDS[g].meters))
            for g, models in models_by_grid().items()
            for i in models
            if i not in ids
        ]
        return held + sorted(more)


class Daemon:
    """The OSC daemon. `start()` binds and starts the threads; `stop()` shuts down; `serve_forever()` blocks.

    Args:
        models: a ModelHost with at least one model loaded.
        host: address to bind (127.0.0.1 unless the user asked otherwise).
        port: request port (0: any free port; see `.port` after start).
        reply_port: default port replies are sent to, on the sender's IP.
        threads: torch intra-op threads for the engine thread.
        budget_ms: closed-loop time budget per request in ms (LiveModel.regenerate's budget_ms); None: no limit.
    """

    def __init__(
        self,
        models: ModelHost,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        reply_port: int = DEFAULT_REPLY_PORT,
        threads: int | None = None,
        budget_ms: float | None = DEFAULT_BUDGET_MS,
    ) -> None:
        assert models.loaded, "the daemon needs at least one model"
        self.models = models
        self.host = host
        self.port = port
        self.reply_port = reply_port
        self.threads = threads
        self.budget_ms = budget_ms
        self.default_scale: tuple[str, int] = ("auto", 0)  # clients without /arvae/scale (serve --scale)
        self.device = str(resolve_device(models.device).type)
        self.stats = Stats()
        self.clients = ClientTable()
        self.bridge = OscBridge(self)
        self._queue = FairQueue()
        # Held while the engine runs a job; MIDI-port mode (midi_mode.SharedEngine) takes it too: one model caller.
        self.engine_lock = threading.Lock()
        self._second_lock = threading.Lock()  # the same for the second engine thread's copies (only it takes it)
        self._stop = threading.Event()  # threads stop
        self._shutdown = threading.Event()  # someone asked to shut down (signal handler, test)
        self._sock: socket.socket | None = None
        self._out: socket.socket | None = None
        self._pacer: Pacer | None = None
        self._threads: list[threading.Thread] = []

    # ---- lifecycle ----

    def start(self) -> Daemon:
        """Bind the sockets and start the receiving, engine and pacer threads; returns self.

        Raises:
            PortInUseError: the request port is taken.
        """
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self._sock.bind((self.host, self.port))
        except OSError as err:
            self._sock.close()
            if err.errno != errno.EADDRINUSE:
                raise
            raise PortInUseError(
                f"port {self.port} on {self.host} is in use (another arvae-live serve?); stop that one or pick "
                "another with --port (and point the device at it)"
            ) from None
        self._sock.settimeout(0.2)  # wake up to see the stop flag
        self.port = self._sock.getsockname()[1]
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._pacer = Pacer(self._out).start()
        self._threads = [
            threading.Thread(target=self._receive_loop, name="arvae-osc", daemon=True),
            threading.Thread(target=self._engine_loop, name="arvae-engine", daemon=True),
            threading.Thread(target=self._engine_loop, args=(True,), name="arvae-engine-2", daemon=True),
        ]
        for t in self._threads:
            t.start()
        log.info(
            "listening on %s:%d, replies to port %d, device %s, models: %s (meters served: %s)",
            self.host, self.port, self.reply_port, self.device, ", ".join(self.models.loaded),
            self.models.served_text(),
        )  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop the threads and close the sockets; safe to call twice."""
        if self._stop.is_set():
            return
        log.info("shutting down")
        self._stop.set()
        self._queue.close()
        for t in self._threads:
            t.join(timeout=5)
        if self._pacer is not None:
            self._pacer.stop()
        for s in (self._sock, self._out):
            if s is not None:
                s.close()

    def request_shutdown(self) -> None:
        """Ask serve_forever to return (safe from a signal handler: it only sets a flag)."""
        self._shutdown.set()

    def serve_forever(self) -> None:
        """Block until request_shutdown() (a signal handler, another thread), then stop."""
        while not self._shutdown.wait(0.5):
            pass
        self.stop()

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- used by the bridge (osc_bridge.DaemonSide) ----

    def send(self, state: ClientState, rid: int, address: str, datagrams: list[bytes]) -> bool:
        """Send a reply's datagrams to the client's reply port, paced; within its credit when it is unverified.

        A reply an unverified client's credit cannot take is replaced by one `/arvae/error rid unverified`; when even
        that does not fit, or the reply port's backlog is full (PACE_MAX_BACKLOG), nothing is sent and the drop is
        counted (`dropped_replies`).

        Args:
            state: the client.
            rid: the request's id (for the refusal).
            address: the request's address (for the refusal).
            datagrams: the reply, in order.

        Returns:
            True when the reply was sent (or queued for pacing).
        """
        sent = True
        if not state.spend(sum(map(len, datagrams))):
            sent = False
            datagrams = [encode_message("/arvae/error", rid, "unverified", UNVERIFIED_MESSAGE, address[:200])]
            if not state.spend(len(datagrams[0])):
                self.stats.count("dropped_replies")
                return False
            self.stats.count("unverified_refusals")
        if not self._pacer.send((state.client[0], state.reply_port or self.reply_port), datagrams):
            self.stats.count("dropped_replies")  # the reply port's backlog is full
            return False
        return sent

    def submit(self, job: Job) -> Job | None:
        """Queue a job for the engine thread; returns the queued job it replaced (same coalescing key), if any.

        Raises:
            ProtocolError: busy, when the client's share of the queue or the whole queue is full.
        """
        return self._queue.put(job)

    def cancel(self, state: ClientState, rid: int) -> Job | None:
        """Take a queued job of this client out of the queue; None when there is none (finished, running, unknown)."""
        return self._queue.cancel(state, rid)

    def queue_size(self) -> int:
        return len(self._queue)

    def state(self) -> str:
        return "ready" if self._queue.idle() else "busy"

    def idle(self) -> bool:
        """Nothing queued, nothing running on the engine, no reply datagram waiting for the pacer."""
        return self._queue.idle() and (self._pacer is None or not self._pacer.pending())

    # ---- threads ----

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self._sock.recvfrom(MAX_DATAGRAM_IN_BYTES)
            except TimeoutError:
                continue
            except OSError as err:
                if self._stop.is_set():
                    break
                log.debug("receive failed: %s", err)  # e.g. ICMP port unreachable reported on Windows
                continue
            self.stats.count("datagrams")
            self.bridge.handle_datagram(data, client)

    def _engine_loop(self, second: bool = False) -> None:
        """Run jobs until stopped: any job, or (second) small jobs while the other engine thread is busy."""
        if self.threads:
            torch.set_num_threads(self.threads)
        lock = self._second_lock if second else self.engine_lock
        if second:
            try:  # each grid's current model loaded now, not when the first small job waits
                for model_id in set(self.models.current_by_grid.values()):
                    self.models.second_copy(model_id)
            except Exception as err:  # the engine thread still serves everything
                log.warning("second engine thread not started: %s", err)
                return
        pick = self.models.second_copy if second else self.models.get  # this thread's copy of a held model, by id
        while (job := self._queue.get(small_only=second)) is not None:
            t0 = time.perf_counter()
            try:
                with lock:
                    self.bridge.run_guarded(job, pick)
            except Exception:  # run_guarded answers every failure; this is a bug in answering: log, keep serving
                log.exception("engine job %s rid %d could not be answered", job.address, job.rid)
            finally:
                self._queue.task_done()
            log.debug("%s rid %d from %s: %.2f ms", job.address, job.rid, job.client, (time.perf_counter() - t0) * 1e3)
