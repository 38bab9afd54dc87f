"""GANs in function space: the theory made computable."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dynamics import BestResponseGD, SimultaneousGD, run
from games import (
    FunctionSpaceGAN,
    GeneratorFunctionSpaceGAN,
    Grid,
    check_game,
    gaussian_mixture_density,
    generator_best_response,
    jacobian,
    jsd,
    kl,
    optimal_discriminator,
    reverse_kl,
    temperature_density,
    validate_density,
    vector_field,
    virtual_training_criterion,
)

GRID = Grid.line(-4.0, 4.0, 40)
BIMODAL = gaussian_mixture_density(GRID, [-2.0, 2.0], 0.4)
LEFT = GRID.points[:, 0] < 0


def _random_density(grid, seed, zeros=0):
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(grid.size, generator=gen, dtype=torch.float64)
    if zeros:
        values[torch.randperm(grid.size, generator=gen)[:zeros]] = 0.0
    return grid.normalize(values)


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "mle", "wgan", "least_squares"])
@pytest.mark.parametrize("generator", ["softmax", "density"])
def test_contract_and_zero_generator_block_at_equilibrium(loss, generator):
    game = FunctionSpaceGAN(
        Grid.line(-3, 3, 10),
        gaussian_mixture_density(Grid.line(-3, 3, 10), [-1.0, 1.0], 0.5),
        loss,
        generator=generator,
    )
    check_game(game, seed=1)
    J = jacobian(game, game.equilibrium())
    assert float(J.hessian("generator").abs().max()) < 1e-15  # no retaining force
    if generator == "softmax":
        assert float(torch.cat(vector_field(game, game.equilibrium())).abs().max()) < 1e-15


def test_two_dimensional_grid_game():
    grid = Grid.plane((-2, 2), (-2, 2), (6, 5))
    data = gaussian_mixture_density(grid, [[-1.0, -1.0], [1.0, 1.0]], 0.5)
    assert math.isclose(float(grid.integrate(data)), 1.0, rel_tol=1e-12)
    for loss in ("minimax", "wgan"):
        game = FunctionSpaceGAN(grid, data.reshape(6, 5), loss)
        check_game(game, seed=2)
        assert float(jacobian(game, game.equilibrium()).hessian(0).abs().max()) < 1e-15


def test_eigenvalues_where_data_vanish_are_imaginary_and_match_the_point_game():
    data = _random_density(GRID, 0, zeros=10)
    game = FunctionSpaceGAN(GRID, data, "minimax", generator="density")
    eq = game.equilibrium()
    J = jacobian(game, eq).matrix
    m = GRID.size
    for k in range(m):
        block = J[[k, m + k]][:, [k, m + k]]
        # the game decouples point by point
        off = J[[k, m + k]].clone()
        off[:, [k, m + k]] = 0
        assert float(off.abs().max()) == 0.0
        values = torch.linalg.eigvals(block).numpy()
        twin = game.point_game(k)
        exact = np.array(twin.eigenvalues_at([[float(data[k])], [0.0]]))
        np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(exact), atol=1e-14)
        w = float(GRID.weights[k])
        if float(data[k]) == 0.0:
            np.testing.assert_allclose(np.sort_complex(values), [-0.5j * w, 0.5j * w], atol=1e-15)
        else:
            assert np.all(values.real > 0)


def test_optimal_discriminator_is_where_training_d_alone_converges():
    # densities bounded below, so that every point's D converges within the run: the
    # per-point rate is lr * w * (p_data + p_g) / 4 per step
    data = GRID.normalize(0.9 * BIMODAL + 0.1 / 8)
    p_g = GRID.normalize(0.9 * gaussian_mixture_density(GRID, [0.0], 1.5) + 0.1 / 8)
    game = FunctionSpaceGAN(GRID, data, "minimax")
    traj = run(game, SimultaneousGD(lr=[0.0, 20.0]), game.params_for(p_g), 3000)  # G frozen
    trained = torch.sigmoid(traj.final[1])
    torch.testing.assert_close(trained, optimal_discriminator(data, p_g), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_virtual_training_criterion_identity(seed):
    p_data = _random_density(GRID, seed, zeros=seed)
    p_g = _random_density(GRID, seed + 100, zeros=2 * seed)
    C = float(virtual_training_criterion(p_data, p_g, GRID))
    assert C == pytest.approx(-math.log(4) + 2 * float(jsd(p_data, p_g, GRID)), abs=1e-10)
    assert C > -math.log(4)
    assert float(virtual_training_criterion(p_data, p_data, GRID)) == pytest.approx(
        -math.log(4), abs=1e-12
    )
    torch.testing.assert_close(
        optimal_discriminator(p_data, p_data)[p_data > 0], torch.full_like(p_data[p_data > 0], 0.5)
    )


def test_divergences_closed_forms():
    grid = Grid.line(0, 2, 2)  # two cells of width 1
    p, q = (
        torch.tensor([0.75, 0.25], dtype=torch.float64),
        torch.tensor([0.5, 0.5], dtype=torch.float64),
    )
    assert float(kl(p, q, grid)) == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    assert float(reverse_kl(p, q, grid)) == pytest.approx(
        0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(2.0)
    )
    disjoint = (
        torch.tensor([1.0, 0.0], dtype=torch.float64),
        torch.tensor([0.0, 1.0], dtype=torch.float64),
    )
    assert float(jsd(*disjoint, grid)) == pytest.approx(math.log(2))


def test_min_max_covers_both_modes_max_min_collapses_to_one():
    game = FunctionSpaceGAN(GRID, BIMODAL, "minimax")
    start = game.params_for(gaussian_mixture_density(GRID, [-2.0, 2.0], 0.6, weights=[0.8, 0.2]))
    d_inner = run(
        game,
        BestResponseGD(lr=[5.0, 0.0], inner=1, best_response=game.discriminator_best_response),
        start,
        400,
    )
    p_g = game.density(d_inner.final[0])
    assert float(GRID.integrate(p_g * LEFT)) == pytest.approx(0.5, abs=2e-3)
    assert float(jsd(BIMODAL, p_g, GRID)) < 1e-3
    g_inner = run(
        game,
        BestResponseGD(lr=[0.0, 1.0], inner=0, best_response=game.generator_best_response),
        start,
        400,
        record_every=50,
    )
    for row in g_inner.params:
        masses = game.density(row[: GRID.size]) * GRID.weights
        if not torch.equal(row, g_inner.params[0]):
            assert float(masses.max()) > 1 - 1e-12  # a single point: one mode, every time
    # and it hops: D chases the generator from one mode to the other
    sides = {
        bool(float(GRID.integrate(game.density(r[: GRID.size]) * LEFT)) > 0.5)
        for r in g_inner.params[1:]
    }
    assert sides == {True, False}


def test_generator_best_response_is_a_point_mass_at_argmax():
    D = torch.sigmoid(
        torch.randn(GRID.size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    )
    best = generator_best_response(D, GRID)
    assert float(GRID.integrate(best)) == pytest.approx(1.0)
    assert int(torch.argmax(best)) == int(torch.argmax(D))


def test_equilibrium_mode_collapse_in_generator_function_space():
    grid = Grid.line(-4, 4, 400)
    data = gaussian_mixture_density(grid, [-2.0, 2.0], 0.3)
    game = GeneratorFunctionSpaceGAN(grid, data, latent_size=2000)
    collapsed = game.quantile_generator(gaussian_mixture_density(grid, [-2.0], 0.3))
    covering = game.quantile_generator(data)
    c_collapsed, c_covering = float(game.criterion(collapsed)), float(game.criterion(covering))
    # closed forms for two equal separated modes: -log 4 + 3/2 log(4/3) and -log 4
    assert c_collapsed == pytest.approx(-math.log(4) + 1.5 * math.log(4 / 3), abs=2e-3)
    assert c_covering == pytest.approx(-math.log(4), abs=5e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):  # every neighbour in function space is worse
        delta = 0.05 * torch.randn(collapsed.shape, generator=gen, dtype=torch.float64)
        assert float(game.criterion(collapsed + delta)) > c_collapsed
    check_game(
        GeneratorFunctionSpaceGAN(
            Grid.line(-3, 3, 12),
            gaussian_mixture_density(Grid.line(-3, 3, 12), [0.0], 1.0),
            latent_size=5,
        )
    )


def test_temperature_density_is_bimodal():
    grid, p = temperature_density()
    assert float(grid.integrate(p)) == pytest.approx(1.0)
    hot = float(grid.integrate(p * (grid.points[:, 0] > 0)))
    assert hot == pytest.approx(0.5, abs=1e-5)  # the grid truncates the tails at ±50 °C
    assert (
        float(p[torch.argmin((grid.points[:, 0] - 0.0).abs())]) < 1e-6
    )  # nobody lives at 0 °C here


@pytest.mark.parametrize(
    "build,error,match",
    [
        (
            lambda: validate_density(-BIMODAL, GRID),
            ValueError,
            "density: expected non-negative values",
        ),
        (
            lambda: validate_density(2 * BIMODAL, GRID),
            ValueError,
            "expected a density integrating to 1",
        ),
        (
            lambda: validate_density(BIMODAL[:10], GRID),
            ValueError,
            r"expected 40 values \(one per grid point",
        ),
        (
            lambda: validate_density(torch.full((40,), math.nan), GRID),
            ValueError,
            "expected finite values",
        ),
        (
            lambda: FunctionSpaceGAN(GRID, BIMODAL, "hinge"),
            ValueError,
            "loss: unknown value 'hinge'",
        ),
        (
            lambda: FunctionSpaceGAN(Grid.line(0, 1, 5), BIMODAL),
            ValueError,
            r"data: expected 5 values",
        ),
        (lambda: FunctionSpaceGAN("grid", BIMODAL), TypeError, "grid: expected a games.Grid"),
        (lambda: Grid.line(1.0, 0.0, 5), ValueError, "low, high: expected finite low < high"),
        (
            lambda: gaussian_mixture_density(GRID, [0.0], -1.0),
            ValueError,
            "stds: expected positive",
        ),
        (
            lambda: FunctionSpaceGAN(GRID, BIMODAL).params_for(BIMODAL * 0 + 1 / 8, [0.5] * 3),
            ValueError,
            "discriminator: expected 40 values",
        ),
        (
            lambda: FunctionSpaceGAN(GRID, BIMODAL, "wgan").discriminator_best_response(
                FunctionSpaceGAN(GRID, BIMODAL).equilibrium()
            ),
            ValueError,
            "closed-form D",
        ),
    ],
)
def test_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()
