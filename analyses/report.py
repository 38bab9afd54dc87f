"""``gamedyn report``: the canonical studies, written to a self-contained folder.

:func:`generate_report` runs the studies of :data:`STUDIES` (all, or a selection) and
writes to ``out``:

- ``index.html``: every figure with a caption that says what it shows, a short
  explanation per study and tables of the numbers;
- ``figures/<name>.png`` and ``figures/<name>.svg``;
- ``summary.json``: every number shown (complex numbers as ``[re, im]``, non-finite
  values as the strings ``"inf"``, ``"-inf"``, ``"nan"``), the options and the timings.

Every study is seeded from ``seed``, so two runs with the same options write the same
numbers.  ``quick=True`` shrinks grids and training runs so the whole report takes
under a minute on two CPU cores.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

STUDIES: dict[str, str] = {
    "xy": "The x·y game: the orbit, spiralling GD and the rules that fix it",
    "dirac": "The Dirac-GAN and its regularisers",
    "ttur": "Two timescales: the step-size ratio between the players",
    "unroll": "Unrolling: spectral radius against unroll depth",
    "function_space": "The GAN in function space: no generator force, max–min collapse",
    "neural": "A neural GAN on the 8-Gaussian ring, with and without unrolling",
}
"""The report's studies, by key, in the order they appear."""

NEURAL_RUNS: dict[str, tuple[int, int, int]] = {"quick": (800, 120, 5), "full": (5000, 1000, 10)}
"""The neural study's (plain GAN steps, unrolled GAN steps, unroll depth K) per mode."""


@dataclass
class _Figure:
    name: str
    caption: str


@dataclass
class _Section:
    key: str
    title: str
    intro: str
    figures: list[_Figure] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    table: list[tuple[str, ...]] = field(default_factory=list)
    table_header: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass
class _Context:
    out: Path
    quick: bool
    seed: int
    device: str
    figures_dir: Path

    def save(self, section: _Section, fig: Any, name: str, caption: str) -> None:
        """Write ``fig`` as PNG and SVG and attach it to ``section``."""
        import matplotlib.pyplot as plt

        fig.savefig(self.figures_dir / f"{name}.png", dpi=100)
        fig.savefig(self.figures_dir / f"{name}.svg")
        plt.close(fig)
        section.figures.append(_Figure(name, caption))


# --------------------------------------------------------------------------- numbers


