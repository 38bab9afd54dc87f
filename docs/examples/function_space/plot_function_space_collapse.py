"""
No retaining force: the GAN in function space
=============================================

Played directly on densities (pdf space), the GAN's value is *linear* in the
generator's density :math:`p_g`.  At the equilibrium :math:`p_g = p_\\text{data}` the
optimal discriminator is the constant :math:`D = \\tfrac12`, so the generator's own
Jacobian block (its Hessian) is exactly zero: nothing pulls the generator back to the
data except the discriminator's reaction.  With the density itself as the generator's
parameters the game decouples into one 2 x 2 game per grid point :math:`x_k` (weight
:math:`w_k`, data density :math:`p_k`); for the minimax loss, at :math:`d_k = 0`,

.. math:: J_k = \\begin{pmatrix} 0 & -w_k/2 \\\\ w_k/2 & w_k p_k/2 \\end{pmatrix},
          \\qquad \\lambda_k = \\frac{w_k}{4}\\left(p_k \\pm i\\sqrt{4 - p_k^2}\\right),

nearly pure rotation wherever the data has little mass.

Which player moves first matters (Goodfellow 2016): with the generator best-responding
(max–min order) it puts all its mass on the discriminator's favourite point and hops
from mode to mode; with the discriminator best-responding (min–max order,
:math:`D^* = p_\\text{data}/(p_\\text{data} + p_g)`) the generator converges to the data.
Finally, in generator-function space (``games.GeneratorFunctionSpaceGAN``: the
generator is :math:`G(z)` at latent quantiles) a generator collapsed onto one mode is a
local minimum of :math:`C(G) = \\max_D V(D, G)`.
"""

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

from analyses import (
    EigenvalueDisplay,
    ModeHoppingGraphDisplay,
    eigenvalues,
    hopping_cycles,
    mode_hopping_graph,
)
from dynamics import BestResponseGD, run
from games import (
    FunctionSpaceGAN,
    GeneratorFunctionSpaceGAN,
    Grid,
    gaussian_mixture_density,
    jacobian,
    jsd,
    optimal_discriminator,
    temperature_density,
)

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # small vectors: a thread pool costs more than it saves
# (the thread count is restored at the end)

# %%
# The Jacobian at the equilibrium
# -------------------------------
# The summer temperatures (hot Alice Springs, very cold South Pole) on 40 grid points.
grid, p_data = temperature_density(Grid.line(-50.0, 50.0, 40))
softmax_game = FunctionSpaceGAN(grid, p_data, "minimax")
density_game = FunctionSpaceGAN(grid, p_data, "minimax", generator="density")
J_softmax = jacobian(softmax_game, softmax_game.equilibrium())
J_density = jacobian(density_game, density_game.equilibrium())
for name, J in (("softmax logits", J_softmax), ("raw density", J_density)):
    print(
        f"generator = {name:<15} max |J_GG| = {float(J.block(0, 0).abs().max()):.1e}, "
        f"max |J_DD| = {float(J.block(1, 1).abs().max()):.4f}"
    )

w, p = grid.weights.numpy(), p_data.numpy()
closed = np.concatenate(
    [w / 4 * (p + 1j * np.sqrt(4 - p**2)), w / 4 * (p - 1j * np.sqrt(4 - p**2))]
)
computed = eigenvalues(density_game, density_game.equilibrium()).values
deviation = max(np.abs(computed - c).min() for c in closed)
print(f"raw density: eigenvalues against the closed form, largest deviation {deviation:.1e}")
ratio = np.abs(computed.real) / np.abs(computed)
print(
    f"raw density: Re/|lambda| per grid point is p_data/2, at most {p.max() / 2:.4f}; "
    f"{np.sum(ratio < 0.01)} of {computed.size} eigenvalues have "
    f"Re/|lambda| < 0.01 (nearly pure rotation); largest Re/|lambda| {ratio.max():.3f}"
)

# %%
# Left: :math:`|J|` with the generator parameterised by softmax logits (blocks: G and D
# in that order); the generator block is empty.  Middle: the raw-density game's
# eigenvalues (red) against the closed form (crosses): all of them hug the imaginary
# axis.  Right: :math:`\mathrm{Re}\,\lambda_k / |\lambda_k| = p_k / 2` per grid point
# (:math:`|\lambda_k| = w_k/2`): the only damping comes from the discriminator's
# curvature, and only where the data has mass; between the two modes the dynamics is a
# pure rotation, as in the Dirac-GAN.
fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
n = grid.size
magnitude = np.log10(np.abs(J_softmax.matrix.numpy()) + 1e-12)
image = axes[0].imshow(magnitude, cmap="viridis", vmin=-8, vmax=magnitude.max())
fig.colorbar(image, ax=axes[0], label="log10(|J_ij| + 1e-12), clipped at -8")
for edge in (n - 0.5,):
    axes[0].axhline(edge, color="white", linewidth=1)
    axes[0].axvline(edge, color="white", linewidth=1)
