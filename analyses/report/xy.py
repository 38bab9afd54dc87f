"""The x·y study: the orbit of the flow, simultaneous GD spiralling out, the rules that fix it.

Numbers: the spectral radius of each rule's step map at the equilibrium against its
closed form, the distance to the equilibrium after a fixed number of steps, and how
far the integrated flow drifts from the unit circle.
"""

from __future__ import annotations

import math

import numpy as np

from ._common import Computed, Context, Section, fill, fmt

__all__ = ["INTRO", "KEY", "LR", "TITLE", "compute", "figures", "study"]

KEY = "xy"
TITLE = "The x·y game: the orbit, spiralling GD and the rules that fix it"
INTRO = (
    "The simplest game that shows why GANs oscillate: l_x = x·y, l_y = −x·y. Its "
    "Jacobian [[0, 1], [−1, 0]] has eigenvalues ±i: the flow rotates around the equilibrium "
    "and simultaneous gradient descent (the step map I − ηJ has eigenvalues 1 ∓ iη) spirals "
    "out. Rules that use second-order information about the rotation converge."
)

LR = 0.2
"""The step size of every rule."""


def _sorted_eigenvalues(matrix: np.ndarray) -> np.ndarray:
    mu = np.linalg.eigvals(matrix)
    return mu[np.lexsort((mu.imag, mu.real))]


def compute(ctx: Context) -> Computed:
    """Linearise and run every rule from (1, 0); integrate the flow for one period."""
    from dynamics import (
        AlternatingGD,
        Consensus,
        Extragradient,
        OptimisticGD,
        SimultaneousGD,
        flow,
        linearize,
        run,
    )
    from games import Bilinear, as_params

    game = Bilinear.xy()
    origin = as_params(game, [[0.0], [0.0]])
    start = as_params(game, [[1.0], [0.0]])
    eta = LR
    steps = 150 if ctx.quick else 300
    rules = {
        "simultaneous GD": SimultaneousGD(lr=eta),
        "alternating GD": AlternatingGD(lr=eta),
        "extragradient": Extragradient(lr=eta),
        "optimistic GD": OptimisticGD(lr=eta),
        "consensus (gamma = 1)": Consensus(lr=eta, gamma=1.0),
    }
    closed = {
        "simultaneous GD": math.sqrt(1 + eta**2),
        "alternating GD": 1.0,
        "extragradient": math.sqrt((1 - eta**2) ** 2 + eta**2),
        "optimistic GD": None,
        "consensus (gamma = 1)": math.sqrt((1 - eta) ** 2 + eta**2),
    }
    radii: dict[str, float] = {}
    trajectories = {}
    for name, rule in rules.items():
        radii[name] = linearize(rule, game, origin).spectral_radius
        trajectories[name] = run(game, rule, start, steps)
    orbit = flow(game, start, (0.0, 2 * math.pi), t_eval=np.linspace(0, 2 * math.pi, 200))
    radius_drift = float(np.abs(np.linalg.norm(orbit.theta, axis=1) - 1.0).max())
    final = {k: float(t.norms(origin)[-1]) for k, t in trajectories.items()}

    header = (
        "rule (step 0.2)",
        "spectral radius of the step map",
        "closed form",
        f"|theta| after {steps} steps",
    )
    table = []
    for name in rules:
        c = closed[name]
        table.append(
            (name, fmt(radii[name], 6), "—" if c is None else fmt(c, 6), fmt(final[name], 4))
        )
    numbers = {
        "lr": eta,
        "steps": steps,
        "eigenvalues": _sorted_eigenvalues(np.array([[0.0, 1.0], [-1.0, 0.0]])),
        "spectral_radius": radii,
        "spectral_radius_closed_form": {k: v for k, v in closed.items() if v is not None},
        "final_distance": final,
        "flow_radius_drift": radius_drift,
    }
    data = {
        "game": game,
        "origin": origin,
        "rules": rules,
        "trajectories": trajectories,
        "orbit": orbit,
    }
    return Computed(numbers, header, table, data)


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """The phase portrait with three rules and the exact orbit; distance against steps."""
    import matplotlib.pyplot as plt

    from ..plots import PhasePortraitDisplay, TrajectoryNormDisplay

    data, numbers = computed.data, computed.numbers
    rules, orbit = data["rules"], data["orbit"]
    display = PhasePortraitDisplay.from_game(
        data["game"],
        (-2.2, 2.2),
        (-2.2, 2.2),
        rules={k: rules[k] for k in ("simultaneous GD", "alternating GD", "extragradient")},
        start=(1.0, 0.0),
        steps=numbers["steps"],
        title="x·y game",
    )
    fig, ax = plt.subplots(figsize=(6, 6))
    display.plot(ax=ax)
    ax.plot(orbit.theta[:, 0], orbit.theta[:, 1], "k--", linewidth=1.2, label="flow (exact orbit)")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_xlim(-2.2, 2.2)
    ax.set_ylim(-2.2, 2.2)
    ctx.save(
        section,
        fig,
        "xy_phase_portrait",
        "The x·y game's flow circles the equilibrium (dashed: the exact orbit, radius drift "
        f"{numbers['flow_radius_drift']:.1e}). From (1, 0) with step 0.2, simultaneous GD "
        "spirals outwards (each step multiplies the distance by sqrt(1 + 0.2²)), alternating "
        "GD stays on a closed curve and extragradient spirals in.",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    TrajectoryNormDisplay.from_trajectories(
        data["trajectories"],
        center=data["origin"],
        title="x·y game: distance to the equilibrium, step 0.2",
    ).plot(ax=ax)
    ctx.save(
        section,
        fig,
        "xy_distance",
        "Distance to the equilibrium against steps (log scale): simultaneous GD grows "
        "geometrically, alternating GD neither grows nor shrinks, and extragradient, "
        "optimistic GD and consensus optimisation converge linearly at the rates their "
        "spectral radii in the table predict.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
