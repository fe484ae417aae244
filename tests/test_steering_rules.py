"""The rules that make a regenerated clip usable for a performer (issue #14), pinned on the tiny model: decoding stays
in a scale, a bar nothing was asked of comes back as it is, a moved dial keeps the notes it can, bar lines do not
leap where the input did not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tick_notes

from arvae_live import steering
from arvae_live.core.key import allowed_tokens
from arvae_live.core.model import MeasureVAE
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD, Vocabulary, notes_to_tokens
from arvae_live.engine import Clips, LiveModel, neighbour_notes
from arvae_live.fast_decode import FastDecoder
from arvae_live.steering import Budget, Request

C_MAJOR = frozenset({0, 2, 4, 5, 7, 9, 11})


@pytest.fixture
def lm(tiny_ckpt) -> LiveModel:
    return LiveModel.from_checkpoint(tiny_ckpt)


def _pitch_classes(tokens: np.ndarray, vocab: Vocabulary) -> set[int]:
    t = tokens.reshape(-1)
    return {int(p) % 12 for p in t[t >= FIRST_PITCH_TOKEN] - FIRST_PITCH_TOKEN + vocab.pitch_low}


@pytest.mark.parametrize("temperature", [0.0, 1.5])
def test_the_mask_holds_in_both_decoders_argmax_and_sampling(tiny_model: MeasureVAE, vocab, temperature):
    allowed = torch.from_numpy(allowed_tokens(C_MAJOR, vocab))
    z = torch.randn(64, tiny_model.config.latent_dim, generator=torch.Generator().manual_seed(0)) * 2
    with torch.inference_mode():
        free = tiny_model.decode_free(z)[0]
        assert _pitch_classes(free.numpy(), vocab) - C_MAJOR  # unmasked, this model does leave the scale
        g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        fast = FastDecoder(tiny_model).decode(z, temperature, g1, allowed)
        eager = tiny_model.decode_free(z, temperature, g2, allowed)[0]
    assert torch.equal(fast, eager)
    assert _pitch_classes(fast.numpy(), vocab) <= C_MAJOR


def test_regenerate_stays_in_the_inputs_key_and_keeps_its_own_chromatic_notes(lm, vocab):
    # C major with one F sharp (a chromatic note of the input's own, which stays allowed)
    bar1 = ((60, 0, 6), (64, 6, 6), (67, 12, 6), (66, 18, 3), (67, 21, 3))
    notes = tick_notes(*bar1, (64, 24, 6), (62, 30, 6), (60, 36, 12))
    tokens, _ = notes_to_tokens(notes, 2, vocab)
    res = lm.regenerate(tokens, {"note_density": 0.9, "pitch_range": 0.8}, variations=4, temperature=1.0, seed=1)
    assert res.key == "C major"
    assert _pitch_classes(res.tokens, vocab) <= C_MAJOR | {6}
    custom = lm.regenerate(tokens, {"note_density": 0.9}, variations=4, temperature=1.0, seed=1, scale=[0, 7])
    assert custom.key == "custom" and _pitch_classes(custom.tokens, vocab) <= {0, 7} | _pitch_classes(tokens, vocab)
    with pytest.raises(ValueError, match="pitch classes"):
        lm.regenerate(tokens, {}, scale=[12])


def test_a_bar_nothing_was_asked_of_comes_back_as_it_is_undecoded(lm, measures):
    res = lm.regenerate(measures, {})
    np.testing.assert_array_equal(res.tokens[0], measures)
    assert res.n_decoded == 0
    own = lm.measure_attributes(measures)
    res = lm.regenerate(measures, {"note_density": own["note_density"]})  # targets set to the bars' own values
    np.testing.assert_array_equal(res.tokens[0], measures)
    # only variation 0 at temperature 0 keeps the input; the others are variations
    res = lm.regenerate(measures, {}, variations=3, seed=2)
    np.testing.assert_array_equal(res.tokens[0], measures)
    assert res.n_decoded >= 2 * len(measures)


def test_splice_keeps_the_input_beats_a_target_does_not_need(lm, vocab):
    ref, _ = notes_to_tokens(tick_notes((60, 0, 6), (62, 6, 6), (64, 12, 6), (65, 18, 6)), 1, vocab)
    # the candidate meets a denser target by splitting beat 3 into three notes, but also moved beats 1, 2 and 4
    cand, _ = notes_to_tokens(
        tick_notes((67, 0, 6), (69, 6, 6), (64, 12, 2), (65, 14, 2), (67, 16, 2), (72, 18, 6)), 1, vocab
    )
    want, _ = notes_to_tokens(
        tick_notes((60, 0, 6), (62, 6, 6), (64, 12, 2), (65, 14, 2), (67, 16, 2), (65, 18, 6)), 1, vocab
    )
    loop = lm.steering
    att = steering.measure(loop.attributes, cand)
    asked = np.full_like(att, np.nan)
    col = [a.name for a in loop.attributes].index("note_density")
    asked[:, col] = att[:, col]  # target: the candidate's density (6 onsets)
    req = Request(asked, frozenset({"note_density"}), ref, 0.0, None, Budget(loop.cost, None, 0.0))
    best = steering.Candidates(np.zeros((1, lm.latent_dim)), cand, att, loop.score(att, cand, req))
    loop.splice(best, req)
    np.testing.assert_array_equal(best.tokens, want)


def test_new_bar_line_leaps_are_counted_against_the_input():
    H = HOLD
    ref = np.array([[12] + [H] * 23])  # one whole note, token 12
    cand = np.array([[30] + [H] * 22 + [12]])  # starts 18 semitones above, ends on 12
    before, after = np.array([10.0]), np.array([np.nan])
    assert steering.new_leaps(cand, ref, before, after)[0] == 1  # 30 after 10: a new leap in
    assert steering.new_leaps(ref, ref, before, after)[0] == 0
    assert steering.new_leaps(cand, np.array([[29] + [H] * 23]), before, after)[0] == 0  # the input leapt there too
    tokens = np.stack([ref[0], cand[0], np.full(24, H), ref[0]])
    b, a = neighbour_notes(tokens)
    np.testing.assert_array_equal(np.isnan(b), [True, False, False, False])
    assert (b[1], b[2], b[3], a[0], a[1], a[2]) == (12, 12, 12, 30, 12, 12)


def test_join_bars_moves_a_leaping_bar_an_octave_towards_the_note_before(lm):
    H = HOLD
    ref = np.array([[10] + [H] * 23, [12] + [H] * 23])  # the input steps by 2 across its bar line
    out = np.array([[10] + [H] * 23, [26, H, H, H, H, H, 27] + [H] * 17])  # the output leaps 16 up, then steps
    att = steering.measure(lm.attributes, out)
    best = steering.Candidates(np.zeros((2, lm.latent_dim)), out.copy(), att, np.zeros(2))
    req = Request(np.full_like(att, np.nan), frozenset(), ref, 0.0, None, Budget(lm.steering.cost, None, 0.0))
    assert steering.join_bars(best, req, [2], lm.vocab.size, lm.attributes) == 1
    np.testing.assert_array_equal(best.tokens[1], out[1] - np.where(out[1] >= FIRST_PITCH_TOKEN, 12, 0))
    np.testing.assert_array_equal(best.attributes, att)  # an octave changes none of the paper's attributes
    leapt = ref.copy()
    leapt[1, 0] = 26  # where the input leaps itself, the output may too
    req.ref = leapt
    best.tokens[:] = out
    assert steering.join_bars(best, req, [2], lm.vocab.size, lm.attributes) == 0


def test_several_clips_in_one_call_each_keep_their_own_key(lm, vocab):
    c_major, _ = notes_to_tokens(tick_notes((60, 0, 6), (64, 6, 6), (67, 12, 6), (72, 18, 6)), 1, vocab)
    f_sharp_major, _ = notes_to_tokens(tick_notes((66, 0, 6), (70, 6, 6), (73, 12, 6), (78, 18, 6)), 1, vocab)
    both = np.concatenate([c_major, c_major, f_sharp_major, f_sharp_major])
    res = lm.regenerate(
        both, {"note_density": 0.9}, variations=2, temperature=1.0, seed=4, scale=Clips((2, 2), ("auto", "auto"))
    )
    assert res.keys == ["C major", "F# major"] and res.key is None
    f_sharp = {6, 8, 10, 11, 1, 3, 5}
    assert _pitch_classes(res.tokens[:, :2], vocab) <= C_MAJOR
    assert _pitch_classes(res.tokens[:, 2:], vocab) <= f_sharp
    with pytest.raises(ValueError, match="clips"):
        lm.regenerate(both, {}, scale=Clips((2, 1), ("auto", "auto")))


def test_a_scale_per_row_matches_the_eager_decoder(tiny_model: MeasureVAE, vocab):
    z = torch.randn(32, tiny_model.config.latent_dim, generator=torch.Generator().manual_seed(1)) * 2
    rows = [allowed_tokens(C_MAJOR if b % 2 else frozenset({1, 3, 6, 8, 10}), vocab) for b in range(32)]
    allowed = torch.from_numpy(np.stack(rows))
    with torch.inference_mode():
        fast = FastDecoder(tiny_model).decode(z, 0.0, None, allowed)
        eager = tiny_model.decode_free(z, 0.0, None, allowed)[0]
    assert torch.equal(fast, eager)
    assert _pitch_classes(fast[1::2].numpy(), vocab) <= C_MAJOR
    assert _pitch_classes(fast[0::2].numpy(), vocab) <= {1, 3, 6, 8, 10}


def test_join_bars_moves_the_bar_before_when_the_leaping_one_cannot_move(lm):
    H = HOLD
    ref = np.array([[20] + [H] * 23, [22] + [H] * 23])  # the input steps by 2
    # bar 2 spans the whole vocabulary (tokens 2..31): no octave fits; bar 1 (token 8) can move up to 20
    out = np.array([[8] + [H] * 23, [25, H, H, H, H, H, 2, H, H, H, H, H, 31] + [H] * 11])
    att = steering.measure(lm.attributes, out)
    best = steering.Candidates(np.zeros((2, lm.latent_dim)), out.copy(), att, np.zeros(2))
    req = Request(np.full_like(att, np.nan), frozenset(), ref, 0.0, None, Budget(lm.steering.cost, None, 0.0))
    assert steering.join_bars(best, req, [2], lm.vocab.size, lm.attributes) == 1
    np.testing.assert_array_equal(best.tokens[0], out[0] + np.where(out[0] >= FIRST_PITCH_TOKEN, 12, 0))
    np.testing.assert_array_equal(best.tokens[1], out[1])
