"""A SIGINT or SIGTERM during training finishes the step, writes the checkpoint and stops;
a rerun continues exactly (the same parameters as a run that was never interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import SMALL_TRAINING as SMALL

from analyses import coverage_evaluator
from gan_models import TrainConfig, Trainer, TrainingInterrupted, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def trainer(out: Path | None, callbacks: list | None = None) -> Trainer:
    return Trainer.from_config(
        TrainConfig.from_dict(SMALL),
        out_dir=out,
        metrics=coverage_evaluator,
        progress=False,
        callbacks=callbacks or [],
    )


def signal_at(step: int, signum: int, times: int = 1):  # type: ignore[no-untyped-def]
    def callback(now: int, _trainer: Trainer) -> None:
        if now == step:
            for _ in range(times):
                os.kill(os.getpid(), signum)

    return callback


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="no POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_checkpoints_the_finished_step_and_resume_is_exact(
    tmp_path: Path, signum: int
) -> None:
    whole = trainer(tmp_path / "whole").train()
    before = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as caught:
        trainer(tmp_path / "split", [signal_at(13, signum)]).train()
    assert signal.getsignal(signum) is before  # the handlers are restored
    error = caught.value
    assert isinstance(error, KeyboardInterrupt)  # code that stops on Ctrl-C still does
    assert error.step == 13 and error.signal_name == signal.Signals(signum).name
    assert error.checkpoint == tmp_path / "split" / "checkpoint.pt"
    assert "after step 13" in str(error) and "rerun to resume" in str(error)
    # the checkpoint holds step 13 (not the periodic one at step 10): nothing trained is lost
    assert load_checkpoint(tmp_path / "split")["step"] == 13
    records = [json.loads(x) for x in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert records[-1] == {
        "event": "interrupted",
        "step": 13,
        "signal": signal.Signals(signum).name,
    }
    resumed = trainer(tmp_path / "split").train()
    assert resumed.start_step == 13 and resumed.step == 30
    for a, b in zip(whole.params, resumed.params):
        assert torch.equal(a, b)


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="no POSIX signals")
def test_a_second_ctrl_c_interrupts_at_once_and_the_last_checkpoint_stays(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt) as caught:
        trainer(tmp_path / "run", [signal_at(13, signal.SIGINT, times=2)]).train()
    assert not isinstance(caught.value, TrainingInterrupted)
    assert load_checkpoint(tmp_path / "run")["step"] == 10  # the periodic checkpoint stays
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_a_signal_without_an_output_folder_stops_with_the_trained_parameters() -> None:
    with pytest.raises(TrainingInterrupted) as caught:
        trainer(None, [signal_at(4, signal.SIGTERM)]).train()
    assert caught.value.checkpoint is None and "checkpoint" not in str(caught.value)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be caught on Windows")
def test_gamedyn_train_stops_on_sigterm_with_its_checkpoint(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "steps = 1000000\nbatch_size = 16\nlatent_dim = 2\neval_every = 1000\n"
        'eval_samples = 50\nlog_every = 5\ncheckpoint_every = 100000\ndevice = "cpu"\n'
        "[generator]\nwidth = 8\n[discriminator]\nwidth = 8\n"
    )
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "analyses.cli", "train", str(config), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = out / "log.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it has trained a few logged steps
        if log.is_file() and sum(1 for _ in log.open()) >= 3:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    step = load_checkpoint(out)["step"]
    assert step > 0
    last = stderr.strip().splitlines()[-1]  # progress lines go to stderr before it
    assert last.startswith(f"gamedyn: training interrupted by SIGTERM after step {step};")
    assert "Traceback" not in stderr
