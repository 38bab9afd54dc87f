"""
What unrolling does to the rotation of a GAN's field
====================================================

A GAN's simultaneous-gradient field rotates around its equilibria: the Jacobian J has
eigenvalues with large imaginary parts, and gradient descent spirals (Mescheder et al.
2017, 2018).  Unrolling the discriminator K steps (Metz et al. 2017) changes the
generator's field.  On the Dirac-GAN the unrolled Jacobian at the equilibrium is

.. math:: J_K = \\begin{pmatrix} 2K\\eta c^2 & c \\\\ -c & 0 \\end{pmatrix},

(second order, inner SGD step :math:`\\eta`, :math:`c = f'(0)`), whose eigenvalues
:math:`\\lambda = (a \\pm \\sqrt{a^2 - 4c^2})/2` with :math:`a = 2K\\eta c^2` have the
rotational part

.. math:: \\frac{|\\operatorname{Im} \\lambda|}{|\\operatorname{Re} \\lambda|}
   = \\sqrt{4c^2 / a^2 - 1} \\quad (a < 2c), \\qquad 0 \\quad (a \\ge 2c):

unrolling trades rotation for damping.  Does the same happen on a trained neural GAN?
We train a small plain GAN on the 8-Gaussian ring, take its parameters at the end, and
compute the top eigenvalues of J and of the unrolled game's J_K there
(``analyses.checkpoint_game(..., unroll=K)``, matrix-free ARPACK).  A trained GAN is not
at an equilibrium, so nothing forces the closed form: we measure.
``benchmarks/ring_spectra.py`` does the same along the training of the unrolled-GAN
paper's full-size plain and unrolled GANs (:doc:`/mode_coverage`, section
"Theory next to practice").
"""

# %%
import io
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import checkpoint_game, top_eigenvalues, unroll_depth
from games import DiracGAN
from gan_models import TrainConfig, Trainer

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)

# %%
# The Dirac-GAN: the closed form against ``analyses.unroll_depth`` (second order, inner
# SGD step 0.5, c = 1/2).
game = DiracGAN("standard")
c, eta = 0.5, 0.5
depths = np.arange(0, 9)
study = unroll_depth(game, game.equilibrium(), depths, inner_lr=[eta], lr=[1.0])
values = study.eigenvalues[:, 0, :]
measured = np.abs(values.imag).max(axis=1) / np.maximum(np.abs(values.real).max(axis=1), 1e-300)
a = 2 * depths[1:] * eta * c**2  # K >= 1 (K = 0: pure rotation, the ratio is infinite)
closed = np.sqrt(np.clip(4 * c**2 / a**2 - 1, 0, None))
assert np.allclose(measured[1:], closed, rtol=1e-6, atol=1e-6)

# %%
# A plain GAN on the ring (2 × 64 ReLU, quick mode 2 × 32; latent 16, batch 128, Adam
# with lr 1e-3 for G and 1e-4 for D), then the six eigenvalues of J_K with the largest imaginary parts (the
# rotational part of the field; ARPACK's ``which="imaginary"``) at its final parameters.
steps = 300 if QUICK else 2000
ks = [0, 2] if QUICK else [0, 1, 2, 5, 10]
width = 32 if QUICK else 64
print(f"{'quick' if QUICK else 'full'} run: {steps} training steps, 2 × {width} ReLU, K in {ks}")
config = TrainConfig.from_dict(
    {
        "seed": 0,
        "device": "cpu",
        "steps": steps,
        "batch_size": 128,
        "latent_dim": 16,
        "eval_every": steps,
        "checkpoint_every": steps,
        "log_every": steps,
        "data": {"name": "ring", "options": {}},
        "generator": {"width": width},
        "discriminator": {"width": width},
        "optimizer": {"rule": "adam", "lr": [1e-3, 1e-4], "betas": [0.5, 0.999]},
        "unroll": {"steps": 0, "lr": 1e-4, "inner": "adam"},
    }
)
spectra = {}
with tempfile.TemporaryDirectory() as folder:
    Trainer.from_config(config, out_dir=folder, progress=False, stream=io.StringIO()).train()
    for k in ks:
        unrolled_game, point, _ = checkpoint_game(folder, unroll=k)
        spectra[k] = top_eigenvalues(unrolled_game, point, k=6, which="imaginary").values
for k, lam in spectra.items():
    ratio = np.abs(lam.imag) / np.abs(lam.real)
    print(
        f"K = {k:2d}: largest |Im| {np.abs(lam.imag).max():.3f}; "
        f"|Im|/|Re| median {np.median(ratio):.2f}; eigenvalues {np.round(lam, 3)}"
    )

# %%
# Left: the Dirac-GAN's rotation against K (closed form and toolkit). Right: the trained
# ring GAN's top eigenvalues for each K (inner Adam, lr 1e-4, as the unrolled-GAN paper).
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
axes[0].plot(depths[1:], closed, "k-", label="closed form")
axes[0].plot(depths[1:], measured[1:], "o", label="analyses.unroll_depth")
axes[0].set_xlabel("unroll depth K")
axes[0].set_ylabel("|Im λ| / |Re λ| at the equilibrium")
axes[0].set_title("Dirac-GAN (inner SGD step 0.5)")
axes[0].legend()
for k, lam in spectra.items():
    axes[1].scatter(lam.real, lam.imag, label=f"K = {k}", s=25)
axes[1].axvline(0, color="black", linewidth=0.7)
axes[1].axhline(0, color="black", linewidth=0.7)
axes[1].set_xlabel("Re λ")
axes[1].set_ylabel("Im λ")
axes[1].set_title(f"trained plain ring GAN, step {steps}: largest-|Im| eigenvalues of J_K")
axes[1].legend()
fig.tight_layout()
torch.set_num_threads(previous_threads)

# %%
# Read the printed medians: they are what this run measured. On the Dirac-GAN the
# rotation falls to 0 by K = 4 here (a = 2c); on a trained network the same
# transformation acts on a field that is far from an equilibrium, so its effect on the
# leading eigenvalues is an empirical question. The quick run (``GAMEDYN_QUICK=1``, the
# first printed line says which run this page shows) is short: 300 steps of a 2 × 32
# network and K = 0 and 2 only, and there J_2's leading eigenvalues are almost those of
# J_0, so it shows nothing either way. The full-size GANs, along 25,000 steps of
# training, are measured in :doc:`/mode_coverage` (section "Theory next to practice").
