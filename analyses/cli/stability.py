"""``gamedyn stability``: the spectral radius of an update rule's step map at a point,
alone or over a grid of one or two hyper-parameters (:func:`dynamics.linearize`,
:func:`analyses.stability_region`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

import games
from dynamics.registry import RULES, Param, RuleEntry, build, parse_spec

from .._registry import UsageError
from ._common import (
    RAW,
    Axis,
    grid_axis,
    nonnegative_step,
    one_line,
    positive_int,
    print_json,
    save_figure,
    table,
    wrapped,
)
from ._grid import grid_summary, summary_lines, write_csv
from ._target import (
    Target,
    add_point_arguments,
    add_target_argument,
    add_unroll_arguments,
    describe_target,
    load_target,
)

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  gamedyn stability xy --rule gd --lr 0.1
  gamedyn stability xy --rule extragradient --grid lr=0.1:1:10
  gamedyn stability dirac:regularizer=r1,gamma=1 --lr 0.5 1.0
  gamedyn stability dirac:regularizer=r1,gamma=1 --rule momentum --grid beta=-0.9:0.9:19 --lr 0.5
  gamedyn stability dirac:regularizer=r1,gamma=1 --grid lr=0.01:5:100 --grid ratio=0.1:10:30:log --plot region.png
  gamedyn stability dirac:regularizer=r1,gamma=1 --grid lr=0.01:5:100 --grid ratio=0.1:10:30:log --csv region.csv
  gamedyn stability runs/ring/checkpoint.pt --rule gd --grid lr=1e-4:1:40:log --json
  gamedyn stability runs/ring --unroll 3 --unroll-lr 0.01 --lr 1e-3 --batch-size 64

The spectral radius rho of the Jacobian of one step of the rule at the point, over the
parameters and the rule's buffers (momentum, previous gradient, ...): rho < 1 means
locally linearly convergent.  Grid axes are lr, ratio (the discriminator's step divided
by the generator's) and the rule's numeric hyper-parameters; a grid is a line (one
axis, --plot draws rho against it) or a map (two axes, --plot draws a heatmap with the
boundary rho = 1).  A map prints a summary: the stable fraction, the largest stable
lr (or first axis) for each value of the other axis, and where rho is smallest; --csv
PATH and --json PATH write every grid point.  Step maps are linearised densely (dynamics.linearize), or for gd
(and extragradient, proximal, consensus at a fixed point or on an affine game) by one
eigendecomposition of J per value of the second axis (analyses.stability_region, which
decides where that is exact).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``stability`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stability",
        help="spectral radius of an update rule's step map at a point, over a grid",
        description=wrapped(
            "The spectral radius of the Jacobian of one step of an update rule at "
            "the game's equilibrium (or --point, or a checkpoint's parameters), the largest "
            "stable step size of simultaneous GD, and optionally the spectral radius over a "
            "grid of one or two hyper-parameters with the best value."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    add_target_argument(parser)
    parser.add_argument(
        "--rule",
        default="gd",
        metavar="RULE",
        help="the update rule, NAME or NAME:key=value,... (see 'gamedyn rules'); default gd",
    )
    parser.add_argument(
        "--lr",
        type=nonnegative_step,
        nargs="+",
        default=None,
        metavar="LR",
        help="step size (default 0.1), or two: the generator's and the discriminator's",
    )
    parser.add_argument(
        "--grid",
        type=grid_axis,
        action="append",
        default=None,
        metavar="KEY=RANGE",
        help="a grid axis, KEY=START:STOP:NUM (linear), KEY=START:STOP:NUM:log or "
        "KEY=V1,V2,...; KEY is lr, ratio (discriminator step / generator step) or a "
        "numeric hyper-parameter of the rule; give it once or twice",
    )
    add_point_arguments(parser)
    add_unroll_arguments(parser)
    parser.add_argument(
        "--max-dense",
        type=positive_int,
        default=2000,
        metavar="N",
        help="refuse games with more than N parameters (the linearisation is a dense "
        "n x n matrix); default 2000",
    )
    parser.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="with --grid: draw the spectral radius (one axis) or the stability region "
        "(two axes) to FILE (.png, .svg, .pdf)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="machine-readable output: one JSON object on stdout, or written to PATH (then "
        "the text goes to stdout as usual); it holds every grid point",
    )
    parser.add_argument(
        "--csv",
        default=None,
        metavar="PATH",
        help="with --grid: write every grid point (the axes' values, rho, stable) to PATH",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the spectral radius (or the grid) the parsed ``args`` ask for; return the exit code."""
    from ..regions import stability_region
    from ..stability import TOL, max_stable_step

    target = load_target(args)
    rule = parse_spec(args.rule, RULES, "rule")
    entry = rule.entry
    if entry.scale_invariant:
        usable = ", ".join(e.name for e in RULES.values() if not e.scale_invariant)
        raise UsageError(
            f"--rule: {entry.name} normalises the gradient, so at a fixed point (zero "
            f"moments) its step is lr/eps times the gradient and its linearisation says "
            f"nothing; expected one of {usable}"
        )
    players = len(target.game.sizes)
    if target.n > args.max_dense:
        raise UsageError(
            f"--max-dense: the game has n = {target.n} parameters > {args.max_dense}; the "
            "step map is linearised densely (an n x n matrix): raise --max-dense to go ahead"
        )
    lr, ratio = _step_sizes(args.lr, players)
    fixed: dict[str, Any] = {"lr": lr, "ratio": ratio, **rule.values}
    params = {p.name: p for p in entry.params}
    axes = _check_axes(args, entry, rule.given, players, params)
    for axis in [a for a in axes if a.values.size == 1]:
        fixed[axis.name] = float(axis.values[0])
    axes = [a for a in axes if a.values.size > 1]
    if args.csv is not None and not axes:
        raise UsageError("--csv: needs --grid with at least two values (one row per grid point)")
    if args.plot is not None and not axes:
        raise UsageError(
            "--plot: needs --grid with at least two values (the spectral radius against a "
            "hyper-parameter)"
        )

    def make(**changes: float) -> Any:
        values = {**fixed, **changes}
        step, r = values.pop("lr"), values.pop("ratio")
        for name, param in params.items():
            if param.kind == "int":
                values[name] = int(values[name])
        return build(entry, values, lr=step if r == 1.0 else [step, step * r])

    try:  # the rule's own checks of the game (players, JVPs) with the fixed values
        make().init(target.game, target.point)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--rule {entry.name} on {target.label}: {error}") from None

    field_norm = target.field_norm()
    J = games.jacobian(target.game, target.point).matrix.cpu().numpy()
    _finite_or_usage(J, target.where)
    eigenvalues = np.linalg.eigvals(J)
    result: dict[str, Any] = {
        "target": target.label,
        "source": target.source,
        target.source: target.details,
        "n": target.n,
        "field_norm": field_norm,
        "rule": rule.text,
        "rule_class": f"dynamics.{entry.class_name}",
        "rule_parameters": rule.values,
        "lr": None if any(a.name == "lr" for a in axes) else fixed["lr"],
        "ratio": None if any(a.name == "ratio" for a in axes) else fixed["ratio"],
        "flow_stable": bool(np.all(eigenvalues.real > TOL)),
        "max_gd_step": None,
        "spectral_radius": None,
        "grid": None,
        "best": None,
    }
    if entry.name == "gd" and all(a.name != "ratio" for a in axes):
        scale = np.ones(target.n)
        if players == 2:
            scale[target.game.sizes[0] :] = fixed["ratio"]
        scaled = np.linalg.eigvals(scale[:, None] * J)
        result["max_gd_step"] = max_stable_step(scaled) if bool(np.all(scaled.real > TOL)) else 0.0
    # the named path of analyses.stability_region takes the axes lr and ratio (consensus:
    # lr and gamma, one step size); the library decides whether its eigendecompose-once
    # path is exact at this point and linearises every grid point where it is not
    named = None
    if entry.analytic is not None:
        named = ("lr", "gamma") if entry.analytic == "consensus" else ("lr", "ratio")
        if (
            not all(a.name in named for a in axes)
            or not rule.given <= set(named)  # e.g. proximal:inner_steps: the factory's rule
            or (entry.analytic == "consensus" and fixed["ratio"] != 1.0)
            or (entry.analytic != "consensus" and players != 2)
        ):
            named = None
    if not axes:
        result["spectral_radius"] = _radius(make(), target)
    else:
        grid: dict[str, Any] = {"axes": [a.name for a in axes]}
        grid["values"] = [a.values.tolist() for a in axes]
        if named is not None:
            assert entry.analytic is not None
            columns = {a.name: a.values for a in axes}
            for name in named:
                columns.setdefault(name, np.array([fixed[name]]))
            region = stability_region(target.game, target.point, entry.analytic, **columns)
            radius = region.spectral_radius if len(axes) == 2 else region.spectral_radius[:, 0]
            grid["method"] = region.method
        elif len(axes) == 2:
            region = stability_region(
                target.game, target.point, make, **{a.name: a.values for a in axes}
            )
            radius = region.spectral_radius
            grid["method"] = "linearize"
        else:
            radius = np.array(
                [_radius(make(**{axes[0].name: float(v)}), target) for v in axes[0].values]
            )
            grid["method"] = "linearize"
        grid["spectral_radius"] = radius.tolist()
        if len(axes) == 2:
            grid["summary"] = grid_summary(axes, radius, _stable(radius))
        result["grid"] = grid
        best = np.unravel_index(int(np.argmin(radius)), radius.shape)
        result["best"] = {
            **{a.name: float(a.values[i]) for a, i in zip(axes, best)},
            "spectral_radius": float(radius[best]),
            "stable": bool(_stable(radius[best])),
        }
        if args.csv is not None:
            write_csv(args.csv, axes, radius, _stable(radius))
        if args.plot is not None:
            _plot(args.plot, axes, radius, f"{rule.text} on {target.label}")
    if args.json == "-":
        print_json(result)
        return 0
    files = []
    if args.json is not None:
        _write_json(args.json, result)
        files.append(f"--json {args.json}")
    if args.csv is not None:
        files.append(f"--csv {args.csv}")
    print("\n".join(_lines(target, field_norm, result, axes, files)))
    return 0


