"""`analyses.read_run` / `plot_run` and `gamedyn plot` on small real training runs."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from analyses import cli, coverage_evaluator, mode_coverage, plot_run, read_run
from gan_models import TrainConfig, Trainer


def _train(folder, data="ring", steps=60):
    config = TrainConfig.from_dict(
        {
            "seed": 3,
            "device": "cpu",
            "steps": steps,
            "batch_size": 32,
            "latent_dim": 4,
            "eval_every": 20,
            "eval_samples": 400,
            "log_every": 10,
            "checkpoint_every": steps,
            "data": {"name": data, "options": {}},
            "generator": {"width": 16},
            "discriminator": {"width": 16},
            "optimizer": {"rule": "adam", "lr": [1e-3, 1e-3]},
        }
    )
    Trainer.from_config(
        config, out_dir=folder, metrics=coverage_evaluator, progress=False, stream=io.StringIO()
    ).train()
    return folder


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("ring"))


def test_read_run_gathers_log_samples_and_modes(ring_run):
    record = read_run(ring_run)
    assert [s for s, _ in record.evaluations] == [0, 20, 40, 60]
    assert sorted(record.samples) == [0, 20, 40, 60]
    assert [r["step"] for r in record.log] == sorted({r["step"] for r in record.log})
    # the ring's modes from the stored configuration: radius 1, angles 2 pi k / 8
    angles = 2 * math.pi * np.arange(8) / 8
    expected = np.stack([np.cos(angles), np.sin(angles)], 1)
    np.testing.assert_allclose(np.sort(record.modes, 0), np.sort(expected, 0), atol=1e-12)
    np.testing.assert_allclose(record.stds, 0.01)
    # the logged evaluations are what mode_coverage measures on the saved samples
    for step, cov in record.evaluations:
        again = mode_coverage(record.samples[step], record.modes, record.stds)
        assert again.nearest_counts.tolist() == cov.nearest_counts.tolist()
        assert again.dominant_share == pytest.approx(cov.dominant_share)
        assert again.high_quality == pytest.approx(cov.high_quality)


def test_plot_run_writes_every_figure(ring_run, tmp_path):
    written = plot_run(ring_run, tmp_path / "figs", formats=["png", "svg"])
    assert list(written) == ["samples", "coverage", "mode_hopping", "losses"]
    for files in written.values():
        assert [f.suffix for f in files] == [".png", ".svg"]
        for f in files:
            assert f.stat().st_size > 2000
            head = f.read_bytes()[:8]
            assert head.startswith(b"\x89PNG") if f.suffix == ".png" else b"<" in head


def test_plot_run_bad_arguments(ring_run, tmp_path):
    with pytest.raises(ValueError, match="formats"):
        plot_run(ring_run, tmp_path, formats=["gif"])
    with pytest.raises(ValueError, match="figures"):
        plot_run(ring_run, tmp_path, figures=["nope"])
    with pytest.raises(ValueError, match="spectra"):  # no spectra.jsonl in this run
        plot_run(ring_run, tmp_path, figures=["spectra"])
    with pytest.raises(ValueError, match="panels"):
        plot_run(ring_run, tmp_path, panels=0)
    with pytest.raises(ValueError, match="run"):
        plot_run(tmp_path / "missing", tmp_path)


def test_a_cut_off_last_log_line_is_skipped(ring_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(ring_run, copy)
    log = copy / "log.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines) + "\n" + lines[-1][: len(lines[-1]) // 2])
    assert len(read_run(copy).log) == len(read_run(ring_run).log)
    # a broken line in the middle is an error that names the line
    log.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match="line 2"):
        read_run(copy)


def test_one_dimensional_data(tmp_path):
    run = _train(tmp_path / "temp", data="temperature", steps=40)
    written = plot_run(run, tmp_path / "figs", formats="png", figures=["samples", "coverage"])
    assert set(written) == {"samples", "coverage"}
    assert read_run(run).modes.shape == (2, 1)


def test_cli_plot(ring_run, tmp_path, capsys):
    assert cli.main(["plot", str(ring_run), "--out", str(tmp_path / "f"), "--format", "png"]) == 0
    out = capsys.readouterr().out
    assert "4 evaluations" in out and "mode_hopping" in out
    assert (tmp_path / "f" / "samples.png").is_file()
    assert not (tmp_path / "f" / "samples.svg").exists()


@pytest.mark.parametrize(
    "argv, key",
    [
        (["{missing}", "--out", "{out}"], "RUN"),
        (["{run}", "--out", "{run}/log.jsonl"], "--out"),
        (["{run}", "--out", "{out}", "--figures", "spectra"], "--figures"),
        (["{run}", "--out", "{out}", "--panels", "0"], "--panels"),
    ],
)
def test_cli_plot_errors(ring_run, tmp_path, capsys, argv, key):
    names = {"run": str(ring_run), "out": str(tmp_path / "o"), "missing": str(tmp_path / "m")}
    code = cli.main(["plot", *(a.format(**names) for a in argv)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"gamedyn: error: {key}")
