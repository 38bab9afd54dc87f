"""analyses: spectra, fixed points, stability regions and two timescales."""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import GAMES, assert_same_spectrum

from analyses import (
    classify,
    eigenvalues,
    find_fixed_points,
    hessian_eigenvalues,
    max_stable_step,
    stability_region,
    step_size_bounds,
    symbolic_eigenvalues,
    top_eigenvalues,
    two_timescale,
)
from dynamics import Momentum, SimultaneousGD, closed_form_operator, linearize, spectral_radius
from games import Bilinear, DiracGAN, Quadratic, jacobian, random_params

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _mlp_game import MLPGame, hidden_for

# n = 603: large enough that ARPACK/Lanczos work matrix-free on a real neural game (k = 6
# of 603), small enough that the dense reference (603 products and an eigensolve) is cheap
NEURAL = MLPGame(hidden_for(600), batch=64)
NEURAL_PARAMS = NEURAL.params(torch.float64)


@functools.cache
def _dense() -> np.ndarray:
    """The dense spectrum of the neural game, computed once, when a test first needs it."""
    return eigenvalues(NEURAL, NEURAL_PARAMS).values


@pytest.mark.parametrize("which", ["magnitude", "imaginary"])
def test_matrix_free_top_eigenvalues_agree_with_dense(which):
    top = top_eigenvalues(NEURAL, NEURAL_PARAMS, 6, which=which, tol=1e-10)
    dense = _dense()
    if which == "magnitude":
        expected = dense[np.argsort(-np.abs(dense))][:6]
    else:
        expected = dense[np.argsort(-np.abs(dense.imag))][:6]  # three conjugate pairs
    assert_same_spectrum(top.values, expected, rtol=1e-6, atol=1e-9)
    assert 0 < top.products < 200


