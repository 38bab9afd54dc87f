"""
Mode hopping on the 8-Gaussian ring
===================================

The benchmark of the unrolled-GAN, VEEGAN and PacGAN papers: 8 Gaussians on the unit
circle (std 0.02).  A plain GAN (non-saturating loss, alternating Adam, a generator
with 128-unit hidden layers) does not spread over the modes: it puts its samples near
one mode, the discriminator learns to reject that mode, and the generator hops to
another — the cat-and-mouse of mode collapse.  We train it briefly with
``gan_models.Trainer``, score every evaluation with ``analyses.coverage_evaluator``
(a sample is *high quality* within 3 std of its nearest mode, a mode is *covered* if it
is the nearest mode of a high-quality sample; 2,500 samples), and turn the sequence of
dominant modes into a directed graph (``analyses.mode_hopping_graph``).  Side by side,
the same GAN with a PacGAN discriminator (Lin et al. 2018), which judges two samples at
once and so can see that they are alike, at almost no extra cost per step.  This is a
short run of one seed (200 steps with ``GAMEDYN_QUICK=1``, 2,000 without; the first
printed lines say which); the mode-coverage benchmark (:doc:`/mode_coverage`) measures
the remedies over five seeds and 25,000 steps.
"""

# %%
import io
import os

import matplotlib.pyplot as plt
import torch

from analyses import (
    CoverageDisplay,
    ModeCoverage,
    ModeHoppingGraphDisplay,
    SamplesDisplay,
    coverage_evaluator,
    hopping_cycles,
    mode_hopping_graph,
)
from gan_models import TrainConfig, Trainer, ring

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small networks: one thread is faster than a contended pool
# (the thread count is restored at the end)

steps = 200 if QUICK else 2000
snapshots = 4  # sample the generator four times during training
base = {
    "seed": 0,
    "device": "cpu",
    "steps": steps,
    "batch_size": 128,
    "latent_dim": 64,
    "eval_every": 20 if QUICK else 50,
    "log_every": 20 if QUICK else 50,
    "checkpoint_every": steps,  # no out_dir: nothing is written
    "data": {"name": "ring", "options": {"std": 0.02}},
    "generator": {"width": 128},
    "discriminator": {"width": 128},
    "game": {"loss": "non_saturating"},
    "optimizer": {"rule": "adam", "lr": 1e-3, "betas": [0.5, 0.999]},
}
configs = {
    "plain GAN": TrainConfig.from_dict(base),
    "PacGAN2": TrainConfig.from_dict({**base, "discriminator": {"width": 128, "pack": 2}}),
}
data = ring(std=0.02)
latents = torch.randn(2500, 64, generator=torch.Generator().manual_seed(123))

results = {}
for name, config in configs.items():
    trainer = Trainer.from_config(config, metrics=coverage_evaluator, stream=io.StringIO())
    samples = {}
    for _ in range(snapshots):
        result = trainer.train(stop_after=steps // snapshots)
        with torch.no_grad():
            samples[trainer.step] = trainer.base.sample(trainer.params, latents).numpy()
    history = [record for record in result.history if "modes_covered" in record]
    results[name] = (samples, history, result.steps_per_second)
    last = history[-1]
    print(
        f"{name:<10} after {trainer.step} steps ({result.steps_per_second:.0f} steps/s): "
        f"{last['modes_covered']}/8 modes, {last['high_quality_percent']:.1f}% high quality, "
        f"reverse KL {last['reverse_kl']:.3f}"
    )

# %%
# Samples during training
# -----------------------
# Blue: high-quality samples; red: the rest; circles: 3 std around each mode (same axes
# in every panel).  Collapse is every sample near one mode; hopping is that mode
# changing between snapshots; the titles and the printed lines say what this run did.
fig, axes = plt.subplots(2, snapshots, figsize=(4 * snapshots, 8.2))
for row, (name, (samples, _, _)) in zip(axes, results.items()):
    for ax, (step, points) in zip(row, samples.items()):
        display = SamplesDisplay.from_samples(points, data.modes, data.std)
        cover = display.coverage
        display.title = (
            f"{name}, step {step}\n{cover.modes_covered}/8 modes, "
            f"{cover.high_quality_percent:.1f}% high quality"
        )
        display.plot(ax=ax)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.legend().remove()
        ax.title.set_fontsize(10)
axes[0, 0].legend(fontsize=7, loc="lower left")
fig.tight_layout()

# %%
# Coverage over training and the hopping graph
# --------------------------------------------
# The trainer's history holds ``ModeCoverage.as_dict()`` records;
# ``ModeCoverage.from_dict`` turns them back into coverages for the Displays.  An
# evaluation is *concentrated* when at least half of all its samples are nearest one
# mode, its *dominant mode*; the dominant modes of concentrated evaluations give the
# hopping graph (edge ``i -> j`` each time the dominant mode changed from ``i`` to ``j``;
# an evaluation that is not concentrated breaks the chain).
fig, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, (name, (_, history, _)) in zip(axes[:2], results.items()):
    CoverageDisplay.from_coverages(
        [r["step"] for r in history],
        [ModeCoverage.from_dict(r) for r in history],
        title=f"{name}: mode coverage during training",
    ).plot(ax=ax)

dominant = [record["dominant_mode"] for record in results["plain GAN"][1]]
concentrated = sum(d is not None for d in dominant)
print(f"plain GAN: {concentrated} of {len(dominant)} evaluations concentrated")
graph = mode_hopping_graph(dominant, n_modes=8)
cycles = hopping_cycles(graph)
visited = sum(graph.nodes[k]["visits"] > 0 for k in graph)
print(f"plain GAN: dominant mode per evaluation {dominant}")
print(
    f"plain GAN: {visited} modes dominant at some evaluation, {graph.number_of_edges()} "
    f"distinct hops, {len(cycles)} hopping cycles" + (f", e.g. {cycles[:3]}" if cycles else "")
)
ModeHoppingGraphDisplay.from_dominant_modes(
    dominant, data.modes, title="plain GAN: hops of the dominant mode"
).plot(ax=axes[2])
axes[2].title.set_fontsize(9)
fig.tight_layout()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
