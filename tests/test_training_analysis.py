"""Spectra along training and the path-angle study (analyses.training, analyses.path_angle), with their CLI."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from analyses import eigenvalues
from analyses.cli import main
from analyses.path_angle import PathAngle, PathAngleDisplay, path_angle
from analyses.training import (
    SpectraAlongTrainingDisplay,
    SpectraRecorder,
    checkpoint_game,
    load_spectra_log,
    spectra_record,
)
from games import Bilinear, Quadratic, as_params, flatten_params, unflatten_params, vector_field
from gan_models import TrainConfig, Trainer, load_checkpoint


@pytest.fixture(autouse=True)
def _one_thread():
    """Small networks: one thread is faster; the caller's thread count is restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = {
    "steps": 12,
    "batch_size": 32,
    "latent_dim": 2,
    "eval_every": 6,
    "eval_samples": 64,
    "checkpoint_every": 6,
    "log_every": 3,
    "generator": {"width": 6},
    "discriminator": {"width": 6},
    "optimizer": {"lr": 1e-2},
}


def tiny_config(**changes: object) -> TrainConfig:
    return TrainConfig.from_dict(TINY).replace(**changes)


def make_trainer(cfg: TrainConfig, out: Path | None, callbacks=()) -> Trainer:
    return Trainer.from_config(
        cfg, out_dir=out, progress=False, stream=io.StringIO(), callbacks=callbacks
    )


def recorder() -> SpectraRecorder:
    return SpectraRecorder(4, k=4, hessian_k=2)


# -- spectra along training ---------------------------------------------------------------------


def test_checkpoint_game_restores_spectral_norms_vectors(tmp_path: Path) -> None:
    # spectral normalisation's power-iteration vectors u, v are part of the trained
    # networks: the game rebuilt from a checkpoint must use the saved ones, so the offline
    # record equals the recorder's at that step (independent: the live trainer's state)
    cfg = tiny_config(steps=12, discriminator__spectral_norm=True)
    rec = SpectraRecorder(6, k=3, which="magnitude", hessian_k=2, warm_start=False)
    make_trainer(cfg, tmp_path / "run", [rec]).train()
    game, point, _ = checkpoint_game(tmp_path / "run")
    offline = spectra_record(game, point, k=3, which="magnitude", hessian_k=2, step=12)
    assert offline["jacobian"] == rec.records[-1]["jacobian"]
    assert offline["hessian"] == rec.records[-1]["hessian"]
    # an older checkpoint without buffers: a warning, and the initial vectors (another game)
    path = tmp_path / "run" / "checkpoint.pt"
    old = load_checkpoint(path)
    del old["buffers"]
    torch.save(old, path)
    with pytest.warns(UserWarning, match="holds no network buffers"):
        stale, point, _ = checkpoint_game(tmp_path / "run")
    assert not torch.equal(
        torch.cat(vector_field(stale, point)), torch.cat(vector_field(game, point))
    )


@pytest.mark.parametrize(
    "changes",
    [{}, {"discriminator__spectral_norm": True, "replay__capacity": 32, "replay__every": 2}],
    ids=["plain", "spectral_norm_replay"],
)
def test_recording_spectra_leaves_training_bit_for_bit_unchanged(tmp_path, changes):
    cfg = tiny_config(**changes)
    plain = make_trainer(cfg, tmp_path / "plain").train()
    rec = recorder()
    recorded = make_trainer(cfg, tmp_path / "recorded", [rec]).train()
    for a, b in zip(plain.params, recorded.params):
        assert torch.equal(a, b)
    assert [r["step"] for r in rec.records] == [0, 4, 8, 12]
    on_disk = load_spectra_log(tmp_path / "recorded")
    assert [r["step"] for r in on_disk] == [0, 4, 8, 12]
    assert not (tmp_path / "plain" / "spectra.jsonl").exists()
    first = on_disk[0]
    assert set(first["jacobian"]) == {"magnitude", "imaginary"}
    assert len(first["jacobian"]["magnitude"]) == 4
    assert set(first["hessian"]) == {"generator", "discriminator"}
    assert all(len(v) == 2 for v in first["hessian"].values())
    assert first["converged"] and first["products"] > 0


