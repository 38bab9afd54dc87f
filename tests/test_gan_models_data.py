"""gan_models.data: mixtures checked against hand-derived closed forms and scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from games import Grid, temperature_density
from gan_models import GaussianMixture, grid, high_dimensional, ring, temperature

N = 200_000


def _assert_moments(samples: torch.Tensor, mean: np.ndarray, cov: np.ndarray) -> None:
    """Sample mean and covariance within 5 standard errors of the closed form."""
    x = samples.double().numpy()
    n = x.shape[0]
    centred = x - x.mean(0)
    mean_se = x.std(0) / math.sqrt(n)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * mean_se), (x.mean(0), mean, mean_se)
    for i, j in itertools.product(range(x.shape[1]), repeat=2):
        products = centred[:, i] * centred[:, j]
        se = products.std() / math.sqrt(n)
        assert abs(products.mean() - cov[i, j]) < 5 * se + 1e-12, (i, j, products.mean(), cov[i, j])


# -- the benchmark layouts ----------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 8, 12])
def test_ring_modes_sit_at_2pi_k_over_K_and_are_distinct(k):
    data = ring(n_modes=k, radius=2.0, std=0.02)
    expected = [
        [2 * math.cos(2 * math.pi * j / k), 2 * math.sin(2 * math.pi * j / k)] for j in range(k)
    ]
    assert torch.allclose(data.modes, torch.tensor(expected, dtype=torch.float64), atol=1e-15)
    distances = torch.cdist(data.modes, data.modes) + torch.eye(k, dtype=torch.float64) * 10
    # neighbouring modes are a chord 2 r sin(pi / K) apart; the linspace bug would give 0
    assert float(distances.min()) == pytest.approx(2 * 2.0 * math.sin(math.pi / k), rel=1e-12)
    assert data.std == 0.02 and data.n_modes == k and data.dim == 2


def test_grid_modes_are_the_centred_lattice():
    data = grid()
    assert data.n_modes == 25 and data.std == 0.05
    got = {tuple(row) for row in data.modes.tolist()}
    assert got == set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert grid(size=2, spacing=1.0).modes.tolist() == [
        [-0.5, -0.5],
        [-0.5, 0.5],
        [0.5, -0.5],
        [0.5, 0.5],
    ]


def test_temperature_mixture_matches_games_temperature_density():
    grid_, p = temperature_density()
    data = temperature()
    density = data.density(grid_.points)
    # temperature_density normalises on its grid; the mixture's own density already
    # integrates to 1 up to the tails beyond [-50, 50] and the midpoint-rule error
    assert abs(float(grid_.integrate(density)) - 1) < 1e-4
    assert torch.allclose(density, p, rtol=1e-4, atol=1e-9)
    assert torch.allclose(grid_.normalize(density), p, rtol=1e-12, atol=1e-15)

    fine = Grid.line(-40.0, 40.0, 333)
    _, p_fine = temperature_density(fine)
    assert torch.allclose(fine.normalize(data.density(fine.points)), p_fine, rtol=1e-12)


def test_temperature_scale_rescales_the_axis():
    x = torch.linspace(-6, 6, 41, dtype=torch.float64)[:, None]
    scaled, plain = temperature(scale=10.0), temperature()
    assert torch.allclose(scaled.density(x), 10 * plain.density(10 * x), rtol=1e-12)


def test_high_dimensional_modes_are_seeded_and_on_the_sphere():
    a = high_dimensional(dim=20, n_modes=7, radius=3.0, seed=4)
    assert a.modes.shape == (7, 20)
    assert torch.allclose(a.modes.norm(dim=1), torch.full((7,), 3.0, dtype=torch.float64))
    assert torch.equal(a.modes, high_dimensional(dim=20, n_modes=7, radius=3.0, seed=4).modes)
    assert not torch.equal(a.modes, high_dimensional(dim=20, n_modes=7, radius=3.0, seed=5).modes)
    one_hot = high_dimensional(dim=5, n_modes=3, radius=2.0, layout="one_hot", std=0.1)
    assert one_hot.modes.tolist() == [
        [2.0, 0, 0, 0, 0],
        [0, 2.0, 0, 0, 0],
        [0, 0, 2.0, 0, 0],
    ]
    assert one_hot.std == 0.1


# -- closed forms ---------------------------------------------------------------------------


def test_ring_sample_moments_match_the_closed_form():
    # x = r (cos t, sin t) + s eps with t uniform on 2 pi k / 8: E x = 0, Cov = (r^2/2 + s^2) I
    r, s = 1.0, 0.01
    samples = ring(radius=r, std=s).sample(N, generator=0)
    _assert_moments(samples, np.zeros(2), (r**2 / 2 + s**2) * np.eye(2))


def test_weighted_mixture_moments_and_labels():
    means = np.array([[0.0, 0.0], [3.0, 1.0], [-1.0, 2.0]])
    stds = np.array([0.5, 1.0, 0.2])
    weights = np.array([1.0, 2.0, 1.0]) / 4
    mix = GaussianMixture(means, stds, weights=[1, 2, 1])
    # law of total covariance, by hand
    mean = (weights[:, None] * means).sum(0)
    cov = sum(
        w * (sd**2 * np.eye(2) + np.outer(mu - mean, mu - mean))
        for w, sd, mu in zip(weights, stds, means)
    )
    assert np.allclose(mix.mean().numpy(), mean, atol=1e-14)
    assert np.allclose(mix.covariance().numpy(), cov, atol=1e-14)

    samples, labels = mix.sample_with_labels(N, generator=1, dtype=torch.float64)
    _assert_moments(samples, mean, cov)
    counts = torch.bincount(labels, minlength=3).double().numpy()
    se = np.sqrt(N * weights * (1 - weights))
    assert np.all(np.abs(counts - N * weights) < 5 * se)
    # every sample is its own mode plus noise of that mode's std
    residual = (samples - mix.modes[labels]) / mix.stds[labels, None]
    assert abs(float(residual.std()) - 1) < 5 / math.sqrt(2 * 2 * N)


def test_log_prob_matches_scipy():
    means = [[0.0, 1.0], [2.0, -1.0]]
    mix = GaussianMixture(means, [0.3, 1.5], weights=[0.2, 0.8])
    x = np.array([[0.1, 0.9], [1.0, 0.0], [5.0, -3.0]])
    expected = 0.2 * multivariate_normal(means[0], 0.09 * np.eye(2)).pdf(x) + 0.8 * (
        multivariate_normal(means[1], 2.25 * np.eye(2)).pdf(x)
    )
    assert np.allclose(mix.density(x).numpy(), expected, rtol=1e-12)
    assert np.allclose(mix.log_prob(torch.tensor(x)).numpy(), np.log(expected), rtol=1e-12)


# -- randomness -------------------------------------------------------------------------------


def test_sampling_is_reproducible_private_and_device_independent():
    data = ring()
    before = torch.get_rng_state()
    a = data.sample(64, generator=3)
    b = data.sample(64, generator=torch.Generator().manual_seed(3), device="cpu")
    c = data.sample(64, generator=3, device=torch.device("cpu"), dtype=torch.float64)
    assert torch.get_rng_state().equal(before)
    assert torch.equal(a, b)
    assert torch.equal(c.float(), a) and c.dtype == torch.float64
    if torch.cuda.is_available():
        assert torch.equal(data.sample(64, generator=3, device="cuda").cpu(), a)

    gen = torch.Generator().manual_seed(3)
    first, second = data.sample(64, generator=gen), data.sample(64, generator=gen)
    assert torch.equal(first, a) and not torch.equal(first, second)

    x1, x2 = data.sample(8), data.sample(8)  # no generator: fresh entropy, global state untouched
    assert not torch.equal(x1, x2)
    assert torch.get_rng_state().equal(before)


def test_labels_follow_the_samples():
    data = grid()
    x, k = data.sample_with_labels(500, generator=7, dtype=torch.float64)
    assert k.dtype == torch.int64 and k.shape == (500,)
    nearest = torch.cdist(x, data.modes).argmin(1)
    assert torch.equal(nearest, k)  # std 0.05 vs spacing 2: every sample is nearest its own mode
    assert torch.equal(data.sample(500, generator=7, dtype=torch.float64), x)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: GaussianMixture([[0.0, 0.0]], std=-1.0),
            r"^std: expected a positive float, got -1\.0",
        ),
        (
            lambda: GaussianMixture([[0.0], [1.0]], std=[1.0, 2.0, 3.0]),
            r"^std: .*2 positive floats",
        ),
        (lambda: GaussianMixture([[0.0], [1.0]], std=[1.0, 0.0]), r"^std: expected positive"),
        (lambda: GaussianMixture([0.0, 1.0], std=1.0), r"^means: expected a 2-D matrix"),
        (lambda: GaussianMixture([[np.nan]], std=1.0), r"^means: expected finite"),
        (lambda: GaussianMixture([[0.0], [1.0]], 1.0, weights=[1.0]), r"^weights: expected 2"),
        (lambda: GaussianMixture([[0.0], [1.0]], 1.0, weights=[1.0, -1.0]), r"^weights: "),
        (lambda: ring(n_modes=0), r"^n_modes: expected a positive int"),
        (lambda: ring(radius=0.0), r"^radius: expected a positive float"),
        (lambda: grid(spacing=-2.0), r"^spacing: expected a positive float"),
        (lambda: temperature(scale=0), r"^scale: expected a positive float"),
        (lambda: high_dimensional(layout="cube"), r"^layout: unknown value"),
        (
            lambda: high_dimensional(dim=2, n_modes=3, layout="one_hot"),
            r"^n_modes: .*n_modes <= dim",
        ),
        (lambda: high_dimensional(seed=-1), r"^seed: expected a non-negative int"),
        (lambda: ring().sample(0), r"^n: expected a positive int"),
        (lambda: ring().sample(2.5), r"^n: expected a positive int"),
        (lambda: ring().sample(4, generator="seed"), r"^generator: expected a torch.Generator"),
        (lambda: ring().sample(4, generator=-3), r"^generator: expected a non-negative int seed"),
        (lambda: ring().sample(4, dtype=torch.int64), r"^dtype: expected a floating torch.dtype"),
        (lambda: ring().sample(4, device="nowhere"), r"^device: expected a torch.device"),
        (lambda: ring().density(torch.zeros(3)), r"^x: expected points of shape \(n, 2\)"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()
