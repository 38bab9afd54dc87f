"""games.unrolled and games.ParameterizedGAN: closed forms, hand computations, contracts.

The unrolled closed form used below (derived here, independent of the library): on the
Dirac-GAN with loss f (c = f'(0)) and inner SGD with step eta, the inner iterates near
the equilibrium are psi_k = psi + k eta c theta + O(|.|^2), so
    second order: d/dtheta f(theta psi_K) = c (psi_K + theta dpsi_K/dtheta)
                                          = c psi + 2 K eta c^2 theta + O(|.|^2),
    first order:  f'(theta psi_K) psi_K  = c psi + K eta c^2 theta + O(|.|^2),
and J_K = [[m K eta c^2, c], [-c, 0]] with m = 2 or 1, eigenvalues
(a +- sqrt(a^2 - 4 c^2)) / 2 with a = m K eta c^2.  On x.y (c = 1) it is exact
everywhere because the game is bilinear.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dynamics import Adam, SimultaneousGD
from games import (
    Bilinear,
    DiracGAN,
    FirstOrderUnrolledGame,
    ParameterizedGAN,
    Quadratic,
    as_params,
    check_game,
    jacobian,
    random_params,
    unrolled,
    vector_field,
)


def small_gan(init_seed: int = 0, **kwargs: object) -> ParameterizedGAN:
    torch.manual_seed(init_seed)
    G = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    data = torch.randn(64, 2, generator=torch.Generator().manual_seed(init_seed))
    options = {"latent_dim": 2, "batch_size": 12}
    options.update(kwargs)
    return ParameterizedGAN(G, D, data, **options)  # type: ignore[arg-type]


BASES = {
    "xy": Bilinear.xy(),
    "dirac": DiracGAN("standard"),
    "dirac_r1": DiracGAN("non_saturating", regularizer="r1", gamma=0.4),
    "quadratic": Quadratic.zero_sum(
        [[1.0, 0.5], [0.5, 2.0]], [[0.3, 1.0], [-1.0, 0.2]], [[1.0, 0.0], [0.0, 1.0]]
    ),
    "gan": small_gan(),
}


# -- K = 0 is the base game exactly ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BASES))
@pytest.mark.parametrize("first_order", [False, True])
def test_zero_steps_is_the_base_game(name: str, first_order: bool) -> None:
    base = BASES[name]
    game = unrolled(base, 0, lr=0.3, first_order=first_order)
    params = random_params(base, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(game.losses(params), base.losses(params)))
    assert all(
        torch.equal(a, b) for a, b in zip(vector_field(game, params), vector_field(base, params))
    )
    assert torch.equal(jacobian(game, params).matrix, jacobian(base, params).matrix)


# -- closed forms ---------------------------------------------------------------------------


def dirac_slope(loss: str) -> float:
    game = DiracGAN(loss)
    return float(jacobian(game, as_params(game, [[0.0], [0.0]])).matrix[0, 1])


@pytest.mark.parametrize("loss", ["standard", "non_saturating", "mle", "wgan"])
@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("inner_lr", [0.05, 0.3])
def test_unrolled_dirac_jacobian_moves_with_K_as_derived(
    loss: str, first_order: bool, inner_lr: float
) -> None:
    base = DiracGAN(loss)
    c = {"standard": 0.5, "non_saturating": 0.5, "mle": 0.5, "wgan": 1.0}[loss]
    assert dirac_slope(loss) == pytest.approx(c)  # f'(0), independent of unrolling
    m = 1 if first_order else 2
    origin = as_params(base, [[0.0], [0.0]])
    for K in range(0, 9):
        game = unrolled(base, K, lr=inner_lr, first_order=first_order)
        J = jacobian(game, origin).matrix.numpy()
        a = m * K * inner_lr * c * c
        np.testing.assert_allclose(J, [[a, c], [-c, 0.0]], atol=1e-12)
        disc = complex(a * a - 4 * c * c) ** 0.5
        expected = sorted([(a + disc) / 2, (a - disc) / 2], key=lambda z: (z.real, z.imag))
        got = sorted(np.linalg.eigvals(J), key=lambda z: (z.real, z.imag))
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_unrolled_xy_field_is_exact_everywhere() -> None:
    """x.y: y_K = y + K eta x, so l_x = x (y + K eta x): xi_x = y + 2 K eta x (second order)."""
    rng = np.random.default_rng(0)
    for K, eta in [(1, 0.1), (4, 0.25), (10, 0.03)]:
        x, y = rng.normal(size=2)
        for first_order, m in [(False, 2), (True, 1)]:
            game = unrolled(Bilinear.xy(), K, lr=eta, first_order=first_order)
            gx, gy = vector_field(game, as_params(game, [[x], [y]]))
            assert float(gx) == pytest.approx(y + m * K * eta * x, abs=1e-12)
            assert float(gy) == pytest.approx(-x, abs=1e-12)


def test_first_order_is_a_field_game_and_second_order_a_loss_game() -> None:
    first = unrolled(Bilinear.xy(), 2, lr=0.1, first_order=True)
    second = unrolled(Bilinear.xy(), 2, lr=0.1)
    assert isinstance(first, FirstOrderUnrolledGame) and hasattr(first, "gradients")
    assert not hasattr(second, "gradients")
    assert "field_vs_fd" not in check_game(first)
    assert "field_vs_fd" in check_game(second)


# -- neural GANs: hand computations -----------------------------------------------------------


def _d_gradient(base: ParameterizedGAN, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
    psi = params[1].detach().requires_grad_(True)
    (g,) = torch.autograd.grad(base.losses((params[0], psi))[1], psi)
    return g


def test_unrolled_gan_losses_and_fields_match_a_hand_unroll() -> None:
    base = small_gan(3)
    params = base.params()
    eta, K = 0.2, 3
    psi = params[1]
    for _ in range(K):
        psi = psi - eta * _d_gradient(base, (params[0], psi))
    second = unrolled(base, K, lr=eta)
    first = unrolled(base, K, lr=eta, first_order=True)
    l_g, l_d = second.losses(params)
    assert float(l_g) == pytest.approx(float(base.losses((params[0], psi))[0]), abs=1e-12)
    assert float(l_d) == pytest.approx(float(base.losses(params)[1]), abs=1e-12)
    # first order: the base generator gradient at (theta, psi_K)
    expected = vector_field(base, (params[0], psi))[0]
    torch.testing.assert_close(vector_field(first, params)[0], expected, rtol=1e-10, atol=1e-12)
    # second order: finite differences of theta -> l_G(theta, psi_K(theta, psi))
    theta = params[0]
    fd = []
    for k in range(0, theta.numel(), 7):
        e = torch.zeros_like(theta)
        e[k] = 1e-6
        plus = second.losses((theta + e, params[1]))[0]
        minus = second.losses((theta - e, params[1]))[0]
        fd.append(float((plus - minus) / 2e-6))
    got = vector_field(second, params)[0][::7].numpy()
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_inner_rule_from_dynamics_equals_the_builtin() -> None:
    base = small_gan(4)
    params = base.params()
    for builtin, rule in [
        (unrolled(base, 3, lr=0.1), unrolled(base, 3, inner=SimultaneousGD(lr=0.1))),
        (
            unrolled(base, 3, lr=0.01, inner="adam", betas=(0.5, 0.999)),
            unrolled(base, 3, inner=Adam(lr=0.01, betas=(0.5, 0.999))),
        ),
    ]:
        for a, b in zip(vector_field(builtin, params), vector_field(rule, params)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(
            jacobian(builtin, params).matrix, jacobian(rule, params).matrix, rtol=1e-8, atol=1e-10
        )


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("inner", ["sgd", "adam"])
def test_unrolled_neural_gan_passes_the_contract(first_order: bool, inner: str) -> None:
    game = unrolled(small_gan(5), 2, lr=0.05, inner=inner, first_order=first_order)
    check_game(game, game.base.params(), max_coordinates=12)


def test_unrolled_adam_at_an_exact_fixed_point_matches_its_closed_form() -> None:
    """Adam's sqrt(v) at v = 0 has an infinite derivative; the ``tiny`` floor keeps J finite,
    and J is then what the floored step gives in closed form.

    On x·y the discriminator's gradient is -x whatever y, so with bias correction every
    inner step is y <- y + lr x / (sqrt(max(x^2, tiny)) + eps) and
    y_K = y + K lr x / (sqrt(max(x^2, tiny)) + eps).  With l_x = x y_K,
    xi_x = y_K + x dy_K/dx, so at 0: J = [[2 K lr / (sqrt(tiny) + eps), 1], [-1, 0]].
    """
    K, lr, eps = 3, 0.1, 1e-8
    game = unrolled(Bilinear.xy(), K, lr=lr, inner="adam", eps=eps)
    J = jacobian(game, as_params(game, [[0.0], [0.0]])).matrix
    slope = 2 * K * lr / (math.sqrt(torch.finfo(torch.float64).tiny) + eps)
    expected = torch.tensor([[slope, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(J, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "name, point",
    [
        ("gan", None),
        ("xy", [[0.0], [0.0]]),  # an exact fixed point: zero gradient, v = 0
        ("xy", [[0.0], [1.5]]),  # zero discriminator gradient away from the fixed point
        ("dirac", [[0.3], [0.0]]),
    ],
)
def test_inner_adam_and_dynamics_adam_take_identical_steps(name: str, point: object) -> None:
    """One Adam (games.steps.adam_step): inner "adam" == dynamics.Adam, to the last bit."""
    base = small_gan(4) if name == "gan" else BASES[name]
    params = base.params() if point is None else as_params(base, point)  # type: ignore[attr-defined]
    betas, eps = (0.5, 0.999), 1e-8
    builtin = unrolled(base, 3, lr=0.01, inner="adam", betas=betas, eps=eps)
    rule = unrolled(base, 3, inner=Adam(lr=0.01, betas=betas, eps=eps))
    a, b = builtin.unrolled_discriminator(params), rule.unrolled_discriminator(params)
    assert torch.equal(a, b)
    J_builtin, J_rule = jacobian(builtin, params).matrix, jacobian(rule, params).matrix
    assert bool(torch.isfinite(J_builtin).all()) and bool(torch.isfinite(J_rule).all())
    torch.testing.assert_close(J_builtin, J_rule, rtol=1e-12, atol=1e-14)
    if name == "xy":  # no discriminator gradient: Adam does not move it
        assert torch.equal(a, params[1])


def test_dynamics_adam_is_finite_at_a_zero_gradient() -> None:
    """The tiny floor of games.steps.adam_step: dynamics.Adam's step differentiates at xi = 0."""
    from dynamics import linearize

    game = Bilinear.xy()
    rule = Adam(lr=0.1, betas=(0.5, 0.999))
    params = as_params(game, [[0.0], [0.0]])
    new, _ = rule.step(game, params, rule.init(game, params))
    assert all(torch.equal(p, q) for p, q in zip(new, params))
    operator = linearize(rule, game, params).matrix
    assert bool(torch.isfinite(operator).all())


