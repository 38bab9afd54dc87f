"""The ``gamedyn`` command line.

``gamedyn report`` is the main job.  For now it prints the canonical small facts: the
Jacobian and eigenvalues of the x·y game and of the Dirac-GAN with each regulariser at
their equilibria; later issues grow it into the full report folder.

``gamedyn train`` trains a neural GAN from a TOML file.  ``gamedyn games`` and
``gamedyn rules`` list the named games and update rules; ``gamedyn spectrum`` and
``gamedyn stability`` analyse a named game (``NAME:key=value,...``, see
:mod:`analyses._registry`) or a checkpoint written by ``gamedyn train``.

Bad input (an unknown name or key, a bad value, a missing or corrupt file) ends with one
line ``gamedyn: error: ...`` naming the argument and what was expected, and exit
status 2: the library's errors are translated where the input enters it
(:class:`analyses._registry.UsageError`), so anything else is a genuine bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import games

from ._registry import GAMES, RULES, Param, RuleEntry, UsageError, build, parse_spec


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"gamedyn: error: {message}\n")


def _train(args: argparse.Namespace) -> int:
    from gan_models import ConfigError, Trainer, TrainingDiverged, load_config

    from .modes import coverage_evaluator

    try:
        config = load_config(args.config)
        changes = {
            key: value
            for key, value in (("steps", args.steps), ("seed", args.seed), ("device", args.device))
            if value is not None
        }
        if changes:
            config = config.replace(**changes)
        trainer = Trainer.from_config(config, out_dir=args.out, metrics=coverage_evaluator)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"gamedyn: error: {error}", file=sys.stderr)
        return 2
    try:
        result = trainer.train(resume=not args.no_resume)
    except TrainingDiverged as error:
        print(f"gamedyn: {error}", file=sys.stderr)
        return 1
    final = result.history[-1] if result.history else {}
    print(
        f"trained {result.step} steps ({result.steps_per_second:.1f} steps/s) into {args.out}: "
        f"modes covered {final.get('modes_covered', '?')}/{final.get('n_modes', '?')}, "
        f"high quality {final.get('high_quality_percent', float('nan')):.1f}%"
    )
    return 0


def _one_line(message: object, limit: int = 400) -> str:
    """A message on one line (library errors may quote multi-line torch messages)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- argument types -----------------------------------------------------------------------------


