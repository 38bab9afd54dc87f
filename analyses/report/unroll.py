"""The unrolling study: GD's spectral radius on the unrolled x·y game and Dirac-GAN against K.

Numbers: per unroll depth K the best GD spectral radius over the outer step and whether
the flow is stable, for x·y (inner step 0.25) and the Dirac-GAN; the x·y eigenvalues
against the closed form :math:`\\lambda = K\\eta \\pm \\sqrt{K^2\\eta^2 - 1}`.
"""

from __future__ import annotations

import numpy as np

from ._common import Computed, Context, Section, dirac_game, fill, fmt

__all__ = ["DEPTHS", "INNER_LR", "INTRO", "KEY", "TITLE", "compute", "figures", "study"]

KEY = "unroll"
TITLE = "Unrolling: spectral radius against unroll depth"
INTRO = (
    "Metz et al. (2017): the generator's loss is evaluated after K differentiable "
    "steps of the discriminator. The unrolled game's Jacobian is exact here (autodiff "
    "through the K inner steps), evaluated at the base game's equilibrium."
)

DEPTHS = list(range(0, 11))
"""The unroll depths K of the study."""

INNER_LR = 0.25
"""The inner (discriminator) step of the unrolled x·y game."""


def compute(ctx: Context) -> Computed:
    """:func:`analyses.stability.unroll_depth` on x·y and the Dirac-GAN."""
    from games import Bilinear, as_params, sort_eigenvalues

    from ..stability import unroll_depth

    depths, inner = list(DEPTHS), INNER_LR
    lrs = np.geomspace(0.01, 2.0, 25 if ctx.quick else 60)
    xy = Bilinear.xy()
    xy_study = unroll_depth(xy, as_params(xy, [[0.0], [0.0]]), depths, inner_lr=inner, lr=lrs)
    dirac = dirac_game({"loss": "standard"})
    inner_lrs = np.linspace(0.05, 2.0, 10 if ctx.quick else 30)
    dirac_study = unroll_depth(dirac, dirac.equilibrium(), depths, inner_lr=inner_lrs, lr=lrs)
    # closed form for x·y: lambda = K eta ± sqrt(K² eta² − 1)
    closed = []
    for k in depths:
        root = np.sqrt(complex((k * inner) ** 2 - 1))
        values = np.array([k * inner - root, k * inner + root])
        closed.append(sort_eigenvalues(values))
    err = float(np.abs(xy_study.eigenvalues[:, 0, :] - np.array(closed)).max())
    j = int(np.argmin(np.abs(inner_lrs - inner)))  # the Dirac-GAN's inner step nearest 0.25

    header = (
        "K",
        "x·y: best rho",
        "x·y: flow stable",
        "Dirac-GAN: best rho",
        "Dirac-GAN: flow stable",
    )
    table = [
        (
            str(k),
            fmt(xy_study.best_spectral_radius[k, 0]),
            fmt(bool(xy_study.flow_stable[k, 0])),
            fmt(dirac_study.best_spectral_radius[k, j]),
            fmt(bool(dirac_study.flow_stable[k, j])),
        )
        for k in depths
    ]
    numbers = {
        "depths": depths,
        "inner_lr": inner,
        "xy_best_spectral_radius": xy_study.best_spectral_radius[:, 0],
        "xy_flow_stable": xy_study.flow_stable[:, 0],
        "xy_eigenvalues": xy_study.eigenvalues[:, 0, :],
        "xy_eigenvalue_error_vs_closed_form": err,
        "dirac_inner_lr": float(inner_lrs[j]),
        "dirac_best_spectral_radius": dirac_study.best_spectral_radius[:, j],
        "dirac_flow_stable": dirac_study.flow_stable[:, j],
    }
    data = {"xy_study": xy_study, "dirac_study": dirac_study, "lrs": lrs, "dirac_index": j}
    return Computed(numbers, header, table, data)


def figures(ctx: Context, section: Section, computed: Computed) -> None:
    """Best radius and x·y eigenvalues against K; the Dirac-GAN over (K, inner step)."""
    import matplotlib.pyplot as plt

    from ..plots import SpectralRadiusDisplay, StabilityRegionDisplay

    data, numbers = computed.data, computed.numbers
    depths = numbers["depths"]
    xy_study, dirac_study, lrs = data["xy_study"], data["dirac_study"], data["lrs"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    d = SpectralRadiusDisplay.from_values(
        depths,
        xy_study.best_spectral_radius[:, 0],
        "unroll depth K",
        title="best GD spectral radius over the outer step, inner step 0.25",
    ).plot(ax=axes[0])
    d.line_.set_label("x·y game (inner step 0.25)")
    d = SpectralRadiusDisplay.from_values(
        depths, dirac_study.best_spectral_radius[:, data["dirac_index"]], "unroll depth K"
    ).plot(ax=axes[0])
    d.line_.set_label(f"Dirac-GAN (inner step {numbers['dirac_inner_lr']:.2f})")
    axes[0].set_title("best GD spectral radius over the outer step")
    axes[0].legend(fontsize=8)
    colors = plt.cm.viridis(np.linspace(0, 1, len(depths)))
    for k, color in zip(depths, colors):
        mu = xy_study.eigenvalues[k, 0]
        axes[1].scatter(
            mu.real, mu.imag, color=color, s=25, label=f"K = {k}" if k in (0, 1, 4, 10) else None
        )
    axes[1].axvline(0, color="0.5", linewidth=0.8)
    axes[1].set_xlabel("Re(lambda)  (> 0: stable for the flow)")
    axes[1].set_ylabel("Im(lambda)")
    axes[1].set_title("x·y game: eigenvalues of the unrolled game's J, K = 0..10")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "unroll_depth",
        "Left: the smallest spectral radius of simultaneous GD (over the outer step) against "
        "the unroll depth K. K = 0 is the plain game (ρ ≥ 1: no step converges); one "
        "unrolling step already makes both games convergent. Deeper is not always faster: "
        "for x·y the best rate is at K = 4 (Kη = 1), where the eigenvalues meet on the real "
        "axis; beyond, they split along it, one large and one near 0, and the large one "
        "forces a small step (ill-conditioning). Right: the x·y game's eigenvalues move from "
        "±i (K = 0) into the right half-plane along λ = Kη ± sqrt(K²η² − 1) (η = 0.25).",
    )
    fig, ax = plt.subplots(figsize=(7, 5))
    outer = int(np.argmin(np.abs(lrs - 0.5)))
    StabilityRegionDisplay.from_region(
        dirac_study.region(outer),
        title=f"unrolled Dirac-GAN: GD spectral radius, outer step {lrs[outer]:.2f}",
    ).plot(ax=ax)
    ax.set_xlabel("inner (discriminator) step of the unrolling")
    ax.set_ylabel("unroll depth K")
    ctx.save(
        section,
        fig,
        "unroll_dirac_region",
        "The unrolled Dirac-GAN's GD spectral radius over unroll depth and inner step at a "
        "fixed outer step (black: ρ = 1). The plain game (K = 0, bottom row) does not "
        "converge; between the two contours (K ≥ 1 and a large enough product K × inner "
        "step) GD converges; too much unrolling with a large inner step (top right) makes "
        "the unrolled game so stiff that this outer step diverges.",
    )


def study(ctx: Context, section: Section) -> None:
    """Compute, fill ``section`` and draw the figures."""
    computed = compute(ctx)
    fill(section, computed)
    figures(ctx, section, computed)
