"""analyses.stability_region away from fixed points: exact, never the fixed-point shortcut.

The references are independent of the library's step maps: the R1 Dirac-GAN's field
written out in sympy here (not taken from ``DiracGAN.symbolic``), the chain rule through
each rule's step done by hand, and the numbers quoted in issue 15.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
import torch

from analyses import stability_region, two_timescale, unroll_depth
from analyses.cli import main
from analyses.regions import analytic_axes
from dynamics import Consensus, Extragradient, ProximalPoint, SimultaneousGD, linearize
from games import Bilinear, DiracGAN, Quadratic, as_params, unrolled

GAME = DiracGAN(regularizer="r1", gamma=1.0)
AWAY = (0.8, -0.6)
LR = 0.9


def _r1_dirac_sympy(gamma: float = 1.0):
    """xi, J and the Hessian of |xi|^2 / 2 of the R1 Dirac-GAN, as numpy functions."""
    theta, psi = sp.symbols("theta psi", real=True)
    f = -sp.log(1 + sp.exp(-psi * theta))  # f(psi theta); f(0) is a constant
    l_g = f
    l_d = -f + sp.Rational(str(gamma)) / 2 * psi**2
    xi = sp.Matrix([sp.diff(l_g, theta), sp.diff(l_d, psi)])
    J = xi.jacobian([theta, psi])
    half_norm = (xi.T * xi)[0] / 2
    H = sp.hessian(half_norm, (theta, psi))
    return tuple(sp.lambdify((theta, psi), e, "numpy") for e in (xi, J, H))


XI, JAC, HESS = _r1_dirac_sympy()


def _rho(matrix: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=float))).max())


def _hand_extragradient(point: np.ndarray, eta: float) -> np.ndarray:
    """d/dtheta [theta - eta xi(theta - eta xi(theta))] = I - eta J(y) (I - eta J(theta))."""
    y = point - eta * np.asarray(XI(*point), dtype=float).ravel()
    eye = np.eye(2)
    return eye - eta * np.asarray(JAC(*y), dtype=float) @ (
        eye - eta * np.asarray(JAC(*point), dtype=float)
    )


def _hand_consensus(point: np.ndarray, eta: float, gamma: float) -> np.ndarray:
    """I - eta (J + gamma Hess |xi|^2/2): the second derivatives of xi enter off a fixed point."""
    return np.eye(2) - eta * (
        np.asarray(JAC(*point), dtype=float) + gamma * np.asarray(HESS(*point), dtype=float)
    )


def _hand_proximal(point: np.ndarray, eta: float, steps: int = 50) -> np.ndarray:
    """ProximalPoint off an affine game: p <- theta - eta xi(p), ``steps`` times from
    p = theta; dp/dtheta <- I - eta J(p) dp/dtheta."""
    p, dp = point.copy(), np.eye(2)
    for _ in range(steps):
        dp = np.eye(2) - eta * np.asarray(JAC(*p), dtype=float) @ dp
        p = point - eta * np.asarray(XI(*p), dtype=float).ravel()
    return dp


def test_issue_15_numbers_off_the_fixed_point_come_from_the_exact_linearisation() -> None:
    point = as_params(GAME, [[AWAY[0]], [AWAY[1]]])
    here = np.array(AWAY)
    cases = [
        ("extragradient", {"ratio": [1.0]}, Extragradient(LR), _hand_extragradient(here, LR)),
        ("consensus", {"gamma": [1.0]}, Consensus(LR, 1.0), _hand_consensus(here, LR, 1.0)),
        ("proximal", {"ratio": [1.0]}, ProximalPoint(LR), _hand_proximal(here, LR)),
    ]
    quoted = {"extragradient": 0.943, "consensus": 2.243, "proximal": 0.756}  # issue 15
    shortcut = {"extragradient": 0.627, "consensus": 1.805, "proximal": 0.657}  # the old bug
    for name, other, rule, by_hand in cases:
        region = stability_region(GAME, point, name, lr=[LR], **other)
        rho = float(region.spectral_radius[0, 0])
        assert region.method == "linearize"
        assert rho == pytest.approx(_rho(by_hand), abs=1e-9)
        assert rho == pytest.approx(linearize(rule, GAME, point).spectral_radius, abs=1e-12)
        assert round(rho, 3) == quoted[name]
        assert abs(rho - shortcut[name]) > 0.09
        assert analytic_axes(name, GAME, point) is None


def test_a_grid_off_the_fixed_point_matches_the_hand_derivation_everywhere() -> None:
    point = as_params(GAME, [[0.3], [0.7]])
    lrs, gammas = np.array([0.1, 0.5, 1.3]), np.array([0.0, 0.4, 2.0])
    region = stability_region(GAME, point, "consensus", gamma=gammas, lr=lrs)  # axes swapped
    assert region.names == ("gamma", "lr") and region.spectral_radius.shape == (3, 3)
    for i, g in enumerate(gammas):
        for j, eta in enumerate(lrs):
            expected = _rho(_hand_consensus(np.array([0.3, 0.7]), eta, g))
            assert region.spectral_radius[i, j] == pytest.approx(expected, abs=1e-9)
    # two timescales (discriminator step ratio * lr) off the fixed point: extragradient
    tt = two_timescale(GAME, point, [0.2, 0.6], [0.5, 2.0], rule="extragradient")
    assert tt.method == "linearize"
    for i, eta in enumerate([0.2, 0.6]):
        for j, r in enumerate([0.5, 2.0]):
            rule = Extragradient([eta, eta * r])
            assert tt.spectral_radius[i, j] == pytest.approx(
                linearize(rule, GAME, point).spectral_radius, abs=1e-12
            )


def test_the_fast_path_is_kept_where_it_is_exact() -> None:
    eq = GAME.equilibrium()
    for name, other, rule in [
        ("extragradient", {"ratio": [1.0, 3.0]}, lambda lr, r: Extragradient([lr, lr * r])),
        ("consensus", {"gamma": [0.5, 2.0]}, lambda lr, g: Consensus(lr, g)),
        ("gd", {"ratio": [1.0, 3.0]}, lambda lr, r: SimultaneousGD([lr, lr * r])),
    ]:
        region = stability_region(GAME, eq, name, lr=[0.2, 0.9], **other)
        assert region.method == "eigendecomposition"
        values = next(iter(other.values()))
        for i, lr in enumerate([0.2, 0.9]):
            for j, v in enumerate(values):
                assert region.spectral_radius[i, j] == pytest.approx(
                    linearize(rule(lr, v), GAME, eq).spectral_radius, abs=1e-12
                )
    # gd is I - DJ at any point: the fast path is exact off a fixed point too
    away = as_params(GAME, [[AWAY[0]], [AWAY[1]]])
    region = stability_region(GAME, away, "gd", lr=[LR], ratio=[1.0])
    assert region.method == "eigendecomposition"
    expected = _rho(np.eye(2) - LR * np.asarray(JAC(*AWAY), dtype=float))
    assert float(region.spectral_radius[0, 0]) == pytest.approx(expected, abs=1e-12)
    # an affine game: every rule's fast path is exact at any point
    gen = torch.Generator().manual_seed(3)
    A = torch.randn(2, 2, generator=gen, dtype=torch.float64)
    game = Quadratic.zero_sum(torch.eye(2, dtype=torch.float64), A, 0.5 * torch.eye(2))
    point = as_params(game, [[1.0, -2.0], [0.5, 3.0]])
    for name, other, rule in [
        ("extragradient", {"ratio": [2.0]}, Extragradient([0.3, 0.6])),
        ("proximal", {"ratio": [2.0]}, ProximalPoint([0.3, 0.6])),
        ("consensus", {"gamma": [0.7]}, Consensus(0.3, 0.7)),
    ]:
        region = stability_region(game, point, name, lr=[0.3], **other)
        assert region.method == "eigendecomposition"
        assert float(region.spectral_radius[0, 0]) == pytest.approx(
            linearize(rule, game, point).spectral_radius, abs=1e-12
        )


def test_factory_errors() -> None:
    eq = GAME.equilibrium()
    with pytest.raises(TypeError, match=r"factory to return a dynamics\.UpdateRule"):
        stability_region(GAME, eq, lambda lr, ratio: "gd", lr=[0.5], ratio=[1.0])
    with pytest.raises(TypeError, match="rule: expected a rule name or a factory"):
        stability_region(GAME, eq, 3, lr=[0.5], ratio=[1.0])  # type: ignore[arg-type]


def test_unroll_depth_off_a_fixed_point_linearises_the_unrolled_rule() -> None:
    game = Bilinear.xy()
    point = as_params(game, [[0.4], [-0.3]])
    study = unroll_depth(game, point, [0, 2], inner_lr=0.3, lr=[0.2, 0.7], rule="extragradient")
    for a, k in enumerate([0, 2]):
        u = unrolled(game, k, lr=0.3)
        for c, eta in enumerate([0.2, 0.7]):
            expected = linearize(Extragradient(eta), u, point).spectral_radius
            assert study.spectral_radius[a, 0, c] == pytest.approx(expected, abs=1e-12)
    # K = 0 is x·y itself, affine: I - eta J + eta^2 J^2 with J = [[0, 1], [-1, 0]]
    assert study.spectral_radius[0, 0, 0] == pytest.approx(abs(1 - 0.2j - 0.04), abs=1e-12)


def test_cli_grid_off_the_fixed_point_uses_the_library_decision(capsys) -> None:
    argv = ["stability", "dirac:regularizer=r1,gamma=1", "--point", "0.8", "-0.6"]
    assert main([*argv, "--rule", "extragradient", "--grid", "lr=0.5,0.9", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["grid"]["method"] == "linearize"
    expected = [_rho(_hand_extragradient(np.array(AWAY), eta)) for eta in (0.5, 0.9)]
    assert result["grid"]["spectral_radius"] == pytest.approx(expected, abs=1e-9)
    # at the equilibrium the same grid takes the fast path
    assert main(["stability", "dirac:regularizer=r1,gamma=1", "--rule", "extragradient",
                 "--grid", "lr=0.5,0.9", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["grid"]["method"] == "eigendecomposition"
