"""dynamics: rules, trajectories, flows and linearisations, measured against the mathematics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import GAMES, TinyNeuralGAN, assert_same_spectrum

from dynamics import (
    CGD,
    LOLA,
    SGA,
    Adam,
    AlternatingGD,
    Consensus,
    Extragradient,
    LookAhead,
    Momentum,
    OptimisticGD,
    ProximalPoint,
    RMSProp,
    SimultaneousGD,
    check_update_rule,
    closed_form_operator,
    flow,
    linearize,
    run,
    run_batched,
    spectral_radius,
)
from games import Bilinear, DiracGAN, Quadratic, as_params, flatten_params, jacobian, random_params

XY = Bilinear.xy()

RULES = {
    "gd": SimultaneousGD(lr=0.05),
    "gd_two_timescale": SimultaneousGD(lr=[0.02, 0.08]),
    "gd_schedule": SimultaneousGD(lr=lambda t: 0.05 / (1 + 0.01 * t)),
    "alternating": AlternatingGD(lr=0.05, repeats=[1, 2]),
    "momentum": Momentum(lr=0.05, beta=0.5),
    "negative_momentum": Momentum(lr=0.05, beta=-0.3),
    "adam": Adam(lr=0.01, betas=(0.5, 0.9)),
    "rmsprop": RMSProp(lr=0.01),
    "extragradient": Extragradient(lr=0.05),
    "ogda": OptimisticGD(lr=0.05),
    "proximal": ProximalPoint(lr=0.05),
    "proximal_iterative": ProximalPoint(lr=0.05, exact=False, inner_steps=30),
    "consensus": Consensus(lr=0.05, gamma=0.5),
    "sga": SGA(lr=0.05, lam=0.5),
    "lookahead": LookAhead(lr=0.05, alpha=0.1),
    "lola": LOLA(lr=0.05, alpha=0.1),
}
TWO_PLAYER = [g for name, g in GAMES.items() if name != "three_player"]


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_contract_on_every_game(name):
    games = [*TWO_PLAYER, TinyNeuralGAN(hidden=3, batch=8)]
    if name not in ("gd_two_timescale", "alternating"):  # configured per player for two
        games.append(GAMES["three_player"])
    check_update_rule(RULES[name], games)


def test_cgd_contract_on_two_player_games():
    check_update_rule(CGD(lr=0.05), TWO_PLAYER)
    with pytest.raises(ValueError, match="CGD is defined for two players"):
        CGD(lr=0.1).init(GAMES["three_player"], random_params(GAMES["three_player"]))


# -- the x·y game -------------------------------------------------------------------


def test_xy_flow_is_a_circle_and_matches_the_closed_form():
    x0, y0 = 0.8, -0.3
    t = np.linspace(0.0, 50.0, 501)
    sol = flow(XY, as_params(XY, [[x0], [y0]]), (0.0, 50.0), t_eval=t)
    assert sol.success
    radius2 = (sol.theta**2).sum(1)
    assert np.max(np.abs(radius2 - (x0**2 + y0**2))) < 1e-6
    np.testing.assert_allclose(sol.theta[:, 0], x0 * np.cos(t) - y0 * np.sin(t), atol=1e-6)
    np.testing.assert_allclose(sol.theta[:, 1], x0 * np.sin(t) + y0 * np.cos(t), atol=1e-6)


@pytest.mark.parametrize("eta", [0.01, 0.1, 0.5])
def test_simultaneous_gd_on_xy_grows_by_exactly_sqrt_one_plus_eta_squared(eta):
    traj = run(XY, SimultaneousGD(lr=eta), as_params(XY, [[0.3], [0.4]]), 50)
    norms = traj.norms().numpy()
    np.testing.assert_allclose(norms[1:] / norms[:-1], math.sqrt(1 + eta**2), rtol=1e-12)


@pytest.mark.parametrize("eta", [0.1, 1.0, 1.9])
def test_alternating_gd_on_xy_stays_bounded_below_two(eta):
    traj = run(XY, AlternatingGD(lr=eta), as_params(XY, [[1.0], [0.0]]), 400)
    norms = traj.norms().numpy()
    assert not traj.diverged
    # y moves first: y' = y + eta x, x' = x - eta y'.  The map M = [[1 - eta^2, -eta],
    # [eta, 1]] has det 1 and trace 2 - eta^2: eigenvalues on the unit circle for eta < 2,
    # so the orbit stays within cond(V) of its start and does not converge.  It turns by
    # arccos(1 - eta^2 / 2) a step (0.1 rad at eta = 0.1): 400 steps are six turns and the
    # last 100 steps one and a half, while simultaneous GD would have grown 1.005^400 = 7.3x.
    M = np.array([[1 - eta**2, -eta], [eta, 1.0]])
    cond = np.linalg.cond(np.linalg.eig(M)[1])
    assert norms.max() <= cond + 1e-9
    assert norms[-100:].min() >= 1 / cond - 1e-9
    lin = linearize(AlternatingGD(lr=eta), XY, XY.equilibrium())
    torch.testing.assert_close(lin.matrix, torch.tensor(M))
    assert lin.spectral_radius == pytest.approx(1.0, abs=1e-12)
    assert linearize(AlternatingGD(lr=2.1), XY, XY.equilibrium()).spectral_radius > 1.0


@pytest.mark.parametrize(
    "rule",
    [Extragradient(lr=0.2), OptimisticGD(lr=0.2), ProximalPoint(lr=0.2), CGD(lr=0.2)],
)
def test_extragradient_ogda_proximal_and_cgd_converge_on_xy(rule):
    traj = run(XY, rule, as_params(XY, [[1.0], [0.5]]), 600)
    assert float(traj.norms()[-1]) < 1e-3 * float(traj.norms()[0])
    assert linearize(rule, XY, XY.equilibrium()).spectral_radius < 1.0


# -- rates: the measured contraction equals the predicted spectral radius ------------


def _measured_rate(traj, start):
    norms = traj.norms().numpy()
    steps = len(norms) - 1 - start
    return (norms[-1] / norms[start]) ** (1.0 / steps)


@pytest.mark.parametrize(
    "rule",
    [
        SimultaneousGD(lr=0.1),
        SimultaneousGD(lr=[0.05, 0.2]),
        Extragradient(lr=0.2),
        OptimisticGD(lr=0.2),
        ProximalPoint(lr=0.3),
        Consensus(lr=0.1, gamma=0.5),
        Momentum(lr=0.1, beta=-0.3),
        CGD(lr=0.3),
        AlternatingGD(lr=0.3, repeats=[1, 2]),
    ],
    ids=lambda r: repr(r)[:40],
)
def test_measured_contraction_matches_linearized_spectral_radius(rule):
    gen = torch.Generator().manual_seed(5)
    A = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    game = Bilinear(A)
    rho = linearize(rule, game, game.equilibrium()).spectral_radius
    traj = run(game, rule, random_params(game, seed=1), 800)
    measured = _measured_rate(traj, 300)
    assert measured == pytest.approx(rho, rel=2e-3)


# -- linearize against the closed-form operators ------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        SimultaneousGD(lr=0.1),
        SimultaneousGD(lr=[0.05, 0.3]),
        Extragradient(lr=[0.1, 0.2]),
        ProximalPoint(lr=0.2),
        ProximalPoint(lr=0.2, exact=False, inner_steps=80),
        Consensus(lr=0.1, gamma=0.7),
        Momentum(lr=0.1, beta=[0.5, -0.2]),
        OptimisticGD(lr=[0.1, 0.05]),
        CGD(lr=[0.2, 0.1]),
    ],
    ids=lambda r: repr(r)[:50],
)
@pytest.mark.parametrize("name", ["dirac_ns_r1", "zero_sum", "bilinear_3x2", "dirac"])
def test_linearize_equals_the_closed_form_operator(rule, name):
    game = GAMES[name]
    eq = game.equilibrium()
    if isinstance(rule, ProximalPoint) and rule.exact is False and name == "bilinear_3x2":
        pytest.skip("fixed-point iterations need eta * |A| < 1")
    auto = linearize(rule, game, eq).matrix
    closed = closed_form_operator(rule, game, eq)
    tol = 1e-9 if not (isinstance(rule, ProximalPoint) and rule.exact is False) else 1e-6
    torch.testing.assert_close(auto, closed, rtol=tol, atol=tol)


def test_linearize_on_a_neural_game_matches_i_minus_eta_j():
    game = TinyNeuralGAN(hidden=3, batch=8)
    params = tuple(p.double() for p in (game.G.flatten(), game.D.flatten()))
    lin = linearize(SimultaneousGD(lr=[0.1, 0.2]), game, params)
    J = jacobian(game, params).matrix
    D = torch.diag(
        torch.cat([torch.full((game.sizes[0],), 0.1), torch.full((game.sizes[1],), 0.2)]).double()
    )
    torch.testing.assert_close(lin.matrix, torch.eye(J.shape[0], dtype=torch.float64) - D @ J)


@pytest.mark.parametrize("solver", ["cg", "cgnr"])
def test_cgd_solvers_agree_with_the_dense_solve(solver):
    # a zero-sum quadratic with coupling: one step and the linearisation, matrix-free CG
    # (exact here: iterations = player size) against the dense LU solve
    gen = torch.Generator().manual_seed(5)
    game = Quadratic.zero_sum(
        torch.tensor([[1.0, 0.2], [0.2, 0.5]], dtype=torch.float64),
        torch.randn(2, 3, generator=gen, dtype=torch.float64),
        0.3 * torch.eye(3, dtype=torch.float64),
    )
    params = random_params(game, seed=4)
    dense, matrix_free = CGD(lr=0.3, solver="dense"), CGD(lr=0.3, solver=solver)
    a, _ = dense.step(game, params, dense.init(game, params))
    b, _ = matrix_free.step(game, params, matrix_free.init(game, params))
    torch.testing.assert_close(flatten_params(a), flatten_params(b), rtol=1e-10, atol=1e-12)
    la = linearize(dense, game, game.equilibrium()).matrix
    lb = linearize(matrix_free, game, game.equilibrium()).matrix
    torch.testing.assert_close(la, lb, rtol=1e-9, atol=1e-10)


def test_cgd_on_a_bilinear_game_is_the_proximal_point_method():
    gen = torch.Generator().manual_seed(2)
    game = Bilinear(torch.randn(3, 2, generator=gen, dtype=torch.float64))
    params = random_params(game, seed=3)
    for eta in (0.1, 0.7, 2.0):
        cgd, _ = CGD(lr=eta).step(game, params, CGD(lr=eta).init(game, params))
        cg, _ = CGD(lr=eta, solver="cg").step(game, params, CGD(lr=eta).init(game, params))
        prox, _ = ProximalPoint(lr=eta).step(game, params, ProximalPoint(lr=eta).init(game, params))
        torch.testing.assert_close(
            flatten_params(cgd), flatten_params(prox), rtol=1e-10, atol=1e-12
        )
        torch.testing.assert_close(flatten_params(cg), flatten_params(prox), rtol=1e-10, atol=1e-12)


def test_momentum_companion_matrix_eigenvalues():
    # for the x·y game the eigenvalues of the companion matrix solve
    # mu^2 - (1 + beta - eta*lambda) mu + beta = 0 for lambda = ±i
    eta, beta = 0.2, -0.4
    lin = linearize(Momentum(lr=eta, beta=beta), XY, XY.equilibrium())
    roots = []
    for lam in (1j, -1j):
        roots += list(np.roots([1.0, -(1 + beta - eta * lam), beta]))
    assert_same_spectrum(lin.eigenvalues(), roots, rtol=1e-10, atol=1e-12)


# -- the Dirac-GAN -------------------------------------------------------------------


def test_dirac_gan_gd_diverges_alternating_cycles_r1_converges():
    start = as_params(GAMES["dirac"], [[1.0], [0.5]])
    plain, r1 = DiracGAN(), DiracGAN("standard", "r1", gamma=1.0)
    # 500 steps: at the equilibrium alternating GD turns by about 0.1 rad a step (60 steps
    # a cycle), simultaneous GD grows by sqrt(1 + 0.2^2 / 4) a step and the R1 GD shrinks
    # by 0.9 (rho of I - 0.2 J, J with the double eigenvalue 1/2)
    gd = run(plain, SimultaneousGD(lr=0.2), start, 500)
    alt = run(plain, AlternatingGD(lr=0.2), start, 500)
    reg = run(r1, SimultaneousGD(lr=0.2), start, 500)
    assert float(gd.norms()[-1]) > 1.5 * float(gd.norms()[0])  # spirals outward
    assert 0.3 < float(alt.norms()[-250:].min()) and float(alt.norms().max()) < 3.0  # cycles
    assert float(reg.norms()[-1]) < 1e-6  # converges
    eq = plain.equilibrium()
    assert linearize(SimultaneousGD(lr=0.2), plain, eq).spectral_radius > 1
    assert linearize(AlternatingGD(lr=0.2), plain, eq).spectral_radius == pytest.approx(
        1.0, abs=1e-12
    )
    assert linearize(SimultaneousGD(lr=0.2), r1, eq).spectral_radius < 1


# -- trajectories --------------------------------------------------------------------


def test_run_batched_equals_single_runs():
    game = GAMES["dirac_ns_r1"]
    rule = Momentum(lr=0.1, beta=0.3)
    starts = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    batched = run_batched(game, rule, starts, 30)
    for b in range(5):
        single = run(game, rule, (starts[b, :1], starts[b, 1:]), 30)
        torch.testing.assert_close(batched[:, b], single.params, rtol=1e-12, atol=1e-14)


def test_divergence_stops_with_a_report_and_keeps_the_last_good_state():
    traj = run(XY, SimultaneousGD(lr=1.0), as_params(XY, [[1.0], [0.0]]), 500, max_norm=100.0)
    assert traj.diverged
    # |theta_t| = 2^(t/2) exceeds 100 first at t = 14
    assert traj.divergence.step == 14
    assert "exceeded max_norm" in str(traj.divergence)
    assert float(torch.linalg.vector_norm(flatten_params(traj.final))) == pytest.approx(2**6.5)

    class Exploding(Bilinear):
        def losses(self, params):
            x, y = params
            value = x @ y + torch.where(
                x.abs().sum() > 2.0, torch.tensor(math.nan, dtype=x.dtype), x.sum() * 0
            )
            return value, -value

    bad = run(Exploding([[1.0]]), SimultaneousGD(lr=0.5), as_params(XY, [[1.0], [1.0]]), 50)
    assert bad.diverged and "NaN" in bad.divergence.reason


def test_callbacks_and_recording():
    seen = []
    traj = run(
        XY,
        SimultaneousGD(lr=0.1),
        as_params(XY, [[1.0], [0.0]]),
        10,
        record_every=3,
        callback=lambda t, p, s: seen.append(t) or t,
        callback_every=5,
    )
    assert list(traj.steps) == [0, 3, 6, 9, 10]
    assert seen == [5, 10] and traj.callbacks == [5, 10]
    assert traj.losses.shape == (5, 2)
    torch.testing.assert_close(traj.field_norm, traj.norms())  # |xi| = |theta| on x·y


def test_flow_continuous_time_limits():
    game = GAMES["dirac_ns_r1"]
    start = as_params(game, [[0.5], [0.5]])
    gd = flow(game, start, (0.0, 40.0))
    cons = flow(game, start, (0.0, 40.0), rule="consensus", gamma=1.0)
    assert np.linalg.norm(gd.theta[-1]) < 1e-3
    assert np.linalg.norm(cons.theta[-1]) < np.linalg.norm(gd.theta[-1])
    # SGA on the x·y game (A = J) converges, plain flow orbits
    sga = flow(XY, as_params(XY, [[1.0], [0.0]]), (0.0, 20.0), rule="sga", gamma=1.0)
    assert np.linalg.norm(sga.theta[-1]) < 1e-3


def test_sga_on_xy_converges_and_lola_lookahead_reduce_to_closed_forms():
    traj = run(XY, SGA(lr=0.1, lam=1.0), as_params(XY, [[1.0], [0.5]]), 400)
    assert float(traj.norms()[-1]) < 1e-3
    # on x·y, H_o = J, so look-ahead = xi - alpha J xi; LOLA adds -alpha diag(H_o^T grad L)
    params = as_params(XY, [[0.7], [-0.2]])
    x, y = 0.7, -0.2
    la, _ = LookAhead(lr=1.0, alpha=0.3).step(XY, params, LookAhead(lr=1.0).init(XY, params))
    # xi = (y, -x); J xi = (-x, -y); look-ahead direction = (y + 0.3 x, -x + 0.3 y)
    torch.testing.assert_close(
        flatten_params(la),
        torch.tensor([x - (y + 0.3 * x), y - (-x + 0.3 * y)], dtype=torch.float64),
    )
    lola, _ = LOLA(lr=1.0, alpha=0.3).step(XY, params, LOLA(lr=1.0).init(XY, params))
    # shaping_x = J_yx^T grad_y l_x = (-1)(x) ; shaping_y = J_xy^T grad_x l_y = (1)(-y)
    expected = torch.tensor(
        [x - (y + 0.3 * x + 0.3 * x), y - (-x + 0.3 * y + 0.3 * y)], dtype=torch.float64
    )
    torch.testing.assert_close(flatten_params(lola), expected)


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: SimultaneousGD(lr=-0.1), ValueError, "lr: expected a step size >= 0"),
        (lambda: SimultaneousGD(lr=math.nan), ValueError, "lr: expected a finite number"),
        (
            lambda: SimultaneousGD(lr=[0.1, math.inf]),
            ValueError,
            r"lr\[1\]: expected a finite number",
        ),
        (lambda: SimultaneousGD(lr="fast"), TypeError, "lr: expected a number"),
        (lambda: Momentum(lr=0.1, beta=1.0), ValueError, "beta: expected values < 1"),
        (lambda: Momentum(lr=0.1, beta=-1.0), ValueError, r"beta: expected a value in \(-1, 1\)"),
        (lambda: Adam(lr=0.1, betas=(0.9,)), ValueError, "betas: expected two numbers"),
        (lambda: Adam(lr=0.1, eps=0.0), ValueError, "eps: expected a number > 0"),
        (lambda: RMSProp(lr=0.1, rho=1.5), ValueError, "rho: expected values < 1"),
        (
            lambda: ProximalPoint(lr=0.1, inner_steps=0),
            ValueError,
            "inner_steps: expected a positive int",
        ),
        (lambda: CGD(lr=0.1, solver="lu"), ValueError, "solver: expected 'auto', 'dense'"),
        (lambda: Consensus(lr=0.1, gamma=-1.0), ValueError, "gamma: expected values >= 0"),
        (
            lambda: SimultaneousGD(lr=[0.1, 0.2, 0.3]).step(
                XY, XY.equilibrium(), SimultaneousGD(lr=0.1).init(XY, XY.equilibrium())
            ),
            ValueError,
            r"lr: expected one value per player \(2\), got 3",
        ),
        (
            lambda: AlternatingGD(lr=0.1, order=[0, 0]).init(XY, XY.equilibrium()),
            ValueError,
            "order: expected a permutation",
        ),
        (
            lambda: ProximalPoint(lr=0.1, exact=True).init(
                TinyNeuralGAN(hidden=2, batch=4), random_params(TinyNeuralGAN(hidden=2, batch=4))
            ),
            TypeError,
            "has no affine_field",
        ),
        (
            lambda: run(XY, "gd", XY.equilibrium(), 10),
            TypeError,
            "rule: expected a dynamics.UpdateRule",
        ),
        (
            lambda: run(XY, SimultaneousGD(lr=0.1), XY.equilibrium(), -1),
            ValueError,
            "steps: expected a non-negative int",
        ),
        (
            lambda: run_batched(XY, SimultaneousGD(lr=0.1), torch.zeros(3, 5), 2),
            ValueError,
            r"thetas0: expected a \(batch, 2\) tensor",
        ),
        (
            lambda: flow(XY, XY.equilibrium(), (0.0, 1.0), rule="adam"),
            ValueError,
            "rule: expected one of",
        ),
        (
            lambda: SimultaneousGD(lr=lambda t: -1.0).step(
                XY, XY.equilibrium(), SimultaneousGD(lr=0.1).init(XY, XY.equilibrium())
            ),
            ValueError,
            r"lr\(0\): expected values >= 0",
        ),
    ],
)
def test_bad_rule_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_rule_needing_jvp_refuses_a_game_that_cannot_give_it():
    class Opaque(Bilinear):
        differentiable_twice = False

    game = Opaque([[1.0]])
    for rule in (Consensus(lr=0.1), SGA(lr=0.1), CGD(lr=0.1), LOLA(lr=0.1)):
        with pytest.raises(
            TypeError, match=r"needs Jacobian-vector products.*differentiable_twice = False"
        ):
            rule.init(game, game.equilibrium())
    SimultaneousGD(lr=0.1).init(game, game.equilibrium())  # first-order rules are fine


def test_spectral_radius_input():
    assert spectral_radius(torch.tensor([[0.0, 2.0], [-2.0, 0.0]])) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="matrix: expected a square 2-D tensor"):
        spectral_radius(torch.zeros(2, 3))
    # a triangular matrix: its eigenvalues are its diagonal
    triangular = torch.tensor(
        [[0.5, 3.0, -1.0], [0.0, -0.9, 2.0], [0.0, 0.0, 0.7]], dtype=torch.float64
    )
    assert spectral_radius(triangular) == pytest.approx(0.9, abs=1e-12)


def test_alternating_wrapper_equals_alternating_gd_and_keeps_per_player_state() -> None:
    from dynamics import Adam, Alternating, AlternatingGD, SimultaneousGD
    from games import Bilinear, as_params

    game = Bilinear.xy()
    start = as_params(game, [[1.0], [0.5]])
    for repeats in (1, (1, 3), (2, 1)):
        a, b = (
            Alternating(SimultaneousGD(lr=0.1), repeats=repeats),
            AlternatingGD(0.1, repeats=repeats),
        )
        pa, sa, pb, sb = start, a.init(game, start), start, b.init(game, start)
        for _ in range(7):
            pa, sa = a.step(game, pa, sa)
            pb, sb = b.step(game, pb, sb)
        for u, v in zip(pa, pb):
            torch.testing.assert_close(u, v, rtol=0, atol=1e-15)
    # Adam per player: each step moves every coordinate by exactly lr (the first Adam step
    # is lr * sign(g)), with each player's own step size, D first
    rule = Alternating(Adam(lr=[0.01, 0.02]))
    params, state = rule.step(game, start, rule.init(game, start))
    assert float(params[1]) == pytest.approx(0.5 + 0.02)  # y ascends x*y (l_y = -x y)
    assert float(params[0]) == pytest.approx(1.0 - 0.01)
    assert state.t == 1 and len(state.buffers) == 2  # (m, v) over both players
    with pytest.raises(ValueError, match="rules"):
        Alternating([SimultaneousGD(0.1)]).init(game, start)
    with pytest.raises(TypeError, match="rules"):
        Alternating("adam")  # type: ignore[arg-type]