def test_unrolled_bad_input() -> None:
    with pytest.raises(ValueError, match="steps"):
        unrolled(Bilinear.xy(), -1, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        unrolled(Bilinear.xy(), 2)
    with pytest.raises(ValueError, match="inner"):
        unrolled(Bilinear.xy(), 2, lr=0.1, inner="lbfgs")
    with pytest.raises(TypeError, match="inner"):
        unrolled(Bilinear.xy(), 2, inner=object())
    with pytest.raises(ValueError, match="generator, discriminator"):
        unrolled(Bilinear.xy(), 2, lr=0.1, generator="y", discriminator=1)
    with pytest.raises(ValueError, match="discriminator"):
        unrolled(Bilinear.xy(), 2, lr=0.1, discriminator="z")
    with pytest.raises(ValueError, match="betas"):
        unrolled(Bilinear.xy(), 2, lr=0.1, inner="adam", betas=(0.5, 1.5))
    with pytest.raises(TypeError, match="game"):
        unrolled(object(), 2, lr=0.1)  # type: ignore[arg-type]


# -- ParameterizedGAN --------------------------------------------------------------------------


def _hand_losses(game: ParameterizedGAN, loss: str) -> tuple[float, float]:
    """The losses written out with the modules' own forward passes (no functional_call)."""
    real, z, _ = game._fixed  # type: ignore[misc]
    G, D = game.G.module.double(), game.D.module.double()
    with torch.no_grad():
        d_r = D(real.double()).reshape(-1)
        d_f = D(G(z.double())).reshape(-1)
    log_sig = torch.nn.functional.logsigmoid
    if loss in ("minimax", "non_saturating", "mle"):
        l_d = -(log_sig(d_r).mean() + torch.log1p(-torch.sigmoid(d_f)).mean())
        l_g = {
            "minimax": -l_d,
            "non_saturating": -log_sig(d_f).mean(),
            "mle": -0.5 * (torch.sigmoid(d_f) / (1 - torch.sigmoid(d_f))).mean(),
        }[loss]
    elif loss == "wgan":
        # zero-sum: l_G = V = E D(x) - E D(G(z)) (docs/conventions.md, loss values)
        l_d, l_g = d_f.mean() - d_r.mean(), d_r.mean() - d_f.mean()
    elif loss == "hinge":
        l_d = torch.clamp(1 - d_r, min=0).mean() + torch.clamp(1 + d_f, min=0).mean()
        l_g = -d_f.mean()
    else:
        l_d = ((d_r - 1) ** 2).mean() / 2 + (d_f**2).mean() / 2
        l_g = ((d_f - 1) ** 2).mean() / 2
    return float(l_g), float(l_d)


@pytest.mark.parametrize(
    "loss", ["minimax", "non_saturating", "mle", "wgan", "hinge", "least_squares"]
)
def test_gan_losses_match_hand_written_formulas(loss: str) -> None:
    game = small_gan(6, loss=loss)
    params = game.params()
    expected = _hand_losses(game, loss)
    got = tuple(float(v) for v in game.losses(params))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("regularizer", ["r1", "r2", "wgan_gp"])
def test_gradient_penalties_match_a_per_sample_loop(regularizer: str) -> None:
    gamma = 0.7
    plain = small_gan(7, loss="wgan")
    game = small_gan(7, loss="wgan", regularizer=regularizer, gamma=gamma)
    params = game.params()
    real, z, eps = game._fixed  # type: ignore[misc]
    G, D = game.G.module.double(), game.D.module.double()
    fake = G(z.double()).detach()
    points = {"r1": real.double(), "r2": fake}.get(
        regularizer, eps.double()[:, None] * real.double() + (1 - eps.double()[:, None]) * fake
    )
    norms = []
    for x in points:
        x = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(x[None]).sum(), x)
        norms.append(float(g.norm()))
    norms_np = np.array(norms)
    penalty = (
        gamma * np.mean((norms_np - 1) ** 2)
        if regularizer == "wgan_gp"
        else gamma / 2 * np.mean(norms_np**2)
    )
    got = float(game.losses(params)[1] - plain.losses(params)[1])
    assert got == pytest.approx(penalty, rel=1e-8)