def _nonnegative_step(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a step size >= 0, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a step size >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class _Axis:
    """One ``--grid`` axis: a hyper-parameter and its values."""

    name: str
    values: np.ndarray
    log: bool = False


_GRID_SYNTAX = "KEY=START:STOP:NUM, KEY=START:STOP:NUM:log or KEY=V1,V2,..."


def _grid_axis(text: str) -> _Axis:
    key, sep, spec = (part.strip() for part in text.partition("="))
    if not sep or not key or not spec:
        raise argparse.ArgumentTypeError(f"expected {_GRID_SYNTAX}, got {text!r}")
    try:
        if ":" in spec:
            parts = spec.split(":")
            log = len(parts) == 4 and parts[3] == "log"
            if len(parts) != 3 and not log:
                raise ValueError
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
            if count < 1 or not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError
            if log and not (start > 0 and stop > 0):
                raise argparse.ArgumentTypeError(
                    f"{key}: a :log grid needs START > 0 and STOP > 0, got {text!r}"
                )
            values = np.geomspace(start, stop, count) if log else np.linspace(start, stop, count)
            # linspace's round-off: -1.1e-16 where the user means 0
            values[np.abs(values) < 1e-12 * max(abs(start), abs(stop))] = 0.0
            return _Axis(key, values, log)
        values = np.array([float(v) for v in spec.split(",")])
        if not np.all(np.isfinite(values)):
            raise ValueError
        return _Axis(key, values)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {_GRID_SYNTAX}, got {text!r}") from None


# -- targets: a named game or a checkpoint ------------------------------------------------------


@dataclass
class _Target:
    """What ``spectrum`` and ``stability`` analyse: a game and a point."""

    label: str
    source: str  # "game" or "checkpoint"
    game: Any
    point: tuple[torch.Tensor, ...]
    where: str
    details: dict[str, Any]

    @property
    def n(self) -> int:
        return int(sum(self.game.sizes))

    def field_norm(self) -> float:
        xi = games.flatten_params(games.vector_field(self.game, self.point))
        return float(torch.linalg.vector_norm(xi))

    def describe_players(self) -> str:
        return ", ".join(f"{p} ({s})" for p, s in zip(self.game.players, self.game.sizes))


def _is_checkpoint(text: str) -> bool:
    name = text.partition(":")[0]
    pathlike = "/" in text or os.sep in text or text.endswith(".pt")
    if name in GAMES and not pathlike:
        return False
    return pathlike or Path(text).exists()


def _load_target(args: argparse.Namespace) -> _Target:
    if _is_checkpoint(args.target):
        return _checkpoint_target(args)
    name = args.target.partition(":")[0].strip()
    if name not in GAMES:
        raise UsageError(
            f"GAME|CHECKPOINT: unknown game {name!r} and no such checkpoint; expected one of "
            f"{', '.join(GAMES)} (see 'gamedyn games') or a checkpoint file or folder written "
            "by 'gamedyn train'"
        )
    return _game_target(args)


def _game_target(args: argparse.Namespace) -> _Target:
    for option, value in (("--batch-size", args.batch_size), ("--batch-seed", args.batch_seed)):
        if value is not None:
            raise UsageError(f"{option}: only for checkpoints (a named game has no minibatch)")
    spec = parse_spec(args.target, GAMES, "game")
    game = build(spec.entry, spec.values)
    n = int(sum(game.sizes))
    if args.point is not None:
        if len(args.point) != n:
            players = ", ".join(f"{p} {s}" for p, s in zip(game.players, game.sizes))
            raise UsageError(
                f"--point: expected n = {n} numbers ({players}), got {len(args.point)}"
            )
        point = games.unflatten_params(game, torch.tensor(args.point, dtype=torch.float64))
        where = "--point"
    else:
        point = game.equilibrium()
        if point is None:
            raise UsageError(
                f"{spec.text}: the game has no equilibrium (xi = 0 has no solution); give --point"
            )
        where = "equilibrium"
    details = {"name": spec.entry.name, "parameters": spec.values}
    return _Target(spec.text, "game", game, tuple(point), where, details)


def _checkpoint_target(args: argparse.Namespace) -> _Target:
    from gan_models import ConfigError, TrainConfig, build_game, load_checkpoint

    if args.point is not None:
        raise UsageError(
            "--point: only for named games (a checkpoint is analysed at its own parameters)"
        )
    path = Path(args.target)
    label = str(path / "checkpoint.pt" if path.is_dir() else path)
    try:
        state = load_checkpoint(args.target)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        cause = error.__context__  # torch.load's own error, when the file is unreadable
        if cause is None:
            raise UsageError(str(error)) from None
        first = _one_line(cause).split(". ")[0]
        raise UsageError(
            f"checkpoint: {label!r} is not a readable checkpoint (corrupt, truncated or not "
            f"written by gamedyn train; torch.load: {first})"
        ) from None
    stored = state.get("config")
    if not isinstance(stored, str) or not stored:
        raise UsageError(
            f"checkpoint: {label!r} holds no training configuration (saved by a Trainer "
            "without config), so its networks cannot be rebuilt"
        )
    try:
        config = TrainConfig.from_dict(json.loads(stored))
    except json.JSONDecodeError as error:
        raise UsageError(
            f"checkpoint: {label!r}: its stored configuration is not valid JSON ({error})"
        ) from None
    except ConfigError as error:
        raise UsageError(f"checkpoint: {label!r}: its stored configuration: {error}") from None
    if args.batch_size is not None:
        try:
            config = config.replace(batch_size=args.batch_size)
        except ConfigError as error:
            raise UsageError(f"--batch-size: {error}") from None
    try:
        _, base, _ = build_game(config, device="cpu")
    except ConfigError as error:
        raise UsageError(f"checkpoint: {label!r}: its stored configuration: {error}") from None
    params = state.get("params")
    if not (
        isinstance(params, (list, tuple))
        and len(params) == len(base.sizes)
        and all(isinstance(p, torch.Tensor) for p in params)
    ):
        raise UsageError(
            f"checkpoint: {label!r}: expected one parameter tensor per player "
            f"({', '.join(base.players)})"
        )
    sizes = [int(p.numel()) for p in params]
    if sizes != list(base.sizes):
        raise UsageError(
            f"checkpoint: {label!r}: parameter sizes {sizes} do not match the networks "
            f"rebuilt from its configuration {list(base.sizes)}"
        )
    batch_seed = base.seed + 1 if args.batch_seed is None else args.batch_seed
    game = base.at_batch(seed=batch_seed)
    point = tuple(p.detach().reshape(-1).to(torch.float64) for p in params)
    details = {
        "path": label,
        "step": int(state.get("step", 0)),
        "loss": config.game.loss,
        "regularizer": config.game.regularizer,
        "gamma": config.game.gamma,
        "unroll_steps": config.unroll.steps,
        "batch_size": config.batch_size,
        "batch_seed": batch_seed,
    }
    return _Target(label, "checkpoint", game, point, "checkpoint", details)


def _describe_target(target: _Target, field_norm: float) -> list[str]:
    if target.source == "game":
        lines = [f"game        {target.label}: {GAMES[target.details['name']].summary}"]
    else:
        d = target.details
        lines = [
            f"checkpoint  {target.label} (step {d['step']}; loss {d['loss']}, "
            f"regularizer {d['regularizer']})",
            f"game        the ParameterizedGAN rebuilt from its configuration, fixed batch of "
            f"{d['batch_size']} drawn with seed {d['batch_seed']}",
        ]
        if d["unroll_steps"]:
            lines.append(
                f"note        trained unrolled (K = {d['unroll_steps']}); this is the base GAN"
            )
    lines.append(f"players     {target.describe_players()}; n = {target.n}")
    where = {"equilibrium": "the equilibrium", "--point": "--point", "checkpoint": "its parameters"}
    shown = ""
    if target.n <= 6:
        shown = " (" + ", ".join(_fmt(float(v)) for p in target.point for v in p.tolist()) + ")"
    fixed = "" if field_norm < 1e-10 else "  (not a fixed point)"
    lines.append(f"point       {where[target.where]}{shown}; |xi| = {field_norm:.6g}{fixed}")
    return lines


# -- formatting ---------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 6) -> str:
    return f"{0.0 if abs(value) < 0.5 * 10**-digits else value:+.{digits}f}"


def _fmt_component(value: float, scale: float) -> str:
    """An eigenvalue's real or imaginary part; round-off below 1e-12 of the spectrum's scale is 0."""
    return f"{0.0 if abs(value) <= 1e-12 * max(scale, 1.0) else value:+.6g}"


def _ordered(values: np.ndarray) -> np.ndarray:
    """By decreasing magnitude, then real, then imaginary part (as analyses.eigenvalues)."""
    values = np.asarray(values, dtype=complex)
    return values[np.lexsort((values.imag, values.real, -np.abs(values)))]


def _pairs(values: np.ndarray) -> list[list[float]]:
    return [[float(v.real), float(v.imag)] for v in np.asarray(values, dtype=complex)]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    out = [indent + "  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    out += [indent + "  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return out


_TABLE_ROWS = 24


def _eigenvalue_table(values: np.ndarray) -> list[str]:
    """The eigenvalues with their GD step bounds; at most ``_TABLE_ROWS`` rows (--json has all)."""
    from .stability import step_size_bounds

    hidden = max(values.size - _TABLE_ROWS, 0)
    values = values[:_TABLE_ROWS]
    bounds = step_size_bounds(values)
    scale = float(np.abs(values).max()) if values.size else 1.0
    rows = [
        [
            str(i + 1),
            _fmt_component(v.real, scale),
            _fmt_component(v.imag, scale),
            f"{abs(v):.6g}",
            f"{b:.6g}" if b > 0 else "-",
        ]
        for i, (v, b) in enumerate(zip(values, bounds))
    ]
    lines = _table(["#", "Re λ", "Im λ", "|λ|", "GD step bound 2Re λ/|λ|²"], rows)
    if hidden:
        lines.append(f"  ... {hidden} more, by decreasing |λ| (--json lists them all)")
    return lines


def _print_json(result: dict[str, Any]) -> None:
    print(json.dumps(result))


# -- games, rules ---------------------------------------------------------------------------


def _param_json(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "type": param.kind,
        "default": param.default,
        "expected": param.expected,
        "choices": list(param.choices),
        "help": param.help,
    }


def _param_lines(params: Sequence[Param]) -> list[str]:
    if not params:
        return ["    (no parameters)"]
    width = max(len(p.name) for p in params)
    return [
        f"    {p.name.ljust(width)}  {p.expected}; default {_default(p)}. {p.help}" for p in params
    ]


def _default(param: Param) -> str:
    if isinstance(param.default, bool):
        return "true" if param.default else "false"
    return f"{param.default:g}" if isinstance(param.default, float) else str(param.default)


def _games(args: argparse.Namespace) -> int:
    entries = list(GAMES.values())
    if args.name is not None:
        spec = parse_spec(args.name, GAMES, "game")
        entries = [spec.entry]
    if args.json:
        _print_json(
            {
                "games": [
                    {
                        "name": e.name,
                        "summary": e.summary,
                        "parameters": [_param_json(p) for p in e.params],
                    }
                    for e in entries
                ]
            }
        )
        return 0
    for entry in entries:
        print(f"{entry.name}: {entry.summary}")
        print("\n".join(_param_lines(entry.params)))
    print(
        "\nname a game as NAME or NAME:key=value,..., e.g. "
        "dirac:loss=wgan,regularizer=wgan_gp,gamma=1"
    )
    return 0


def _rule_names(entry: RuleEntry) -> str:
    return entry.name + (f" (alias {', '.join(entry.aliases)})" if entry.aliases else "")


def _rules(args: argparse.Namespace) -> int:
    entries = list(RULES.values())
    if args.name is not None:
        entries = [parse_spec(args.name, RULES, "rule").entry]
    if args.json:
        _print_json(
            {
                "rules": [
                    {
                        "name": e.name,
                        "aliases": list(e.aliases),
                        "class": f"dynamics.{e.cls.__name__}",
                        "summary": e.summary,
                        "parameters": [_param_json(p) for p in e.params],
                        "linearizable": not e.cls.scale_invariant,
                    }
                    for e in entries
                ]
            }
        )
        return 0
    for entry in entries:
        print(f"{_rule_names(entry)}: dynamics.{entry.cls.__name__}, {entry.summary}")
        print("\n".join(_param_lines(entry.params)))
    print(
        "\nevery rule also takes lr (--lr LR, or --lr LR_G LR_D for two timescales); name a "
        "rule as NAME or NAME:key=value,..., e.g. momentum:beta=-0.5"
    )
    return 0


# -- spectrum -------------------------------------------------------------------------------


def _dense_spectrum(target: _Target) -> dict[str, Any]:
    from .stability import classify, step_size_bounds

    verdict = classify(target.game, target.point)
    J = games.jacobian(target.game, target.point)
    values = _ordered(verdict.eigenvalues)
    hessians = {}
    for i, player in enumerate(target.game.players):
        H = J.hessian(i)
        own = torch.linalg.eigvalsh(0.5 * (H + H.T)).flip(0)
        hessians[player] = [float(v) for v in own]
    return {
        "method": "dense",
        "eigenvalues": _pairs(values),
        "gd_step_bounds": [float(b) for b in step_size_bounds(values)],
        "flow_stable": verdict.flow_stable,
        "classification": verdict.kind,
        "nash": verdict.nash,
        # 0 when the flow is not stable: a real part within classify's tol of 0 is no margin
        "max_gd_step": verdict.max_gd_step if verdict.flow_stable else 0.0,
        "hessian_eigenvalues": hessians,
        "jacobian": J.matrix.tolist(),
    }


_WHICH = {"LM": "magnitude", "LI": "imaginary", "SR": "smallest_real", "LR": "largest_real"}
_WHICH_TEXT = {
    "LM": "largest magnitude",
    "LI": "largest |imaginary part|",
    "SR": "smallest real part",
    "LR": "largest real part",
}


def _matrix_free_spectrum(target: _Target, k: int, which: str) -> dict[str, Any]:
    from scipy.sparse.linalg import ArpackNoConvergence

    from .spectra import hessian_eigenvalues, top_eigenvalues
    from .stability import max_stable_step, step_size_bounds

    if not 1 <= k < target.n - 1:
        raise UsageError(f"--k: expected an int with 1 <= k < n - 1 = {target.n - 1}, got {k}")
    try:
        top = top_eigenvalues(target.game, target.point, k, which=_WHICH[which])
        hessians = {}
        for i, (player, size) in enumerate(zip(target.game.players, target.game.sizes)):
            # Lanczos from both ends needs k >= 2 (ARPACK's 'BE'); k < size
            count = min(max(k, 2), size - 1)
            if count >= 1:
                spectrum = hessian_eigenvalues(
                    target.game,
                    target.point,
                    i,
                    count,
                    which="both_ends" if count >= 2 else "largest",
                )
                hessians[player] = [float(v.real) for v in spectrum.values]
    except ArpackNoConvergence as error:
        raise UsageError(
            f"--which {which}: ARPACK did not converge ({_one_line(error)}); try --which LM "
            "or another --k"
        ) from None
    values = top.values
    flow = bool(np.all(values.real > 1e-9)) if which == "SR" else None
    return {
        "method": "arpack",
        "which": which,
        "k": k,
        "products": top.products,
        "eigenvalues": _pairs(values),
        "gd_step_bounds": [float(b) for b in step_size_bounds(values)],
        "flow_stable": flow,
        "max_gd_step_upper_bound": max_stable_step(values),
        "hessian_eigenvalues": hessians,
    }


def _spectrum(args: argparse.Namespace) -> int:
    target = _load_target(args)
    if target.source == "game":
        for option, value in (("--k", args.k), ("--which", args.which)):
            if value is not None:
                raise UsageError(
                    f"{option}: only for checkpoints (a named game's spectrum is dense: "
                    "every eigenvalue)"
                )
    field_norm = target.field_norm()
    result: dict[str, Any] = {
        "target": target.label,
        "source": target.source,
        target.source: target.details,
        "players": list(target.game.players),
        "sizes": list(target.game.sizes),
        "n": target.n,
        "point": [p.tolist() for p in target.point] if target.n <= 100 else None,
        "field_norm": field_norm,
    }
    if target.source == "game":
        result.update(_dense_spectrum(target))
    else:
        which = args.which or "LM"
        result.update(_matrix_free_spectrum(target, args.k or 6, which))
        if args.dense:
            result["dense"] = _dense_spectrum(target)
    if args.json:
        _print_json(result)
        return 0
    lines = _describe_target(target, field_norm)
    if result["method"] == "dense":
        lines += _dense_lines(target, result)
    else:
        lines += _matrix_free_lines(result)
        if args.dense:
            lines += ["", "dense spectrum (float64):", *_dense_lines(target, result["dense"])]
    print("\n".join(lines))
    return 0


def _dense_lines(target: _Target, result: dict[str, Any]) -> list[str]:
    lines = []
    values = np.array([complex(re, im) for re, im in result["eigenvalues"]])
    if target.n <= 6:
        for i, row in enumerate(result["jacobian"]):
            prefix = "Jacobian    [" if i == 0 else "            ["
            lines.append(prefix + "  ".join(_fmt(v, 4) for v in row) + "]")
    lines.append("eigenvalues of J (dense, float64), by decreasing |λ|:")
    lines += _eigenvalue_table(values)
    flow = (
        "locally stable (every Re λ > 0)"
        if result["flow_stable"]
        else "not asymptotically stable (some Re λ <= 0)"
    )
    lines.append(f"flow        {flow}")
    hessians = ", ".join(
        f"{player} {_fmt(min(v), 4)}" for player, v in result["hessian_eigenvalues"].items()
    )
    lines.append(
        f"point       {result['classification']} (smallest own-Hessian eigenvalue: {hessians})"
    )
    step = result["max_gd_step"]
    lines.append(
        f"GD          stable for one step size eta < {step:.6g}"
        if step > 0
        else "GD          no step size is stable (some Re λ <= 0)"
    )
    return lines


def _matrix_free_lines(result: dict[str, Any]) -> list[str]:
    values = np.array([complex(re, im) for re, im in result["eigenvalues"]])
    lines = [
        f"top {result['k']} eigenvalues of J by {_WHICH_TEXT[result['which']]} (ARPACK, "
        f"matrix-free, {result['products']} products):"
    ]
    lines += _eigenvalue_table(values)
    lines.append("own-Hessian eigenvalues (Lanczos, both ends of each player's spectrum):")
    for player, hv in result["hessian_eigenvalues"].items():
        lines.append(f"  {player}: " + "  ".join(_fmt(v) for v in hv))
    if result["flow_stable"] is None:
        lines.append("flow        not decided by these eigenvalues (--which SR decides it)")
    else:
        lines.append(
            "flow        locally stable (the smallest Re λ is > 0)"
            if result["flow_stable"]
            else "flow        not asymptotically stable (some Re λ <= 0)"
        )
    bound = result["max_gd_step_upper_bound"]
    lines.append(
        f"GD          no step size above {bound:.6g} is stable (bound from these eigenvalues)"
        if bound > 0
        else "GD          no step size is stable (some Re λ <= 0 among these)"
    )
    return lines


# -- stability ------------------------------------------------------------------------------


def _stability(args: argparse.Namespace) -> int:
    from .stability import max_stable_step, stability_region

    target = _load_target(args)
    rule = parse_spec(args.rule, RULES, "rule")
    entry = rule.entry
    if entry.cls.scale_invariant:
        usable = ", ".join(e.name for e in RULES.values() if not e.cls.scale_invariant)
        raise UsageError(
            f"--rule: {entry.name} normalises the gradient, so at a fixed point (zero "
            f"moments) its step is lr/eps times the gradient and its linearisation says "
            f"nothing; expected one of {usable}"
        )
    players = len(target.game.sizes)
    if target.n > args.max_dense:
        raise UsageError(
            f"--max-dense: the game has n = {target.n} parameters > {args.max_dense}; the "
            "step map is linearised densely (an n x n matrix): raise --max-dense to go ahead"
        )
    lr, ratio = _step_sizes(args.lr, players)
    fixed: dict[str, Any] = {"lr": lr, "ratio": ratio, **rule.values}
    params = {p.name: p for p in entry.params}
    axes = _check_axes(args, entry, rule.given, players, params)
    for axis in [a for a in axes if a.values.size == 1]:
        fixed[axis.name] = float(axis.values[0])
    axes = [a for a in axes if a.values.size > 1]
    if args.plot is not None and not axes:
        raise UsageError(
            "--plot: needs --grid with at least two values (the spectral radius against a "
            "hyper-parameter)"
        )

    def make(**changes: float) -> Any:
        values = {**fixed, **changes}
        step, r = values.pop("lr"), values.pop("ratio")
        for name, param in params.items():
            if param.kind == "int":
                values[name] = int(values[name])
        return build(entry, values, lr=step if r == 1.0 else [step, step * r])

    try:  # the rule's own checks of the game (players, JVPs) with the fixed values
        make().init(target.game, target.point)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--rule {entry.name} on {target.label}: {error}") from None

    field_norm = target.field_norm()
    J = games.jacobian(target.game, target.point).matrix.cpu().numpy()
    eigenvalues = np.linalg.eigvals(J)
    result: dict[str, Any] = {
        "target": target.label,
        "source": target.source,
        target.source: target.details,
        "n": target.n,
        "field_norm": field_norm,
        "rule": rule.text,
        "rule_class": f"dynamics.{entry.cls.__name__}",
        "rule_parameters": rule.values,
        "lr": None if any(a.name == "lr" for a in axes) else fixed["lr"],
        "ratio": None if any(a.name == "ratio" for a in axes) else fixed["ratio"],
        "flow_stable": bool(np.all(eigenvalues.real > 1e-9)),
        "max_gd_step": None,
        "spectral_radius": None,
        "grid": None,
        "best": None,
    }
    if entry.name == "gd" and all(a.name != "ratio" for a in axes):
        scale = np.ones(target.n)
        if players == 2:
            scale[target.game.sizes[0] :] = fixed["ratio"]
        scaled = np.linalg.eigvals(scale[:, None] * J)
        result["max_gd_step"] = max_stable_step(scaled) if bool(np.all(scaled.real > 1e-9)) else 0.0
    analytic = _analytic_pair(entry, target, fixed, [a.name for a in axes], field_norm)
    if not axes:
        result["spectral_radius"] = _radius(make(), target)
    else:
        grid: dict[str, Any] = {"axes": [a.name for a in axes]}
        grid["values"] = [a.values.tolist() for a in axes]
        if analytic is not None:
            assert entry.analytic is not None
            columns = {a.name: a.values for a in axes}
            for name in analytic:
                columns.setdefault(name, np.array([fixed[name]]))
            region = stability_region(target.game, target.point, entry.analytic, **columns)
            radius = region.spectral_radius if len(axes) == 2 else region.spectral_radius[:, 0]
            grid["method"] = "eigendecomposition"
        elif len(axes) == 2:
            region = stability_region(
                target.game, target.point, make, **{a.name: a.values for a in axes}
            )
            radius = region.spectral_radius
            grid["method"] = "linearize"
        else:
            radius = np.array(
                [_radius(make(**{axes[0].name: float(v)}), target) for v in axes[0].values]
            )
            grid["method"] = "linearize"
        grid["spectral_radius"] = radius.tolist()
        result["grid"] = grid
        best = np.unravel_index(int(np.argmin(radius)), radius.shape)
        result["best"] = {
            **{a.name: float(a.values[i]) for a, i in zip(axes, best)},
            "spectral_radius": float(radius[best]),
            "stable": bool(_stable(radius[best])),
        }
        if args.plot is not None:
            _plot(args.plot, axes, radius, f"{rule.text} on {target.label}")
    if args.json:
        _print_json(result)
        return 0
    print("\n".join(_stability_lines(target, field_norm, result, axes, players)))
    return 0


def _step_sizes(lr: Sequence[float] | None, players: int) -> tuple[float, float]:
    """``--lr LR`` or ``--lr LR_G LR_D`` as (lr, ratio = LR_D / LR_G)."""
    if lr is None:
        return 0.1, 1.0
    if len(lr) == 1:
        return lr[0], 1.0
    if len(lr) != 2 or players != 2:
        raise UsageError(
            "--lr: expected one step size, or two (generator, discriminator) for a "
            f"two-player game, got {len(lr)} for {players} players"
        )
    if lr[0] == 0:
        raise UsageError("--lr: expected LR_G > 0 when LR_D is given (ratio LR_D / LR_G)")
    return lr[0], lr[1] / lr[0]


def _check_axes(
    args: argparse.Namespace,
    entry: RuleEntry,
    given: frozenset[str],
    players: int,
    params: dict[str, Param],
) -> list[_Axis]:
    axes: list[_Axis] = args.grid or []
    names = [a.name for a in axes]
    numeric = [p.name for p in entry.params if p.kind in ("int", "float")]
    allowed = ["lr", *(["ratio"] if players == 2 else []), *numeric]
    if len(axes) > 2:
        raise UsageError(f"--grid: expected at most two axes (a line or a map), got {names}")
    if len(set(names)) != len(names):
        raise UsageError(f"--grid: an axis is given twice: {names}")
    for axis in axes:
        where = f"--grid {axis.name}"
        if axis.name not in allowed:
            raise UsageError(
                f"{where}: unknown axis for rule {entry.name}, expected one of {', '.join(allowed)}"
            )
        if axis.name == "lr" and args.lr is not None:
            raise UsageError(f"{where}: the step size is given by --lr too; give one of the two")
        if axis.name == "ratio" and args.lr is not None and len(args.lr) == 2:
            raise UsageError(f"{where}: --lr LR_G LR_D fixes the ratio already; give one")
        if axis.name in given:
            raise UsageError(f"{where}: {axis.name} is given in --rule too; give one of the two")
        if axis.name in ("lr", "ratio"):
            if np.any(axis.values < 0):
                bad = float(axis.values[axis.values < 0][0])
                what = "step sizes" if axis.name == "lr" else "ratios"
                raise UsageError(f"{where}: expected {what} >= 0, got {bad:g}")
        else:
            for value in axis.values:
                params[axis.name].check(float(value), "--grid")
    return axes


def _analytic_pair(
    entry: RuleEntry,
    target: _Target,
    fixed: dict[str, Any],
    axes: Sequence[str],
    field_norm: float,
) -> tuple[str, str] | None:
    """The axes of :func:`analyses.stability_region`'s eigendecompose-once path, when it
    gives exactly this rule's linearisation: GD anywhere (I - DJ); extragradient,
    proximal and consensus at a fixed point or on an affine game (their linearisations
    elsewhere involve J at other points or second derivatives)."""
    if entry.analytic is None or len(target.game.sizes) != 2:
        return None
    affine = hasattr(target.game, "affine_field")
    if entry.analytic != "gd" and not (affine or field_norm < 1e-12):
        return None
    if entry.analytic == "proximal" and not affine:
        return None  # ProximalPoint iterates a fixed-point map on non-affine games
    if entry.analytic == "consensus":
        pair = ("lr", "gamma")
        if fixed["ratio"] != 1.0:
            return None
    else:
        pair = ("lr", "ratio")
    return pair if all(a in pair for a in axes) else None


def _radius(rule: Any, target: _Target) -> float:
    from dynamics import linearize

    return linearize(rule, target.game, target.point).spectral_radius


def _plot(path: str, axes: Sequence[_Axis], radius: np.ndarray, title: str) -> None:
    from matplotlib.figure import Figure

    from .plots import SpectralRadiusDisplay, StabilityRegionDisplay
    from .stability import StabilityRegion

    figure = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = figure.add_subplot()
    if len(axes) == 1:
        SpectralRadiusDisplay.from_values(axes[0].values, radius, axes[0].name, title=title).plot(
            ax=ax, log_x=axes[0].log
        )
    else:
        region = StabilityRegion(
            (axes[0].name, axes[1].name), axes[0].values, axes[1].values, radius
        )
        StabilityRegionDisplay.from_region(region, title=title).plot(
            ax=ax, log_axes=(axes[0].log, axes[1].log)
        )
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as error:
        raise UsageError(f"--plot: cannot write {path!r} ({_one_line(error)})") from None


_RHO_TOL = 1e-9  # |rho - 1| below this is "marginal": round-off decides nothing


def _stable(rho: float | np.ndarray) -> Any:
    return np.asarray(rho) < 1.0 - _RHO_TOL


def _verdict(rho: float) -> str:
    if rho < 1.0 - _RHO_TOL:
        return "converges"
    return "diverges" if rho > 1.0 + _RHO_TOL else "marginal"


def _stability_lines(
    target: _Target,
    field_norm: float,
    result: dict[str, Any],
    axes: Sequence[_Axis],
    players: int,
) -> list[str]:
    lines = _describe_target(target, field_norm)
    lr, ratio = result["lr"], result["ratio"]  # None: a grid axis
    parts = ["lr on the grid" if lr is None else f"lr = {lr:g}"]
    if ratio is None:
        parts.append("ratio on the grid")
    elif ratio != 1.0 and lr is None:
        parts.append(f"ratio {ratio:g} (discriminator step / generator step)")
    elif ratio != 1.0:
        a, b = target.game.players
        parts = [f"lr = {lr:g} ({a}), {lr * ratio:g} ({b}): ratio {ratio:g}"]
    lines.append(f"rule        {result['rule']} ({result['rule_class']}), {', '.join(parts)}")
    lines.append(
        "flow        "
        + (
            "locally stable (every Re λ of J > 0)"
            if result["flow_stable"]
            else "not asymptotically stable (some Re λ of J <= 0)"
        )
    )
    if result["max_gd_step"] is not None:
        step = result["max_gd_step"]
        lines.append(
            f"GD          stable iff lr < {step:.6g} (min over λ of 2Re λ/|λ|²"
            + (f", with ratio {ratio:g})" if ratio not in (None, 1.0) else ")")
            if step > 0
            else "GD          no step size is stable (some Re λ <= 0)"
        )
    if result["grid"] is None:
        rho = result["spectral_radius"]
        relation = {"converges": "<", "diverges": ">", "marginal": "="}[_verdict(rho)]
        lines.append(
            f"rho         {rho:.6f}: the spectral radius of the step map's Jacobian; "
            f"{_verdict(rho)} locally (rho {relation} 1)"
        )
        return lines
    grid = result["grid"]
    radius = np.asarray(grid["spectral_radius"])
    lines.append(f"spectral radius of the step map over the grid ({grid['method']}):")
    if len(axes) == 1:
        rows = [[f"{v:.6g}", f"{r:.6f}", _verdict(r)] for v, r in zip(axes[0].values, radius)]
        lines += _table([axes[0].name, "rho", ""], rows)
        stable = axes[0].values[_stable(radius)]
        lines.append(
            f"stable      for {stable.size} of {radius.size} values of {axes[0].name}"
            + (f", from {stable.min():.6g} to {stable.max():.6g}" if stable.size else "")
        )
    else:
        a, b = axes
        rows = [
            [f"{va:.6g}", f"{vb:.6g}", f"{radius[i, j]:.6f}", _verdict(radius[i, j])]
            for i, va in enumerate(a.values)
            for j, vb in enumerate(b.values)
        ]
        lines += _table([a.name, b.name, "rho", ""], rows)
        lines.append(f"stable      at {int(_stable(radius).sum())} of {radius.size} grid points")
    best = result["best"]
    where = ", ".join(f"{a.name} = {best[a.name]:.6g}" for a in axes)
    lines.append(
        f"best        {where}: rho = {best['spectral_radius']:.6f} "
        f"({_verdict(best['spectral_radius'])})"
    )
    return lines


_GAMES_EPILOG = """\
examples:
  gamedyn games
  gamedyn games dirac
  gamedyn games --json
"""

_RULES_EPILOG = """\
examples:
  gamedyn rules
  gamedyn rules momentum
  gamedyn rules --json
"""

_TARGET_HELP = (
    "a named game, NAME or NAME:key=value,... (see 'gamedyn games'), e.g. "
    "dirac:regularizer=r1,gamma=1; or a checkpoint file or folder written by 'gamedyn train' "
    "(write ./NAME for a folder named like a game)"
)

_SPECTRUM_EPILOG = """\
examples:
  gamedyn spectrum xy
  gamedyn spectrum dirac:loss=standard,regularizer=r1,gamma=0.3
  gamedyn spectrum zero_sum:p=1,q=2,r=3 --point 0.5 -0.5 --json
  gamedyn spectrum runs/ring/checkpoint.pt --k 10 --which LI
  gamedyn spectrum runs/ring --which SR --batch-size 512 --dense

A named game is analysed densely (every eigenvalue, the Jacobian, the classification of
the point).  A checkpoint's GAN is rebuilt from the configuration stored in it, in
fixed-batch mode, at the checkpoint's parameters, and its top-k eigenvalues are computed
matrix-free (ARPACK), with each player's own-Hessian eigenvalues (Lanczos).  The flow
d theta/dt = -xi is locally stable iff every Re λ > 0 (--which SR decides it for a
checkpoint); simultaneous GD with one step size eta is stable iff eta < 2 Re λ / |λ|^2
for every λ.
"""

_STABILITY_EPILOG = """\
examples:
  gamedyn stability xy --rule gd --lr 0.1
  gamedyn stability xy --rule extragradient --grid lr=0.1:1:10
  gamedyn stability dirac:regularizer=r1,gamma=1 --lr 0.5 1.0
  gamedyn stability dirac:regularizer=r1,gamma=1 --rule momentum --grid beta=-0.9:0.9:19 --lr 0.5
  gamedyn stability dirac:regularizer=r1,gamma=1 --grid lr=0.01:5:100 --grid ratio=0.1:10:30:log --plot region.png
  gamedyn stability runs/ring/checkpoint.pt --rule gd --grid lr=1e-4:1:40:log --json

The spectral radius rho of the Jacobian of one step of the rule at the point, over the
parameters and the rule's buffers (momentum, previous gradient, ...): rho < 1 means
locally linearly convergent.  Grid axes are lr, ratio (the discriminator's step divided
by the generator's) and the rule's numeric hyper-parameters; a grid is a line (one
axis, --plot draws rho against it) or a map (two axes, --plot draws a heatmap with the
boundary rho = 1).  Step maps are linearised densely (dynamics.linearize), or for gd
(and extragradient, proximal, consensus at a fixed point) by one eigendecomposition of J
per value of the second axis (analyses.stability_region).
"""


# -- path angle and logged spectra (analyses.training) ----------------------------------------


def _alphas(text: str) -> np.ndarray:
    try:
        return _grid_axis(f"alpha={text}").values
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP:NUM or A1,A2,..., got {text!r}"
        ) from None


def _path_angle(args: argparse.Namespace) -> int:
    from .training import PathAngleDisplay, path_angle

    targets = []
    for text in (args.checkpoint_a, args.checkpoint_b):
        one = argparse.Namespace(
            target=text, point=None, batch_size=args.batch_size, batch_seed=args.batch_seed
        )
        targets.append(_checkpoint_target(one))
    a, b = targets
    if list(a.game.sizes) != list(b.game.sizes):
        raise UsageError(
            f"CKPT_A, CKPT_B: the networks differ (parameter sizes {list(a.game.sizes)} and "
            f"{list(b.game.sizes)}); a path needs two points of one game"
        )
    keys = ("loss", "regularizer", "gamma")
    if any(a.details[key] != b.details[key] for key in keys):
        theirs = ", ".join(f"{key} {a.details[key]}/{b.details[key]}" for key in keys)
        raise UsageError(f"CKPT_A, CKPT_B: trained on different games ({theirs})")
    try:
        result = path_angle(a.game, a.point, b.point, args.alphas)
    except ValueError as error:
        raise UsageError(f"CKPT_A, CKPT_B: {_one_line(error)}") from None
    payload: dict[str, Any] = {
        "checkpoint_a": a.details,
        "checkpoint_b": b.details,
        "players": list(a.game.players),
        "sizes": list(a.game.sizes),
        **result.to_dict(),
    }
    if args.plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7.0, 4.6), layout="constrained")
        labels = (f"step {a.details['step']}", f"step {b.details['step']}")
        PathAngleDisplay.from_path_angle(
            result, labels=labels, title=f"path angle: {a.label} -> {b.label}"
        ).plot(ax=figure.add_subplot())
        try:
            figure.savefig(args.plot, dpi=120)
        except (OSError, ValueError) as error:
            raise UsageError(f"--plot: cannot write {args.plot!r} ({_one_line(error)})") from None
    if args.json:
        _print_json(payload)
        return 0
    lines = [
        f"path        theta(alpha) = A + alpha (B - A), |B - A| = {result.distance:.6g}",
        f"A           {a.label} (step {a.details['step']})",
        f"B           {b.label} (step {b.details['step']})",
        f"game        the ParameterizedGAN rebuilt from A's configuration, fixed batch of "
        f"{a.details['batch_size']} drawn with seed {a.details['batch_seed']}",
    ]
    headers = ["alpha", "cos(xi, B - A)", "|xi|^2"]
    headers += [f"cos {p}" for p in result.players] + [f"loss {p}" for p in result.players]
    rows = []
    for i, alpha in enumerate(result.alphas):
        row = [f"{alpha:+.3f}", f"{result.cosine[i]:+.4f}", f"{result.field_norm_sq[i]:.4g}"]
        row += [f"{result.player_cosines[p][i]:+.4f}" for p in result.players]
        row += [f"{result.losses[p][i]:.4f}" for p in result.players]
        rows.append(row)
    lines += _table(headers, rows)
    if args.plot is not None:
        lines.append(f"plot        {args.plot}")
    print("\n".join(lines))
    return 0


