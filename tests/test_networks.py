"""gan_models.networks: shapes, initialisation, spectral norm, minibatch discrimination, packing."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from games import FlatModule
from gan_models import (
    MLP,
    Discriminator,
    MinibatchDiscrimination,
    discriminator_mlp,
    generator_mlp,
    pack_samples,
)


def _weights(module: nn.Module) -> list[torch.Tensor]:
    """Effective weight matrices of the linear layers, in order."""
    return [m.weight.detach() for m in module.modules() if isinstance(m, nn.Linear)]


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- architecture -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_f", "out_f", "depth", "width", "bias"),
    [(3, 2, 2, 5, True), (3, 2, 2, 5, False), (4, 1, 0, 9, True), (2, 7, 3, 16, True)],
)
def test_mlp_parameter_count_matches_hand_formula(in_f, out_f, depth, width, bias):
    net = MLP(in_f, out_f, depth=depth, width=width, bias=bias, generator=0)
    sizes = [in_f] + [width] * depth + [out_f]
    expected = sum(a * b + (b if bias else 0) for a, b in itertools.pairwise(sizes))
    assert _n_params(net) == expected
    assert net(torch.zeros(4, in_f)).shape == (4, out_f)
    assert net(torch.zeros(3, 4, in_f)).shape == (3, 4, out_f)


def test_mlp_layout_and_output_activation():
    net = MLP(
        2, 3, depth=2, width=4, activation="tanh", output_activation="leaky_relu", generator=0
    )
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear, nn.LeakyReLU]
    assert net[-1].negative_slope == 0.2
    custom = MLP(2, 1, depth=1, width=3, activation=nn.Softplus, generator=0)
    assert isinstance(custom[1], nn.Softplus)


def test_toy_architecture_defaults():
    G, D = generator_mlp(generator=0), discriminator_mlp(generator=1)
    assert [tuple(w.shape) for w in _weights(G)] == [(128, 256), (128, 128), (2, 128)]
    assert [tuple(w.shape) for w in _weights(D)] == [(128, 2), (128, 128), (1, 128)]
    assert isinstance(G[1], nn.ReLU) and isinstance(D.trunk[1], nn.ReLU)
    for w in _weights(G) + _weights(D):  # orthogonal, scale 0.8, on every layer
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert torch.allclose(small, 0.64 * torch.eye(small.shape[0]), atol=1e-5)
    assert D(torch.zeros(10, 2)).shape == (10,)


# -- initialisation -------------------------------------------------------------------------


@pytest.mark.parametrize("gain", [None, 0.5])
def test_orthogonal_init_gives_scaled_orthonormal_rows(gain):
    net = MLP(
        6, 3, depth=2, width=6, init="orthogonal", gain=gain, generator=2, dtype=torch.float64
    )
    hidden_gain = math.sqrt(2) if gain is None else gain  # ReLU's gain by default
    output_gain = 1.0 if gain is None else gain
    w1, w2, w3 = _weights(net)  # 6x6, 6x6 (square) and 3x6 (wide)
    for w, g in [(w1, hidden_gain), (w2, hidden_gain), (w3, output_gain)]:
        assert torch.allclose(
            w @ w.T, g**2 * torch.eye(w.shape[0], dtype=torch.float64), atol=1e-12
        )
    biases = [b.detach() for n, b in net.named_parameters() if n.endswith("bias")]
    assert all(float(b.abs().max()) == 0 for b in biases)
    tall = MLP(
        7, 1, depth=1, width=3, init="orthogonal", gain=2.0, generator=0, dtype=torch.float64
    )
    w = _weights(tall)[0]  # 3x7 wide; a 7x3 tall one has orthonormal columns
    assert torch.allclose(w @ w.T, 4 * torch.eye(3, dtype=torch.float64), atol=1e-12)
    w_tall = _weights(MLP(2, 1, depth=1, width=5, init="orthogonal", gain=1.0, generator=0))[0]
    assert torch.allclose(w_tall.T @ w_tall, torch.eye(2), atol=1e-6)


def test_init_scales_match_their_definitions():
    fan = 400
    n = fan * fan
    relu_gain = math.sqrt(2)
    default = _weights(MLP(fan, 1, depth=1, width=fan, generator=0))[0]
    assert float(default.abs().max()) <= 1 / math.sqrt(fan)
    # U(-b, b) has std b / sqrt(3)
    assert float(default.std()) == pytest.approx(1 / math.sqrt(3 * fan), rel=5 * 0.9 / math.sqrt(n))
    kaiming = _weights(MLP(fan, 1, depth=1, width=fan, init="kaiming", generator=0))[0]
    assert float(kaiming.std()) == pytest.approx(
        relu_gain / math.sqrt(fan), rel=5 / math.sqrt(2 * n)
    )
    xavier = _weights(MLP(fan, 1, depth=1, width=fan, init="xavier", gain=1.5, generator=0))[0]
    bound = 1.5 * math.sqrt(6 / (2 * fan))
    assert float(xavier.abs().max()) <= bound
    assert float(xavier.std()) == pytest.approx(bound / math.sqrt(3), rel=5 * 0.9 / math.sqrt(n))
    leaky = _weights(
        MLP(fan, 1, depth=1, width=fan, activation="leaky_relu", init="kaiming", generator=0)
    )[0]
    assert float(leaky.std()) == pytest.approx(
        math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(fan), rel=5 / math.sqrt(2 * n)
    )


def test_init_is_seeded_and_leaves_the_global_rng_alone():
    before = torch.get_rng_state()
    kwargs = dict(depth=2, width=8, spectral_norm=True, minibatch_discrimination=3, pack=2)
    a = Discriminator(2, generator=11, **kwargs)
    b = Discriminator(2, generator=torch.Generator().manual_seed(11), **kwargs)
    c = Discriminator(2, generator=12, **kwargs)
    d64 = Discriminator(2, generator=11, dtype=torch.float64, **kwargs)
    fresh1, fresh2 = MLP(2, 2, width=4), MLP(2, 2, width=4)  # no seed: fresh entropy
    layer = MinibatchDiscrimination(4, 2, 2, generator=0)
    assert torch.get_rng_state().equal(before)

    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)
    # drawn in float64 then cast: the float32 network is the float64 one rounded
    assert all(torch.equal(state_a[k], v.float()) for k, v in d64.state_dict().items())
    assert not torch.equal(_weights(fresh1)[0], _weights(fresh2)[0])
    assert torch.equal(layer.T, MinibatchDiscrimination(4, 2, 2, generator=0).T)
    assert torch.equal(
        MLP(2, 2, width=4, generator=0, device="cpu")[0].weight,
        MLP(2, 2, width=4, generator=0)[0].weight,
    )
    if torch.cuda.is_available():
        on_gpu = MLP(2, 2, width=4, generator=0, device="cuda")
        assert torch.equal(on_gpu[0].weight.cpu(), MLP(2, 2, width=4, generator=0)[0].weight)


# -- spectral normalisation ---------------------------------------------------------------------


def test_spectral_norm_converges_to_unit_top_singular_value_in_train_mode():
    net = MLP(
        5,
        3,
        depth=2,
        width=12,
        init="xavier",
        gain=3.0,
        spectral_norm=True,
        generator=4,
        dtype=torch.float64,
    )
    raw = [p.detach().clone() for n, p in net.named_parameters() if n.endswith("original")]
    x = torch.randn(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    net.train()
    for _ in range(100):
        net(x)
    effective = _weights(net)
    assert len(raw) == len(effective) == 3
    for w, w_raw in zip(effective, raw):
        # the raw weights are far from norm 1, the effective ones are W / sigma_max(W)
        assert float(torch.linalg.matrix_norm(w_raw, ord=2)) > 1.5
        assert float(torch.linalg.matrix_norm(w, ord=2)) == pytest.approx(1.0, abs=1e-6)
        assert torch.allclose(w, w_raw / torch.linalg.matrix_norm(w_raw, ord=2), atol=1e-6)


def test_spectral_norm_eval_mode_is_deterministic_and_train_mode_updates_buffers():
    net = MLP(3, 2, depth=1, width=6, spectral_norm=True, generator=0)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    u0 = net[0].parametrizations.weight[0]._u.clone()
    net.eval()
    y1, y2 = net(x), net(x)
    assert torch.equal(y1, y2) and torch.equal(net[0].parametrizations.weight[0]._u, u0)
    net.train()
    net(x)
    assert not torch.equal(net[0].parametrizations.weight[0]._u, u0)


# -- minibatch discrimination -------------------------------------------------------------------


def test_minibatch_discrimination_matches_a_hand_computation():
    layer = MinibatchDiscrimination(2, kernels=2, kernel_dim=2, generator=0, dtype=torch.float64)
    with torch.no_grad():  # T[a, b, :] for input feature a and kernel b
        layer.T.copy_(torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0]]]))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    # M_i = x_i T:  kernel 0: (1,0), (0,1), (1,1);  kernel 1: (0,2), (1,0), (1,2)
    # L1 distances, kernel 0: d12 = 2, d13 = 1, d23 = 1;  kernel 1: d12 = 3, d13 = 1, d23 = 2
    e = math.exp
    expected_o = [
        [e(-2) + e(-1), e(-3) + e(-1)],
        [e(-2) + e(-1), e(-3) + e(-2)],
        [e(-1) + e(-1), e(-1) + e(-2)],
    ]
    out = layer(x)
    assert out.shape == (3, 4)
    assert torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2:], torch.tensor(expected_o, dtype=torch.float64), rtol=1e-14)


def test_minibatch_discrimination_counts_identical_neighbours():
    layer = MinibatchDiscrimination(3, kernels=5, kernel_dim=4, generator=0)
    x = torch.tensor([[0.3, -1.0, 2.0]]).repeat(6, 1)
    assert torch.equal(layer(x)[:, 3:], torch.full((6, 5), 5.0))
    assert torch.equal(layer(x[:1])[:, 3:], torch.zeros(1, 5))  # alone: no neighbours
    # permuting the batch permutes the statistics
    y = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    perm = torch.tensor([3, 0, 4, 1, 2])
    assert torch.allclose(layer(y)[perm], layer(y[perm]), atol=1e-6)


# -- packing -----------------------------------------------------------------------------------


def test_pack_samples_puts_consecutive_samples_side_by_side():
    x = torch.arange(12.0).reshape(6, 2)
    packed = pack_samples(x, 3)
    assert packed.tolist() == [[0.0, 1, 2, 3, 4, 5], [6.0, 7, 8, 9, 10, 11]]
    assert torch.equal(pack_samples(x, 1), x)
    with pytest.raises(ValueError, match=r"^pack: the batch size 6 is not a multiple of pack=4"):
        pack_samples(x, 4)
    with pytest.raises(ValueError, match=r"^pack: expected a positive int"):
        pack_samples(x, 0)


def test_packed_discriminator_scores_each_group_alone():
    D = Discriminator(2, depth=2, width=8, pack=2, generator=0, dtype=torch.float64)
    assert D.trunk[0].in_features == 4
    x = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    logits = D(x)
    assert logits.shape == (3,)
    moved = x.clone()
    moved[3] += 1.0  # sample 3 sits in group 1 (samples 2 and 3)
    changed = D(moved) != logits
    assert changed.tolist() == [False, True, False]
    with pytest.raises(ValueError, match=r"^pack: the batch size 5"):
        D(x[:5])


def test_minibatch_discrimination_in_the_fixed_batch_game_contract():
    # the layer mixes the samples of a batch: a sample's logit depends on its batch-mates
    # (here sample 5 moves the logit of sample 0), so the discriminator is a function of
    # the batch as a whole; on a fixed batch that is a deterministic function of the
    # parameters, and the game passes the whole contract (field and Jacobian against
    # finite differences)
    from games import ParameterizedGAN, check_game
    from gan_models import ring

    def networks(kernels: int | None):  # type: ignore[no-untyped-def]
        G = MLP(2, 2, depth=1, width=6, activation="tanh", generator=0, dtype=torch.float64)
        D = Discriminator(
            2, depth=1, width=6, activation="tanh", minibatch_discrimination=kernels,
            minibatch_kernel_dim=2, generator=1, dtype=torch.float64,
        )  # fmt: skip
        return G, D

    x = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    moved = x.clone()
    moved[5] += 0.5
    for kernels, mixes in ((3, True), (None, False)):
        D = networks(kernels)[1]
        with torch.no_grad():
            assert bool(D(moved)[0] != D(x)[0]) is mixes
    G, D = networks(3)
    game = ParameterizedGAN(G, D, ring(), latent_dim=2, batch_size=8, mode="fixed")
    report = check_game(game, game.params(), max_coordinates=32)
    assert report["field_vs_fd"] < 1e-8 and report["jacobian_vs_fd"] < 1e-6


# -- differentiability -----------------------------------------------------------------------


def test_jacobians_through_a_flat_discriminator_match_finite_differences():
    D = Discriminator(
        2,
        depth=1,
        width=5,
        activation="tanh",
        spectral_norm=True,
        minibatch_discrimination=3,
        minibatch_kernel_dim=2,
        pack=2,
        generator=3,
        dtype=torch.float64,
    ).eval()
    flat = FlatModule(D)
    theta = flat.flatten()
    x = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(flat(theta, x), D(x), atol=1e-14)

    jac = torch.func.jacrev(lambda t: flat(t, x))(theta)
    assert jac.shape == (4, flat.size)
    h = 1e-6
    for i in range(0, flat.size, 7):
        step = torch.zeros_like(theta)
        step[i] = h
        fd = (flat(theta + step, x) - flat(theta - step, x)) / (2 * h)
        assert torch.allclose(jac[:, i], fd, atol=1e-7), i

    # second derivatives: a forward-over-reverse Hessian is symmetric and matches
    # finite differences of the gradient
    def loss(t):
        return nn.functional.softplus(flat(t, x)).mean()

    hessian = torch.func.jacfwd(torch.func.jacrev(loss))(theta)
    assert torch.allclose(hessian, hessian.T, atol=1e-10)
    grad = torch.func.grad(loss)
    for i in range(0, flat.size, 11):
        step = torch.zeros_like(theta)
        step[i] = h
        fd = (grad(theta + step) - grad(theta - step)) / (2 * h)
        assert torch.allclose(hessian[:, i], fd, atol=1e-6), i


def test_double_backward_through_an_mlp():
    net = MLP(2, 1, depth=2, width=6, activation="elu", generator=0, dtype=torch.float64)
    x = torch.randn(
        5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True
    )
    (g,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    penalty = (g.norm(dim=1) ** 2).mean()  # an R1-style gradient penalty
    # the output bias does not move input gradients, hence allow_unused
    grads = torch.autograd.grad(penalty, list(net.parameters()), allow_unused=True)
    assert grads[-1] is None
    assert all(bool(torch.isfinite(gr).all()) and float(gr.abs().max()) > 0 for gr in grads[:-1])


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MLP(0, 1), r"^in_features: expected a positive int"),
        (lambda: MLP(2, 1, depth=-1), r"^depth: expected a non-negative int"),
        (lambda: MLP(2, 1, width=0), r"^width: expected a positive int"),
        (lambda: MLP(2, 1, activation="sigmoid"), r"^activation: unknown value 'sigmoid'"),
        (lambda: MLP(2, 1, activation=nn.ReLU()), r"^activation: .*module instance"),
        (lambda: MLP(2, 1, activation=lambda: 3), r"^activation: the factory must return"),
        (lambda: MLP(2, 1, output_activation=5), r"^output_activation: expected a name"),
        (lambda: MLP(2, 1, init="he"), r"^init: unknown value 'he'"),
        (lambda: MLP(2, 1, gain=2.0), r"^gain: only used by init"),
        (
            lambda: MLP(2, 1, init="orthogonal", gain=-1.0),
            r"^gain: expected a positive float, got -1\.0",
        ),
        (lambda: MLP(2, 1, negative_slope=-0.1), r"^negative_slope: "),
        (lambda: MLP(2, 1, spectral_norm="yes"), r"^spectral_norm: expected a bool"),
        (lambda: MLP(2, 1, generator="seed"), r"^generator: expected a torch.Generator"),
        (lambda: MLP(2, 1, dtype=torch.int32), r"^dtype: expected a floating torch.dtype"),
        (
            lambda: MLP(2, 1, generator=0)(torch.zeros(3, 4)),
            r"^x: MLP expected inputs with last dimension 2",
        ),
        (lambda: Discriminator(2, pack=0), r"^pack: expected a positive int"),
        (lambda: Discriminator(2, minibatch_discrimination=0), r"^minibatch_discrimination: "),
        (lambda: Discriminator(2, generator=0)(torch.zeros(4, 3)), r"^x: Discriminator expected"),
        (lambda: MinibatchDiscrimination(2, kernels=0), r"^kernels: expected a positive int"),
        (
            lambda: MinibatchDiscrimination(2, generator=0)(torch.zeros(2, 2, 2)),
            r"^x: MinibatchDiscrimination",
        ),
        (lambda: pack_samples(torch.zeros(4), 2), r"^x: expected a batch of shape"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()