def test_feature_matching_value() -> None:
    game = small_gan(8, feature_matching=True)
    params = game.params()
    real, z, _ = game._fixed  # type: ignore[misc]
    G, D = game.G.module.double(), game.D.module.double()
    with torch.no_grad():
        f_r = D[:-1](real.double()).mean(0)
        f_f = D[:-1](G(z.double())).mean(0)
    assert float(game.losses(params)[0]) == pytest.approx(
        float(((f_r - f_f) ** 2).sum()), rel=1e-10
    )


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "minimax", "regularizer": "r1"},
        {"loss": "hinge", "regularizer": "r2"},
        {"loss": "wgan", "regularizer": "wgan_gp"},
        {"loss": "least_squares"},
        {"loss": "mle"},
        {"feature_matching": True},
    ],
)
def test_parameterized_gan_passes_the_contract(options: dict[str, object]) -> None:
    game = small_gan(9, **options)
    check_game(game, game.params(), max_coordinates=16)


def test_minimax_is_zero_sum_and_replay_only_touches_the_discriminator() -> None:
    game = small_gan(10, loss="minimax")
    params = game.params()
    l_g, l_d = game.losses(params)
    assert float(l_g) == -float(l_d)
    game.replay = torch.randn(5, 2)
    l_g2, l_d2 = game.losses(params)
    assert float(l_g2) == float(l_g)
    with torch.no_grad():
        d_old = game.D.module.double()(game.replay.double()).reshape(-1)
    extra = float(torch.nn.functional.softplus(d_old).mean())
    assert float(l_d2 - l_d) == pytest.approx(extra, rel=1e-10)