def _jsonable(value: Any) -> Any:
    """``value`` with numpy/torch/complex/non-finite numbers made JSON-safe."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (complex, np.complexfloating)):
        return [_jsonable(float(value.real)), _jsonable(float(value.imag))]
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return value


def _fmt(value: Any, digits: int = 4) -> str:
    """A short human-readable number (complex as a ± bi)."""
    if isinstance(value, (complex, np.complexfloating)):
        re = 0.0 if abs(value.real) < 5e-13 else float(value.real)
        im = 0.0 if abs(value.imag) < 5e-13 else float(value.imag)
        if im == 0.0:
            return f"{re:.{digits}g}"
        return f"{re:.{digits}g} {'+' if im > 0 else '−'} {abs(im):.{digits}g}i"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    return str(value)


def _eigs(matrix: torch.Tensor | np.ndarray) -> np.ndarray:
    m = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else matrix
    mu = np.linalg.eigvals(m)
    return mu[np.lexsort((mu.imag, mu.real))]


# --------------------------------------------------------------------------- studies


def _study_xy(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

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

    from .plots import PhasePortraitDisplay, TrajectoryNormDisplay

    game = Bilinear.xy()
    origin = as_params(game, [[0.0], [0.0]])
    start = as_params(game, [[1.0], [0.0]])
    eta = 0.2
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

    section.table_header = (
        "rule (step 0.2)",
        "spectral radius of the step map",
        "closed form",
        f"|theta| after {steps} steps",
    )
    for name in rules:
        c = closed[name]
        section.table.append(
            (
                name,
                _fmt(radii[name], 6),
                "—" if c is None else _fmt(c, 6),
                _fmt(float(trajectories[name].norms(origin)[-1]), 4),
            )
        )
    section.numbers.update(
        lr=eta,
        steps=steps,
        eigenvalues=_eigs(np.array([[0.0, 1.0], [-1.0, 0.0]])),
        spectral_radius=radii,
        spectral_radius_closed_form={k: v for k, v in closed.items() if v is not None},
        final_distance={k: float(t.norms(origin)[-1]) for k, t in trajectories.items()},
        flow_radius_drift=radius_drift,
    )

    display = PhasePortraitDisplay.from_game(
        game,
        (-2.2, 2.2),
        (-2.2, 2.2),
        rules={k: rules[k] for k in ("simultaneous GD", "alternating GD", "extragradient")},
        start=(1.0, 0.0),
        steps=steps,
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
        f"{radius_drift:.1e}). From (1, 0) with step 0.2, simultaneous GD spirals outwards "
        "(each step multiplies the distance by sqrt(1 + 0.2²)), alternating GD stays on a "
        "closed curve and extragradient spirals in.",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    TrajectoryNormDisplay.from_trajectories(
        trajectories, center=origin, title="x·y game: distance to the equilibrium, step 0.2"
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


_DIRAC_VARIANTS: list[tuple[str, dict[str, Any]]] = [
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


def _dirac(options: Mapping[str, Any]) -> Any:
    from games import DiracGAN

    kwargs = dict(options)
    return DiracGAN(kwargs.pop("loss"), kwargs.pop("regularizer", None), **kwargs)


def r1_gd_step_bound(gamma: np.ndarray | Sequence[float] | float, slope: float = 0.5) -> np.ndarray:
    r"""Closed-form largest stable simultaneous-GD step of the R1 Dirac-GAN.

    At the equilibrium :math:`J = \begin{pmatrix}0 & c\\ -c & \gamma\end{pmatrix}` with
    :math:`c = f'(0)` (``slope``, 1/2 for the standard loss), so
    :math:`\lambda = (\gamma \pm \sqrt{\gamma^2 - 4c^2})/2` and GD is stable iff
    :math:`\eta < \min_\lambda 2\,\mathrm{Re}\,\lambda/|\lambda|^2`: :math:`\gamma/c^2`
    while :math:`\gamma < 2c` (complex pair, :math:`|\lambda| = c`), else
    :math:`2/\lambda_+`.

    Examples
    --------
    >>> r1_gd_step_bound([0.5, 1.0, 2.0]).round(4).tolist()
    [2.0, 4.0, 1.0718]
    """
    g = np.asarray(gamma, dtype=float)
    disc = g**2 - 4 * slope**2
    with np.errstate(invalid="ignore", divide="ignore"):
        complex_pair = g / slope**2
        real_pair = 2.0 / ((g + np.sqrt(np.maximum(disc, 0.0))) / 2)
    return np.where(disc < 0, complex_pair, real_pair)


def _study_dirac(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

    from dynamics import SimultaneousGD

    from .plots import EigenvalueDisplay, PhasePortraitDisplay, StabilityRegionDisplay
    from .stability import StabilityRegion, classify, max_stable_step, stability_region

    eta = 0.5
    section.table_header = (
        "variant",
        "eigenvalues of J at (0, 0)",
        "classification",
        "largest stable GD step",
        "GD spectral radius (step 0.5)",
    )
    per_variant: dict[str, Any] = {}
    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    for ax, (name, options) in zip(axes.ravel(), _DIRAC_VARIANTS):
        game = _dirac(options)
        eq = game.equilibrium()
        display = EigenvalueDisplay.from_game(game, eq, lr=eta, title=f"Dirac-GAN, {name}")
        display.plot(ax=ax)
        mu = display.eigenvalues
        rho = float(np.abs(1 - eta * mu).max())
        kind = classify(game, eq).kind
        bound = max_stable_step(mu)
        per_variant[name] = {
            "eigenvalues": mu,
            "classification": kind,
            "max_stable_step": bound,
            "gd_spectral_radius": rho,
        }
        section.table.append(
            (
                name,
                ", ".join(_fmt(complex(v)) for v in mu),
                kind,
                _fmt(bound),
                _fmt(rho),
            )
        )
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
        "regulariser. Unregularised losses and WGAN have a purely imaginary pair (±0.5i or "
        "±i): the flow circles and GD diverges for every step. WGAN-GP, instance noise and "
        "R1/R2 move the pair into the right half-plane; the green disc |1 − 0.5λ| < 1 shows "
        "where GD with step 0.5 converges.",
    )

    res = 15 if ctx.quick else 25
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    for ax, name in zip(axes, ("unregularised", "WGAN-GP (gamma 1)", "R1 (gamma 1)")):
        game = _dirac(dict(_DIRAC_VARIANTS)[name])
        PhasePortraitDisplay.from_game(
            game,
            (-2.0, 2.0),
            (-2.0, 2.0),
            resolution=res,
            rules={"simultaneous GD, step 0.5": SimultaneousGD(lr=eta)},
            start=(1.5, 0.0),
            steps=60 if ctx.quick else 120,
            title=f"Dirac-GAN, {name}",
        ).plot(ax=ax)
        ax.set_xlim(-2.0, 2.0)
        ax.set_ylim(-2.0, 2.0)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "dirac_phase_portraits",
        "Phase portraits (generator position θ against discriminator slope ψ) with a "
        "simultaneous-GD trajectory from (1.5, 0), step 0.5: without regularisation it "
        "spirals away; with WGAN-GP the flow still circles and GD is thrown out too; with "
        "R1 the flow is attracted to the equilibrium and GD converges to it.",
    )

    gammas = np.linspace(0.05, 3.0, 30 if ctx.quick else 80)
    lrs = np.linspace(0.02, 6.0, 40 if ctx.quick else 120)
    radius = np.empty((lrs.size, gammas.size))
    for j, gamma in enumerate(gammas):
        game = _dirac({"loss": "standard", "regularizer": "r1", "gamma": float(gamma)})
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
    fig, ax = plt.subplots(figsize=(7, 5))
    StabilityRegionDisplay.from_region(
        region, title="R1 Dirac-GAN: spectral radius of simultaneous GD"
    ).plot(ax=ax)
    ax.plot(gammas, closed_bound, "w--", linewidth=2, label="closed form: gamma/c² or 2/lambda+")
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
    r1 = per_variant["R1 (gamma 1)"]
    section.numbers.update(
        lr=eta,
        variants=per_variant,
        r1_spectral_radius=r1["gd_spectral_radius"],
        r1_max_stable_step=r1["max_stable_step"],
        r1_region={
            "gammas": gammas,
            "max_stable_step_grid": numeric,
            "max_stable_step_closed_form": closed_bound,
            "grid_spacing": spacing,
            "boundary_matches_closed_form": bool(within.all()),
        },
    )


def _study_ttur(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

    from .plots import SpectralRadiusDisplay, StabilityRegionDisplay
    from .stability import two_timescale

    lrs = np.geomspace(0.01, 10.0, 30 if ctx.quick else 80)
    ratios = np.geomspace(0.01, 100.0, 30 if ctx.quick else 80)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    results = {}
    ttur_games: list[tuple[str, dict[str, Any]]] = [
        ("R1 (gamma 0.3)", {"loss": "standard", "regularizer": "r1", "gamma": 0.3}),
        ("unregularised", {"loss": "standard"}),
    ]
    for ax, (name, options) in zip(axes, ttur_games):
        game = _dirac(options)
        region = two_timescale(game, game.equilibrium(), lrs, ratios)
        StabilityRegionDisplay.from_region(
            region, title=f"Dirac-GAN, {name}: GD over (eta_G, eta_D / eta_G)"
        ).plot(ax=ax, log_axes=(True, True))
        ax.set_xlabel("step-size ratio eta_D / eta_G")
        ax.set_ylabel("generator step eta_G")
        i, j = np.unravel_index(np.argmin(region.spectral_radius), region.spectral_radius.shape)
        results[name] = {
            "stable_fraction": float(region.stable.mean()),
            "best_spectral_radius": float(region.spectral_radius[i, j]),
            "best_lr": float(lrs[i]),
            "best_ratio": float(ratios[j]),
            "best_over_lr": region.spectral_radius.min(axis=0),
        }
    fig.tight_layout()
    c = 0.5
    unreg_closed = math.sqrt(1 + lrs[0] ** 2 * c**2 * ratios[0])
    ctx.save(
        section,
        fig,
        "ttur_maps",
        "Spectral radius of simultaneous GD with the generator step η_G and the "
        "discriminator step r·η_G (log axes). With R1 (γ = 0.3) a band of ratios and steps "
        "converges (green, inside the black ρ = 1 contour; best ρ = "
        f"{results['R1 (gamma 0.3)']['best_spectral_radius']:.3f} at "
        f"η_G = {results['R1 (gamma 0.3)']['best_lr']:.3g}, r = "
        f"{results['R1 (gamma 0.3)']['best_ratio']:.3g}). Unregularised, no ratio converges: "
        "ρ = sqrt(1 + η_G² c² r) > 1 everywhere (no green, no contour; pale yellow is ρ "
        "just above 1 at small steps).",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, r in results.items():
        d = SpectralRadiusDisplay.from_values(
            ratios, r["best_over_lr"], "step-size ratio eta_D / eta_G"
        ).plot(ax=ax, log_x=True)
        d.line_.set_label(name)
    ax.legend(fontsize=8)
    ax.set_title("Dirac-GAN: best spectral radius over eta_G, per ratio")
    ctx.save(
        section,
        fig,
        "ttur_ratio",
        "For each step-size ratio, the smallest spectral radius over the generator's step: "
        "the R1 game dips below 1 (dashed) across ratios with its optimum near r = "
        f"{results['R1 (gamma 0.3)']['best_ratio']:.3g}; the unregularised game stays at or "
        "above 1 for every ratio.",
    )
    section.table_header = (
        "game",
        "fraction of the grid stable",
        "best rho",
        "at eta_G",
        "at ratio",
    )
    for name, r in results.items():
        section.table.append(
            (
                name,
                _fmt(r["stable_fraction"], 3),
                _fmt(r["best_spectral_radius"], 5),
                _fmt(r["best_lr"], 3),
                _fmt(r["best_ratio"], 3),
            )
        )
    section.numbers.update(
        lrs=lrs,
        ratios=ratios,
        games={
            k: {kk: vv for kk, vv in v.items() if kk != "best_over_lr"} for k, v in results.items()
        },
        unregularised_min_closed_form=unreg_closed,
        unregularised_any_stable=bool(results["unregularised"]["stable_fraction"] > 0),
    )


def _study_unroll(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

    from games import Bilinear, as_params

    from .plots import SpectralRadiusDisplay, StabilityRegionDisplay
    from .stability import unroll_depth

    depths = list(range(0, 11))
    inner = 0.25
    lrs = np.geomspace(0.01, 2.0, 25 if ctx.quick else 60)
    xy = Bilinear.xy()
    xy_study = unroll_depth(xy, as_params(xy, [[0.0], [0.0]]), depths, inner_lr=inner, lr=lrs)
    dirac = _dirac({"loss": "standard"})
    inner_lrs = np.linspace(0.05, 2.0, 10 if ctx.quick else 30)
    dirac_study = unroll_depth(dirac, dirac.equilibrium(), depths, inner_lr=inner_lrs, lr=lrs)
    # closed form for x·y: lambda = K eta ± sqrt(K² eta² − 1)
    closed = []
    for k in depths:
        root = np.sqrt(complex((k * inner) ** 2 - 1))
        values = np.array([k * inner - root, k * inner + root])
        closed.append(values[np.lexsort((values.imag, values.real))])
    closed_arr = np.array(closed)
    err = float(np.abs(xy_study.eigenvalues[:, 0, :] - closed_arr).max())

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    d = SpectralRadiusDisplay.from_values(
        depths,
        xy_study.best_spectral_radius[:, 0],
        "unroll depth K",
        title="best GD spectral radius over the outer step, inner step 0.25",
    ).plot(ax=axes[0])
    d.line_.set_label("x·y game (inner step 0.25)")
    j = int(np.argmin(np.abs(inner_lrs - inner)))
    d = SpectralRadiusDisplay.from_values(
        depths, dirac_study.best_spectral_radius[:, j], "unroll depth K"
    ).plot(ax=axes[0])
    d.line_.set_label(f"Dirac-GAN (inner step {inner_lrs[j]:.2f})")
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
    region = dirac_study.region(int(np.argmin(np.abs(lrs - 0.5))))
    StabilityRegionDisplay.from_region(
        region,
        title=f"unrolled Dirac-GAN: GD spectral radius, outer step {lrs[np.argmin(np.abs(lrs - 0.5))]:.2f}",
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
    section.table_header = (
        "K",
        "x·y: best rho",
        "x·y: flow stable",
        "Dirac-GAN: best rho",
        "Dirac-GAN: flow stable",
    )
    for k in depths:
        section.table.append(
            (
                str(k),
                _fmt(xy_study.best_spectral_radius[k, 0]),
                _fmt(bool(xy_study.flow_stable[k, 0])),
                _fmt(dirac_study.best_spectral_radius[k, j]),
                _fmt(bool(dirac_study.flow_stable[k, j])),
            )
        )
    section.numbers.update(
        depths=depths,
        inner_lr=inner,
        xy_best_spectral_radius=xy_study.best_spectral_radius[:, 0],
        xy_flow_stable=xy_study.flow_stable[:, 0],
        xy_eigenvalues=xy_study.eigenvalues[:, 0, :],
        xy_eigenvalue_error_vs_closed_form=err,
        dirac_inner_lr=float(inner_lrs[j]),
        dirac_best_spectral_radius=dirac_study.best_spectral_radius[:, j],
        dirac_flow_stable=dirac_study.flow_stable[:, j],
    )


def _study_function_space(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

    from dynamics import BestResponseGD, run
    from games import FunctionSpaceGAN, Grid, jacobian, jsd, temperature_density

    grid, p_data = temperature_density(Grid.line(-50.0, 50.0, 60 if ctx.quick else 100))
    t = grid.points[:, 0].numpy()
    game = FunctionSpaceGAN(grid, p_data, "minimax")
    J = jacobian(game, game.equilibrium())
    generator_block = float(J.hessian("generator").abs().max())
    cross = float(J.block("generator", "discriminator").abs().max())
    mu = J.eigenvalues().numpy()

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

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, (title, traj) in zip(
        axes,
        (
            ("max–min: the generator best-responds", maxmin),
            ("min–max: the discriminator best-responds", minmax),
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
        ax.set_title(
            f"{title}\nJSD to the data at the end: {float(jsd(p_data, game.density(traj.final[0]), grid)):.3f} nats",
            fontsize=9,
        )
    fig.suptitle("generator's probability mass per temperature bin over training (bright: mass)")
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "function_space_orders",
        "The GAN on densities over temperatures (data: two modes at ±28 °C). Max–min: the "
        "generator puts all its mass on the discriminator's favourite temperature, so it is "
        f"always one spike and hops between the modes ({hops} hops in 60 steps) — mode "
        "collapse. Min–max: against the optimal discriminator the generator's density "
        "converges to the data.",
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(t, (p_data * weights).numpy(), "k", label="data")
    ax.plot(
        t,
        (game.density(maxmin.final[0]) * weights).numpy(),
        color="tab:red",
        label="max–min generator (end)",
    )
    ax.plot(
        t,
        (game.density(minmax.final[0]) * weights).numpy(),
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
    section.table_header = ("quantity", "value")
    section.table.extend(
        [
            ("max |J_GG| (the generator's own block) at the equilibrium", _fmt(generator_block)),
            ("max |J_GD| (the coupling)", _fmt(cross)),
            ("max Re(lambda) of J", _fmt(float(mu.real.max()))),
            ("max–min: always one mode", _fmt(single_mode)),
            ("max–min: hops between the modes", str(hops)),
            ("JSD to the data, max–min / min–max (nats)", f"{jsd_maxmin:.3f} / {jsd_minmax:.4f}"),
        ]
    )
    section.numbers.update(
        grid_size=grid.size,
        generator_block_max_abs=generator_block,
        coupling_block_max_abs=cross,
        max_real_eigenvalue=float(mu.real.max()),
        maxmin_single_mode=single_mode,
        maxmin_hops=hops,
        maxmin_warm_mass=maxmin_warm,
        jsd_maxmin=jsd_maxmin,
        jsd_minmax=jsd_minmax,
    )


def _train_runs(
    ctx: _Context,
    configs: Mapping[str, Mapping[str, Any]],
    steps: Mapping[str, int],
    runs: dict[str, dict[str, Any]],
) -> None:
    """Train each configuration of the neural study into ``runs`` (a temporary folder)."""
    from gan_models import TrainConfig, Trainer, build_data

    from .modes import ModeCoverage, mode_coverage

    with tempfile.TemporaryDirectory(prefix="gamedyn-report-") as tmp:
        for name, mapping in configs.items():
            n = steps[name]
            cfg = TrainConfig.from_dict(
                {
                    **mapping,
                    "steps": n,
                    "eval_every": max(1, n // 20),
                    "checkpoint_every": n,
                    "log_every": max(1, n // 10),
                }
            )
            data = build_data(cfg)
            coverages: list[tuple[int, ModeCoverage]] = []
            last: dict[str, Any] = {}

            def evaluate(
                samples: torch.Tensor,
                data: Any = data,
                coverages: Any = coverages,
                last: Any = last,
            ) -> dict[str, Any]:
                cov = mode_coverage(samples, data.modes, data.std)
                coverages.append((len(coverages), cov))
                last["samples"] = samples.detach().cpu()
                return cov.as_dict()

            folder = Path(tmp) / name.replace(" ", "_")
            trainer = Trainer.from_config(
                cfg, out_dir=folder, evaluate=evaluate, progress=False, stream=io.StringIO()
            )
            started = time.perf_counter()
            result = trainer.train(resume=False)
            eval_steps = [h["step"] for h in result.history]
            runs[name] = {
                "data": data,
                "steps": n,
                "seconds": time.perf_counter() - started,
                "coverages": [c for _, c in coverages],
                "eval_steps": eval_steps,
                "samples": last["samples"],
            }


def _study_neural(ctx: _Context, section: _Section) -> None:
    import matplotlib.pyplot as plt

    from .modes import (
        CoverageDisplay,
        ModeHoppingGraphDisplay,
        SamplesDisplay,
        dominant_modes,
        hopping_cycles,
        mode_hopping_graph,
    )

    plain_steps, unrolled_steps, depth = NEURAL_RUNS["quick" if ctx.quick else "full"]
    unrolled_name = f"unrolled GAN (K = {depth})"
    steps = {"plain GAN": plain_steps, unrolled_name: unrolled_steps}
    base: dict[str, Any] = {
        "seed": ctx.seed,
        "device": ctx.device,
        "data": {"name": "ring", "options": {}},
        "batch_size": 128 if ctx.quick else 256,
        "latent_dim": 16 if ctx.quick else 64,
        "eval_samples": 1000 if ctx.quick else 2500,
        "generator": {"width": 64 if ctx.quick else 128, "depth": 2},
        "discriminator": {"width": 64 if ctx.quick else 128, "depth": 2},
        "optimizer": {"rule": "adam", "lr": 1e-3 if ctx.quick else 1e-4, "betas": [0.5, 0.999]},
    }
    configs = {
        "plain GAN": base,
        unrolled_name: {**base, "unroll": {"steps": depth, "lr": 1e-4, "inner": "adam"}},
    }
    runs: dict[str, dict[str, Any]] = {}
    # small MLPs on the CPU: one intra-op thread is as fast on an idle machine and many
    # times faster on a busy one (thread contention); restored afterwards
    threads = torch.get_num_threads()
    if ctx.device == "cpu":
        torch.set_num_threads(1)
    try:
        _train_runs(ctx, configs, steps, runs)
    finally:
        torch.set_num_threads(threads)
    data = runs["plain GAN"]["data"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    SamplesDisplay.from_samples(
        data.sample(2500, generator=torch.Generator().manual_seed(ctx.seed)),
        data.modes,
        data.std,
        title="data: ring of 8 Gaussians",
    ).plot(ax=axes[0])
    for ax, (name, r) in zip(axes[1:], runs.items()):
        final = r["coverages"][-1]
        SamplesDisplay.from_samples(
            r["samples"],
            data.modes,
            data.std,
            title=f"{name}, {r['steps']} steps:\n{final.modes_covered}/8 modes, "
            f"{100 * final.high_quality:.1f}% high quality",
        ).plot(ax=ax)
    fig.tight_layout()
    plain_final = runs["plain GAN"]["coverages"][-1]
    unrolled_final = runs[unrolled_name]["coverages"][-1]
    caveat = (
        " (Quick mode: these runs are far too short to converge; the full report trains "
        f"{NEURAL_RUNS['full'][0]} and {NEURAL_RUNS['full'][1]} steps, and "
        "benchmarks/mode_coverage.py measures 5 seeds.)"
        if ctx.quick
        else ""
    )
    ctx.save(
        section,
        fig,
        "neural_samples",
        "Samples of the data and of each generator at the end of training (blue: high "
        "quality, within 3 std of a mode; red: not). Here the plain GAN covers "
        f"{plain_final.modes_covered} of 8 modes with {100 * plain_final.high_quality:.1f}% "
        f"high-quality samples and the unrolled GAN {unrolled_final.modes_covered} with "
        f"{100 * unrolled_final.high_quality:.1f}%." + caveat,
    )
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for ax, (name, r) in zip(axes, runs.items()):
        k = min(len(r["eval_steps"]), len(r["coverages"]))
        CoverageDisplay.from_coverages(
            r["eval_steps"][:k], r["coverages"][:k], title=f"{name}: coverage during training"
        ).plot(ax=ax)
    fig.tight_layout()
    ctx.save(
        section,
        fig,
        "neural_coverage",
        "Modes covered and high-quality percentage at each evaluation during training.",
    )
    plain = runs["plain GAN"]["coverages"]
    dominant = dominant_modes(plain)
    graph = mode_hopping_graph(dominant, data.n_modes)
    cycles = hopping_cycles(graph)
    fig, ax = plt.subplots(figsize=(6, 6))
    ModeHoppingGraphDisplay.from_dominant_modes(
        dominant,
        data.modes.numpy(),
        title="plain GAN: dominant-mode hops",
    ).plot(ax=ax)
    ctx.save(
        section,
        fig,
        "neural_mode_hopping",
        "The mode-hopping graph of the plain GAN: nodes are the ring's modes, an edge a→b "
        "means the mode holding most generated samples moved from a to b between two "
        f"evaluations; {len(cycles)} cycle(s) found — the cat-and-mouse of mode collapse.",
    )
    section.table_header = (
        "run",
        "steps",
        "modes covered (of 8)",
        "high quality %",
        "reverse KL",
        "seconds",
    )
    numbers: dict[str, Any] = {}
    for name, r in runs.items():
        final = r["coverages"][-1]
        section.table.append(
            (
                name,
                str(r["steps"]),
                str(final.modes_covered),
                f"{100 * final.high_quality:.1f}",
                _fmt(final.reverse_kl, 3),
                f"{r['seconds']:.1f}",
            )
        )
        numbers[name] = {
            "steps": r["steps"],
            "modes_covered": final.modes_covered,
            "high_quality_percent": 100 * final.high_quality,
            "reverse_kl": final.reverse_kl,
            "modes_covered_over_time": [c.modes_covered for c in r["coverages"]],
        }
    section.numbers.update(
        runs=numbers,
        plain_dominant_modes=dominant,
        plain_hopping_cycles=cycles,
        device=ctx.device,
    )


_RUNNERS: dict[str, Callable[[_Context, _Section], None]] = {
    "xy": _study_xy,
    "dirac": _study_dirac,
    "ttur": _study_ttur,
    "unroll": _study_unroll,
    "function_space": _study_function_space,
    "neural": _study_neural,
}

_INTROS: dict[str, str] = {
    "xy": "The simplest game that shows why GANs oscillate: l_x = x·y, l_y = −x·y. Its "
    "Jacobian [[0, 1], [−1, 0]] has eigenvalues ±i: the flow rotates around the equilibrium "
    "and simultaneous gradient descent (the step map I − ηJ has eigenvalues 1 ∓ iη) spirals "
    "out. Rules that use second-order information about the rotation converge.",
    "dirac": "Mescheder et al. (2018): the generator is a point mass at θ, the data a point "
    "mass at 0, the discriminator D(x) = ψx. At (0, 0) the unregularised game is a pure "
    "rotation; gradient penalties add a positive discriminator block to the Jacobian, which "
    "moves its eigenvalues into the right half-plane (stable flow) and gives GD a range of "
    "stable steps.",
    "ttur": "Heusel et al. (2017) give the discriminator its own step size. The step map is "
    "I − η_G·diag(1, r)·J: one eigendecomposition per ratio r maps every η_G at once.",
    "unroll": "Metz et al. (2017): the generator's loss is evaluated after K differentiable "
    "steps of the discriminator. The unrolled game's Jacobian is exact here (autodiff "
    "through the K inner steps), evaluated at the base game's equilibrium.",
    "function_space": "Goodfellow (2016): played directly on densities, the generator's "
    "loss is linear in its density, so its own block of the Jacobian is zero: nothing "
    "pulls the generator back, only the discriminator steers it. The order of play decides "
    "between mode collapse (max–min) and convergence (min–max).",
    "neural": "A real neural GAN (two-layer MLPs, Adam, non-saturating loss) on the ring of 8 Gaussians "
    "(radius 1, std 0.01), evaluated with the VEEGAN/PacGAN metrics: modes covered "
    "(at least one sample within 3 std), high-quality samples (within 3 std of a mode) "
    "and the reverse KL of the mode histogram.",
}


# --------------------------------------------------------------------------- writing


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; } table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } .meta { color: #666; font-size: 0.9em; } nav a { margin-right: 1em; }
"""


