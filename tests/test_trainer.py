"""The trainer, its configuration, checkpoints and the mode-collapse remedies (CPU, small)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from conftest import SMALL_TRAINING as SMALL

from analyses import coverage_evaluator
from dynamics import RuleState, SimultaneousGD
from games import FirstOrderUnrolledGame, UnrolledGame
from gan_models import (
    ConfigError,
    MinibatchDiscrimination,
    MixtureGenerator,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    build_game,
    load_checkpoint,
    load_config,
)


def config(**changes: object) -> TrainConfig:
    return TrainConfig.from_dict(SMALL).replace(**changes)


def trainer(cfg: TrainConfig, out: Path | None) -> Trainer:
    return Trainer.from_config(cfg, out_dir=out, metrics=coverage_evaluator, progress=False)


# -- exact resume -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "unroll__steps": 1,
            "unroll__inner": "sgd",
            "unroll__lr": 0.05,
            "replay__capacity": 64,
            "replay__every": 3,
            "substitution__every": 4,
            "substitution__duration": 2,
        },
    ],
    ids=["plain", "remedies"],
)
def test_resume_is_exact(tmp_path: Path, changes: dict[str, object]) -> None:
    cfg = config(**changes)
    whole = trainer(cfg, tmp_path / "whole").train()
    first = trainer(cfg, tmp_path / "split")
    first.train(stop_after=17)  # interrupted after step 17; the checkpoint is at step 10
    assert load_checkpoint(tmp_path / "split")["step"] == 10
    resumed = trainer(cfg, tmp_path / "split").train()
    assert resumed.step == whole.step == 30
    for a, b in zip(whole.params, resumed.params):
        assert torch.equal(a, b)
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()
    ]
    assert steps == sorted(steps)  # the interrupted run's records past step 10 were dropped
    assert [h["step"] for h in resumed.history] == [h["step"] for h in whole.history]
    assert not list((tmp_path / "split").glob(".*.tmp"))  # atomic writes leave no temp files


# -- spectral normalisation: the networks' buffers are training state -------------------------


def sn_trainer(out: Path, **changes: object) -> Trainer:
    cfg = config(steps=20, discriminator__spectral_norm=True, **changes)
    return Trainer.from_config(cfg, out_dir=out, progress=False, stream=io.StringIO())


def d_buffers(t: Trainer) -> dict[str, torch.Tensor]:
    return {k: b.clone() for k, b in t.base.D.module.named_buffers()}


@pytest.mark.parametrize(
    "changes, stop",
    [({}, 10), ({"checkpoint__keep_every": 5}, 13)],
    ids=["N_then_2N", "kept_snapshots_stop_at_13"],
)
def test_resume_with_spectral_norm_is_exact(
    tmp_path: Path, changes: dict[str, object], stop: int
) -> None:
    # every training-mode forward pass advances spectral norm's power iteration in the
    # buffers u, v: the checkpoint must carry them, and the finiteness check before a
    # checkpoint or kept snapshot must not advance them
    start = d_buffers(sn_trainer(tmp_path / "fresh", **changes))
    whole_run = sn_trainer(tmp_path / "whole", **changes)
    whole = whole_run.train()
    sn_trainer(tmp_path / "split", **changes).train(stop_after=stop)
    saved = load_checkpoint(tmp_path / "split")
    assert saved["step"] == 10
    assert set(saved["buffers"]["discriminator"]) == set(start) and len(start) == 6  # 3 layers
    assert saved["buffers"]["generator"] == {}
    resumed_run = sn_trainer(tmp_path / "split", **changes)
    resumed = resumed_run.train()
    assert resumed.start_step == 10 and resumed.step == whole.step == 20
    for a, b in zip(whole.params, resumed.params):
        assert torch.equal(a, b)
    end, resumed_end = d_buffers(whole_run), d_buffers(resumed_run)
    assert all(torch.equal(end[k], resumed_end[k]) for k in end)
    # the power iteration moved every vector but the head's u: one output, u = [1]
    assert {k for k in end if torch.equal(end[k], start[k])} == {
        "head.parametrizations.weight.0._u"
    }


def test_checkpoints_without_buffers_still_resume(tmp_path: Path) -> None:
    whole = sn_trainer(tmp_path / "whole").train()
    sn_trainer(tmp_path / "split").train(stop_after=10)
    path = tmp_path / "split" / "checkpoint.pt"
    old = load_checkpoint(path)
    stored = old.pop("buffers")  # as written before checkpoints carried buffers
    torch.save(old, path)
    stream = io.StringIO()
    cfg = config(steps=20, discriminator__spectral_norm=True)
    resumed = Trainer.from_config(cfg, out_dir=tmp_path / "split", progress=False, stream=stream)
    resumed.train()
    assert "note: the checkpoint holds no network buffers (written by an older gamedyn)" in (
        stream.getvalue()
    )
    # u, v restarted from the initialisation: the run continues, but not bit-exactly
    assert resumed.step == 20 and not torch.equal(resumed.params[1], whole.params[1])
    # networks without buffers resume an old checkpoint exactly and silently
    plain = trainer(config(steps=20), tmp_path / "plain_whole").train()
    trainer(config(steps=20), tmp_path / "plain").train(stop_after=10)
    old = load_checkpoint(tmp_path / "plain")
    del old["buffers"]
    torch.save(old, tmp_path / "plain" / "checkpoint.pt")
    stream = io.StringIO()
    again = Trainer.from_config(
        config(steps=20), out_dir=tmp_path / "plain", progress=False, stream=stream
    ).train()
    assert all(torch.equal(a, b) for a, b in zip(plain.params, again.params))
    assert "buffers" not in stream.getvalue()
    # buffers that do not fit the networks are refused, naming them
    broken = sn_trainer(tmp_path / "broken")
    state = broken.state_dict()
    state["buffers"] = {"generator": {}, "discriminator": {"head.x": torch.zeros(1)}}
    with pytest.raises(ValueError, match=r"^checkpoint: the discriminator's buffers do not match"):
        broken.load_state_dict(state)
    state["buffers"] = {"discriminator": stored["discriminator"]}
    with pytest.raises(ValueError, match=r"^checkpoint: 'buffers' must map"):
        broken.load_state_dict(state)


# -- divergence ---------------------------------------------------------------------------------


class ExplodeAt(SimultaneousGD):
    """Plain GD that returns NaN parameters at one step (to test the clean stop)."""

    def __init__(self, lr: float, at: int) -> None:
        super().__init__(lr)
        self.at = at

    def step(self, game, params, state):  # type: ignore[no-untyped-def]
        params, new = super().step(game, params, state)
        if state.t + 1 == self.at:
            params = (params[0] * float("nan"), params[1])
        return params, RuleState(new.t, new.buffers)


def test_nan_stops_cleanly_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    cfg = config()
    good = trainer(cfg, tmp_path / "ok")
    good.rule = SimultaneousGD(1e-3)
    good.state = good.rule.init(good.game, good.params)
    t = trainer(cfg, tmp_path / "run")
    t.rule = ExplodeAt(1e-3, at=15)
    t.state = t.rule.init(t.game, t.params)
    with pytest.raises(TrainingDiverged, match=r"step 15: the parameters became NaN/Inf") as info:
        t.train()
    assert info.value.step == 15 and info.value.checkpoint == tmp_path / "run" / "checkpoint.pt"
    saved = load_checkpoint(tmp_path / "run")
    assert saved["step"] == 10 and all(bool(torch.isfinite(p).all()) for p in saved["params"])
    assert t.step == 14 and all(bool(torch.isfinite(p).all()) for p in t.params)
    # the last good parameters are those of a run without the explosion at step 14
    good.train(stop_after=14)
    for a, b in zip(good.params, t.params):
        assert torch.equal(a, b)
    events = [
        json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    ]
    assert events[-1] == {"event": "diverged", "step": 15, "what": "the parameters"}


# -- the step is the textbook alternating Adam -----------------------------------------------------


def test_alternating_adam_equals_a_hand_written_torch_loop() -> None:
    cfg = config(optimizer__lr=[2e-3, 1e-3], optimizer__d_steps=2)
    t = trainer(cfg, None)
    _, base, _ = build_game(cfg)  # same seed: same networks and the same batches
    opt_g = torch.optim.Adam(base.G.module.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(base.D.module.parameters(), lr=1e-3, betas=(0.5, 0.999))
    softplus = torch.nn.functional.softplus
    for _ in range(4):
        for _ in range(2):
            real, z, _ = base.draw_batch()
            opt_d.zero_grad()
            fake = base.G.module(z).detach()
            loss = softplus(-base.D.module(real)).mean() + softplus(base.D.module(fake)).mean()
            loss.backward()
            opt_d.step()
        real, z, _ = base.draw_batch()
        opt_g.zero_grad()
        softplus(-base.D.module(base.G.module(z))).mean().backward()
        opt_g.step()
        t._one_step()
    expected = base.params(dtype=torch.float32)
    for a, b in zip(t.params, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# -- remedies --------------------------------------------------------------------------------------


def test_each_remedy_runs_and_changes_what_it_should(tmp_path: Path) -> None:
    plain = trainer(config(steps=3), None)
    plain_result = plain.train()

    unrolled = trainer(config(steps=3, unroll__steps=3), None)
    assert isinstance(unrolled.game, UnrolledGame) and unrolled.game.steps == 3
    first = trainer(config(steps=3, unroll__steps=2, unroll__first_order=True), None)
    assert isinstance(first.game, FirstOrderUnrolledGame)
    for t in (unrolled, first):
        result = t.train()
        assert not torch.equal(result.params[0], plain_result.params[0])

    mbd = trainer(config(steps=3, discriminator__minibatch_discrimination=5), None)
    assert any(isinstance(m, MinibatchDiscrimination) for m in mbd.base.D.module.modules())
    mbd.train()

    packed = trainer(config(steps=3, discriminator__pack=4), None)
    logits = packed.base.D(packed.params[1], torch.zeros(32, 2))
    assert logits.shape == (8,)
    packed.train()

    fm = trainer(config(steps=3, game__feature_matching=True), None)
    assert fm.base.feature_matching
    fm_losses = fm._eval_game.losses(fm.params)
    assert float(fm_losses[0]) >= 0.0  # a squared distance, not a log-loss
    fm.train()

    mix = trainer(config(steps=3, generator__components=3), None)
    assert isinstance(mix.base.G.module, MixtureGenerator)
    z = torch.randn(6, 4)
    out = mix.base.G.module(z)
    torch.testing.assert_close(out[4], mix.base.G.module.components[1](z[4:5])[0])
    mix.train()

    replay = trainer(config(steps=4, replay__capacity=40, replay__every=2), None)
    replay.train()
    assert replay.replay is not None and len(replay.replay) == 40
    assert replay.base.replay is not None and replay.base.replay.shape == (32, 2)
    with_replay = replay.base.losses(replay.params)[1]
    saved, replay.base.replay = replay.base.replay, None
    assert not torch.equal(with_replay, replay.base.losses(replay.params)[1])
    replay.base.replay = saved

    sub = trainer(config(steps=12, substitution__every=3, substitution__duration=2), None)
    seen = []
    original = sub.substitution.before_step  # type: ignore[union-attr]

    def spy(step, params, generator):  # type: ignore[no-untyped-def]
        out = original(step, params, generator)
        seen.append((step, torch.equal(out[1], params[1])))
        return out

    sub.substitution.before_step = spy  # type: ignore[union-attr,method-assign]
    sub.train()
    swapped = [step for step, same in seen if not same]
    assert swapped, "a snapshot was swapped in"
    assert all(step % 3 in (0, 2) for step in swapped)  # at the swap, and at the restore


# -- logs, samples and evaluation ----------------------------------------------------------------


def test_logs_samples_and_metrics(tmp_path: Path) -> None:
    result = trainer(config(steps=10), tmp_path).train()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    evals = [r for r in records if "modes_covered" in r]
    assert [r["step"] for r in evals] == [0, 10]
    assert {
        "loss_generator",
        "loss_discriminator",
        "xi_norm",
        "high_quality_percent",
        "reverse_kl",
    } <= set(evals[-1])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step_0000000.pt",
        "step_0000010.pt",
    ]
    samples = load_checkpoint(tmp_path / "samples" / "step_0000010.pt")["samples"]
    assert samples.shape == (200, 2)
    assert result.history[-1]["modes_covered"] == evals[-1]["modes_covered"]


# -- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"stpes": 3}, r"stpes: unknown key"),
        ({"optimizer": {"lr": -1.0}}, r"optimizer.lr: expected a number > 0"),
        ({"optimizer": {"rule": "lbfgs"}}, r"optimizer.rule: expected one of"),
        ({"steps": "ten"}, r"steps: expected an integer"),
        ({"game": {"loss": "kl"}}, r"game.loss: expected one of"),
        ({"discriminator": {"pack": 3}}, r"discriminator.pack: expected a divisor of batch_size"),
        ({"data": {"name": "mnist"}}, r"data.name: expected one of"),
        ({"unroll": {"steps": -1}}, r"unroll.steps: expected an integer >= 0"),
        ({"generator": 3}, r"generator: expected a table"),
    ],
)
def test_config_errors_name_the_key(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(mapping)


def test_config_files(tmp_path: Path) -> None:
    good = tmp_path / "run.toml"
    good.write_text("steps = 7\n[optimizer]\nlr = [1e-4, 4e-4]\n[unroll]\nsteps = 5\n")
    cfg = load_config(good)
    assert cfg.steps == 7 and cfg.optimizer.lr == [1e-4, 4e-4] and cfg.unroll.steps == 5
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = = 3\n")
    with pytest.raises(ConfigError, match=r"config: bad.toml is not valid TOML"):
        load_config(bad)
    with pytest.raises(FileNotFoundError, match="config: no such file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(FileNotFoundError, match="checkpoint: no such file"):
        load_checkpoint(tmp_path / "nothing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