def test_resume_with_a_recorder_is_exact_and_the_spectra_log_is_trimmed(tmp_path):
    cfg = tiny_config()
    whole_rec = recorder()
    whole = make_trainer(cfg, tmp_path / "whole", [whole_rec]).train()
    make_trainer(cfg, tmp_path / "split", [recorder()]).train(stop_after=9)  # checkpoint at 6
    assert load_checkpoint(tmp_path / "split")["step"] == 6
    assert [r["step"] for r in load_spectra_log(tmp_path / "split")] == [0, 4, 8]
    resumed = make_trainer(cfg, tmp_path / "split", [recorder()]).train()
    for a, b in zip(whole.params, resumed.params):
        assert torch.equal(a, b)
    split = load_spectra_log(tmp_path / "split")
    assert [r["step"] for r in split] == [0, 4, 8, 12]
    for a, b in zip(load_spectra_log(tmp_path / "whole"), split):
        if a["step"] < 6:  # before the checkpoint: the same warm starts, bit for bit
            assert a["jacobian"] == b["jacobian"] and a["hessian"] == b["hessian"]
            continue
        # the resumed recorder starts ARPACK cold: the same values to ARPACK's tolerance
        for which in a["jacobian"]:
            assert np.allclose(a["jacobian"][which], b["jacobian"][which], rtol=1e-5, atol=1e-8)
        for player in a["hessian"]:
            assert np.allclose(a["hessian"][player], b["hessian"][player], rtol=1e-5, atol=1e-8)


def test_recorded_spectra_match_dense_and_the_offline_checkpoint_path(tmp_path):
    rec = SpectraRecorder(6, k=3, which="magnitude", hessian_k=4, warm_start=False)
    warm = SpectraRecorder(6, k=3, which="magnitude", hessian_k=4)
    trainer = make_trainer(tiny_config(), tmp_path / "run", [rec, warm])
    trainer.train()
    # warm starts from the previous record's eigenvectors: the same eigenvalues to
    # ARPACK's tolerance (the first record, cold in both, bit for bit)
    # (the first record starts cold in both; the warm recorder also asks ARPACK for the
    # Ritz vectors, whose post-processing changes the last bits)
    np.testing.assert_allclose(
        warm.records[0]["jacobian"]["magnitude"],
        rec.records[0]["jacobian"]["magnitude"],
        rtol=1e-12,
    )
    for a, b in zip(warm.records, rec.records):
        assert np.allclose(a["jacobian"]["magnitude"], b["jacobian"]["magnitude"], rtol=1e-5)
        for player in a["hessian"]:
            assert np.allclose(a["hessian"][player], b["hessian"][player], rtol=1e-5, atol=1e-8)
    last = rec.records[-1]
    game, point, state = checkpoint_game(tmp_path / "run")
    assert state["step"] == last["step"] == 12
    offline = spectra_record(game, point, k=3, which="magnitude", hessian_k=4, step=12)
    assert offline["jacobian"] == last["jacobian"] and offline["hessian"] == last["hessian"]
    dense = eigenvalues(game, point).values
    top = np.array([complex(*p) for p in last["jacobian"]["magnitude"]])
    assert np.allclose(np.sort(np.abs(top)), np.sort(np.abs(dense))[-3:], rtol=1e-6, atol=1e-9)
    from games import jacobian

    J = jacobian(game, point)
    for i, player in enumerate(game.players):
        H = J.hessian(i)
        exact = np.sort(torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy())
        ends = np.concatenate([exact[:2], exact[-2:]])[::-1]
        assert np.allclose(last["hessian"][player], ends, atol=1e-7), player


def test_spectra_record_of_a_quadratic_game_is_its_closed_form():
    # J = [[P, Q], [-Q^T, R]] with scalar blocks p, q, r: lambda = (p+r)/2 ± sqrt(((p-r)/2)^2 - q^2)
    P, Q, R = np.diag([1.0, 2.0, 3.0]), np.diag([4.0, 0.5, 0.0]), np.diag([1.0, 1.0, 5.0])
    game = Quadratic.zero_sum(P, Q, R)
    record = spectra_record(game, game.equilibrium(), k=2, which="imaginary", hessian_k=2)
    im = sorted(abs(v[1]) for v in record["jacobian"]["imaginary"])
    assert im == pytest.approx([4.0, 4.0], abs=1e-8)
    assert record["hessian"]["x"] == pytest.approx([3.0, 1.0], abs=1e-8)
    assert record["hessian"]["y"] == pytest.approx([5.0, 1.0], abs=1e-8)


