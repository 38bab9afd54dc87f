"""The gamedyn command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analyses.cli import main


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
    assert "trained 3 steps (6 → 9)" in capsys.readouterr().out

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


# -- games, rules --------------------------------------------------------------------------------


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _fails(capsys, argv, expected):
    """Exit status 2 and one stderr line 'gamedyn: error: ...' containing ``expected``."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("gamedyn: error:") and len(err.strip().splitlines()) == 1, err
    assert expected in err, err
    assert captured.out == ""
    return err


def test_games_lists_every_named_game_with_its_parameters(capsys):
    from analyses._registry import GAMES

    assert main(["games"]) == 0
    out = capsys.readouterr().out
    for name in ("xy", "bilinear", "dirac", "zero_sum", "potential", "hamiltonian", "tandem"):
        assert f"\n{name}: " in "\n" + out
    assert "regularizer       one of none, r1, r2, wgan_gp, instance_noise; default none" in out
    listed = _json(capsys, ["games", "--json"])["games"]
    assert [g["name"] for g in listed] == list(GAMES)
    dirac = _json(capsys, ["games", "dirac", "--json"])["games"]
    assert [p["name"] for p in dirac[0]["parameters"]][:3] == ["loss", "regularizer", "gamma"]


@pytest.mark.parametrize(
    "name",
    [
        "xy",
        "bilinear",
        "dirac",
        "dirac:regularizer=instance_noise,noise_std=0.5,quadrature_nodes=4",
        "zero_sum",
        "potential",
        "hamiltonian",
        "tandem",
        "matching_pennies",
        "function_space:size=4",
    ],
)
def test_every_named_game_builds_and_passes_the_game_contract(name):
    import games
    from analyses._registry import GAMES, build, parse_spec

    spec = parse_spec(name, GAMES, "game")
    game = build(spec.entry, spec.values)
    point = game.equilibrium()
    assert point is not None
    games.check_game(game, point)


def test_rules_lists_every_rule_and_its_defaults_match_the_library(capsys):
    import inspect

    from analyses._registry import RULES

    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "gd (alias sgd): dynamics.SimultaneousGD" in out
    assert "beta  a number in (-1, 1); default 0.9" in out
    listed = _json(capsys, ["rules", "--json"])["rules"]
    assert [r["name"] for r in listed] == list(RULES)
    assert {r["name"] for r in listed if not r["linearizable"]} == {"adam", "rmsprop"}
    # the registry's defaults are the classes' own (an independent channel: the signatures)
    renamed = {"beta1": ("betas", 0), "beta2": ("betas", 1)}
    for entry in RULES.values():
        signature = inspect.signature(entry.cls).parameters
        for param in entry.params:
            if param.name in renamed:
                key, index = renamed[param.name]
                assert signature[key].default[index] == param.default
            elif param.name == "d_steps":
                assert signature["repeats"].default == param.default
            else:
                assert signature[param.name].default == param.default, (entry.name, param.name)


