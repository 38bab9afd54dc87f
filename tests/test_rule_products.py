"""The graph-once products of the Jacobian rules (games.FieldProducts) against fresh
torch.func products and against the dense Jacobian, rule by rule; CGD's warm-started,
relative-residual solver; and the rules' differentiability where linearize needs it."""

from __future__ import annotations

import pytest
import torch
from conftest import TinyNeuralGAN

from dynamics import CGD, LOLA, SGA, Consensus, LookAhead, RuleState, conjugate_gradient, linearize
from games import FieldProducts, flatten_params, jacobian, unflatten_params


class ZeroSumTinyGAN(TinyNeuralGAN):
    """The tiny MLP GAN with the generator minimising minus the discriminator's loss."""

    def losses(self, params):
        _, loss_d = super().losses(params)
        return -loss_d, loss_d


GAME = TinyNeuralGAN(hidden=4, batch=8)
ZERO_SUM = ZeroSumTinyGAN(hidden=4, batch=8)


def _point(game, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return 0.7 * torch.randn(sum(game.sizes), generator=gen, dtype=torch.float64)


def _fresh_step(rule, game, theta, state):
    """The step through the torch.func path (inside a vmap: fresh func products)."""
    return torch.func.vmap(lambda t: rule.flat_step(game, t, state)[0])(theta[None])[0]


def test_field_products_equal_the_dense_jacobian_on_both_paths():
    theta = _point(GAME)
    J = jacobian(GAME, unflatten_params(GAME, theta)).matrix
    gen = torch.Generator().manual_seed(1)
    v, u = (torch.randn(theta.numel(), generator=gen, dtype=torch.float64) for _ in range(2))
    eager = FieldProducts(GAME, theta, jvp=True)
    assert eager.reused
    # the first vjp also builds the double graph (jvp=True); both orders must agree
    torch.testing.assert_close(eager.vjp(u), J.T @ u, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(eager.jvp(v), J @ v, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(eager.vjp(v), J.T @ v, rtol=1e-12, atol=1e-13)
    assert eager.products == 3

    def through_func(t):
        p = FieldProducts(GAME, t)
        assert not p.reused
        return p.xi, p.jvp(v), p.vjp(u)

    xi, jv, jtu = torch.func.vmap(through_func)(theta[None])
    torch.testing.assert_close(xi[0], eager.xi, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(jv[0], J @ v, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(jtu[0], J.T @ u, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("jvp", [False, True])
def test_block_vjp_equals_the_dense_jacobian_block_on_both_paths(jvp):
    # J_ij^T u: u on player i's block, the result on player j's (CGD's products)
    theta = _point(GAME, seed=5)
    J = jacobian(GAME, unflatten_params(GAME, theta)).matrix
    sizes = list(GAME.sizes)
    edges = [0, sizes[0], sum(sizes)]
    gen = torch.Generator().manual_seed(2)
    eager = FieldProducts(GAME, theta, jvp=jvp)
    for of in (0, 1):
        for wrt in (0, 1):
            u = torch.randn(sizes[of], generator=gen, dtype=torch.float64)
            block = J[edges[of] : edges[of + 1], edges[wrt] : edges[wrt + 1]]
            out = eager.block_vjp(u, of, wrt)
            assert out.shape == (sizes[wrt],)
            torch.testing.assert_close(out, block.T @ u, rtol=1e-12, atol=1e-13)
            # bit for bit the block of the full product it replaces
            full = torch.zeros(theta.numel(), dtype=torch.float64)
            full[edges[of] : edges[of + 1]] = u
            assert torch.equal(out, eager.vjp(full)[edges[wrt] : edges[wrt + 1]])
            fresh = torch.func.vmap(
                lambda t, u=u, of=of, wrt=wrt: FieldProducts(GAME, t).block_vjp(u, of, wrt)
            )(theta[None])[0]
            torch.testing.assert_close(fresh, block.T @ u, rtol=1e-12, atol=1e-13)
    assert eager.products == 8


def test_field_products_rejects_a_non_flat_point():
    with pytest.raises(ValueError, match="theta: expected a flat 1-D tensor"):
        FieldProducts(GAME, torch.zeros(2, 3, dtype=torch.float64))


def _dense_reference(rule, game, theta):
    """The rule's step from the dense float64 Jacobian (an independent channel)."""
    J = jacobian(game, unflatten_params(game, theta)).matrix
    xi = FieldProducts(game, theta).xi
    eta = rule.eta(game, 0, theta)
    nx = game.sizes[0]
    off = J.clone()
    off[:nx, :nx] = 0
    off[nx:, nx:] = 0
    if isinstance(rule, Consensus):
        return theta - eta * (xi + rule.gamma * J.T @ xi)
    if isinstance(rule, SGA):
        at = 0.5 * (J.T @ xi - J @ xi)
        lam = rule.lam
        if rule.align:
            jt = J.T @ xi
            lam = lam * torch.sign((xi @ jt) * (at @ jt) / theta.numel() + rule.eps)
        return theta - eta * (xi + lam * at)
    if isinstance(rule, LOLA):
        shaping = []
        sizes = list(game.sizes)
        for i in range(2):
            full = torch.func.grad(lambda t, i=i: game.losses(tuple(torch.split(t, sizes)))[i])(
                theta
            )
            mask = torch.zeros_like(theta)
            mask[: sizes[0]] = 1.0 if i == 1 else 0.0
            mask[sizes[0] :] = 1.0 if i == 0 else 0.0
            own = slice(0, sizes[0]) if i == 0 else slice(sizes[0], None)
            shaping.append((J.T @ (mask * full))[own])
        return theta - eta * (xi - rule.alpha * off @ xi - rule.alpha * torch.cat(shaping))
    if isinstance(rule, LookAhead):
        return theta - eta * (xi - rule.alpha * off @ xi)
    raise AssertionError(rule)


RULES = {
    "consensus": (Consensus(lr=0.1, gamma=0.5), GAME),
    "sga": (SGA(lr=0.1, lam=0.7, align=False), GAME),
    "sga_align": (SGA(lr=0.1, lam=0.7), GAME),
    "lookahead": (LookAhead(lr=0.1, alpha=0.3), GAME),
    "lola": (LOLA(lr=0.1, alpha=0.3), GAME),
    "cgd_cgnr": (CGD(lr=0.3, solver="cgnr", tol=0.0), GAME),
    "cgd_cg": (CGD(lr=0.3, solver="cg", tol=0.0), ZERO_SUM),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_reused_graph_step_equals_the_fresh_products_and_the_dense_formula(name):
    rule, game = RULES[name]
    theta = _point(game, seed=3)
    state = RuleState(0, ())
    eager, _ = rule.flat_step(game, theta, state)
    fresh = _fresh_step(rule, game, theta, state)
    torch.testing.assert_close(eager, fresh, rtol=1e-11, atol=1e-12)
    if isinstance(rule, CGD):
        dense = CGD(lr=0.3, solver="dense")
        reference = dense.flat_step(game, theta, state)[0]
    else:
        reference = _dense_reference(rule, game, theta)
    torch.testing.assert_close(eager, reference, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rules_stay_differentiable_through_autograd_and_torch_func(name):
    # theta requiring grad takes the torch.func products: reverse-mode autograd through
    # the step equals jacrev through it (linearize's channel), both equal to ~1e-10
    rule, game = RULES[name]
    if isinstance(rule, SGA) and rule.align:
        pytest.skip("the aligned sign is piecewise constant: same Jacobian as align=False")
    theta = _point(game, seed=4)
    state = RuleState(0, ())
    by_func = torch.func.jacrev(lambda t: rule.flat_step(game, t, state)[0])(theta)
    leaf = theta.clone().requires_grad_(True)
    out = rule.flat_step(game, leaf, state)[0]
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(out.numel(), generator=gen, dtype=torch.float64)
    (by_autograd,) = torch.autograd.grad(out, leaf, w)
    torch.testing.assert_close(by_autograd, w @ by_func, rtol=1e-9, atol=1e-10)
    assert linearize(rule, game, unflatten_params(game, theta)).matrix.shape == by_func.shape


@pytest.mark.parametrize("solver", ["cg", "cgnr"])
def test_cgd_warm_start_and_stopping_rule(solver):
    game = ZERO_SUM if solver == "cg" else GAME
    params = unflatten_params(game, _point(game, seed=5))
    rule = CGD(lr=0.05, solver=solver, iterations=200, tol=1e-9)
    dense = CGD(lr=0.05, solver="dense")
    state = rule.init(game, params)
    cold_iterations = []
    for _ in range(4):
        expected = dense.step(game, params, dense.init(game, params))[0]
        new, state = rule.step(game, params, state)
        torch.testing.assert_close(
            flatten_params(new), flatten_params(expected), rtol=1e-6, atol=1e-7
        )
        info = rule.diagnostics
        assert info["residual"] <= 1e-9
        assert info["iterations"] >= 1
        cold = CGD(lr=0.05, solver=solver, iterations=200, tol=1e-9, warm_start=False)
        cold.step(game, params, cold.init(game, params))
        cold_iterations.append(cold.diagnostics["iterations"])
        if len(state.extra) and cold_iterations[:-1]:
            assert info["warm_start"]
            # the previous step's solution is close: fewer iterations than from zero
            assert info["iterations"] < cold.diagnostics["iterations"]
        params = new
    assert len(state.extra) == 1 and state.extra[0].numel() == min(game.sizes)


def test_conjugate_gradient_warm_start_and_relative_residual():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(30, 30, generator=gen, dtype=torch.float64)
    spd = a @ a.T + 30 * torch.eye(30, dtype=torch.float64)
    b = torch.randn(30, generator=gen, dtype=torch.float64)
    exact = torch.linalg.solve(spd, b)
    info: dict = {}
    x = conjugate_gradient(lambda v: spd @ v, b, 100, tol=1e-8, info=info)
    assert torch.linalg.vector_norm(spd @ x - b) <= 1.01e-8 * torch.linalg.vector_norm(b)
    assert 1 <= info["iterations"] < 30 and info["products"] == info["iterations"]
    # from the exact solution: one product for the residual and no iteration (CGDs'
    # warm start instead counts that product as an iteration)
    x = conjugate_gradient(lambda v: spd @ v, b, 100, x0=exact, tol=1e-8, info=info)
    assert info == {"iterations": 0, "products": 1, "residual": pytest.approx(0.0, abs=1e-12)}
    torch.testing.assert_close(x, exact)
    # fixed iterations (tol = 0): exact after n steps, as before
    x = conjugate_gradient(lambda v: spd @ v, b, 30)
    torch.testing.assert_close(x, exact, rtol=1e-9, atol=1e-10)