def test_recorder_and_log_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="every"):
        SpectraRecorder(0)
    with pytest.raises(ValueError, match="which"):
        SpectraRecorder(2, which="sideways")
    with pytest.raises(ValueError, match="hessian_k"):
        SpectraRecorder(2, hessian_k=-1)
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        make_trainer(tiny_config(), None, ["not callable"])
    with pytest.raises(FileNotFoundError, match="spectra log"):
        load_spectra_log(tmp_path)
    (tmp_path / "spectra.jsonl").write_text('{"step": 0}\n')
    with pytest.raises(ValueError, match="line 1"):
        load_spectra_log(tmp_path)


def test_callbacks_see_every_step_and_step_zero():
    seen: list[tuple[int, int]] = []
    make_trainer(
        tiny_config(steps=5), None, [lambda step, trainer: seen.append((step, trainer.step))]
    ).train()
    assert seen == [(s, s) for s in range(6)]


# -- path angle: closed forms -------------------------------------------------------------------


def test_path_angle_of_a_zero_sum_quadratic_game_matches_the_affine_closed_form():
    # xi(theta) = J theta + c with J = [[P, Q], [-Q^T, R]], c = (a, -b); along the path
    # xi(alpha) = xi_a + alpha J d, so cos = (xi_a.d + alpha d^T J d) / (|xi(alpha)| |d|)
    # and |xi|^2 = |xi_a|^2 + 2 alpha xi_a.Jd + alpha^2 |Jd|^2 (d^T J d = d^T S d).
    rng = np.random.default_rng(3)
    m, p = 3, 2
    P = rng.standard_normal((m, m))
    P = P @ P.T + np.eye(m)
    R = rng.standard_normal((p, p))
    R = R @ R.T
    Q = rng.standard_normal((m, p))
    a_vec, b_vec = rng.standard_normal(m), rng.standard_normal(p)
    game = Quadratic.zero_sum(P, Q, R, a_vec, b_vec)
    J = np.block([[P, Q], [-Q.T, R]])
    c = np.concatenate([a_vec, -b_vec])
    theta_a, theta_b = rng.standard_normal(m + p), rng.standard_normal(m + p)
    d = theta_b - theta_a
    alphas = np.linspace(-0.2, 1.2, 15)
    result = path_angle(
        game,
        unflatten_params(game, torch.tensor(theta_a)),
        unflatten_params(game, torch.tensor(theta_b)),
        alphas,
    )
    xi_a = J @ theta_a + c
    Jd = J @ d
    norm_sq = xi_a @ xi_a + 2 * alphas * (xi_a @ Jd) + alphas**2 * (Jd @ Jd)
    cosine = (xi_a @ d + alphas * (d @ J @ d)) / (np.sqrt(norm_sq) * np.linalg.norm(d))
    assert np.allclose(result.field_norm_sq, norm_sq, rtol=1e-12, atol=1e-12)
    assert np.allclose(result.cosine, cosine, rtol=1e-11, atol=1e-12)
    assert result.distance == pytest.approx(np.linalg.norm(d), rel=1e-14)
    # per player: the x block of xi(alpha) against d_x; losses l_x = -l_y
    xi_x = (xi_a + alphas[:, None] * Jd)[:, :m]
    cos_x = xi_x @ d[:m] / (np.linalg.norm(xi_x, axis=1) * np.linalg.norm(d[:m]))
    assert np.allclose(result.player_cosines["x"], cos_x, rtol=1e-11, atol=1e-12)
    thetas = theta_a + alphas[:, None] * d
    xs, ys = thetas[:, :m], thetas[:, m:]
    loss_x = (
        0.5 * np.einsum("ai,ij,aj->a", xs, P, xs)
        + np.einsum("ai,ij,aj->a", xs, Q, ys)
        - 0.5 * np.einsum("ai,ij,aj->a", ys, R, ys)
        + xs @ a_vec
        + ys @ b_vec
    )
    assert np.allclose(result.losses["x"], loss_x, rtol=1e-12, atol=1e-12)
    assert np.allclose(result.losses["y"], -loss_x, rtol=1e-12, atol=1e-12)