def test_player_hessian_spectrum_by_lanczos():
    H = jacobian(NEURAL, NEURAL_PARAMS).hessian("discriminator").numpy()
    exact = np.linalg.eigvalsh(0.5 * (H + H.T))
    both = hessian_eigenvalues(NEURAL, NEURAL_PARAMS, "discriminator", 4, tol=1e-10).values.real
    np.testing.assert_allclose(
        np.sort(both), np.sort(np.concatenate([exact[:2], exact[-2:]])), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("name", sorted(GAMES))
def test_dense_spectrum_matches_the_symbolic_twin(name):
    game = GAMES[name]
    point = random_params(game, seed=3, scale=0.7)
    if name == "dirac_wgan_gp" and abs(float(point[1][0])) < 1e-3:
        pytest.skip("kink")
    assert_same_spectrum(
        eigenvalues(game, point).values,
        symbolic_eigenvalues(game, point).values,
        rtol=1e-9,
        atol=1e-10,
    )


def test_classification_of_the_classic_fixed_points():
    xy = classify(Bilinear.xy(), Bilinear.xy().equilibrium())
    assert (
        xy.kind == "marginal" and not xy.flow_stable and xy.max_gd_step == 0.0
    )  # neither flow nor GD
    r1 = DiracGAN("standard", "r1", gamma=1.0)
    c = classify(r1, r1.equilibrium())
    assert c.flow_stable and c.kind == "stable, not Nash"  # the generator's Hessian is 0
    potential = Quadratic.potential([[2.0, 0.5], [0.5, 1.0]], c=[1.0, -1.0])
    p = classify(potential, potential.equilibrium())
    assert p.kind == "stable Nash" and p.nash
    saddle = Quadratic.potential([[1.0, 0.0], [0.0, -1.0]])
    assert classify(saddle, saddle.equilibrium()).kind == "saddle"
    assert c.tol == 1e-9


def test_find_fixed_points_from_many_starts():
    # the Tandem game's fixed points form the line x + y = 1; a quadratic zero-sum game has one
    game = Quadratic.zero_sum([[1.0]], [[2.0]], [[1.0]], a=[1.0], b=[-1.0])
    starts = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    found = find_fixed_points(game, starts)
    assert len(found) == 1
    torch.testing.assert_close(
        torch.cat(found[0]), torch.cat(game.equilibrium()), rtol=1e-8, atol=1e-10
    )
    tandem = find_fixed_points(Quadratic.tandem(), starts, merge_tol=1e-6)
    assert all(abs(float(p[0] + p[1]) - 1.0) < 1e-8 for p in tandem)


def test_gd_region_of_the_r1_dirac_gan_matches_the_closed_form_boundary():
    for gamma in (0.3, 1.0, 2.5):
        game = DiracGAN("standard", "r1", gamma=gamma)
        lr = np.linspace(0.01, 8.0, 800)
        region = stability_region(game, game.equilibrium(), "gd", lr=lr, ratio=[1.0])
        # eigenvalues (gamma ± sqrt(gamma^2 - 1)) / 2: complex below gamma = 1 (bound 4 gamma),
        # real above (bound 2 / lambda_max)
        bound = 4 * gamma if gamma < 1 else 4 / (gamma + math.sqrt(gamma**2 - 1))
        np.testing.assert_array_equal(region.stable[:, 0], lr < bound)
        assert max_stable_step(eigenvalues(game, game.equilibrium()).values) == pytest.approx(bound)
        # and it agrees with linearize at a few points
        for eta in (0.5 * bound, 0.99 * bound, 1.01 * bound):
            rho = linearize(SimultaneousGD(lr=eta), game, game.equilibrium()).spectral_radius
            assert (rho < 1) == (eta < bound)


def test_unregularised_dirac_gan_has_no_stable_step_size_ratio():
    game = DiracGAN()
    region = two_timescale(
        game, game.equilibrium(), lr=np.geomspace(1e-4, 1, 40), ratio=np.geomspace(1e-3, 1e3, 41)
    )
    assert not region.stable.any()
    # |1 - i eta f'(0) sqrt(r)| = sqrt(1 + eta^2 r / 4)
    eta, r = region.rows[:, None], region.columns[None, :]
    np.testing.assert_allclose(region.spectral_radius, np.sqrt(1 + eta**2 * r / 4), rtol=1e-12)


def test_two_timescale_map_against_per_point_eigensolves():
    game = DiracGAN("non_saturating", "r1", gamma=0.5)
    region = two_timescale(game, game.equilibrium(), lr=[0.1, 1.0, 3.0], ratio=[0.5, 2.0, 8.0])
    for i, eta in enumerate(region.rows):
        for j, r in enumerate(region.columns):
            rho = linearize(
                SimultaneousGD(lr=[eta, r * eta]), game, game.equilibrium()
            ).spectral_radius
            assert region.spectral_radius[i, j] == pytest.approx(rho, rel=1e-12)


@pytest.mark.parametrize("rule", ["extragradient", "proximal"])
def test_polynomial_and_rational_rules_against_linearize(rule):
    from dynamics import Extragradient, ProximalPoint

    game = GAMES["zero_sum"]
    region = stability_region(game, game.equilibrium(), rule, lr=[0.1, 0.7], ratio=[1.0, 3.0])
    factory = Extragradient if rule == "extragradient" else ProximalPoint
    for i, eta in enumerate(region.rows):
        for j, r in enumerate(region.columns):
            rho = linearize(factory(lr=[eta, r * eta]), game, game.equilibrium()).spectral_radius
            assert region.spectral_radius[i, j] == pytest.approx(rho, rel=1e-10)


def test_consensus_region_and_a_factory_region():
    game = DiracGAN()
    region = stability_region(
        game, game.equilibrium(), "consensus", lr=[0.1, 0.5], gamma=[0.0, 1.0]
    )
    assert not region.stable[:, 0].any() and region.stable[:, 1].all()  # consensus stabilises
    momentum = stability_region(
        game,
        game.equilibrium(),
        lambda lr, beta: Momentum(lr=lr, beta=beta),
        lr=[0.3],
        beta=[-0.5, 0.0, 0.5],
    )
    assert momentum.method == "linearize"
    for j, beta in enumerate(momentum.columns):
        closed = closed_form_operator(Momentum(lr=0.3, beta=beta), game, game.equilibrium())
        assert momentum.spectral_radius[0, j] == pytest.approx(spectral_radius(closed), rel=1e-12)
    # simultaneous GD with heavy-ball momentum does not converge on the Dirac-GAN, negative or not
    assert not momentum.stable.any()
    assert np.all(np.isfinite(region.rate[region.stable]))


def test_step_size_bounds():
    np.testing.assert_allclose(step_size_bounds([1.0, 1 + 1j, -1.0, 2j]), [2.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: top_eigenvalues(NEURAL, NEURAL_PARAMS, 0), ValueError, "k: expected an int"),
        (
            lambda: top_eigenvalues(NEURAL, NEURAL_PARAMS, 3, which="smallest"),
            ValueError,
            "which: unknown value 'smallest', expected one of",
        ),
        (
            lambda: hessian_eigenvalues(NEURAL, NEURAL_PARAMS, "critic"),
            ValueError,
            "player: expected one of",
        ),
        (
            lambda: stability_region(
                DiracGAN(), DiracGAN().equilibrium(), "adam", lr=[0.1], ratio=[1.0]
            ),
            ValueError,
            "rule: expected one of",
        ),
        (
            lambda: stability_region(DiracGAN(), DiracGAN().equilibrium(), "gd", lr=[0.1]),
            ValueError,
            "axes: expected exactly two",
        ),
        (
            lambda: stability_region(
                DiracGAN(), DiracGAN().equilibrium(), "gd", lr=[0.1], gamma=[1.0]
            ),
            ValueError,
            r"axes: rule 'gd' takes",
        ),
        (
            lambda: stability_region(
                DiracGAN(), DiracGAN().equilibrium(), "gd", lr=[-0.1], ratio=[1.0]
            ),
            ValueError,
            "lr: expected step sizes >= 0",
        ),
        (
            lambda: stability_region(
                DiracGAN(), DiracGAN().equilibrium(), "gd", lr=[math.nan], ratio=[1.0]
            ),
            ValueError,
            "lr: expected a non-empty 1-D",
        ),
        (
            lambda: find_fixed_points(DiracGAN(), torch.zeros(3)),
            ValueError,
            r"starts: expected a \(S, 2\) tensor",
        ),
        (
            lambda: classify(DiracGAN(), DiracGAN().equilibrium(), tol=-1.0),
            ValueError,
            "tol: expected a number >= 0",
        ),
        (
            lambda: symbolic_eigenvalues(NEURAL, NEURAL_PARAMS),
            TypeError,
            "game: expected a SymbolicGame",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- unroll-depth study ------------------------------------------------------------------------


@pytest.mark.parametrize("first_order", [False, True])
def test_unroll_depth_study_matches_the_closed_form(first_order: bool) -> None:
    """Dirac-GAN (c = f'(0) = 1/2): J_K = [[m K eta c^2, c], [-c, 0]] (see test_unrolled)."""
    from analyses import unroll_depth
    from games import DiracGAN

    game = DiracGAN("standard")
    c, m = 0.5, (1 if first_order else 2)
    depths, inner, lrs = [0, 1, 2, 5, 10, 20], [0.1, 1.0], [0.1, 0.5, 2.0]
    study = unroll_depth(
        game, game.equilibrium(), depths, inner_lr=inner, lr=lrs, first_order=first_order
    )
    assert study.eigenvalues.shape == (6, 2, 2) and study.spectral_radius.shape == (6, 2, 3)
    for a, K in enumerate(depths):
        for b, eta in enumerate(inner):
            s = m * K * eta * c * c
            disc = np.sqrt(complex(s * s - 4 * c * c))
            lam = np.array([(s + disc) / 2, (s - disc) / 2])
            np.testing.assert_allclose(
                sorted(study.eigenvalues[a, b], key=lambda z: (z.real, z.imag)),
                sorted(lam, key=lambda z: (z.real, z.imag)),
                atol=1e-7,  # K eta = 2 is a Jordan block: eigensolvers lose sqrt(eps) there
            )
            for j, lr in enumerate(lrs):
                expected = np.abs(1 - lr * lam).max()
                assert study.spectral_radius[a, b, j] == pytest.approx(expected, abs=1e-7)
            assert study.flow_stable[a, b] == (K > 0)
    # depth 0 is the unregularised Dirac-GAN: no step converges
    assert np.all(study.spectral_radius[0] > 1)
    assert np.all(study.best_spectral_radius[1:, 1] < 1)
    assert study.region(1).spectral_radius.shape == (6, 2)


def test_unroll_depth_bad_input() -> None:
    from analyses import unroll_depth
    from games import Bilinear, as_params

    game = Bilinear.xy()
    point = as_params(game, [[0.0], [0.0]])
    with pytest.raises(ValueError, match="depths"):
        unroll_depth(game, point, [-1], inner_lr=0.1, lr=0.1)
    with pytest.raises(ValueError, match="inner_lr"):
        unroll_depth(game, point, [1], inner_lr=-0.1, lr=0.1)
    with pytest.raises(ValueError, match="rule"):
        unroll_depth(game, point, [1], inner_lr=0.1, lr=0.1, rule="adam")


def test_classify_step_bound_respects_the_tolerance() -> None:
    # x·y: eigenvalues ±i (real part exactly 0); a tiny positive real part within tol must
    # not produce a GD step bound either
    from games import Bilinear, Quadratic, as_params

    game = Bilinear.xy()
    result = classify(game, as_params(game, [[0.0], [0.0]]))
    assert result.kind == "marginal" and result.max_gd_step == 0.0
    eps = 1e-12  # Re(lambda) = eps/2 > 0 but below tol = 1e-9
    nearly = Quadratic.zero_sum([[eps]], [[1.0]], [[0.0]])
    point = as_params(nearly, [[0.0], [0.0]])
    assert classify(nearly, point).max_gd_step == 0.0
    assert classify(nearly, point, tol=0.0).max_gd_step > 0.0


def test_hessian_both_ends_needs_two() -> None:
    from games import Quadratic, as_params

    game = Quadratic.potential(torch.eye(6), sizes=[3, 3])
    with pytest.raises(ValueError, match="both_ends"):
        hessian_eigenvalues(game, as_params(game, [[0.0] * 3, [0.0] * 3]), 0, k=1)