def test_subcommands_have_help_with_examples(capsys):
    for command in ("games", "rules", "spectrum", "stability"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: gamedyn {command}" in out and "examples:" in out
        assert f"gamedyn {command}" in out.split("examples:")[1]


# -- spectrum of named games -----------------------------------------------------------------


def test_spectrum_of_xy_is_plus_minus_i_and_marginal(capsys):
    result = _json(capsys, ["spectrum", "xy", "--json"])
    assert result["jacobian"] == [[0.0, 1.0], [-1.0, 0.0]]
    assert sorted(im for _, im in result["eigenvalues"]) == [-1.0, 1.0]
    assert all(abs(re) < 1e-15 for re, _ in result["eigenvalues"])
    assert not result["flow_stable"] and result["classification"] == "marginal"
    assert result["max_gd_step"] == 0.0
    assert main(["spectrum", "xy"]) == 0
    out = capsys.readouterr().out
    assert "not asymptotically stable" in out and "no step size is stable" in out


@pytest.mark.parametrize(
    ("loss", "regularizer", "gamma", "slope"),
    [
        ("standard", "r1", 1.0, 0.5),
        ("minimax", "r1", 0.3, 0.5),  # the canonical name; "standard" is its alias
        ("ns", "r2", 2.0, 0.5),
        ("wgan", "r1", 1.0, 1.0),
        ("standard", "none", 0.0, 0.5),
    ],
)
def test_spectrum_of_the_dirac_gan_matches_the_closed_form(capsys, loss, regularizer, gamma, slope):
    # Mescheder et al. (2018): at (0, 0) J = [[0, f'(0)], [-f'(0), gamma]] with f'(0) = 1/2
    # (logistic losses) or 1 (WGAN): lambda = (gamma ± sqrt(gamma^2 - 4 f'(0)^2)) / 2
    spec = f"dirac:loss={loss},regularizer={regularizer},gamma={gamma}"
    result = _json(capsys, ["spectrum", spec, "--json"])
    root = np.sqrt(complex(gamma**2 - 4 * slope**2))
    expected = sorted([(gamma + root) / 2, (gamma - root) / 2], key=lambda z: (z.real, z.imag))
    got = sorted((complex(*v) for v in result["eigenvalues"]), key=lambda z: (z.real, z.imag))
    assert np.allclose(got, expected, atol=1e-7)
    assert np.allclose(result["jacobian"], [[0.0, slope], [-slope, gamma]], atol=1e-12)
    assert result["flow_stable"] is (gamma > 0)
    assert result["classification"] == ("stable, not Nash" if gamma > 0 else "marginal")
    # |1 - eta lambda| < 1 iff eta < 2 Re lambda / |lambda|^2: gamma / f'(0)^2 for a complex
    # pair, 2 / lambda_max for two real ones
    bound = gamma / slope**2 if gamma < 2 * slope else 2 / expected[-1].real
    assert result["max_gd_step"] == pytest.approx(bound, abs=1e-9)
    assert result["field_norm"] == 0.0


def test_spectrum_at_a_point_of_a_zero_sum_quadratic(capsys):
    # l_x = x^2/2 + 2xy - 3y^2/2: J = [[1, 2], [-2, 3]], lambda = 2 ± i sqrt(3);
    # xi(0.5, -0.5) = (x + 2y, -(2x - 3y)) = (-0.5, -2.5)
    argv = ["spectrum", "zero_sum:p=1,q=2,r=3", "--point", "0.5", "-0.5"]
    result = _json(capsys, [*argv, "--json"])
    got = sorted(complex(*v).imag for v in result["eigenvalues"])
    assert got == pytest.approx([-np.sqrt(3), np.sqrt(3)])
    assert all(v[0] == pytest.approx(2.0) for v in result["eigenvalues"])
    assert result["field_norm"] == pytest.approx(np.sqrt(0.25 + 6.25))
    assert result["classification"] == "stable Nash"
    assert result["hessian_eigenvalues"] == {"x": [1.0], "y": [3.0]}
    assert result["max_gd_step"] == pytest.approx(4 / 7)  # 2 Re / |lambda|^2 = 4 / 7
    assert main(argv) == 0
    assert "(not a fixed point)" in capsys.readouterr().out


def test_spectrum_of_matching_pennies_and_a_random_bilinear_game(capsys):
    result = _json(capsys, ["spectrum", "matching_pennies", "--json"])
    assert result["point"] == [[0.5], [0.5]]
    assert sorted(v[1] for v in result["eigenvalues"]) == pytest.approx([-4.0, 4.0])
    # x^T A y with A 2 x 3: eigenvalues ± i sigma_k(A) and one zero
    result = _json(capsys, ["spectrum", "bilinear:m=2,p=3,seed=1", "--json"])
    assert result["n"] == 5
    import torch

    A = torch.randn(2, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sigma = np.linalg.svd(A.numpy(), compute_uv=False)
    values = np.array([complex(*v) for v in result["eigenvalues"]])
    assert np.abs(values.real).max() < 1e-12
    assert sorted(np.abs(values.imag)) == pytest.approx(sorted([0.0, *sigma, *sigma]), abs=1e-12)


# -- stability of named games -------------------------------------------------------------


def test_stability_of_gd_on_xy_is_sqrt_one_plus_eta_squared(capsys):
    result = _json(capsys, ["stability", "xy", "--lr", "0.1", "--json"])
    assert result["spectral_radius"] == pytest.approx(np.sqrt(1.01), abs=1e-12)
    assert result["max_gd_step"] == 0.0 and not result["flow_stable"]
    # a grid goes through analyses.stability_region (one eigendecomposition)
    result = _json(capsys, ["stability", "xy", "--grid", "lr=0.1:1:10", "--json"])
    eta = np.linspace(0.1, 1, 10)
    assert result["grid"]["method"] == "eigendecomposition"
    assert result["lr"] is None and result["grid"]["axes"] == ["lr"]
    assert result["grid"]["spectral_radius"] == pytest.approx(np.sqrt(1 + eta**2), abs=1e-12)
    assert result["best"] == {
        "lr": pytest.approx(0.1),
        "spectral_radius": pytest.approx(np.sqrt(1.01)),
        "stable": False,
    }
    assert main(["stability", "xy", "--lr", "0.1"]) == 0
    assert "rho         1.004988" in capsys.readouterr().out


def test_stability_of_extragradient_on_xy_and_the_best_step(capsys):
    # |1 - i eta + (i eta)^2| = sqrt((1 - eta^2)^2 + eta^2): smallest at eta^2 = 1/2
    result = _json(
        capsys, ["stability", "xy", "--rule", "extragradient", "--grid", "lr=0.1:0.9:9", "--json"]
    )
    eta = np.linspace(0.1, 0.9, 9)
    assert result["grid"]["spectral_radius"] == pytest.approx(np.sqrt((1 - eta**2) ** 2 + eta**2))
    assert result["best"]["lr"] == pytest.approx(0.7)
    assert result["best"]["stable"] is True
    assert main(["stability", "xy", "--rule", "extragradient", "--grid", "lr=0.1:0.9:9"]) == 0
    out = capsys.readouterr().out
    assert "stable      for 9 of 9 values of lr, from 0.1 to 0.9" in out
    assert "best        lr = 0.7: rho = 0.866083 (converges)" in out


@pytest.mark.parametrize("beta", [-0.5, 0.3])
def test_stability_of_momentum_matches_its_characteristic_polynomial(capsys, beta):
    # heavy ball on an eigenvalue lambda of J: z^2 - (1 - eta lambda + beta) z + beta = 0
    argv = ["stability", "dirac:regularizer=r1,gamma=0.3", "--rule", f"momentum:beta={beta}"]
    result = _json(capsys, [*argv, "--grid", "lr=0.2,0.8,2", "--json"])
    assert result["grid"]["method"] == "linearize"
    lambdas = [0.15 + 0.5j * np.sqrt(0.91), 0.15 - 0.5j * np.sqrt(0.91)]
    for eta, rho in zip([0.2, 0.8, 2.0], result["grid"]["spectral_radius"]):
        roots = [np.roots([1, -(1 - eta * lam + beta), beta]) for lam in lambdas]
        assert rho == pytest.approx(max(np.abs(np.concatenate(roots))), abs=1e-10)


def test_stability_with_two_timescales_and_a_map_over_lr_and_ratio(capsys, tmp_path):
    # Dirac-GAN R1 (gamma = 1), D = diag(0.5, 1): I - DJ = [[1, -1/4], [1/2, 0]],
    # eigenvalues (1 ± sqrt(1/2)) / 2; GD with ratio 2 is stable iff lr < 2 / (1 + sqrt(1/2))
    game = "dirac:regularizer=r1,gamma=1"
    result = _json(capsys, ["stability", game, "--lr", "0.5", "1.0", "--json"])
    assert result["ratio"] == 2.0
    assert result["spectral_radius"] == pytest.approx((1 + np.sqrt(0.5)) / 2)
    assert result["max_gd_step"] == pytest.approx(2 / (1 + np.sqrt(0.5)))
    plot = tmp_path / "region.png"
    argv = [
        "stability",
        game,
        "--grid",
        "lr=0.5,1,5",
        "--grid",
        "ratio=0.5,1,2",
        "--plot",
        str(plot),
    ]
    result = _json(capsys, [*argv, "--json"])
    radius = np.array(result["grid"]["spectral_radius"])
    assert radius.shape == (3, 3) and result["grid"]["axes"] == ["lr", "ratio"]
    J = np.array([[0.0, 0.5], [-0.5, 1.0]])
    for i, lr in enumerate([0.5, 1, 5]):
        for j, ratio in enumerate([0.5, 1, 2]):
            step = np.eye(2) - np.diag([lr, lr * ratio]) @ J
            assert radius[i, j] == pytest.approx(max(abs(np.linalg.eigvals(step))))
    assert result["best"]["lr"] == 1.0 and result["best"]["ratio"] == 1.0
    assert result["best"]["spectral_radius"] == pytest.approx(0.5)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = tmp_path / "line.svg"
    assert (
        main(
            [
                "stability",
                "xy",
                "--rule",
                "proximal",
                "--grid",
                "lr=0.01:10:5:log",
                "--plot",
                str(line),
            ]
        )
        == 0
    )
    assert "best        lr = 10: rho = 0.099504" in capsys.readouterr().out  # 1/|1 + 10i|
    assert line.read_text().lstrip().startswith("<?xml")


# -- checkpoints -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 5-step `gamedyn train` run of a tiny GAN (n = 235 parameters)."""
    folder = tmp_path_factory.mktemp("run")
    config = folder / "run.toml"
    config.write_text(
        "steps = 5\nbatch_size = 16\nlatent_dim = 4\neval_every = 5\neval_samples = 50\n"
        "checkpoint_every = 5\nlog_every = 5\n[generator]\nwidth = 8\n[discriminator]\nwidth = 8\n"
    )
    assert main(["train", str(config), "--out", str(folder / "out")]) == 0
    return folder / "out" / "checkpoint.pt"


def _rebuilt(path, batch_size=None):
    """The checkpoint's GAN rebuilt by hand from the library, in fixed-batch mode."""
    import torch

    from gan_models import TrainConfig, build_game, load_checkpoint

    state = load_checkpoint(path)
    config = TrainConfig.from_dict(json.loads(state["config"]))
    if batch_size is not None:
        config = config.replace(batch_size=batch_size)
    _, base, _ = build_game(config)
    return base.at_batch(), tuple(p.to(torch.float64) for p in state["params"])


def test_spectrum_of_a_checkpoint_matrix_free_matches_dense(capsys, checkpoint):
    import games
    from analyses import eigenvalues

    game, params = _rebuilt(checkpoint)
    dense = eigenvalues(game, params).values  # by decreasing magnitude
    result = _json(capsys, ["spectrum", str(checkpoint.parent), "--k", "3", "--json"])
    assert result["source"] == "checkpoint" and result["checkpoint"]["step"] == 5
    assert result["n"] == 235 and result["method"] == "arpack"
    top = np.array([complex(*v) for v in result["eigenvalues"]])
    assert np.allclose(np.abs(top), np.abs(dense[:3]), rtol=1e-6)
    assert abs(top[0] - dense[0]) < 1e-6 * abs(dense[0])
    J = games.jacobian(game, params)
    for i, player in enumerate(game.players):
        H = J.hessian(i).numpy()
        own = np.linalg.eigvalsh((H + H.T) / 2)
        got = result["hessian_eigenvalues"][player]
        assert max(got) == pytest.approx(own.max(), rel=1e-6)
        assert min(got) == pytest.approx(own.min(), rel=1e-6)
    # SR: the smallest real parts decide the flow's stability
    result = _json(capsys, ["spectrum", str(checkpoint), "--k", "2", "--which", "SR", "--json"])
    smallest = min(v[0] for v in result["eigenvalues"])
    assert smallest == pytest.approx(dense.real.min(), rel=1e-6)
    assert result["flow_stable"] is bool(dense.real.min() > 0)
    assert main(["spectrum", str(checkpoint), "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "top 3 eigenvalues of J by largest magnitude (ARPACK, matrix-free" in out
    assert "own-Hessian eigenvalues" in out and "(not a fixed point)" in out


def test_spectrum_of_a_checkpoint_with_another_batch_size(capsys, checkpoint):
    from analyses import eigenvalues

    game, params = _rebuilt(checkpoint, batch_size=8)
    dense = eigenvalues(game, params).values
    result = _json(capsys, ["spectrum", str(checkpoint), "--k", "1", "--batch-size", "8", "--json"])
    assert result["checkpoint"]["batch_size"] == 8
    assert complex(*result["eigenvalues"][0]) == pytest.approx(dense[0], rel=1e-6)


def test_stability_of_a_checkpoint(capsys, checkpoint):
    import games
    from analyses import eigenvalues

    game, params = _rebuilt(checkpoint)
    dense = eigenvalues(game, params).values
    # GD's step map I - eta J at any point: rho = max |1 - eta lambda|; a grid of GD steps
    # goes through analyses.stability_region (one eigendecomposition)
    result = _json(capsys, ["stability", str(checkpoint), "--grid", "lr=0.01,0.1", "--json"])
    assert result["grid"]["method"] == "eigendecomposition"
    for eta, rho in zip([0.01, 0.1], result["grid"]["spectral_radius"]):
        assert rho == pytest.approx(np.abs(1 - eta * dense).max(), rel=1e-9)
    assert result["flow_stable"] is bool(dense.real.min() > 1e-9)
    assert result["best"]["lr"] == 0.01
    # extragradient away from a fixed point: its step theta - eta xi(theta - eta xi(theta))
    # has the Jacobian I - eta J(half) (I - eta J(theta)), not the polynomial in J(theta)
    result = _json(
        capsys, ["stability", str(checkpoint), "--rule", "extragradient", "--lr", "0.5", "--json"]
    )
    theta = games.flatten_params(params)
    half = games.unflatten_params(
        game, theta - 0.5 * games.flatten_params(games.vector_field(game, params))
    )
    J, J_half = (games.jacobian(game, p).matrix.numpy() for p in (params, half))
    eye = np.eye(len(theta))
    step = eye - 0.5 * J_half @ (eye - 0.5 * J)
    assert result["spectral_radius"] == pytest.approx(
        np.abs(np.linalg.eigvals(step)).max(), rel=1e-8
    )
    polynomial = eye - 0.5 * J + 0.25 * J @ J
    assert abs(result["spectral_radius"] - np.abs(np.linalg.eigvals(polynomial)).max()) > 1e-6


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["spectrum", "dirak"], "unknown game 'dirak'"),
        (["spectrum", "dirac:gama=1"], "dirac: unknown key 'gama', expected loss, regularizer"),
        (["spectrum", "dirac:gamma=abc"], "dirac: gamma: expected a number >= 0, got 'abc'"),
        (["spectrum", "dirac:loss=foo"], "dirac: loss: expected one of minimax, non_saturating"),
        (
            ["spectrum", "dirac:regularizer=r1"],
            "dirac: gamma: the 'r1' regulariser needs gamma > 0",
        ),
        (["spectrum", "bilinear:m=1.5"], "bilinear: m: expected an int >= 1, got '1.5'"),
        (["spectrum", "dirac:gamma"], "dirac: expected key=value, got 'gamma'"),
        (["spectrum", "xy", "--point", "1"], "--point: expected n = 2 numbers"),
        (["spectrum", "xy", "--k", "3"], "--k: only for checkpoints"),
        (["stability", "xy", "--lr", "-0.1"], "--lr: expected a step size >= 0, got '-0.1'"),
        (["stability", "xy", "--grid", "lr=-1:1:3"], "--grid lr: expected step sizes >= 0"),
        (["stability", "xy", "--grid", "lr=1:2"], "--grid: expected KEY=START:STOP:NUM"),
        (
            ["stability", "xy", "--rule", "nesterov"],
            "rule: unknown rule 'nesterov', expected one of gd",
        ),
        (
            ["stability", "xy", "--rule", "momentum:beta=1.5"],
            "momentum: beta: expected a number in (-1, 1)",
        ),
        (["stability", "xy", "--rule", "adam"], "--rule: adam normalises the gradient"),
        (["stability", "xy", "--grid", "beta=0:0.5:3"], "--grid beta: unknown axis for rule gd"),
        (
            ["stability", "xy", "--rule", "momentum:beta=0.5", "--grid", "beta=0:0.5:3"],
            "beta is given in --rule too",
        ),
        (["stability", "xy", "--plot", "x.png"], "--plot: needs --grid"),
        (["stability", "xy", "--lr", "0.1", "0.2", "0.3"], "--lr: expected one step size, or two"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, expected):
    _fails(capsys, argv, expected)


def test_missing_and_corrupt_checkpoints_are_one_line_errors(capsys, tmp_path, checkpoint):
    import torch

    _fails(capsys, ["spectrum", str(tmp_path / "none.pt")], "checkpoint: no such file")
    _fails(capsys, ["stability", str(tmp_path / "nowhere") + "/"], "checkpoint: no such file")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint\n\x00\x01")
    _fails(capsys, ["spectrum", str(garbage)], "is not a readable checkpoint")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(checkpoint.read_bytes()[:2000])
    _fails(capsys, ["stability", str(truncated)], "is not a readable checkpoint")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    _fails(capsys, ["spectrum", str(foreign)], "is not a gamedyn checkpoint")
    _fails(capsys, ["spectrum", str(checkpoint), "--point", "0"], "--point: only for named games")
    _fails(
        capsys,
        ["spectrum", str(checkpoint), "--k", "400"],
        "--k: expected an int with 1 <= k < n - 1 = 234",
    )
    _fails(
        capsys,
        ["stability", str(checkpoint), "--max-dense", "100"],
        "--max-dense: the game has n = 235",
    )
    _fails(
        capsys,
        ["spectrum", str(checkpoint), "--batch-size", "0"],
        "argument --batch-size: expected an int >= 1",
    )


def test_genuine_bugs_keep_their_traceback(monkeypatch):
    import analyses.stability

    def broken(*args, **kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(analyses.stability, "classify", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["spectrum", "xy"])


# -- unrolled games at a checkpoint ----------------------------------------------------------


def test_unroll_0_is_the_base_gan(capsys, checkpoint):
    import torch

    import games
    from analyses import checkpoint_game

    game, point, _ = checkpoint_game(checkpoint, unroll=0)
    by_hand, params = _rebuilt(checkpoint)
    assert type(game) is type(by_hand)
    field = games.flatten_params(games.vector_field(game, point))
    expected = games.flatten_params(games.vector_field(by_hand, params))
    assert torch.equal(field, expected)
    base = _json(capsys, ["spectrum", str(checkpoint), "--k", "2", "--json"])
    zero = _json(capsys, ["spectrum", str(checkpoint), "--k", "2", "--unroll", "0", "--json"])
    assert zero == base and "unrolled" not in zero["checkpoint"]
    assert zero["field_norm"] == float(expected.norm())


@pytest.mark.parametrize(("inner", "lr"), [(None, None), ("sgd", 0.05)])
def test_unrolled_jacobian_at_a_checkpoint_matches_games_unrolled(capsys, checkpoint, inner, lr):
    import torch

    import games
    from analyses import checkpoint_game
    from gan_models import TrainConfig, load_checkpoint

    config = TrainConfig.from_dict(json.loads(load_checkpoint(checkpoint)["config"]))
    # by hand: games.unrolled around the fixed-batch GAN, the stored [unroll] section's
    # inner rule and step (Adam, 1e-4 by default) unless overridden
    base, params = _rebuilt(checkpoint)
    by_hand = games.unrolled(
        base,
        2,
        lr=config.unroll.lr if lr is None else lr,
        inner=config.unroll.inner if inner is None else inner,
        first_order=config.unroll.first_order,
        betas=tuple(config.optimizer.betas),
    )
    expected = games.jacobian(by_hand, params).matrix
    game, point, _ = checkpoint_game(checkpoint, unroll=2, unroll_lr=lr, unroll_inner=inner)
    assert isinstance(game, games.UnrolledGame) and game.steps == 2
    J = games.jacobian(game, point).matrix
    assert torch.allclose(J, expected, rtol=1e-10, atol=1e-12)
    if lr is not None:  # a visible inner step: not the base game's Jacobian
        assert (J - games.jacobian(base, params).matrix).abs().max() > 1e-3
    # the CLI's matrix-free top eigenvalues are those of this Jacobian
    argv = ["spectrum", str(checkpoint), "--unroll", "2", "--k", "2", "--json"]
    argv += [] if lr is None else ["--unroll-lr", str(lr), "--unroll-inner", inner]
    result = _json(capsys, argv)
    dense = np.linalg.eigvals(expected.numpy())
    dense = dense[np.argsort(-np.abs(dense))]
    top = np.array([complex(*v) for v in result["eigenvalues"]])
    assert np.allclose(np.abs(top), np.abs(dense[:2]), rtol=1e-6)
    assert result["checkpoint"]["unrolled"] == {
        "steps": 2,
        "inner": config.unroll.inner if inner is None else inner,
        "lr": config.unroll.lr if lr is None else lr,
        "first_order": False,
    }
    argv.remove("--json")
    assert main(argv) == 0
    assert "unrolled    K = 2: the generator looks 2 discriminator steps ahead" in (
        capsys.readouterr().out
    )


def test_stability_of_an_unrolled_checkpoint(capsys, checkpoint):
    import games
    from analyses import checkpoint_game

    game, point, _ = checkpoint_game(checkpoint, unroll=1, unroll_lr=0.05, unroll_inner="sgd")
    eigenvalues = np.linalg.eigvals(games.jacobian(game, point).matrix.numpy())
    argv = ["stability", str(checkpoint), "--unroll", "1", "--unroll-lr", "0.05"]
    result = _json(capsys, [*argv, "--unroll-inner", "sgd", "--lr", "0.1", "--json"])
    assert result["spectral_radius"] == pytest.approx(np.abs(1 - 0.1 * eigenvalues).max())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--unroll", "-1"], "argument --unroll: expected an int >= 0, got '-1'"),
        (["--unroll", "two"], "argument --unroll: expected an int >= 0, got 'two'"),
        (["--unroll", "1", "--unroll-lr", "0"], "argument --unroll-lr: expected a number > 0"),
        (["--unroll", "1", "--unroll-inner", "rmsprop"], "argument --unroll-inner: invalid"),
        (["--unroll-lr", "0.1"], "--unroll-lr: only with unroll >= 1"),
    ],
)
def test_bad_unroll_options_are_one_line_errors(capsys, checkpoint, argv, expected):
    _fails(capsys, ["spectrum", str(checkpoint), *argv], expected)


def test_unroll_of_a_named_game_needs_its_step(capsys):
    # a named game has no stored training configuration: the inner step must be given
    _fails(capsys, ["spectrum", "xy", "--unroll", "1"], "--unroll-lr: required with --unroll")
    _fails(capsys, ["stability", "dirac", "--unroll-inner", "sgd"], "--unroll-inner: only with")


def test_checkpoint_game_names_bad_keywords(checkpoint):
    from analyses import checkpoint_game

    with pytest.raises(ValueError, match=r"unroll: expected an int >= 0 \(the unroll depth K\)"):
        checkpoint_game(checkpoint, unroll=-1)
    with pytest.raises(ValueError, match="unroll_inner: expected one of sgd, adam"):
        checkpoint_game(checkpoint, unroll=1, unroll_inner="rmsprop")
    with pytest.raises(ValueError, match="unroll_lr: expected a number > 0"):
        checkpoint_game(checkpoint, unroll=1, unroll_lr=float("nan"))
    with pytest.raises(ValueError, match="batch_size: expected an int >= 1"):
        checkpoint_game(checkpoint, batch_size=0)
