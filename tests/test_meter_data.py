"""3/4, 6/8 and 12/8 through the training side: melodies on the triple and compound grids, the triple / compound
datasets and their out-of-domain sets, and the tiny preset trained, exported, reloaded and evaluated on each grid.

Expected tokens are written out by hand from the scores (default vocabulary: MIDI pitch p is token p - 53). The
triple grid is 3 quarter beats of 6 ticks at 0, 1/4, 1/3, 1/2, 2/3, 3/4 of the beat (an 8th off-beat is tick 3);
the compound grid is 4 dotted-quarter beats of 6 16th-note ticks (an 8th is 2 ticks, a quarter 4).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _training_helpers import TINY, music21_part

from arvae_live.core.attributes import compute_attributes
from arvae_live.core.checkpoint import load_checkpoint
from arvae_live.core.meters import COMPOUND, SIMPLE, TRIPLE, Grid
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, REST, Vocabulary
from arvae_live.errors import ConfigError
from training import corpora, data, losses
from training.configs import PRESETS, TrainConfig, apply_overrides
from training.evaluation import DatasetUnavailableError, HeldOutData, evaluate_checkpoint
from training.export import export_checkpoint
from training.synthetic import random_measures
from training.train import CHECKPOINT_NAME, run

H = HOLD


def measure(grid: Grid, *events: tuple[int, int]) -> list[int]:
    """A measure of grid.ticks ticks from (tick, token) events; every other tick is HOLD."""
    row = [H] * grid.ticks
    for tick, token in events:
        row[tick] = token
    return row


def tok(midi: int) -> int:
    """Token of a MIDI pitch in the default vocabulary (55..84)."""
    return midi - 55 + FIRST_PITCH_TOKEN


def _tokens(melody: data.Melody) -> list[list[int]]:
    return data.transpose_tokens(melody.tokens, 0, Vocabulary()).tolist()


# ------------------------------------------------------------------------------------------- hand-made melodies


def test_three_four_pickup_and_tie_over_the_bar_line() -> None:
    # 3/4: pick-up G4 q | C5 q, D5 8th, E5 8th, F5 q tied | into F5 q, E5 half |
    part = music21_part(
        "3/4",
        [
            [("G4", 1, None)],
            [("C5", 1, None), ("D5", 0.5, None), ("E5", 0.5, None), ("F5", 1, "start")],
            [("F5", 1, "stop"), ("E5", 2, None)],
        ],
    )
    melody = data.melody_from_part(part, TRIPLE)
    assert melody.meter == "3/4" and melody.tokens.shape == (3, 18)
    assert _tokens(melody) == [
        measure(TRIPLE, (0, REST), (12, tok(67))),  # the pick-up padded by 2 beats: G4 on beat 3
        measure(TRIPLE, (0, tok(72)), (6, tok(74)), (9, tok(76)), (12, tok(77))),  # E5 on beat 2's 8th off-beat
        measure(TRIPLE, (6, tok(76))),  # F5 tied over the bar line: no onset at tick 0
    ]


def test_six_eight_bars_pair_into_one_measure_with_the_pickup_alone() -> None:
    # 6/8: pick-up D5 8th | G4 q, A4 8th, B4 dotted q | C5 8th, B4 8th, A4 8th, D5 dotted q tied | D5 dotted q, rest |
    part = music21_part(
        "6/8",
        [
            [("D5", 0.5, None)],
            [("G4", 1, None), ("A4", 0.5, None), ("B4", 1.5, None)],
            [("C5", 0.5, None), ("B4", 0.5, None), ("A4", 0.5, None), ("D5", 1.5, "start")],
            [("D5", 1.5, "stop"), (None, 1.5, None)],
        ],
    )
    melody = data.melody_from_part(part, COMPOUND)
    assert melody.meter == "6/8" and melody.tokens.shape == (3, 24)
    assert _tokens(melody) == [
        measure(COMPOUND, (0, REST), (22, tok(74))),  # the pick-up alone, padded to the last 8th of the measure
        # bars 1 and 2 in one measure: bar 2 starts at tick 12 (dotted beat 3); a quarter is 4 ticks, an 8th 2
        measure(
            COMPOUND,
            (0, tok(67)),
            (4, tok(69)),
            (6, tok(71)),
            (12, tok(72)),
            (14, tok(71)),
            (16, tok(69)),
            (18, tok(74)),
        ),  # fmt: skip
        measure(COMPOUND, (6, REST)),  # bar 3: D5 held over the bar line for a dotted beat, then the rest
    ]


def test_twelve_eight_is_one_bar_per_measure() -> None:
    # 12/8: C5 dotted q, D5 E5 F5 8ths, G5 dotted half tied | G5 dotted q, F5 q, E5 8th, D5 dotted half |
    part = music21_part(
        "12/8",
        [
            [("C5", 1.5, None), ("D5", 0.5, None), ("E5", 0.5, None), ("F5", 0.5, None), ("G5", 3, "start")],
            [("G5", 1.5, "stop"), ("F5", 1, None), ("E5", 0.5, None), ("D5", 3, None)],
        ],
    )
    melody = data.melody_from_part(part, COMPOUND)
    assert melody.meter == "12/8"
    assert _tokens(melody) == [
        measure(COMPOUND, (0, tok(72)), (6, tok(74)), (8, tok(76)), (10, tok(77)), (12, tok(79))),
        measure(COMPOUND, (6, tok(77)), (10, tok(76)), (12, tok(74))),
    ]


def test_other_meters_are_skipped_with_the_grid_in_the_reason() -> None:
    slip_jig = music21_part("9/8", [[("C5", 4.5, None)]])
    with pytest.raises(data.PieceSkipped, match="meter not 12/8 or 6/8"):
        data.melody_from_part(slip_jig, COMPOUND)
    with pytest.raises(data.PieceSkipped, match="meter not 3/4"):
        data.melody_from_part(music21_part("6/8", [[("C5", 3, None)]]), TRIPLE)
    with pytest.raises(data.PieceSkipped, match=data.SKIP_METER):  # the simple grid's reason, as before grids
        data.melody_from_part(music21_part("3/4", [[("C5", 3, None)]]))
    # A 32nd note is off the compound grid's 16ths.
    with pytest.raises(data.PieceSkipped, match="onsets off the 24-tick compound grid"):
        data.melody_from_part(music21_part("6/8", [[("C5", 0.125, None), ("D5", 2.875, None)]]), COMPOUND)


# ----------------------------------------------------------------------------------- tiny corpora on each grid

WALTZ = "T:Waltz\nM:3/4\nL:1/8\nK:C\nG2 | c2 d e f2 | e6 |]\n"  # a pick-up quarter, 2 bars
WALTZ_2 = "T:Waltz 2\nM:3/4\nL:1/8\nK:C\nc2 B2 A2 | G4 E2 | C6 |]\n"
WALTZ_3 = "T:Waltz 3\nM:3/4\nL:1/8\nK:C\nE2 G2 c2 | B4 G2 | A6 |]\n"
JIG = "T:Jig\nM:6/8\nL:1/8\nK:G\nGAB cde | d3 B3 | G6 |]\n"  # 3 bars: a measure and a half
JIG_2 = "T:Jig 2\nM:6/8\nL:1/8\nK:G\nBAG AGE | D3 D3 | G3 E3 |]\n"
SLIDE = "T:Twelve\nM:12/8\nL:1/8\nK:D\nd3 cBA B3 A3 | d12 | A12 |]\n"
SLIP_JIG = "T:Slip jig\nM:9/8\nL:1/8\nK:D\nABA d2B A2F |]\n"
REEL = "T:Reel\nM:4/4\nL:1/8\nK:D\nd2 e2 f2 g2 | a8 | d8 |]\n"
# Aird's Airs stand-ins, long enough (6 measures each) for the evaluation's metrics.
AIR_WALTZ = "T:Air\nM:3/4\nL:1/8\nK:C\nE2 G2 c2 | B4 G2 | A2 F2 D2 | C6 | E2 G2 c2 | d6 |]\n"
AIR_JIG = "T:Air jig\nM:6/8\nL:1/8\nK:G\n" + "GAB cde | d3 B3 | BAG AGE | D3 D3 | GBd gdB | c3 A3 |" * 2 + "]\n"
JIG_TO_SLIP = "T:Changes\nM:6/8\nL:1/8\nK:G\nGAB cde |[M:9/8] d3 B3 G3 |]\n"


def _abc(*tunes: tuple[int, str]) -> str:
    return "%abc-2.1\n\n" + "\n".join(f"X:{x}\n{t}" for x, t in tunes)


@pytest.fixture
def meter_root(tmp_path, monkeypatch):
    """A corpus of a few ABC tunes in every meter, and no Bach (whose 371 chorales would be parsed every time)."""
    tunes = _abc((1, WALTZ), (2, JIG), (3, SLIP_JIG), (4, REEL), (5, JIG_TO_SLIP), (6, SLIDE), (7, WALTZ_2))
    for folder, files in {
        "essenFolksong": {"e.abc": tunes},
        "oneills1850": {"o.abc": _abc((1, WALTZ_3), (2, JIG_2))},
        "airdsAirs": {"a.abc": _abc((1, AIR_WALTZ), (2, AIR_JIG), (3, SLIP_JIG), (4, REEL))},
    }.items():
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    monkeypatch.setattr(corpora, "corpus_root", lambda: tmp_path)
    monkeypatch.setattr(corpora, "_list_bach", lambda: ([], corpora.Counter(), corpora.Counter()))
    return tmp_path


def test_compound_dataset_keeps_six_and_twelve_eight_and_counts_the_rest(meter_root, tmp_path) -> None:
    ds = data.load_dataset("compound", cache_dir=tmp_path / "cache", progress=False)
    s = ds.summary
    assert s["grid"] == "compound" and ds.grid is COMPOUND and ds.tokens.shape[1] == 24
    assert s["pieces_found"] == 9 and s["pieces_kept"] == 3
    # The slip jig, the reel and the three waltzes are dropped and counted; so is the jig that turns into a slip jig.
    assert s["skipped"] == {"meter not 12/8 or 6/8": 5, corpora.SKIP_METER_CHANGE: 1}
    assert s["header_meters"]["9/8"] == 1 and s["meters_kept"] == {"6/8": 2, "12/8": 1}
    assert set(s["by_meter"]) == {"6/8", "12/8"} and set(s["by_collection"]) == {"essenFolksong", "oneills1850"}
    assert sum(v["pieces"] for m in s["by_meter"].values() for v in m.values()) == 3
    assert sum(v["measures"] for m in s["by_meter"].values() for v in m.values()) == len(ds)
    assert set(s["novel_share"]) == {"val", "test"}
    piece = ds.pieces.index("essenFolksong/e.abc#2")
    jig, shift = ds.tokens[ds.piece == piece], int(ds.transpose[ds.piece == piece][0])
    # Stored once, centred in the vocabulary's range: every pitch shifted by the piece's shift.
    events = [(0, 67), (2, 69), (4, 71), (6, 72), (8, 74), (10, 76), (12, 74), (18, 71)]
    assert jig.tolist() == [
        measure(COMPOUND, *[(t, tok(p + shift)) for t, p in events]),  # GAB cde | d3 B3: two 6/8 bars, one measure
        measure(COMPOUND, (0, tok(67 + shift)), (12, REST)),  # G6: a dotted half, then the piece ends
    ]


def test_triple_dataset_and_the_held_out_sets(meter_root, tmp_path) -> None:
    triple = data.load_dataset("triple", cache_dir=tmp_path, progress=False)
    assert triple.tokens.shape[1] == 18 and triple.summary["meters_kept"] == {"3/4": 3}
    assert triple.summary["skipped"]["meter not 3/4"] == 5  # jigs, slide, slip jig, reel
    assert np.bincount(triple.split, minlength=3).tolist()[0] > 0
    ood = data.load_dataset("airds-triple", cache_dir=tmp_path, progress=False)
    assert ood.pieces == ["airdsAirs/a.abc#1"] and (ood.split == 2).all() and ood.tokens.shape[1] == 18
    ood_c = data.load_dataset("airds-compound", cache_dir=tmp_path, progress=False)
    assert ood_c.pieces == ["airdsAirs/a.abc#2"] and ood_c.tokens.shape[1] == 24
    # The simple grid's held-out set is as before: the reel only.
    assert data.load_dataset("airds", cache_dir=tmp_path, progress=False).pieces == ["airdsAirs/a.abc#4"]
    assert "grid" not in data.load_dataset("airds", cache_dir=tmp_path, progress=False).summary


# ------------------------------------------------------------------------------------------ configs and presets


def test_presets_of_the_new_grids_and_a_dataset_on_another_grid_refused() -> None:
    for name, grid in (("triple-arvae", "triple"), ("compound-arvae", "compound")):
        cfg = PRESETS[name]
        assert cfg.model.grid == grid and cfg.dataset == grid
        general = PRESETS["general-arvae"]
        # The general model's dials but syncopation, which these meters' tunes almost never have (configs.py).
        assert cfg.attributes == tuple(a for a in general.attributes if a != "syncopation")
        assert (cfg.attributes, cfg.latent_dims, cfg.lr, cfg.min_lr, cfg.grad_clip, cfg.augment_transpose) == (
            ("note_density", "pitch_range", "contour", "register"),
            (0, 1, 2, 3),
            3e-4,  # a fine-tune of the general model (configs.FINE_TUNE_LR)
            1e-5,
            1.0,
            True,
        )
    with pytest.raises(ConfigError, match="dataset triple is on the triple grid but model.grid is 'simple'"):
        TrainConfig(dataset="triple")
    with pytest.raises(ConfigError, match=r"synthetic_max_notes must be in range 1\.\.18"):
        apply_overrides(PRESETS["tiny"], ["model.grid=triple", "synthetic_max_notes=20"])


def test_synthetic_measures_on_each_grid() -> None:
    assert random_measures(5, 0, max_notes=18, grid=TRIPLE).shape == (5, 18)
    compound = random_measures(5, 0, grid=COMPOUND)
    assert np.array_equal(compound, random_measures(5, 0))  # same draws; only the grid's timing differs
    assert np.array_equal(random_measures(5, 0, grid=SIMPLE), random_measures(5, 0))


@pytest.mark.parametrize("grid", [TRIPLE, COMPOUND])
def test_expected_attributes_match_the_grid_attributes_on_one_hot_measures(grid) -> None:
    tokens = random_measures(16, 3, grid=grid)
    probs = torch.nn.functional.one_hot(torch.from_numpy(tokens), Vocabulary().size).float()
    values = compute_attributes(tokens, ["note_density", "rhythmic_complexity"], grid)
    got = losses.expected_note_density(probs, grid).numpy()
    np.testing.assert_allclose(got, values["note_density"], rtol=1e-6)
    got = losses.expected_rhythmic_complexity(probs, grid).numpy()
    np.testing.assert_allclose(got, values["rhythmic_complexity"], rtol=1e-6)


# ------------------------------------------------------------------ the tiny preset: train, export, reload, evaluate


@pytest.mark.parametrize("grid", [TRIPLE, COMPOUND])
def test_tiny_trains_exports_reloads_and_evaluates_on_each_grid(grid, meter_root, tmp_path) -> None:
    run_dir = run("tiny", [*TINY, f"model.grid={grid.name}"], out=tmp_path / "runs", max_steps=1, progress=False)
    trained = load_checkpoint(run_dir / CHECKPOINT_NAME)
    assert (
        trained.model_config.grid == grid.name and trained.vocabulary.to_dict(grid)["ticks_per_measure"] == grid.ticks
    )
    out = tmp_path / "model.pt"
    summary = export_checkpoint(run_dir, out, device="cpu", allow_degenerate=True, progress=False)
    assert len(summary.check_input) == grid.ticks
    exported = load_checkpoint(out)
    assert exported.model_config.grid == grid.name
    model = exported.build_model()
    assert model.grid is grid
    with torch.inference_mode():
        tokens, _ = model.decode_free(torch.zeros(2, model.config.latent_dim))
    assert tokens.shape == (2, grid.ticks)
    # Evaluated on its own (synthetic) held-out measures and on Aird's Airs in its meters (built in the cache).
    cache = tmp_path / "cache"
    data.load_dataset(f"airds-{grid.name}", cache_dir=cache, progress=False)
    ev = evaluate_checkpoint(out, HeldOutData(cache_dir=cache, ood=True, z_draws=1), progress=False)
    assert ev.dataset == "synthetic" and 0.0 <= ev.metrics["recon_acc"] <= 1.0
    assert ev.metrics["ood.n_measures"] == len(data.load_dataset(f"airds-{grid.name}", cache_dir=cache).tokens)
    with pytest.raises(DatasetUnavailableError, match=f"dataset general is on the simple grid .* {grid.name} grid"):
        evaluate_checkpoint(out, HeldOutData(dataset="general", cache_dir=cache), progress=False)
