"""The helpers with one home each: mean ± standard error, the Axes helper, the
temperature mixture's constants, the version string."""

from __future__ import annotations

import importlib.metadata
import math

import matplotlib
import numpy as np
import pytest

import games
from analyses import summarize
from analyses._stats import mean_se
from analyses.plots import _axes
from games import temperature_density
from games.densities import TEMPERATURE_MODES
from gan_models import temperature


@pytest.mark.parametrize(
    "values, mean, se",
    [
        ([1.0, 2.0, 3.0], 2.0, 1.0 / math.sqrt(3.0)),
        ([4.0], 4.0, 0.0),
        ([], math.nan, math.nan),
        ([1.0, math.inf], math.inf, math.nan),
        ([1.0, -math.inf], -math.inf, math.nan),
        ([1.0, math.nan], math.nan, math.nan),
        ([math.inf, -math.inf], math.nan, math.nan),
    ],
)
def test_mean_se_by_hand(values: list[float], mean: float, se: float) -> None:
    got = mean_se(values)
    assert set(got) == {"mean", "se"}
    for key, expected in (("mean", mean), ("se", se)):
        if math.isnan(expected):
            assert math.isnan(got[key])
        else:
            assert got[key] == pytest.approx(expected, rel=1e-15)


def test_mode_and_sweep_summaries_share_the_non_finite_rule() -> None:
    """summarize (mode coverage) and SweepResult.summarize: the same mean ± se."""
    from analyses import mode_coverage, sweep

    modes = [[0.0, 0.0], [1.0, 0.0]]
    runs = [mode_coverage([[0.0, 0.0]], modes, 0.01), mode_coverage([[5.0, 5.0]], modes, 0.01)]
    by_modes = summarize(runs)["reverse_kl"]
    (row,) = sweep(_reverse_kl, {"run": [0, 1]}).summarize(by=[], metrics="reverse_kl")
    by_sweep = row["reverse_kl"]
    assert by_modes["mean"] == by_sweep["mean"] == math.inf
    assert math.isnan(by_modes["se"]) and math.isnan(by_sweep["se"]) and by_sweep["n"] == 2


def _reverse_kl(run: int, seed: int) -> dict[str, float]:
    return {"reverse_kl": [0.5, math.inf][run]}


def test_one_axes_helper() -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        (ax,) = _axes(None)
        assert ax.figure is not None
        three = _axes(None, 3, figsize=(9.0, 3.0), layout="constrained")
        assert len(three) == 3 and three[0].figure.get_size_inches().tolist() == [9.0, 3.0]
        assert _axes(ax) == [ax]
        assert _axes(np.array(three).reshape(1, 3), 3) == three
        with pytest.raises(ValueError, match="ax: expected 3 matplotlib Axes, got 1"):
            _axes([ax], 3)
    finally:
        plt.close("all")


def test_temperature_constants_have_one_home() -> None:
    data = temperature()
    assert data.modes.flatten().tolist() == [mu for mu, _ in TEMPERATURE_MODES]
    assert data.std.tolist() == [sd for _, sd in TEMPERATURE_MODES]
    grid, p = temperature_density()
    x, density = grid.points[:, 0].numpy(), p.numpy()
    peaks = [float(x[side][np.argmax(density[side])]) for side in (x < 0, x > 0)]
    assert [round(v) for v in peaks] == sorted(round(mu) for mu, _ in TEMPERATURE_MODES)


def test_durations_and_rates_have_one_home() -> None:
    """The trainer's, the sweeps' and the report's progress lines format with one pair
    of functions, those of games.formatting (checked on the source: no copies)."""
    from pathlib import Path

    from games import formatting
    from gan_models import _progress

    assert _progress.format_duration is formatting.format_duration
    assert _progress.format_rate is formatting.format_rate
    root = Path(formatting.__file__).resolve().parents[1]
    homes = sorted(
        str(path.relative_to(root))
        for package in ("games", "dynamics", "gan_models", "analyses", "benchmarks")
        for path in (root / package).rglob("*.py")
        if "def format_duration(" in path.read_text(encoding="utf-8")
        or "def format_rate(" in path.read_text(encoding="utf-8")
    )
    assert homes == ["games/formatting.py"]
    assert formatting.format_rate(0.004) == "250 s/it"  # 1 / 0.004 seconds a step


def test_version_comes_from_the_package_metadata() -> None:
    assert games.__version__ == importlib.metadata.version("gamedyn")
