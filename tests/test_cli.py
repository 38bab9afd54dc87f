"""The gamedyn command line."""

from __future__ import annotations

import pytest

from analyses.cli import main


def test_report_prints_the_xy_and_dirac_jacobians(capsys):
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "x·y game" in out
    # the x·y game's eigenvalues are ±i; the unregularised Dirac-GAN's ±i/2; R1 with gamma=1 is 0.5 (double)
    assert "eigenvalues +0.0000-1.0000i, +0.0000+1.0000i" in out
    assert "eigenvalues +0.0000-0.5000i, +0.0000+0.5000i" in out
    assert "eigenvalues +0.5000, +0.5000  ->  locally stable" in out


def test_help_and_unknown_command(capsys):
    assert main([]) == 0
    assert "report" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gamedyn: error:") and len(err.strip().splitlines()) == 1


def test_train_subcommand_runs_resumes_and_reports_bad_input(tmp_path, capsys):
    from analyses.cli import main

    config = tmp_path / "run.toml"
    config.write_text(
        "steps = 6\nbatch_size = 16\nlatent_dim = 4\neval_every = 3\neval_samples = 50\n"
        "checkpoint_every = 3\nlog_every = 3\n[generator]\nwidth = 8\n[discriminator]\nwidth = 8\n"
    )
    out = tmp_path / "out"
    assert main(["train", str(config), "--out", str(out)]) == 0
    assert "trained 6 steps" in capsys.readouterr().out
    assert (out / "checkpoint.pt").is_file() and (out / "log.jsonl").is_file()
    assert main(["train", str(config), "--out", str(out), "--steps", "9"]) == 0  # resumes
    assert "trained 9 steps" in capsys.readouterr().out

    bad = tmp_path / "bad.toml"
    bad.write_text("[optimizer]\nlr = -1.0\n")
    assert main(["train", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gamedyn: error: optimizer.lr: expected a number > 0") and "\n" not in err
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = = 1\n")
    assert main(["train", str(broken), "--out", str(out)]) == 2
    assert "is not valid TOML" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "none.toml"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
