"""The neural study: a GAN of two small MLPs on the 8-Gaussian ring, plain and unrolled.

Numbers: per run the steps, the modes covered and the high-quality percentage at the
end, the reverse KL of the mode histogram and the modes covered at every evaluation;
the plain GAN's dominant mode per evaluation and the cycles of its mode-hopping graph.

This module is self-contained: it trains with :class:`gan_models.Trainer` and evaluates
with :mod:`analyses.modes`; :data:`NEURAL_RUNS` sets the training lengths.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ._common import Computed, Context, Section, fill, fmt

__all__ = ["INTRO", "KEY", "NEURAL_RUNS", "TITLE", "compute", "figures", "study"]

KEY = "neural"
TITLE = "A neural GAN on the 8-Gaussian ring, with and without unrolling"
INTRO = (
    "A real neural GAN (two-layer MLPs, Adam, non-saturating loss) on the ring of 8 Gaussians "
    "(radius 1, std 0.01), evaluated with the VEEGAN/PacGAN metrics: modes covered "
    "(at least one sample within 3 std), high-quality samples (within 3 std of a mode) "
    "and the reverse KL of the mode histogram."
)

NEURAL_RUNS: dict[str, tuple[int, int, int]] = {"quick": (800, 120, 5), "full": (5000, 1000, 10)}
"""The neural study's (plain GAN steps, unrolled GAN steps, unroll depth K) per mode."""


