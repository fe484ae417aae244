"""How late MIDI-port mode answers a clock pulse, and what its polling loop costs while idle.

Real time and real threads. A feeder thread sends 120-bpm MIDI clock and a one-bar call into an in-memory input port.
MidiMode runs the real LiveModel on a checkpoint and answers on an in-memory output port. The latency of a response
note is the time from the feeder sending the clock pulse that note is due on to the loop sending the note.

    python benchmarks/midi_loop.py [--ckpt PATH] [--calls 4] [--idle-sec 3]

Without --ckpt, an untrained model of the paper's size is built (the timing does not depend on the weights).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import mido
import numpy as np
import torch

from arvae_live.core.attributes import PAPER_ATTRIBUTES, AttributeSpec, get_attribute
from arvae_live.core.checkpoint import Checkpoint, save_checkpoint
from arvae_live.core.model import MeasureVAE, ModelConfig
from arvae_live.core.representation import Vocabulary
from arvae_live.engine import LiveModel
from arvae_live.midi_mode import MidiMode, SharedEngine, build_machine

PULSE_SEC = 60 / (120 * 24)


class MemoryInput(mido.ports.BaseInput):
    def feed(self, msg: mido.Message) -> None:
        self._messages.append(msg)


class StampingOutput(mido.ports.BaseOutput):
    def __init__(self) -> None:
        self.sent: list[tuple[float, mido.Message]] = []
        super().__init__("out")

    def _send(self, msg: mido.Message) -> None:
        self.sent.append((time.perf_counter(), msg))


def paper_size_checkpoint(folder: Path) -> Path:
    vocab = Vocabulary()
    cfg = ModelConfig(vocab_size=vocab.size)
    torch.manual_seed(0)
    specs = [
        AttributeSpec(n, d, get_attribute(n).raw_low, get_attribute(n).raw_high) for d, n in enumerate(PAPER_ATTRIBUTES)
    ]
    ckpt = Checkpoint("inference", cfg, specs, vocab, MeasureVAE(cfg).state_dict(), {}, {})
    return save_checkpoint(ckpt, folder / "paper_size.pt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", type=Path, help="inference checkpoint (default: an untrained paper-size model)")
    ap.add_argument("--calls", type=int, default=4, help="calls to play, one every 4 bars")
    ap.add_argument("--idle-sec", type=float, default=3.0, help="seconds to measure the idle loop's CPU time")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        lm = LiveModel.from_checkpoint(args.ckpt or paper_size_checkpoint(Path(tmp)))
    machine = build_machine(SharedEngine(lambda: lm, threading.Lock()))
    responses = []
    respond = machine._respond

    def recording_respond(pos):  # keep every response, to know the pulse each of its notes is due on
        out = respond(pos)
        responses.append(machine.last_response)
        return out

    machine._respond = recording_respond
    inport, outport = MemoryInput("in"), StampingOutput()

    with MidiMode(machine, inport, outport):
        t0 = time.process_time()
        time.sleep(args.idle_sec)
        idle_cpu = (time.process_time() - t0) / args.idle_sec

        pulse_sent: dict[int, float] = {}
        call = [(0, 60), (24, 62), (32, 64), (40, 65), (48, 67)]  # (pulse in the bar, pitch): quarter, triplet, half
        inport.feed(mido.Message("start"))
        n_pulses = 96 * 4 * args.calls
        start = time.perf_counter()
        for p in range(n_pulses):
            time.sleep(max(0.0, start + p * PULSE_SEC - time.perf_counter()))
            inport.feed(mido.Message("clock"))
            pulse_sent[p] = time.perf_counter()
            bar_pulse = p % (96 * 4)
            for i, (at, pitch) in enumerate(call):
                if bar_pulse == 96 + at:  # calls in the 2nd bar of every 4
                    if i:
                        inport.feed(mido.Message("note_off", note=call[i - 1][1]))
                    inport.feed(mido.Message("note_on", note=pitch, velocity=100))
            if bar_pulse == 192:
                inport.feed(mido.Message("note_off", note=call[-1][1]))
        time.sleep(0.05)

    # Each response note is due on a known pulse: its response's bar line plus its onset (grid ticks are whole pulses).
    due = [round(r.start_beats * 24) + round(n.start_beats * 24) for r in responses if r is not None for n in r.notes]
    sent = [t for t, msg in outport.sent if msg.type == "note_on"]
    assert len(sent) == len(due), (len(sent), len(due))
    lat = [(t - pulse_sent[p]) * 1e3 for t, p in zip(sent, due)]
    lat = np.array(lat)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), model {lm.model_id}")
    print(f"idle loop: {idle_cpu * 100:.1f}% of one core (1 ms poll)")
    print(
        f"response notes: {len(lat)}, pulse -> note latency ms: p50 {np.percentile(lat, 50):.2f}, "
        f"p95 {np.percentile(lat, 95):.2f}, max {lat.max():.2f}"
    )
    if machine.last_response is not None:
        print(f"engine per call: {machine.last_response.engine_ms:.1f} ms")


if __name__ == "__main__":
    main()
