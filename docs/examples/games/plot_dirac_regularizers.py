"""
The Dirac-GAN and its regularisers
==================================

Mescheder et al. (2018) reduce a GAN to two numbers: the data is a point mass at 0, the
generator a point mass at :math:`\\theta`, the discriminator is linear,
:math:`D(x) = \\psi x`, and :math:`L(\\theta, \\psi) = f(\\psi\\theta) + f(0)` with
:math:`f(t) = -\\log(1 + e^{-t})` (:math:`f(t) = t` for WGAN).  At the equilibrium
:math:`(0, 0)` every variant here has a game Jacobian of the form

.. math:: J = \\begin{pmatrix} 0 & c \\\\ -c & a \\end{pmatrix}, \\qquad
          \\lambda_\\pm = \\frac a2 \\pm \\sqrt{\\frac{a^2}{4} - c^2},

with :math:`c = f'(0)` (1/2, or 1 for WGAN) and :math:`a` the discriminator's own
curvature: :math:`a = 0` unregularised and for WGAN (purely imaginary eigenvalues: no
convergence), :math:`a = \\gamma` for the zero-centred gradient penalties R1 and R2
(identical for a Dirac-GAN), :math:`a = -2f''(0)\\sigma^2 = \\sigma^2/2` for instance
noise of standard deviation :math:`\\sigma`.  WGAN-GP's penalty
:math:`\\tfrac\\gamma2(|\\psi| - 1)^2` has a kink at the equilibrium: the Jacobian there
is that of WGAN (autograd takes the subgradient 0), but away from :math:`\\psi = 0` the
penalty pushes :math:`|\\psi|` to 1 and the generator never settles.

Simultaneous GD with step :math:`\\eta` is stable iff every :math:`\\lambda` lies in the
disc :math:`|\\lambda - 1/\\eta| < 1/\\eta`, i.e. :math:`\\eta < 2\\,\\mathrm{Re}\\,\\lambda/|\\lambda|^2`.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from analyses import (
    EigenvalueDisplay,
    PhasePortraitDisplay,
    StabilityRegion,
    StabilityRegionDisplay,
    eigenvalues,
    max_stable_step,
    stability_region,
)
from dynamics import SimultaneousGD
from games import DiracGAN, as_params, vector_field

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"

gamma, sigma = 0.3, 0.7
variants = {
    "unregularised": (DiracGAN("standard"), 0.0),
    "WGAN (clipped |psi| <= 1)": (DiracGAN("wgan"), 0.0),
    "WGAN-GP (gamma = 1)": (DiracGAN("wgan", "wgan_gp", gamma=1.0), 0.0),
    f"instance noise (sigma = {sigma})": (
        DiracGAN("standard", "instance_noise", noise_std=sigma, quadrature_nodes=10),
        sigma**2 / 2,
    ),
    f"R1 (gamma = {gamma})": (DiracGAN("standard", "r1", gamma=gamma), gamma),
    f"R2 (gamma = {gamma})": (DiracGAN("standard", "r2", gamma=gamma), gamma),
}


def closed_form(a: float, c: float) -> np.ndarray:
    root = np.sqrt(complex(a * a / 4 - c * c))
    return np.array([a / 2 + root, a / 2 - root])


print("eigenvalues of J at the equilibrium and the largest stable GD step (closed form: a / c^2)")
print(f"{'variant':<30}{'dense':>20}{'closed form':>20}{'max step':>10}{'a / c^2':>9}")
for name, (game, a) in variants.items():
    computed = eigenvalues(game, game.equilibrium()).values
    exact = closed_form(a, game.f_prime_zero)
    assert np.allclose(np.sort_complex(computed), np.sort_complex(exact), atol=1e-9)
    pair = f"{computed[0].real:.4f} ± {abs(computed[0].imag):.4f}i"
    formula = f"{exact[0].real:.4f} ± {abs(exact[0].imag):.4f}i"
    step, step_formula = max_stable_step(computed), a / game.f_prime_zero**2
    assert abs(step - step_formula) < 1e-9
    print(f"{name:<30}{pair:>20}{formula:>20}{step:>10.4g}{step_formula:>9.4g}")

# %%
# Eigenvalues at the equilibrium
# ------------------------------
# Red: the eigenvalues of :math:`J`; green: the disc where simultaneous GD with
# :math:`\eta = 0.5` is stable.  Unregularised, WGAN and WGAN-GP sit on the imaginary
# axis, outside the disc (:math:`|1 - \eta\lambda| = \sqrt{1 + \eta^2|\lambda|^2} > 1`
# for every step: GD cannot converge); instance noise and R1/R2 move them into the right
# half-plane, inside the disc for small enough steps.
eta = 0.5
fig, axes = plt.subplots(2, 3, figsize=(13, 8))
for ax, (name, (game, _)) in zip(axes.ravel(), variants.items()):
    display = EigenvalueDisplay.from_game(game, game.equilibrium(), lr=eta, title=name)
    display.plot(ax=ax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlim(-1.2, 1.8)
    ax.set_ylim(-1.2, 1.2)
    ax.set_title(f"{name}\nGD stable at eta = {eta}: {display.gd_stable}", fontsize=10)
fig.suptitle("Dirac-GAN: eigenvalues of J at the equilibrium (green: GD stability region)")
fig.tight_layout()

# %%
# Phase portraits
# ---------------
# Grey: the flow :math:`-\xi`; coloured: simultaneous GD (:math:`\eta = 0.1`) from
# :math:`(\theta, \psi) = (1, 1)`.  Unregularised and WGAN circle or spiral out (the WGAN
# run clips :math:`\psi` to :math:`[-1, 1]` after each step, as WGAN's weight clipping
# does; no library rule clips, so it is a small loop here), WGAN-GP oscillates around
# the equilibrium without converging, instance noise and R1/R2 spiral in.
steps = 120 if QUICK else 300
resolution = 9 if QUICK else 13
start = as_params(DiracGAN(), [[1.0], [1.0]])


def clipped_gd(game: DiracGAN, lr: float, steps: int, bound: float = 1.0) -> np.ndarray:
    theta, psi = (p.clone() for p in start)
    path = [[float(theta), float(psi)]]
    for _ in range(steps):
        g_theta, g_psi = vector_field(game, (theta, psi))
        theta, psi = theta - lr * g_theta, (psi - lr * g_psi).clamp(-bound, bound)
        path.append([float(theta), float(psi)])
    return np.array(path)


fig, axes = plt.subplots(2, 3, figsize=(13, 8))
for ax, (name, (game, _)) in zip(axes.ravel(), variants.items()):
    clipped = name.startswith("WGAN (")
    portrait = PhasePortraitDisplay.from_game(
        game,
        (-2.0, 2.0),
        (-2.0, 2.0),
        resolution=resolution,
        rules=None if clipped else {"simultaneous GD": SimultaneousGD(lr=0.1)},
        start=[1.0, 1.0],
        steps=steps,
        title=name,
    )
    if clipped:
        portrait.trajectories = {"clipped simultaneous GD": clipped_gd(game, 0.1, steps)}
    portrait.plot(ax=ax, density=0.6)
    ax.plot([0.0], [0.0], "k*", markersize=10)
    ax.set_xlim(-2.0, 2.0)
    ax.set_ylim(-2.0, 2.0)
    ax.set_xlabel("generator theta")
    ax.set_ylabel("discriminator psi")
    end = portrait.trajectories[next(iter(portrait.trajectories))][-1]
    ax.set_title(f"{name}\n|theta, psi| after {steps} steps: {np.hypot(*end):.3f}", fontsize=10)
    print(f"{name:<30} distance to the equilibrium after {steps} GD steps: {np.hypot(*end):.4f}")
fig.suptitle("Dirac-GAN: flow -xi (grey) and simultaneous GD, eta = 0.1, from (1, 1)")
fig.tight_layout()

# %%
# Where simultaneous GD converges for R1
# --------------------------------------
# The spectral radius of :math:`I - \eta J` over the step size and the penalty weight.
# With :math:`c = 1/2`: for :math:`\gamma < 2c` the eigenvalues are complex with
# :math:`|\lambda|^2 = c^2` and :math:`\mathrm{Re}\,\lambda = \gamma/2`, so GD is stable
# iff :math:`\eta < \gamma/c^2`; for :math:`\gamma \ge 2c` they are real and the
# larger one decides: :math:`\eta < 2/\lambda_+`.  Dashed: that closed-form boundary;
# black: the computed :math:`\rho = 1` contour.  Too little penalty and GD needs tiny
# steps (nearly imaginary eigenvalues, the "Numerics of GANs"); too much and the
# discriminator's own curvature limits the step.
c = 0.5
gammas = np.linspace(0.02, 3.0, 40 if QUICK else 90)
etas = np.linspace(0.02, 6.0, 40 if QUICK else 90)
radius = np.empty((etas.size, gammas.size))
for j, g in enumerate(gammas):
    # gamma belongs to the game, not to the rule: one column per game
    game = DiracGAN("standard", "r1", gamma=float(g))
    column = stability_region(game, game.equilibrium(), "gd", lr=etas, ratio=[1.0])
    radius[:, j] = column.spectral_radius[:, 0]
region = StabilityRegion(("step size eta", "R1 weight gamma"), etas, gammas, radius)


def boundary(g: np.ndarray) -> np.ndarray:
    lam_plus = g / 2 + np.sqrt(np.maximum(g * g / 4 - c * c, 0.0))
    return np.where(g < 2 * c, g / c**2, 2 / lam_plus)


predicted = etas[:, None] < boundary(gammas)[None, :]
agree = (predicted == region.stable).mean()
print(
    f"R1 stability map: closed-form boundary agrees with rho < 1 on {100 * agree:.1f}% of the grid"
)
for g in (0.1, 0.5, 1.0, 2.0):
    game = DiracGAN("standard", "r1", gamma=g)
    computed = max_stable_step(eigenvalues(game, game.equilibrium()).values)
    print(
        f"  gamma = {g}: largest stable step {computed:.4f} (closed form {boundary(np.array(g)):.4f})"
    )
best = np.unravel_index(np.argmin(radius), radius.shape)
print(
    f"  smallest rho on the grid: {radius[best]:.4f} at eta = {etas[best[0]]:.3f}, gamma = {gammas[best[1]]:.3f}"
)

fig, ax = plt.subplots(figsize=(7, 5))
StabilityRegionDisplay.from_region(region, title="R1 Dirac-GAN, simultaneous GD").plot(ax=ax)
ax.plot(gammas, boundary(gammas), "--", color="tab:blue", linewidth=2, label="closed form")
ax.set_ylim(etas[0], etas[-1])
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()
