"""
Unroll depth: how looking ahead damps the Dirac-GAN
===================================================

The unregularised Dirac-GAN has purely imaginary Jacobian eigenvalues at its equilibrium:
simultaneous gradient descent spirals out for every step size.  Unrolling the
discriminator ``K`` steps (Metz et al. 2017) changes the generator's loss; around the
equilibrium the unrolled Jacobian is

.. math:: J_K = \\begin{pmatrix} m K \\eta c^2 & c \\\\ -c & 0 \\end{pmatrix},

with :math:`c = f'(0)`, the inner step :math:`\\eta`, and :math:`m = 2` for
second-order unrolling (1 for first order): unrolling adds damping linear in ``K``.
``analyses.unroll_depth`` computes the spectrum of ``games.unrolled`` games and the
spectral radius of a rule on them; we check it against that closed form.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from analyses import SpectralRadiusDisplay, unroll_depth
from games import DiracGAN

game = DiracGAN("standard")  # f(t) = -log(1 + exp(-t)), c = f'(0) = 1/2
QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
depths = list(range(0, 17 if QUICK else 41))
study = unroll_depth(game, game.equilibrium(), depths, inner_lr=[0.1, 0.5], lr=[0.5, 1.0, 2.0])
first = unroll_depth(game, game.equilibrium(), depths, inner_lr=[0.5], lr=[1.0], first_order=True)

c = 0.5
closed = [np.abs(1 - 1.0 * np.roots([1, -2 * k * 0.5 * c * c, c * c])).max() for k in depths]
assert np.allclose(study.spectral_radius[:, 1, 1], closed, atol=1e-6)

# %%
# Spectral radius of simultaneous GD (outer step 1) against the unroll depth; the dashed
# line is rho = 1.  Depth 0 is the plain Dirac-GAN (rho > 1: it diverges).  A few steps
# of unrolling make it converge, but deeper unrolling overshoots: the larger real
# eigenvalue grows like :math:`mK\eta c^2` and passes :math:`2/\text{step}`, so GD
# with a fixed outer step diverges again — there is a best depth for each step size.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
SpectralRadiusDisplay.from_values(
    depths,
    study.spectral_radius[:, 1, 1],
    "unroll depth K",
    title="GD on the unrolled Dirac-GAN (inner step 0.5, outer step 1)",
).plot(ax=axes[0])
axes[0].plot(depths, first.spectral_radius[:, 0, 0], marker=".", label="first order")
axes[0].plot(depths, closed, "k:", label="closed form (second order)")
axes[0].legend()
# the right panel is drawn by the next cell: show the figure after that one
# sphinx_gallery_defer_figures

# %%
# The eigenvalues move from +-i c (pure rotation) onto the real axis: complex pairs for
# small K, real once :math:`mK\eta c^2 \ge 2c`.
for b, eta in enumerate(study.inner_lrs):
    values = study.eigenvalues[:, b, :]
    axes[1].scatter(values.real.ravel(), values.imag.ravel(), s=8, label=f"inner step {eta}")
axes[1].axvline(0, color="black", linewidth=0.8)
axes[1].set_xlabel("Re lambda (> 0: stable for the flow)")
axes[1].set_ylabel("Im lambda (rotation)")
axes[1].set_title(f"eigenvalues of J_K for K = 0..{depths[-1]}")
axes[1].legend()
fig.tight_layout()
plt.show()
