"""The conventions of docs/conventions.md, each against an independent reference.

Instance noise against scipy's quad; loss values against the closed form V = -log 4 at
the GAN optimum (and gradients against the old formulas written out here); one order
and type of eigenvalues; one vocabulary of names; no torch.jit FutureWarning from
gamedyn's forward-mode calls.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import expit

from games import (
    Bilinear,
    DiracGAN,
    FunctionSpaceGAN,
    GeneratorFunctionSpaceGAN,
    Grid,
    ParameterizedGAN,
    as_params,
    gaussian_mixture_density,
    jacobian,
    sort_eigenvalues,
    vector_field,
)
from games.vocabulary import canonical_loss, canonical_which

LOG4 = math.log(4.0)


def _t(*values: float) -> tuple[torch.Tensor, ...]:
    return tuple(torch.tensor([v], dtype=torch.float64) for v in values)


# -- instance noise: the field and Jacobian against scipy's quad ---------------------------


def _expect(g) -> float:
    """E g(Z), Z ~ N(0, 1), by adaptive quadrature (independent of gamedyn's rule)."""
    density = 1.0 / math.sqrt(2.0 * math.pi)

    def integrand(z: float) -> float:
        return g(z) * math.exp(-0.5 * z * z) * density

    total = 0.0
    # split at 0 and at +-4, +-8 so quad sees the bulk and the tails separately
    edges = [-np.inf, -8.0, -4.0, 0.0, 4.0, 8.0, np.inf]
    for a, b in itertools.pairwise(edges):
        total += integrate.quad(integrand, a, b, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
    return total


def _fp(t: float) -> float:  # f'(t) for f(t) = -log(1 + e^{-t})
    return float(expit(-t))


def _fpp(t: float) -> float:  # f''(t)
    return float(-expit(-t) * expit(t))


def _reference(theta: float, psi: float, sigma: float, loss: str):
    """(xi, J) of the instance-noise Dirac-GAN written from the integrals (u = theta + sigma z)."""
    u = lambda z: theta + sigma * z  # noqa: E731
    if loss == "minimax":  # l_G = E f(psi u) + E f(-psi sigma z)
        xg = _expect(lambda z: psi * _fp(psi * u(z)))
        jgt = _expect(lambda z: psi**2 * _fpp(psi * u(z)))
        jgp = _expect(lambda z: _fp(psi * u(z)) + psi * u(z) * _fpp(psi * u(z)))
    else:  # non-saturating: l_G = -E f(-psi u)
        xg = _expect(lambda z: psi * _fp(-psi * u(z)))
        jgt = _expect(lambda z: -(psi**2) * _fpp(-psi * u(z)))
        jgp = _expect(lambda z: _fp(-psi * u(z)) - psi * u(z) * _fpp(-psi * u(z)))
    # l_D = -E f(psi u) - E f(-psi sigma z)
    xd = -_expect(lambda z: u(z) * _fp(psi * u(z))) + _expect(
        lambda z: sigma * z * _fp(-psi * sigma * z)
    )
    jdt = -_expect(lambda z: _fp(psi * u(z)) + psi * u(z) * _fpp(psi * u(z)))
    jdp = -_expect(lambda z: u(z) ** 2 * _fpp(psi * u(z))) - _expect(
        lambda z: (sigma * z) ** 2 * _fpp(-psi * sigma * z)
    )
    return np.array([xg, xd]), np.array([[jgt, jgp], [jdt, jdp]])


# (theta, psi, sigma): the point, and sigma |psi| up to 10
NOISE_POINTS = [
    (-0.045, 1.906, 2.0),
    (-0.045, 1.906, 0.7),
    (0.3, -1.2, 1.0),
    (0.8, 2.5, 2.0),
    (-1.5, 4.0, 2.5),
    (0.5, -5.0, 2.0),
    (0.05, 10.0, 1.0),
]


@pytest.mark.parametrize("theta, psi, sigma", NOISE_POINTS)
@pytest.mark.parametrize("loss", ["minimax", "non_saturating"])
def test_instance_noise_field_and_jacobian_match_quad(theta, psi, sigma, loss):
    game = DiracGAN(loss, "instance_noise", noise_std=sigma)
    params = _t(theta, psi)
    xi_ref, j_ref = _reference(theta, psi, sigma, loss)
    xi = torch.cat(vector_field(game, params)).numpy()
    np.testing.assert_allclose(xi, xi_ref, rtol=0, atol=1e-10)
    # the Jacobian by autodiff through the quadrature, against quad of the derivatives
    np.testing.assert_allclose(jacobian(game, params).numpy(), j_ref, rtol=0, atol=1e-10)


def test_instance_noise_default_beats_the_old_twenty_node_rule():
    """The issue's numbers: 20 Gauss-Hermite nodes are off by 3.4e-3 at sigma = 2."""
    theta, psi, sigma = -0.045, 1.906, 2.0
    xi_ref, _ = _reference(theta, psi, sigma, "minimax")
    np.testing.assert_allclose(xi_ref, [0.96852, 1.47017], atol=1e-5)
    old = DiracGAN("minimax", "instance_noise", noise_std=sigma, quadrature_nodes=20)
    old_xi = torch.cat(vector_field(old, _t(theta, psi))).numpy()
    assert 3e-3 < np.abs(old_xi - xi_ref).max() < 4e-3
    new = DiracGAN("minimax", "instance_noise", noise_std=sigma)
    assert np.abs(torch.cat(vector_field(new, _t(theta, psi))).numpy() - xi_ref).max() < 1e-12


def test_instance_noise_is_differentiable_in_float32_and_under_vmap():
    game = DiracGAN("minimax", "instance_noise", noise_std=1.5)
    points = torch.tensor([[0.2, 1.0], [-0.4, 3.0]], dtype=torch.float64)

    def values(p: torch.Tensor) -> torch.Tensor:
        return torch.stack(game.losses((p[:1], p[1:])))

    batched = torch.func.vmap(values)(points)  # no data-dependent node count
    for row, p in zip(batched, points):
        torch.testing.assert_close(row, values(p))
    xi32 = torch.cat(vector_field(game, tuple(t.float() for t in _t(0.2, 1.0))))
    assert xi32.dtype == torch.float32
    xi64 = torch.cat(vector_field(game, _t(0.2, 1.0)))
    torch.testing.assert_close(xi32.double(), xi64, atol=1e-6, rtol=0)


# -- loss values: V = -log 4 at the GAN optimum -----------------------------------------


def test_dirac_loss_values_at_the_equilibrium():
    for game in (
        DiracGAN("minimax"),
        DiracGAN("minimax", "r1", gamma=1.0),
        DiracGAN("minimax", "instance_noise", noise_std=0.8),
    ):
        loss_g, loss_d = game.losses(game.equilibrium())
        assert float(loss_g) == pytest.approx(-LOG4, abs=1e-14)  # l_G = V
        assert float(loss_d) == pytest.approx(LOG4, abs=1e-14)  # l_D = -V (R1 is 0 at psi=0)
    # the surrogates: their expectation over fakes alone (D = 1/2 at the equilibrium)
    ns_g, _ = DiracGAN("non_saturating").losses(DiracGAN().equilibrium())
    assert float(ns_g) == pytest.approx(math.log(2.0), abs=1e-15)  # -log D = log 2
    mle_g, _ = DiracGAN("mle").losses(DiracGAN().equilibrium())
    assert float(mle_g) == pytest.approx(-0.5, abs=1e-15)  # -1/2 e^0


def test_dirac_surrogate_gradients_unchanged():
    """Dropping f(0) from the surrogates' l_G changes values, not the field."""
    theta, psi = 0.7, -1.3
    t = torch.tensor([theta], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([psi], dtype=torch.float64)
    f = lambda x: -torch.nn.functional.softplus(-x)  # noqa: E731
    old_ns = -f(-p * t) + f(torch.zeros(1, dtype=torch.float64))  # the old value, with f(0)
    (grad,) = torch.autograd.grad(old_ns.sum(), t)
    xi = vector_field(DiracGAN("non_saturating"), _t(theta, psi))
    assert float(xi[0]) == pytest.approx(float(grad), abs=1e-15)
    assert float(xi[0]) == pytest.approx(psi * expit(psi * theta), abs=1e-15)  # psi f'(-psi theta)


@pytest.mark.parametrize("generator", ["softmax", "density"])
def test_function_space_minimax_value_is_minus_log_4(generator):
    grid = Grid.line(-3, 3, 12)
    data = gaussian_mixture_density(grid, [-1.0, 1.0], 0.5)
    game = FunctionSpaceGAN(grid, data, "minimax", generator=generator)
    loss_g, loss_d = game.losses(game.params_for(data))
    assert float(loss_g) == pytest.approx(-LOG4, abs=1e-12)
    assert float(loss_d) == pytest.approx(LOG4, abs=1e-12)


def test_function_space_minimax_gradient_unchanged():
    """l_G = V now; its generator gradient is that of the old E_pg log(1 - D)."""
    grid = Grid.line(-3, 3, 10)
    data = gaussian_mixture_density(grid, [0.0], 0.7)
    game = FunctionSpaceGAN(grid, data, "minimax")
    gen = torch.randn(grid.size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    d = torch.randn(grid.size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    a = gen.clone().requires_grad_(True)
    w = grid.weights
    old = (w * game.density(a) * torch.log1p(-torch.sigmoid(d))).sum()
    (expected,) = torch.autograd.grad(old, a)
    torch.testing.assert_close(vector_field(game, (gen, d))[0], expected, atol=1e-13, rtol=0)


def test_generator_function_space_minimax_value_is_minus_log_4():
    grid = Grid.line(-3, 3, 8)
    game = GeneratorFunctionSpaceGAN(grid, gaussian_mixture_density(grid, [0.0], 0.7))
    g = torch.linspace(-1, 1, game.sizes[0], dtype=torch.float64)
    c = torch.zeros(game.sizes[1], dtype=torch.float64)  # D = 1/2 everywhere
    loss_g, loss_d = game.losses((g, c))
    assert float(loss_g) == pytest.approx(-LOG4, abs=1e-12)
    assert float(loss_d) == pytest.approx(LOG4, abs=1e-12)


def _neural(loss: str) -> ParameterizedGAN:
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    data = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    return ParameterizedGAN(G, D, data, latent_dim=2, batch_size=32, loss=loss)


def test_parameterized_minimax_value_is_minus_log_4():
    game = _neural("minimax")
    theta, psi = game.params()
    psi = psi.clone()
    psi[-7:] = 0.0  # the last layer (6 weights, 1 bias): logit 0, D = 1/2 everywhere
    loss_g, loss_d = game.losses((theta, psi))
    assert float(loss_g) == pytest.approx(-LOG4, abs=1e-12)
    assert float(loss_d) == pytest.approx(LOG4, abs=1e-12)


def test_parameterized_wgan_generator_loss_is_the_value_with_the_old_gradient():
    game = _neural("wgan")
    theta, psi = game.params()
    real, z, _ = game.draw_batch() if game._fixed is None else game._fixed
    fake = game.G(theta, z.to(theta.dtype))
    d_real = game.D(psi, real.to(theta.dtype)).mean()
    d_fake = game.D(psi, fake).mean()
    loss_g, loss_d = game.losses((theta, psi))
    assert float(loss_g) == pytest.approx(float(d_real - d_fake), abs=1e-12)  # V
    assert float(loss_g) == pytest.approx(-float(loss_d), abs=1e-12)
    # gradient unchanged: the old l_G = -E D(G(z))
    t = theta.clone().requires_grad_(True)
    (old,) = torch.autograd.grad(-game.D(psi, game.G(t, z.to(t.dtype))).mean(), t)
    torch.testing.assert_close(vector_field(game, (theta, psi))[0], old, atol=1e-12, rtol=0)


# -- one order and type of eigenvalues ---------------------------------------------------


def _expected_order(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=complex)
    out = sorted(v, key=lambda x: (-abs(x), x.real, x.imag))
    return np.array(out)


def test_sort_eigenvalues_order_and_type():
    got = sort_eigenvalues(torch.tensor([0.5, -2.0, 1.0], dtype=torch.float64))
    assert got.dtype == np.complex128
    np.testing.assert_array_equal(got, [-2.0, 1.0, 0.5])
    got = sort_eigenvalues([1j, -1j, 1.0, -1.0])
    np.testing.assert_array_equal(got, [-1.0, -1j, 1j, 1.0])


def test_every_eigenvalue_source_has_one_order_and_type():
    from analyses import eigenvalues, unroll_depth
    from dynamics import SimultaneousGD, linearize

    game = DiracGAN("minimax", "r1", gamma=3.0)  # real eigenvalues (3 ± sqrt(8))/2
    eq = game.equilibrium()
    closed = np.array([(3 + math.sqrt(8)) / 2, (3 - math.sqrt(8)) / 2])
    block = jacobian(game, eq).eigenvalues()
    assert isinstance(block, np.ndarray) and block.dtype == np.complex128
    np.testing.assert_allclose(block, closed, atol=1e-14)
    np.testing.assert_allclose(eigenvalues(game, eq).values, closed, atol=1e-14)

    lin = linearize(SimultaneousGD(0.1), game, eq).eigenvalues()
    assert isinstance(lin, np.ndarray) and lin.dtype == np.complex128
    np.testing.assert_allclose(lin, _expected_order(1 - 0.1 * closed), atol=1e-14)

    xy = Bilinear.xy()
    study = unroll_depth(xy, as_params(xy, [[0.0], [0.0]]), [0, 2], inner_lr=0.3, lr=0.1)
    for k, row in zip((0, 2), study.eigenvalues[:, 0, :]):
        root = np.sqrt(complex((k * 0.3) ** 2 - 1))  # lambda = K eta ± sqrt(K^2 eta^2 - 1)
        expected = _expected_order([k * 0.3 - root, k * 0.3 + root])
        np.testing.assert_allclose(row, expected, atol=1e-12)
    # a complex pair of equal modulus: by imaginary part
    pair = jacobian(Bilinear.xy(), as_params(Bilinear.xy(), [[0.0], [0.0]])).eigenvalues()
    np.testing.assert_array_equal(pair, [-1j, 1j])


# -- one vocabulary ------------------------------------------------------------------------


def test_loss_aliases_are_accepted_everywhere_in_python():
    assert DiracGAN("standard").loss == "minimax"
    assert DiracGAN("Non-Saturating").loss == "non_saturating"
    grid = Grid.line(-1, 1, 4)
    data = gaussian_mixture_density(grid, [0.0], 0.5)
    assert FunctionSpaceGAN(grid, data, "standard").loss == "minimax"
    assert FunctionSpaceGAN(grid, data, "lsgan").loss == "least_squares"
    assert GeneratorFunctionSpaceGAN(grid, data, "ns").loss == "non_saturating"
    assert _neural("standard").loss == "minimax"
    with pytest.raises(ValueError, match=r"loss: unknown value 'kl', expected one of \('minimax'"):
        DiracGAN("kl")
    with pytest.raises(TypeError, match=r"loss: expected one of .*got int"):
        DiracGAN(3)
    assert canonical_loss("GAN", ("minimax",)) == "minimax"
    assert canonical_which("LI", ("magnitude", "imaginary")) == "imaginary"


def test_loss_aliases_on_the_command_line_and_in_toml(tmp_path):
    from analyses._registry import GAMES
    from dynamics.registry import RULES, parse_spec
    from gan_models import load_config

    for spelling in ("minimax", "standard", "saturating"):
        assert parse_spec(f"dirac:loss={spelling}", GAMES, "game").values["loss"] == "minimax"
    assert parse_spec("sga:gamma=0.25", RULES, "rule").values["lam"] == 0.25
    assert parse_spec("sga:lambda=0.5", RULES, "rule").values["lam"] == 0.5

    path = tmp_path / "run.toml"
    path.write_text('[game]\nloss = "standard"\n')
    assert load_config(path).game.loss == "minimax"


def test_which_aliases_agree():
    from analyses import top_eigenvalues

    # a bigger game: a 6-dimensional bilinear one
    game = Bilinear(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 1.0]]))
    params = as_params(game, [[0.1, 0.2, 0.3], [0.0, -0.1, 0.4]])
    by_name = top_eigenvalues(game, params, 2, which="imaginary").values
    by_code = top_eigenvalues(game, params, 2, which="LI").values
    np.testing.assert_allclose(by_name, by_code, atol=1e-8)
    dense = np.linalg.eigvals(jacobian(game, params).numpy())
    np.testing.assert_allclose(np.abs(by_name.imag), np.abs(dense.imag).max(), atol=1e-8)


def test_cli_which_accepts_both_spellings():
    from analyses.cli.spectrum import _which

    assert _which("imaginary") == "LI"
    assert _which("LI") == "LI"
    assert _which("smallest-real") == "SR"


# -- warnings ----------------------------------------------------------------------------


def test_no_jit_warning_escapes_from_jvp_and_check_game():
    """In a fresh interpreter (torch imports its forward-mode decompositions once)."""
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "import torch\n"
        "from games import DiracGAN, check_game, jvp\n"
        "g = DiracGAN('minimax', 'r1', gamma=1.0)\n"
        "p = g.equilibrium()\n"
        "jvp(g, p, (torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)))\n"
        "check_game(g)\n"
        "print('clean')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "clean"


def test_the_silencer_is_local():
    from games.autodiff import quiet_jit_deprecation

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_jit_deprecation():
            warnings.warn(
                "`torch.jit.script` is deprecated. Please switch", FutureWarning, stacklevel=1
            )
            warnings.warn("something else", FutureWarning, stacklevel=1)
        warnings.warn(
            "`torch.jit.script` is deprecated. Please switch", FutureWarning, stacklevel=1
        )
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert messages[0] == "something else" and messages[1].startswith("`torch.jit.script`")


def test_python_310_gets_tomli():
    """requires-python says 3.10; tomllib is 3.11+, so 3.10 needs tomli (same API)."""
    from pathlib import Path

    from gan_models import config

    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    project = config.tomllib.loads(text)["project"]
    assert project["requires-python"] == ">=3.10"
    markers = [d for d in project["dependencies"] if d.startswith("tomli")]
    assert markers == ["tomli>=1.1; python_version < '3.11'"]
    source = (root / "gan_models" / "config.py").read_text(encoding="utf-8")
    assert "if sys.version_info >= (3, 11):\n    import tomllib\nelse:" in source
