"""The report folder: files, the numbers in summary.json against closed forms, the CLI."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from analyses import cli
from analyses.report import STUDIES, generate_report, r1_gd_step_bound

ANALYTIC = ["xy", "dirac", "ttur", "unroll", "function_space"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    lines: list[str] = []
    summary = generate_report(out, quick=True, studies=ANALYTIC, progress=lines.append)
    return out, summary, lines


def test_folder_has_index_figures_and_summary(report):
    out, summary, lines = report
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    # strict JSON: no NaN/Infinity literals
    json.loads((out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    page = (out / "index.html").read_text()
    for key in ANALYTIC:
        assert f'id="{key}"' in page
        assert summary["figures"][key], key
        for name in summary["figures"][key]:
            path = out / "figures" / f"{name}.png"
            assert path.is_file() and path.stat().st_size > 1000, path
            assert not (out / "figures" / f"{name}.svg").exists()  # quick mode: PNG only
            assert f'<a href="figures/{name}.png"><img src="figures/{name}.png"' in page
    assert set(summary["studies"]) == set(ANALYTIC)
    assert summary["quick"] is True and summary["seed"] == 0
    # progress: one line when a study starts and one when it ends, plus the final line
    assert len(lines) == 2 * len(ANALYTIC) + 1
    assert re.match(r"\[1/5\] The x·y game", lines[0])


def test_xy_numbers_match_closed_forms(report):
    xy = report[1]["studies"]["xy"]
    eta = xy["lr"]
    rho = xy["spectral_radius"]
    assert rho["simultaneous GD"] == pytest.approx(math.sqrt(1 + eta**2), rel=1e-12)
    assert rho["alternating GD"] == pytest.approx(1.0, rel=1e-12)
    assert rho["extragradient"] == pytest.approx(math.sqrt((1 - eta**2) ** 2 + eta**2), rel=1e-12)
    assert rho["consensus (gamma = 1)"] == pytest.approx(
        math.sqrt((1 - eta) ** 2 + eta**2), rel=1e-12
    )
    # GD's distance after T steps from |theta_0| = 1 is exactly (1 + eta^2)^(T/2)
    assert xy["final_distance"]["simultaneous GD"] == pytest.approx(
        (1 + eta**2) ** (xy["steps"] / 2), rel=1e-9
    )
    assert xy["flow_radius_drift"] < 1e-8


def test_dirac_r1_numbers(report):
    dirac = report[1]["studies"]["dirac"]
    # J = [[0, 1/2], [-1/2, 1]]: double eigenvalue 1/2, GD step 0.5: rho = 1 - 0.25
    assert dirac["r1_spectral_radius"] == pytest.approx(0.75, abs=1e-6)
    assert dirac["r1_max_stable_step"] == pytest.approx(4.0, rel=1e-6)
    unreg = dirac["variants"]["unregularised"]
    assert [complex(*v) for v in unreg["eigenvalues"]] == [
        pytest.approx(-0.5j, abs=1e-12),
        pytest.approx(0.5j, abs=1e-12),
    ]
    assert unreg["gd_spectral_radius"] == pytest.approx(math.sqrt(1 + 0.25**2), rel=1e-12)
    assert dirac["variants"]["R1 (gamma 1)"]["classification"] != unreg["classification"]
    region = dirac["r1_region"]
    assert region["boundary_matches_closed_form"] is True
    # independently: J = [[0, c], [-c, gamma]], c = 1/2, by numpy's eigenvalues, and GD
    # with step eta is stable iff |1 - eta lambda| < 1, i.e. eta < 2 Re lambda / |lambda|^2
    bounds = []
    for gamma in region["gammas"]:
        mu = np.linalg.eigvals(np.array([[0.0, 0.5], [-0.5, gamma]]))
        bounds.append(min(2 * m.real / abs(m) ** 2 for m in mu))
    np.testing.assert_allclose(region["max_stable_step_closed_form"], bounds, rtol=1e-10)


def test_r1_bound_closed_form_by_hand():
    # gamma < 2c: complex pair |lambda| = c, bound 2 Re / |lambda|^2 = gamma / c^2
    assert r1_gd_step_bound(0.5)[()] == pytest.approx(2.0)
    # gamma = 2: lambda+ = (2 + sqrt(3)) / 2, bound 2 / lambda+
    assert r1_gd_step_bound(2.0)[()] == pytest.approx(4 / (2 + math.sqrt(3)))


def test_ttur_unregularised_has_no_stable_ratio(report):
    ttur = report[1]["studies"]["ttur"]
    unreg = ttur["games"]["unregularised"]
    assert ttur["unregularised_any_stable"] is False and unreg["stable_fraction"] == 0.0
    # independently: the two-timescale GD map at the equilibrium, with eta_G = eta and
    # eta_D = r eta, is I - diag(eta, r eta) J with J = [[0, c], [-c, 0]], c = 1/2; its
    # spectral radius (numpy) is smallest at the grid's smallest step and ratio
    eta, r, c = ttur["lrs"][0], ttur["ratios"][0], 0.5
    step_map = np.eye(2) - np.diag([eta, r * eta]) @ np.array([[0.0, c], [-c, 0.0]])
    smallest = max(abs(np.linalg.eigvals(step_map)))
    assert unreg["best_spectral_radius"] == pytest.approx(smallest, rel=1e-9)
    assert ttur["unregularised_min_closed_form"] == pytest.approx(smallest, rel=1e-12)
    r1 = ttur["games"]["R1 (gamma 0.3)"]
    assert 0 < r1["stable_fraction"] < 1 and r1["best_spectral_radius"] < 1


def test_unroll_numbers(report):
    unroll = report[1]["studies"]["unroll"]
    assert unroll["xy_eigenvalue_error_vs_closed_form"] < 1e-9
    # independently of the report's own closed form: the unrolled x·y game's Jacobian is
    # [[2 K eta, 1], [-1, 0]] (y_K = y + K eta x), eigenvalues K eta ± sqrt(K² eta² - 1)
    eta = unroll["inner_lr"]
    for k, pairs in zip(unroll["depths"], unroll["xy_eigenvalues"]):
        got = [complex(*v) for v in pairs]  # JSON: complex numbers as [re, im]
        mu = np.linalg.eigvals(np.array([[2 * k * eta, 1.0], [-1.0, 0.0]]))
        np.testing.assert_allclose(
            sorted(got, key=lambda z: (z.real, z.imag)),
            sorted(mu, key=lambda z: (z.real, z.imag)),
            atol=1e-9,
        )
    assert unroll["xy_flow_stable"] == [False] + [True] * 10
    assert unroll["xy_best_spectral_radius"][0] >= 1.0
    assert all(r < 1 for r in unroll["xy_best_spectral_radius"][1:])
    # K eta = 1 (K = 4): a double real eigenvalue 1, so GD with step 1 would be exact; the
    # grid's best lies within its spacing of 0
    assert int(np.argmin(unroll["xy_best_spectral_radius"])) == 4


def test_function_space_numbers(report):
    fs = report[1]["studies"]["function_space"]
    assert fs["generator_block_max_abs"] < 1e-12  # zero up to rounding (softmax logits)
    assert fs["coupling_block_max_abs"] > 0
    assert fs["maxmin_single_mode"] is True and fs["maxmin_hops"] >= 2
    assert fs["jsd_minmax"] < 0.01 < fs["jsd_maxmin"]


@pytest.mark.slow  # two trainings
def test_neural_quick_is_reproducible(tmp_path, monkeypatch):
    from analyses import report as module
    from analyses.report import neural

    monkeypatch.setitem(neural.NEURAL_RUNS, "quick", (40, 4, 200))  # the same code, fewer steps
    assert module.NEURAL_RUNS is neural.NEURAL_RUNS
    a = generate_report(tmp_path / "a", quick=True, seed=3, device="cpu", studies=["neural"])
    b = generate_report(tmp_path / "b", quick=True, seed=3, device="cpu", studies=["neural"])
    n = a["studies"]["neural"]
    assert n == b["studies"]["neural"] | {"seconds": n["seconds"]}
    # step 0 and one evaluation every 4 steps; statistics skip steps <= 10 % of 40 (0, 4)
    assert n["eval_steps"] == list(range(0, 41, 4)) and n["n_evaluations"] == 9
    shares, modes = n["dominant_share"], n["dominant_mode"]
    assert all(1 / 8 <= s <= 1 for s in shares)
    # the concentration rule: a dominant mode exactly where the share is >= 1/2
    assert all((m is not None) == (s >= 0.5) for s, m in zip(shares, modes))
    assert n["n_concentrated"] == sum(s >= 0.5 for s in shares[2:])
    assert n["distinct_dominant_modes"] == len({m for m in modes[2:] if m is not None})
    assert n["data_high_quality_percent"] == pytest.approx(100 * (1 - math.exp(-4.5)))
    assert a["figures"]["neural"] == ["neural_samples", "neural_coverage", "neural_mode_hopping"]


@pytest.mark.slow  # two trainings
def test_temperature_quick_is_reproducible(tmp_path, monkeypatch):
    from analyses.report import temperature

    monkeypatch.setitem(temperature.TEMPERATURE_RUNS, "quick", (40, 20))
    a = generate_report(tmp_path / "a", quick=True, seed=1, device="cpu", studies=["temperature"])
    b = generate_report(tmp_path / "b", quick=True, seed=1, device="cpu", studies=["temperature"])
    runs = a["studies"]["temperature"]["runs"]
    assert runs == b["studies"]["temperature"]["runs"]
    assert list(runs) == ["plain GAN", "unrolled GAN (K = 5, inner lr 0.001)"]
    assert a["studies"]["temperature"]["chosen"] == temperature.CHOSEN
    for name, run in runs.items():
        assert run["steps"] == (40 if name == "plain GAN" else 20)
        final = run["final_share"]
        assert sum(final) == pytest.approx(1.0) and run["dominant_share_over_time"][-1] == max(
            final
        )
        assert len(run["dominant_share_over_time"]) == run["steps"] + 1  # every step here
    assert a["figures"]["temperature"] == ["temperature_along_training", "temperature_share"]


@pytest.mark.slow  # two worker processes
def test_parallel_studies_give_the_serial_numbers(report, tmp_path):
    # jobs=2: each study in its own spawned process; every study seeds itself, so the
    # numbers and figures are those of the serial run in the module fixture
    lines: list[str] = []
    keys = ["xy", "function_space"]
    summary = generate_report(tmp_path, quick=True, studies=keys, jobs=2, progress=lines.append)
    serial = report[1]
    assert list(summary["studies"]) == keys  # page order, not completion order
    for key in keys:
        assert summary["studies"][key] == serial["studies"][key]
        assert summary["figures"][key] == serial["figures"][key]
        for name in summary["figures"][key]:
            assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
    assert lines[0] == "running 2 studies in 2 processes ..."
    assert sorted(line[:5] for line in lines[1:3]) == ["[1/2]", "[2/2]"]


@pytest.mark.parametrize("quick", [False, True])
def test_figures_are_png_and_svg_except_in_quick_mode(tmp_path, quick):
    import matplotlib.pyplot as plt

    from analyses.report import page
    from analyses.report._common import Context, Section

    ctx = Context(tmp_path, quick, 0, "cpu", tmp_path)
    section = Section("k", "title", "intro")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ctx.save(section, fig, "line", "a line")
    assert (tmp_path / "line.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "line.svg").exists() is not quick
    html = page.render(
        [section],
        {"version": "v", "torch": "t", "seed": 0, "quick": quick, "device": "cpu", "seconds": 1.0},
    )
    assert f'<a href="figures/line.{"png" if quick else "svg"}">' in html


def test_bad_arguments():
    with pytest.raises(ValueError, match="jobs"):
        generate_report("unused", jobs=0, studies=["xy"])
    with pytest.raises(ValueError, match="studies"):
        generate_report("unused", studies=["nope"])
    with pytest.raises(ValueError, match="seed"):
        generate_report("unused", seed=-1, studies=["xy"])


def test_cli_report(tmp_path, capsys):
    assert (
        cli.main(["report", "--quick", "--studies", "function_space", "--out", str(tmp_path)]) == 0
    )
    captured = capsys.readouterr()
    # progress and the one completion line go to stderr
    assert "[1/1]" in captured.err and captured.out == ""
    assert captured.err.count("report written to") == 1
    assert (tmp_path / "index.html").is_file()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["studies"]) == ["function_space"]


@pytest.mark.parametrize(
    "argv, key",
    [
        (["--studies", "nope"], "studies"),
        (["--seed", "-2"], "seed"),
        (["--device", "warp-drive"], "device"),
        (["--seed", "x"], "--seed"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_cli_report_bad_input(tmp_path, capsys, argv, key):
    try:
        code = cli.main(["report", "--quick", "--out", str(tmp_path / "r"), *argv])
    except SystemExit as exit_:  # argparse's own errors exit through the parser
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("gamedyn: error:") and key in err[0]


def test_every_study_has_an_intro():
    from analyses import report as module

    assert set(module._INTROS) == set(STUDIES) == set(module._RUNNERS)
