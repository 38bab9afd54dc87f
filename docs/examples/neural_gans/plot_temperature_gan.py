"""
Mode hopping in one dimension: Alice Springs against the South Pole
===================================================================

The smallest real GAN that shows mode collapse: one-dimensional data, the summer
temperatures of Alice Springs (28 ± 5 °C) and of the South Pole (−28 ± 4 °C) in equal
parts (``gan_models.temperature``; the networks see °C / 10).  A plain GAN (2 × 32 ReLU
MLPs, latent 4, alternating Adam with lr 1e-3 for G and 1e-4 for D, non-saturating loss)
tends to put its samples on one temperature at a time and to jump to the other when the
discriminator catches up.  The unrolled GAN (Metz et al. 2017) lets the generator look
K = 5 discriminator steps ahead (inner Adam, lr 1e-3; chosen on the tuning seeds 100 and
101 by ``benchmarks/temperature_tuning.py``, not on the seed shown here).

Per evaluation we measure the *dominant share*: the largest fraction of all generated
samples that are nearest one of the two temperatures (``analyses.mode_coverage``): 1
means every sample at one temperature, 0.5 an even split.  With two modes the share is
never below 1/2, so we call an evaluation *collapsed* when at least 90 % of its samples
are at one temperature (``concentration=0.9``).
"""

# %%
import io
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import collapse_statistics, mode_coverage
from gan_models import TrainConfig, Trainer, temperature

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small networks: one thread is faster than a contended pool

steps = {"plain GAN": 300 if QUICK else 2000, "unrolled GAN (K = 5)": 200 if QUICK else 1500}
base = {
    "seed": 0,
    "device": "cpu",
    "batch_size": 128,
    "latent_dim": 4,
    "eval_samples": 1000,
    "data": {"name": "temperature", "options": {"scale": 10.0}},
    "generator": {"width": 32, "depth": 2},
    "discriminator": {"width": 32, "depth": 2},
    "optimizer": {"rule": "adam", "lr": [1e-3, 1e-4], "betas": [0.5, 0.999]},
}
unroll = {
    "plain GAN": {"steps": 0},
    "unrolled GAN (K = 5)": {"steps": 5, "lr": 1e-3, "inner": "adam"},
}
data = temperature(10.0)

results = {}
for name, n in steps.items():
    config = TrainConfig.from_dict(
        {
            **base,
            "steps": n,
            "eval_every": n // 40,
            "checkpoint_every": n,
            "log_every": n,
            "unroll": unroll[name],
        }
    )
    coverages, samples = [], []

    def evaluate(x, coverages=coverages, samples=samples):
        coverage = mode_coverage(x, data.modes, data.stds, concentration=0.9)
        coverages.append(coverage)
        samples.append(10.0 * x[:, 0].double().numpy())  # back to °C
        return coverage.as_dict()

    trainer = Trainer.from_config(config, evaluate=evaluate, progress=False, stream=io.StringIO())
    history = trainer.train().history
    eval_steps = [h["step"] for h in history]
    results[name] = (eval_steps, coverages, samples)
    stats = collapse_statistics(eval_steps, coverages)
    print(
        f"{name}: median dominant share {stats['dominant_share_median']:.2f}, "
        f"{stats['n_concentrated']} of {stats['n_evaluations']} evaluations collapsed, onto "
        f"{stats['distinct_dominant_modes']} different temperature(s)"
    )

# %%
# Where the samples are at each evaluation (bright: many samples; dotted: the modes),
# and the dominant share over training.
edges = np.linspace(-50, 50, 81)
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
for ax, (name, (eval_steps, _, samples)) in zip(axes, results.items()):
    hist = np.stack([np.histogram(s, bins=edges)[0] / s.size for s in samples])
    ax.imshow(
        hist,
        aspect="auto",
        origin="lower",
        cmap="magma",
        vmin=0,
        vmax=0.25,
        extent=(edges[0], edges[-1], eval_steps[0], eval_steps[-1]),
    )
    for mode in (-28, 28):
        ax.axvline(mode, color="white", linestyle=":", linewidth=0.7)
    ax.set_xlabel("generated temperature (°C)")
    ax.set_ylabel("training step")
    ax.set_title(name)
for name, (eval_steps, coverages, _) in results.items():
    axes[2].plot(eval_steps, [c.dominant_share for c in coverages], marker="o", ms=3, label=name)
axes[2].axhline(0.5, color="black", linestyle="--", linewidth=0.8)
axes[2].set_ylim(0.4, 1.02)
axes[2].set_xlabel("training step")
axes[2].set_ylabel("dominant share")
axes[2].legend()
fig.tight_layout()
torch.set_num_threads(previous_threads)

# %%
# What to look for: collapse is a dominant share near 1 with the bright band at one
# temperature; hopping is that band moving to the other temperature; a cure is a share
# near 0.5 with both bands lit. The statistics printed above are what this run
# measured (one seed: a single run can go either way, so read them, not the intent);
# the report's ``temperature`` study trains the same set-up (``gamedyn report --studies
# temperature``).
