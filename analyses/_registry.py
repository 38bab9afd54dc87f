r"""Named games for the ``gamedyn`` command line, with typed parameters; the named rules.

A game or a rule is named on the command line as ``NAME`` or ``NAME:key=value,key=value``,
e.g. ``dirac:loss=wgan,regularizer=wgan_gp,gamma=1`` or ``momentum:beta=-0.5``.  Every
key is declared with its type, default and allowed values, so a typo fails with one line
naming the key and what was expected before anything is built.  The values are handed
to the library's constructors, whose own checks (e.g. ``DiracGAN``'s "the 'r1'
regulariser needs gamma > 0") surface as one-line errors too.

The rules and the parsing machinery (:class:`Param`, :func:`parse_spec`, ...) live in
:mod:`dynamics.registry`, shared with the training configurations of :mod:`gan_models`;
this module adds the games (:data:`GAMES`) and re-exports the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import games
from dynamics.registry import (
    RULES,
    Param,
    RuleEntry,
    Spec,
    SpecError,
    build,
    canonical,
    lookup,
    parse_spec,
)

__all__ = [
    "GAMES",
    "RULES",
    "GameEntry",
    "Param",
    "RuleEntry",
    "Spec",
    "SpecError",
    "UsageError",
    "build",
    "canonical",
    "lookup",
    "parse_spec",
]


class UsageError(SpecError):
    """Bad input from the command line: the message is one line naming the argument or
    key and what was expected (``gamedyn`` prints it and exits with status 2).

    ``gamedyn`` treats every :class:`dynamics.registry.SpecError` (a bad game or rule
    specification, of which this is one) the same way.
    """


@dataclass(frozen=True)
class GameEntry:
    """A named game: a one-line summary, its parameters and how to build it."""

    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., Any]


# -- games --------------------------------------------------------------------------------------


def _bilinear(m: int, p: int, seed: int) -> games.Bilinear:
    import torch

    generator = torch.Generator().manual_seed(seed)
    return games.Bilinear(torch.randn(m, p, generator=generator, dtype=torch.float64))


def _function_space(
    loss: str,
    generator: str,
    size: int,
    modes: int,
    std: float,
    low: float,
    high: float,
    lipschitz_penalty: float,
) -> games.FunctionSpaceGAN:
    grid = games.Grid.line(low, high, size)
    middle, half = (low + high) / 2, (high - low) / 4
    means = np.linspace(middle - half, middle + half, modes) if modes > 1 else [middle]
    data = games.gaussian_mixture_density(grid, [float(m) for m in means], std)
    return games.FunctionSpaceGAN(
        grid, data, loss, generator=generator, lipschitz_penalty=lipschitz_penalty
    )


GAMES: dict[str, GameEntry] = {
    entry.name: entry
    for entry in (
        GameEntry(
            "xy",
            "the scalar bilinear game l_x = x y = -l_y (J = [[0, 1], [-1, 0]], eigenvalues ±i)",
            (),
            lambda: games.Bilinear.xy(),
        ),
        GameEntry(
            "bilinear",
            "l_x = x^T A y = -l_y with A an m x p standard-normal matrix drawn from seed "
            "(Hamiltonian: eigenvalues ±i times A's singular values)",
            (
                Param("m", "int", 2, "size of x (rows of A)", low=1),
                Param("p", "int", 2, "size of y (columns of A)", low=1),
                Param("seed", "int", 0, "seed of A's entries"),
            ),
            _bilinear,
        ),
        GameEntry(
            "dirac",
            "the Dirac-GAN of Mescheder et al. (2018): generator theta, linear discriminator psi",
            (
                Param(
                    "loss",
                    "choice",
                    "minimax",
                    "GAN loss (aliases: standard, saturating, ns, ...)",
                    choices=("minimax", "non_saturating", "mle", "wgan"),
                ),
                Param(
                    "regularizer",
                    "choice",
                    "none",
                    "added to the discriminator's loss",
                    choices=("none", "r1", "r2", "wgan_gp", "instance_noise"),
                ),
                Param("gamma", "float", 0.0, "penalty weight of r1, r2, wgan_gp", low=0.0),
                Param("noise_std", "float", 0.0, "sigma of instance_noise", low=0.0),
                Param("gp_target", "float", 1.0, "gradient norm target g0 of wgan_gp", low=0.0),
                Param(
                    "quadrature_nodes",
                    "int",
                    0,
                    "Gauss-Hermite nodes of instance_noise (0: the default trapezoidal rule)",
                    low=0,
                ),
            ),
            lambda loss, regularizer, quadrature_nodes, **rest: games.DiracGAN(
                loss, regularizer, quadrature_nodes=quadrature_nodes or None, **rest
            ),
        ),
        GameEntry(
            "zero_sum",
            "two-player zero-sum quadratic: l_x = p x^2/2 + q x y - r y^2/2 + a x + b y = -l_y "
            "(J = [[p, q], [-q, r]])",
            (
                Param("p", "float", 1.0, "x's own curvature"),
                Param("q", "float", 1.0, "the interaction"),
                Param("r", "float", 1.0, "y's own curvature (y maximises -r y^2/2)"),
                Param("a", "float", 0.0, "linear term of x"),
                Param("b", "float", 0.0, "linear term of y"),
            ),
            lambda p, q, r, a, b: games.Quadratic.zero_sum([[p]], [[q]], [[r]], [a], [b]),
        ),
        GameEntry(
            "potential",
            "a potential game: both players minimise theta^T C theta / 2 with "
            "C = [[c11, c12], [c12, c22]] (J = C, symmetric)",
            (
                Param("c11", "float", 1.0, "C[0, 0]"),
                Param("c12", "float", 0.5, "C[0, 1] = C[1, 0]"),
                Param("c22", "float", 1.0, "C[1, 1]"),
            ),
            lambda c11, c12, c22: games.Quadratic.potential([[c11, c12], [c12, c22]]),
        ),
        GameEntry(
            "hamiltonian",
            "a Hamiltonian game l_x = q x y = -l_y (no symmetric part; |xi|^2 is conserved "
            "by the flow)",
            (Param("q", "float", 1.0, "the interaction"),),
            lambda q: games.Quadratic.hamiltonian([[q]]),
        ),
        GameEntry(
            "tandem",
            "Letcher et al. (2019)'s Tandem game: l_1 = (x+y)^2 - 2x, l_2 = (x+y)^2 - 2y",
            (),
            lambda: games.Quadratic.tandem(),
        ),
        GameEntry(
            "matching_pennies",
            "mixed-strategy matching pennies, unconstrained: l_1 = -(2p-1)(2q-1) = -l_2 "
            "(equilibrium (1/2, 1/2), eigenvalues ±4i)",
            (),
            lambda: games.Quadratic.matching_pennies(),
        ),
        GameEntry(
            "function_space",
            "the GAN on densities over a 1-D grid of [low, high]: data a mixture of `modes` "
            "Gaussians in the middle half; one parameter per grid point and player",
            (
                Param(
                    "loss",
                    "choice",
                    "minimax",
                    "GAN loss",
                    choices=("minimax", "non_saturating", "mle", "wgan", "least_squares"),
                ),
                Param(
                    "generator",
                    "choice",
                    "softmax",
                    "softmax logits or raw density values",
                    choices=("softmax", "density"),
                ),
                Param("size", "int", 16, "grid points", low=2),
                Param("modes", "int", 1, "Gaussians in the data", low=1),
                Param("std", "float", 0.5, "their standard deviation", low=0.0, open_low=True),
                Param("low", "float", -3.0, "left end of the grid"),
                Param("high", "float", 3.0, "right end of the grid"),
                Param(
                    "lipschitz_penalty",
                    "float",
                    10.0,
                    "weight of the wgan critic's Lipschitz penalty",
                    low=0.0,
                ),
            ),
            _function_space,
        ),
    )
}
