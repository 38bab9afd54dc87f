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