def test_sampling_mode_is_seeded_and_resumable() -> None:
    a = small_gan(11, mode="sampling", seed=3)
    b = small_gan(11, mode="sampling", seed=3)
    params = a.params()
    first = a.losses(params)
    assert torch.equal(first[1], b.losses(params)[1])
    assert not torch.equal(first[1], a.losses(params)[1])  # a fresh minibatch per call
    state = a.rng_state()
    after = a.losses(params)
    a.set_rng_state(state)
    assert torch.equal(after[1], a.losses(params)[1])
    with a.hold_batch():
        held = a.losses(params)[1]
        assert torch.equal(held, a.losses(params)[1])
    assert not torch.equal(held, a.losses(params)[1])
    fixed = a.at_batch()
    assert fixed.mode == "fixed" and torch.equal(fixed.losses(params)[1], fixed.losses(params)[1])


def test_sampler_data_and_float32() -> None:
    class Ring:
        def sample(self, n, *, generator, dtype):  # type: ignore[no-untyped-def]
            angle = 2 * math.pi * torch.randint(0, 8, (n,), generator=generator) / 8
            return torch.stack([angle.cos(), angle.sin()], 1).to(dtype)

    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    game = ParameterizedGAN(G, D, Ring(), latent_dim=3, batch_size=8)
    field = vector_field(game, game.params(dtype=torch.float32))
    assert all(g.dtype == torch.float32 for g in field)


