"""The benchmarks anyone can rerun: every script takes --quick and --json, run_all's table
says met / MISSED / no target / FAILED from the result files, and the summary the docs
include is the one the committed result files give."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _results  # noqa: E402
import run_all  # noqa: E402


def _result(folder: Path, name: str, ratios: list[dict], *, quick: bool = True) -> Path:
    """A result file in the format of ``_results.write``, written by hand."""
    path = folder / f"{name}{'.quick' if quick else ''}.json"
    path.write_text(
        json.dumps(
            {
                "format": _results.FORMAT,
                "version": _results.VERSION,
                "benchmark": name,
                "quick": quick,
                "environment": {
                    "commit": "0123456789abcdef0123",
                    "torch": "9.9.9",
                    "threads": 2,
                    "load_average": [1.25, 1.5, 1.75],
                    "date": "2026-01-02T03:04:05+00:00",
                },
                "parameters": {},
                "ratios": ratios,
                "raw": {},
            }
        )
    )
    return path


def _ratio(name: str, value: float, target: float | None, at_least: bool = False) -> dict:
    return _results.Ratio(name, value, target, at_least).as_dict()


def test_table_says_met_missed_no_target_and_failed(tmp_path):
    ok = _result(
        tmp_path,
        "alpha",
        [
            _ratio("fast enough", 0.15, 0.2),  # upper bound, met
            _ratio("too slow", 0.56, 0.4),  # upper bound, missed
            _ratio("speed-up", 2.5, 2.0, at_least=True),  # lower bound, met
            _ratio("speed-up short", 1.5, 2.0, at_least=True),  # lower bound, missed
            _ratio("just reported", 3.0, None),
        ],
    )
    outcomes = [
        run_all.Outcome("alpha", "ok", ok),
        run_all.Outcome("beta", "failed", tmp_path / "beta.quick.json", 1.0, "exit status 1"),
        run_all.Outcome("gamma", "missing", tmp_path / "gamma.quick.json", 0.0, "no script"),
        run_all.Outcome("delta", "ok", tmp_path / "delta.quick.json"),  # file never written
    ]
    rows, runs = run_all.build_table(outcomes)
    skipped = _result(tmp_path, "epsilon", [])
    data = json.loads(skipped.read_text())
    data["raw"] = {"skipped": "CUDA is absent"}
    skipped.write_text(json.dumps(data))
    assert run_all.build_table([run_all.Outcome("epsilon", "ok", skipped)])[0] == [
        ["epsilon", "(skipped: CUDA is absent)", "-", "-", "-", "quick"]
    ]
    judged = {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}
    assert judged[("alpha", "fast enough")] == ("0.15", "<= 0.2", "met", "quick")
    assert judged[("alpha", "too slow")] == ("0.56", "<= 0.4", "MISSED", "quick")
    assert judged[("alpha", "speed-up")] == ("2.5", ">= 2", "met", "quick")
    assert judged[("alpha", "speed-up short")][2] == "MISSED"
    assert judged[("alpha", "just reported")] == ("3", "-", "(no target)", "quick")
    failed = [r for r in rows if r[4] == "FAILED"]
    assert [r[0] for r in failed] == ["beta", "gamma", "delta"]
    assert "exit status 1" in failed[0][1] and "no script" in failed[1][1]
    assert [r["benchmark"] for r in runs] == ["alpha"]

    text = run_all.text_table(rows)
    assert text.splitlines()[0].split() == run_all.HEADER
    md = run_all.markdown(rows, runs)
    assert "| alpha | too slow | 0.56 | <= 0.4 | MISSED | quick |" in md
    assert "`0123456789ab`" in md and "2026-01-02T03:04:05+00:00" in md and "1.25, 1.50, 1.75" in md
    assert "mode_coverage" in md  # the sweeps are named as not run


def test_summary_prefers_the_full_run_and_says_so_when_there_is_none(tmp_path):
    _result(tmp_path, "alpha", [_ratio("r", 1.0, 2.0)], quick=True)
    _result(tmp_path, "alpha", [_ratio("r", 3.0, 2.0)], quick=False)
    _result(tmp_path, "beta", [_ratio("s", 0.5, None)], quick=True)
    summary = run_all.write_summary(["alpha", "beta", "gamma"], tmp_path, tmp_path / "s.md")
    text = summary.read_text()
    assert "| alpha | r | 3 | <= 2 | MISSED | full |" in text  # the full run, not the quick one
    assert "| beta | s | 0.5 | - | (no target) | quick |" in text
    assert "gamma" not in text  # no file, no row
    empty = run_all.write_summary(["alpha"], tmp_path / "none", tmp_path / "e.md").read_text()
    assert "No result files yet" in empty and "|" not in empty


def _script(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_run_one_reports_failures_and_removes_stale_results(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    writes = """
        import json, sys
        path = sys.argv[sys.argv.index("--json") + 1]
        quick = "--quick" in sys.argv
        json.dump({"format": "gamedyn-benchmark", "quick": quick, "ratios": [],
                   "environment": {}}, open(path, "w"))
    """
    _script(tmp_path, "good", writes)
    _script(tmp_path, "crash", "raise SystemExit(3)\n")
    _script(tmp_path, "silent", "pass\n")
    _script(tmp_path, "slow", "import time; time.sleep(30)\n")
    stale = _result(results, "silent", [_ratio("old", 1.0, None)])  # from an earlier run

    good = run_all.run_one("good", True, 60, tmp_path, results)
    assert (good.status, good.path.name) == ("ok", "good.quick.json")
    assert json.loads(good.path.read_text())["quick"] is True
    full = run_all.run_one("good", False, 60, tmp_path, results)
    assert full.path.name == "good.json" and json.loads(full.path.read_text())["quick"] is False
    crash = run_all.run_one("crash", True, 60, tmp_path, results)
    assert (crash.status, crash.detail) == ("failed", "exit status 3")
    silent = run_all.run_one("silent", True, 60, tmp_path, results)
    assert (silent.status, silent.detail) == ("failed", "no result file written")
    assert not stale.exists()  # an old file cannot pass for this run's
    slow = run_all.run_one("slow", True, 0.5, tmp_path, results)
    assert slow.status == "timeout"
    missing = run_all.run_one("nowhere", True, 60, tmp_path, results)
    assert missing.status == "missing"


def test_cli_ratios_by_hand():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cli_benchmark", BENCHMARKS / "cli.py")
    assert spec is not None and spec.loader is not None
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    timings = {"import_numpy": {"median_s": 0.125}, "gamedyn_help": {"median_s": 0.25}}
    (help_ratio,) = cli.ratios_of(timings)  # --quick times no rules and no torch
    assert help_ratio.as_dict() == _ratio("gamedyn --help / python -c 'import numpy'", 2.0, 3.0) | {
        "detail": "0.250 s / 0.125 s"
    }
    timings |= {"gamedyn_rules": {"median_s": 0.375}, "import_torch": {"median_s": 1.5}}
    rows = [(r.name, r.value, r.target, r.detail) for r in cli.ratios_of(timings)]
    assert rows[1:] == [
        ("gamedyn rules / python -c 'import numpy'", 3.0, None, "0.375 s"),
        ("python -c 'import torch' / python -c 'import numpy'", 12.0, None, "1.500 s"),
    ]
    assert cli.ratios_of({**timings, "gamedyn_help": {"median_s": 0.5}})[0].met is False  # 4 > 3


def test_discovery_runs_every_script_but_the_sweeps_and_the_tuning():
    names = run_all.discover()
    assert {"jacobian", "phase_portrait", "training", "scale"} <= set(names)
    assert not {"mode_coverage", "stacked_digits", "temperature_tuning", "run_all"} & set(names)
    assert not [n for n in names if n.startswith("_")]


SCRIPTS = [n for n in run_all.discover() if (BENCHMARKS / f"{n}.py").is_file()]


@pytest.fixture(scope="module")
def help_texts() -> dict[str, tuple[int, str]]:
    """``--help`` of every benchmark script, the processes started side by side."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(BENCHMARKS / f"{name}.py"), "--help"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in [*SCRIPTS, "run_all", "temperature_tuning"]
    }
    return {name: (p.wait(timeout=600), p.communicate()[0]) for name, p in processes.items()}


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_benchmark_takes_quick_and_json(name, help_texts):
    status, text = help_texts[name]
    assert status == 0, text
    assert re.search(r"^\s*--quick\b", text, re.MULTILINE), text
    assert re.search(r"^\s*--json PATH\b", text, re.MULTILINE), text


