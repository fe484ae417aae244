"""The daemon serving 4/4, 3/4 and 6/8 clips from one model per grid, over real UDP sockets on 127.0.0.1 (#18)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import save_untrained

from arvae_live.client import DaemonClient, DaemonError, result_notes
from arvae_live.core.attributes import PAPER_ATTRIBUTES
from arvae_live.core.representation import Note
from arvae_live.daemon import Daemon, ModelHost
from arvae_live.protocol import MAX_METER

# The checkpoints: one per grid, each with its own attribute list (the dials differ between models).
ATTRS = {
    "four": PAPER_ATTRIBUTES,
    "waltz": ("note_density", "pitch_range"),
    "jig": ("rhythmic_complexity", "note_density", "contour"),
}
GRID_OF = {"four": "simple", "waltz": "triple", "jig": "compound"}
# A 3/4 clip of two bars (6 quarters): quarters, then a dotted half.
WALTZ = [Note(67, 0.0, 1.0, 70), Note(64, 1.0, 1.0, 80), Note(62, 2.0, 1.0, 90), Note(60, 3.0, 3.0, 100)]
# A 6/8 clip of two bars (one 6-quarter measure): dotted quarter, 8th-quarter, then 8ths.
JIG = [Note(62, 0.0, 1.5, 90), Note(64, 1.5, 0.5, 60), Note(66, 2.0, 1.0, 70), Note(67, 3.0, 0.5, 80),
       Note(69, 3.5, 0.5, 80), Note(71, 4.0, 2.0, 100)]  # fmt: skip


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A model folder with a tiny untrained simple, triple and compound checkpoint."""
    d = tmp_path / "models"
    d.mkdir()
    for model_id, names in ATTRS.items():
        save_untrained(d / f"{model_id}.pt", GRID_OF[model_id], names)
    monkeypatch.setenv("ARVAE_CHECKPOINTS", str(d))
    return d


@pytest.fixture
def served(folder, sink):
    """A daemon holding the three models, and a client."""
    host = ModelHost("cpu")
    for model_id in ATTRS:
        host.add(model_id)
    with Daemon(host, port=0, reply_port=sink.getsockname()[1]) as d, DaemonClient(d.port, timeout_sec=10) as c:
        yield d, c


def _upload(c: DaemonClient, notes, length: float, meter: tuple[int, int] | None, slot: int = 0) -> int:
    return c.upload(notes, length, slot, meter)


def _error(c: DaemonClient, *args, final: str) -> tuple[str, str]:
    with pytest.raises(DaemonError) as info:
        c.request(*args, final=final)
    return info.value.code, info.value.message


def test_each_grid_has_its_current_model_and_listings_say_the_grid(served):
    d, c = served
    assert d.models.current_by_grid == {"simple": "four", "triple": "waltz", "compound": "jig"}
    items = [r.args[2:] for r in c.request("/arvae/models/list", final="/arvae/models/end")[1:-1]]
    assert items == [("four", 4, "simple", "4/4 2/2 2/4"), ("waltz", 2, "triple", "3/4"),
                     ("jig", 3, "compound", "12/8 6/8")]  # fmt: skip
    for meter, model_id in (("3/4", "waltz"), ("6/8", "jig"), ("2/2", "four")):
        replies = c.request("/arvae/attrs/list", meter, final="/arvae/attrs/end")
        assert replies[0].args[1:] == (len(ATTRS[model_id]), model_id, GRID_OF[model_id])
        assert [r.args[2] for r in replies if r.address == "/arvae/attrs/item"] == list(ATTRS[model_id])
    assert c.request("/arvae/attrs/list", final="/arvae/attrs/end")[0].args[2:] == ("four", "simple")  # as before
    assert _error(c, "/arvae/attrs/list", "9/8", final="/arvae/attrs/end")[0] == "unsupported"


