"""MIDI-port mode beside the daemon: the shared engine and its lock, the MIDI thread, and `serve --midi-in/--midi-out`
when the ports cannot be opened (exit 1 with one line; with --midi-optional, one line and OSC still served, checked
over a real UDP socket)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest

from arvae_live.client import DaemonClient
from arvae_live.core.representation import tokens_to_notes
from arvae_live.engine import LiveModel
from arvae_live.errors import ConfigError
from arvae_live.midi_mode import MidiMode, SharedEngine, build_machine

REPO = Path(__file__).resolve().parents[1]
# The call of test_call_response: bar 2, a quarter, a triplet of 8ths, a half note; its tokens worked out by hand.
CALL = {
    96: [("note_on", 60, 90)],
    120: [("note_off", 60, 0), ("note_on", 62, 80)],
    128: [("note_off", 62, 0), ("note_on", 64, 70)],
    136: [("note_off", 64, 0), ("note_on", 65, 60)],
    144: [("note_off", 65, 0), ("note_on", 67, 100)],
    192: [("note_off", 67, 0)],
}
CALL_TOKENS = [7, 0, 0, 0, 0, 0, 9, 0, 11, 0, 12, 0, 14] + [0] * 11


class CountingLock:
    """A lock that counts how often it was taken and remembers whether it was held during a call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entered = 0

    def __enter__(self):
        self._lock.acquire()
        self.entered += 1
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class MemoryInput(mido.ports.BaseInput):
    def feed(self, *msgs: mido.Message) -> None:
        self._messages.extend(msgs)


class RecordingOutput(mido.ports.BaseOutput):
    def __init__(self) -> None:
        self.sent: list[mido.Message] = []
        super().__init__("recorder")

    def _send(self, msg: mido.Message) -> None:
        self.sent.append(msg)


@pytest.fixture
def lm(tiny_ckpt) -> LiveModel:
    return LiveModel.from_checkpoint(tiny_ckpt)


def test_shared_engine_takes_the_lock_and_drops_targets_the_current_model_lacks(lm):
    lock = CountingLock()
    held = []

    def current():
        held.append(lock.locked())
        return lm

    shared = SharedEngine(current, lock)
    tokens = np.array([CALL_TOKENS])
    got = shared.regenerate(tokens, {"note_density": 1.0, "no_longer_there": 0.5}, temperature=0.0, seed=3)
    want = lm.regenerate(tokens, {"note_density": 1.0}, temperature=0.0, seed=3)
    assert np.array_equal(got.tokens, want.tokens)
    assert lock.entered == 1 and held == [True]
    assert shared.attribute_names == lm.attribute_names and shared.vocab == lm.vocab


def test_build_machine_counts_channels_from_one_and_refuses_bad_ccs(lm):
    machine = build_machine(lm, midi_channel=10, midi_out_channel=2, midi_cc=("temperature=70",), tempo=90.0)
    assert (machine.in_channel, machine.out_channel, machine.cc_map.channel) == (9, 1, 9)
    assert machine.cc_map.temperature == 70 and machine.tempo_bpm == 90.0
    with pytest.raises(ConfigError, match="unknown control"):
        build_machine(lm, midi_cc=("loudness=3",))
    with pytest.raises(TypeError, match="midi_in"):  # a misspelt or misplaced option is not swallowed
        build_machine(lm, midi_in="Bus 1")


def test_the_library_module_defines_no_click_options():
    code = "import sys, arvae_live.midi_mode; print('click' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_midi_mode_thread_answers_a_call_with_the_engines_regeneration_and_closes_its_ports(lm):
    lock = CountingLock()
    machine = build_machine(SharedEngine(lambda: lm, lock), midi_cc=())
    inport, outport = MemoryInput("in"), RecordingOutput()
    mode = MidiMode(machine, inport, outport).start()
    try:
        inport.feed(mido.Message("start"), mido.Message("control_change", control=23, value=127))
        # A fast clock, a pulse every millisecond or so, until the response has been played out. How many bars
        # that takes depends on how long the engine runs (a slow engine's response starts a bar later).
        for p in range(3000):
            if machine.last_response is not None and machine.state == "idle":
                break
            inport.feed(mido.Message("clock"))
            inport.feed(*[mido.Message(kind, note=note, velocity=vel) for kind, note, vel in CALL.get(p, [])])
            time.sleep(0.001)
        assert machine.last_response is not None and machine.state == "idle", f"no complete response: {outport.sent}"
    finally:
        mode.stop()
        mode.stop()  # twice is harmless
    # Real time stamps on a busy machine may move onsets by up to a pulse: compare with the call as recorded
    # (test_call_response checks the recording against hand-written tokens under exact timing).
    call_tokens = machine.last_call[0]
    assert call_tokens.shape == (1, 24) and call_tokens[0, 0] == CALL_TOKENS[0]
    want = lm.regenerate(call_tokens, {"note_density": 1.0}, temperature=0.0, seed=0)
    want_pitches = [n.pitch for n in tokens_to_notes(want.tokens[0], lm.vocab)]
    assert want_pitches
    assert [m.note for m in outport.sent if m.type == "note_on"] == want_pitches
    assert lock.entered == 1 and inport.closed and outport.closed


