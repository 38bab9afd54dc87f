"""
Two timescales: the discriminator's step against the generator's
================================================================

Heusel et al. (2017) train GANs with a larger step for the discriminator than for the
generator (TTUR).  On the Dirac-GAN we can see exactly what the ratio
:math:`r = \\eta_D / \\eta_G` does.  Simultaneous GD with steps
:math:`D = \\mathrm{diag}(\\eta, r\\eta)` has the step map :math:`M = I - DJ` with
:math:`J = \\begin{pmatrix} 0 & c \\\\ -c & a \\end{pmatrix}` (:math:`c = f'(0) = 1/2`,
:math:`a = \\gamma` for R1, 0 unregularised), so

.. math:: \\mathrm{tr}\\,M = 2 - r\\eta a, \\qquad \\det M = 1 - r\\eta a + r\\eta^2c^2 .

By the Jury criterion (:math:`|\\det M| < 1`, :math:`|\\mathrm{tr}\\,M| < 1 + \\det M`)
GD is stable iff

.. math:: \\eta < a / c^2 \\quad\\text{and}\\quad r < r_\\max(\\eta) = \\frac{4}{\\eta(2a - \\eta c^2)} .

The generator's step bound does not depend on the ratio at all; the ratio decides how
fast GD converges below it, and a too-fast discriminator overshoots.  Unregularised
(:math:`a = 0`) the eigenvalues of :math:`M` are :math:`1 \\pm i\\eta c\\sqrt r`, so
:math:`\\rho = \\sqrt{1 + r\\eta^2c^2} > 1` for every ratio: no choice of timescales
makes simultaneous GD converge there, while extragradient does.
``analyses.two_timescale`` computes :math:`\\rho` over :math:`(\\eta_G, r)` from one
eigendecomposition of :math:`\\mathrm{diag}(1, r)J` per ratio.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from analyses import (
    SpectralRadiusDisplay,
    StabilityRegionDisplay,
    TrajectoryNormDisplay,
    two_timescale,
)
from dynamics import SimultaneousGD, linearize, run
from games import DiracGAN, as_params

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"

c, gamma = 0.5, 0.3
r1 = DiracGAN("standard", "r1", gamma=gamma)
plain = DiracGAN("standard")
point = r1.equilibrium()

# grid values chosen off the boundary eta = a / c^2 = 1.2, where rho = 1 exactly
lrs = np.linspace(0.03, 2.0, 36 if QUICK else 80)
ratios = np.logspace(-1, 2, 41 if QUICK else 121)
maps = {
    f"R1 (gamma = {gamma}), GD": two_timescale(r1, point, lrs, ratios),
    "unregularised, GD": two_timescale(plain, point, lrs, ratios),
    "unregularised, extragradient": two_timescale(plain, point, lrs, ratios, rule="extragradient"),
}


def r_max(eta: np.ndarray, a: float) -> np.ndarray:
    slack = eta * (2 * a - eta * c**2)
    return np.where(slack > 0, 4 / np.where(slack > 0, slack, 1.0), np.inf)


def closed_form_radius(eta: float, ratio: float, a: float) -> float:
    trace, det = 2 - ratio * eta * a, 1 - ratio * eta * a + ratio * eta**2 * c**2
    return float(max(abs(np.roots([1.0, -trace, det]))))


region = maps[f"R1 (gamma = {gamma}), GD"]
predicted = (lrs[:, None] < gamma / c**2) & (ratios[None, :] < r_max(lrs, gamma)[:, None])
clear = np.abs(region.spectral_radius - 1) > 1e-9
agree = (predicted == region.stable)[clear].mean()
print(f"R1: Jury-criterion region agrees with rho < 1 on {100 * agree:.2f}% of the grid")
best = np.unravel_index(np.argmin(region.spectral_radius), region.spectral_radius.shape)
eta_best, ratio_best = lrs[best[0]], ratios[best[1]]
print(
    f"R1: smallest rho {region.spectral_radius[best]:.4f} at eta_G = {eta_best:.3f}, "
    f"ratio {ratio_best:.2f} (closed form {closed_form_radius(eta_best, ratio_best, gamma):.4f})"
)
one = np.argmin(np.abs(ratios - 1.0))
print(f"R1: smallest rho with equal steps (ratio 1): {region.spectral_radius[:, one].min():.4f}")
rho_plain = maps["unregularised, GD"].spectral_radius
closed_plain = np.sqrt(1 + ratios[None, :] * lrs[:, None] ** 2 * c**2)
print(
    f"unregularised GD: smallest rho over the grid {rho_plain.min():.6f} "
    f"(closed form sqrt(1 + r eta^2 c^2), max deviation {np.abs(rho_plain - closed_plain).max():.1e})"
)
eg = maps["unregularised, extragradient"]
print(
    f"unregularised extragradient: stable on {100 * eg.stable.mean():.0f}% of the grid, "
    f"smallest rho {eg.spectral_radius.min():.4f}"
)

# %%
# Spectral radius over the generator's step and the ratio
# -------------------------------------------------------
# Black: the computed :math:`\rho = 1` contour; dashed blue: the closed-form boundary
# (:math:`\eta = a/c^2` and :math:`r = r_\max(\eta)`).  The unregularised game has no
# stable cell for GD (no contour at all); extragradient converges for small enough
# steps at every ratio.
fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
for ax, (name, stability) in zip(axes, maps.items()):
    StabilityRegionDisplay.from_region(stability, title=name).plot(ax=ax, log_axes=(False, True))
    ax.set_xlabel("ratio r = eta_D / eta_G (log scale)")
    ax.set_ylabel("generator step eta_G")
below = lrs < gamma / c**2
axes[0].plot(
    r_max(lrs[below], gamma), lrs[below], "--", color="tab:blue", linewidth=2, label="closed form"
)
edge = gamma / c**2
axes[0].plot([ratios[0], r_max(np.array(edge), gamma)], [edge, edge], "--", color="tab:blue", lw=2)
axes[0].plot([ratio_best], [eta_best], "w*", mec="k", markersize=13, label="smallest rho")
axes[0].set_xlim(ratios[0], ratios[-1])
axes[0].legend(fontsize=8, loc="upper left")
fig.suptitle("Dirac-GAN, two timescales: spectral radius of the step map at the equilibrium")
fig.tight_layout()

# %%
# One generator step, every ratio; and the runs
# ---------------------------------------------
# Left: :math:`\rho` against the ratio at :math:`\eta_G = 0.6` (crosses: the closed
# forms).  Right: simultaneous GD with per-player steps from
# :math:`(\theta, \psi) = (10^{-3}, 10^{-3})`; each run contracts at its predicted rate
# :math:`\rho^t` (dotted), diverging beyond :math:`r_\max(0.6) = 4/(0.6 \cdot 0.45) \approx 14.8`
# (dotted vertical line).
eta = 0.6
rho_r1 = [linearize(SimultaneousGD(lr=[eta, r * eta]), r1, point).spectral_radius for r in ratios]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
SpectralRadiusDisplay.from_values(
    ratios,
    rho_r1,
    "ratio r = eta_D / eta_G (log scale)",
    title=f"Dirac-GAN, simultaneous GD with eta_G = {eta}",
).plot(ax=axes[0], log_x=True)
axes[0].lines[0].set_label(f"R1 (gamma = {gamma}), linearize")
axes[0].plot(ratios, np.sqrt(1 + ratios * eta**2 * c**2), label="unregularised")
thin = slice(None, None, 4)
axes[0].plot(
    ratios[thin],
    [closed_form_radius(eta, r, gamma) for r in ratios[thin]],
    "kx",
    label="closed forms",
)
axes[0].plot(ratios[thin], np.sqrt(1 + ratios[thin] * eta**2 * c**2), "kx")
axes[0].axvline(
    float(r_max(np.array(eta), gamma)), color="gray", linestyle=":", label="r_max(eta_G)"
)
axes[0].set_ylim(0, 2)
axes[0].legend(fontsize=8)

steps = 60 if QUICK else 150
start = as_params(r1, [[1e-3], [1e-3]])
runs = {}
for ratio in (1.0, 4.0, 10.0, 16.0):
    runs[f"ratio {ratio:g}"] = run(r1, SimultaneousGD(lr=[eta, ratio * eta]), start, steps)
norms = TrajectoryNormDisplay.from_trajectories(
    runs, center=point, title=f"R1 Dirac-GAN, eta_G = {eta}: |theta_t - theta*| (dotted: rho^t)"
)
norms.plot(ax=axes[1])
t = np.arange(steps + 1)
for name, line in norms.lines_.items():
    ratio = float(name.split()[1])
    rho = closed_form_radius(eta, ratio, gamma)
    axes[1].semilogy(t, np.hypot(1e-3, 1e-3) * rho**t, ":", color=line.get_color())
    norm = runs[name].norms(point)
    measured = (norm[20] / norm[5]) ** (1 / 15)  # near the equilibrium: the linear regime
    print(
        f"ratio {ratio:>4g}: measured factor per step (steps 5-20) {float(measured):.4f}, rho {rho:.4f}"
    )
axes[1].set_ylim(1e-18, 1e2)
fig.tight_layout()
plt.show()