@pytest.mark.parametrize(
    ("notes", "length", "meter", "measure", "measures", "model_id"),
    [(WALTZ, 6.0, (3, 4), 3.0, 2, "waltz"), (JIG, 6.0, (6, 8), 6.0, 1, "jig"), (JIG, 6.0, (12, 8), 6.0, 1, "jig")],
)
def test_a_clip_regenerates_on_its_meters_model(served, notes, length, meter, measure, measures, model_id):
    _, c = served
    assert _upload(c, notes, length, meter) == len(notes)
    name = "note_density"
    replies = c.regen(targets={name: 0.8}, variations=2, seed=1)
    assert replies[-1].args[1] == 2
    for v in range(2):
        begin = next(r for r in replies if r.address == "/arvae/result/begin" and r.args[1] == v)
        end = next(r for r in replies if r.address == "/arvae/result/end" and r.args[1] == v)
        assert begin.args[3] == length
        got = result_notes(replies, v)
        assert got, "an untrained model still plays something at density 0.8"
        assert all(0 <= n.start_beats and n.end_beats <= length + 1e-6 for n in got)
        assert {n.velocity for n in got} <= {n.velocity for n in notes}
        achieved = dict(zip(end.args[3::2], end.args[4::2]))
        assert list(achieved) == list(ATTRS[model_id])  # the model of the clip's grid answered
    # Measures are the grid's: the clip has `measures`, so one more is outside it.
    code, message = _error(c, "/arvae/regen", 0, 1, 0.0, 0, measures, 1, final="/arvae/regen")
    assert code == "bad_args" and f"clip's {measures} ({meter[0]}/{meter[1]})" in message
    # A sample in the meter: its measures are `measure` quarter notes long.
    sampled = c.request("/arvae/sample", 1, 1.0, 3, 2, *meter, name, 0.5, final="/arvae/sample")
    begin = next(r for r in sampled if r.address == "/arvae/result/begin")
    assert begin.args[3] == 2 * measure
    assert all(n.end_beats <= 2 * measure + 1e-6 for n in result_notes(sampled))


def test_an_unserved_meter_is_refused_in_one_line_and_the_daemon_goes_on(served):
    _, c = served
    code, message = _error(c, "/arvae/clip/begin", 0, 3, 4.5, 9, 8, final="/arvae/clip/begin")
    assert code == "unsupported" and "\n" not in message
    assert message.startswith("meter 9/8 is not served by any loaded model; loaded: simple (4/4, 2/2, 2/4): four")
    assert "triple (3/4): waltz" in message and "compound (12/8, 6/8): jig" in message
    assert _error(c, "/arvae/sample", 1, 1.0, 0, 1, 5, 4, final="/arvae/sample")[0] == "unsupported"
    with pytest.raises(DaemonError) as info:  # the refused begin kept nothing: the upload's end finds no upload
        c.upload(WALTZ, 4.5, meter=(9, 8))
    assert info.value.code == "no_clip"
    assert c.request("/arvae/ping")[0].address == "/arvae/ping"


def test_a_meter_without_its_model_is_refused(folder, sink):
    host = ModelHost("cpu")
    host.add("four")
    with Daemon(host, port=0, reply_port=sink.getsockname()[1]) as d, DaemonClient(d.port) as c:
        code, message = _error(c, "/arvae/clip/begin", 0, 1, 3.0, 3, 4, final="/arvae/clip/begin")
        assert (code, message) == ("unsupported", "meter 3/4 is not served by any loaded model; loaded: simple "
                                   "(4/4, 2/2, 2/4): four")  # fmt: skip


def test_an_old_4_4_client_without_the_meter_args_still_works(served):
    _, c = served
    four = [Note(60, 0.0, 1.0, 50), Note(62, 1.0, 1.0, 60), Note(64, 2.0, 2.0, 70), Note(65, 4.0, 4.0, 80)]
    assert c.upload(four, 8.0) == 4  # DaemonClient.upload sends no meter
    replies = c.regen(targets={"contour": 0.3}, seed=2)
    assert next(r for r in replies if r.address == "/arvae/result/begin").args[3] == 8.0
    assert all(n.end_beats <= 8.0 + 1e-6 for n in result_notes(replies))
    sampled = c.request("/arvae/sample", 1, 1.0, 5, 2, "note_density", 0.3, final="/arvae/sample")
    assert next(r for r in sampled if r.address == "/arvae/result/begin").args[3] == 8.0


