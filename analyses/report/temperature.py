"""The temperature study: a 1-D GAN on the bimodal summer temperatures, plain and unrolled.

The data are an equal mixture of N(28, 5²) °C (Alice Springs) and N(−28, 4²) °C (the
South Pole), :func:`gan_models.temperature` (networks see °C / 10).  A plain GAN tends to
put its samples on one of the two temperatures at a time and to jump between them; an
unrolled GAN (the generator differentiates through K of the discriminator's Adam steps)
is meant to split its samples between both.  Whether it does is measured, per
evaluation, by the *dominant share*: the largest fraction of all samples nearest one of
the two modes (1.0: every sample at one temperature; 0.5: an even split), see
:mod:`analyses.modes`.  With two modes the share is never below 1/2, so an evaluation
counts as *collapsed* (concentrated, in :class:`analyses.ModeCoverage`'s terms) only
when at least :data:`COLLAPSED` (90 %) of its samples are nearest one temperature.

The plain GAN's settings (:data:`BASE`) are fixed; the unrolling (:data:`CHOSEN` among
:data:`CANDIDATES`) was chosen on the tuning seeds :data:`TUNING_SEEDS` by
``benchmarks/temperature_tuning.py`` (``docs/temperature_gan/tuning.json``), never on
the seed a report shows.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import torch

from ._common import Computed, Context, Section, fill, fmt

__all__ = [
    "BASE",
    "CANDIDATES",
    "CHOSEN",
    "COLLAPSED",
    "INTRO",
    "KEY",
    "TEMPERATURE_RUNS",
    "TITLE",
    "TUNING_SEEDS",
    "compute",
    "figures",
    "study",
    "train",
]

KEY = "temperature"
TITLE = "A 1-D GAN on the bimodal temperatures: mode hopping, and unrolling"
INTRO = (
    "A small neural GAN (2 × 32 ReLU MLPs, latent 4, Adam with lr 1e-3 for G and 1e-4 for D, "
    "non-saturating loss) on the summer temperatures of Alice Springs (28 ± 5 °C) and the "
    "South Pole (−28 ± 4 °C), plain and unrolled. Per evaluation (1,000 samples): the "
    "dominant share, the largest fraction of all samples nearest one temperature (1: all "
    "at one; 0.5: an even split); an evaluation is collapsed when it is at least 0.9."
)

SCALE = 10.0
"""Networks see temperatures in units of 10 °C."""

COLLAPSED = 0.9
"""An evaluation is collapsed (concentrated) when this share of its samples is nearest one mode."""

BASE: dict[str, Any] = {
    "data": {"name": "temperature", "options": {"scale": SCALE}},
    "batch_size": 128,
    "latent_dim": 4,
    "eval_samples": 1000,
    "generator": {"width": 32, "depth": 2},
    "discriminator": {"width": 32, "depth": 2},
    "optimizer": {"rule": "adam", "lr": [1e-3, 1e-4], "betas": [0.5, 0.999]},
}
"""The plain GAN (the unrolled-GAN paper's optimiser settings on smaller networks)."""

CANDIDATES: dict[str, dict[str, Any]] = {
    "K=5, inner lr 1e-4": {"steps": 5, "lr": 1e-4, "inner": "adam"},
    "K=5, inner lr 1e-3": {"steps": 5, "lr": 1e-3, "inner": "adam"},
    "K=10, inner lr 1e-4": {"steps": 10, "lr": 1e-4, "inner": "adam"},
}
"""The unrolled candidates (``[unroll]`` tables) tried on the tuning seeds."""

TUNING_SEEDS = (100, 101)
CHOSEN = "K=5, inner lr 1e-3"
"""The candidate ``benchmarks/temperature_tuning.py`` chose (docs/temperature_gan/tuning.json)."""

TEMPERATURE_RUNS: dict[str, tuple[int, int]] = {"quick": (200, 100), "full": (2000, 1500)}
"""(plain GAN steps, unrolled GAN steps) per report mode; 40 evaluations per run."""


def train(
    seed: int,
    unroll: dict[str, Any] | None,
    *,
    full: bool = True,
    steps: int | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Train the plain GAN (``unroll=None``) or an unrolled one; evaluate 40 times.

    Returns ``{"coverages", "eval_steps", "samples" (per evaluation, °C), "stats"
    (:func:`analyses.collapse_statistics`), "steps", "seconds"}``.
    """
    from gan_models import GaussianMixture, TrainConfig, Trainer, build_data

    from ..mode_summary import collapse_statistics
    from ..modes import mode_coverage

    plain_steps, unrolled_steps = TEMPERATURE_RUNS["full" if full else "quick"]
    n = steps if steps is not None else (plain_steps if unroll is None else unrolled_steps)
    mapping = {
        **BASE,
        "seed": seed,
        "device": device,
        "steps": n,
        "eval_every": max(1, n // 40),
        "checkpoint_every": n,
        "log_every": n,
        "unroll": unroll or {"steps": 0},
    }
    cfg = TrainConfig.from_dict(mapping)
    data = build_data(cfg)
    assert isinstance(data, GaussianMixture)
    coverages: list[Any] = []
    samples: list[np.ndarray] = []

    def evaluate(x: torch.Tensor) -> dict[str, Any]:
        cov = mode_coverage(x, data.modes, data.stds, concentration=COLLAPSED)
        coverages.append(cov)
        samples.append(x.detach().cpu().double().numpy()[:, 0] * SCALE)
        return cov.as_dict()

    trainer = Trainer.from_config(cfg, evaluate=evaluate, progress=False, stream=io.StringIO())
    started = time.perf_counter()
    result = trainer.train(resume=False)
    eval_steps = [int(h["step"]) for h in result.history]
    return {
        "coverages": coverages,
        "eval_steps": eval_steps,
        "samples": samples,
        "stats": collapse_statistics(eval_steps, coverages),
        "steps": n,
        "seconds": time.perf_counter() - started,
    }


def _label(unroll: dict[str, Any] | None) -> str:
    if unroll is None:
        return "plain GAN"
    return f"unrolled GAN (K = {unroll['steps']}, inner lr {unroll['lr']:g})"


def compute(ctx: Context) -> Computed:
    """Train both GANs at the report's seed; per evaluation the dominant share and mode."""
    threads = torch.get_num_threads()
    if ctx.device == "cpu":
        torch.set_num_threads(1)  # small MLPs: one thread (see the neural study)
    try:
        runs = {
            _label(unroll): train(ctx.seed, unroll, full=not ctx.quick, device=ctx.device)
            for unroll in (None, CANDIDATES[CHOSEN])
        }
    finally:
        torch.set_num_threads(threads)
    header = (
        "run",
        "steps",
        "median dominant share",
        "collapsed evaluations (≥ 90 % at one)",
        "temperatures collapsed onto",
        "final share at 28 °C / −28 °C",
        "final high quality %",
        "seconds",
    )
    table, numbers = [], {}
    for name, run in runs.items():
        stats, final = run["stats"], run["coverages"][-1]
        split = final.nearest_counts / final.n_samples
        table.append(
            (
                name,
                str(run["steps"]),
                fmt(stats["dominant_share_median"], 3),
                f"{stats['n_concentrated']} of {stats['n_evaluations']}",
                str(stats["distinct_dominant_modes"]),
                f"{split[0]:.2f} / {split[1]:.2f}",
                f"{final.high_quality_percent:.1f}",
                f"{run['seconds']:.1f}",
            )
        )
        numbers[name] = {
            "steps": run["steps"],
            "dominant_share_median": stats["dominant_share_median"],
            "n_concentrated": stats["n_concentrated"],
            "n_evaluations": stats["n_evaluations"],
            "distinct_dominant_modes": stats["distinct_dominant_modes"],
            "dominant_modes": stats["dominant_modes"],
            "dominant_share_over_time": [c.dominant_share for c in run["coverages"]],
            "final_share": split.tolist(),
            "final_high_quality_percent": final.high_quality_percent,
        }
    return Computed(
        {
            "runs": numbers,
            "chosen": CHOSEN,
            "tuning_seeds": list(TUNING_SEEDS),
            "collapsed_threshold": COLLAPSED,
        },
        header,
        table,
        {"runs": runs},
    )


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """The samples' histogram along training, the dominant share, the final histograms."""
    import matplotlib.pyplot as plt

    from gan_models import temperature

    runs = computed.data["runs"]
    edges = np.linspace(-50.0, 50.0, 81)
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), sharey=False)
    for ax, (name, run) in zip(np.atleast_1d(axes), runs.items()):
        hist = np.stack([np.histogram(s, bins=edges)[0] / s.size for s in run["samples"]])
        steps = np.asarray(run["eval_steps"][: len(hist)])
        ax.imshow(
            hist,
            aspect="auto",
            origin="lower",
            extent=(edges[0], edges[-1], 0, len(hist)),
            cmap="magma",
            vmin=0.0,
            vmax=0.25,
        )
        ticks = np.linspace(0, len(hist) - 1, 5).astype(int)
        ax.set_yticks(ticks + 0.5, [f"{steps[t]:,}" for t in ticks])
        ax.set_xlabel("generated temperature (°C)")
        ax.set_ylabel("training step")
        ax.set_title(f"{name}\nshare of samples per 1.25 °C bin at each evaluation", fontsize=9)
        for mode in (28.0, -28.0):
            ax.axvline(mode, color="white", linewidth=0.6, linestyle=":")
    fig.tight_layout()
    numbers = computed.numbers["runs"]
    plain, unrolled = list(numbers)
    ctx.save(
        section,
        fig,
        "temperature_along_training",
        "Where the generated temperatures lie at each evaluation (bright: many samples; dotted: "
        f"the two modes). Median dominant share after the first 10 % of steps: "
        f"{fmt(numbers[plain]['dominant_share_median'], 2)} for the plain GAN "
        f"({numbers[plain]['n_concentrated']} of {numbers[plain]['n_evaluations']} evaluations "
        f"collapsed (≥ 90 % of the samples at one temperature), onto "
        f"{numbers[plain]['distinct_dominant_modes']} different temperature(s)) and "
        f"{fmt(numbers[unrolled]['dominant_share_median'], 2)} for the unrolled GAN "
        f"({numbers[unrolled]['n_concentrated']} of {numbers[unrolled]['n_evaluations']})."
        + (" Quick mode: short runs." if ctx.quick else ""),
    )

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
    for name, run in runs.items():
        left.plot(
            run["eval_steps"][: len(run["coverages"])],
            [c.dominant_share for c in run["coverages"]],
            marker="o",
            markersize=3,
            label=name,
        )
    left.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
    left.set_ylim(0.4, 1.02)
    left.set_xlabel("training step")
    left.set_ylabel("dominant share (all samples)")
    left.legend(fontsize=8)
    left.set_title("1: every sample at one temperature; 0.5: an even split", fontsize=9)
    data = temperature(1.0)
    grid = np.linspace(-50.0, 50.0, 400)
    density = sum(
        0.5 * np.exp(-0.5 * ((grid - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        for m, s in zip(data.modes[:, 0].tolist(), data.stds.tolist())
    )
    right.plot(grid, density, color="black", label="data density")
    for name, run in runs.items():
        right.hist(run["samples"][-1], bins=edges, density=True, alpha=0.5, label=name)
    right.set_xlabel("temperature (°C)")
    right.set_ylabel("density")
    right.legend(fontsize=8)
    right.set_title("the last evaluation against the data", fontsize=9)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "temperature_share",
        "Left: the dominant share at every evaluation. Right: the generated temperatures at "
        f"the last evaluation: the plain GAN puts {numbers[plain]['final_share'][0]:.0%} of its "
        f"samples nearest 28 °C, the unrolled GAN {numbers[unrolled]['final_share'][0]:.0%}.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
