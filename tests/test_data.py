"""Corpus datasets: melody extraction, skips with reasons, transpositions, splits, cache, `arvae-train prepare`.

Expected tokens are written out by hand from the scores (default vocabulary: MIDI pitch p is token p - 53).
"""

from __future__ import annotations

import numpy as np
import pytest
from _training_helpers import music21_part
from click.testing import CliRunner

from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, REST, TICKS_PER_MEASURE, Vocabulary
from arvae_live.errors import ConfigError
from training import corpora, data
from training.cli import main as train_cli

H = HOLD


def measure(*events: tuple[int, int]) -> list[int]:
    """A 24-tick measure from (tick, token) events; every other tick is HOLD."""
    row = [H] * TICKS_PER_MEASURE
    for tick, token in events:
        row[tick] = token
    return row


def tok(midi: int) -> int:
    """Token of a MIDI pitch in the default vocabulary (55..84)."""
    return midi - 55 + FIRST_PITCH_TOKEN


@pytest.fixture(scope="module")
def bach8(tmp_path_factory) -> data.MeasureDataset:
    """The first 8 chorales of the corpus, built once for the module (about a second)."""
    return data.load_dataset("bach", cache_dir=tmp_path_factory.mktemp("cache"), limit=8, progress=False)


# ---------------------------------------------------------------------------------------------------------- Bach


def test_bach_first_chorales_counts_and_reasons(bach8: data.MeasureDataset) -> None:
    s = bach8.summary
    # Of the first 8 chorales, bwv269 and bwv17.7 are in 3/4 (checked by hand in the scores); the others are 4/4.
    assert s["pieces_found"] == 8
    assert s["skipped"] == {data.SKIP_METER: 2}
    assert s["pieces_kept"] == 6 and len(bach8.pieces) == 6
    assert "bach/bwv269" not in bach8.pieces and "bach/bwv153.1" in bach8.pieces
    assert bach8.tokens.dtype == np.int64 and bach8.tokens.shape == (len(bach8), TICKS_PER_MEASURE)
    assert s["measures"] == len(bach8)


def test_bach_chorale_tokens_by_hand(bach8: data.MeasureDataset) -> None:
    # bwv153.1 soprano: pick-up B4 quarter | C5 B4 A4 E5 | E5 8th, D5 8th, C5 B4 D5 | ...
    i = bach8.pieces.index("bach/bwv153.1")
    rows = bach8.tokens[(bach8.piece == i) & (bach8.transpose == 0)]
    assert rows[:3].tolist() == [
        measure((0, REST), (18, tok(71))),  # pick-up padded by 3 beats so that bar 1 starts a measure
        measure((0, tok(72)), (6, tok(71)), (12, tok(69)), (18, tok(76))),
        measure((0, tok(76)), (3, tok(74)), (6, tok(72)), (12, tok(71)), (18, tok(74))),
    ]


def test_bach_split_is_by_piece(bach8: data.MeasureDataset) -> None:
    for i in range(len(bach8.pieces)):
        assert len(set(bach8.split[bach8.piece == i].tolist())) == 1, f"piece {i} in two splits"
    parts = [bach8.split_tokens(name) for name in data.SPLITS]
    assert sum(len(p) for p in parts) == len(bach8)
    first_rows = np.unique(bach8.piece, return_index=True)[1]
    assert np.bincount(bach8.split[first_rows], minlength=3).tolist() == [4, 1, 1]  # 6 pieces: 70/20/10, rounded
    with pytest.raises(ConfigError, match="unknown split"):
        bach8.split_tokens("training")


