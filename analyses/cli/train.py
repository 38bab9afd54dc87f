"""``gamedyn train``: train a neural GAN from a TOML configuration
(:class:`gan_models.Trainer`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train a neural GAN from a TOML configuration (resumes from OUT's checkpoint)",
        description="Train a neural GAN from a TOML configuration file or a shipped "
        "configuration by name (see docs/training.md); "
        "logs, samples and the checkpoint go to --out, and an existing checkpoint there "
        "is resumed exactly.",
    )
    from gan_models import config_names

    parser.add_argument(
        "config",
        help="a TOML configuration file, or the name of a shipped configuration: "
        f"{', '.join(config_names())}",
    )
    parser.add_argument("--out", required=True, help="output folder (log.jsonl, checkpoint.pt)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--seed", type=int, default=None, help="override the seed")
    parser.add_argument("--device", default=None, help="auto, cpu or cuda[:N]")
    parser.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train as the parsed ``args`` say; return the exit code (1: the run diverged)."""
    from gan_models import ConfigError, Trainer, TrainingDiverged, load_config

    from ..modes import coverage_evaluator

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
