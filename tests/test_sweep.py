"""analyses.sweep: the same rows serially, on a process pool and on a Dask cluster;
resuming after an interruption or a kill computes only the missing points."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from analyses import stability_region
from analyses.sweep import SweepResult, derive_seed, sweep
from games import DiracGAN

GRID = {"loc": [0.0, 1.0], "scale": [1.0, 2.0]}
SEEDS = 3
N_POINTS = 4 * SEEDS
CALL_LOG = "GAMEDYN_TEST_SWEEP_CALLS"


def noisy_mean(loc: float, scale: float, seed: int) -> dict[str, float]:
    """Uses its seed; logs each call to the file named by $GAMEDYN_TEST_SWEEP_CALLS, if set
    (so calls made in worker processes can be counted)."""
    log = os.environ.get(CALL_LOG)
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps([loc, scale, seed]) + "\n")
    draws = np.random.default_rng(seed).normal(loc, scale, size=50)
    return {"mean": float(draws.mean()), "first": float(draws[0]), "stats": {"max": draws.max()}}


INTERRUPT = {"after": None, "calls": 0}


def interruptible(loc: float, scale: float, seed: int) -> dict[str, float]:
    """noisy_mean that raises KeyboardInterrupt at call number INTERRUPT['after'] + 1."""
    INTERRUPT["calls"] += 1
    if INTERRUPT["after"] is not None and INTERRUPT["calls"] > INTERRUPT["after"]:
        raise KeyboardInterrupt
    return noisy_mean(loc, scale, seed)


FAIL = {"on": 2.0}


def fails_on(x: float, seed: int) -> float:
    if x == FAIL["on"]:
        raise ValueError(f"no good at x={x}")
    return 10 * x


def _same(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _calls(log: Path) -> list[list[float]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def call_log(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv(CALL_LOG, str(log))
    return log


@pytest.fixture(scope="module")
def serial_rows():
    return _same(sweep(noisy_mean, GRID, seeds=SEEDS).rows)


# ------------------------------------------------------------------ rows and seeds


def test_rows_are_tidy_in_grid_order_with_derived_seeds(tmp_path):
    result = sweep(noisy_mean, GRID, seeds=SEEDS, results=tmp_path / "r.jsonl")
    assert isinstance(result, SweepResult) and len(result) == N_POINTS
    assert result.parameters == ("loc", "scale") and result.computed == N_POINTS
    assert [(r["loc"], r["scale"], r["seed"]) for r in result.rows[:4]] == [
        (0.0, 1.0, 0),
        (0.0, 1.0, 1),
        (0.0, 1.0, 2),
        (0.0, 2.0, 0),
    ]
    for row in result.rows:
        params = {"loc": row["loc"], "scale": row["scale"]}
        assert row["derived_seed"] == derive_seed(params, row["seed"])
        expected = noisy_mean(**params, seed=row["derived_seed"])
        assert row["mean"] == expected["mean"] and row["stats.max"] == expected["stats"]["max"]
        assert row["status"] == "ok" and row["seconds"] >= 0
    assert len({r["derived_seed"] for r in result.rows}) == N_POINTS
    assert result.columns[:6] == ["loc", "scale", "seed", "derived_seed", "status", "seconds"]
    assert result.to_records()[0].keys() == set(result.columns)


def test_derived_seed_is_the_documented_formula():
    # recomputed here from the module's notes, and pinned: a change breaks every resume
    point = {"lr": 0.1, "gamma": [1, 2]}
    identity = json.dumps({"params": point, "seed": 3}, sort_keys=True, separators=(",", ":"))
    words = np.frombuffer(hashlib.sha256(identity.encode()).digest(), dtype="<u4").tolist()
    hi, lo = np.random.SeedSequence([5, *words]).generate_state(2, np.uint32)
    assert derive_seed(point, 3, base_seed=5) == ((int(hi) << 32) | int(lo)) >> 1
    assert derive_seed({"lr": 0.1}, 0) == 8086386316364800158
    assert derive_seed({}, 0, base_seed=7) == 6137796259541474088
    # the key order of a point does not matter; its values' types do
    assert derive_seed({"a": 1, "b": 2}) == derive_seed({"b": 2, "a": 1})
    assert derive_seed({"a": 1}) != derive_seed({"a": 1.0})


def test_seed_does_not_depend_on_the_rest_of_the_grid():
    small = sweep(noisy_mean, {"loc": [1.0], "scale": [2.0]}, seeds=[2])
    assert _same(small.rows)[0] == _same(sweep(noisy_mean, GRID, seeds=SEEDS).rows)[11]


def test_explicit_points_scalar_results_and_common_seeds():
    result = sweep(fails_on, [{"x": 1.0}, {"x": 3.0}], seeds=[7])
    assert [r["value"] for r in result.rows] == [10.0, 30.0]
    other = sweep(lambda x, seed: seed, [{"x": 1.0}], seeds=[7])
    assert other.rows[0]["value"] == result.rows[0]["derived_seed"]


# ------------------------------------------------------------------ executors


def test_process_pool_gives_the_serial_rows(serial_rows):
    with cf.ProcessPoolExecutor(2) as pool:
        result = sweep(noisy_mean, GRID, seeds=SEEDS, executor=pool)
    assert _same(result.rows) == serial_rows


def test_a_lambda_on_a_process_pool_is_refused_naming_function():
    with cf.ProcessPoolExecutor(1) as pool:
        with pytest.raises(TypeError, match=r"^function: expected a picklable callable"):
            sweep(lambda x, seed: x, {"x": [1]}, executor=pool)


def test_thread_pool_needs_no_pickling(serial_rows):
    with cf.ThreadPoolExecutor(2) as pool:
        result = sweep(noisy_mean, GRID, seeds=SEEDS, executor=pool)
    assert _same(result.rows) == serial_rows


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client.get_executor()


@pytest.mark.slow  # a LocalCluster of two worker processes
def test_dask_local_cluster_gives_the_serial_rows(dask_executor, serial_rows, tmp_path):
    result = sweep(
        noisy_mean, GRID, seeds=SEEDS, executor=dask_executor, results=tmp_path / "r.jsonl"
    )
    assert _same(result.rows) == serial_rows
    assert len(_lines(tmp_path / "r.jsonl")) == 1 + N_POINTS
    # dask ships functions with cloudpickle: a lambda is fine there
    squares = sweep(lambda x, seed: x * x, {"x": [1, 2, 3]}, executor=dask_executor)
    assert [r["value"] for r in squares.rows] == [1, 4, 9]


# ------------------------------------------------------------------ resuming


def test_keyboard_interrupt_keeps_finished_points_and_resume_computes_the_rest(
    tmp_path, serial_rows
):
    path = tmp_path / "r.jsonl"
    INTERRUPT.update(after=5, calls=0)
    with pytest.raises(KeyboardInterrupt):
        sweep(interruptible, GRID, seeds=SEEDS, results=path)
    assert len(_lines(path)) == 1 + 5
    INTERRUPT.update(after=None, calls=0)
    result = sweep(interruptible, GRID, seeds=SEEDS, results=path)
    assert INTERRUPT["calls"] == N_POINTS - 5
    assert (result.computed, result.loaded) == (N_POINTS - 5, 5)
    assert _same(result.rows) == serial_rows
    INTERRUPT.update(calls=0)
    assert sweep(interruptible, GRID, seeds=SEEDS, results=path).computed == 0
    assert INTERRUPT["calls"] == 0


def test_interrupt_on_a_process_pool_keeps_the_file_consistent(tmp_path, call_log, serial_rows):
    path = tmp_path / "r.jsonl"

    def stop_after_three(done: int, total: int, row: dict) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with cf.ProcessPoolExecutor(2) as pool:
        with pytest.raises(KeyboardInterrupt):
            sweep(
                noisy_mean,
                GRID,
                seeds=SEEDS,
                results=path,
                executor=pool,
                progress=stop_after_three,
            )
    assert len(_lines(path)) == 1 + 3
    call_log.unlink()
    with cf.ProcessPoolExecutor(2) as pool:
        result = sweep(noisy_mean, GRID, seeds=SEEDS, results=path, executor=pool)
    assert len(_calls(call_log)) == result.computed == N_POINTS - 3
    assert _same(result.rows) == serial_rows


def test_a_kill_mid_line_is_repaired_and_only_missing_points_are_computed(
    tmp_path, call_log, serial_rows
):
    path = tmp_path / "r.jsonl"
    sweep(noisy_mean, GRID, seeds=SEEDS, results=path)
    lines = path.read_text().splitlines(keepends=True)
    kept = 4
    path.write_text("".join(lines[: 1 + kept]) + lines[1 + kept][: len(lines[1 + kept]) // 2])
    call_log.unlink()
    with cf.ProcessPoolExecutor(2) as pool:  # another executor resumes: same seeds
        result = sweep(noisy_mean, GRID, seeds=SEEDS, results=path, executor=pool)
    calls = _calls(call_log)
    assert len(calls) == result.computed == N_POINTS - kept
    finished_first = {
        (r["params"]["loc"], r["params"]["scale"], r["derived_seed"])
        for r in _lines(path)[1 : 1 + kept]
    }
    assert not finished_first & {tuple(c) for c in calls}
    assert _same(result.rows) == serial_rows
    records = _lines(path)  # every line parses again
    assert records[0]["format"] == "gamedyn.sweep" and len(records) == 1 + N_POINTS


def test_a_file_cut_inside_its_header_starts_anew(tmp_path, serial_rows):
    path = tmp_path / "r.jsonl"
    path.write_text('{"format": "gamedyn.sw')
    assert _same(sweep(noisy_mean, GRID, seeds=SEEDS, results=path).rows) == serial_rows


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep(noisy_mean, GRID, seeds=SEEDS, results=path)
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = "{not json\n"
    path.write_text("".join(lines))
    with pytest.raises(ValueError, match=r"^results: line 4 of .* is not valid JSON"):
        sweep(noisy_mean, GRID, seeds=SEEDS, results=path)


def test_extending_the_grid_computes_only_the_new_points(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep(noisy_mean, GRID, seeds=SEEDS, results=path)
    bigger = sweep(noisy_mean, {**GRID, "loc": [0.0, 1.0, 5.0]}, seeds=SEEDS + 1, results=path)
    assert bigger.computed == 3 * 2 * 4 - N_POINTS


@pytest.mark.parametrize("how", ["replaced by an older copy", "deleted"])
def test_a_results_file_replaced_mid_sweep_loses_nothing(tmp_path, how):
    # git checkout / git stash / an editor replace the file (a new inode): the sweep must
    # not keep appending to the deleted one (its points would be lost)
    path = tmp_path / "r.jsonl"
    calls = []

    def replacing(x: float, seed: int) -> float:
        calls.append(x)
        if len(calls) == 3:
            snapshot = path.read_bytes()
            path.unlink()
            if how != "deleted":  # an older copy: header + the first point only
                lines = snapshot.splitlines(keepends=True)
                tmp = tmp_path / "old"
                tmp.write_bytes(b"".join(lines[:2]))
                os.replace(tmp, path)
        return 10.0 * x

    result = sweep(replacing, {"x": [0.0, 1.0, 2.0, 3.0, 4.0]}, seeds=1, results=path)
    assert result.computed == 5
    lines = _lines(path)
    assert lines[0]["format"] == "gamedyn.sweep"
    by_x = {r["params"]["x"]: r["result"] for r in lines[1:]}
    assert sorted(by_x) == [0.0, 1.0, 2.0, 3.0, 4.0] and len(lines) == 6  # no duplicates
    assert all(r["result"]["value"] == 10.0 * r["params"]["x"] for r in lines[1:])
    # a resume computes nothing
    assert sweep(replacing, {"x": [0.0, 1.0, 2.0, 3.0, 4.0]}, seeds=1, results=path).computed == 0


# ------------------------------------------------------------------ errors


def test_a_point_that_raises_is_recorded_and_not_retried_unless_asked(tmp_path):
    path = tmp_path / "r.jsonl"
    FAIL["on"] = 2.0
    result = sweep(fails_on, {"x": [1.0, 2.0, 3.0]}, results=path)
    assert [r["status"] for r in result.rows] == ["ok", "error", "ok"]
    (error,) = result.errors
    assert error["error_type"] == "ValueError" and error["error_message"] == "no good at x=2.0"
    assert "fails_on" in error["error_traceback"] and "ValueError" in error["error_traceback"]
    assert result.summarize(by=[], metrics="value") == [
        {"n": 2, "errors": 1, "value": {"mean": 20.0, "se": 10.0, "n": 2}}
    ]
    FAIL["on"] = None
    again = sweep(fails_on, {"x": [1.0, 2.0, 3.0]}, results=path)
    assert again.computed == 0 and len(again.errors) == 1
    retried = sweep(fails_on, {"x": [1.0, 2.0, 3.0]}, results=path, retry_errors=True)
    assert retried.computed == 1 and retried.errors == []
    assert [r["value"] for r in retried.rows] == [10.0, 20.0, 30.0]
    assert sweep(fails_on, {"x": [1.0, 2.0, 3.0]}, results=path).errors == []  # last line wins


def test_a_result_that_is_not_json_is_an_error_of_that_point():
    result = sweep(lambda x, seed: {"z": object()} if x else {"z": 1}, {"x": [0, 1]})
    assert [r["status"] for r in result.rows] == ["ok", "error"]
    assert "not JSON-serialisable" in result.errors[0]["error_message"]


def test_a_file_of_another_function_or_base_seed_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep(noisy_mean, GRID, results=path)
    recorded = f"{noisy_mean.__module__}.noisy_mean"
    with pytest.raises(ValueError, match=rf"^results: .* holds results of function '{recorded}'"):
        sweep(interruptible, GRID, results=path)
    with pytest.raises(ValueError, match="base_seed"):
        sweep(noisy_mean, GRID, results=path, base_seed=1)
    renamed = sweep(interruptible, GRID, results=path, name=recorded)
    assert renamed.computed == 0
    fresh = sweep(noisy_mean, GRID, results=path, base_seed=1, overwrite=True)
    assert fresh.computed == 4 and len(_lines(path)) == 1 + 4


def test_a_foreign_jsonl_file_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"dataset": "ring", "seed": 0}\n')
    with pytest.raises(ValueError, match="not a sweep results file"):
        sweep(noisy_mean, GRID, results=path)


def test_a_second_sweep_on_a_file_in_use_fails_at_once(tmp_path):
    path = tmp_path / "r.jsonl"

    def nested(x, seed):
        return sweep(noisy_mean, GRID, results=path).computed

    outer = tmp_path / "outer.jsonl"
    result = sweep(nested, {"x": [0]}, results=outer)
    assert result.rows[0]["value"] == 4  # a different file: fine
    result = sweep(nested, {"x": [0]}, results=path, name="nested", overwrite=True)
    assert result.errors[0]["error_type"] == "RuntimeError"
    assert "being written by another sweep" in result.errors[0]["error_message"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"function": 3}, TypeError, r"^function: expected a callable"),
        ({"grid": {}}, ValueError, r"^grid: expected at least one parameter"),
        ({"grid": []}, ValueError, r"^grid: expected at least one point"),
        ({"grid": {"x": 1}}, TypeError, r"^grid\['x'\]: expected a list of values"),
        ({"grid": {"x": "abc"}}, TypeError, r"^grid\['x'\]: expected a list of values"),
        ({"grid": {"x": []}}, ValueError, r"^grid\['x'\]: expected at least one value"),
        ({"grid": 5}, TypeError, r"^grid: expected a mapping"),
        ({"grid": [{"x": 1}, 2]}, TypeError, r"^grid\[1\]: expected a mapping"),
        ({"grid": [{"x": 1}, {"x": 1}]}, ValueError, r"^grid: the point \{'x': 1\} appears more"),
        ({"grid": {"seed": [1]}}, ValueError, r"^grid: the parameter name 'seed' is reserved"),
        ({"grid": {"x": [object()]}}, TypeError, r"^grid: parameter values must be JSON"),
        ({"seeds": 0}, ValueError, r"^seeds: expected a count >= 1"),
        ({"seeds": []}, ValueError, r"^seeds: expected at least one seed"),
        ({"seeds": [1, 1]}, ValueError, r"^seeds: expected distinct seeds"),
        ({"seeds": [1.5]}, TypeError, r"^seeds: expected an int"),
        ({"seeds": "3"}, TypeError, r"^seeds: expected a count"),
        ({"base_seed": -1}, ValueError, r"^base_seed: expected an int >= 0"),
        ({"results": 3}, TypeError, r"^results: expected a file path"),
        ({"executor": "pool"}, TypeError, r"^executor: expected None or an object"),
        ({"retry_errors": 1}, TypeError, r"^retry_errors: expected a bool"),
        ({"progress": 1}, TypeError, r"^progress: expected a callable"),
        ({"name": ""}, TypeError, r"^name: expected a non-empty str"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    arguments = {"function": noisy_mean, "grid": GRID, **kwargs}
    with pytest.raises(error, match=match):
        sweep(arguments.pop("function"), arguments.pop("grid"), **arguments)


def test_a_directory_as_results_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^results: expected a file path, got the directory"):
        sweep(noisy_mean, GRID, results=tmp_path)


# ------------------------------------------------------------------ the table


def test_summarize_is_mean_and_standard_error_over_seeds(serial_rows):
    result = sweep(noisy_mean, GRID, seeds=SEEDS)
    summary = result.summarize()
    assert [(g["loc"], g["scale"], g["n"], g["errors"]) for g in summary] == [
        (0.0, 1.0, 3, 0),
        (0.0, 2.0, 3, 0),
        (1.0, 1.0, 3, 0),
        (1.0, 2.0, 3, 0),
    ]
    assert set(summary[0]) == {"loc", "scale", "n", "errors", "mean", "first", "stats.max"}
    means = np.array([r["mean"] for r in serial_rows[3:6]])
    assert summary[1]["mean"]["mean"] == pytest.approx(means.mean())
    assert summary[1]["mean"]["se"] == pytest.approx(means.std(ddof=1) / math.sqrt(3))
    by_scale = result.summarize(by="scale", metrics=["first"])
    assert [g["n"] for g in by_scale] == [6, 6] and set(by_scale[0]) == {
        "scale",
        "n",
        "errors",
        "first",
    }
    table = result.table(by="loc", metrics="mean", digits=2).splitlines()
    assert table[:2] == ["| loc | n | mean |", "|---|---|---|"]
    assert table[2].startswith("| 0.0 | 6 | ") and " ± " in table[2]
    with pytest.raises(ValueError, match=r"^by: unknown columns \['nope'\]"):
        result.summarize(by="nope")
    with pytest.raises(TypeError, match=r"^metrics: column 'status' holds a non-numeric"):
        result.summarize(metrics="status")


def test_to_pandas_is_optional():
    result = sweep(fails_on, {"x": [1.0, 2.0]})
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"^to_pandas: needs pandas"):
            result.to_pandas()
    else:
        frame = result.to_pandas()
        assert list(frame.columns) == result.columns and len(frame) == 2


def test_progress_is_called_after_each_computed_point(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep(noisy_mean, {"loc": [0.0], "scale": [1.0]}, seeds=2, results=path)
    seen = []
    sweep(
        noisy_mean,
        GRID,
        seeds=2,
        results=path,
        progress=lambda d, t, row: seen.append((d, t, row["status"])),
    )
    assert seen == [(d, 8, "ok") for d in range(3, 9)]


# ------------------------------------------------------------------ a study through the sweep


def dirac_r1_radius(gamma: float, lr: float, seed: int) -> dict[str, float]:
    """Spectral radius of simultaneous GD at the R1 Dirac-GAN's equilibrium."""
    game = DiracGAN("standard", "r1", gamma=gamma)
    region = stability_region(game, game.equilibrium(), "gd", lr=[lr], ratio=[1.0])
    return {
        "spectral_radius": float(region.spectral_radius[0, 0]),
        "stable": bool(region.stable[0, 0]),
    }


