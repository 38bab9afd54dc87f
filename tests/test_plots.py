"""Display objects: computed data asserted, drawing checked headless (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from analyses import (
    EigenvalueDisplay,
    PhasePortraitDisplay,
    SpectralRadiusDisplay,
    StabilityRegionDisplay,
    TrajectoryNormDisplay,
    stability_region,
    two_timescale,
)
from dynamics import Extragradient, SimultaneousGD, run
from games import Bilinear, DiracGAN, as_params


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_phase_portrait_of_the_xy_game():
    game = Bilinear.xy()
    display = PhasePortraitDisplay.from_game(
        game,
        (-1, 1),
        (-1, 1),
        resolution=11,
        rules={"GD": SimultaneousGD(lr=0.1), "EG": Extragradient(lr=0.1)},
        start=(0.5, 0.0),
        steps=30,
    )
    # -xi = (-y, x): counter-clockwise rotation
    xx, yy = np.meshgrid(display.x, display.y)
    np.testing.assert_allclose(display.u, -yy, atol=1e-15)
    np.testing.assert_allclose(display.v, xx, atol=1e-15)
    assert (
        np.linalg.norm(display.trajectories["GD"][-1])
        > 0.5
        > np.linalg.norm(display.trajectories["EG"][-1])
    )
    display.plot()
    assert display.ax_.get_xlabel() == "x[0]" and display.ax_.get_title()
    assert set(display.lines_) == {"GD", "EG"}


def test_phase_portrait_slice_of_a_bigger_game():
    game = Bilinear(np.eye(2))
    display = PhasePortraitDisplay.from_game(
        game, (-1, 1), (-1, 1), coordinates=(1, 3), resolution=5
    )
    assert display.labels == ("x[1]", "y[1]")
    with pytest.raises(ValueError, match="coordinates: expected two distinct flat indices"):
        PhasePortraitDisplay.from_game(game, (-1, 1), (-1, 1), coordinates=(1, 1))


def test_eigenvalue_display_with_the_gd_disc():
    game = DiracGAN("standard", "r1", gamma=0.5)
    stable = EigenvalueDisplay.from_game(game, game.equilibrium(), lr=1.0)
    unstable = EigenvalueDisplay.from_game(game, game.equilibrium(), lr=2.5)  # bound is 4 gamma = 2
    assert stable.gd_stable and not unstable.gd_stable
    np.testing.assert_allclose(
        np.sort(stable.eigenvalues.imag), [-np.sqrt(0.25 - 0.0625), np.sqrt(0.25 - 0.0625)]
    )
    stable.plot()
    assert stable.region_.radius == pytest.approx(1.0)
    assert "Re" in stable.ax_.get_xlabel()


def test_stability_region_and_spectral_radius_displays():
    game = DiracGAN("standard", "r1", gamma=1.0)
    region = stability_region(
        game, game.equilibrium(), "gd", lr=np.linspace(0.05, 5, 30), ratio=np.geomspace(0.1, 10, 20)
    )
    display = StabilityRegionDisplay.from_region(region).plot(log_axes=(False, True))
    assert display.mesh_.get_array().size == 30 * 20
    assert display.ax_.get_xlabel() == "ratio" and display.ax_.get_ylabel() == "lr"
    ttur = two_timescale(
        DiracGAN(), DiracGAN().equilibrium(), lr=[0.1], ratio=np.geomspace(0.1, 10, 9)
    )
    curve = SpectralRadiusDisplay.from_region(ttur).plot(log_x=True)
    np.testing.assert_allclose(curve.spectral_radius, np.sqrt(1 + 0.01 * ttur.columns / 4))
    assert "spectral radius" in curve.ax_.get_ylabel()
    with pytest.raises(ValueError, match="expected two 1-D arrays of one length"):
        SpectralRadiusDisplay.from_values([1, 2], [1.0], "K")


def test_trajectory_norm_display():
    game = Bilinear.xy()
    start = as_params(game, [[1.0], [0.0]])
    runs = {
        "GD": run(game, SimultaneousGD(lr=0.1), start, 20),
        "EG": run(game, Extragradient(lr=0.1), start, 20),
    }
    display = TrajectoryNormDisplay.from_trajectories(runs).plot()
    np.testing.assert_allclose(display.norms["GD"], np.sqrt(1.01) ** np.arange(21), rtol=1e-12)
    assert display.ax_.get_yscale() == "log"
    with pytest.raises(ValueError, match="at least one named Trajectory"):
        TrajectoryNormDisplay.from_trajectories({})