def test_bach_transpositions_cover_exactly_the_range(bach8: data.MeasureDataset) -> None:
    vocab = bach8.vocab
    for i in range(len(bach8.pieces)):
        rows = bach8.piece == i
        base = bach8.tokens[rows & (bach8.transpose == 0)]
        pitched = base >= FIRST_PITCH_TOKEN
        lo, hi = base[pitched].min() - FIRST_PITCH_TOKEN + 55, base[pitched].max() - FIRST_PITCH_TOKEN + 55
        # Every shift keeping lo..hi inside 55..84, and nothing else.
        assert sorted(set(bach8.transpose[rows].tolist())) == list(range(55 - lo, 84 - hi + 1))
        for shift in (55 - lo, 84 - hi):
            moved = bach8.tokens[rows & (bach8.transpose == shift)]
            assert (moved[~pitched] == base[~pitched]).all()  # HOLD and REST stay
            assert (moved[pitched] == base[pitched] + shift).all()
    assert bach8.tokens.max() < vocab.size and bach8.tokens.min() >= 0


def test_no_measure_is_only_padding(bach8: data.MeasureDataset) -> None:
    no_onset = ~(bach8.tokens >= FIRST_PITCH_TOKEN).any(axis=1)
    # A measure with no onset must be a note held from the bar before (HOLD at tick 0), never rest or padding.
    assert (bach8.tokens[no_onset, 0] == HOLD).all()
    # bwv153.1 with its repeat expanded has bars of 1 | 4 4 4 3 | 1 4 4 4 3 | 1 4 4 4 4 4 3 beats (56 in all): the
    # pick-up's measure, then each 3 + 1 pair is one measure: 15 measures, none of padding before or after.
    i = bach8.pieces.index("bach/bwv153.1")
    assert ((bach8.piece == i) & (bach8.transpose == 0)).sum() == 15


def test_silent_measures_by_hand() -> None:
    tokens = np.array(
        [
            measure((0, REST)),  # silence before the first note
            measure((12, tok(60))),  # note at beat 3, held into the next bar
            measure((6, REST)),  # the held note sounds for one beat, then rests
            measure(),  # the rest goes on the whole bar
            measure((0, tok(62))),
        ]
    )
    assert data.silent_measures(tokens).tolist() == [True, False, False, True, False]


def test_cache_second_load_reads_the_file(tmp_path, monkeypatch) -> None:
    first = data.load_dataset("bach", cache_dir=tmp_path, limit=3, progress=False)
    assert first.summary["from_cache"] is False
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["bach_p55-84_n3_v1.json", "bach_p55-84_n3_v1.npz"]

    def no_build(*args, **kwargs):
        raise AssertionError("build_dataset called although a cache exists")

    monkeypatch.setattr(data, "build_dataset", no_build)
    second = data.load_dataset("bach", cache_dir=tmp_path, limit=3, progress=False)
    assert second.summary.pop("from_cache") is True and first.summary.pop("from_cache") is False
    assert second.summary == first.summary and second.pieces == first.pieces
    for key in ("tokens", "piece", "transpose", "split"):
        assert (
            np.array_equal(getattr(first, key), getattr(second, key))
            and getattr(second, key).dtype == getattr(first, key).dtype
        )
    # Another limit or vocabulary is another key: it would build.
    with pytest.raises(AssertionError, match="build_dataset called"):
        data.load_dataset("bach", cache_dir=tmp_path, limit=3, vocab=Vocabulary(48, 84), progress=False)