def _spectrum_log(args: argparse.Namespace) -> int:
    from .training import SpectraAlongTrainingDisplay, load_spectra_log

    try:
        records = load_spectra_log(args.run)
    except FileNotFoundError:
        raise UsageError(
            f"RUN: no spectra log in {args.run!r} (train with an analyses.SpectraRecorder "
            "callback to write spectra.jsonl)"
        ) from None
    except ValueError as error:
        raise UsageError(f"RUN: {_one_line(error)}") from None
    if not records:
        raise UsageError(f"RUN: the spectra log in {args.run!r} holds no records")
    display = SpectraAlongTrainingDisplay.from_records(
        records, title=f"spectra along training: {args.run}"
    )
    summary = display.summary()
    if args.plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(16, 4.6), layout="constrained")
        display.plot(ax=figure.subplots(1, 3))
        try:
            figure.savefig(args.plot, dpi=120)
        except (OSError, ValueError) as error:
            raise UsageError(f"--plot: cannot write {args.plot!r} ({_one_line(error)})") from None
    players = list(summary["hessian_min"])
    if args.json:
        _print_json(
            {
                "steps": summary["steps"].tolist(),
                **{
                    key: [None if not math.isfinite(v) else float(v) for v in summary[key]]
                    for key in ("max_abs_imag", "max_abs", "min_real")
                },
                "hessian_min": {p: summary["hessian_min"][p].tolist() for p in players},
                "hessian_max": {p: summary["hessian_max"][p].tolist() for p in players},
                "records": records,
            }
        )
        return 0
    headers = ["step", "|xi|", "max |Im λ|", "max |λ|", "min Re λ"]
    headers += [f"{p} H min..max" for p in players]
    rows = []
    for i, record in enumerate(records):
        row = [
            str(summary["steps"][i]),
            f"{record.get('field_norm', float('nan')):.4g}",
            f"{summary['max_abs_imag'][i]:.4g}",
            f"{summary['max_abs'][i]:.4g}",
            f"{summary['min_real'][i]:+.4g}",
        ]
        row += [
            f"{summary['hessian_min'][p][i]:+.3g}..{summary['hessian_max'][p][i]:+.3g}"
            for p in players
        ]
        rows.append(row)
    lines = [
        f"spectra of {len(records)} steps (top eigenvalues of J on a fixed batch, matrix-free; "
        "min Re λ is among those computed)"
    ]
    lines += _table(headers, rows)
    if args.plot is not None:
        lines.append(f"plot        {args.plot}")
    print("\n".join(lines))
    return 0


