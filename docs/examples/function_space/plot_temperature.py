"""
Summer temperatures: mode collapse and mode hopping in pdf space
================================================================

Daily summer temperatures are bimodal when half the days are in Alice Springs (around
28 °C) and half at the South Pole (around -28 °C): nothing in between is real. We play
the GAN directly on densities over a temperature grid (``games.FunctionSpaceGAN``) and
compare three ways of playing it:

1. simultaneous gradient descent with the non-saturating loss, generator as softmax
   logits, from a uniform start;
2. the max–min order: the generator best-responds (all its mass on the discriminator's
   favourite temperature) and the discriminator takes a gradient step — the generator
   hops from one mode to the other and never covers both;
3. the min–max order: the discriminator best-responds (``D* = p_data / (p_data + p_g)``)
   and the generator takes a gradient step — it converges to the data.
"""

# %%
import os

import matplotlib.pyplot as plt
import torch

from dynamics import BestResponseGD, SimultaneousGD, run
from games import FunctionSpaceGAN, Grid, jsd, temperature_density

QUICK = os.environ.get("GAMEDYN_QUICK") == "1"
previous_threads = torch.get_num_threads()
torch.set_num_threads(1)  # vectors of 100 numbers: a thread pool costs more than it saves
# (the thread count is restored at the end)
# the collapse of simultaneous GD happens within its first ten steps
sim_steps, max_min_steps, min_max_steps = (100, 40, 100) if QUICK else (400, 60, 200)

grid, p_data = temperature_density(Grid.line(-50.0, 50.0, 100))
t = grid.points[:, 0].numpy()
uniform = grid.normalize(torch.ones(grid.size))

runs = {}
game = FunctionSpaceGAN(grid, p_data, "non_saturating")
runs["simultaneous GD, non-saturating"] = (
    game,
    run(
        game,
        SimultaneousGD(lr=[500.0, 5.0]),
        game.params_for(uniform),
        sim_steps,
        record_every=sim_steps // 100,
    ),
)
game = FunctionSpaceGAN(grid, p_data, "minimax")
hot_start = game.params_for(grid.normalize(0.8 * (t > 0) + 0.2 * (t <= 0) + 0.0))
runs["max-min: generator best response"] = (
    game,
    run(
        game,
        BestResponseGD(lr=[0.0, 20.0], inner=0, best_response=game.generator_best_response),
        hot_start,
        max_min_steps,
    ),
)
runs["min-max: discriminator best response"] = (
    game,
    run(
        game,
        BestResponseGD(lr=[50.0, 0.0], inner=1, best_response=game.discriminator_best_response),
        hot_start,
        min_max_steps,
        record_every=min_max_steps // 100,
    ),
)

# %%
# The generator's density over time (rows: recorded steps; columns: temperature).
# Simultaneous GD collapses onto one mode and stays there (softmax logits have no
# gradient where the generator has no mass); the max–min generator is always a single
# temperature and hops between the modes; the min–max generator matches the data.
fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=False)
for ax, (title, (g, traj)) in zip(axes, runs.items()):
    densities = torch.stack(
        [g.density(row[: grid.size]) * grid.weights for row in traj.params]
    ).numpy()
    ax.imshow(
        densities,
        aspect="auto",
        origin="lower",
        extent=(t[0], t[-1], traj.steps[0], traj.steps[-1]),
        cmap="magma",
    )
    ax.set_xlabel("temperature (°C)")
    ax.set_ylabel("step")
    final = g.density(traj.final[0])
    ax.set_title(
        f"{title}\nJSD to data at the end: {float(jsd(p_data, final, grid)):.3f} nats", fontsize=9
    )
fig.suptitle("generator's probability mass per temperature bin, over training")
fig.tight_layout()

# %%
# The final densities and discriminators against the data.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), sharey=True)
for ax, (title, (g, traj)) in zip(axes, runs.items()):
    ax.plot(t, (p_data * grid.weights).numpy(), label="data", color="black")
    ax.plot(
        t, (g.density(traj.final[0]) * grid.weights).numpy(), label="generator", color="tab:red"
    )
    ax.plot(
        t,
        g.discriminator(traj.final[1]).numpy() * float((p_data * grid.weights).max()),
        label="D (scaled)",
        color="tab:blue",
        alpha=0.6,
    )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("temperature (°C)")
axes[0].set_ylabel("probability mass per bin")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

torch.set_num_threads(previous_threads)  # leave the process as we found it