def test_corrupt_cache_is_a_one_line_error(tmp_path) -> None:
    (tmp_path / "bach_p55-84_n2_v1.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="--rebuild"):
        data.load_dataset("bach", cache_dir=tmp_path, limit=2, progress=False)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown dataset 'jazz'"):
        data.load_dataset("jazz")
    with pytest.raises(ConfigError, match="limit"):
        data.build_dataset("bach", limit=0)


def test_split_pieces_proportions_and_seed() -> None:
    codes = data.split_pieces(10)
    assert np.bincount(codes, minlength=3).tolist() == [7, 2, 1]
    assert np.array_equal(codes, data.split_pieces(10))
    assert not np.array_equal(codes, data.split_pieces(10, seed=1))
    assert np.bincount(data.split_pieces(3), minlength=3).tolist() == [1, 1, 1]


# ------------------------------------------------------------------------------------------- hand-made melodies


def test_two_four_bars_pair_into_one_measure() -> None:
    # 2/4: pick-up G4 8th | C5 q, E5 8th, D5 8th | C5 half tied | into C5 q, rest q |
    part = music21_part(
        "2/4",
        [
            [("G4", 0.5, None)],
            [("C5", 1, None), ("E5", 0.5, None), ("D5", 0.5, None)],
            [("C5", 2, "start")],
            [("C5", 1, "stop"), (None, 1, None)],
        ],
    )
    melody = data.melody_from_part(part)
    assert melody.meter == "2/4" and (melody.pitch_low, melody.pitch_high) == (67, 76)
    wide = data.transpose_tokens(melody.tokens, 0, Vocabulary())
    assert wide.tolist() == [
        measure((0, REST), (21, tok(67))),  # pick-up alone, padded to 3.5 beats: G4 on beat 4's 8th off-beat
        measure((0, tok(72)), (6, tok(76)), (9, tok(74)), (12, tok(72))),  # bars 1 and 2; C5 held over the bar line
        measure((6, REST)),  # bar 3: the tie continues C5 for a beat (no new onset), then the rest
    ]


def test_off_grid_piece_is_skipped_with_reason() -> None:
    # A 32nd note at beat 1 1/8 is on no tick of the grid.
    part = music21_part("4/4", [[("C5", 0.125, None), ("D5", 0.875, None), ("E5", 3, None)]])
    with pytest.raises(data.PieceSkipped, match=data.SKIP_OFF_GRID):
        data.melody_from_part(part)
    part = music21_part("3/4", [[("C5", 3, None)]])
    with pytest.raises(data.PieceSkipped, match=data.SKIP_METER):
        data.melody_from_part(part)


# ----------------------------------------------------------------------------------------- folk, a tiny corpus

GOOD_44 = "T:Good\nM:4/4\nL:1/8\nK:C\nC2 D2 E2 F2 | G4 A4 | G8 |]\n"  # 60..69, 3 bars
SAME_UP_A_TONE = "T:Same tune in D\nM:4/4\nL:1/8\nK:D\nD2 E2 F2 G2 | A4 B4 | A8 |]\n"
TWO_FOUR = "T:Two-four\nM:2/4\nL:1/8\nK:C\nG | c2 ed | c4 | G2 z2 |]\n"  # 67..76
SIX_EIGHT = "T:Jig\nM:6/8\nL:1/8\nK:G\nGAB cde | d3 B3 |]\n"
THIRTY_SECONDS = "T:Fast\nM:4/4\nL:1/8\nK:C\nC/4D/4E/4F/4 G7 | c8 | c8 |]\n"
CHORDS = "T:Chords\nM:4/4\nL:1/8\nK:C\n[CEG]2 D2 E2 F2 | G8 | G8 |]\n"
METER_CHANGE = "T:Changes\nM:4/4\nL:1/8\nK:C\nC2 D2 E2 F2 | G8 |[M:3/4] G2 A2 B2 |]\n"


def _abc(*tunes: tuple[int, str]) -> str:
    return "%abc-2.1\n\n" + "\n".join(f"X:{x}\n{t}" for x, t in tunes)


@pytest.fixture
def tiny_folk_root(tmp_path, monkeypatch):
    for folder, files in {
        "essenFolksong": {"e.abc": _abc((1, GOOD_44), (2, SIX_EIGHT), (3, THIRTY_SECONDS), (4, CHORDS))},
        "oneills1850": {
            "0001-0002.abc": _abc((1, TWO_FOUR), (2, METER_CHANGE)),
            "0001-0001_b.abc": _abc((1, TWO_FOUR.replace("c4", "c3 c"))),  # tune 1 again, another transcription
        },
        "ryansMammoth": {
            "Copy.abc": _abc((1, GOOD_44.replace("T:Good", "T:Good, a copy"))),  # same music, other title
            "Transposed.abc": _abc((1, SAME_UP_A_TONE)),
        },
    }.items():
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    monkeypatch.setattr(corpora, "corpus_root", lambda: tmp_path)
    return tmp_path


def test_split_abc_tunes() -> None:
    tunes = corpora.split_abc_tunes("L:1/8\n\n" + _abc((3, "T:a\nM:C|\nK:C\nC8|]\n"), (4, "T:b\nK:C\nC8|]\n")))
    assert [(x, m) for x, m, _ in tunes] == [("3", "2/2"), ("4", "none")]
    assert tunes[0][2].startswith("L:1/8\nX:3\n")  # file header fields go with every tune
    body_changes = corpora.split_abc_tunes("X:1\nM:2/4\nK:C\nC4|\nM:3/4\nC6|]\n")
    inline_same = corpora.split_abc_tunes("X:1\nM:C\nK:C\nC8|[M:4/4]C8|]\n")
    assert body_changes[0][1] == "changes" and inline_same[0][1] == "4/4"


def test_tiny_folk_corpus_kept_and_skipped(tiny_folk_root, tmp_path) -> None:
    ds = data.load_dataset("folk", cache_dir=tmp_path / "cache", progress=False)
    s = ds.summary
    assert s["pieces_found"] == 9
    assert s["skipped"] == {
        corpora.SKIP_DUPLICATE: 2,  # O'Neill's tune 1 twice; Ryan's copy of GOOD_44
        corpora.SKIP_METER: 1,  # the 6/8 jig, never parsed
        data.SKIP_OFF_GRID: 1,
        data.SKIP_POLYPHONIC: 1,
        data.SKIP_METER_CHANGE: 1,
        data.SKIP_DUPLICATE_MELODY: 1,  # GOOD_44 a tone up
    }
    assert ds.pieces == ["essenFolksong/e.abc#1", "oneills1850/0001-0001_b.abc#1"]
    assert s["meters_kept"] == {"4/4": 1, "2/4": 1}
    # GOOD_44: 3 measures, pitches 60..69 -> shifts -5..15 (21); the 2/4 tune: pick-up + 2 measures, 67..76 -> -12..8.
    assert s["measures_untransposed"] == 3 + 3
    assert s["measures"] == 3 * 21 + 3 * 21
    good = ds.tokens[(ds.piece == 0) & (ds.transpose == 0)]
    assert good.tolist() == [
        measure((0, tok(60)), (6, tok(62)), (12, tok(64)), (18, tok(65))),
        measure((0, tok(67)), (12, tok(69))),
        measure((0, tok(67))),
    ]


def test_prepare_command_prints_the_summary(tiny_folk_root, tmp_path) -> None:
    runner = CliRunner()
    args = ["prepare", "--dataset", "folk", "--cache-dir", str(tmp_path / "c"), "--workers", "1"]
    first = runner.invoke(train_cli, args)
    assert first.exit_code == 0, first.output
    assert "folk: built in" in first.output
    assert "pieces kept" in first.output and "skipped: duplicate melody" in first.output
    second = runner.invoke(train_cli, args)
    assert second.exit_code == 0 and "loaded from cache" in second.output
    bad = runner.invoke(train_cli, ["prepare", "--dataset", "jazz"])
    assert bad.exit_code == 2 and "jazz" in bad.output


def test_an_unexpected_error_skips_the_piece_by_name(monkeypatch, caplog) -> None:
    def broken(source, grid):
        raise RuntimeError("boom")

    monkeypatch.setattr(data, "melody_from_source", broken)
    assert data._process(corpora.PieceSource(name="x/y#1", abc_text="X:1\n")) == (
        "x/y#1",
        "unexpected error (RuntimeError)",
    )
    assert "x/y#1: unexpected RuntimeError: boom" in caplog.text
