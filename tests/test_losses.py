"""The loss functions against values worked out by hand or by torch.distributions (an independent route)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from arvae_live.core.attributes import compute_attributes
from arvae_live.core.representation import FIRST_PITCH_TOKEN, HOLD
from training import losses


def test_ar_regularizer_two_samples_by_hand():
    # pairs (0,1) and (1,0): |tanh(-1) - (-1)| = |tanh(1) - 1| = 1 - tanh(1) = 0.238406; diagonal pairs give 0
    z = torch.tensor([0.0, 1.0])
    a = torch.tensor([0.2, 0.5])
    assert losses.ar_regularizer(z, a, delta=1.0).item() == pytest.approx(2 * 0.238406 / 4, abs=1e-6)


def test_ar_regularizer_wrong_order_and_ties():
    z = torch.tensor([0.0, 1.0])
    # attribute order opposite to z: off-diagonal terms are 1 + tanh(1) = 1.761594 each
    assert losses.ar_regularizer(z, torch.tensor([0.5, 0.2]), 1.0).item() == pytest.approx(2 * 1.761594 / 4, abs=1e-6)
    # equal attributes (sign 0): |tanh(+-1)| = 0.761594 each, pulling the two codes together
    assert losses.ar_regularizer(z, torch.tensor([0.3, 0.3]), 1.0).item() == pytest.approx(2 * 0.761594 / 4, abs=1e-6)


def test_attribute_regularization_puts_column_k_on_dims_k():
    z = torch.tensor([[0.0, 5.0, 1.0], [1.0, -5.0, 0.0]])
    attrs = torch.tensor([[0.2, 0.0], [0.5, 1.0]])  # column 0 rises like z0, column 1 rises against z2
    got = losses.attribute_regularization(z, attrs, dims=[0, 2], gamma=2.0, delta=1.0)
    # column 0 on z0: 0.119203 (test above); column 1 on z2 (z2 falls as it rises): 0.880797
    assert got.item() == pytest.approx(2.0 * (0.119203 + 0.880797), abs=1e-5)


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(losses.kl_divergence(mu, logvar), expected)
    assert losses.kl_divergence(torch.tensor([[1.0]]), torch.tensor([[0.0]])).item() == pytest.approx(0.5)
    p_mu, p_logvar = torch.randn(5, 3), torch.randn(5, 3)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(p_mu, (0.5 * p_logvar).exp()))
    torch.testing.assert_close(losses.gaussian_kl(mu, logvar, p_mu, p_logvar), expected)


def test_beta_schedules():
    assert losses.beta_at(0, 0.001) == 0.001
    assert losses.beta_at(4, 0.5, "constant", warmup_steps=5) == 0.0
    assert losses.beta_at(5 + 50, 0.5, "linear", warmup_steps=5, anneal_steps=100) == pytest.approx(0.25)
    assert losses.beta_at(0, 4.0, "exp", anneal_steps=100) == 0.0
    assert losses.beta_at(100, 4.0, "exp", anneal_steps=100) == pytest.approx(4.0)
    assert losses.beta_at(50, 4.0, "exp", anneal_steps=100) == pytest.approx(math.sqrt(5.0) - 1.0)  # (1+b)^(1/2)-1
    assert losses.beta_at(10_000, 4.0, "linear", anneal_steps=100) == 4.0


def test_expected_attributes_of_one_hot_probabilities_equal_the_attributes(measures, vocab):
    probs = torch.nn.functional.one_hot(torch.from_numpy(measures), vocab.size).float()
    values = compute_attributes(measures, ("rhythmic_complexity", "note_density"))
    np.testing.assert_allclose(
        losses.expected_rhythmic_complexity(probs).numpy(), values["rhythmic_complexity"], rtol=1e-6
    )
    np.testing.assert_allclose(losses.expected_note_density(probs).numpy(), values["note_density"], rtol=1e-6)


def test_glsr_derivative_of_a_known_decoder(vocab):
    # A decoder whose every tick is an onset with probability sigmoid(z0) (else HOLD): E[density] = sigmoid(z0),
    # so d/dz0 = s(1 - s), divided by the scale 0.5.
    def decode_probs(z):
        p = torch.sigmoid(z[:, 0])[:, None].expand(-1, 24)
        probs = torch.zeros(z.shape[0], 24, vocab.size)
        probs[..., HOLD] = 1 - p
        probs[..., FIRST_PITCH_TOKEN] = p
        return probs

    z = torch.tensor([[0.0, 3.0], [1.0, -2.0]], requires_grad=True)
    loss, deriv = losses.glsr_regularization(z, decode_probs, [0], ["note_density"], [0.5], 1e-3, 0.25, 0.1)
    s = torch.sigmoid(torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(deriv[:, 0], s * (1 - s) / 0.5, atol=1e-3, rtol=0)
    expected = 0.5 * (((s * (1 - s) / 0.5 - 0.25) / 0.1) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-2)
    loss.backward()
    assert z.grad[:, 0].abs().sum() > 0 and z.grad[:, 1].abs().sum() == 0  # only the regularised dim matters


def test_csvae_terms():
    y = torch.tensor([[0.0], [1.0]])
    # posterior equal to the class prior -> KL 0
    mu = torch.tensor([[0.0], [3.0]])
    logvar = torch.log(torch.tensor([[0.1**2], [1.0]]))
    assert losses.csvae_w_kl(mu, logvar, y, (0.0, 3.0), (0.1, 1.0)).item() == pytest.approx(0.0, abs=1e-6)
    # mean one std off in each row -> 0.5 nats each, mean over the batch 0.5
    assert losses.csvae_w_kl(mu + torch.tensor([[0.1], [1.0]]), logvar, y, (0.0, 3.0), (0.1, 1.0)).item() == (
        pytest.approx(0.5, abs=1e-5)
    )
    assert losses.bernoulli_negentropy(torch.zeros(4, 3)).item() == pytest.approx(-3 * math.log(2))
    assert losses.bernoulli_negentropy(torch.full((4, 3), 30.0)).item() == pytest.approx(0.0, abs=1e-6)
    labels = losses.binary_labels(np.array([[0.1, 5.0], [0.3, 1.0]]), np.array([0.2, 2.0]))
    np.testing.assert_array_equal(labels, [[0.0, 1.0], [1.0, 0.0]])