def test_the_stability_region_study_through_the_sweep(tmp_path):
    gammas, lrs = [0.1, 1.0, 3.0], [0.1, 0.5, 1.0, 2.0, 5.0]
    result = sweep(dirac_r1_radius, {"gamma": gammas, "lr": lrs}, results=tmp_path / "r.jsonl")
    swept = np.array([r["spectral_radius"] for r in result.rows]).reshape(len(gammas), len(lrs))
    for i, gamma in enumerate(gammas):
        game = DiracGAN("standard", "r1", gamma=gamma)
        direct = stability_region(game, game.equilibrium(), "gd", lr=lrs, ratio=[1.0])
        np.testing.assert_allclose(swept[i], direct.spectral_radius[:, 0], rtol=1e-12)
    # and the closed form: J = [[0, 1/2], [-1/2, gamma]] (Mescheder et al. 2018)
    for row in result.rows:
        mu = np.linalg.eigvals(np.array([[0.0, 0.5], [-0.5, row["gamma"]]]))
        assert row["spectral_radius"] == pytest.approx(np.abs(1 - row["lr"] * mu).max(), rel=1e-9)
    # |1 - lr mu| < 1 for both eigenvalues mu: lr < 0.4 (gamma 0.1, mu = 0.05 ± 0.497i),
    # lr < 4 (gamma 1, mu = 1/2 twice), lr < 2 / 2.914 (gamma 3, mu = 1.5 ± sqrt(2))
    summary = result.summarize(by="gamma", metrics="stable")
    assert {g["gamma"]: g["stable"]["mean"] for g in summary} == {0.1: 0.2, 1.0: 0.8, 3.0: 0.4}
