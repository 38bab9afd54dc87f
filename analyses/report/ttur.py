"""The two-timescale study: simultaneous GD on the Dirac-GAN over the step-size ratio.

Numbers: per game the fraction of the (eta_G, ratio) grid where GD is stable and the
best spectral radius with where it is reached; for the unregularised game, the closed-form
smallest radius :math:`\\sqrt{1 + \\eta_G^2 c^2 r}` at the grid's corner.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import Computed, Context, Section, dirac_game, fill, fmt

__all__ = ["GAMES", "INTRO", "KEY", "TITLE", "compute", "figures", "study"]

KEY = "ttur"
TITLE = "Two timescales: the step-size ratio between the players"
INTRO = (
    "Heusel et al. (2017) give the discriminator its own step size. The step map is "
    "I − η_G·diag(1, r)·J: one eigendecomposition per ratio r maps every η_G at once."
)

GAMES: list[tuple[str, dict[str, Any]]] = [
    ("R1 (gamma 0.3)", {"loss": "standard", "regularizer": "r1", "gamma": 0.3}),
    ("unregularised", {"loss": "standard"}),
]
"""The Dirac-GANs of the study: (name, options of :class:`games.DiracGAN`)."""


def compute(ctx: Context) -> Computed:
    """The two-timescale stability region of each game over (eta_G, eta_D / eta_G)."""
    from ..regions import two_timescale

    lrs = np.geomspace(0.01, 10.0, 30 if ctx.quick else 80)
    ratios = np.geomspace(0.01, 100.0, 30 if ctx.quick else 80)
    results: dict[str, dict[str, Any]] = {}
    regions = {}
    for name, options in GAMES:
        game = dirac_game(options)
        region = two_timescale(game, game.equilibrium(), lrs, ratios)
        i, j = np.unravel_index(np.argmin(region.spectral_radius), region.spectral_radius.shape)
        regions[name] = region
        results[name] = {
            "stable_fraction": float(region.stable.mean()),
            "best_spectral_radius": float(region.spectral_radius[i, j]),
            "best_lr": float(lrs[i]),
            "best_ratio": float(ratios[j]),
        }
    c = 0.5
    header = ("game", "fraction of the grid stable", "best rho", "at eta_G", "at ratio")
    table = [
        (
            name,
            fmt(r["stable_fraction"], 3),
            fmt(r["best_spectral_radius"], 5),
            fmt(r["best_lr"], 3),
            fmt(r["best_ratio"], 3),
        )
        for name, r in results.items()
    ]
    numbers = {
        "lrs": lrs,
        "ratios": ratios,
        "games": results,
        "unregularised_min_closed_form": math.sqrt(1 + lrs[0] ** 2 * c**2 * ratios[0]),
        "unregularised_any_stable": bool(results["unregularised"]["stable_fraction"] > 0),
    }
    return Computed(numbers, header, table, {"regions": regions})


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """The two stability maps; the best radius over eta_G per ratio."""
    import matplotlib.pyplot as plt

    from ..plots import SpectralRadiusDisplay, StabilityRegionDisplay

    regions = computed.data["regions"]
    best = computed.numbers["games"]["R1 (gamma 0.3)"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for ax, (name, region) in zip(axes, regions.items()):
        StabilityRegionDisplay.from_region(
            region, title=f"Dirac-GAN, {name}: GD over (eta_G, eta_D / eta_G)"
        ).plot(ax=ax, log_axes=(True, True))
        ax.set_xlabel("step-size ratio eta_D / eta_G")
        ax.set_ylabel("generator step eta_G")
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "ttur_maps",
        "Spectral radius of simultaneous GD with the generator step η_G and the "
        "discriminator step r·η_G (log axes). With R1 (γ = 0.3) a band of ratios and steps "
        "converges (green, inside the black ρ = 1 contour; best ρ = "
        f"{best['best_spectral_radius']:.3f} at η_G = {best['best_lr']:.3g}, r = "
        f"{best['best_ratio']:.3g}). Unregularised, no ratio converges: "
        "ρ = sqrt(1 + η_G² c² r) > 1 everywhere (no green, no contour; pale orange is ρ "
        "just above 1 at small steps).",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, region in regions.items():
        d = SpectralRadiusDisplay.from_values(
            computed.numbers["ratios"],
            region.spectral_radius.min(axis=0),
            "step-size ratio eta_D / eta_G",
        ).plot(ax=ax, log_x=True)
        d.line_.set_label(name)
    ax.legend(fontsize=8)
    ax.set_title("Dirac-GAN: best spectral radius over eta_G, per ratio")
    ctx.save(
        section,
        fig,
        "ttur_ratio",
        "For each step-size ratio, the smallest spectral radius over the generator's step: "
        f"the R1 game dips below 1 (dashed) across ratios with its optimum near r = "
        f"{best['best_ratio']:.3g}; the unregularised game stays at or "
        "above 1 for every ratio.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
