r"""Named games and update rules for the ``gamedyn`` command line, with typed parameters.

A game or a rule is named on the command line as ``NAME`` or ``NAME:key=value,key=value``,
e.g. ``dirac:loss=wgan,regularizer=wgan_gp,gamma=1`` or ``momentum:beta=-0.5``.  Every
key is declared here with its type, default and allowed values, so a typo fails with
one line naming the key and what was expected (:class:`UsageError`) before anything is
built.  The values are handed to the library's constructors, whose own checks (e.g.
``DiracGAN``'s "the 'r1' regulariser needs gamma > 0") surface as :class:`UsageError` too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import torch

import dynamics
import games

__all__ = [
    "GAMES",
    "RULES",
    "GameEntry",
    "Param",
    "RuleEntry",
    "Spec",
    "UsageError",
    "build",
    "canonical",
    "lookup",
    "parse_spec",
]


class UsageError(ValueError):
    """Bad input from the command line: the message is one line naming the argument or
    key and what was expected (``gamedyn`` prints it and exits with status 2)."""


def _in_range(value: float, low: float | None, high: float | None, open_low: bool) -> bool:
    if not math.isfinite(value):
        return False
    if low is not None and (value <= low if open_low else value < low):
        return False
    return not (high is not None and value >= high)


@dataclass(frozen=True)
class Param:
    """One typed parameter of a game or a rule.

    ``kind`` is ``"int"``, ``"float"``, ``"choice"`` or ``"bool"``; numbers must lie in
    ``[low, high)`` (``(low, high)`` with ``open_low``).
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False

    @property
    def expected(self) -> str:
        """What a valid value looks like, for help and error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        what = "an int" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            left = "(" if self.open_low else "["
            return f"{what} in {left}{self.low:g}, {self.high:g})"
        if self.low is not None:
            return f"{what} {'>' if self.open_low else '>='} {self.low:g}"
        return what

    def parse(self, text: str, where: str) -> Any:
        """The value of ``text``, or a :class:`UsageError` naming ``where`` and the key."""
        separator = ";" if self.kind == "choice" else ","
        error = UsageError(
            f"{where}: {self.name}: expected {self.expected}{separator} got {text!r}"
        )
        if self.kind == "choice":
            if text not in self.choices:
                raise error
            return text
        if self.kind == "bool":
            lowered = text.lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            raise error
        try:
            value: float = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise error from None
        return self.check(value, where, text)

    def check(self, value: float, where: str, text: str | None = None) -> Any:
        """A number checked against the type and bounds (e.g. a grid value)."""
        number = float(value)
        ok = self.kind in ("int", "float") and _in_range(number, self.low, self.high, self.open_low)
        if self.kind == "int":
            ok = ok and number.is_integer()
        if not ok:
            shown = text if text is not None else f"{number:g}"
            raise UsageError(f"{where}: {self.name}: expected {self.expected}, got {shown!r}")
        return int(number) if self.kind == "int" else number

    def describe(self) -> str:
        """``name  expected  (default ...)  help`` for listings."""
        default = _format_value(self.default)
        return f"{self.name}: {self.expected}, default {default}. {self.help}"


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class GameEntry:
    """A named game: a one-line summary, its parameters and how to build it."""

    name: str
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., Any]


@dataclass(frozen=True)
class RuleEntry:
    """A named update rule: its class, summary, hyper-parameters (besides ``lr``) and factory.

    ``analytic`` names the rule in :func:`analyses.stability_region`'s eigendecompose-once
    path, when its step map is a function of the game Jacobian alone.
    """

    name: str
    cls: type[dynamics.UpdateRule]
    summary: str
    params: tuple[Param, ...]
    build: Callable[..., dynamics.UpdateRule]
    aliases: tuple[str, ...] = ()
    analytic: str | None = None


# -- games --------------------------------------------------------------------------------------


def _bilinear(m: int, p: int, seed: int) -> games.Bilinear:
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
            games.Bilinear.xy,
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
                    "standard",
                    "GAN loss",
                    choices=("standard", "non_saturating", "mle", "wgan"),
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
                    20,
                    "Gauss-Hermite nodes of instance_noise",
                    low=1,
                ),
            ),
            lambda loss, regularizer, **rest: games.DiracGAN(loss, regularizer, **rest),
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
            games.Quadratic.tandem,
        ),
        GameEntry(
            "matching_pennies",
            "mixed-strategy matching pennies, unconstrained: l_1 = -(2p-1)(2q-1) = -l_2 "
            "(equilibrium (1/2, 1/2), eigenvalues ±4i)",
            (),
            games.Quadratic.matching_pennies,
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


# -- rules --------------------------------------------------------------------------------------


def _alternating(lr: Any, d_steps: int) -> dynamics.UpdateRule:
    return dynamics.AlternatingGD(lr, repeats=1 if d_steps == 1 else (1, d_steps))


RULES: dict[str, RuleEntry] = {
    entry.name: entry
    for entry in (
        RuleEntry(
            "gd",
            dynamics.SimultaneousGD,
            "simultaneous gradient descent: theta <- theta - D xi(theta)",
            (),
            dynamics.SimultaneousGD,
            aliases=("sgd",),
            analytic="gd",
        ),
        RuleEntry(
            "alternating",
            dynamics.AlternatingGD,
            "alternating (Gauss-Seidel) GD: the last player (the discriminator) first, "
            "d_steps of its steps per step of the others",
            (
                Param(
                    "d_steps", "int", 1, "the last player's steps per update (two players)", low=1
                ),
            ),
            _alternating,
        ),
        RuleEntry(
            "momentum",
            dynamics.Momentum,
            "heavy ball: m <- beta m - D xi, theta <- theta + m (negative beta damps rotation)",
            (Param("beta", "float", 0.9, "momentum", low=-1.0, high=1.0, open_low=True),),
            dynamics.Momentum,
        ),
        RuleEntry(
            "adam",
            dynamics.Adam,
            "Adam on each player's own gradient (scale invariant: no linearisation at a "
            "fixed point)",
            (
                Param("beta1", "float", 0.9, "first-moment decay", low=0.0, high=1.0),
                Param("beta2", "float", 0.999, "second-moment decay", low=0.0, high=1.0),
                Param("eps", "float", 1e-8, "denominator offset", low=0.0, open_low=True),
            ),
            lambda lr, beta1, beta2, eps: dynamics.Adam(lr, betas=(beta1, beta2), eps=eps),
        ),
        RuleEntry(
            "rmsprop",
            dynamics.RMSProp,
            "RMSProp per player (scale invariant: no linearisation at a fixed point)",
            (
                Param("rho", "float", 0.99, "second-moment decay", low=0.0, high=1.0),
                Param("eps", "float", 1e-8, "denominator offset", low=0.0, open_low=True),
            ),
            dynamics.RMSProp,
        ),
        RuleEntry(
            "extragradient",
            dynamics.Extragradient,
            "extragradient: a look-ahead step, then the step with the look-ahead's field",
            (),
            dynamics.Extragradient,
            analytic="extragradient",
        ),
        RuleEntry(
            "optimistic",
            dynamics.OptimisticGD,
            "optimistic GD: theta <- theta - 2 D xi(theta_t) + D xi(theta_{t-1})",
            (),
            dynamics.OptimisticGD,
        ),
        RuleEntry(
            "proximal",
            dynamics.ProximalPoint,
            "proximal point: the implicit step theta' = theta - D xi(theta') (exact on "
            "affine games, else fixed-point iterations)",
            (Param("inner_steps", "int", 50, "fixed-point iterations (non-affine games)", low=1),),
            dynamics.ProximalPoint,
            analytic="proximal",
        ),
        RuleEntry(
            "consensus",
            dynamics.Consensus,
            "consensus optimisation: theta <- theta - D (xi + gamma J^T xi)",
            (Param("gamma", "float", 1.0, "weight of the consensus term", low=0.0),),
            dynamics.Consensus,
            analytic="consensus",
        ),
        RuleEntry(
            "sga",
            dynamics.SGA,
            "symplectic gradient adjustment: theta <- theta - D (xi + lam A^T xi)",
            (
                Param("lam", "float", 1.0, "adjustment weight", low=0.0),
                Param("align", "bool", True, "choose lam's sign by alignment (Letcher et al.)"),
                Param("eps", "float", 0.1, "alignment offset"),
            ),
            dynamics.SGA,
        ),
        RuleEntry(
            "cgd",
            dynamics.CGD,
            "competitive gradient descent (two players; dense solve when small, else matrix-free CG)",
            (
                Param(
                    "solver",
                    "choice",
                    "auto",
                    "auto (dense up to 256 parameters, else cgnr), dense, cg (zero-sum games) "
                    "or cgnr (any game)",
                    choices=("auto", "dense", "cgnr", "cg"),
                ),
            ),
            dynamics.CGD,
        ),
        RuleEntry(
            "lookahead",
            dynamics.LookAhead,
            "look-ahead: each player anticipates the others' step, xi - alpha H_o xi",
            (Param("alpha", "float", 0.1, "anticipated step", low=0.0),),
            dynamics.LookAhead,
        ),
        RuleEntry(
            "lola",
            dynamics.LOLA,
            "learning with opponent-learning awareness (Letcher et al.'s form)",
            (Param("alpha", "float", 0.1, "anticipated step", low=0.0),),
            dynamics.LOLA,
        ),
    )
}

_RULE_ALIASES = {alias: entry.name for entry in RULES.values() for alias in entry.aliases}

Entry = TypeVar("Entry", GameEntry, RuleEntry)


# -- specifications -----------------------------------------------------------------------------


def lookup(name: str, registry: Mapping[str, Entry], what: str) -> Entry:
    """The entry called ``name`` (or an alias), or a :class:`UsageError` listing the names."""
    key = _RULE_ALIASES.get(name, name) if registry is RULES else name
    if key not in registry:
        raise UsageError(f"{what}: unknown {what} {name!r}, expected one of {', '.join(registry)}")
    return registry[key]


@dataclass(frozen=True)
class Spec(Generic[Entry]):
    """A parsed ``NAME:key=value,...``: the entry, every parameter's value (defaults filled
    in) and the keys given explicitly."""

    entry: Entry
    values: dict[str, Any]
    given: frozenset[str]

    @property
    def text(self) -> str:
        """The canonical form: ``NAME:key=value,...`` with the non-default values only."""
        return canonical(self.entry, self.values)


def parse_spec(text: str, registry: Mapping[str, Entry], what: str) -> Spec[Entry]:
    """Parse ``NAME`` or ``NAME:key=value,...``.

    Parameters
    ----------
    text : str
    registry : GAMES or RULES
    what : str
        ``"game"`` or ``"rule"``, for the messages.

    Raises
    ------
    UsageError
        Unknown name or key, a key given twice, a missing ``=`` or a bad value.

    Examples
    --------
    >>> spec = parse_spec("dirac:regularizer=r1,gamma=1", GAMES, "game")
    >>> spec.entry.name, spec.values["regularizer"], spec.values["gamma"], spec.text
    ('dirac', 'r1', 1.0, 'dirac:regularizer=r1,gamma=1')
    """
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"{what}: expected NAME or NAME:key=value,..., got {text!r}")
    entry = lookup(name, registry, what)
    declared = {p.name: p for p in entry.params}
    given: dict[str, Any] = {}
    for item in rest.split(",") if rest.strip() else []:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise UsageError(f"{entry.name}: expected key=value, got {item.strip()!r}")
        if key not in declared:
            keys = ", ".join(declared) if declared else "none (it takes no parameters)"
            raise UsageError(f"{entry.name}: unknown key {key!r}, expected {keys}")
        if key in given:
            raise UsageError(f"{entry.name}: key {key!r} given twice")
        given[key] = declared[key].parse(value, entry.name)
    values = {p.name: given.get(p.name, p.default) for p in entry.params}
    return Spec(entry, values, frozenset(given))


def canonical(entry: GameEntry | RuleEntry, values: Mapping[str, Any]) -> str:
    """``NAME:key=value,...`` with the non-default values only (``NAME`` if none)."""
    changed = [
        f"{p.name}={_format_value(values[p.name])}"
        for p in entry.params
        if values[p.name] != p.default
    ]
    return entry.name + (":" + ",".join(changed) if changed else "")


def build(entry: GameEntry | RuleEntry, values: Mapping[str, Any], **extra: Any) -> Any:
    """Call the entry's constructor; the library's ValueError/TypeError become :class:`UsageError`."""
    try:
        return entry.build(**extra, **values)
    except (ValueError, TypeError) as error:
        raise UsageError(f"{entry.name}: {error}") from error