def _configs(ctx: Context) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The trainer configuration and the number of steps of each run, by run name."""
    plain_steps, unrolled_steps, depth = NEURAL_RUNS["quick" if ctx.quick else "full"]
    unrolled_name = f"unrolled GAN (K = {depth})"
    base: dict[str, Any] = {
        "seed": ctx.seed,
        "device": ctx.device,
        "data": {"name": "ring", "options": {}},
        "batch_size": 128 if ctx.quick else 256,
        "latent_dim": 16 if ctx.quick else 64,
        "eval_samples": 1000 if ctx.quick else 2500,
        "generator": {"width": 64 if ctx.quick else 128, "depth": 2},
        "discriminator": {"width": 64 if ctx.quick else 128, "depth": 2},
        "optimizer": {"rule": "adam", "lr": 1e-3 if ctx.quick else 1e-4, "betas": [0.5, 0.999]},
    }
    configs = {
        "plain GAN": base,
        unrolled_name: {**base, "unroll": {"steps": depth, "lr": 1e-4, "inner": "adam"}},
    }
    return configs, {"plain GAN": plain_steps, unrolled_name: unrolled_steps}


def _train_runs(
    configs: Mapping[str, Mapping[str, Any]], steps: Mapping[str, int]
) -> dict[str, dict[str, Any]]:
    """Train each configuration (in a temporary folder), evaluating coverage as it goes."""
    from gan_models import TrainConfig, Trainer, build_data

    from ..modes import ModeCoverage, mode_coverage

    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gamedyn-report-") as tmp:
        for name, mapping in configs.items():
            n = steps[name]
            cfg = TrainConfig.from_dict(
                {
                    **mapping,
                    "steps": n,
                    "eval_every": max(1, n // 20),
                    "checkpoint_every": n,
                    "log_every": max(1, n // 10),
                }
            )
            data = build_data(cfg)
            coverages: list[tuple[int, ModeCoverage]] = []
            last: dict[str, Any] = {}

            def evaluate(
                samples: torch.Tensor,
                data: Any = data,
                coverages: Any = coverages,
                last: Any = last,
            ) -> dict[str, Any]:
                cov = mode_coverage(samples, data.modes, data.std)
                coverages.append((len(coverages), cov))
                last["samples"] = samples.detach().cpu()
                return cov.as_dict()

            folder = Path(tmp) / name.replace(" ", "_")
            trainer = Trainer.from_config(
                cfg, out_dir=folder, evaluate=evaluate, progress=False, stream=io.StringIO()
            )
            started = time.perf_counter()
            result = trainer.train(resume=False)
            runs[name] = {
                "data": data,
                "steps": n,
                "seconds": time.perf_counter() - started,
                "coverages": [c for _, c in coverages],
                "eval_steps": [h["step"] for h in result.history],
                "samples": last["samples"],
            }
    return runs


def compute(ctx: Context) -> Computed:
    """Train the plain and the unrolled GAN; coverage and the plain GAN's mode hopping."""
    from ..hopping import dominant_modes, hopping_cycles, mode_hopping_graph

    configs, steps = _configs(ctx)
    # small MLPs on the CPU: one intra-op thread is as fast on an idle machine and many
    # times faster on a busy one (thread contention); restored afterwards
    threads = torch.get_num_threads()
    if ctx.device == "cpu":
        torch.set_num_threads(1)
    try:
        runs = _train_runs(configs, steps)
    finally:
        torch.set_num_threads(threads)
    data = runs["plain GAN"]["data"]
    dominant = dominant_modes(runs["plain GAN"]["coverages"])
    cycles = hopping_cycles(mode_hopping_graph(dominant, data.n_modes))

    header = ("run", "steps", "modes covered (of 8)", "high quality %", "reverse KL", "seconds")
    table = []
    per_run: dict[str, Any] = {}
    for name, r in runs.items():
        final = r["coverages"][-1]
        table.append(
            (
                name,
                str(r["steps"]),
                str(final.modes_covered),
                f"{100 * final.high_quality:.1f}",
                fmt(final.reverse_kl, 3),
                f"{r['seconds']:.1f}",
            )
        )
        per_run[name] = {
            "steps": r["steps"],
            "modes_covered": final.modes_covered,
            "high_quality_percent": 100 * final.high_quality,
            "reverse_kl": final.reverse_kl,
            "modes_covered_over_time": [c.modes_covered for c in r["coverages"]],
        }
    numbers = {
        "runs": per_run,
        "plain_dominant_modes": dominant,
        "plain_hopping_cycles": cycles,
        "device": ctx.device,
    }
    return Computed(numbers, header, table, {"runs": runs})


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """Samples at the end, coverage over training, the plain GAN's mode-hopping graph."""
    import matplotlib.pyplot as plt

    from ..hopping import ModeHoppingGraphDisplay
    from ..mode_plots import CoverageDisplay, SamplesDisplay

    runs = computed.data["runs"]
    plain_name, unrolled_name = list(runs)
    data = runs[plain_name]["data"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    SamplesDisplay.from_samples(
        data.sample(2500, generator=torch.Generator().manual_seed(ctx.seed)),
        data.modes,
        data.std,
        title="data: ring of 8 Gaussians",
    ).plot(ax=axes[0])
    for ax, (name, r) in zip(axes[1:], runs.items()):
        final = r["coverages"][-1]
        SamplesDisplay.from_samples(
            r["samples"],
            data.modes,
            data.std,
            title=f"{name}, {r['steps']} steps:\n{final.modes_covered}/8 modes, "
            f"{100 * final.high_quality:.1f}% high quality",
        ).plot(ax=ax)
    fig.tight_layout()
    plain_final = runs[plain_name]["coverages"][-1]
    unrolled_final = runs[unrolled_name]["coverages"][-1]
    caveat = (
        " (Quick mode: these runs are far too short to converge; the full report trains "
        f"{NEURAL_RUNS['full'][0]} and {NEURAL_RUNS['full'][1]} steps, and "
        "benchmarks/mode_coverage.py measures 5 seeds.)"
        if ctx.quick
        else ""
    )
    ctx.save(
        section,
        fig,
        "neural_samples",
        "Samples of the data and of each generator at the end of training (blue: high "
        "quality, within 3 std of a mode; red: not). Here the plain GAN covers "
        f"{plain_final.modes_covered} of 8 modes with {100 * plain_final.high_quality:.1f}% "
        f"high-quality samples and the unrolled GAN {unrolled_final.modes_covered} with "
        f"{100 * unrolled_final.high_quality:.1f}%." + caveat,
    )
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for ax, (name, r) in zip(axes, runs.items()):
        k = min(len(r["eval_steps"]), len(r["coverages"]))
        CoverageDisplay.from_coverages(
            r["eval_steps"][:k], r["coverages"][:k], title=f"{name}: coverage during training"
        ).plot(ax=ax)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "neural_coverage",
        "Modes covered and high-quality percentage at each evaluation during training.",
    )
    cycles = computed.numbers["plain_hopping_cycles"]
    fig, ax = plt.subplots(figsize=(6, 6))
    ModeHoppingGraphDisplay.from_dominant_modes(
        computed.numbers["plain_dominant_modes"],
        data.modes.numpy(),
        title="plain GAN: dominant-mode hops",
    ).plot(ax=ax)
    ctx.save(
        section,
        fig,
        "neural_mode_hopping",
        "The mode-hopping graph of the plain GAN: nodes are the ring's modes, an edge a→b "
        "means the mode holding most generated samples moved from a to b between two "
        f"evaluations; {len(cycles)} cycle(s) found — the cat-and-mouse of mode collapse.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