axes[0].set_xticks([n / 2, 3 * n / 2], ["generator", "discriminator"])
axes[0].set_yticks([n / 2, 3 * n / 2], ["generator", "discriminator"])
axes[0].set_xlabel("with respect to (column block)")
axes[0].set_ylabel("gradient of (row block)")
axes[0].set_title("|J| at the equilibrium, softmax generator\n(generator block: exactly 0)")

EigenvalueDisplay(computed, None, "raw-density game: eigenvalues of J").plot(ax=axes[1])
axes[1].plot(closed.real, closed.imag, "kx", markersize=5, zorder=4, label="closed form")
axes[1].set_aspect("auto")
axes[1].set_xlim(-0.004, 0.036)
axes[1].set_xticks([0.0, 0.01, 0.02, 0.03])
axes[1].set_ylim(-1.5, 1.5)
axes[1].set_xlabel("Re(lambda)  (note the scale: 30x finer than Im)")
axes[1].legend(fontsize=8, loc="center right")

# each grid point's own 2 x 2 game, read off the autodiff Jacobian's four diagonals
blocks = np.stack(
    [
        np.stack([np.diag(J_density.block(0, 0)), np.diag(J_density.block(0, 1))], -1),
        np.stack([np.diag(J_density.block(1, 0)), np.diag(J_density.block(1, 1))], -1),
    ],
    -2,
)
per_point = np.linalg.eigvals(blocks)[:, 0]
t = grid.points[:, 0].numpy()
axes[2].plot(t, np.abs(per_point.real) / np.abs(per_point), "o", label="from J (autodiff)")
axes[2].plot(t, p / 2, "k-", linewidth=1, label="closed form p_data(x_k) / 2")
axes[2].set_xlabel("temperature x_k (°C)")
axes[2].set_ylabel("Re(lambda_k) / |lambda_k|  (0: pure rotation)")
axes[2].set_title("raw-density game: retaining force per grid point")
axes[2].legend(fontsize=8)
fig.tight_layout()

# %%
# Max–min against min–max on the 8-Gaussian ring
# -----------------------------------------------
# The ring of 8 Gaussians (radius 1, std 0.15) as a density on a 2-D grid, played with
# the minimax loss from a generator that favours mode 0.  Max–min: each step the
# generator jumps to the discriminator's favourite grid point (a point mass), then the
# discriminator takes a gradient step and turns against it.  Min–max: each step the
# discriminator is set to :math:`D^*`, then the generator's softmax logits take a
# gradient step.
size = 21 if QUICK else 31
steps = 40 if QUICK else 100
plane = Grid.plane((-1.6, 1.6), (-1.6, 1.6), (size, size))
angles = 2 * math.pi * np.arange(8) / 8
modes = np.stack([np.cos(angles), np.sin(angles)], 1)
ring_density = gaussian_mixture_density(plane, modes, 0.15)
ring_game = FunctionSpaceGAN(plane, ring_density, "minimax")
points = plane.points.numpy()
favours_mode_0 = np.exp(-((points - modes[0]) ** 2).sum(1) / (2 * 0.3**2)) + 0.05
first_guess = plane.normalize(favours_mode_0)
# the discriminator starts at its best response: a constant D would make every grid
# point the generator's favourite
start = ring_game.params_for(first_guess, optimal_discriminator(ring_density, first_guess))
max_min = run(
    ring_game,
    BestResponseGD(lr=[0.0, 5.0], inner=0, best_response=ring_game.generator_best_response),
    start,
    steps,
)
min_max = run(
    ring_game,
    BestResponseGD(lr=[100.0, 0.0], inner=1, best_response=ring_game.discriminator_best_response),
    start,
    steps,
)


def divergence(traj):
    return [
        float(jsd(ring_density, ring_game.density(row[: plane.size]), plane)) for row in traj.params
    ]


where = points[[int(torch.argmax(row[: plane.size])) for row in max_min.params[1:]]]
nearest = [int(np.argmin(((modes - x) ** 2).sum(1))) for x in where]
graph = mode_hopping_graph(nearest, n_modes=8)
print(f"max-min: the generator's point mass visits modes {nearest[:16]} ...")
visited = sum(graph.nodes[k]["visits"] > 0 for k in graph)
print(
    f"max-min: {visited} of 8 modes visited, {graph.number_of_edges()} distinct hops, "
    f"{len(hopping_cycles(graph))} hopping cycles"
)
jsd_max_min, jsd_min_max = divergence(max_min), divergence(min_max)
print(f"JSD to the data after {steps} steps (log 2 = {math.log(2):.3f} is disjoint support):")
print(f"  max-min {jsd_max_min[-1]:.4f}, min-max {jsd_min_max[-1]:.4f}")

