"""The neural study: the unrolled-GAN paper's plain GAN on the 8-Gaussian ring, collapsing and hopping.

The shipped configuration ``plain_ring`` (Metz et al. 2017: G and D 2 × 128 ReLU, latent
256, batch 512, Adam with lr 1e-3 for G and 1e-4 for D) trained for a few thousand steps
and evaluated often.  Numbers: per evaluation the dominant share (the largest fraction of
all samples nearest one mode), the dominant mode of concentrated evaluations (share
≥ 1/2), the high-quality % and the modes covered; over the run
:func:`analyses.collapse_statistics` and the cycles of the mode-hopping graph of the
concentrated evaluations.  The cure (unrolling, 25,000 steps and five seeds per row) is
too long for a report: ``benchmarks/mode_coverage.py`` and ``docs/mode_coverage.md``.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import torch

from ._common import Computed, Context, Section, fill, fmt

__all__ = ["INTRO", "KEY", "NEURAL_RUNS", "TITLE", "compute", "figures", "study"]

KEY = "neural"
TITLE = "The unrolled-GAN paper's plain GAN on the 8-Gaussian ring: collapse and mode hopping"
INTRO = (
    "The plain GAN of the unrolled-GAN paper's 2-D experiment (the shipped configuration "
    "plain_ring: 2 × 128 ReLU MLPs, latent 256, batch 512, Adam with lr 1e-3 for G and "
    "1e-4 for D, non-saturating loss) on the ring of 8 Gaussians (radius 1, std 0.01), "
    "evaluated often. Per evaluation: the dominant share (the largest fraction of all "
    "samples nearest one mode; concentrated when at least 1/2), high-quality samples "
    "(within 3 std of their mode; the data themselves: 98.9 %) and modes covered."
)

NEURAL_RUNS: dict[str, tuple[int, int, int]] = {
    "quick": (300, 30, 1000),
    "full": (4000, 250, 2500),
}
"""(steps, evaluate every, samples per evaluation) of the plain GAN per report mode."""


def _train(ctx: Context) -> dict[str, Any]:
    from gan_models import GaussianMixture, Trainer, build_data, load_config

    from ..modes import mode_coverage

    steps, every, samples_per = NEURAL_RUNS["quick" if ctx.quick else "full"]
    cfg = load_config("plain_ring").replace(
        seed=ctx.seed,
        device=ctx.device,
        steps=steps,
        eval_every=every,
        eval_samples=samples_per,
        checkpoint_every=steps,
        log_every=steps,
    )
    data = build_data(cfg)
    assert isinstance(data, GaussianMixture)
    coverages: list[Any] = []
    samples: list[np.ndarray] = []

    def evaluate(x: torch.Tensor) -> dict[str, Any]:
        cov = mode_coverage(x, data.modes, data.std)
        coverages.append(cov)
        samples.append(x.detach().cpu().double().numpy()[:1000])
        return cov.as_dict()

    trainer = Trainer.from_config(cfg, evaluate=evaluate, progress=False, stream=io.StringIO())
    started = time.perf_counter()
    result = trainer.train(resume=False)
    return {
        "data": data,
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "coverages": coverages,
        "eval_steps": [int(h["step"]) for h in result.history],
        "samples": samples,
    }


def compute(ctx: Context) -> Computed:
    """Train the plain GAN; its concentration and mode hopping over training."""
    from ..hopping import hopping_cycles, mode_hopping_graph
    from ..mode_summary import collapse_statistics
    from ..modes import gaussian_high_quality_rate

    # small MLPs on the CPU: one intra-op thread is as fast on an idle machine and many
    # times faster on a busy one (thread contention); restored afterwards
    threads = torch.get_num_threads()
    if ctx.device == "cpu":
        torch.set_num_threads(1)
    try:
        run = _train(ctx)
    finally:
        torch.set_num_threads(threads)
    covs, steps = run["coverages"], run["eval_steps"]
    stats = collapse_statistics(steps, covs)
    dominant = stats["dominant_modes"]
    graph = mode_hopping_graph(dominant, run["data"].n_modes)
    cycles = hopping_cycles(graph)
    hops = sum(weight for _, _, weight in graph.edges(data="weight"))
    header = ("step", "dominant share", "dominant mode", "high quality %", "modes covered")
    table = [
        (
            f"{s:,}",
            f"{c.dominant_share:.2f}",
            "–" if c.dominant_mode is None else str(c.dominant_mode),
            f"{c.high_quality_percent:.1f}",
            str(c.modes_covered),
        )
        for s, c in zip(steps, covs)
    ]
    numbers = {
        "steps": run["steps"],
        "seconds": run["seconds"],
        "eval_steps": steps,
        "dominant_share": [c.dominant_share for c in covs],
        "dominant_mode": [c.dominant_mode for c in covs],
        "high_quality_percent": [c.high_quality_percent for c in covs],
        "modes_covered": [c.modes_covered for c in covs],
        "modes_robust": [c.modes_robust for c in covs],
        "n_evaluations": stats["n_evaluations"],
        "n_concentrated": stats["n_concentrated"],
        "distinct_dominant_modes": stats["distinct_dominant_modes"],
        "dominant_share_median": stats["dominant_share_median"],
        "concentrated_hq_median": stats["concentrated_hq_median"],
        "hops": hops,
        "hopping_cycles": cycles,
        "data_high_quality_percent": 100 * gaussian_high_quality_rate(2),
        "device": ctx.device,
    }
    return Computed(numbers, header, table, {"run": run})


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """Samples at six evaluations, concentration over training, the hopping graph."""
    import matplotlib.pyplot as plt

    from ..hopping import ModeHoppingGraphDisplay, dominant_modes
    from ..mode_plots import SamplesDisplay

    run, n = computed.data["run"], computed.numbers
    data = run["data"]
    covs, steps = run["coverages"], run["eval_steps"]
    first = max(1, len(covs) // 10)
    picks = np.unique(np.linspace(first, len(covs) - 1, 6).astype(int))
    fig, axes = plt.subplots(1, len(picks), figsize=(3.3 * len(picks), 3.6), squeeze=False)
    for ax, i in zip(axes[0], picks):
        cov = covs[i]
        SamplesDisplay.from_samples(run["samples"][i], data.modes, data.std).plot(ax=ax)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.get_legend().remove()
        where = f"mode {cov.dominant_mode}" if cov.concentrated else "no mode"
        ax.set_title(
            f"step {steps[i]:,}: {100 * cov.dominant_share:.0f} % nearest {where}\n"
            f"{cov.high_quality_percent:.1f} % high quality",
            fontsize=8,
        )
    fig.tight_layout()
    quick = " Quick mode: a short run." if ctx.quick else ""
    ctx.save(
        section,
        fig,
        "neural_samples",
        "Generated samples at six evaluations (same axes; blue: high quality, red: not; "
        f"circles: 3 std). After the first 10 % of steps, {n['n_concentrated']} of "
        f"{n['n_evaluations']} evaluations are concentrated (median dominant share "
        f"{fmt(n['dominant_share_median'], 2)}), on {n['distinct_dominant_modes']} different "
        f"modes, with {n['hops']} changes of the dominant mode between consecutive concentrated "
        f"evaluations. High quality stays low (median {fmt(n['concentrated_hq_median'], 2)} % "
        "of the concentrated evaluations against 98.9 % for the data): the collapsed samples "
        "form a blob wider than 3 std around their mode." + quick,
    )

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(steps, n["dominant_share"], marker="o", markersize=3, label="dominant share")
    ax.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
    for s, mode in zip(steps, n["dominant_mode"]):
        if mode is not None:
            ax.annotate(str(mode), (s, 1.02), ha="center", fontsize=7)
    ax.set_ylim(0.0, 1.08)
    ax.set_xlabel("training step")
    ax.set_ylabel("share of all samples")
    hq = ax.twinx()
    hq.plot(steps, n["high_quality_percent"], color="tab:orange", marker="s", markersize=3)
    hq.set_ylim(0.0, 108.0)
    hq.set_ylabel("high-quality samples (%)", color="tab:orange")
    ax.set_title("dominant share (blue; numbers: the dominant mode) and high quality (orange)")
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "neural_coverage",
        "The dominant share of every evaluation (dashed: 1/2, the concentration threshold) "
        "with the dominant mode written above it, and the high-quality percentage.",
    )

    fig, ax = plt.subplots(figsize=(6, 6))
    ModeHoppingGraphDisplay.from_dominant_modes(
        dominant_modes(covs[len(covs) - n["n_evaluations"] :]),
        data.modes.numpy(),
        title=f"plain GAN: {n['n_concentrated']} of {n['n_evaluations']} evaluations concentrated",
    ).plot(ax=ax)
    ctx.save(
        section,
        fig,
        "neural_mode_hopping",
        "The mode-hopping graph over the concentrated evaluations after the first 10 % of "
        "steps: an edge a→b means the dominant mode moved from a to b between two consecutive "
        f"concentrated evaluations (a non-concentrated one breaks the chain); "
        f"{len(n['hopping_cycles'])} cycle(s).",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
