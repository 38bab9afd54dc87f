"""Mode coverage (VEEGAN/PacGAN metric) and mode hopping, against hand-computed values."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pytest
import torch

from analyses import (
    CoverageDisplay,
    ModeCoverage,
    ModeHoppingGraphDisplay,
    SamplesDisplay,
    collapse_statistics,
    dominant_modes,
    format_table,
    gaussian_high_quality_rate,
    hopping_cycles,
    mode_coverage,
    mode_hopping_graph,
    summarize,
)

ANGLES = 2 * np.pi * np.arange(8) / 8
RING = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # 8 modes, radius 1, std 0.01
GRID = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float)
FAR = np.array([[5.0, 5.0]])


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def ring_samples() -> np.ndarray:
    """4 samples on mode 0 (one 2 std off), 2 on mode 1, 2 on mode 2, 2 far away."""
    return np.concatenate(
        [
            RING[[0, 0, 0]],
            RING[[0]] + [0.02, 0.0],
            RING[[1, 1, 2, 2]],
            [[3.0, 0.0]],  # nearest mode 0, distance 2
            FAR,  # nearest mode 1 (45 degrees)
        ]
    )


def ring_run(covered: int, far: int) -> ModeCoverage:
    """One sample on each of modes 0..covered-1 plus ``far`` far-away samples."""
    return mode_coverage(np.concatenate([RING[:covered], np.repeat(FAR, far, axis=0)]), RING, 0.01)


def test_ring_with_three_modes_and_far_points():
    cov = mode_coverage(ring_samples(), RING, 0.01)
    assert cov.modes_covered == 3 and cov.n_modes == 8 and cov.n_samples == 10
    assert cov.high_quality == 0.8 and cov.high_quality_percent == pytest.approx(80.0)
    assert cov.counts.tolist() == [4, 2, 2, 0, 0, 0, 0, 0]
    assert cov.nearest.tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 0, 1]
    assert cov.dominant_mode == 0
    # q = (1/2, 1/4, 1/4): H(q) = 1.5 log 2, KL = log 8 - H(q) = 1.5 log 2
    assert cov.reverse_kl == pytest.approx(math.log(8) - 1.5 * math.log(2), rel=1e-14)
    assert cov.reverse_kl == pytest.approx(1.5 * math.log(2), rel=1e-14)


def test_torch_inputs_give_the_same_coverage():
    expected = mode_coverage(ring_samples(), RING, 0.01)
    for dtype in (torch.float64, torch.float32):
        cov = mode_coverage(
            torch.tensor(ring_samples(), dtype=dtype, requires_grad=True),
            torch.tensor(RING, dtype=dtype),
            torch.tensor(0.01),
        )
        assert cov.as_dict() == expected.as_dict()
        assert cov.nearest.tolist() == expected.nearest.tolist()


def test_distance_exactly_threshold_times_std_is_high_quality():
    mode = [[0.0, 0.0]]
    # 3-4-5 triangle: the distance is exactly 5 = threshold * std in floating point
    on = mode_coverage([[3.0, 4.0]], mode, 1.0, threshold=5.0)
    off = mode_coverage([[3.0, np.nextafter(4.0, 5.0)]], mode, 1.0, threshold=5.0)
    assert (on.high_quality, on.modes_covered) == (1.0, 1)
    assert (off.high_quality, off.modes_covered) == (0.0, 0)
    # default threshold 3 with a dyadic std: 3 * 0.25 = 0.75 exactly
    cov = mode_coverage([[0.75, 0.0], [0.0, -0.75], [np.nextafter(0.75, 1.0), 0.0]], mode, 0.25)
    assert cov.counts.tolist() == [2] and cov.high_quality == pytest.approx(2 / 3)


def test_per_mode_std_uses_the_euclidean_nearest_mode_and_its_own_std():
    modes = [[0.0, 0.0], [1.0, 0.0]]
    samples = [
        [0.0, 1.4],  # nearest 0 (1.4 < sqrt(2.96)), 1.4 <= 3 * 0.5
        [0.9, 0.0],  # nearest 1 (0.1 < 0.9), 0.1 > 3 * 0.01, though within 3 * 0.5 of mode 0
        [1.0, 0.02],  # nearest 1, 0.02 <= 0.03
        [1.0, 0.04],  # nearest 1, 0.04 > 0.03
    ]
    cov = mode_coverage(samples, modes, [0.5, 0.01])
    assert cov.nearest.tolist() == [0, 1, 1, 1]
    assert cov.counts.tolist() == [1, 1] and cov.high_quality == 0.5
    assert cov.modes_covered == 2 and cov.reverse_kl == 0.0
    shared = mode_coverage(samples, modes, 0.5)
    assert shared.counts.tolist() == [1, 3] and shared.high_quality == 1.0
    # q = (1/4, 3/4): KL = log 2 + 1/4 log(1/4) + 3/4 log(3/4)
    expected = math.log(2) + 0.25 * math.log(0.25) + 0.75 * math.log(0.75)
    assert shared.reverse_kl == pytest.approx(expected, rel=1e-14)
    assert shared.dominant_mode == 1


def test_uniform_histogram_has_zero_reverse_kl_and_collapse_has_log_k():
    grid = mode_coverage(np.repeat(GRID, 2, axis=0), GRID, 0.05)
    assert grid.modes_covered == 25 and grid.high_quality == 1.0
    assert grid.counts.tolist() == [2] * 25
    assert grid.reverse_kl == 0.0
    # 2 of 50 samples per mode: share 0.04 < 1/2, not concentrated, no dominant mode
    assert grid.dominant_share == 0.04 and not grid.concentrated and grid.dominant_mode is None
    assert mode_coverage(GRID, GRID, 0.05, concentration=0.04).dominant_mode == 0  # lowest index
    collapsed = mode_coverage(np.repeat(RING[[3]], 5, axis=0), RING, 0.01)
    assert collapsed.modes_covered == 1 and collapsed.dominant_mode == 3
    assert collapsed.reverse_kl == pytest.approx(math.log(8), rel=1e-15)


def test_no_high_quality_sample_gives_infinite_reverse_kl():
    cov = mode_coverage(np.repeat(FAR, 3, axis=0), RING, 0.01)
    assert cov.modes_covered == 0 and cov.high_quality == 0.0
    assert cov.counts.tolist() == [0] * 8 and cov.nearest.tolist() == [1, 1, 1]
    # no high-quality sample, yet all three are nearest mode 1: concentrated on it
    assert cov.reverse_kl == math.inf and cov.dominant_mode == 1 and cov.dominant_share == 1.0
    assert cov.modes_robust == 0
    record = cov.as_dict()
    assert record["reverse_kl"] == math.inf and record["dominant_mode"] == 1
    assert json.loads(json.dumps(record))["counts"] == [0] * 8


def test_as_dict_holds_plain_python_values():
    record = mode_coverage(ring_samples(), RING, 0.01).as_dict()
    assert record == {
        "modes_covered": 3,
        "n_modes": 8,
        "n_samples": 10,
        "high_quality": 0.8,
        "high_quality_percent": pytest.approx(80.0),
        "reverse_kl": pytest.approx(1.5 * math.log(2)),
        # nearest: mode 0 for 4 + the sample at (3, 0); mode 1 for 2 + the far one; mode 2: 2
        "nearest_counts": [5, 3, 2, 0, 0, 0, 0, 0],
        "dominant_share": 0.5,
        "concentrated": True,
        "dominant_mode": 0,
        # 1 % of 10 samples: every mode with a high-quality sample is robust
        "modes_robust": 3,
        "counts": [4, 2, 2, 0, 0, 0, 0, 0],
    }
    lists = ("counts", "nearest_counts")
    assert all(type(v) in (int, float, bool) for k, v in record.items() if k not in lists)
    assert all(type(c) is int for k in lists for c in record[k])


def test_coverage_is_frozen_and_its_arrays_read_only():
    cov = mode_coverage(ring_samples(), RING, 0.01)
    with pytest.raises(AttributeError):
        cov.modes_covered = 8  # type: ignore[misc]
    with pytest.raises(ValueError):
        cov.counts[0] = 0


def test_summarize_mean_and_standard_error_by_hand():
    runs = [ring_run(8, 0), ring_run(7, 1), ring_run(6, 2)]
    summary = summarize(runs)
    assert summary["n_runs"] == 3 and summary["n_modes"] == 8
    # modes 8, 7, 6: mean 7, sample std 1
    assert summary["modes_covered"]["mean"] == pytest.approx(7.0)
    assert summary["modes_covered"]["se"] == pytest.approx(1 / math.sqrt(3))
    # high quality 100, 87.5, 75 %: mean 87.5, sample std 12.5
    assert summary["high_quality_percent"]["mean"] == pytest.approx(87.5)
    assert summary["high_quality_percent"]["se"] == pytest.approx(12.5 / math.sqrt(3))
    kl = [0.0, math.log(8 / 7), math.log(8 / 6)]
    mean = sum(kl) / 3
    se = math.sqrt(sum((v - mean) ** 2 for v in kl) / 2) / math.sqrt(3)
    assert summary["reverse_kl"]["mean"] == pytest.approx(mean, rel=1e-12)
    assert summary["reverse_kl"]["se"] == pytest.approx(se, rel=1e-12)
    single = summarize(runs[1:2])
    assert single["modes_covered"] == {"mean": 7.0, "se": 0.0}
    with_inf = summarize([runs[0], mode_coverage(FAR, RING, 0.01)])
    assert with_inf["reverse_kl"]["mean"] == math.inf
    assert math.isnan(with_inf["reverse_kl"]["se"])


def test_format_table():
    runs = [ring_run(8, 0), ring_run(7, 1), ring_run(6, 2)]
    table = format_table({"GAN": runs[:1], "ours": runs, "a|b": [mode_coverage(FAR, RING, 0.01)]})
    assert table.splitlines() == [
        "| configuration | modes | modes (>= 1 %) | high-quality % | reverse KL |",
        "|---|---|---|---|---|",
        "| GAN | 8.00 ± 0.00 | 8.00 ± 0.00 | 100.0 ± 0.0 | 0.000 ± 0.000 |",
        # se: 1/sqrt 3 = 0.577, 12.5/sqrt 3 = 7.22; KL mean 0.1404, se 0.0831
        "| ours | 7.00 ± 0.58 | 7.00 ± 0.58 | 87.5 ± 7.2 | 0.140 ± 0.083 |",
        "| a\\|b | 0.00 ± 0.00 | 0.00 ± 0.00 | 0.0 ± 0.0 | inf |",
    ]


def test_hopping_graph_of_a_hand_made_sequence():
    sequence = [0, 1, 2, 0, 1, 2, 0, None, 3, 3]
    graph = mode_hopping_graph(sequence)
    assert sorted(graph.nodes) == [0, 1, 2, 3]
    assert {(a, b): w for a, b, w in graph.edges(data="weight")} == {
        (0, 1): 2,
        (1, 2): 2,
        (2, 0): 2,
    }
    assert {n: graph.nodes[n]["visits"] for n in graph} == {0: 3, 1: 2, 2: 2, 3: 2}
    assert {n: graph.nodes[n]["stays"] for n in graph} == {0: 0, 1: 0, 2: 0, 3: 1}
    assert hopping_cycles(graph) == [[0, 1, 2]]
    full = mode_hopping_graph(np.array([0, 1, 0]), n_modes=5)
    assert sorted(full.nodes) == [0, 1, 2, 3, 4]
    assert full.nodes[4] == {"visits": 0, "stays": 0}
    assert mode_hopping_graph([None, None]).number_of_nodes() == 0


def test_hopping_cycles_are_rotated_and_sorted():
    # edges 3->1, 1->3, 3->0, 0->2, 2->1, 1->0
    graph = mode_hopping_graph([3, 1, 3, 0, 2, 1, 0])
    assert hopping_cycles(graph) == [[1, 3], [0, 2, 1], [0, 2, 1, 3]]
    assert hopping_cycles(mode_hopping_graph([4, 4, 4])) == []


def test_dominant_modes_of_checkpoints():
    checkpoints = [
        mode_coverage(RING[[2, 2, 5]], RING, 0.01),
        mode_coverage(RING[[0, 1, 2, 3]], RING, 0.01),  # a quarter each: not concentrated
        mode_coverage(RING[[5]], RING, 0.01),
    ]
    assert dominant_modes(checkpoints) == [2, None, 5]
    assert hopping_cycles(mode_hopping_graph(dominant_modes(checkpoints), 8)) == []


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: mode_coverage(np.zeros((5, 3)), RING, 0.01),
            ValueError,
            r"samples: expected a 2-D array \(n, d\) matching modes' d=2, got shape \(5, 3\)",
        ),
        (lambda: mode_coverage(np.zeros(2), RING, 0.01), ValueError, "samples: expected a 2-D"),
        (
            lambda: mode_coverage(np.zeros((0, 2)), RING, 0.01),
            ValueError,
            "samples: expected at least one",
        ),
        (
            lambda: mode_coverage([[np.nan, 0.0]], RING, 0.01),
            ValueError,
            "samples: expected finite",
        ),
        (lambda: mode_coverage([[1j, 0.0]], RING, 0.01), TypeError, "samples: expected real"),
        (
            lambda: mode_coverage([[0.0, 0.0]], RING[0], 0.01),
            ValueError,
            r"modes: expected a 2-D array \(K, d\)",
        ),
        (
            lambda: mode_coverage([[0.0, 0.0]], RING, [0.01] * 3),
            ValueError,
            "std: expected a positive float or an array of K=8",
        ),
        (
            lambda: mode_coverage([[0.0, 0.0]], RING, 0.0),
            ValueError,
            "std: expected positive values",
        ),
        (
            lambda: mode_coverage([[0.0, 0.0]], RING, 0.01, threshold=-1.0),
            ValueError,
            "threshold: expected a positive finite",
        ),
        (
            lambda: mode_coverage([[0.0, 0.0]], RING, 0.01, threshold="3"),
            TypeError,
            "threshold: expected a positive finite",
        ),
        (lambda: summarize([]), ValueError, "results: expected at least one"),
        (lambda: summarize([1]), TypeError, "results: expected ModeCoverage"),
        (
            lambda: summarize([ring_run(1, 0), mode_coverage([[0.0, 0.0]], GRID, 0.05)]),
            ValueError,
            "results: expected runs with one number of modes",
        ),
        (lambda: format_table([ring_run(1, 0)]), TypeError, "rows: expected a mapping"),
        (
            lambda: format_table({"x": []}),
            ValueError,
            r"rows\['x'\]: results: expected at least one",
        ),
        (lambda: dominant_modes([None]), TypeError, "coverages: expected ModeCoverage"),
        (
            lambda: mode_hopping_graph([0, 3], n_modes=3),
            ValueError,
            "dominant: expected non-negative mode indices below n_modes=3, got 3 at position 1",
        ),
        (lambda: mode_hopping_graph([-1]), ValueError, "dominant: expected non-negative"),
        (lambda: mode_hopping_graph([1.0]), TypeError, "dominant: expected mode indices"),
        (lambda: mode_hopping_graph("01"), TypeError, "dominant: expected a sequence"),
        (
            lambda: mode_hopping_graph([0], n_modes=0),
            ValueError,
            "n_modes: expected a positive int",
        ),
        (lambda: hopping_cycles(nx.Graph()), TypeError, "graph: expected a networkx.DiGraph"),
        (
            lambda: ModeHoppingGraphDisplay.from_dominant_modes([0], np.zeros((2, 3))),
            ValueError,
            r"modes: expected a 2-D array \(K, 2\)",
        ),
        (
            lambda: CoverageDisplay.from_coverages([0, 1], [ring_run(1, 0)]),
            ValueError,
            r"steps: expected a 1-D array with one step per coverage \(1\)",
        ),
        (
            lambda: CoverageDisplay.from_coverages([], []),
            ValueError,
            "coverages: expected at least one",
        ),
        (
            lambda: SamplesDisplay.from_samples(np.zeros((1, 3)), np.zeros((1, 3)), 0.1),
            ValueError,
            r"modes: expected 2-D points \(K, 2\)",
        ),
    ],
)
def test_bad_inputs_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_mode_hopping_display_on_the_ring():
    display = ModeHoppingGraphDisplay.from_dominant_modes(
        [0, 1, 2, 0, 1, 2, 0, None, 3, 3, 5], RING
    )
    assert display.on_modes and sorted(display.graph.nodes) == list(range(8))
    np.testing.assert_array_equal([display.positions[k] for k in range(8)], RING)
    assert display.cycles == [[0, 1, 2]]
    # weights 2, 2, 2, 1 (3 -> 5): widths 1 + 3 w / 2
    assert display.edge_widths == {(0, 1): 4.0, (1, 2): 4.0, (2, 0): 4.0, (3, 5): 2.5}
    assert display.plot() is display
    assert len(display.edges_) == 4 and len(display.labels_) == 8
    assert "mode position" in display.ax_.get_xlabel() and display.ax_.get_title()
    assert display.figure_ is display.ax_.figure


def test_mode_hopping_display_circular_layout():
    display = ModeHoppingGraphDisplay.from_dominant_modes([0, 2, 0])
    assert not display.on_modes and sorted(display.positions) == [0, 2]
    np.testing.assert_allclose([np.hypot(*display.positions[k]) for k in (0, 2)], [1.0, 1.0])
    assert display.cycles == [[0, 2]]
    _, ax = plt.subplots()
    assert display.plot(ax=ax).ax_ is ax and ax.get_title()
    empty = ModeHoppingGraphDisplay.from_dominant_modes([None]).plot()
    assert empty.edges_ is None and empty.positions == {}


def test_coverage_display_over_training():
    runs = [ring_run(6, 2), ring_run(7, 1), ring_run(8, 0)]
    display = CoverageDisplay.from_coverages([0, 500, 1000], runs)
    assert display.n_modes == 8
    np.testing.assert_array_equal(display.steps, [0.0, 500.0, 1000.0])
    np.testing.assert_array_equal(display.modes_covered, [6, 7, 8])
    np.testing.assert_allclose(display.high_quality_percent, [75.0, 87.5, 100.0])
    display.plot()
    np.testing.assert_array_equal(display.line_modes_.get_ydata(), [6, 7, 8])
    np.testing.assert_allclose(display.line_hq_.get_ydata(), [75.0, 87.5, 100.0])
    assert display.ax_.get_xlabel() == "training step"
    assert "modes covered" in display.ax_.get_ylabel()
    assert "%" in display.ax_hq_.get_ylabel() and display.ax_.get_title()


def test_samples_display_classifies_like_mode_coverage():
    display = SamplesDisplay.from_samples(torch.tensor(ring_samples()), RING, 0.01)
    assert display.high_quality.tolist() == [True] * 8 + [False] * 2
    np.testing.assert_allclose(display.radii, [0.03] * 8)
    assert display.coverage.modes_covered == 3 and display.coverage.high_quality == 0.8
    assert display.title == "samples: 80.0% high quality, 3/8 modes covered"
    display.plot()
    assert len(display.circles_) == 8 and display.circles_[0].radius == pytest.approx(0.03)
    assert display.high_quality_points_.get_offsets().shape == (8, 2)
    assert display.other_points_.get_offsets().shape == (2, 2)
    assert display.ax_.get_xlabel() == "x[0]" and display.ax_.get_title() == display.title
    per_mode = SamplesDisplay.from_samples(ring_samples(), RING, np.full(8, 0.1), threshold=2.0)
    np.testing.assert_allclose(per_mode.radii, [0.2] * 8)


def test_true_ring_samples_are_high_quality_at_the_chi_square_rate():
    # 2-D Gaussian: P(|x - mu| <= 3 std) = P(chi2_2 <= 9) = 1 - exp(-9/2) = 0.98889
    rng = np.random.default_rng(0)
    n = 20_000
    samples = RING[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, 2))
    cov = mode_coverage(samples, RING, 0.01)
    assert cov.modes_covered == 8
    assert cov.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.004)  # ~5 binomial se
    assert cov.reverse_kl < 0.002  # multinomial noise: about (K - 1) / (2 n HQ) = 1.8e-4


# -- robust modes, concentration, collapse statistics (issue 13) --------------------------


def test_robust_modes_count_one_percent_of_all_samples_as_high_quality():
    # 200 samples: mode 0 holds 196 high-quality, mode 1 exactly 2 (= 1 %), mode 2 one
    # (0.5 %), and one sample is 2 std off mode 3's threshold (not high quality)
    samples = np.concatenate(
        [np.repeat(RING[[0]], 196, axis=0), RING[[1, 1, 2]], RING[[3]] + [0.05, 0.0]]
    )
    cov = mode_coverage(samples, RING, 0.01)
    assert cov.counts.tolist()[:4] == [196, 2, 1, 0]
    assert cov.modes_covered == 3  # one high-quality sample covers a mode
    assert cov.modes_robust == 2  # 2 >= 0.01 * 200, 1 < 2
    assert mode_coverage(samples, RING, 0.01, robust_fraction=0.005).modes_robust == 3
    assert mode_coverage(samples, RING, 0.01, robust_fraction=0.5).modes_robust == 1


def test_concentration_rule_at_its_boundary():
    half = mode_coverage(RING[[4, 4, 1, 2]], RING, 0.01)  # 2 of 4 nearest mode 4
    assert half.dominant_share == 0.5 and half.concentrated and half.dominant_mode == 4
    below = mode_coverage(RING[[4, 4, 1, 2, 3]], RING, 0.01)  # 2 of 5
    assert below.dominant_share == pytest.approx(0.4) and not below.concentrated
    assert below.dominant_mode is None
    assert mode_coverage(RING[[4, 4, 1, 2, 3]], RING, 0.01, concentration=0.4).dominant_mode == 4
    # the dominant share counts all samples, high quality or not
    blob = mode_coverage(np.repeat(RING[[6]] * 1.1, 9, axis=0), RING, 0.01)
    assert blob.high_quality == 0.0 and blob.concentrated and blob.dominant_mode == 6


def test_from_dict_rebuilds_and_rereads_under_other_thresholds():
    cov = mode_coverage(ring_samples(), RING, 0.01)
    again = ModeCoverage.from_dict(json.loads(json.dumps(cov.as_dict())))
    assert again.as_dict() == cov.as_dict() and again.nearest.size == 0
    strict = ModeCoverage.from_dict(cov.as_dict(), concentration=0.6, robust_fraction=0.3)
    assert strict.dominant_mode is None and strict.modes_robust == 1  # only mode 0 (4 >= 3)
    with pytest.raises(ValueError, match="record: missing nearest_counts"):
        ModeCoverage.from_dict({"counts": [1], "high_quality": 1.0})
    with pytest.raises(ValueError, match="concentration: expected a fraction in"):
        ModeCoverage.from_dict(cov.as_dict(), concentration=1.5)


def test_gaussian_high_quality_rate_closed_forms_and_sampling():
    assert gaussian_high_quality_rate(2) == pytest.approx(1 - math.exp(-4.5), rel=1e-14)
    assert gaussian_high_quality_rate(1) == pytest.approx(math.erf(3 / math.sqrt(2)), rel=1e-14)
    assert gaussian_high_quality_rate(2, 1.0) == pytest.approx(1 - math.exp(-0.5), rel=1e-14)
    # the data's own rate, measured: 200,000 ring samples, binomial se 2.3e-4
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 200_000)
    data = RING[labels] + 0.01 * rng.standard_normal((200_000, 2))
    measured = mode_coverage(data, RING, 0.01).high_quality
    assert abs(measured - gaussian_high_quality_rate(2)) < 5 * 2.3e-4
    with pytest.raises(ValueError, match="dim: expected an integer >= 1"):
        gaussian_high_quality_rate(0)


def test_collapse_statistics_by_hand():
    def on(mode: int, stray: int) -> ModeCoverage:
        # 8 samples on one mode, ``stray`` one each on the next modes
        return mode_coverage(
            np.concatenate([np.repeat(RING[[mode]], 8, axis=0), RING[1 : 1 + stray]]), RING, 0.01
        )

    spread = mode_coverage(RING, RING, 0.01)  # one sample per mode
    steps = [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000]
    evals = [on(0, 0), on(3, 0), on(3, 2), spread, on(5, 0), on(3, 0)] + [on(7, 0)] * 5
    stats = collapse_statistics(steps, evals)
    # burn-in 10 % of 5000: step 0 (and 500) dropped; 9 evaluations counted
    assert stats["n_evaluations"] == 9 and stats["n_concentrated"] == 8
    assert stats["distinct_dominant_modes"] == 3  # 3, 5, 7 (0 only at step 0)
    assert stats["dominant_modes"] == [3, None, 5, 3, 7, 7, 7, 7, 7]
    # shares: 8/10 once, 1/8 once, 1.0 seven times: median 1.0
    assert stats["dominant_share_median"] == 1.0
    assert stats["concentrated_hq_median"] == 100.0
    whole = collapse_statistics(steps, evals, burn_in=0.0)
    assert whole["n_evaluations"] == 11 and whole["distinct_dominant_modes"] == 4
    none = collapse_statistics([0, 10], [spread, spread])
    assert none["n_concentrated"] == 0 and none["concentrated_hq_median"] is None
    with pytest.raises(ValueError, match="burn_in: expected a fraction in"):
        collapse_statistics([0], [spread], burn_in=1.0)
