"""benchmarks/stacked_digits.py: its metrics, its plan and its tuning (no training)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "stacked_digits.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("stacked_digits_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plan_tunes_on_seeds_100_101_and_reports_the_winner_on_0_to_4(bench):
    points = bench.plan(None, {})
    fixed = ["plain DCGAN", "unrolled K=5", "unrolled K=10", "PacGAN2", "minibatch discrimination"]
    assert [p["config"] for p in points[:25:5]] == fixed
    tuning = points[25:]
    assert len(tuning) == 2 * len(bench.single_candidates())
    assert {p["replicate"] for p in tuning} == {100, 101}
    # fabricate finished tuning runs: the candidate with the best mean score wins
    done = {}
    for i, candidate in enumerate(bench.single_candidates()):
        for seed in (100, 101):
            final = {"modes_covered": 10 * i + (seed - 100), "high_quality_percent": 50.0}
            done[(f"{bench.FAMILY}/{candidate}", seed)] = {"final": final}
    best = f"{bench.FAMILY}/{list(bench.single_candidates())[-1]}"
    assert bench.winner(done) == best
    reported = [p for p in bench.plan(None, done) if p["config"] == best]
    assert [p["replicate"] for p in reported] == [100, 101, 0, 1, 2, 3, 4]  # tuned, reported
    unrolled = bench.mapping_of("unrolled K=10")["unroll"]
    assert (unrolled["steps"], unrolled["lr"], unrolled["inner"]) == (10, 2e-4, "adam")


def test_coverage_of_one_repeated_image_is_one_mode_with_kl_log_1000(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDYN_CACHE", str(tmp_path))
    from gan_models import stacked_digits

    real = stacked_digits("held_out").sample(400, generator=3)
    record = bench.coverage(real[:1].repeat(50, 1))
    assert record["n_modes"] == 1000 and record["n_samples"] == 50
    assert record["dominant_share"] == 1.0 and record["concentrated"]
    assert record["reverse_kl_all"] == pytest.approx(math.log(1000))
    assert record["modes_covered"] == (1 if record["high_quality"] == 1.0 else 0)
    # real images: the classifier reads most labels right, so most confident labels exist
    mixed = bench.coverage(real)
    assert mixed["high_quality_percent"] > 70 and mixed["modes_covered"] > 200
    assert mixed["fid"] < bench.coverage(real[:1].repeat(400, 1))["fid"]