def test_a_chosen_model_is_not_switched_silently(served):
    _, c = served
    assert c.request("/arvae/model/load", "four")[0].args[1:] == ("four", "simple")
    code, message = _error(c, "/arvae/clip/begin", 0, 4, 6.0, 3, 4, final="/arvae/clip/begin")
    assert code == "unsupported" and "\n" not in message
    assert message.startswith("meter 3/4: this client chose model four, which serves 4/4, 2/2, 2/4")
    assert "/arvae/model/load auto" in message
    # A clip uploaded before the choice is refused at regen time too.
    assert c.request("/arvae/model/load", "auto")[0].args[1:] == ("auto", "")
    _upload(c, WALTZ, 6.0, (3, 4))
    c.request("/arvae/model/load", "four")
    assert _error(c, "/arvae/regen", 0, 1, 0.0, 0, 0, 0, final="/arvae/regen")[0] == "unsupported"
    # Choosing the waltz model serves the 3/4 clip.
    c.request("/arvae/model/load", "waltz")
    assert c.regen()[-1].args[1] == 1


def test_interp_needs_clips_of_one_grid(served):
    _, c = served
    _upload(c, WALTZ, 6.0, (3, 4), slot=0)
    _upload(c, JIG, 6.0, (6, 8), slot=1)
    code, message = _error(c, "/arvae/interp", 0, 1, 3, final="/arvae/interp")
    assert code == "bad_args" and "3/4" in message and "6/8" in message
    _upload(c, WALTZ[:2], 3.0, (3, 4), slot=1)
    replies = c.request("/arvae/interp", 0, 1, 3, final="/arvae/interp")
    assert all(r.args[3] == 3.0 for r in replies if r.address == "/arvae/result/begin")  # one 3/4 measure


@pytest.mark.parametrize(
    ("meter", "code", "words"),
    [
        ((0, 4), "bad_args", "num must be in range 1.."),
        ((3, 0), "bad_args", "den must be in range 1.."),
        ((-3, 4), "bad_args", "num must be in range"),
        ((3, -4), "bad_args", "den must be in range"),
        ((2**31 - 1, 4), "bad_args", f"1..{MAX_METER}"),
        ((3, 6), "bad_args", "den must be a power of two"),
        ((3,), "bad_args", "needs both num and den"),
        ((3.5, 4), "bad_args", "num must be an integer"),
        (("3", "4"), "bad_args", "num must be a number"),
        ((3, 4, 1), "bad_args", "/arvae/clip/begin needs"),
        ((float("nan"), 4), "bad_args", "num must be finite"),
    ],
)
def test_hostile_meter_args_are_refused(served, meter, code, words):
    _, c = served
    got, message = _error(c, "/arvae/clip/begin", 0, 1, 3.0, *meter, final="/arvae/clip/begin")
    assert got == code and words in message and "\n" not in message
    assert _error(c, "/arvae/regen", 0, 1, 0.0, 0, 0, 0, final="/arvae/regen")[0] == "no_clip"  # nothing kept
    assert c.request("/arvae/ping")[0].address == "/arvae/ping"


def test_hostile_sample_meters_are_refused(served):
    _, c = served
    for args, words in (((3,), "needs both"), ((3, 3), "power of two"), ((0, 4), "num must be in range")):
        code, message = _error(c, "/arvae/sample", 1, 1.0, 0, 1, *args, final="/arvae/sample")
        assert code == "bad_args" and words in message


def test_serve_loads_each_grids_default_and_says_what_it_serves(folder):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "ARVAE_CHECKPOINTS": str(folder)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "arvae_live", "serve", "--port", "0", "--device", "cpu", "--model", "four"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "listening on 127.0.0.1" in proc.stdout.readline()
        assert "models: four, waltz, jig (current: four)" in proc.stdout.readline()
        served = proc.stdout.readline()
        assert served.startswith("meters served: simple (4/4, 2/2, 2/4): four; triple (3/4): waltz; compound")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
