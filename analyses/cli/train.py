"""``gamedyn train``: train a neural GAN from a TOML configuration
(:class:`gan_models.Trainer`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import one_line

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train a neural GAN from a TOML configuration (resumes from OUT's checkpoint)",
        description="Train a neural GAN from a TOML configuration file or a shipped "
        "configuration by name (see docs/training.md); "
        "logs, samples and the checkpoint go to --out, and an existing checkpoint there "
        "is resumed exactly; a [spectra] table records OUT/spectra.jsonl (gamedyn "
        "spectrum-log) and [checkpoint] keep_every keeps OUT/checkpoints/step_NNNNNNN.pt "
        "snapshots (gamedyn path-angle, spectrum, stability).",
    )
    from ._names import config_names

    parser.add_argument(
        "config",
        help="a TOML configuration file, or the name of a shipped configuration: "
        f"{', '.join(config_names())}",
    )
    parser.add_argument("--out", required=True, help="output folder (log.jsonl, checkpoint.pt)")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--seed", type=int, default=None, help="override the seed")
    parser.add_argument("--device", default=None, help="auto, cpu or cuda[:N]")
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="start afresh: an earlier run's files are moved to OUT/previous/N/",
    )
    parser.add_argument(
        "--allow-config-change",
        action="store_true",
        help="resume a checkpoint trained with another configuration (recorded in the log)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train as the parsed ``args`` say; return the exit code (1: the run diverged).

    Every problem with the configuration, the output folder, the checkpoint being
    resumed or a file being written ends with one line ``gamedyn: error: ...`` and exit
    status 2; nothing already written is lost, and the line says how to continue.
    """
    from gan_models import ConfigError, Trainer, TrainingDiverged, TrainingInterrupted, load_config

    from ..digits import digit_evaluator
    from ..modes import coverage_evaluator
    from ..training import SpectraRecorder

    def metrics(data: Any) -> Any:  # mode metrics of the data set: images or mixtures
        return (digit_evaluator if hasattr(data, "channels") else coverage_evaluator)(data)

    try:
        config = load_config(args.config)
        changes = {
            key: value
            for key, value in (("steps", args.steps), ("seed", args.seed), ("device", args.device))
            if value is not None
        }
        if changes:
            config = config.replace(**changes)
        callbacks = [SpectraRecorder.from_config(config)] if config.spectra.every else []
        trainer = Trainer.from_config(
            config, out_dir=args.out, metrics=metrics, callbacks=callbacks
        )
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"gamedyn: error: {one_line(error)}", file=sys.stderr)
        return 2
    try:
        result = trainer.train(
            resume=not args.no_resume, allow_config_change=args.allow_config_change
        )
    except TrainingInterrupted as error:  # SIGINT/SIGTERM: the step finished, checkpoint written
        print(f"gamedyn: {one_line(error)}", file=sys.stderr)
        return 130 if error.signal_name == "SIGINT" else 143
    except TrainingDiverged as error:
        if error.checkpoint is None:  # the library's message points at trainer.params
            print(
                f"gamedyn: training diverged at step {error.step}, before the first "
                "checkpoint: nothing was saved to resume from; change the configuration "
                "(e.g. a smaller optimizer.lr) and run again",
                file=sys.stderr,
            )
        else:
            print(f"gamedyn: {one_line(error)}", file=sys.stderr)
        return 1
    except ValueError as error:  # the checkpoint cannot be resumed (ConfigChanged is one)
        print(f"gamedyn: error: {one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        saved = trainer.out_dir is not None and (trainer.out_dir / "checkpoint.pt").is_file()
        print(
            f"gamedyn: error: {one_line(_os_message(error))}; "
            + (
                "nothing written before was lost: the last checkpoint is intact; fix this and "
                "rerun the same command to continue from it"
                if saved
                else "nothing was lost; fix this and rerun the same command"
            ),
            file=sys.stderr,
        )
        return 2
    final = result.history[-1] if result.history else {}
    print(
        f"{result.describe()} into {args.out}: "
        f"modes covered {final.get('modes_covered', '?')}/{final.get('n_modes', '?')}, "
        f"high quality {final.get('high_quality_percent', float('nan')):.1f}%"
    )
    return 0


def _os_message(error: OSError) -> str:
    """An OSError's message with the file it concerns, whichever way it was raised."""
    if error.filename is not None:
        return f"cannot write {str(error.filename)!r} ({error.strerror or error})"
    text = str(error.strerror) if error.strerror else str(error)
    return "--out:" + text[len("out_dir:") :] if text.startswith("out_dir:") else text
