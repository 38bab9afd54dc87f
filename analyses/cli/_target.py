"""What ``spectrum`` and ``stability`` analyse: a named game at a point, or a checkpoint.

``GAME|CHECKPOINT`` is a named game (``NAME:key=value,...``, see ``gamedyn games``) at its
equilibrium or ``--point``, or a checkpoint written by ``gamedyn train``, rebuilt by
:func:`analyses.checkpoint_game` on a fixed batch (``--batch-size``, ``--batch-seed``).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import games

from .._registry import GAMES, Param, UsageError, build, parse_spec
from ._common import finite_float, fmt, nonnegative_int, one_line, positive_float, positive_int
from ._names import INNER_RULES

if TYPE_CHECKING:
    import torch

__all__ = [
    "TARGET_HELP",
    "UNROLL_KEYS",
    "Target",
    "add_point_arguments",
    "add_target_argument",
    "add_unroll_arguments",
    "checkpoint_target",
    "describe_target",
    "load_target",
    "split_unroll",
]

TARGET_HELP = (
    "a named game, NAME or NAME:key=value,... (see 'gamedyn games'), e.g. "
    "dirac:regularizer=r1,gamma=1 or dirac:unroll=5,unroll_lr=0.1; or a checkpoint file or folder written by 'gamedyn train' "
    "(write ./NAME for a folder named like a game)"
)


@dataclass
class Target:
    """A game and a point, with what the output says about them.

    Attributes
    ----------
    label : str
        The game's canonical name or the checkpoint's file.
    source : {"game", "checkpoint"}
    game, point
        What is analysed.
    where : {"equilibrium", "--point", "checkpoint"}
        Where the point comes from.
    details : dict
        The JSON output's ``game`` or ``checkpoint`` entry.
    """

    label: str
    source: str
    game: Any
    point: tuple[torch.Tensor, ...]
    where: str
    details: dict[str, Any]

    @property
    def n(self) -> int:
        """The number of parameters."""
        return int(sum(self.game.sizes))

    def field_norm(self) -> float:
        """``|xi|`` at the point."""
        import torch

        xi = games.flatten_params(games.vector_field(self.game, self.point))
        return float(torch.linalg.vector_norm(xi))

    def describe_players(self) -> str:
        """``G (120), D (115)``."""
        return ", ".join(f"{p} ({s})" for p, s in zip(self.game.players, self.game.sizes))


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``GAME|CHECKPOINT``."""
    parser.add_argument("target", metavar="GAME|CHECKPOINT", help=TARGET_HELP)


