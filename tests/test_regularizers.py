"""The Nagarajan–Kolter gradient regulariser and projected rules (WGAN weight clipping).

References: closed forms derived by hand (in the docstrings and below), a sympy twin of
the regularised Dirac-GAN written out here independently of the numeric game, the
issue-15 numbers, finite differences, and plain-Python iterations of the same updates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import GAMES, TinyNeuralGAN

from dynamics import (
    Alternating,
    Momentum,
    Projected,
    RMSProp,
    SimultaneousGD,
    check_update_rule,
    linearize,
    run,
    run_batched,
)
from games import (
    Bilinear,
    DiracGAN,
    NagarajanKolterGame,
    as_params,
    check_game,
    flatten_params,
    jacobian,
    nagarajan_kolter,
    random_params,
    vector_field,
)

# -- Nagarajan & Kolter (2017) ---------------------------------------------------------------


def test_issue_15_eigenvalues_of_the_regularised_dirac_gan() -> None:
    game = nagarajan_kolter(DiracGAN(), 0.5)
    values = jacobian(game, game.equilibrium()).eigenvalues()
    assert sorted(values, key=lambda z: z.imag) == [
        pytest.approx(0.125 - 0.484123j, abs=5e-7),
        pytest.approx(0.125 + 0.484123j, abs=5e-7),
    ]
    # exactly 1/8 +- i sqrt(15)/8, from the game's own exact twin
    exact = game.symbolic().eigenvalues(game.equilibrium())
    assert set(exact) == {
        sp.Rational(1, 8) + sp.sqrt(15) * sp.I / 8,
        sp.Rational(1, 8) - sp.sqrt(15) * sp.I / 8,
    }


@pytest.mark.parametrize("loss, c", [("standard", 0.5), ("non_saturating", 0.5), ("wgan", 1.0)])
@pytest.mark.parametrize("eta", [0.1, 0.5, 3.0])
def test_dirac_jacobian_at_the_equilibrium_is_the_closed_form(loss, c, eta) -> None:
    # J = [[2 eta c^2, c], [-c, 0]], c = f'(0): eigenvalues eta c^2 +- sqrt(eta^2 c^4 - c^2)
    game = nagarajan_kolter(DiracGAN(loss), eta)
    J = jacobian(game, game.equilibrium()).matrix
    expected = torch.tensor([[2 * eta * c * c, c], [-c, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(J, expected, rtol=0, atol=1e-14)
    root = np.sqrt(complex(eta**2 * c**4 - c**2))
    got = sorted(np.linalg.eigvals(J.numpy()), key=lambda z: (z.imag, z.real))
    want = sorted([eta * c * c + root, eta * c * c - root], key=lambda z: (z.imag, z.real))
    np.testing.assert_allclose(got, want, atol=1e-12)


def _sympy_nk_dirac(eta: float, gamma: float):
    """The R1 Dirac-GAN plus the regulariser, written out in sympy (a second channel)."""
    theta, psi = sp.symbols("theta psi", real=True)
    f = lambda t: -sp.log(1 + sp.exp(-t))  # noqa: E731
    value = f(psi * theta) + f(sp.Integer(0))
    l_d = -value + sp.Rational(str(gamma)) / 2 * psi**2
    l_g = value + sp.Rational(str(eta)) * sp.diff(l_d, psi) ** 2
    xi = sp.Matrix([sp.diff(l_g, theta), sp.diff(l_d, psi)])
    return sp.lambdify((theta, psi), xi, "numpy"), sp.lambdify(
        (theta, psi), xi.jacobian([theta, psi]), "numpy"
    )


def test_field_and_jacobian_away_from_the_equilibrium_match_sympy() -> None:
    eta, gamma = 0.7, 0.3
    xi, J = _sympy_nk_dirac(eta, gamma)
    game = nagarajan_kolter(DiracGAN(regularizer="r1", gamma=gamma), eta)
    for point in ([0.4, -0.7], [-1.2, 0.9], [2.0, 0.5]):
        params = as_params(game, [[point[0]], [point[1]]])
        field = flatten_params(vector_field(game, params)).numpy()
        np.testing.assert_allclose(field, np.asarray(xi(*point), float).ravel(), atol=1e-13)
        np.testing.assert_allclose(
            jacobian(game, params).matrix.numpy(), np.asarray(J(*point), float), atol=1e-12
        )


def test_bilinear_game_gains_exactly_two_eta_on_the_generator_diagonal() -> None:
    # x y: grad_y l_y = -x, so l_x^NK = x y + eta x^2 and J = [[2 eta, 1], [-1, 0]] everywhere
    eta = 0.35
    game = nagarajan_kolter(Bilinear.xy(), eta)
    for point in ([0.0, 0.0], [1.5, -2.0]):
        J = jacobian(game, as_params(game, [[point[0]], [point[1]]])).matrix
        torch.testing.assert_close(J, torch.tensor([[2 * eta, 1.0], [-1.0, 0.0]]).double())


@pytest.mark.parametrize(
    "base",
    [DiracGAN(), DiracGAN("non_saturating", "r1", gamma=0.7), Bilinear.xy(), GAMES["zero_sum"]],
    ids=["dirac", "dirac_ns_r1", "xy", "zero_sum"],
)
def test_contract_fixed_points_and_player_loss(base) -> None:
    game = nagarajan_kolter(base, 0.4)
    assert isinstance(game, NagarajanKolterGame)
    check_game(game)
    eq = base.equilibrium()
    assert float(flatten_params(vector_field(game, eq)).abs().max()) < 1e-13
    params = random_params(game, seed=4)
    losses = game.losses(params)
    for i in range(2):
        torch.testing.assert_close(game.player_loss(params, i), losses[i], rtol=0, atol=0)
    # eta = 0 is the base game; the penalty is eta |grad_D l_D|^2 by definition
    zero = nagarajan_kolter(base, 0.0)
    for a, b in zip(zero.losses(params), base.losses(params)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-15)
    grad_d = vector_field(base, params)[1]
    torch.testing.assert_close(
        losses[0] - base.losses(params)[0], 0.4 * (grad_d**2).sum(), rtol=1e-12, atol=1e-14
    )


def test_neural_gan_contract() -> None:
    check_game(nagarajan_kolter(TinyNeuralGAN(hidden=2, batch=6), 0.2))


def test_the_regulariser_makes_simultaneous_gd_converge_on_the_dirac_gan() -> None:
    # plain Dirac-GAN: |1 - lr (+- i/2)| > 1 for every lr; regularised: |1 - lr lambda| < 1
    base, lr = DiracGAN(), 0.5
    game = nagarajan_kolter(base, 0.5)
    plain = linearize(SimultaneousGD(lr), base, base.equilibrium()).spectral_radius
    damped = linearize(SimultaneousGD(lr), game, game.equilibrium()).spectral_radius
    assert plain == pytest.approx(math.hypot(1.0, lr / 2), abs=1e-12)
    assert damped == pytest.approx(abs(1 - lr * (0.125 + 0.484123j)), abs=1e-6) and damped < 1
    final = run(game, SimultaneousGD(lr), as_params(game, [[0.3], [0.2]]), 400).params[-1]
    assert float(final.abs().max()) < 1e-6


def test_alternating_gd_on_the_regularised_game_is_the_hand_built_operator() -> None:
    # D first: psi' = psi - lr (J_DG theta + J_DD psi); theta' = theta - lr (J_GG theta + J_GD psi')
    game, lr = nagarajan_kolter(DiracGAN(regularizer="r1", gamma=0.4), 0.6), 0.3
    eq = game.equilibrium()
    (a, b), (c, d) = jacobian(game, eq).matrix.tolist()
    psi_row = [-lr * c, 1 - lr * d]
    theta_row = [1 - lr * a - lr * b * psi_row[0], -lr * b * psi_row[1]]
    expected = torch.tensor([theta_row, psi_row], dtype=torch.float64)
    got = linearize(Alternating(SimultaneousGD(lr)), game, eq).matrix
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-14)


def test_nagarajan_kolter_errors() -> None:
    with pytest.raises(ValueError, match="eta"):
        nagarajan_kolter(DiracGAN(), -0.1)
    with pytest.raises(ValueError, match="expected two different players"):
        nagarajan_kolter(DiracGAN(), 0.1, generator=1, discriminator="discriminator")
    with pytest.raises(TypeError, match=r"game: expected a games\.Game"):
        nagarajan_kolter(object(), 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown player"):
        nagarajan_kolter(DiracGAN(), 0.1, discriminator="critic")


# -- Projected: weight clipping (Arjovsky et al., 2017) --------------------------------------


def test_wgan_clipping_on_the_dirac_gan_equals_the_algorithm_by_hand() -> None:
    # WGAN Dirac-GAN: l_G = psi theta, l_D = -psi theta; Algorithm 1 of Arjovsky et al.:
    # k critic steps psi <- clip(psi + lr theta, -c, c), then theta <- theta - lr psi
    game, lr, c, k = DiracGAN("wgan"), 0.05, 0.01, 5
    rule = Alternating(Projected(SimultaneousGD(lr), {"discriminator": c}), repeats=(1, k))
    traj = run(game, rule, as_params(game, [[0.8], [0.0]]), 60)
    theta, psi = 0.8, 0.0
    for t in range(60):
        for _ in range(k):
            psi = min(max(psi + lr * theta, -c), c)
        theta = theta - lr * psi
        np.testing.assert_allclose(traj.params[t + 1].numpy(), [theta, psi], rtol=0, atol=1e-15)
    assert float(traj.params[:, 1].abs().max()) <= c


def test_projected_linearisation_and_contract() -> None:
    game = GAMES["dirac_ns_r1"]
    inside = Projected(Momentum(0.1, beta=0.5), [None, (-2.0, 2.0)])
    check_update_rule(inside, [game, GAMES["xy"], TinyNeuralGAN(hidden=2, batch=4)])
    point = as_params(game, [[0.3], [0.2]])
    # no coordinate clipped: the rule's own linearisation
    torch.testing.assert_close(
        linearize(inside, game, point).matrix,
        linearize(Momentum(0.1, beta=0.5), game, point).matrix,
        rtol=0,
        atol=0,
    )
    # psi clipped at 0.2 from above: its row of the step map is zero (a constant)
    clipped = Projected(Momentum(0.1, beta=0.5), [None, 0.2])
    far = as_params(game, [[3.0], [0.2]])  # psi moves up: l_D's gradient pushes it past 0.2
    state = clipped.init(game, far)
    moved, _ = clipped.step(game, far, state)
    assert float(moved[1]) == 0.2
    matrix = linearize(clipped, game, far).matrix
    free = linearize(Momentum(0.1, beta=0.5), game, far).matrix
    assert torch.equal(matrix[1], torch.zeros(4, dtype=torch.float64))
    torch.testing.assert_close(matrix[[0, 2, 3]], free[[0, 2, 3]], rtol=0, atol=0)
    # batched runs agree with single runs
    starts = torch.tensor([[3.0, 0.2], [0.5, -0.1]], dtype=torch.float64)
    batched = run_batched(game, clipped, starts, 5)
    for b in range(2):
        single = run(
            game, clipped, as_params(game, [[float(starts[b, 0])], [float(starts[b, 1])]]), 5
        )
        torch.testing.assert_close(batched[:, b], single.params, rtol=0, atol=1e-14)


def test_a_callable_projection_onto_a_ball() -> None:
    def ball(game, params):
        d = params[1]
        return (params[0], d * torch.clamp(0.5 / torch.linalg.vector_norm(d), max=1.0))

    game = GAMES["zero_sum"]  # players of 3 and 2 parameters
    rule = Projected(SimultaneousGD(0.3), ball)
    params = as_params(game, [[1.0, -1.0, 2.0], [3.0, 4.0]])
    new, _ = rule.step(game, params, rule.init(game, params))
    plain, _ = SimultaneousGD(0.3).step(game, params, SimultaneousGD(0.3).init(game, params))
    torch.testing.assert_close(new[0], plain[0])
    torch.testing.assert_close(new[1], plain[1] * 0.5 / torch.linalg.vector_norm(plain[1]))
    with pytest.raises(ValueError, match="the projection must return one tensor per player"):
        Projected(SimultaneousGD(0.3), lambda g, p: p[:1]).step(
            game, params, rule.init(game, params)
        )


def test_projected_lr_is_split_among_copies_by_alternating() -> None:
    inner = RMSProp([0.1, 0.2])
    rule = Alternating(Projected(inner, {"discriminator": 0.01}))
    game = DiracGAN("wgan")
    per_player = rule._per_player(game)
    assert [r.lr for r in per_player] == [0.1, 0.2] and inner.lr == [0.1, 0.2]
    assert all(r.rule is not inner for r in per_player)


def test_projected_errors() -> None:
    game = DiracGAN()
    with pytest.raises(TypeError, match=r"rule: expected a dynamics\.UpdateRule"):
        Projected("gd", [None, 1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bounds: expected one box per player"):
        Projected(SimultaneousGD(0.1), 0.01)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"bounds\[1\]: expected a bound c >= 0"):
        Projected(SimultaneousGD(0.1), [None, -1.0])
    with pytest.raises(ValueError, match=r"bounds\[0\]: expected low <= high"):
        Projected(SimultaneousGD(0.1), [(1.0, -1.0), None])
    with pytest.raises(ValueError, match=r"bounds\[0\]: expected \(low, high\)"):
        Projected(SimultaneousGD(0.1), [(1.0, 2.0, 3.0), None])
    with pytest.raises(ValueError, match=r"bounds: expected one box per player \(2\), got 1"):
        Projected(SimultaneousGD(0.1), [1.0]).init(game, game.equilibrium())
    with pytest.raises(ValueError, match=r"bounds: unknown players \['critic'\]"):
        Projected(SimultaneousGD(0.1), {"critic": 0.01}).init(game, game.equilibrium())


def test_the_trainer_takes_a_projected_rule(tmp_path) -> None:
    from gan_models import TrainConfig, Trainer, build_game, build_rule

    cfg = TrainConfig.from_dict(
        {
            "steps": 6,
            "batch_size": 16,
            "latent_dim": 2,
            "eval_every": 6,
            "eval_samples": 50,
            "checkpoint_every": 6,
            "log_every": 3,
            "generator": {"width": 8},
            "discriminator": {"width": 8},
            "optimizer": {"lr": 1e-2},
        }
    )
    game, base, _ = build_game(cfg)
    rule = Projected(build_rule(cfg), {"discriminator": 0.01})
    trainer = Trainer(game, base, rule, steps=6, eval_every=6, eval_samples=50, progress=False)
    start = trainer.params[1].clone()
    trainer.train()
    assert float(start.abs().max()) > 0.01  # the initial weights are outside the box
    assert float(trainer.params[1].abs().max()) <= 0.01
