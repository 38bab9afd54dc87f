"""The ``gamedyn`` command line.

``gamedyn report`` is the main job.  For now it prints the canonical small facts: the
Jacobian and eigenvalues of the x·y game and of the Dirac-GAN with each regulariser at
their equilibria; later issues grow it into the full report folder.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

import games


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"gamedyn: error: {message}\n")


def _format_complex(z: complex) -> str:
    re = 0.0 if abs(z.real) < 5e-13 else z.real
    im = 0.0 if abs(z.imag) < 5e-13 else z.imag
    if im == 0.0:
        return f"{re:+.4f}"
    return f"{re:+.4f}{im:+.4f}i"


def _demo_games() -> list[tuple[str, object]]:
    return [
        ("x·y game  (l_x = x y, l_y = -x y)", games.Bilinear.xy()),
        ("Dirac-GAN, standard loss, unregularised", games.DiracGAN("standard")),
        ("Dirac-GAN, non-saturating loss", games.DiracGAN("non_saturating")),
        ("Dirac-GAN, WGAN loss", games.DiracGAN("wgan")),
        ("Dirac-GAN, R1 penalty (gamma = 1)", games.DiracGAN("standard", "r1", gamma=1.0)),
        ("Dirac-GAN, R1 penalty (gamma = 0.3)", games.DiracGAN("standard", "r1", gamma=0.3)),
        (
            "Dirac-GAN, instance noise (sigma = 0.5)",
            games.DiracGAN("standard", "instance_noise", noise_std=0.5),
        ),
        ("Dirac-GAN, WGAN-GP (gamma = 1)", games.DiracGAN("wgan", "wgan_gp", gamma=1.0)),
    ]


def _legacy_report(args: argparse.Namespace) -> int:
    print("gamedyn report: game Jacobians J = d xi / d theta at the equilibrium (float64)")
    print("continuous-time stable iff every eigenvalue has Re > 0\n")
    for title, game in _demo_games():
        equilibrium = game.equilibrium()  # type: ignore[attr-defined]
        J = games.jacobian(game, equilibrium)  # type: ignore[arg-type]
        values = [complex(v) for v in J.eigenvalues().tolist()]
        stable = all(v.real > 1e-12 for v in values)
        print(f"{title}")
        print(f"  equilibrium {tuple(float(p[0]) for p in equilibrium)}")
        for k, row in enumerate(J.matrix.tolist()):
            prefix = "  J = [" if k == 0 else "      ["
            print(prefix + "  ".join(f"{v:+.4f}" for v in row) + "]")
        print(
            f"  eigenvalues {', '.join(_format_complex(v) for v in values)}  ->  "
            f"{'locally stable' if stable else 'not asymptotically stable'} for the flow\n"
        )
    return 0


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gamedyn`` console command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