def _write_json(path: str, result: dict[str, Any]) -> None:
    """``--json PATH``: the JSON object that ``--json`` prints, written to PATH."""
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
    except OSError as error:
        raise UsageError(f"--json: cannot write {path!r} ({one_line(error)})") from None


def _step_sizes(lr: Sequence[float] | None, players: int) -> tuple[float, float]:
    """``--lr LR`` or ``--lr LR_G LR_D`` as (lr, ratio = LR_D / LR_G)."""
    if lr is None:
        return 0.1, 1.0
    if len(lr) == 1:
        return lr[0], 1.0
    if len(lr) != 2 or players != 2:
        raise UsageError(
            "--lr: expected one step size, or two (generator, discriminator) for a "
            f"two-player game, got {len(lr)} for {players} players"
        )
    if lr[0] == 0:
        raise UsageError("--lr: expected LR_G > 0 when LR_D is given (ratio LR_D / LR_G)")
    return lr[0], lr[1] / lr[0]


def _check_axes(
    args: argparse.Namespace,
    entry: RuleEntry,
    given: frozenset[str],
    players: int,
    params: dict[str, Param],
) -> list[Axis]:
    axes: list[Axis] = args.grid or []
    names = [a.name for a in axes]
    numeric = [p.name for p in entry.params if p.kind in ("int", "float")]
    allowed = ["lr", *(["ratio"] if players == 2 else []), *numeric]
    if len(axes) > 2:
        raise UsageError(f"--grid: expected at most two axes (a line or a map), got {names}")
    if len(set(names)) != len(names):
        raise UsageError(f"--grid: an axis is given twice: {names}")
    for axis in axes:
        where = f"--grid {axis.name}"
        if axis.name not in allowed:
            raise UsageError(
                f"{where}: unknown axis for rule {entry.name}, expected one of {', '.join(allowed)}"
            )
        if axis.name == "lr" and args.lr is not None:
            raise UsageError(f"{where}: the step size is given by --lr too; give one of the two")
        if axis.name == "ratio" and args.lr is not None and len(args.lr) == 2:
            raise UsageError(f"{where}: --lr LR_G LR_D fixes the ratio already; give one")
        if axis.name in given:
            raise UsageError(f"{where}: {axis.name} is given in --rule too; give one of the two")
        if axis.name in ("lr", "ratio"):
            if np.any(axis.values < 0):
                bad = float(axis.values[axis.values < 0][0])
                what = "step sizes" if axis.name == "lr" else "ratios"
                raise UsageError(f"{where}: expected {what} >= 0, got {bad:g}")
        else:
            for value in axis.values:
                params[axis.name].check(float(value), "--grid")
    return axes