_PATH_ANGLE_EPILOG = """\
examples:
  gamedyn path-angle runs/ring/early.pt runs/ring/checkpoint.pt
  gamedyn path-angle runs/a runs/b --alphas -0.5:1.5:41 --plot path.png
  gamedyn path-angle runs/a/checkpoint.pt runs/b/checkpoint.pt --alphas 0,0.5,1 --json

Along theta(alpha) = A + alpha (B - A) (Berard et al. 2020), the cosine between the game's
vector field xi and the path direction B - A, |xi|^2, each player's cosine (its block of xi
against its block of B - A) and each player's loss.  The game is the GAN rebuilt from A's
stored configuration on one fixed batch (as for gamedyn spectrum); both checkpoints must
have the same networks and loss.
"""

_SPECTRUM_LOG_EPILOG = """\
examples:
  gamedyn spectrum-log runs/ring
  gamedyn spectrum-log runs/ring/spectra.jsonl --plot spectra.png

Reads spectra.jsonl, written during training by the analyses.SpectraRecorder callback
(top eigenvalues of the game Jacobian and both ends of each player's Hessian, on a
fixed batch, every N steps), and prints per step the largest |Im λ| (rotation), the
largest |λ|, the smallest Re λ among those computed and each Hessian's extremes.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``gamedyn`` command."""
    parser = _Parser(
        prog="gamedyn", description="Training dynamics of differentiable games, GANs first."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"gamedyn {games.__version__} (torch {torch.__version__})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from . import report as _report_module

    report = sub.add_parser(
        "report",
        help="run the canonical studies and write the report folder",
        description="Run the canonical studies (x·y game, Dirac-GAN regularisers, "
        "two-timescale map, unroll depth, function-space GAN, a small neural GAN) and write "
        "index.html, the figures (PNG and SVG) and summary.json to --out.",
    )
    _report_module.add_arguments(report)
    report.set_defaults(func=_report_module.run)
    train = sub.add_parser(
        "train",
        help="train a neural GAN from a TOML configuration (resumes from OUT's checkpoint)",
        description="Train a neural GAN from a TOML configuration file (see docs/training.md); "
        "logs, samples and the checkpoint go to --out, and an existing checkpoint there "
        "is resumed exactly.",
    )
    train.add_argument("config", help="TOML configuration file")
    train.add_argument("--out", required=True, help="output folder (log.jsonl, checkpoint.pt)")
    train.add_argument("--steps", type=int, default=None, help="override the number of steps")
    train.add_argument("--seed", type=int, default=None, help="override the seed")
    train.add_argument("--device", default=None, help="auto, cpu or cuda[:N]")
    train.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    train.set_defaults(func=_train)

    raw = argparse.RawDescriptionHelpFormatter  # keeps the epilogs' examples as written

    def wrapped(text: str) -> str:
        return textwrap.fill(text, 88)

    games_parser = sub.add_parser(
        "games",
        help="list the named games, with their parameters",
        description=wrapped(
            "List the named games that spectrum and stability analyse, each with a "
            "one-line description and its parameters (type, allowed values, default).  Name a "
            "game as NAME or NAME:key=value,..., e.g. dirac:loss=wgan,regularizer=wgan_gp,gamma=1."
        ),
        epilog=_GAMES_EPILOG,
        formatter_class=raw,
    )
    games_parser.add_argument("name", nargs="?", help="show this game only")
    games_parser.add_argument("--json", action="store_true", help="machine-readable output")
    games_parser.set_defaults(func=_games)

    rules = sub.add_parser(
        "rules",
        help="list the update rules, with their hyper-parameters",
        description=wrapped(
            "List the update rules of the dynamics package that stability "
            "linearises, each with its class, a one-line description and its hyper-parameters "
            "besides the step size lr.  Name a rule as NAME or NAME:key=value,..., e.g. "
            "momentum:beta=-0.5."
        ),
        epilog=_RULES_EPILOG,
        formatter_class=raw,
    )
    rules.add_argument("name", nargs="?", help="show this rule only")
    rules.add_argument("--json", action="store_true", help="machine-readable output")
    rules.set_defaults(func=_rules)

    spectrum = sub.add_parser(
        "spectrum",
        help="eigenvalues of the game Jacobian at a point (named game or checkpoint)",
        description=wrapped(
            "Eigenvalues of the Jacobian J = d xi / d theta of the game's vector "
            "field at its equilibrium (or --point), the stability of the flow and the kind of "
            "point; for a checkpoint, the top-k eigenvalues matrix-free at its parameters."
        ),
        epilog=_SPECTRUM_EPILOG,
        formatter_class=raw,
    )
    spectrum.add_argument("target", metavar="GAME|CHECKPOINT", help=_TARGET_HELP)
    _point_arguments(spectrum)
    spectrum.add_argument(
        "--k",
        type=_positive_int,
        default=None,
        help="checkpoints: how many eigenvalues of J (and of each player's Hessian); default 6",
    )
    spectrum.add_argument(
        "--which",
        choices=tuple(_WHICH),
        default=None,
        help="checkpoints: which eigenvalues, by largest magnitude (LM, default), largest "
        "|imaginary part| (LI), smallest real part (SR: decides the flow's stability; slower) "
        "or largest real part (LR)",
    )
    spectrum.add_argument(
        "--dense",
        action="store_true",
        help="checkpoints: also the dense spectrum and the classification (small networks)",
    )
    spectrum.add_argument("--json", action="store_true", help="machine-readable output")
    spectrum.set_defaults(func=_spectrum)

    stability = sub.add_parser(
        "stability",
        help="spectral radius of an update rule's step map at a point, over a grid",
        description=wrapped(
            "The spectral radius of the Jacobian of one step of an update rule at "
            "the game's equilibrium (or --point, or a checkpoint's parameters), the largest "
            "stable step size of simultaneous GD, and optionally the spectral radius over a "
            "grid of one or two hyper-parameters with the best value."
        ),
        epilog=_STABILITY_EPILOG,
        formatter_class=raw,
    )
    stability.add_argument("target", metavar="GAME|CHECKPOINT", help=_TARGET_HELP)
    stability.add_argument(
        "--rule",
        default="gd",
        metavar="RULE",
        help="the update rule, NAME or NAME:key=value,... (see 'gamedyn rules'); default gd",
    )
    stability.add_argument(
        "--lr",
        type=_nonnegative_step,
        nargs="+",
        default=None,
        metavar="LR",
        help="step size (default 0.1), or two: the generator's and the discriminator's",
    )
    stability.add_argument(
        "--grid",
        type=_grid_axis,
        action="append",
        default=None,
        metavar="KEY=RANGE",
        help="a grid axis, KEY=START:STOP:NUM (linear), KEY=START:STOP:NUM:log or "
        "KEY=V1,V2,...; KEY is lr, ratio (discriminator step / generator step) or a "
        "numeric hyper-parameter of the rule; give it once or twice",
    )
    _point_arguments(stability)
    stability.add_argument(
        "--max-dense",
        type=_positive_int,
        default=2000,
        metavar="N",
        help="refuse games with more than N parameters (the linearisation is a dense "
        "n x n matrix); default 2000",
    )
    stability.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="with --grid: draw the spectral radius (one axis) or the stability region "
        "(two axes) to FILE (.png, .svg, .pdf)",
    )
    stability.add_argument("--json", action="store_true", help="machine-readable output")
    stability.set_defaults(func=_stability)

    path_angle = sub.add_parser(
        "path-angle",
        help="cosine between the vector field and the segment between two checkpoints",
        description=wrapped(
            "The path-angle study of Berard et al. (2020) between two checkpoints: along "
            "the segment theta(alpha) = A + alpha (B - A), the cosine between xi and B - A "
            "and |xi|^2 (and per player), on one fixed batch."
        ),
        epilog=_PATH_ANGLE_EPILOG,
        formatter_class=raw,
    )
    # '--alphas -0.2:1.2:29' is a value, not an option: widen argparse's test for
    # negative numbers to ranges and lists (this parser has no option like '-1')
    path_angle._negative_number_matcher = re.compile(r"^-\d*\.?\d+(?:[eE][-+]?\d+)?(?:[:,].*)?$")
    path_angle.add_argument("checkpoint_a", metavar="CKPT_A", help="checkpoint file or run folder")
    path_angle.add_argument("checkpoint_b", metavar="CKPT_B", help="checkpoint file or run folder")
    path_angle.add_argument(
        "--alphas",
        type=_alphas,
        default=None,
        metavar="RANGE",
        help="points of the segment, START:STOP:NUM or A1,A2,...; default -0.2:1.2:29",
    )
    path_angle.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="size of the fixed batch (default: A's training batch size)",
    )
    path_angle.add_argument(
        "--batch-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the fixed batch (default: A's seed + 1)",
    )
    path_angle.add_argument("--plot", default=None, metavar="FILE", help="draw the plot to FILE")
    path_angle.add_argument("--json", action="store_true", help="machine-readable output")
    path_angle.set_defaults(func=_path_angle)

    spectrum_log = sub.add_parser(
        "spectrum-log",
        help="the spectra logged along a training run (spectra.jsonl)",
        description=wrapped(
            "Summarise and plot the spectra that analyses.SpectraRecorder logged along "
            "training: rotation, stability and each player's Hessian against steps."
        ),
        epilog=_SPECTRUM_LOG_EPILOG,
        formatter_class=raw,
    )
    spectrum_log.add_argument("run", metavar="RUN", help="run folder or spectra.jsonl")
    spectrum_log.add_argument(
        "--plot", default=None, metavar="FILE", help="draw the three panels to FILE"
    )
    spectrum_log.add_argument("--json", action="store_true", help="machine-readable output")
    spectrum_log.set_defaults(func=_spectrum_log)
    return parser


def _point_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--point",
        type=_finite_float,
        nargs="+",
        default=None,
        metavar="X",
        help="named games: the point, all n parameters flat in player order (default: the "
        "game's equilibrium)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="checkpoints: size of the fixed batch (default: the training batch size)",
    )
    parser.add_argument(
        "--batch-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="checkpoints: seed of the fixed batch (default: the run's seed + 1)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gamedyn`` console command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except UsageError as error:
        print(f"gamedyn: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `gamedyn games | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
