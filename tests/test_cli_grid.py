"""``gamedyn stability --grid A --grid B``: the summary (stable fraction, largest stable
step per row, smallest rho) and the full grid in ``--csv PATH`` / ``--json PATH``, checked
against the closed-form spectral radius of simultaneous GD on a 2 x 2 zero-sum game."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from analyses.cli import main

P, Q, R = 1.0, 2.0, 0.5  # zero_sum:p=1,q=2,r=0.5: J = [[p, q], [-q, r]]
LR = np.linspace(0.01, 2.0, 50)
RATIO = np.geomspace(0.1, 10.0, 30)
TOL = 1e-9


def _closed_form(lr: float, ratio: float) -> float:
    """rho of I - lr diag(1, ratio) J: the roots of z^2 - T z + D, T and D in closed form."""
    trace = 2 - lr * P - lr * ratio * R
    det = (1 - lr * P) * (1 - lr * ratio * R) + lr**2 * ratio * Q**2
    root = np.sqrt(complex(trace**2 - 4 * det))
    return max(abs((trace + root) / 2), abs((trace - root) / 2))


EXPECTED = np.array([[_closed_form(a, b) for b in RATIO] for a in LR])
STABLE = EXPECTED < 1 - TOL


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    argv = [
        "stability",
        f"zero_sum:p={P:g},q={Q:g},r={R:g}",
        "--grid",
        "lr=0.01:2:50",
        "--grid",
        "ratio=0.1:10:30:log",
        "--csv",
        str(folder / "grid.csv"),
        "--json",
        str(folder / "grid.json"),
    ]
    return folder, argv


def test_the_files_hold_the_full_grid(grid_run, capsys) -> None:
    folder, argv = grid_run
    assert main(argv) == 0
    capsys.readouterr()
    with open(folder / "grid.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["lr", "ratio", "spectral_radius", "stable"]
    assert len(rows) == 1 + LR.size * RATIO.size
    for row in rows[1:]:
        lr, ratio, rho = float(row[0]), float(row[1]), float(row[2])
        assert rho == pytest.approx(_closed_form(lr, ratio), rel=1e-10)
        assert row[3] == ("true" if rho < 1 - TOL else "false")
    result = json.loads((folder / "grid.json").read_text())
    np.testing.assert_allclose(result["grid"]["spectral_radius"], EXPECTED, rtol=1e-10)
    summary = result["grid"]["summary"]
    assert summary["stable_points"] == int(STABLE.sum()) > 0
    assert summary["stable_fraction"] == pytest.approx(STABLE.mean())
    assert (summary["step_axis"], summary["row_axis"]) == ("lr", "ratio")
    for j, entry in enumerate(summary["largest_stable"]):
        assert entry["ratio"] == pytest.approx(RATIO[j])
        stable_lr = LR[STABLE[:, j]]
        if stable_lr.size:
            assert entry["lr"] == pytest.approx(stable_lr.max())
            assert entry["spectral_radius"] == pytest.approx(
                _closed_form(stable_lr.max(), RATIO[j])
            )
        else:
            assert entry["lr"] is None


def test_the_terminal_gets_a_summary(grid_run, capsys) -> None:
    _, argv = grid_run
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) < 45  # not 1,500 rows
    stable = int(STABLE.sum())
    assert f"stable      at {stable} of 1500 grid points ({100 * stable / 1500:.1f}%)" in out
    assert "grid        50 x 30 = 1500 points (lr x ratio)" in out
    # rows of the table: ratio, largest stable lr, rho there (24 of the 30 ratios)
    table = [
        line.split()
        for line in lines
        if re.fullmatch(r"\s+[\d.e+-]+\s+([\d.e+-]+|-)\s+([\d.]+|-)", line)
    ]
    assert len(table) == 24
    for ratio, largest, _ in table:
        j = int(np.argmin(abs(RATIO - float(ratio))))
        stable_lr = LR[STABLE[:, j]]
        assert (largest == "-") == (stable_lr.size == 0)
        if stable_lr.size:
            assert float(largest) == pytest.approx(stable_lr.max(), rel=1e-5)
    i, j = np.unravel_index(np.argmin(EXPECTED), EXPECTED.shape)
    best = re.search(r"best        lr = (\S+), ratio = (\S+): rho = (\S+)", out)
    assert best is not None
    assert float(best[1]) == pytest.approx(LR[i], rel=1e-5)
    assert float(best[2]) == pytest.approx(RATIO[j], rel=1e-5)
    assert float(best[3]) == pytest.approx(EXPECTED[i, j], abs=1e-6)
    assert "full grid   --csv" in out or "--json" in out


def test_json_on_stdout_still_works(capsys) -> None:
    argv = ["stability", "xy", "--grid", "lr=0.1,0.2", "--grid", "ratio=1,2", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    # x·y: rho of I - lr diag(1, r) J is sqrt(1 + lr^2 r): nothing is stable
    expected = [[np.sqrt(1 + lr**2 * r) for r in (1, 2)] for lr in (0.1, 0.2)]
    np.testing.assert_allclose(result["grid"]["spectral_radius"], expected, rtol=1e-12)
    assert result["grid"]["summary"]["stable_points"] == 0
    assert all(e["lr"] is None for e in result["grid"]["summary"]["largest_stable"])


def test_a_map_without_lr_uses_its_first_axis(capsys) -> None:
    argv = [
        "stability",
        "xy",
        "--rule",
        "momentum",
        "--lr",
        "0.3",
        "--grid",
        "beta=-0.6,-0.3,0",
        "--grid",
        "ratio=0.5,1",
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)["grid"]["summary"]
    assert (summary["step_axis"], summary["row_axis"]) == ("beta", "ratio")
    assert [e["ratio"] for e in summary["largest_stable"]] == [0.5, 1.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stability", "xy", "--csv", "x.csv"], "--csv: needs --grid"),
        (
            ["stability", "xy", "--grid", "lr=0.1,0.2", "--csv", "/nonexistent/dir/x.csv"],
            "--csv: cannot write",
        ),
        (
            ["stability", "xy", "--grid", "lr=0.1,0.2", "--json", "/nonexistent/dir/x.json"],
            "--json: cannot write",
        ),
    ],
)
def test_bad_files_are_one_line_errors(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gamedyn: error: {message}") and err.count("\n") == 1