def _radius(rule: Any, target: Target) -> float:
    from dynamics import linearize

    return linearize(rule, target.game, target.point).spectral_radius


def _plot(path: str, axes: Sequence[Axis], radius: np.ndarray, title: str) -> None:
    from matplotlib.figure import Figure

    from ..plots import SpectralRadiusDisplay, StabilityRegionDisplay
    from ..regions import StabilityRegion

    figure = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = figure.add_subplot()
    if len(axes) == 1:
        SpectralRadiusDisplay.from_values(axes[0].values, radius, axes[0].name, title=title).plot(
            ax=ax, log_x=axes[0].log
        )
    else:
        region = StabilityRegion(
            (axes[0].name, axes[1].name), axes[0].values, axes[1].values, radius
        )
        StabilityRegionDisplay.from_region(region, title=title).plot(
            ax=ax, log_axes=(axes[0].log, axes[1].log)
        )
    save_figure(figure, path)


def _stable(rho: float | np.ndarray) -> Any:
    """rho < 1 beyond round-off (|rho - 1| <= TOL is marginal)."""
    from ..stability import TOL

    return np.asarray(rho) < 1.0 - TOL


def _verdict(rho: float) -> str:
    from ..stability import TOL

    if rho < 1.0 - TOL:
        return "converges"
    return "diverges" if rho > 1.0 + TOL else "marginal"