def test_xy_field_is_orthogonal_to_any_path_through_the_equilibrium():
    # xi(x, y) = (y, -x) is orthogonal to theta: on a line through 0 the cosine is 0 and
    # |xi|^2 = |theta|^2; at the origin itself xi = 0 and the cosine is undefined (NaN)
    game = Bilinear.xy()
    start, end = as_params(game, [[-1.0], [-2.0]]), as_params(game, [[1.0], [2.0]])
    alphas = np.array([-0.2, 0.0, 0.3, 0.5, 0.9, 1.0, 1.2])
    result = path_angle(game, start, end, alphas)
    off = alphas != 0.5
    assert np.all(np.abs(result.cosine[off]) < 1e-15)
    assert math.isnan(result.cosine[~off][0])
    assert np.allclose(result.field_norm_sq, 5.0 * (2 * alphas - 1) ** 2, atol=1e-15)
    # a path that misses the origin: theta(alpha) = (1, alpha), xi = (alpha, -1), d = (0, 1)
    result = path_angle(game, as_params(game, [[1.0], [0.0]]), as_params(game, [[1.0], [1.0]]))
    assert np.allclose(result.cosine, -1.0 / np.sqrt(1.0 + result.alphas**2), atol=1e-15)
    assert np.allclose(result.field_norm_sq, 1.0 + result.alphas**2, atol=1e-15)
    assert np.all(np.isnan(result.player_cosines["x"]))  # d_x = 0: no direction for x
    assert np.allclose(result.player_cosines["y"], -1.0)
    assert result.alphas[0] == -0.2 and result.alphas[-1] == 1.2 and 0.0 in result.alphas


def test_path_angle_on_a_small_gan_matches_a_hand_loop_of_vector_field(tmp_path):
    cfg = tiny_config(steps=6)
    make_trainer(cfg, tmp_path / "a").train()
    make_trainer(cfg.replace(steps=12), tmp_path / "b").train()
    game, start, _ = checkpoint_game(tmp_path / "a")
    _, end, _ = checkpoint_game(tmp_path / "b")
    alphas = [-0.2, 0.0, 0.4, 1.0, 1.2]
    result = path_angle(game, start, end, alphas)
    a, b = flatten_params(start), flatten_params(end)
    for i, alpha in enumerate(alphas):
        point = unflatten_params(game, a + alpha * (b - a))
        xi = flatten_params(vector_field(game, point))
        expected = float(xi @ (b - a) / (xi.norm() * (b - a).norm()))
        assert result.cosine[i] == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert result.field_norm_sq[i] == pytest.approx(float(xi @ xi), rel=1e-10)
        l_g, l_d = game.losses(point)
        assert result.losses["generator"][i] == pytest.approx(float(l_g), rel=1e-10)
        assert result.losses["discriminator"][i] == pytest.approx(float(l_d), rel=1e-10)


def test_path_angle_errors_name_the_argument():
    game = Bilinear.xy()
    point = as_params(game, [[1.0], [2.0]])
    with pytest.raises(ValueError, match="start, end"):
        path_angle(game, point, point)
    with pytest.raises(ValueError, match="alphas"):
        path_angle(game, point, as_params(game, [[0.0], [0.0]]), [])
    with pytest.raises(ValueError, match="start"):
        path_angle(game, (torch.zeros(2, dtype=torch.float64),), point)
    with pytest.raises(TypeError, match="result"):
        PathAngleDisplay.from_path_angle("nope")  # type: ignore[arg-type]


# -- displays -----------------------------------------------------------------------------------