def add_point_arguments(parser: argparse.ArgumentParser) -> None:
    """``--point`` (named games), ``--batch-size`` and ``--batch-seed`` (checkpoints)."""
    parser.add_argument(
        "--point",
        type=finite_float,
        nargs="+",
        default=None,
        metavar="X",
        help="named games: the point, all n parameters flat in player order (default: the "
        "game's equilibrium)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
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


def add_unroll_arguments(parser: argparse.ArgumentParser) -> None:
    """``--unroll K`` with ``--unroll-lr`` and ``--unroll-inner`` (games and checkpoints)."""
    parser.add_argument(
        "--unroll",
        type=nonnegative_int,
        default=None,
        metavar="K",
        help="analyse the unrolled game, the generator looking K discriminator steps ahead "
        "(games.unrolled; a checkpoint's inner rule and step come from its stored [unroll] "
        "section); default 0, the base game",
    )
    parser.add_argument(
        "--unroll-lr",
        type=positive_float,
        default=None,
        metavar="LR",
        help="with --unroll: the inner step size (named games: required; checkpoints: "
        "default the stored unroll.lr)",
    )
    parser.add_argument(
        "--unroll-inner",
        choices=INNER_RULES,
        default=None,
        metavar="INNER",
        help=f"with --unroll: the inner rule, {' or '.join(INNER_RULES)} (named games: "
        "default sgd; checkpoints: default the stored unroll.inner)",
    )


UNROLL_KEYS: dict[str, tuple[Param, str]] = {
    param.name: (param, option)
    for param, option in (
        (Param("unroll", "int", 0, "unroll depth K (as --unroll)", low=0), "--unroll"),
        (
            Param(
                "unroll_lr",
                "float",
                None,
                "inner step size (as --unroll-lr)",
                low=0.0,
                open_low=True,
            ),
            "--unroll-lr",
        ),
        (
            Param(
                "unroll_inner",
                "choice",
                "sgd",
                "inner rule (as --unroll-inner)",
                choices=INNER_RULES,
            ),
            "--unroll-inner",
        ),
    )
}
"""The keys of a named game's specification that unroll it (``dirac:unroll=5,unroll_lr=0.1``),
with the options they stand for."""


def split_unroll(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME:key=value,...`` without its unroll keys, and their parsed values.

    ``dirac:regularizer=r1,unroll=5,unroll_lr=0.1`` gives ``("dirac:regularizer=r1",
    {"unroll": 5, "unroll_lr": 0.1})``; ``unroll-lr`` is ``unroll_lr``.

    Raises
    ------
    SpecError
        A bad value, or an unroll key given twice.
    """
    name, sep, rest = text.partition(":")
    if not sep:
        return text, {}
    kept, found = [], {}
    for item in rest.split(","):
        key, eq, value = (part.strip() for part in item.partition("="))
        key = key.replace("-", "_")
        if eq and key in UNROLL_KEYS:
            if key in found:
                raise UsageError(f"{name.strip()}: key {key!r} given twice")
            found[key] = UNROLL_KEYS[key][0].parse(value, name.strip())
        else:
            kept.append(item)
    return name + (":" + ",".join(kept) if any(k.strip() for k in kept) else ""), found


def _merge_unroll(args: argparse.Namespace) -> tuple[str, argparse.Namespace]:
    """The game's specification without unroll keys, and ``args`` with them as options;
    a setting given both ways is a one-line error."""
    text, keys = split_unroll(args.target)
    if not keys:
        return text, args
    merged = argparse.Namespace(**vars(args))
    for key, value in keys.items():
        option = UNROLL_KEYS[key][1]
        if getattr(args, key, None) is not None:
            raise UsageError(
                f"{option}: {key} is given in the game {args.target!r} too; give one of the two"
            )
        setattr(merged, key, value)
    return text, merged


def _is_checkpoint(text: str) -> bool:
    name = text.partition(":")[0]
    pathlike = "/" in text or os.sep in text or text.endswith(".pt")
    if name in GAMES and not pathlike:
        return False
    return pathlike or Path(text).exists()


def load_target(args: argparse.Namespace) -> Target:
    """The target named by ``args.target`` (with ``--point``, ``--batch-size``, ``--batch-seed``)."""
    if not args.target.strip():
        raise UsageError(
            "GAME|CHECKPOINT: expected a game name (see 'gamedyn games') or a checkpoint file "
            "or folder, got an empty string"
        )
    if _is_checkpoint(args.target):
        return checkpoint_target(args)
    name = args.target.partition(":")[0].strip()
    if name not in GAMES:
        raise UsageError(
            f"GAME|CHECKPOINT: unknown game {name!r} and no such checkpoint; expected one of "
            f"{', '.join(GAMES)} (see 'gamedyn games') or a checkpoint file or folder written "
            "by 'gamedyn train'"
        )
    return _game_target(args)


def _unrolled_named_game(args: argparse.Namespace, base: Any) -> tuple[Any, dict[str, Any]]:
    """``--unroll K --unroll-lr LR [--unroll-inner R]`` on a named two-player game."""
    steps = getattr(args, "unroll", None) or 0
    lr = getattr(args, "unroll_lr", None)
    inner = getattr(args, "unroll_inner", None)
    if steps == 0:
        for option, value in (("--unroll-lr", lr), ("--unroll-inner", inner)):
            if value is not None:
                raise UsageError(f"{option}: only with --unroll K (or unroll=K), K >= 1")
        return base, {}
    if lr is None:
        raise UsageError(
            "--unroll-lr: required with --unroll for a named game (or unroll_lr= in the game: "
            "the discriminator's inner step size; a checkpoint takes it from its training "
            "configuration)"
        )
    if len(base.sizes) != 2:
        raise UsageError(
            f"--unroll: expected a two-player game (generator, discriminator), got "
            f"{len(base.sizes)} players"
        )
    try:
        game = games.unrolled(base, steps, lr=lr, inner=inner or "sgd")
    except (TypeError, ValueError) as error:
        raise UsageError(f"--unroll: {one_line(error)}") from None
    return game, {"unrolled": {"steps": steps, "lr": lr, "inner": inner or "sgd"}}


def _game_target(args: argparse.Namespace) -> Target:
    text, args = _merge_unroll(args)
    for option, value in (
        ("--batch-size", args.batch_size),
        ("--batch-seed", args.batch_seed),
    ):
        if value is not None:
            raise UsageError(
                f"{option}: only for checkpoints (a named game has no minibatch and no "
                "training configuration)"
            )
    spec = parse_spec(text, GAMES, "game")
    base = build(spec.entry, spec.values)
    game, unrolled = _unrolled_named_game(args, base)
    n = int(sum(game.sizes))
    if args.point is not None:
        if len(args.point) != n:
            players = ", ".join(f"{p} {s}" for p, s in zip(game.players, game.sizes))
            raise UsageError(
                f"--point: expected n = {n} numbers ({players}), got {len(args.point)}"
            )
        import torch

        point = games.unflatten_params(game, torch.tensor(args.point, dtype=torch.float64))
        where = "--point"
    else:
        # an equilibrium of the base game (the discriminator's gradient vanishes there, so
        # the inner steps stay put) is a fixed point of the unrolled game too
        point = base.equilibrium()
        if point is None:
            raise UsageError(
                f"{spec.text}: the game has no equilibrium (xi = 0 has no solution); give --point"
            )
        where = "equilibrium"
    details = {"name": spec.entry.name, "parameters": spec.values, **unrolled}
    label = spec.text if not unrolled else f"{spec.text}, unrolled K = {args.unroll}"
    return Target(label, "game", game, tuple(point), where, details)


# library keywords -> the options that set them, for the library's messages
_OPTIONS = {
    "batch_size": "--batch-size",
    "batch_seed": "--batch-seed",
    "unroll_lr": "--unroll-lr",
    "unroll_inner": "--unroll-inner",
    "unroll": "--unroll",
}


def checkpoint_target(args: argparse.Namespace) -> Target:
    """The checkpoint ``args.target``'s GAN on a fixed batch, at its parameters
    (:func:`analyses.checkpoint_game`; unrolled with ``--unroll K``)."""
    from gan_models import TrainConfig

    from ..checkpoints import checkpoint_game

    if args.point is not None:
        raise UsageError(
            "--point: only for named games (a checkpoint is analysed at its own parameters)"
        )
    unroll = getattr(args, "unroll", None) or 0
    try:
        game, point, state = checkpoint_game(
            args.target,
            batch_size=args.batch_size,
            batch_seed=args.batch_seed,
            unroll=unroll,
            unroll_lr=getattr(args, "unroll_lr", None),
            unroll_inner=getattr(args, "unroll_inner", None),
        )
    except FileNotFoundError as error:
        raise UsageError(one_line(error)) from None
    except ValueError as error:
        message = one_line(error)
        key = message.partition(":")[0]
        raise UsageError(
            _OPTIONS[key] + message[len(key) :] if key in _OPTIONS else message
        ) from None
    config = TrainConfig.from_dict(json.loads(state["config"]))  # checked by checkpoint_game
    path = Path(args.target)
    label = str(path / "checkpoint.pt" if path.is_dir() else path)
    details = {
        "path": label,
        "step": int(state.get("step", 0)),
        "loss": config.game.loss,
        "regularizer": config.game.regularizer,
        "gamma": config.game.gamma,
        "unroll_steps": config.unroll.steps,
        "batch_size": config.batch_size if args.batch_size is None else args.batch_size,
        "batch_seed": config.seed + 1 if args.batch_seed is None else args.batch_seed,
    }
    if isinstance(game, games.UnrolledGame):
        details["unrolled"] = {
            "steps": game.steps,
            "inner": game.inner,
            "lr": game.lr,
            "first_order": game.first_order,
        }
    return Target(label, "checkpoint", game, point, "checkpoint", details)


def describe_target(target: Target, field_norm: float) -> list[str]:
    """The lines that open ``spectrum``'s and ``stability``'s output."""
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
        if "unrolled" in d:
            u = d["unrolled"]
            lines.append(
                f"unrolled    K = {u['steps']}: the generator looks {u['steps']} discriminator "
                f"steps ahead ({u['inner']}, lr {u['lr']:g}"
                + (", first order)" if u["first_order"] else ")")
            )
        elif d["unroll_steps"]:
            lines.append(
                f"note        trained unrolled (K = {d['unroll_steps']}); this is the base GAN"
            )
    lines.append(f"players     {target.describe_players()}; n = {target.n}")
    where = {"equilibrium": "the equilibrium", "--point": "--point", "checkpoint": "its parameters"}
    shown = ""
    if target.n <= 6:
        shown = " (" + ", ".join(fmt(float(v)) for p in target.point for v in p.tolist()) + ")"
    fixed = "" if field_norm < 1e-10 else "  (not a fixed point)"
    lines.append(f"point       {where[target.where]}{shown}; |xi| = {field_norm:.6g}{fixed}")
    return lines