def _lines(
    target: Target,
    field_norm: float,
    result: dict[str, Any],
    axes: Sequence[Axis],
    files: Sequence[str] = (),
) -> list[str]:
    lines = describe_target(target, field_norm)
    lr, ratio = result["lr"], result["ratio"]  # None: a grid axis
    parts = ["lr on the grid" if lr is None else f"lr = {lr:g}"]
    if ratio is None:
        parts.append("ratio on the grid")
    elif ratio != 1.0 and lr is None:
        parts.append(f"ratio {ratio:g} (discriminator step / generator step)")
    elif ratio != 1.0:
        a, b = target.game.players
        parts = [f"lr = {lr:g} ({a}), {lr * ratio:g} ({b}): ratio {ratio:g}"]
    lines.append(f"rule        {result['rule']} ({result['rule_class']}), {', '.join(parts)}")
    lines.append(
        "flow        "
        + (
            "locally stable (every Re λ of J > 0)"
            if result["flow_stable"]
            else "not asymptotically stable (some Re λ of J <= 0)"
        )
    )
    if result["max_gd_step"] is not None:
        step = result["max_gd_step"]
        lines.append(
            f"GD          stable iff lr < {step:.6g} (min over λ of 2Re λ/|λ|²"
            + (f", with ratio {ratio:g})" if ratio not in (None, 1.0) else ")")
            if step > 0
            else "GD          no step size is stable (some Re λ <= 0)"
        )
    if result["grid"] is None:
        rho = result["spectral_radius"]
        relation = {"converges": "<", "diverges": ">", "marginal": "="}[_verdict(rho)]
        lines.append(
            f"rho         {rho:.6f}: the spectral radius of the step map's Jacobian; "
            f"{_verdict(rho)} locally (rho {relation} 1)"
        )
        return lines
    grid = result["grid"]
    radius = np.asarray(grid["spectral_radius"])
    lines.append(f"spectral radius of the step map over the grid ({grid['method']}):")
    if len(axes) == 1:
        rows = [[f"{v:.6g}", f"{r:.6f}", _verdict(r)] for v, r in zip(axes[0].values, radius)]
        lines += table([axes[0].name, "rho", ""], rows)
        stable = axes[0].values[_stable(radius)]
        lines.append(
            f"stable      for {stable.size} of {radius.size} values of {axes[0].name}"
            + (f", from {stable.min():.6g} to {stable.max():.6g}" if stable.size else "")
        )
        if files:
            lines.append(f"full grid   {', '.join(files)}")
    else:  # a map: the summary (every point is in --json and --csv)
        lines += summary_lines(grid["summary"], axes, files)
    best = result["best"]
    where = ", ".join(f"{a.name} = {best[a.name]:.6g}" for a in axes)
    lines.append(
        f"best        {where}: rho = {best['spectral_radius']:.6f} "
        f"({_verdict(best['spectral_radius'])})"
    )
    return lines


def _finite_or_usage(J: np.ndarray, where: str) -> None:
    """A non-finite Jacobian (a game that overflows at the point) as a one-line error."""
    bad = int(J.size - np.count_nonzero(np.isfinite(J)))
    if bad:
        raise UsageError(
            f"{where}: the Jacobian holds {bad} non-finite entr{'y' if bad == 1 else 'ies'} "
            "(NaN or Inf): the game's field overflows or is undefined at this point; "
            "no eigenvalues"
        )