def _serve(tiny_ckpt, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "arvae_live", "--log-level", "WARNING", "serve", "--model", str(tiny_ckpt)]
    cmd += ["--port", "0", "--device", "cpu", "--midi-in", "arvae-no-such-port", "--midi-out", "arvae-no-such-port"]
    return subprocess.Popen([*cmd, *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _says_why(line: str) -> bool:
    # Without a MIDI system the line says so; with one, it names the missing port and lists those that exist.
    return "no MIDI system available" in line or "no MIDI input port named 'arvae-no-such-port'" in line


def test_serve_with_unopenable_midi_ports_fails_in_one_line_before_serving(tiny_ckpt):
    proc = _serve(tiny_ckpt)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert out == ""  # never said it was listening: a performer who asked for MIDI is not left with OSC only
    (line,) = err.splitlines()
    assert line.startswith("Error: ") and _says_why(line), line
    assert line.endswith("add --midi-optional or leave out --midi-in/--midi-out"), line


def test_serve_midi_optional_says_so_in_one_line_and_still_serves_osc(tiny_ckpt):
    proc = _serve(tiny_ckpt, "--midi-optional")
    try:
        port = None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            port = int(m.group(1)) if m else port
            if line.startswith("Ctrl-C to stop"):
                break
        assert port, f"serve did not start: {lines}"
        with DaemonClient(port, timeout_sec=10) as client:
            (reply,) = client.request("/arvae/ping")
            assert reply.address == "/arvae/ping"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    (midi_line,) = err.splitlines()
    assert midi_line.startswith("MIDI mode not started, serving OSC only: ") and _says_why(midi_line), midi_line


# ---- serve --meter: MIDI-port mode on the model of the meter's grid (#18) ------------------------------------------


def _grid_ckpt(path: Path, grid: str) -> Path:
    """An untrained tiny model of one grid as an inference checkpoint (attributes as conftest's tiny_ckpt)."""
    from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
    from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
    from arvae_live.core.model import MeasureVAE, ModelConfig
    from arvae_live.core.representation import Vocabulary

    vocab = Vocabulary()
    config = ModelConfig(vocab_size=vocab.size, embed_dim=4, hidden_dim=16, n_layers=2, latent_dim=6, dropout=0.0,
                         grid=grid)  # fmt: skip
    specs = []
    for dim, name in enumerate(PAPER_ATTRIBUTES):
        a = get_attribute(name)
        z = tuple(np.linspace(-3, 3, 7))
        specs.append(AttributeSpec(name, dim, a.raw_low, a.raw_high, z, tuple(np.linspace(a.raw_low, a.raw_high, 7))))
    state = MeasureVAE(config).state_dict()
    ckpt = Checkpoint(kind="inference", model_config=config, attributes=specs, vocabulary=vocab, state_dict=state,
                      metrics={}, provenance={"preset": "test"})  # fmt: skip
    return save_checkpoint(ckpt, path)


def test_serve_meter_no_loaded_model_serves_is_refused_in_one_line_before_the_ports(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "no-models"))  # no folder default of the triple grid
    proc = _serve(tiny_ckpt, "--meter", "3/4")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert out == ""  # nothing started
    (line,) = err.splitlines()
    assert line.startswith("Error: --meter 3/4 (triple grid) is not served by any loaded model; loaded: simple "
                           "(4/4, 2/2, 2/4): tiny. Add a triple model"), line  # fmt: skip


def test_serve_meter_uses_the_model_of_that_grid(tmp_path, monkeypatch):
    # With a 4/4 and a 3/4 model loaded, --meter 3/4 gets past the model check to the ports (which do not exist),
    # so MIDI-port mode was built on the 3/4 model: build_machine refuses a model of another grid (check_engine_grid).
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(tmp_path / "no-models"))
    simple, triple = _grid_ckpt(tmp_path / "four.pt", "simple"), _grid_ckpt(tmp_path / "waltz.pt", "triple")
    proc = _serve(simple, "--model", str(triple), "--meter", "3/4")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    (line,) = err.splitlines()
    assert line.startswith("Error: ") and _says_why(line), line


def test_the_midi_side_follows_the_current_model_of_the_meters_grid(tmp_path):
    from arvae_live.core.meters import TRIPLE
    from arvae_live.daemon import ModelHost

    host = ModelHost(device="cpu")
    host.add(_grid_ckpt(tmp_path / "four.pt", "simple"))
    host.add(_grid_ckpt(tmp_path / "waltz.pt", "triple"))
    engine = SharedEngine(lambda: host.loaded[host.for_grid(TRIPLE)], threading.Lock())
    machine = build_machine(engine, meter="3/4")
    assert machine.grid is TRIPLE and engine.grid is TRIPLE
    with pytest.raises(ConfigError, match=r"meter 4/4 \(simple grid\) is not served by"):
        build_machine(engine, meter="4/4")
