"""Closed-form games: the contract suite, closed forms and published facts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import GAMES, TinyNeuralGAN

from games import (
    Bilinear,
    DiracGAN,
    Quadratic,
    as_params,
    check_game,
    jacobian,
    random_params,
    vector_field,
)


def test_contract_suite_passes(closed_form_game):
    report = check_game(closed_form_game, seed=3)
    assert report["jacobian_vs_fd"] < 1e-6


def test_contract_suite_on_a_neural_game():
    report = check_game(TinyNeuralGAN(), seed=0)
    assert report["field_vs_fd"] < 1e-6


def test_contract_suite_catches_a_nondeterministic_game():
    class Noisy(Bilinear):
        def losses(self, params):
            x, y = params
            value = x @ (self.A.to(x) @ y) + 1e-3 * torch.rand((), dtype=x.dtype)
            return value, -value

    with pytest.raises(AssertionError, match="deterministic"):
        check_game(Noisy([[1.0]]))


def test_contract_suite_catches_a_gradient_that_disagrees_with_the_losses():
    class Detached(Bilinear):
        def losses(self, params):
            x, y = params
            # autograd sees no dependence of l_x on x, finite differences do
            value = x.detach() @ (self.A.to(x) @ y) + 0.0 * x.sum()
            return value, -(x @ (self.A.to(x) @ y))

    with pytest.raises(AssertionError, match="finite differences of the losses"):
        check_game(Detached([[1.0]]))


def test_xy_jacobian_and_eigenvalues():
    game = Bilinear.xy()
    for point in ([[0.0], [0.0]], [[1.3], [-0.4]]):
        J = jacobian(game, as_params(game, point))
        assert torch.equal(J.matrix, torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64))
        np.testing.assert_allclose(J.eigenvalues(), [-1j, 1j], atol=1e-15)


def test_bilinear_jacobian_is_the_closed_form_and_antisymmetric():
    game = GAMES["bilinear_3x2"]
    J = jacobian(game, random_params(game, seed=4))
    A = game.A
    expected = torch.zeros(5, 5, dtype=torch.float64)
    expected[:3, 3:], expected[3:, :3] = A, -A.T
    torch.testing.assert_close(J.matrix, expected, rtol=0, atol=1e-15)
    assert float(J.symmetric.abs().max()) == 0.0
    torch.testing.assert_close(J.block("x", "y"), A)
    torch.testing.assert_close(J.block(1, 0), -A.T)
    assert float(J.hessian("x").abs().max()) == 0.0


def test_potential_game_has_no_antisymmetric_part():
    game = GAMES["potential"]
    J = jacobian(game, random_params(game, seed=2))
    assert float(J.antisymmetric.abs().max()) < 1e-14
    torch.testing.assert_close(J.matrix, game.hessians[0])


@pytest.mark.parametrize(
    "name",
    [
        "bilinear_3x2",
        "zero_sum",
        "potential",
        "hamiltonian",
        "tandem",
        "matching_pennies",
        "three_player",
    ],
)
def test_affine_field_closed_form_matches_autodiff(name):
    game = GAMES[name]
    M, v = game.affine_field()
    params = random_params(game, seed=7)
    theta = torch.cat(params)
    torch.testing.assert_close(torch.cat(vector_field(game, params)), M @ theta + v)
    torch.testing.assert_close(jacobian(game, params).matrix, M)


@pytest.mark.parametrize(
    "name",
    [
        "xy",
        "bilinear_3x2",
        "zero_sum",
        "potential",
        "tandem",
        "matching_pennies",
        "three_player",
        "dirac",
        "dirac_noise",
    ],
)
def test_equilibrium_is_a_zero_of_the_field(name):
    game = GAMES[name]
    eq = game.equilibrium()
    assert eq is not None
    field = torch.cat(vector_field(game, eq))
    assert float(field.abs().max()) < 1e-12


def test_inconsistent_bilinear_game_has_no_equilibrium():
    # A y = -b has no solution when b is outside A's column space
    game = Bilinear([[1.0], [1.0]], b=[1.0, -1.0])
    assert game.equilibrium() is None


def test_matching_pennies_equilibrium_and_rotation():
    game = Quadratic.matching_pennies()
    eq = game.equilibrium()
    torch.testing.assert_close(torch.cat(eq), torch.tensor([0.5, 0.5], dtype=torch.float64))
    J = jacobian(game, eq)
    np.testing.assert_allclose(J.eigenvalues(), [-4j, 4j], atol=1e-14)
    # the loss is minus the expected payoff of matching
    p, q = 0.2, 0.9
    payoff = p * q + (1 - p) * (1 - q) - p * (1 - q) - (1 - p) * q
    losses = game.losses(as_params(game, [[p], [q]]))
    assert float(losses[0]) == pytest.approx(-payoff, abs=1e-14)
    assert float(losses[1]) == pytest.approx(payoff, abs=1e-14)


def test_tandem_game_losses():
    game = Quadratic.tandem()
    x, y = 0.3, -1.1
    l1, l2 = game.losses(as_params(game, [[x], [y]]))
    assert float(l1) == pytest.approx((x + y) ** 2 - 2 * x)
    assert float(l2) == pytest.approx((x + y) ** 2 - 2 * y)


def test_zero_sum_quadratic_block_structure():
    game = GAMES["zero_sum"]
    J = jacobian(game, random_params(game, seed=0))
    P = game.hessians[0][:3, :3]
    torch.testing.assert_close(J.hessian("x"), P)
    torch.testing.assert_close(J.block("x", "y"), -J.block("y", "x").T)
    assert game.kind() == "zero-sum"
    assert Quadratic.potential(np.eye(2)).kind() == "potential"
    assert Quadratic.tandem().kind() == "potential"  # the Tandem game's losses differ only linearly


@pytest.mark.parametrize(
    "loss,f_prime", [("standard", 0.5), ("non_saturating", 0.5), ("mle", 0.5), ("wgan", 1.0)]
)
def test_unregularised_dirac_gan_eigenvalues_are_pm_i_f_prime_zero(loss, f_prime):
    game = DiracGAN(loss)
    assert game.f_prime_zero == f_prime
    values = jacobian(game, game.equilibrium()).eigenvalues()
    np.testing.assert_allclose(values, [-1j * f_prime, 1j * f_prime], atol=1e-15)


@pytest.mark.parametrize("gamma", [0.01, 0.3, 0.9999, 1.0, 1.5, 4.0, 25.0])
@pytest.mark.parametrize("regularizer", ["r1", "r2"])
def test_r1_dirac_gan_eigenvalues_match_sympy_twin(gamma, regularizer):
    game = DiracGAN("standard", regularizer, gamma=gamma)
    numeric = np.sort_complex(jacobian(game, game.equilibrium()).eigenvalues())
    exact = game.symbolic().eigenvalues(point=[[0], [0]])
    exact_values = np.sort_complex(
        np.array([complex(sp.N(v, 30)) for v, m in exact.items() for _ in range(m)])
    )
    np.testing.assert_allclose(numeric, exact_values, rtol=1e-7, atol=1e-7)
    # and the closed form (gamma +- sqrt(gamma^2 - 4 f'(0)^2)) / 2, with f'(0) = 1/2
    disc = complex(gamma**2 - 1.0)
    closed = np.sort_complex(np.array([(gamma - disc**0.5) / 2, (gamma + disc**0.5) / 2]))
    np.testing.assert_allclose(numeric, closed, rtol=1e-7, atol=1e-7)
    assert np.all(numeric.real > 0)


def test_instance_noise_jacobian_closed_form():
    # J = [[0, f'(0)], [-f'(0), -2 sigma^2 f''(0)]] with f'(0) = 1/2, f''(0) = -1/4
    sigma = 0.6
    game = DiracGAN("standard", "instance_noise", noise_std=sigma)
    J = jacobian(game, game.equilibrium()).matrix
    expected = torch.tensor([[0.0, 0.5], [-0.5, 2 * sigma**2 * 0.25]], dtype=torch.float64)
    torch.testing.assert_close(J, expected, rtol=0, atol=1e-14)


def test_wgan_gp_field_away_from_the_kink():
    game = DiracGAN("wgan", "wgan_gp", gamma=2.0, gp_target=1.0)
    theta, psi = 0.3, -0.4
    field = vector_field(game, as_params(game, [[theta], [psi]]))
    # l_G = psi theta, l_D = -psi theta + gamma/2 (|psi| - 1)^2
    assert float(field[0]) == pytest.approx(psi)
    assert float(field[1]) == pytest.approx(
        -theta + 2.0 * (abs(psi) - 1.0) * math.copysign(1.0, psi)
    )


def test_dirac_losses_match_the_gan_value():
    game = DiracGAN("standard")
    theta, psi = 0.7, -1.2
    l_g, l_d = game.losses(as_params(game, [[theta], [psi]]))

    def f(t):
        return -math.log1p(math.exp(-t))

    assert float(l_g) == pytest.approx(f(psi * theta) + f(0.0))
    assert float(l_d) == pytest.approx(-(f(psi * theta) + f(0.0)))
    l_g_ns, _ = DiracGAN("non_saturating").losses(as_params(game, [[theta], [psi]]))
    # a surrogate's value is its expectation over fakes alone (docs/conventions.md)
    assert float(l_g_ns) == pytest.approx(-f(-psi * theta))


def test_float32_params_give_float32_results(closed_form_game):
    params = random_params(closed_form_game, seed=0, dtype=torch.float32)
    field = vector_field(closed_form_game, params)
    assert all(g.dtype == torch.float32 for g in field)
    assert jacobian(closed_form_game, params, dtype=None).matrix.dtype == torch.float32
    assert jacobian(closed_form_game, params).matrix.dtype == torch.float64


def test_jacobian_strategies_agree():
    # the batched (vmap) and the row-loop (cached graph) assembly give the same matrix;
    # "auto" above 512 parameters probes both on the device and uses the faster
    from conftest import TinyNeuralGAN

    from games import unrolled
    from games.jacobians import _AUTO_PROBE_MIN

    small = TinyNeuralGAN(hidden=6, batch=8)
    point = random_params(small, seed=2)
    dense = jacobian(small, point, method="vmap").matrix
    torch.testing.assert_close(jacobian(small, point, method="loop").matrix, dense)
    big = TinyNeuralGAN(hidden=70, batch=8)
    assert sum(big.sizes) > _AUTO_PROBE_MIN
    point = random_params(big, seed=3)
    full = jacobian(big, point, method="vmap").matrix
    torch.testing.assert_close(jacobian(big, point, method="auto").matrix, full)
    # the probe's operator (reused by the loop strategy) gives the same rows
    from games.jacobians import _default_chunk, _probe_strategy

    point64 = tuple(p.to(torch.float64) for p in point)
    chosen, operator = _probe_strategy(big, point64, _default_chunk(sum(big.sizes)))
    assert chosen in ("vmap", "loop")
    torch.testing.assert_close(operator.rmatvec(torch.eye(sum(big.sizes))[5]), full[5])
    # a game that supplies its own gradients (first-order unrolling)
    first_order = unrolled(DiracGAN("standard", "r1", gamma=0.5), 2, lr=0.3, first_order=True)
    at = as_params(first_order, [[0.4], [-0.2]])
    torch.testing.assert_close(
        jacobian(first_order, at, method="loop").matrix,
        jacobian(first_order, at, method="vmap").matrix,
    )
    with pytest.raises(ValueError, match="method"):
        jacobian(small, random_params(small, seed=2), method="lu")
