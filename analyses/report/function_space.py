"""The function-space study: the GAN on densities over temperatures, max–min against min–max.

Numbers: the generator's own block and the coupling block of the Jacobian at the
equilibrium, the largest real part of its eigenvalues, whether max–min play stays a
single spike and how often it hops between the modes, and the Jensen–Shannon divergence
to the data at the end of both orders of play.
"""

from __future__ import annotations

import numpy as np
import torch

from ._common import Computed, Context, Section, fill, fmt

__all__ = ["INTRO", "KEY", "TITLE", "compute", "figures", "study"]

KEY = "function_space"
TITLE = "The GAN in function space: no generator force, max–min collapse"
INTRO = (
    "Goodfellow (2016): played directly on densities, the generator's "
    "loss is linear in its density, so its own block of the Jacobian is zero: nothing "
    "pulls the generator back, only the discriminator steers it. The order of play decides "
    "between mode collapse (max–min) and convergence (min–max)."
)


def compute(ctx: Context) -> Computed:
    """The Jacobian at the equilibrium; max–min and min–max play from a two-mode start."""
    from dynamics import BestResponseGD, run
    from games import FunctionSpaceGAN, Grid, jacobian, jsd, temperature_density

    grid, p_data = temperature_density(Grid.line(-50.0, 50.0, 60 if ctx.quick else 100))
    t = grid.points[:, 0].numpy()
    game = FunctionSpaceGAN(grid, p_data, "minimax")
    J = jacobian(game, game.equilibrium())
    generator_block = float(J.hessian("generator").abs().max())
    cross = float(J.block("generator", "discriminator").abs().max())
    mu = J.eigenvalues()

    hot = game.params_for(grid.normalize(0.8 * (t > 0) + 0.2 * (t <= 0) + 0.0))
    maxmin = run(
        game,
        BestResponseGD(lr=[0.0, 20.0], inner=0, best_response=game.generator_best_response),
        hot,
        60,
    )
    minmax = run(
        game,
        BestResponseGD(lr=[50.0, 0.0], inner=1, best_response=game.discriminator_best_response),
        hot,
        100 if ctx.quick else 200,
        record_every=2,
    )
    weights = grid.weights
    warm = torch.as_tensor(t > 0)

    def mass_warm(row: torch.Tensor) -> float:
        p = game.density(row[: grid.size]) * weights
        return float(p[warm].sum())

    maxmin_warm = np.array([mass_warm(r) for r in maxmin.params[1:]])
    single_mode = bool(np.all((maxmin_warm > 0.999) | (maxmin_warm < 0.001)))
    hops = int(np.sum(np.abs(np.diff(maxmin_warm > 0.5))))
    jsd_maxmin = float(jsd(p_data, game.density(maxmin.final[0]), grid))
    jsd_minmax = float(jsd(p_data, game.density(minmax.final[0]), grid))

    header = ("quantity", "value")
    table = [
        ("max |J_GG| (the generator's own block) at the equilibrium", fmt(generator_block)),
        ("max |J_GD| (the coupling)", fmt(cross)),
        ("max Re(lambda) of J", fmt(float(mu.real.max()))),
        ("max–min: always one mode", fmt(single_mode)),
        ("max–min: hops between the modes", str(hops)),
        ("JSD to the data, max–min / min–max (nats)", f"{jsd_maxmin:.3f} / {jsd_minmax:.4f}"),
    ]
    numbers = {
        "grid_size": grid.size,
        "generator_block_max_abs": generator_block,
        "coupling_block_max_abs": cross,
        "max_real_eigenvalue": float(mu.real.max()),
        "maxmin_single_mode": single_mode,
        "maxmin_hops": hops,
        "maxmin_warm_mass": maxmin_warm,
        "jsd_maxmin": jsd_maxmin,
        "jsd_minmax": jsd_minmax,
    }
    data = {
        "game": game,
        "grid": grid,
        "t": t,
        "p_data": p_data,
        "maxmin": maxmin,
        "minmax": minmax,
    }
    return Computed(numbers, header, table, data)


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """The generator's mass over training for both orders; the final densities."""
    import matplotlib.pyplot as plt

    data, numbers = computed.data, computed.numbers
    game, grid, t, p_data = data["game"], data["grid"], data["t"], data["p_data"]
    weights = grid.weights
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, (title, traj, divergence) in zip(
        axes,
        (
            ("max–min: the generator best-responds", data["maxmin"], numbers["jsd_maxmin"]),
            ("min–max: the discriminator best-responds", data["minmax"], numbers["jsd_minmax"]),
        ),
    ):
        dens = torch.stack([game.density(r[: grid.size]) * weights for r in traj.params]).numpy()
        ax.imshow(
            dens,
            aspect="auto",
            origin="lower",
            extent=(t[0], t[-1], traj.steps[0], traj.steps[-1]),
            cmap="magma",
        )
        ax.set_xlabel("temperature (°C)")
        ax.set_ylabel("step")
        ax.set_title(f"{title}\nJSD to the data at the end: {divergence:.3f} nats", fontsize=9)
    fig.suptitle("generator's probability mass per temperature bin over training (bright: mass)")
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "function_space_orders",
        "The GAN on densities over temperatures (data: two modes at ±28 °C). Max–min: the "
        "generator puts all its mass on the discriminator's favourite temperature, so it is "
        f"always one spike and hops between the modes ({numbers['maxmin_hops']} hops in 60 "
        "steps) — mode collapse. Min–max: against the optimal discriminator the generator's "
        "density converges to the data.",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(t, (p_data * weights).numpy(), "k", label="data")
    ax.plot(
        t,
        (game.density(data["maxmin"].final[0]) * weights).numpy(),
        color="tab:red",
        label="max–min generator (end)",
    )
    ax.plot(
        t,
        (game.density(data["minmax"].final[0]) * weights).numpy(),
        color="tab:blue",
        linestyle="--",
        label="min–max generator (end)",
    )
    ax.set_xlabel("temperature (°C)")
    ax.set_ylabel("probability mass per bin")
    ax.set_title("final generator densities against the data")
    ax.legend(fontsize=8)
    ctx.save(
        section,
        fig,
        "function_space_final",
        "Final densities: the max–min generator is a single spike on one mode; the min–max "
        "generator lies on the data.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