def test_displays_draw_and_keep_their_artists(tmp_path):
    rec = recorder()
    make_trainer(tiny_config(), tmp_path / "run", [rec]).train()
    display = SpectraAlongTrainingDisplay.from_log(tmp_path / "run").plot()
    assert len(display.axes_) == 3 and display.points_ is not None
    summary = display.summary()
    assert summary["steps"].tolist() == [0, 4, 8, 12]
    assert set(summary["hessian_min"]) == {"generator", "discriminator"}
    for i, record in enumerate(rec.records):
        values = np.array([complex(*p) for ps in record["jacobian"].values() for p in ps])
        assert summary["max_abs_imag"][i] == pytest.approx(np.abs(values.imag).max())
        assert summary["min_real"][i] == pytest.approx(values.real.min())
    game = Bilinear.xy()
    pa = path_angle(game, as_params(game, [[1.0], [0.0]]), as_params(game, [[1.0], [1.0]]))
    assert isinstance(pa, PathAngle)
    drawn = PathAngleDisplay.from_path_angle(pa).plot()
    assert drawn.norm_ax_ is not drawn.ax_ and len(drawn.endpoints_) == 2
    with pytest.raises(ValueError, match="ax"):
        display.plot(ax=plt.subplots(1, 2)[1])
    plt.close("all")


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    cfg = tiny_config()
    make_trainer(cfg.replace(steps=6), root / "early").train()
    make_trainer(cfg, root / "late", [recorder()]).train()
    make_trainer(cfg.replace(generator__width=5), root / "other").train()
    return root


def test_cli_path_angle_matches_the_library(runs, tmp_path, capsys):
    plot = tmp_path / "path.png"
    code = main(
        [
            "path-angle",
            str(runs / "early"),
            str(runs / "late" / "checkpoint.pt"),
            "--alphas",
            "-0.2:1.2:8",
            "--json",
            "--plot",
            str(plot),
        ]
    )
    assert code == 0 and plot.stat().st_size > 0
    out = json.loads(capsys.readouterr().out)
    game, start, _ = checkpoint_game(runs / "early")
    _, end, _ = checkpoint_game(runs / "late")
    expected = path_angle(game, start, end, np.linspace(-0.2, 1.2, 8))
    assert out["alphas"] == pytest.approx(expected.alphas.tolist())
    assert out["cosine"] == pytest.approx(expected.cosine.tolist(), rel=1e-12)
    assert out["field_norm_sq"] == pytest.approx(expected.field_norm_sq.tolist(), rel=1e-12)
    assert out["checkpoint_a"]["step"] == 6 and out["checkpoint_b"]["step"] == 12
    assert main(["path-angle", str(runs / "early"), str(runs / "late"), "--alphas", "0,1"]) == 0
    text = capsys.readouterr().out
    assert "cos(xi, B - A)" in text and "+0.000" in text and "+1.000" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["path-angle", "{runs}/nowhere", "{runs}/late"], "no such file"),
        (["path-angle", "{runs}/early", "{runs}/other"], "the networks differ"),
        (["path-angle", "{runs}/early", "{runs}/early"], "coincide"),
        (["path-angle", "{runs}/early", "{runs}/late", "--alphas", "0:1"], "--alphas"),
        (["path-angle", "{runs}/early", "{runs}/late", "--plot", "/no/dir/x.png"], "--plot"),
        (["spectrum-log", "{runs}/early"], "no spectra log"),
    ],
)
def test_cli_errors_are_one_line_with_exit_2(runs, capsys, argv, message):
    try:
        code = main([a.format(runs=runs) for a in argv])
    except SystemExit as exit:  # argparse's own errors (a bad value of an option)
        code = exit.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gamedyn: error: ") and message in err and err.count("\n") == 1


def test_cli_spectrum_log_prints_and_plots(runs, tmp_path, capsys):
    plot = tmp_path / "spectra.png"
    assert main(["spectrum-log", str(runs / "late"), "--plot", str(plot)]) == 0
    text = capsys.readouterr().out
    assert "max |Im λ|" in text and plot.stat().st_size > 0
    assert [line.split()[0] for line in text.splitlines()[2:6]] == ["0", "4", "8", "12"]
    assert main(["spectrum-log", str(runs / "late" / "spectra.jsonl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == [0, 4, 8, 12] and len(out["records"]) == 4


def test_new_subcommands_have_help_with_examples(capsys):
    for command in ("path-angle", "spectrum-log"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert (
            f"usage: gamedyn {command}" in out and f"gamedyn {command}" in out.split("examples:")[1]
        )
