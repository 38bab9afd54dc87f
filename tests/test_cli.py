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