def test_parameterized_gan_bad_input() -> None:
    G = torch.nn.Linear(2, 2)
    D = torch.nn.Linear(2, 1)
    data = torch.randn(10, 2)
    with pytest.raises(ValueError, match="loss"):
        ParameterizedGAN(G, D, data, latent_dim=2, loss="kl")
    with pytest.raises(ValueError, match="regularizer"):
        ParameterizedGAN(G, D, data, latent_dim=2, regularizer="r3")
    with pytest.raises(ValueError, match="mode"):
        ParameterizedGAN(G, D, data, latent_dim=2, mode="online")
    with pytest.raises(ValueError, match="latent_dim"):
        ParameterizedGAN(G, D, data, latent_dim=0)
    with pytest.raises(ValueError, match="gamma"):
        ParameterizedGAN(G, D, data, latent_dim=2, gamma=-1.0)
    with pytest.raises(TypeError, match="data"):
        ParameterizedGAN(G, D, [1, 2, 3], latent_dim=2)
    with pytest.raises(ValueError, match="data"):
        ParameterizedGAN(G, D, torch.tensor([[float("nan"), 0.0]]), latent_dim=2)
    with pytest.raises(ValueError, match="feature_matching"):
        ParameterizedGAN(G, D, data, latent_dim=2, feature_matching=True)
    with pytest.raises(TypeError, match="module"):
        ParameterizedGAN("G", D, data, latent_dim=2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "minimax", "regularizer": "r1"},
        {"loss": "non_saturating", "regularizer": "wgan_gp"},
        {"loss": "hinge"},
        {"feature_matching": True},
    ],
)
def test_player_loss_equals_the_full_losses(options: dict[str, object]) -> None:
    game = small_gan(12, **options)
    game.replay = torch.randn(6, 2)
    params = game.params()
    full = game.losses(params)
    for i in (0, 1):
        assert torch.equal(game.player_loss(params, i), full[i])


@pytest.mark.parametrize("first_order", [False, True])
def test_unrolled_player_loss_equals_the_full_losses(first_order: bool) -> None:
    base = small_gan(13)
    game = unrolled(base, 2, lr=0.1, first_order=first_order)
    params = base.params()
    full = game.losses(params)
    for i in (0, 1):
        torch.testing.assert_close(game.player_loss(params, i), full[i], rtol=0, atol=1e-15)


@pytest.mark.parametrize("inner", ["sgd", "adam"])
def test_inner_steps_reuse_the_generator_output_without_changing_gradients(inner, monkeypatch):
    # the unrolled game's field (second order, through K inner steps) with G(theta, z)
    # computed once per evaluation equals the field with G recomputed at every inner step
    import contextlib

    base = small_gan(regularizer="r1", gamma=0.5)
    params = tuple(p.to(torch.float64) for p in base.params())
    game = unrolled(base, 4, lr=0.05, inner=inner)
    calls = {"n": 0}
    cls = type(base.G)
    forward = cls.__call__

    def counting(self, *args, **kwargs):
        if self is base.G:
            calls["n"] += 1
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", counting)
    cached = vector_field(game, params)
    cached_calls, calls["n"] = calls["n"], 0
    monkeypatch.setattr(base, "reuse_generator_output", contextlib.nullcontext)
    plain = vector_field(game, params)
    for a, b in zip(cached, plain):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert cached_calls < calls["n"]