fig, axes = plt.subplots(1, 4, figsize=(19, 4.6))
extent = (-1.6, 1.6, -1.6, 1.6)
data_image = ring_density.reshape(size, size).numpy().T
for ax in axes[:2]:
    ax.contour(
        np.linspace(-1.6, 1.6, size), np.linspace(-1.6, 1.6, size), data_image, 4, colors="0.6"
    )
axes[0].plot(where[:, 0], where[:, 1], "-", color="tab:red", alpha=0.4, linewidth=0.8)
axes[0].scatter(where[:, 0], where[:, 1], c=np.arange(len(where)), cmap="plasma", s=25, zorder=3)
axes[0].set_title(f"max-min: the generator's point mass, {steps} steps\n(colour: step; grey: data)")
final = ring_game.density(min_max.final[0]).reshape(size, size).numpy().T
axes[1].imshow(final, origin="lower", extent=extent, cmap="magma")
axes[1].set_title(f"min-max: the generator's density after {steps} steps\n(grey: data contours)")
for ax in axes[:2]:
    ax.set_xlabel("x[0]")
    ax.set_ylabel("x[1]")
    ax.set_aspect("equal")
ModeHoppingGraphDisplay.from_dominant_modes(nearest, modes, title="max-min: hops").plot(ax=axes[2])
axes[2].title.set_fontsize(10)
axes[3].plot(jsd_max_min, label="max-min (generator best-responds)")
axes[3].plot(jsd_min_max, label="min-max (discriminator best-responds)")
axes[3].axhline(math.log(2), color="black", linestyle=":", label="log 2")
axes[3].set_xlabel("step")
axes[3].set_ylabel("JSD(p_data, p_g) (nats)")
axes[3].set_title("distance to the data")
axes[3].legend(fontsize=8)
fig.tight_layout()

# %%
# A collapsed generator is a local minimum in generator-function space
# ---------------------------------------------------------------------
# ``GeneratorFunctionSpaceGAN`` represents the generator by its values :math:`G(z_j)`
# at latent quantiles.  For two equal, separated modes the generator that maps every
# latent point into the hot mode alone has
# :math:`C = -\log 4 + \tfrac32\log\tfrac43`; covering both modes reaches
# :math:`-\log 4`.  Along the straight path from the collapsed generator to the
# data's quantile function, :math:`C` first *rises* (samples land between the modes,
# where no data is): a barrier that gradient steps on :math:`G` do not cross.
line = Grid.line(-50.0, 50.0, 200)
_, temperatures = temperature_density(line)
latent = 100 if QUICK else 400
generator_game = GeneratorFunctionSpaceGAN(line, temperatures, latent_size=latent)
collapsed = generator_game.quantile_generator(gaussian_mixture_density(line, [28.0], [5.0]))
covering = generator_game.quantile_generator(temperatures)
path = np.linspace(0.0, 1.0, 41)
criterion = [float(generator_game.criterion((1 - s) * collapsed + s * covering)) for s in path]
print(f"C(G) on {latent} latent quantiles (closed forms in the continuum):")
print(
    f"  collapsed onto the hot mode {criterion[0]:.4f} (-log 4 + 1.5 log(4/3) = {-math.log(4) + 1.5 * math.log(4 / 3):.4f})"
)
print(f"  covering both modes         {criterion[-1]:.4f} (-log 4 = {-math.log(4):.4f})")
print(
    f"  highest on the path          {max(criterion):.4f} at s = {path[int(np.argmax(criterion))]:.3f}"
)

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(path, criterion, marker=".")
axes[0].axhline(
    -math.log(4) + 1.5 * math.log(4 / 3),
    color="tab:red",
    linestyle=":",
    label="collapsed (closed form)",
)
axes[0].axhline(-math.log(4), color="black", linestyle=":", label="-log 4: the data")
axes[0].set_xlabel("s: G = (1 - s) G_collapsed + s G_data")
axes[0].set_ylabel("C(G) = max_D V(D, G)")
axes[0].set_title("virtual training criterion along a path in generator space")
axes[0].legend(fontsize=8)
x = line.points[:, 0].numpy()
axes[1].plot(x, temperatures.numpy(), color="black", label="data")
for s in (0.0, 0.3, 1.0):
    G = (1 - s) * collapsed + s * covering
    axes[1].plot(
        x, generator_game.pushforward_density(G).numpy(), label=f"G_# p_z at s = {s}", alpha=0.8
    )
axes[1].set_xlabel("temperature (°C)")
axes[1].set_ylabel("density")
axes[1].set_title("generated densities along the path")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