def test_run_all_and_the_tuning_script_only_explain_themselves_with_help(help_texts):
    status, text = help_texts["run_all"]
    assert status == 0 and "--table-only" in text and "--full" in text
    status, text = help_texts["temperature_tuning"]
    assert status == 0 and "tuning" in text and "winner" not in text  # nothing was trained


def test_docs_include_the_summary_of_the_committed_result_files(tmp_path):
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    included = re.findall(r"^```\{include\}\s+(\S+)", page, re.MULTILINE)
    assert [(ROOT / "docs" / p).resolve() for p in included] == [run_all.SUMMARY]
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "benchmarks/results"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert "benchmarks/results/summary.md" in tracked
    for path in tracked:
        if path.endswith(".json"):
            shutil.copy(ROOT / path, tmp_path)
    expected = run_all.write_summary(run_all.discover(), tmp_path, tmp_path / "summary.md")
    assert run_all.SUMMARY.read_text() == expected.read_text(), (
        "benchmarks/results/summary.md is not the table of the committed result files: "
        "run python benchmarks/run_all.py --table-only and commit both"
    )


def test_interleaved_timing_calls_the_functions_round_robin():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    out = _results.interleaved_median_times(fns, repeats=20, warmup=2)
    assert calls == ["a", "b", "c"] * 22  # 2 warm-up rounds, then 20 timed rounds
    assert set(out) == {"a", "b", "c"}
    for record in out.values():
        assert record["repeats"] == len(record["times_s"]) == 20
        assert record["min_s"] <= record["median_s"] <= record["max_s"]
    with pytest.raises(ValueError, match="repeats must be at least 20"):
        _results.interleaved_median_times(fns, repeats=5)


def test_interleaved_timing_in_blocks_times_consecutive_calls():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b")}
    out = _results.interleaved_median_times(fns, repeats=20, warmup=1, block=3)
    assert calls == ["a", "b"] + (["a"] * 3 + ["b"] * 3) * 20
    assert out["a"]["block"] == 3 and len(out["a"]["times_s"]) == 20
