"""Issue 16: one connected workflow from the command line (train with [spectra] and kept
snapshots -> spectrum-log -> path-angle -> plot -> spectrum --unroll), the configuration
keys behind it, and progress lines that tell the truth."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
import torch

from analyses.cli import main
from games.formatting import format_duration, format_rate
from gan_models import ConfigError, TrainConfig, Trainer, load_checkpoint, load_config
from gan_models._progress import Progress
from gan_models._runfiles import config_hash

TINY = (
    "steps = 8\nbatch_size = 16\nlatent_dim = 2\neval_every = 4\neval_samples = 50\n"
    'log_every = 2\ndevice = "cpu"\n[generator]\nwidth = 8\n[discriminator]\nwidth = 8\n'
)


class Captured(io.StringIO):
    """A captured stream that is not a terminal (plain lines, as in CI)."""

    def isatty(self) -> bool:
        return False


def tiny(**changes: object) -> TrainConfig:
    config = TrainConfig.from_dict(
        {
            "steps": 8,
            "batch_size": 16,
            "latent_dim": 2,
            "eval_every": 4,
            "eval_samples": 50,
            "log_every": 2,
            "device": "cpu",
            "generator": {"width": 8},
            "discriminator": {"width": 8},
        }
    )
    return config.replace(**changes) if changes else config


# -- configuration keys ---------------------------------------------------------------------------


def test_checkpoint_and_spectra_tables(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        TINY + "[checkpoint]\nevery = 4\nkeep_every = 2\n"
        '[spectra]\nevery = 4\nk = 3\nwhich = ["imaginary"]\nhessians = false\n'
    )
    config = load_config(path)
    assert config.checkpoint_every == 4  # one setting, two spellings
    assert (config.checkpoint.keep_every, config.spectra.every, config.spectra.k) == (2, 4, 3)
    assert config.spectra.which == ["imaginary"] and config.spectra.hessians is False
    assert TrainConfig.from_dict(config.to_dict()) == config  # a stored configuration reloads
    assert config.replace(checkpoint_every=6).checkpoint_every == 6
    from analyses import SpectraRecorder

    recorder = SpectraRecorder.from_config(config)
    assert (recorder.every, recorder.k, recorder.which, recorder.hessian_k) == (
        4,
        3,
        ("imaginary",),
        0,
    )
    with pytest.raises(ValueError, match=r"\[spectra\] table is off"):
        SpectraRecorder.from_config(tiny())


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"checkpoint_every": 5, "checkpoint": {"every": 4}}, r"checkpoint\.every: 4 differs"),
        ({"checkpoint": {"keep_every": -1}}, r"checkpoint\.keep_every: expected an integer >= 0"),
        ({"spectra": {"which": ["largest"]}}, r"spectra\.which: expected a list of one or more"),
        ({"spectra": {"which": "magnitude"}}, r"spectra\.which: expected a list of strings"),
        ({"spectra": {"k": 0}}, r"spectra\.k: expected an integer >= 1"),
        ({"spectra": {"evry": 1}}, r"spectra\.evry: unknown key"),
    ],
)
def test_bad_checkpoint_and_spectra_keys(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(mapping)


def test_new_tables_leave_the_configuration_hash_of_old_checkpoints() -> None:
    # the hash of the default configuration as gamedyn computed it before [checkpoint] and
    # [spectra] existed (commit d52332b): old checkpoints resume without a config change
    before = "6ca1a05ab2b667b917c0ee5e6360fea84128ad320e23081ea1ea9afc625bc8e9"
    assert config_hash(TrainConfig().to_dict()) == before
    changed = TrainConfig.from_dict({"checkpoint": {"keep_every": 5}, "spectra": {"every": 3}})
    assert config_hash(changed.to_dict()) == before


def test_kept_snapshots_are_the_checkpoints_of_their_steps(tmp_path: Path) -> None:
    Trainer.from_config(
        tiny(checkpoint__keep_every=4), out_dir=tmp_path / "whole", stream=Captured()
    ).train()
    kept = sorted(p.name for p in (tmp_path / "whole" / "checkpoints").iterdir())
    assert kept == ["step_0000000.pt", "step_0000004.pt", "step_0000008.pt"]
    # a second run that stops at step 4 writes its resumable checkpoint there
    Trainer.from_config(tiny(steps=4), out_dir=tmp_path / "half", stream=Captured()).train()
    for step, other in ((4, tmp_path / "half"), (8, tmp_path / "whole")):
        snapshot = load_checkpoint(tmp_path / "whole" / "checkpoints" / f"step_{step:07d}.pt")
        assert snapshot["step"] == step
        for a, b in zip(snapshot["params"], load_checkpoint(other)["params"]):
            assert torch.equal(a, b)


def test_spectra_table_without_its_callback_is_named(tmp_path: Path) -> None:
    stream = Captured()
    Trainer.from_config(tiny(spectra__every=4), stream=stream)
    assert "SpectraRecorder.from_config(config)" in stream.getvalue()


# -- progress lines --------------------------------------------------------------------------------

LINE = re.compile(r"^step (\d+)/(\d+) \| ([0-9.e+]+) (it/s|s/it)")


def _lines(text: str) -> list[tuple[int, float]]:
    """(step, steps per second) of each progress line."""
    found = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            value = float(match.group(3))
            found.append((int(match.group(1)), value if match.group(4) == "it/s" else 1 / value))
    return found


def test_one_line_and_one_record_per_step(tmp_path: Path) -> None:
    stream = Captured()
    Trainer.from_config(tiny(), out_dir=tmp_path, stream=stream).train()
    assert [step for step, _ in _lines(stream.getvalue())] == [2, 4, 6, 8]
    assert "0.0 it/s" not in stream.getvalue()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 2, 4, 6, 8]
    merged = records[2]  # a log step that is also an evaluation step: both in one record
    assert {"steps_per_second", "loss_generator", "loss_discriminator", "xi_norm"} <= set(merged)


def test_rate_includes_callbacks(tmp_path: Path) -> None:
    pause = 0.05

    def slow(step: int, trainer: Trainer) -> None:
        time.sleep(pause)

    stream = Captured()
    trainer = Trainer.from_config(
        tiny(eval_every=100), out_dir=tmp_path, stream=stream, callbacks=[slow]
    )
    result = trainer.train()
    rates = _lines(stream.getvalue())
    assert [step for step, _ in rates] == [2, 4, 6, 8]
    # every step waits `pause` in the callback, so no honest rate exceeds 1 / pause
    assert all(0 < rate <= 1 / pause for _, rate in rates), rates
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert all(r["steps_per_second"] <= 1 / pause for r in logged if "steps_per_second" in r)
    assert result.seconds >= 8 * pause and 0 < result.steps_per_second <= 1 / pause
    assert result.describe().startswith("trained 8 steps (0 → 8) in ")


def test_rate_eta_and_slow_steps_on_a_clock() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    stream = Captured()
    progress = Progress(stream, 10, clock=clock)
    progress.start(0)
    now[0] = 10.0  # 2 steps in 10 s
    line = progress.show(2, {"loss_generator": 0.5}, progress.rate(2))
    assert line == "step 2/10 | 5 s/it | ETA 40s | l_G 0.5"  # 8 steps left at 0.2 it/s
    now[0] = 10.5  # 4 steps in 0.5 s: the window rate; the mean is 6 / 10.5
    line = progress.show(6, {}, progress.rate(6))
    assert line == f"step 6/10 | 8.0 it/s | ETA {format_duration(4 / (6 / 10.5))}"
    assert format_duration(4 / (6 / 10.5)) == "7.0s"
    assert [format_rate(r) for r in (250.0, 1 / 300, 0.0)] == ["250 it/s", "300 s/it", "? it/s"]
    assert format_duration(3725) == "1h02m" and format_duration(187) == "3m07s"


def test_resume_message_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = Captured()
    config = tiny(checkpoint_every=2)
    Trainer.from_config(config, out_dir=tmp_path, stream=stream).train(stop_after=3)
    assert "resumed" not in stream.getvalue()
    stream = Captured()
    result = Trainer.from_config(config, out_dir=tmp_path, stream=stream).train()
    text = stream.getvalue()
    assert text.count("resumed from step 2 of 8") == 1
    assert [step for step, _ in _lines(text)] == [4, 6, 8]  # from the checkpoint on
    assert (result.start_step, result.step) == (2, 8)
    assert result.describe().startswith("trained 6 steps (2 → 8) in ")
    again = Trainer.from_config(config, out_dir=tmp_path, stream=Captured()).train()
    assert again.describe() == "nothing to train: the run is already at step 8"
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 2, 4, 6, 8]


# -- the chain ---------------------------------------------------------------------------------------


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_train_spectra_path_angle_plot_unroll_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(
        TINY + "[checkpoint]\nevery = 4\nkeep_every = 4\n[spectra]\nevery = 4\nk = 2\n"
        "hessian_k = 2\n"
    )
    run = tmp_path / "run"
    assert main(["train", str(path), "--out", str(run)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("trained 8 steps (0 → 8) in ")
    assert [line.split(" |")[0] for line in captured.err.splitlines()] == [
        "step 2/8",
        "step 4/8",
        "step 6/8",
        "step 8/8",
    ]
    kept = run / "checkpoints"
    assert sorted(p.name for p in kept.iterdir()) == [
        "step_0000000.pt",
        "step_0000004.pt",
        "step_0000008.pt",
    ]

    log = _json(capsys, ["spectrum-log", str(run), "--json"])
    assert log["steps"] == [0, 4, 8]
    # the recorded spectrum at step 8 is the one `spectrum` computes from the snapshot
    offline = _json(capsys, ["spectrum", str(kept / "step_0000008.pt"), "--k", "2", "--json"])
    recorded = log["records"][-1]
    assert recorded["field_norm"] == pytest.approx(offline["field_norm"], rel=1e-6)
    assert recorded["jacobian"]["magnitude"][0][0] == pytest.approx(
        offline["eigenvalues"][0][0], rel=1e-5
    )

    a, b = kept / "step_0000000.pt", kept / "step_0000008.pt"
    angle = _json(capsys, ["path-angle", str(a), str(b), "--json"])
    assert (angle["checkpoint_a"]["step"], angle["checkpoint_b"]["step"]) == (0, 8)
    distance = torch.cat(
        [
            (q - p).reshape(-1)
            for p, q in zip(load_checkpoint(a)["params"], load_checkpoint(b)["params"])
        ]
    ).norm()
    assert angle["distance"] == pytest.approx(float(distance), rel=1e-6)
    at_b = angle["alphas"].index(min(angle["alphas"], key=lambda x: abs(x - 1.0)))
    assert angle["field_norm_sq"][at_b] == pytest.approx(offline["field_norm"] ** 2, rel=1e-6)

    figures = tmp_path / "figures"
    assert main(["plot", str(run), "--out", str(figures)]) == 0
    capsys.readouterr()
    for name in ("samples", "coverage", "mode_hopping", "losses", "spectra"):
        png, svg = figures / f"{name}.png", figures / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert b"<svg" in svg.read_bytes()[:2000], name

    plain = _json(capsys, ["spectrum", str(kept / "step_0000004.pt"), "--json"])
    unrolled = _json(capsys, ["spectrum", str(kept / "step_0000004.pt"), "--unroll", "2", "--json"])
    assert unrolled["checkpoint"]["unrolled"]["steps"] == 2 and unrolled["n"] == plain["n"]
    assert unrolled["eigenvalues"] != plain["eigenvalues"]


def test_the_documented_toml_lists_every_key_with_its_default() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    text = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    example, complete = (tomllib.loads(block) for block in blocks)
    assert TrainConfig.from_dict(complete) == TrainConfig()

    def keys(mapping: dict, prefix: str = "") -> set[str]:
        found = set()
        for key, value in mapping.items():
            if isinstance(value, dict) and value:
                found |= keys(value, f"{prefix}{key}.")
            else:
                found.add(prefix + key)
        return found

    assert keys(complete) == keys(TrainConfig().to_dict())
    config = TrainConfig.from_dict(example)
    assert (config.checkpoint_every, config.checkpoint.keep_every, config.spectra.every) == (
        500,
        1000,
        250,
    )
