"""Every rule is a pure step map that linearize can differentiate: Alternating included.

References: finite differences of each rule's ``flat_step`` (a second channel to
``torch.func.jacrev``), Gidel et al. (2019)'s characteristic polynomial of alternating
heavy-ball momentum on bilinear games (roots by ``numpy.roots``), a closed-form
best-response operator, and independent runs of the same rule.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import GAMES, TinyNeuralGAN

from analyses import stability_region
from dynamics import (
    Adam,
    Alternating,
    BestResponseGD,
    Momentum,
    OptimisticGD,
    RuleState,
    SimultaneousGD,
    UpdateRule,
    check_update_rule,
    linearize,
    run,
    run_batched,
)
from dynamics.registry import RULES, make_rule
from games import Bilinear, Quadratic, as_params, flatten_params, random_params

XY = Bilinear.xy()
FIRST_ORDER = ("gd", "momentum", "adam", "rmsprop", "extragradient", "optimistic", "proximal")


def _gidel_radius(u: float, beta: float) -> float:
    """Largest root modulus of (l - 1)^2 (l - beta)^2 + u^2 l^3 (Gidel et al., 2019)."""
    quadratic = np.polymul([1.0, -1.0], [1.0, -1.0])
    momentum = np.polymul([1.0, -beta], [1.0, -beta])
    poly = np.polyadd(np.polymul(quadratic, momentum), [u * u, 0.0, 0.0, 0.0])
    return float(np.abs(np.roots(poly)).max())


def test_must_show_alternating_negative_momentum_on_xy() -> None:
    # the default order moves the last player (y, the "discriminator") first; x first
    # gives the same radius on x·y (the game is symmetric under swapping the players)
    for order in (None, (1, 0), (0, 1)):
        rule = Alternating(Momentum(0.5, beta=-0.5), order=order)
        rho = linearize(rule, XY, XY.equilibrium()).spectral_radius
        assert round(rho, 6) == 0.962544
        assert rho == pytest.approx(_gidel_radius(0.5, -0.5), abs=1e-12)


@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9, 1.5])
@pytest.mark.parametrize("beta", [-0.7, -0.3, 0.0, 0.4])
def test_alternating_momentum_on_bilinear_matches_gidel_et_al(eta: float, beta: float) -> None:
    # A with singular values 0.6 and 1.7: the radius is the worst over u = eta * sigma
    U, _ = torch.linalg.qr(torch.tensor([[1.0, 2.0], [-0.5, 1.0]], dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.tensor([[0.3, 1.0], [1.0, -0.2]], dtype=torch.float64))
    sigma = (0.6, 1.7)
    game = Bilinear(U @ torch.diag(torch.tensor(sigma, dtype=torch.float64)) @ V.T)
    rule = Alternating(Momentum(eta, beta=beta))
    lin = linearize(rule, game, game.equilibrium())
    assert lin.matrix.shape == (8, 8) and lin.buffers == 1
    expected = max(_gidel_radius(eta * s, beta) for s in sigma)
    assert lin.spectral_radius == pytest.approx(expected, abs=1e-9)


def _finite_difference_jacobian(
    rule: UpdateRule, game, theta: torch.Tensor, state: RuleState
) -> torch.Tensor:
    """Central differences, each step relative to its coordinate (Adam's v can be 1e-4)."""
    n = theta.numel()
    z = torch.cat([theta, *state.buffers])

    def step(zz: torch.Tensor) -> torch.Tensor:
        parts = torch.split(zz, n)
        new, buffers = rule.flat_step(game, parts[0], RuleState(state.t, tuple(parts[1:])))
        return torch.cat([new, *buffers]).detach()

    columns = []
    for k in range(z.numel()):
        h = 1e-6 * abs(float(z[k])) or 1e-7
        e = torch.zeros_like(z)
        e[k] = h
        columns.append((step(z + e) - step(z - e)) / (2 * h))
    return torch.stack(columns, 1)


def _rules() -> dict[str, UpdateRule]:
    # proximal with 10 inner steps on non-affine games: the test is about the derivative
    options = {"proximal": {"inner_steps": 10}}
    rules = {name: make_rule(name, 0.05, **options.get(name, {})) for name in RULES}
    rules["gd_two_timescale"] = SimultaneousGD([0.03, 0.08])
    for name in FIRST_ORDER:
        rules[f"alternating({name})"] = Alternating(make_rule(name, 0.05, **options.get(name, {})))
    rules["alternating(momentum, d_steps=2)"] = Alternating(
        Momentum([0.05, 0.02], beta=-0.3), repeats=(1, 2)
    )
    rules["alternating(gd, momentum)"] = Alternating([SimultaneousGD(0.05), Momentum(0.05, 0.5)])
    rules["alternating(adam, optimistic)"] = Alternating([Adam(0.01), OptimisticGD(0.05)], (0, 1))
    return rules


RULE_SET = _rules()


@pytest.mark.parametrize("name", sorted(RULE_SET))
def test_every_rule_passes_the_contract_and_linearize_equals_finite_differences(name) -> None:
    rule = RULE_SET[name]
    games = [GAMES["dirac_ns_r1"], GAMES["zero_sum"], TinyNeuralGAN(hidden=2, batch=6)]
    check_update_rule(rule, games[:2])
    for game in games:
        # a state from three steps of the rule: buffers away from their initial zeros
        params = random_params(game, seed=2, scale=0.5)
        state = rule.init(game, params)
        for _ in range(3):
            params, state = rule.step(game, params, state)
        lin = linearize(rule, game, params, state)
        n = sum(game.sizes)
        assert lin.matrix.shape == (n * (1 + lin.buffers),) * 2
        numeric = _finite_difference_jacobian(rule, game, flatten_params(params), state)
        scale = 1.0 + float(numeric.abs().max())
        # Adam's and RMSProp's derivatives in v reach 1e4 where v is small: relative too
        torch.testing.assert_close(lin.matrix, numeric, rtol=1e-4, atol=1e-5 * scale)


def test_alternating_init_stores_nothing_and_serves_games_of_any_size() -> None:
    rule = Alternating(Adam(lr=[0.01, 0.02]), repeats=(1, 2))
    before = copy.deepcopy(vars(rule))
    small, big = XY, TinyNeuralGAN(hidden=2, batch=4)
    state_small = rule.init(small, small.equilibrium())
    state_big = rule.init(big, random_params(big, seed=0))
    assert set(vars(rule)) == set(before)
    assert all(vars(rule)[k] == v for k, v in before.items() if k != "rules")
    assert [tuple(b.shape) for b in state_small.buffers] == [(2,), (2,)]
    n = sum(big.sizes)
    assert [tuple(b.shape) for b in state_big.buffers] == [(n,), (n,)]
    # interleaved use on both games: each step only reads its own state
    p_small = as_params(small, [[1.0], [0.5]])
    out1, _ = rule.step(small, p_small, rule.init(small, p_small))
    rule.step(big, random_params(big, seed=0), state_big)
    out2, _ = rule.step(small, p_small, rule.init(small, p_small))
    assert all(torch.equal(a, b) for a, b in zip(out1, out2))


def test_alternating_reads_the_per_player_state_layout_of_earlier_versions() -> None:
    rule = Alternating(Adam(lr=0.01))
    params = as_params(XY, [[1.0], [0.5]])
    state = rule.init(XY, params)
    params, state = rule.step(XY, params, state)
    m, v = state.buffers
    legacy = RuleState(state.t, (m[:1], v[:1], m[1:], v[1:]))  # m_x, v_x, m_y, v_y
    new_a, state_a = rule.step(XY, params, state)
    new_b, state_b = rule.step(XY, params, legacy)
    assert all(torch.equal(a, b) for a, b in zip(new_a, new_b))
    assert all(torch.equal(a, b) for a, b in zip(state_a.buffers, state_b.buffers))
    with pytest.raises(ValueError, match=r"state: expected 2 buffers of shape \(2,\)"):
        rule.step(XY, params, RuleState(1, (m,)))


def test_alternating_under_run_batched_equals_single_runs() -> None:
    game = GAMES["dirac_ns_r1"]
    rule = Alternating(Momentum([0.2, 0.3], beta=-0.4), repeats=(1, 2))
    starts = torch.tensor([[0.5, -0.2], [1.0, 0.3], [-0.4, 0.9]], dtype=torch.float64)
    batched = run_batched(game, rule, starts, 15)
    for b in range(starts.shape[0]):
        single = run(
            game, rule, as_params(game, [[float(starts[b, 0])], [float(starts[b, 1])]]), 15
        )
        torch.testing.assert_close(batched[:, b], single.params, rtol=0, atol=1e-13)


def test_stability_region_over_an_alternating_factory_is_gidels_map() -> None:
    lrs, betas = np.array([0.2, 0.8, 1.4]), np.array([-0.6, -0.2, 0.3])
    region = stability_region(
        XY, XY.equilibrium(), lambda lr, beta: Alternating(Momentum(lr, beta=beta)),
        lr=lrs, beta=betas,
    )  # fmt: skip
    assert region.method == "linearize" and region.names == ("lr", "beta")
    expected = np.array([[_gidel_radius(eta, b) for b in betas] for eta in lrs])
    np.testing.assert_allclose(region.spectral_radius, expected, rtol=0, atol=1e-9)


def test_best_response_gd_linearises_to_its_closed_form() -> None:
    # zero-sum quadratic: l_x = x'Px/2 + x'Qy - y'Ry/2 + a'x + b'y, l_y = -l_x, so y's
    # best response is R^{-1}(Q'x + b) and the step is x' = x - eta grad_x l_x(x, BR(x)),
    # y' = BR(x): the operator [[I - eta (P + Q R^-1 Q'), 0], [R^-1 Q', 0]]
    P = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=torch.float64)
    Q = torch.tensor([[1.0], [0.5]], dtype=torch.float64)
    R = torch.tensor([[1.5]], dtype=torch.float64)
    b = torch.tensor([0.4], dtype=torch.float64)
    game = Quadratic.zero_sum(P, Q, R, a=[0.2, -0.1], b=b)

    def best_response(params):
        return torch.linalg.solve(R.to(params[0]), Q.T.to(params[0]) @ params[0] + b.to(params[0]))

    eta = 0.1
    rule = BestResponseGD(lr=eta, inner=1, best_response=best_response)
    check_update_rule(rule, [game])
    lin = linearize(rule, game, random_params(game, seed=1))
    top = torch.eye(2, dtype=torch.float64) - eta * (P + Q @ torch.linalg.solve(R, Q.T))
    expected = torch.cat(
        [torch.cat([top, torch.zeros(2, 1, dtype=torch.float64)], 1),
         torch.cat([torch.linalg.solve(R, Q.T), torch.zeros(1, 1, dtype=torch.float64)], 1)],
    )  # fmt: skip
    torch.testing.assert_close(lin.matrix, expected, rtol=0, atol=1e-13)
    out = run_batched(game, rule, torch.zeros(2, 3, dtype=torch.float64), 2)
    assert out.shape == (3, 2, 3)
    torch.testing.assert_close(out[1, 0, 2:], best_response((torch.zeros(2, dtype=torch.float64),)))
