"""
Spectra of a trained GAN: rotation and non-Nash stationary points
=================================================================

Berard et al. (2020) look at real GANs through the eigenvalues of the game Jacobian
:math:`J = \\partial\\xi/\\partial\\theta` (complex: its imaginary parts measure
rotation) and of each player's own Hessian (real: negative eigenvalues mean the player
is not at a local minimum of its loss).  For networks with millions of parameters only
a few eigenvalues can be computed, matrix-free: ``analyses.top_eigenvalues`` runs
ARPACK's Arnoldi iteration on Jacobian-vector products and
``analyses.hessian_eigenvalues`` Lanczos on one player's block.  Here the GAN is small
enough (under 800 parameters) for the dense spectrum (``analyses.eigenvalues``), so we
check the matrix-free values against it.

We train a small GAN on the 8-Gaussian ring briefly with ``gan_models.Trainer`` and take
its end point with one fixed minibatch (``ParameterizedGAN.at_batch``), so that the
vector field is a deterministic function of the parameters.
"""

# %%
import io
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import (
    EigenvalueDisplay,
    classify,
    coverage_evaluator,
    eigenvalues,
    hessian_eigenvalues,
    top_eigenvalues,
)
from games import jacobian
from gan_models import TrainConfig, Trainer

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small networks: one thread is faster than a contended pool
# (the thread count is restored at the end)

steps = 300 if QUICK else 2000
config = TrainConfig.from_dict(
    {
        "seed": 0,
        "device": "cpu",
        "steps": steps,
        "batch_size": 128,
        "latent_dim": 8,
        "eval_every": steps,
        "log_every": steps,
        "checkpoint_every": steps,  # no out_dir: nothing is written
        "data": {"name": "ring", "options": {"std": 0.02}},
        "generator": {"width": 16},
        "discriminator": {"width": 16},
        "game": {"loss": "non_saturating"},
        "optimizer": {"rule": "adam", "lr": 1e-3, "betas": [0.5, 0.999]},
    }
)
trainer = Trainer.from_config(config, metrics=coverage_evaluator, stream=io.StringIO())
result = trainer.train()
last = result.history[-1]
print(
    f"trained {result.step} steps: {last['modes_covered']}/8 modes, "
    f"{last['high_quality_percent']:.1f}% high quality"
)

game = trainer.base.at_batch()  # the same networks on one fixed batch of 128
point = tuple(p.to(torch.float64) for p in trainer.params)
n = sum(game.sizes)
print(f"parameters: generator {game.sizes[0]}, discriminator {game.sizes[1]} (n = {n})")

# %%
# Matrix-free against dense
# -------------------------
k = 6
dense = eigenvalues(game, point).values  # sorted by decreasing magnitude
top = top_eigenvalues(game, point, k=k)
spinning = top_eigenvalues(game, point, k=k, which="imaginary")
by_imag = dense[np.argsort(-np.abs(dense.imag), kind="stable")][:k]


def nearest_gap(values: np.ndarray, reference: np.ndarray) -> float:
    return float(max(np.abs(reference - v).min() for v in values))


print(f"top-{k} eigenvalues of J by magnitude ({top.products} matrix-free products):")
for v, d in zip(top.values, dense[:k]):
    print(f"  arpack {v.real:+.6f} {v.imag:+.6f}i   dense {d.real:+.6f} {d.imag:+.6f}i")
print(f"  largest |arpack - dense|: {nearest_gap(top.values, dense[:k]):.1e}")
print(
    f"top-{k} by |imaginary part| ({spinning.products} products): largest |Im| "
    f"{np.abs(spinning.values.imag).max():.4f} (dense {np.abs(by_imag.imag).max():.4f}), "
    f"largest |arpack - dense| {nearest_gap(spinning.values, by_imag):.1e}"
)

J = jacobian(game, point)
hessians = {}
for i, player in enumerate(game.players):
    spectrum = hessian_eigenvalues(game, point, player, k=k)
    lanczos = spectrum.values.real
    H = J.hessian(i)
    exact = np.sort(torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy())
    ends = np.sort(np.concatenate([exact[: k // 2], exact[-(k // 2) :]]))
    hessians[player] = (exact, np.sort(lanczos))
    print(
        f"{player} Hessian ({spectrum.products} products): "
        f"Lanczos ends {np.round(np.sort(lanczos), 4).tolist()}, "
        f"largest |Lanczos - dense| {np.abs(np.sort(lanczos) - ends).max():.1e}"
    )

verdict = classify(game, point)
rotation = np.mean(np.abs(dense.imag) > np.abs(dense.real))
print(
    f"the end point: |xi| = {verdict.field_norm:.3f} (not exactly stationary), "
    f"kind '{verdict.kind}', smallest Hessian eigenvalues "
    f"{tuple(round(h, 4) for h in verdict.hessian_min_eigenvalues)}"
)
print(
    f"{100 * rotation:.0f}% of J's eigenvalues have |Im| > |Re|; "
    f"{np.sum(dense.real < -1e-9)} have Re < 0"
)

# %%
# The spectrum of :math:`J`
# -------------------------
# Red: all eigenvalues (dense); circles: the top-6 by magnitude from ARPACK; squares:
# the top-6 by imaginary part.  Most of the spectrum is a cloud near 0 (directions the
# minibatch loss barely moves) with real parts of both signs: after this brief training
# the end point is neither stationary (:math:`|\xi| > 0`) nor locally stable
# (``classify`` says 'saddle').  Among the largest eigenvalues are complex pairs whose
# imaginary parts exceed their real parts: strong rotation.
fig, axes = plt.subplots(1, 3, figsize=(17, 5))
EigenvalueDisplay(dense, None, f"eigenvalues of J after {result.step} steps (n = {n})").plot(
    ax=axes[0]
)
axes[0].scatter(
    top.values.real,
    top.values.imag,
    s=120,
    facecolors="none",
    edgecolors="black",
    zorder=4,
    label=f"top-{k} |lambda| (ARPACK)",
)
axes[0].scatter(
    spinning.values.real,
    spinning.values.imag,
    s=90,
    marker="s",
    facecolors="none",
    edgecolors="tab:blue",
    zorder=4,
    label=f"top-{k} |Im| (ARPACK)",
)
axes[0].set_aspect("auto")
axes[0].legend(fontsize=8)
# the Hessian panels are drawn by the next cell: show the figure after that one
# sphinx_gallery_defer_figures

# %%
# Each player's Hessian
# ---------------------
# Sorted dense eigenvalues (line) and the three at each end from Lanczos (crosses).
# Both players have negative eigenvalues: the end point is not a local Nash
# equilibrium, whatever the rotation does.
for ax, (player, (exact, lanczos)) in zip(axes[1:], hessians.items()):
    ax.plot(np.arange(exact.size), exact, color="0.4", label="dense (eigvalsh)")
    rank = np.concatenate([np.arange(k // 2), np.arange(exact.size - k // 2, exact.size)])
    ax.plot(rank, lanczos, "rx", markersize=8, label=f"Lanczos, {k // 2} at each end")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("rank (ascending)")
    ax.set_ylabel("eigenvalue of the player's own Hessian")
    ax.set_title(f"{player}'s Hessian ({exact.size} parameters)")
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