def _html(sections: Sequence[_Section], meta: Mapping[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gamedyn report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>gamedyn report</h1>",
        f'<p class="meta">gamedyn {e(str(meta["version"]))}, torch {e(str(meta["torch"]))}, '
        f"seed {meta['seed']}, {'quick' if meta['quick'] else 'full'} mode, device "
        f"{e(str(meta['device']))}, {meta['seconds']:.1f} s. Every number shown is in "
        '<a href="summary.json">summary.json</a>; each figure is also available as SVG '
        "(click a figure).</p>",
        "<nav>" + "".join(f'<a href="#{s.key}">{e(s.title)}</a>' for s in sections) + "</nav>",
    ]
    for s in sections:
        parts.append(f'<h2 id="{s.key}">{e(s.title)}</h2>')
        parts.append(f"<p>{e(s.intro)}</p>")
        if s.table:
            parts.append(
                "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.table_header) + "</tr>"
            )
            for row in s.table:
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        for f in s.figures:
            parts.append(
                f'<figure><a href="figures/{e(f.name)}.svg"><img src="figures/{e(f.name)}.png" '
                f'alt="{e(f.caption)}"></a><figcaption><b>{e(f.name)}</b>: {e(f.caption)}'
                "</figcaption></figure>"
            )
        parts.append(f'<p class="meta">computed in {s.seconds:.1f} s</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _check_studies(studies: Iterable[str] | None) -> list[str]:
    if studies is None:
        return list(STUDIES)
    if isinstance(studies, str):
        studies = [studies]
    chosen = list(studies)
    unknown = [s for s in chosen if s not in STUDIES]
    if unknown or not chosen:
        raise ValueError(
            f"studies: expected a non-empty selection of {', '.join(STUDIES)}; got {chosen!r}"
        )
    return [s for s in STUDIES if s in chosen]


def generate_report(
    out: str | os.PathLike[str] = "gamedyn-report",
    *,
    quick: bool = False,
    seed: int = 0,
    device: str = "auto",
    studies: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the canonical studies and write the report folder.

    Parameters
    ----------
    out : path
        The folder to write (created if missing; files in it are overwritten).
    quick : bool
        Smaller grids and shorter training (the whole report in under a minute on two
        CPU cores).
    seed : int
        Seeds every random choice (the neural GAN's initialisation and batches).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:N]"``, for the neural GAN;
        the closed-form studies run on the CPU in float64.
    studies : iterable of str, optional
        Keys of :data:`STUDIES` to run (default: all).
    progress : callable, optional
        Called with one line per study started and finished (default: silent).

    Returns
    -------
    dict
        The summary written to ``summary.json``.

    Examples
    --------
    >>> import tempfile
    >>> from analyses.report import generate_report
    >>> with tempfile.TemporaryDirectory() as out:
    ...     summary = generate_report(out, quick=True, studies=["dirac"])
    >>> round(summary["studies"]["dirac"]["r1_spectral_radius"], 6)  # |1 - 0.5 * 0.5|
    0.75
    """
    import matplotlib

    from games import __version__
    from gan_models import resolve_device

    chosen = _check_studies(studies)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    try:
        resolved = str(resolve_device(device))
    except RuntimeError as error:
        raise ValueError(
            f"device: expected auto, cpu or cuda[:N], got {device!r} ({error})"
        ) from None
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise ValueError(f"out: expected a folder, got the existing file {str(out_path)!r}")
    figures_dir = out_path / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda line: None)
    ctx = _Context(out_path, bool(quick), int(seed), resolved, figures_dir)
    sections: list[_Section] = []
    started = time.perf_counter()
    previous_backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    try:
        for number, key in enumerate(chosen, 1):
            say(f"[{number}/{len(chosen)}] {STUDIES[key]} ...")
            torch.manual_seed(int(seed))
            section = _Section(key, STUDIES[key], _INTROS[key])
            t0 = time.perf_counter()
            _RUNNERS[key](ctx, section)
            section.seconds = time.perf_counter() - t0
            sections.append(section)
            say(
                f"[{number}/{len(chosen)}] done in {section.seconds:.1f} s ({len(section.figures)} figures)"
            )
    finally:
        if previous_backend.lower() != "agg":
            try:
                matplotlib.use(previous_backend)
            except Exception:  # pragma: no cover - the previous backend may be unavailable
                pass
    meta = {
        "version": __version__,
        "torch": torch.__version__,
        "seed": int(seed),
        "quick": bool(quick),
        "device": resolved,
        "seconds": time.perf_counter() - started,
    }
    summary = {
        **meta,
        "studies": {s.key: s.numbers for s in sections},
        "figures": {s.key: [f.name for f in s.figures] for s in sections},
        "timings": {s.key: s.seconds for s in sections},
    }
    summary = _jsonable(summary)
    _write_atomic(out_path / "summary.json", json.dumps(summary, indent=1, allow_nan=False) + "\n")
    _write_atomic(out_path / "index.html", _html(sections, meta))
    say(f"report written to {out_path / 'index.html'} in {meta['seconds']:.1f} s")
    return summary


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` subcommand's options to ``parser``."""
    parser.add_argument(
        "--out", default="gamedyn-report", help="output folder (default: ./gamedyn-report)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small grids and short training: under a minute on two CPU cores",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N] (default auto)"
    )
    parser.add_argument(
        "--studies",
        nargs="+",
        metavar="STUDY",
        default=None,
        help=f"run only these studies, from: {', '.join(STUDIES)} (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the report described by the parsed ``args``; return the exit code."""
    try:
        summary = generate_report(
            args.out,
            quick=args.quick,
            seed=args.seed,
            device=args.device,
            studies=args.studies,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ValueError as error:
        print(f"gamedyn: error: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {Path(args.out) / 'index.html'}, {sum(len(v) for v in summary['figures'].values())} "
        f"figures (PNG and SVG) and summary.json"
    )
    return 0
