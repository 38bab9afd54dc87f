"""The trainer: any :mod:`dynamics` rule on a neural GAN, with logs, evaluation,
atomic checkpoints, exact resume and a clean stop on divergence.

Randomness has three independent seeded streams — the networks' initialisation, the
game's minibatches (:meth:`games.ParameterizedGAN.rng_state`) and the remedies' draws —
plus fixed evaluation latents, all saved in checkpoints: on the CPU an interrupted and
resumed run ends with exactly the parameters of an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

from dynamics import UpdateRule
from games import Game, ParameterizedGAN, flatten_params, vector_field

from . import _progress, _runfiles, jsonio
from ._checkpoint import (
    CHECKPOINT,
    FORMAT,
    ConfigChanged,
    TrainingDiverged,
    check_state,
    finite_losses,
    finite_params,
    finite_state,
    first_line,
    load_checkpoint,
    network_buffers,
    pack_state,
    restore_buffers,
    save_checkpoint,
    stored_changes,
    to_device,
    unpack_state,
)
from ._interrupt import StopRequests, TrainingInterrupted
from .config import TrainConfig, build_game, build_rule, resolve_device
from .data import GaussianMixture
from .images import ImageData
from .remedies import ReplayBuffer, Substitution

__all__ = [
    "ConfigChanged",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "load_checkpoint",
    "save_checkpoint",
]

LOG = "log.jsonl"
SNAPSHOTS = "checkpoints"

Evaluator = Callable[[torch.Tensor], Mapping[str, Any]]
Callback = Callable[[int, "Trainer"], None]


@dataclass
class TrainResult:
    """What a run returns: final params, the evaluation history and where things are.

    ``step - start_step`` steps were trained by this call in ``seconds`` of wall time
    (evaluations, checkpoints and callbacks included), ``steps_per_second`` on average.
    """

    params: tuple[torch.Tensor, ...]
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    steps_per_second: float = 0.0
    out_dir: Path | None = None
    start_step: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """``"trained M steps (N → N + M) in T (R it/s)"``, or that there was nothing to do."""
        done = self.step - self.start_step
        if not done:
            return f"nothing to train: the run is already at step {self.step}"
        rate = _progress.format_rate(self.steps_per_second)
        took = _progress.format_duration(self.seconds)
        return f"trained {done} steps ({self.start_step} → {self.step}) in {took} ({rate})"


# -- the trainer ---------------------------------------------------------------------------------


class Trainer:
    r"""Train a neural GAN with any update rule.

    Parameters
    ----------
    game : Game
        The training game: a sampling-mode :class:`games.ParameterizedGAN`, or a game
        built on one (e.g. :func:`games.unrolled`).
    base : games.ParameterizedGAN
        The networks' game (``game`` itself when not unrolled).
    rule : dynamics.UpdateRule
    steps : int
        Total number of updates.
    out_dir : str or pathlib.Path, optional
        Where ``log.jsonl``, ``checkpoint.pt`` and ``samples/`` go (nothing is written
        without it).
    evaluate : callable, optional
        ``samples -> dict`` of metrics, e.g. :func:`analyses.coverage_evaluator`.
    eval_every, eval_samples, checkpoint_every, log_every : int
    keep_every : int
        Keep a snapshot ``checkpoints/step_NNNNNNN.pt`` (the checkpoint format, written
        atomically) at step 0 and every ``keep_every`` steps; 0: none.
    seed : int
        Seed of the evaluation latents and of the remedies' draws.
    replay : (capacity, every) or None
        Experience replay: every ``every`` steps the current fakes join a buffer of
        ``capacity`` samples, and each step shows ``batch_size`` of them to D.
    substitution : Substitution, optional
    dtype : torch.dtype
        Training precision (float32).
    progress : bool or None
        One live progress line rewritten in place (default: when ``stream`` is a
        terminal); otherwise one plain line per logged or evaluated step.  Each line
        shows the rate over the wall time since the previous line (evaluations,
        checkpoints and callbacks included) and the time left.
    config : TrainConfig, optional
        Saved in the checkpoint for reference.
    callbacks : sequence of callable, optional
        Each is called as ``callback(step, trainer)`` at step 0 of a fresh run (after
        the initial evaluation) and after every completed step (after that step's
        evaluation and checkpoint, before its log record and progress line, whose rate
        includes the callbacks), e.g. :class:`analyses.SpectraRecorder`, which acts
        every N steps.  Callbacks must not change ``trainer.params`` or any random
        stream: then training is bit-for-bit the same with and without them.  They are
        not saved in checkpoints; pass them again when resuming.
    """

    def __init__(
        self,
        game: Game,
        base: ParameterizedGAN,
        rule: UpdateRule,
        *,
        steps: int,
        out_dir: str | Path | None = None,
        evaluate: Evaluator | None = None,
        eval_every: int = 500,
        eval_samples: int = 2500,
        checkpoint_every: int = 1000,
        log_every: int = 100,
        keep_every: int = 0,
        seed: int = 0,
        replay: tuple[int, int] | None = None,
        substitution: Substitution | None = None,
        dtype: torch.dtype = torch.float32,
        progress: bool | None = None,
        config: TrainConfig | None = None,
        stream: TextIO | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if not isinstance(base, ParameterizedGAN):
            raise TypeError(f"base: expected a games.ParameterizedGAN, got {type(base).__name__}")
        if not isinstance(rule, UpdateRule):
            raise TypeError(f"rule: expected a dynamics.UpdateRule, got {type(rule).__name__}")
        for name, value in (
            ("steps", steps),
            ("eval_every", eval_every),
            ("eval_samples", eval_samples),
            ("checkpoint_every", checkpoint_every),
            ("log_every", log_every),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if isinstance(keep_every, bool) or not isinstance(keep_every, int) or keep_every < 0:
            raise ValueError(f"keep_every: expected an integer >= 0, got {keep_every!r}")
        self.keep_every = keep_every
        self.game, self.base, self.rule = game, base, rule
        self.steps = steps
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.evaluate = evaluate
        self.eval_every, self.eval_samples = eval_every, eval_samples
        self.checkpoint_every, self.log_every = checkpoint_every, log_every
        self.seed = seed
        self.device = base.device
        self.dtype = dtype
        self.config = config
        self.stream = sys.stderr if stream is None else stream
        self.progress = self.stream.isatty() if progress is None else progress
        self.replay = None if replay is None else ReplayBuffer(replay[0])
        self.replay_every = 1 if replay is None else int(replay[1])
        self.substitution = substitution
        self.callbacks = tuple(callbacks)
        for i, callback in enumerate(self.callbacks):
            if not callable(callback):
                raise TypeError(
                    f"callbacks[{i}]: expected a callable (step, trainer) -> None, "
                    f"got {type(callback).__name__}"
                )
        # CPU generators: the same draws on every device
        self._remedy_rng = torch.Generator().manual_seed(seed + 7919)
        eval_rng = torch.Generator().manual_seed(seed + 104729)
        self._eval_z = torch.randn(eval_samples, base.latent_dim, generator=eval_rng).to(
            self.device
        )
        self._eval_game = base.at_batch()
        self.params = tuple(p.to(self.device) for p in base.params(dtype=dtype, device=self.device))
        self.state = rule.init(game, self.params)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self._config_changes: list[dict[str, Any]] = []

    @classmethod
    def from_config(
        cls,
        config: TrainConfig,
        *,
        out_dir: str | Path | None = None,
        evaluate: Evaluator | None = None,
        metrics: Callable[[GaussianMixture | ImageData], Evaluator] | None = None,
        progress: bool | None = None,
        stream: TextIO | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> Trainer:
        """Build the game, networks, rule and remedies from a :class:`TrainConfig`.

        ``evaluate`` is a ``samples -> dict`` function; or give ``metrics``, a factory
        taking the data mixture (so that the metrics know its modes), e.g.
        :func:`analyses.coverage_evaluator`.  ``callbacks``: see :class:`Trainer`; the
        configuration's ``[spectra]`` section is recorded by the callback
        ``analyses.SpectraRecorder.from_config(config)`` (``gamedyn train`` adds it).
        """
        device = resolve_device(config.device)
        game, base, mixture = build_game(config, device=device)
        rule = build_rule(config)
        sub = config.substitution
        substitution = (
            Substitution(0 if sub.player == "generator" else 1, sub.every, sub.duration, sub.keep)
            if sub.every > 0
            else None
        )
        if evaluate is not None and metrics is not None:
            raise ValueError("evaluate, metrics: give one of the two, not both")
        evaluator = metrics(mixture) if metrics is not None else evaluate
        if config.spectra.every and not callbacks:
            (sys.stderr if stream is None else stream).write(
                "note: [spectra] is recorded by a callback: pass "
                "callbacks=[analyses.SpectraRecorder.from_config(config)]\n"
            )
        return cls(
            game,
            base,
            rule,
            steps=config.steps,
            out_dir=out_dir,
            evaluate=evaluator,
            eval_every=config.eval_every,
            eval_samples=config.eval_samples,
            checkpoint_every=config.checkpoint_every,
            log_every=config.log_every,
            keep_every=config.checkpoint.keep_every,
            seed=config.seed,
            replay=(config.replay.capacity, config.replay.every)
            if config.replay.capacity
            else None,
            substitution=substitution,
            progress=progress,
            config=config,
            stream=stream,
            callbacks=callbacks,
        )

    # -- state --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (tensors and plain values only)."""
        return {
            "format": FORMAT,
            "step": self.step,
            "params": [p.detach().cpu() for p in self.params],
            "buffers": network_buffers(self.base),  # spectral norm's u, v: the networks' state
            "rule_state": pack_state(self.state),
            "game_rng": self.base.rng_state(),
            "remedy_rng": self._remedy_rng.get_state(),
            "replay": None if self.replay is None else self.replay.state_dict(),
            "substitution": None if self.substitution is None else self.substitution.state_dict(),
            "history": jsonio.dumps(self.history),
            "config": json.dumps(self.config.to_dict()) if self.config is not None else "",
            "config_hash": _runfiles.config_hash(self.config.to_dict())
            if self.config is not None
            else "",
            "config_changes": jsonio.dumps(self._config_changes),
            "players": list(self.game.players),
            "sizes": list(self.game.sizes),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (e.g. a loaded checkpoint).

        Raises
        ------
        ValueError
            If ``state`` lacks a key, or holds a step, parameters (wrong count, sizes or
            non-finite values), network buffers or random states that cannot be restored.
        """
        check_state(state, list(self.game.sizes))
        restore_buffers(self.base, state.get("buffers"), self._note)
        self.step = int(state["step"])
        self.params = tuple(p.to(device=self.device, dtype=self.dtype) for p in state["params"])
        try:
            self.state = to_device(unpack_state(state["rule_state"]), self.device)
            self.base.set_rng_state(state["game_rng"])
            self._remedy_rng.set_state(state["remedy_rng"])
            if self.replay is not None and state.get("replay") is not None:
                self.replay.load_state_dict(state["replay"])
            if self.substitution is not None and state.get("substitution") is not None:
                self.substitution.load_state_dict(state["substitution"])
            self.history = jsonio.loads(state["history"]) if state.get("history") else []
            changes = state.get("config_changes")
            self._config_changes = jsonio.loads(changes) if changes else []
        except (TypeError, ValueError, KeyError, RuntimeError, AttributeError) as error:
            raise ValueError(
                f"checkpoint: its training state cannot be restored ({first_line(error)})"
            ) from None
        self.base.load_(self.params)

    def save(self) -> Path | None:
        """Write the checkpoint atomically (no-op without ``out_dir``).

        Raises
        ------
        TrainingDiverged
            If the parameters, the rule's state or the losses are not finite (nothing
            is written: the last good checkpoint stays).
        OSError
            If the checkpoint cannot be written (the earlier one stays intact).
        """
        if self.out_dir is None:
            return None
        return self._write(self.out_dir / CHECKPOINT)

    def snapshot_path(self, step: int) -> Path | None:
        """Where the kept snapshot of ``step`` goes (None without ``out_dir``)."""
        return None if self.out_dir is None else self.out_dir / SNAPSHOTS / f"step_{step:07d}.pt"

    def _write(self, path: Path) -> Path:
        if not (finite_params(self.params) and finite_state(self.state)):
            raise self._diverged(self.step, "the parameters or the update rule's state")
        if not finite_losses(self._eval_game, self.base, self.params):
            raise self._diverged(self.step, "the losses")
        save_checkpoint(path, self.state_dict())
        return path

    def _keep(self) -> None:
        path = self.snapshot_path(self.step)
        if path is not None and self.keep_every and self.step % self.keep_every == 0:
            self._write(path)

    def _check_config(
        self, state: Mapping[str, Any], allow_change: bool
    ) -> dict[str, list[Any]] | None:
        """Refuse (or, if allowed, return) the changes of training-relevant configuration."""
        if self.config is None or self.out_dir is None:
            return None
        changes, hashed = stored_changes(state, self.config.to_dict(), self.out_dir / CHECKPOINT)
        if not hashed:
            self._note(
                "the checkpoint has no configuration hash (written by an older gamedyn); "
                "its stored configuration was compared key by key"
            )
        if not changes:
            return None
        listed = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
        if not allow_change:
            raise ConfigChanged(
                f"checkpoint: {str(self.out_dir / CHECKPOINT)!r} was trained with another "
                f"configuration ({listed}); resume with the same configuration, start afresh "
                "(--no-resume, resume=False), or allow the change (--allow-config-change, "
                "allow_config_change=True)",
                changes,
            )
        self._note(f"configuration changed at step {state['step']}: {listed}")
        return changes

    def resume(self, *, allow_config_change: bool = False) -> bool:
        """Load ``out_dir/checkpoint.pt`` if present; trims the log to its step.

        A log line cut short (a kill, a full disk) and unreadable lines are dropped with
        a note.

        Raises
        ------
        ValueError
            If the checkpoint is unreadable, does not fit this game, or (a
            :class:`ConfigChanged`) was trained with another training-relevant
            configuration and ``allow_config_change`` is false.
        """
        if self.out_dir is None or not (self.out_dir / CHECKPOINT).is_file():
            return False
        state = load_checkpoint(self.out_dir / CHECKPOINT)
        changes = self._check_config(state, allow_config_change)
        self.load_state_dict(state)
        log = self.out_dir / LOG
        if log.is_file():
            _, bad = _runfiles.trim_log(log, self.step)
            if bad:
                self._note(
                    f"log: dropped {len(bad)} unreadable or cut-short line(s) of {str(log)!r} "
                    f"(line {', '.join(map(str, bad))})"
                )
        if changes:
            self._config_changes.append({"step": self.step, "changes": changes})
            self._log({"event": "config_change", "step": self.step, "changes": changes})
        return True

    def _prepare(self, resume: bool, allow_config_change: bool) -> bool:
        """Check the output folder, remove stale temporary files, resume or start afresh."""
        if self.out_dir is not None:
            _runfiles.check_out_dir(self.out_dir, (CHECKPOINT, LOG))
            for path in _runfiles.remove_stale_temporaries(self.out_dir):
                self._note(f"removed the stale temporary file {str(path)!r} of a dead process")
        if resume and self.resume(allow_config_change=allow_config_change):
            return True
        if self.out_dir is not None and self.step == 0 and not self.history:
            names = (CHECKPOINT, LOG, "samples", SNAPSHOTS, "spectra.jsonl")
            aside = _runfiles.move_aside(self.out_dir, names)
            if aside is not None:
                self._note(f"starting afresh: the earlier run's files were moved to {str(aside)!r}")
        return False

    def _note(self, text: str) -> None:
        self.stream.write(f"note: {text}\n")
        self.stream.flush()

    # -- running --------------------------------------------------------------------------

    def _log(self, record: Mapping[str, Any]) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _runfiles.append_line(self.out_dir / LOG, _runfiles.log_line(record))

    def _diverged(self, step: int, what: str) -> TrainingDiverged:
        path = self.out_dir / CHECKPOINT if self.out_dir is not None else None
        kept = path if path is not None and path.is_file() else None
        self._log({"event": "diverged", "step": step, "what": what})
        if kept is not None:
            where = f"the last good checkpoint {str(kept)!r} is kept"
        elif self.out_dir is not None:
            where = (
                "this was before the first checkpoint (every "
                f"{self.checkpoint_every} steps), so there is none to resume from; the last "
                "good parameters are in trainer.params"
            )
        else:
            where = "the last good parameters are kept in trainer.params"
        return TrainingDiverged(
            f"training diverged at step {step}: {what} became NaN/Inf; {where}", step, kept
        )

    def evaluation(self) -> dict[str, Any]:
        """Losses and ``|xi|`` on the fixed evaluation batch, and ``evaluate`` on
        ``eval_samples`` generated samples (fixed latents)."""
        with torch.no_grad():
            samples = self.base.sample(self.params, self._eval_z).detach()
        l_g, l_d = self._eval_game.losses(self.params)
        xi = vector_field(self._eval_game, self.params)
        record: dict[str, Any] = {
            "step": self.step,
            "loss_generator": float(l_g),
            "loss_discriminator": float(l_d),
            "xi_norm": float(flatten_params(xi).norm()),
        }
        if self.evaluate is not None and bool(torch.isfinite(samples).all()):
            record.update(self.evaluate(samples.cpu()))
        if self.out_dir is not None:
            path = self.out_dir / "samples" / f"step_{self.step:07d}.pt"
            save_checkpoint(path, {"format": FORMAT, "step": self.step, "samples": samples.cpu()})
        return record

    def _one_step(self) -> None:
        params = self.params
        if self.substitution is not None:
            params = self.substitution.before_step(self.step, params, self._remedy_rng)
        if self.replay is not None:
            if self.step % self.replay_every == 0:
                z = torch.randn(
                    self.base.batch_size, self.base.latent_dim, generator=self._remedy_rng
                ).to(self.device)
                with torch.no_grad():
                    self.replay.push(self.base.sample(params, z))
            self.base.replay = self.replay.draw(self.base.batch_size, self._remedy_rng)
        with torch.no_grad():
            new, state = self.rule.step(self.game, params, self.state)
        new = tuple(p.detach() for p in new)
        if not finite_params(new):
            raise self._diverged(self.step + 1, "the parameters")
        self.params, self.state = new, state
        self.step += 1

    def train(
        self,
        *,
        resume: bool = True,
        stop_after: int | None = None,
        allow_config_change: bool = False,
    ) -> TrainResult:
        """Run until ``steps`` (continuing from ``out_dir``'s checkpoint if ``resume``).

        Parameters
        ----------
        resume : bool
            Continue from an existing checkpoint in ``out_dir``.
        stop_after : int, optional
            Stop (as an interruption would) after this many steps of this call.
        allow_config_change : bool
            Resume a checkpoint trained with another training-relevant configuration;
            the change is recorded in the log (a ``config_change`` event) and in the
            checkpoint's ``config_changes``.

        Before the first step the output folder is checked (a clear :class:`OSError`
        if it cannot be written), temporary files left by dead processes are removed,
        and a fresh start moves an earlier run's log, checkpoint and samples to
        ``out_dir/previous/N/``.

        Raises
        ------
        TrainingDiverged
            When parameters or losses become NaN/Inf (the last good checkpoint stays).
        ConfigChanged
            When resuming a checkpoint of another configuration without
            ``allow_config_change``.
        ValueError
            When the checkpoint cannot be resumed (unreadable, another network).
        OSError
            When the output folder or a file in it cannot be written (nothing already
            written is lost; rerun to continue from the last checkpoint).
        """
        resumed = self._prepare(resume, allow_config_change)
        progress = _progress.Progress(self.stream, self.steps, live=self.progress)
        if resumed:
            progress.message(f"resumed from step {self.step} of {self.steps}")
        if self.step == 0 and not self.history:
            self.history.append(self.evaluation())
            self._log(self.history[-1])
            self._keep()
            for callback in self.callbacks:
                callback(0, self)
        start_step = self.step
        progress.start(start_step)
        with StopRequests() as stops:  # SIGINT/SIGTERM: finish the step, checkpoint, raise
            while self.step < self.steps:
                if stop_after is not None and self.step - start_step >= stop_after:
                    break
                self._one_step()
                record: dict[str, Any] = {}
                if self.step % self.log_every == 0:
                    l_g, l_d = (float(v) for v in self._eval_game.losses(self.params))
                    if not (math.isfinite(l_g) and math.isfinite(l_d)):
                        raise self._diverged(self.step, "the losses")
                    record = {"step": self.step, "loss_generator": l_g, "loss_discriminator": l_d}
                if self.step % self.eval_every == 0 or self.step == self.steps:
                    self.history.append(self.evaluation())
                    record.update(self.history[-1])  # the same losses, on the same fixed batch
                if self.step % self.checkpoint_every == 0 or self.step == self.steps:
                    self.save()
                self._keep()
                for callback in self.callbacks:
                    callback(self.step, self)
                if record:  # one record and one line per step; the rate includes the callbacks
                    rate = progress.rate(self.step)
                    self._log({**record, "steps_per_second": rate})
                    progress.show(self.step, record, rate)
                if stops.requested is not None and self.step < self.steps:
                    path = self.save()
                    self.base.load_(self.params)
                    self._log(
                        {"event": "interrupted", "step": self.step, "signal": stops.signal_name}
                    )
                    progress.message(f"interrupted by {stops.signal_name} after step {self.step}")
                    raise TrainingInterrupted(self.step, path, stops.signal_name)
        progress.end()
        seconds = progress.elapsed()
        self.base.load_(self.params)
        done = self.step - start_step
        return TrainResult(
            self.params,
            self.step,
            self.history,
            done / seconds if done > 0 and seconds > 0 else 0.0,
            self.out_dir,
            start_step,
            seconds,
        )
