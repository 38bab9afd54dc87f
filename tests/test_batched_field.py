"""Phase portraits evaluate the field in one batched call; it must equal the pointwise field."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyses import PhasePortraitDisplay
from analyses.plots import _field_on_points
from games import Bilinear, DiracGAN, Quadratic, field_function, unrolled


def _games():
    yield "xy", Bilinear.xy()
    yield "dirac", DiracGAN("standard")
    yield "dirac r1", DiracGAN("non_saturating", "r1", gamma=0.7)
    yield "dirac wgan-gp", DiracGAN("wgan", "wgan_gp", gamma=1.0)
    yield "dirac noise", DiracGAN("standard", "instance_noise", noise_std=0.5)
    h = torch.tensor([[2.0, 1.0, 0.3], [1.0, 3.0, -0.5], [0.3, -0.5, 1.0]], dtype=torch.float64)
    yield "quadratic", Quadratic([h, -h + 4 * torch.eye(3, dtype=torch.float64)], sizes=[1, 2])
    yield "unrolled dirac", unrolled(DiracGAN("standard"), steps=3, lr=0.2)


@pytest.mark.parametrize("name, game", list(_games()))
def test_batched_field_equals_the_pointwise_field(name, game):
    n = sum(game.sizes)
    points = torch.as_tensor(np.random.default_rng(0).uniform(-2, 2, (37, n)))
    fieldfn = field_function(game)
    pointwise = torch.stack([fieldfn(p) for p in points])
    torch.testing.assert_close(_field_on_points(game, points), pointwise, rtol=1e-12, atol=1e-14)


def test_phase_portrait_grid_is_the_field(tmp_path):
    # the display's arrows are -xi at the grid points: x·y has xi = (y, -x)
    display = PhasePortraitDisplay.from_game(Bilinear.xy(), (-1.0, 1.0), (-2.0, 2.0), resolution=7)
    xx, yy = np.meshgrid(display.x, display.y)
    np.testing.assert_allclose(display.u, -yy, atol=1e-15)
    np.testing.assert_allclose(display.v, xx, atol=1e-15)


def test_a_game_that_cannot_be_batched_falls_back():
    class Stubborn(Bilinear):
        """x·y with a data-dependent branch: vmap cannot batch ``if tensor``."""

        def losses(self, params):
            x, _y = params
            if float(x.detach().sum()) > 1e9:  # .item()-style control flow
                raise AssertionError
            return super().losses(params)

    game = Stubborn(torch.eye(1, dtype=torch.float64))
    points = torch.tensor([[1.0, 2.0], [-3.0, 0.5]], dtype=torch.float64)
    with pytest.raises(RuntimeError):  # the batched path really fails for this game
        torch.func.vmap(field_function(game))(points)
    torch.testing.assert_close(
        _field_on_points(game, points), torch.tensor([[2.0, -1.0], [0.5, 3.0]], dtype=torch.float64)
    )


# -- find_fixed_points: every start's Levenberg–Marquardt iterations in one batched call --


class TwoWells:
    r"""xi = (x^3 - x + y/5, y^3 - y - x/5): nine fixed points, found in closed form below
    (y = 5(x - x^3) into the second component: a degree-9 polynomial in x)."""

    players = ("x", "y")
    sizes = (1, 1)

    def losses(self, params):
        x, y = params
        return (
            (x**4 / 4 - x**2 / 2 + 0.2 * x * y).sum(),
            (y**4 / 4 - y**2 / 2 - 0.2 * x * y).sum(),
        )


class StubbornWells(TwoWells):
    """The same field through a data-dependent branch: vmap cannot batch it."""

    def losses(self, params):
        if float(params[0].detach().sum()) > 1e9:
            raise AssertionError
        return super().losses(params)


def _closed_form_fixed_points() -> np.ndarray:
    x = np.polynomial.Polynomial([0, 1])
    y = 5 * (x - x**3)
    roots = (y**3 - y - 0.2 * x).roots()
    real = roots[np.abs(roots.imag) < 1e-9].real
    return np.stack([real, 5 * (real - real**3)], axis=1)


def _one_start_at_a_time(game, starts, max_iter=100, tol=1e-10, damping=1e-3, merge_tol=1e-6):
    """The per-start Python loop find_fixed_points used to run (the reference)."""
    from games import flatten_params, jacobian, unflatten_params, vector_field

    n = sum(game.sizes)
    found = []
    for start in starts.to(torch.float64):
        theta, mu = start.clone(), damping
        for _ in range(max_iter):
            params = unflatten_params(game, theta)
            xi = flatten_params(vector_field(game, params))
            if float(torch.linalg.vector_norm(xi)) < tol:
                break
            J = jacobian(game, params).matrix
            step = torch.linalg.solve(J.T @ J + mu * torch.eye(n, dtype=torch.float64), -J.T @ xi)
            trial = theta + step
            if not bool(torch.isfinite(trial).all()):
                break
            new_xi = flatten_params(vector_field(game, unflatten_params(game, trial)))
            if float(torch.linalg.vector_norm(new_xi)) < float(torch.linalg.vector_norm(xi)):
                theta, mu = trial, max(mu / 10, 1e-12)
            else:
                mu *= 10
        final = flatten_params(vector_field(game, unflatten_params(game, theta)))
        if float(torch.linalg.vector_norm(final)) < tol and not any(
            float(torch.linalg.vector_norm(theta - f)) < merge_tol for f in found
        ):
            found.append(theta)
    return found


def _starts(count: int, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).uniform(-1.6, 1.6, (count, 2)))


@pytest.mark.parametrize("game", [TwoWells(), StubbornWells()], ids=["batched", "fallback"])
def test_find_fixed_points_equals_the_loop_over_starts(game):
    from analyses import find_fixed_points

    starts = _starts(40)
    found = find_fixed_points(game, starts)
    reference = _one_start_at_a_time(game, starts)
    assert len(found) == len(reference) >= 5
    for point, expected in zip(found, reference):  # the same points, in the same order
        torch.testing.assert_close(torch.cat(point), expected, rtol=1e-9, atol=1e-12)
    # and they are the closed form's real roots
    roots = _closed_form_fixed_points()
    assert len(roots) == 9
    for point in found:
        gap = np.abs(roots - torch.cat(point).numpy()).max(axis=1).min()
        assert gap < 1e-9


def test_find_fixed_points_chunks_of_starts_give_the_same_points(monkeypatch):
    import analyses.stability as stability

    starts = _starts(25, seed=3)
    whole = stability.find_fixed_points(TwoWells(), starts)
    monkeypatch.setattr(stability, "_JACOBIAN_ELEMENTS", 4 * 3)  # 3 starts per batch
    chunked = stability.find_fixed_points(TwoWells(), starts)
    assert len(whole) == len(chunked)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(torch.cat(a), torch.cat(b), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, game", list(_games()))
def test_batched_jacobians_equal_the_pointwise_jacobians(name, game):
    from analyses._batched import field_and_jacobian_on_points
    from games import jacobian, unflatten_params

    n = sum(game.sizes)
    points = torch.as_tensor(np.random.default_rng(1).uniform(-2, 2, (9, n)))
    xi, J = field_and_jacobian_on_points(game, points)
    fieldfn = field_function(game)
    for k, theta in enumerate(points):
        torch.testing.assert_close(xi[k], fieldfn(theta), rtol=1e-12, atol=1e-14)
        expected = jacobian(game, unflatten_params(game, theta), method="loop").matrix
        torch.testing.assert_close(J[k], expected, rtol=1e-10, atol=1e-12)


def test_jacobian_fallback_matches_the_closed_form():
    from analyses._batched import field_and_jacobian_on_points

    points = _starts(6, seed=5)
    with pytest.raises(RuntimeError):  # the batched path really fails for this game
        torch.func.vmap(field_function(StubbornWells()))(points)
    xi, J = field_and_jacobian_on_points(StubbornWells(), points)
    x, y = points[:, 0], points[:, 1]
    torch.testing.assert_close(xi, torch.stack([x**3 - x + y / 5, y**3 - y - x / 5], 1))
    expected = torch.zeros(6, 2, 2, dtype=torch.float64)
    expected[:, 0, 0], expected[:, 0, 1] = 3 * x**2 - 1, 0.2
    expected[:, 1, 0], expected[:, 1, 1] = -0.2, 3 * y**2 - 1
    torch.testing.assert_close(J, expected)


def test_batched_field_in_chunks_equals_the_pointwise_field(monkeypatch):
    import analyses._batched as batched

    game = DiracGAN("non_saturating", "r1", gamma=0.7)
    points = torch.as_tensor(np.random.default_rng(2).uniform(-2, 2, (23, 2)))
    monkeypatch.setattr(batched, "_POINT_ELEMENTS", 2 * 5)  # 5 points per batched call
    fieldfn = field_function(game)
    expected = torch.stack([fieldfn(p) for p in points])
    torch.testing.assert_close(_field_on_points(game, points), expected, rtol=1e-12, atol=1e-14)


def test_phase_portrait_in_float32_is_the_field():
    display = PhasePortraitDisplay.from_game(
        Bilinear.xy(), (-1.0, 1.0), (-2.0, 2.0), resolution=5, dtype=torch.float32
    )
    xx, yy = np.meshgrid(display.x, display.y)
    np.testing.assert_allclose(display.u, -yy, atol=1e-6)
    np.testing.assert_allclose(display.v, xx, atol=1e-6)
    with pytest.raises(TypeError, match="dtype"):
        PhasePortraitDisplay.from_game(Bilinear.xy(), (-1, 1), (-1, 1), dtype=torch.int64)
