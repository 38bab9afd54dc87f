"""The Dirac-GAN study: the losses and regularisers at the equilibrium, and R1's stable steps.

Numbers: per variant the eigenvalues of the Jacobian at (0, 0), the classification, the
largest stable GD step and GD's spectral radius at step 0.5; for R1, the largest stable
step on a grid of weights against the closed form :func:`analyses.stability.r1_gd_step_bound`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..stability import r1_gd_step_bound
from ._common import Computed, Context, Section, dirac_game, fill, fmt

__all__ = ["INTRO", "KEY", "LR", "TITLE", "VARIANTS", "compute", "figures", "study"]

KEY = "dirac"
TITLE = "The Dirac-GAN and its regularisers"
INTRO = (
    "Mescheder et al. (2018): the generator is a point mass at θ, the data a point "
    "mass at 0, the discriminator D(x) = ψx. At (0, 0) the unregularised game is a pure "
    "rotation; penalties that vanish at the equilibrium (R1, R2, instance noise) add a "
    "positive discriminator block to the Jacobian, which moves its eigenvalues into the "
    "right half-plane (stable flow) and gives GD a range of stable steps; WGAN-GP does not."
)

LR = 0.5
"""The GD step of the spectral radii and of the phase portraits."""

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("unregularised", {"loss": "standard"}),
    ("non-saturating", {"loss": "non_saturating"}),
    ("WGAN", {"loss": "wgan"}),
    ("WGAN-GP (gamma 1)", {"loss": "wgan", "regularizer": "wgan_gp", "gamma": 1.0}),
    (
        "instance noise (sigma 0.5)",
        {"loss": "standard", "regularizer": "instance_noise", "noise_std": 0.5},
    ),
    ("R1 (gamma 1)", {"loss": "standard", "regularizer": "r1", "gamma": 1.0}),
    ("R1 (gamma 0.3)", {"loss": "standard", "regularizer": "r1", "gamma": 0.3}),
    ("R2 (gamma 1)", {"loss": "standard", "regularizer": "r2", "gamma": 1.0}),
]
"""The Dirac-GAN variants of the study: (name, options of :class:`games.DiracGAN`)."""


def compute(ctx: Context) -> Computed:
    """Every variant's spectrum at the equilibrium; the R1 stability region over (eta, gamma)."""
    from games import jacobian

    from ..regions import StabilityRegion, stability_region
    from ..stability import classify, max_stable_step

    eta = LR
    header = (
        "variant",
        "eigenvalues of J at (0, 0)",
        "classification",
        "largest stable GD step",
        "GD spectral radius (step 0.5)",
    )
    table = []
    per_variant: dict[str, Any] = {}
    for name, options in VARIANTS:
        game = dirac_game(options)
        eq = game.equilibrium()
        mu = jacobian(game, eq).eigenvalues().cpu().numpy()
        rho = float(np.abs(1 - eta * mu).max())
        kind = classify(game, eq).kind
        bound = max_stable_step(mu)
        per_variant[name] = {
            "eigenvalues": mu,
            "classification": kind,
            "max_stable_step": bound,
            "gd_spectral_radius": rho,
        }
        table.append((name, ", ".join(fmt(complex(v)) for v in mu), kind, fmt(bound), fmt(rho)))

    gammas = np.linspace(0.05, 3.0, 30 if ctx.quick else 80)
    lrs = np.linspace(0.02, 6.0, 40 if ctx.quick else 120)
    radius = np.empty((lrs.size, gammas.size))
    for j, gamma in enumerate(gammas):
        game = dirac_game({"loss": "standard", "regularizer": "r1", "gamma": float(gamma)})
        radius[:, j] = stability_region(
            game, game.equilibrium(), "gd", lr=lrs, ratio=[1.0]
        ).spectral_radius[:, 0]
    region = StabilityRegion(("step size eta", "R1 weight gamma"), lrs, gammas, radius)
    closed_bound = r1_gd_step_bound(gammas)
    # the numerical boundary: the largest stable grid step per gamma
    numeric = np.array(
        [
            lrs[region.stable[:, j]].max() if region.stable[:, j].any() else 0.0
            for j in range(gammas.size)
        ]
    )
    spacing = float(lrs[1] - lrs[0])
    within = np.abs(numeric - np.minimum(closed_bound, lrs[-1])) <= spacing + 1e-12
    r1 = per_variant["R1 (gamma 1)"]
    numbers = {
        "lr": eta,
        "variants": per_variant,
        "r1_spectral_radius": r1["gd_spectral_radius"],
        "r1_max_stable_step": r1["max_stable_step"],
        "r1_region": {
            "gammas": gammas,
            "max_stable_step_grid": numeric,
            "max_stable_step_closed_form": closed_bound,
            "grid_spacing": spacing,
            "boundary_matches_closed_form": bool(within.all()),
        },
    }
    return Computed(numbers, header, table, {"r1_region": region})


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """Eigenvalues per variant, three phase portraits, the R1 stability region."""
    import matplotlib.pyplot as plt

    from dynamics import SimultaneousGD

    from ..plots import EigenvalueDisplay, PhasePortraitDisplay, StabilityRegionDisplay

    eta = LR
    variants = computed.numbers["variants"]
    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    for ax, (name, _) in zip(axes.ravel(), VARIANTS):
        EigenvalueDisplay(variants[name]["eigenvalues"], eta, f"Dirac-GAN, {name}").plot(ax=ax)
    fig.suptitle(
        "Dirac-GAN: eigenvalues of the game Jacobian at the equilibrium (red) and "
        "the region where GD with step 0.5 is stable (green disc)"
    )
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "dirac_eigenvalues",
        "Eigenvalues of the Dirac-GAN's Jacobian at the equilibrium (0, 0) for each loss and "
        "regulariser. Unregularised losses, WGAN and WGAN-GP have a purely imaginary pair "
        "(±0.5i or ±i): the flow circles and GD diverges for every step (WGAN-GP's penalty "
        "pulls |ψ| towards 1, not 0, and adds nothing at ψ = 0: Mescheder et al. 2018 find it "
        "not locally convergent here). Instance noise and R1/R2 move the pair into the right "
        "half-plane; the green disc |1 − 0.5λ| < 1 is where GD with step 0.5 converges.",
    )

    res = 15 if ctx.quick else 25
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for ax, name in zip(axes, ("unregularised", "WGAN-GP (gamma 1)", "R1 (gamma 1)")):
        PhasePortraitDisplay.from_game(
            dirac_game(dict(VARIANTS)[name]),
            (-2.0, 2.0),
            (-2.0, 2.0),
            resolution=res,
            rules={"simultaneous GD, step 0.5": SimultaneousGD(lr=eta)},
            start=(1.5, 0.0),
            steps=60 if ctx.quick else 120,
            title=f"Dirac-GAN, {name}",
            labels=("θ (generator position)", "ψ (discriminator slope)"),
        ).plot(ax=ax)
        ax.set_xlim(-2.0, 2.0)
        ax.set_ylim(-2.0, 2.0)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "dirac_phase_portraits",
        "Phase portraits (generator position θ against discriminator slope ψ) with a "
        "simultaneous-GD trajectory from (1.5, 0) (white dot), step 0.5: without "
        "regularisation it "
        "spirals away; with WGAN-GP the flow still circles and GD is thrown out too; with "
        "R1 the flow is attracted to the equilibrium and GD converges to it.",
    )

    region = computed.data["r1_region"]
    r1 = computed.numbers["r1_region"]
    lrs = region.rows
    fig, ax = plt.subplots(figsize=(7, 5))
    StabilityRegionDisplay.from_region(
        region, title="R1 Dirac-GAN: spectral radius of simultaneous GD"
    ).plot(ax=ax)
    ax.plot(
        r1["gammas"],
        r1["max_stable_step_closed_form"],
        "w--",
        linewidth=2,
        label="closed form: gamma/c² or 2/lambda+",
    )
    ax.set_ylim(lrs[0], lrs[-1])
    ax.legend(fontsize=8, loc="upper right")
    ctx.save(
        section,
        fig,
        "dirac_r1_stability_region",
        "Spectral radius of simultaneous GD on the R1 Dirac-GAN over step size and R1 "
        "weight (green: converges). The black ρ = 1 contour computed from the Jacobian's "
        "eigenvalues covers the white dashed closed-form boundary η < γ/c² (γ < 1, complex "
        "pair) and η < 2/λ₊ (γ ≥ 1, real pair), c = f′(0) = 1/2, so the two look like one "
        "black-and-white dashed line; the largest stable step is 4, at γ = 1.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
