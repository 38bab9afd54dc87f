"""`gamedyn spectrum|stability GAME --unroll K --unroll-lr LR` against closed forms."""

from __future__ import annotations

import cmath
import json

import pytest

from analyses import cli


def _spectrum(capsys, *argv):
    assert cli.main(["spectrum", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("k, lr", [(1, 0.5), (3, 0.5), (2, 0.3), (6, 0.5)])
def test_unrolled_dirac_eigenvalues_closed_form(capsys, k, lr):
    # Dirac-GAN, f(t) = -log(1 + exp(-t)), c = f'(0) = 1/2: K inner SGD steps of size lr
    # add a = 2 K lr c^2 to the generator block; the eigenvalues solve
    # l^2 - a l + c^2 = 0, i.e. l = a/2 +- sqrt(a^2/4 - c^2)
    c = 0.5
    a = 2 * k * lr * c**2
    expected = sorted(
        [a / 2 + cmath.sqrt(a * a / 4 - c * c), a / 2 - cmath.sqrt(a * a / 4 - c * c)],
        key=lambda z: (z.real, z.imag),
    )
    out = _spectrum(capsys, "dirac", "--unroll", str(k), "--unroll-lr", str(lr))
    got = sorted((complex(re, im) for re, im in out["eigenvalues"]), key=lambda z: (z.real, z.imag))
    for g, e in zip(got, expected):
        assert abs(g - e) < 1e-12
    assert out["game"]["unrolled"] == {"steps": k, "lr": lr, "inner": "sgd"}
    assert out["jacobian"][0][0] == pytest.approx(a, abs=1e-14)


def test_unrolled_xy_eigenvalues_closed_form(capsys):
    # x·y with y taking K ascent steps of size lr: the generator's loss becomes
    # x y + K lr x^2, so J = [[2 K lr, 1], [-1, 0]] and l = K lr +- sqrt(K^2 lr^2 - 1)
    k, lr = 3, 0.2
    out = _spectrum(capsys, "xy", "--unroll", str(k), "--unroll-lr", str(lr))
    kl = k * lr
    expected = {kl + cmath.sqrt(kl * kl - 1), kl - cmath.sqrt(kl * kl - 1)}
    got = [complex(re, im) for re, im in out["eigenvalues"]]
    for g in got:
        assert min(abs(g - e) for e in expected) < 1e-12


def test_unroll_zero_is_the_base_game(capsys):
    assert (
        _spectrum(capsys, "dirac", "--unroll", "0")["eigenvalues"]
        == _spectrum(capsys, "dirac")["eigenvalues"]
    )


def test_stability_of_an_unrolled_named_game(capsys):
    # simultaneous GD step 0.5 on the unrolled Dirac-GAN (K = 2, lr 0.5): a = 0.5,
    # eigenvalues 0.25 +- i sqrt(0.1875); rho = |1 - 0.5 l|
    assert (
        cli.main(
            [
                "stability",
                "dirac",
                "--unroll",
                "2",
                "--unroll-lr",
                "0.5",
                "--rule",
                "gd",
                "--lr",
                "0.5",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    lam = complex(0.25, 0.1875**0.5)
    assert out["spectral_radius"] == pytest.approx(abs(1 - 0.5 * lam), rel=1e-12)


@pytest.mark.parametrize(
    "argv, key",
    [
        (["dirac", "--unroll", "2"], "--unroll-lr"),
        (["dirac", "--unroll-lr", "0.5"], "--unroll-lr"),
        (["dirac", "--unroll-inner", "adam"], "--unroll-inner"),
        (["dirac", "--unroll", "2", "--unroll-lr", "-1"], "--unroll-lr"),
    ],
)
def test_unroll_errors(capsys, argv, key):
    try:
        code = cli.main(["spectrum", *argv])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and key in err[0] and err[0].startswith("gamedyn: error:")


# -- the specification form: dirac:unroll=5,unroll_lr=0.1 ----------------------------------


@pytest.mark.parametrize(
    "spec_argv, option_argv",
    [
        (["dirac:unroll=5,unroll_lr=0.1"], ["dirac", "--unroll", "5", "--unroll-lr", "0.1"]),
        (
            ["dirac:regularizer=r1,unroll=3,gamma=0.5", "--unroll-lr", "0.2"],
            ["dirac:regularizer=r1,gamma=0.5", "--unroll", "3", "--unroll-lr", "0.2"],
        ),
        (
            ["xy:unroll-lr=0.2,unroll=3,unroll_inner=sgd"],
            ["xy", "--unroll", "3", "--unroll-lr", "0.2", "--unroll-inner", "sgd"],
        ),
    ],
)
def test_unroll_keys_in_the_game_are_the_options(capsys, spec_argv, option_argv):
    by_spec = _spectrum(capsys, *spec_argv)
    by_options = _spectrum(capsys, *option_argv)
    assert by_spec["eigenvalues"] == by_options["eigenvalues"]
    assert by_spec["game"] == by_options["game"]
    assert by_spec["target"] == by_options["target"]
    assert "unrolled K =" in by_spec["target"]


def test_unroll_keys_agree_with_the_closed_form(capsys):
    # as test_unrolled_xy_eigenvalues_closed_form: l = K lr +- sqrt(K^2 lr^2 - 1)
    out = _spectrum(capsys, "xy:unroll=2,unroll_lr=0.25")
    kl = 0.5
    expected = {kl + cmath.sqrt(kl * kl - 1), kl - cmath.sqrt(kl * kl - 1)}
    for re, im in out["eigenvalues"]:
        assert min(abs(complex(re, im) - e) for e in expected) < 1e-12


def test_unroll_keys_in_stability(capsys):
    argv = ["--rule", "gd", "--lr", "0.5", "--json"]
    assert cli.main(["stability", "dirac:unroll=2,unroll_lr=0.5", *argv]) == 0
    by_spec = json.loads(capsys.readouterr().out)
    assert cli.main(["stability", "dirac", "--unroll", "2", "--unroll-lr", "0.5", *argv]) == 0
    by_options = json.loads(capsys.readouterr().out)
    assert by_spec["spectral_radius"] == by_options["spectral_radius"]
    # eigenvalues 0.25 +- i sqrt(0.1875) (test_stability_of_an_unrolled_named_game)
    assert by_spec["spectral_radius"] == pytest.approx(abs(1 - 0.5 * complex(0.25, 0.1875**0.5)))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["dirac:unroll=5,unroll_lr=0.1", "--unroll", "5"],
            "--unroll: unroll is given in the game",
        ),
        (["dirac:unroll_lr=0.1", "--unroll-lr", "0.1", "--unroll", "2"], "--unroll-lr: unroll_lr"),
        (["dirac:unroll=-1"], "dirac: unroll: expected an int >= 0"),
        (["dirac:unroll=2,unroll_lr=0"], "dirac: unroll_lr: expected a number > 0"),
        (
            ["dirac:unroll=2,unroll_lr=0.1,unroll_inner=lbfgs"],
            "dirac: unroll_inner: expected one of",
        ),
        (["dirac:unroll=2,unroll=3,unroll_lr=0.1"], "dirac: key 'unroll' given twice"),
        (["dirac:unroll=2"], "--unroll-lr: required with --unroll"),
        (["dirac:unroll_lr=0.1"], "--unroll-lr: only with --unroll K (or unroll=K)"),
    ],
)
def test_unroll_key_errors_are_one_line(capsys, argv, message):
    assert cli.main(["spectrum", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gamedyn: error: {message}"), err
    assert err.count("\n") == 1
