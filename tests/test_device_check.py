"""benchmarks/device_check.py: exits 0 without CUDA, and its CPU half runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_without_cuda_it_says_so_and_exits_0(tmp_path, capsys):
    result = tmp_path / "device_check.json"
    assert load_script().main(["--json", str(result)]) == 0
    assert capsys.readouterr().out.startswith("device_check: CUDA is absent")
    data = json.loads(result.read_text())  # run_all reports it as skipped, not failed
    assert data["ratios"] == [] and data["raw"] == {"skipped": "CUDA is absent"}


def test_the_cpu_half_runs_and_writes_raw_results(tmp_path, capsys):
    result = tmp_path / "device_check.json"
    threads = torch.get_num_threads()
    try:
        code = load_script().main(
            ["--cpu-only", "--quick", "--steps", "5", "--threads", "1", "--json", str(result)]
        )
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    raw = json.loads(result.read_text())["raw"]
    assert raw["devices"] == ["cpu"] and raw["training"]["cpu"]["steps"] == 5
    # digits_dcgan: G 100 -> 128*4, BN, convT 128->64, BN, convT 64->1; D conv 1->64,
    # conv 64->128, linear 512 -> 1
    g = (100 * 512 + 512) + 256 + (128 * 64 * 16 + 64) + 128 + (64 * 16 + 1)
    d = (64 * 16 + 64) + (64 * 128 * 16 + 128) + (512 + 1)
    assert raw["agreement"]["parameters"] == g + d
    # --quick: the stacked-digits DCGAN of width 16 (the full run: 128, 1,166,596)
    g = (100 * 128 + 128) + 64 + (32 * 16 * 16 + 16) + 32 + (16 * 3 * 16 + 3)
    d = (3 * 16 * 16 + 16) + (16 * 32 * 16 + 32) + (128 + 1)
    assert raw["spectra"]["parameters"] == g + d
    assert "steps/s" in capsys.readouterr().out
