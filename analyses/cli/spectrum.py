"""``gamedyn spectrum``: eigenvalues of the game Jacobian at a point, densely for a named
game (:func:`analyses.classify`), matrix-free for a checkpoint
(:func:`analyses.top_eigenvalues`, :func:`analyses.hessian_eigenvalues`)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import games
from games.vocabulary import canonical_which

from .._registry import UsageError
from ._common import (
    RAW,
    eigenvalue_table,
    fmt,
    one_line,
    ordered,
    pairs,
    positive_int,
    print_json,
    wrapped,
)
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
  gamedyn spectrum xy
  gamedyn spectrum dirac:loss=standard,regularizer=r1,gamma=0.3
  gamedyn spectrum zero_sum:p=1,q=2,r=3 --point 0.5 -0.5 --json
  gamedyn spectrum runs/ring/checkpoint.pt --k 10 --which LI
  gamedyn spectrum runs/ring --which SR --batch-size 512 --dense
  gamedyn spectrum runs/ring --unroll 5 --which LI

A named game is analysed densely (every eigenvalue, the Jacobian, the classification of
the point).  A checkpoint's GAN is rebuilt from the configuration stored in it, in
fixed-batch mode, at the checkpoint's parameters, and its top-k eigenvalues are computed
matrix-free (ARPACK), with each player's own-Hessian eigenvalues (Lanczos); --unroll K
analyses the unrolled game instead (the generator looks K discriminator steps ahead, with
the inner rule and step of the run's [unroll] section).  The flow
d theta/dt = -xi is locally stable iff every Re λ > 0 (--which SR decides it for a
checkpoint); simultaneous GD with one step size eta is stable iff eta < 2 Re λ / |λ|^2
for every λ.
"""

WHICH = {"LM": "magnitude", "LI": "imaginary", "SR": "smallest_real", "LR": "largest_real"}
"""``--which`` and :func:`analyses.top_eigenvalues`'s ``which``."""

_WHICH_TEXT = {
    "LM": "largest magnitude",
    "LI": "largest |imaginary part|",
    "SR": "smallest real part",
    "LR": "largest real part",
}


def _which(text: str) -> str:
    """``--which``: an ARPACK code or a Python name (the one vocabulary), as the code."""
    try:
        name = canonical_which(text, tuple(WHICH.values()), "--which")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--which: ")) from None
    return {v: k for k, v in WHICH.items()}[name]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``spectrum`` subcommand to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "spectrum",
        help="eigenvalues of the game Jacobian at a point (named game or checkpoint)",
        description=wrapped(
            "Eigenvalues of the Jacobian J = d xi / d theta of the game's vector "
            "field at its equilibrium (or --point), the stability of the flow and the kind of "
            "point; for a checkpoint, the top-k eigenvalues matrix-free at its parameters."
        ),
        epilog=EPILOG,
        formatter_class=RAW,
    )
    add_target_argument(parser)
    add_point_arguments(parser)
    parser.add_argument(
        "--k",
        type=positive_int,
        default=None,
        help="checkpoints: how many eigenvalues of J (and of each player's Hessian); default 6",
    )
    parser.add_argument(
        "--which",
        type=_which,
        default=None,
        help="checkpoints: which eigenvalues, by largest magnitude (LM or magnitude, default), "
        "largest |imaginary part| (LI or imaginary), smallest real part (SR or smallest_real: "
        "decides the flow's stability; slower) or largest real part (LR or largest_real)",
    )
    parser.add_argument(
        "--dense",
        action="store_true",
        help="checkpoints: also the dense spectrum and the classification (small networks)",
    )
    parser.add_argument(
        "--max-dense",
        type=positive_int,
        default=2000,
        metavar="N",
        help="checkpoints: refuse --dense above N parameters (the dense Jacobian is an "
        "n x n matrix); default 2000",
    )
    add_unroll_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the spectrum the parsed ``args`` ask for; return the exit code."""
    target = load_target(args)
    if target.source == "game":
        for option, value in (("--k", args.k), ("--which", args.which)):
            if value is not None:
                raise UsageError(
                    f"{option}: only for checkpoints (a named game's spectrum is dense: "
                    "every eigenvalue)"
                )
    field_norm = target.field_norm()
    result: dict[str, Any] = {
        "target": target.label,
        "source": target.source,
        target.source: target.details,
        "players": list(target.game.players),
        "sizes": list(target.game.sizes),
        "n": target.n,
        "point": [p.tolist() for p in target.point] if target.n <= 100 else None,
        "field_norm": field_norm,
    }
    if target.source == "game":
        result.update(_dense_spectrum(target))
    else:
        if args.dense and target.n > args.max_dense:
            raise UsageError(
                f"--dense: the checkpoint's game has n = {target.n} parameters > --max-dense "
                f"{args.max_dense}; the dense Jacobian is an n x n matrix "
                f"({8 * target.n**2 / 1e9:.3g} GB in float64): raise --max-dense to go "
                "ahead, or drop --dense for the matrix-free top-k"
            )
        which = args.which or "LM"
        result.update(_matrix_free_spectrum(target, args.k or 6, which))
        if args.dense:
            result["dense"] = _dense_spectrum(target)
    if args.json:
        print_json(result)
        return 0
    lines = describe_target(target, field_norm)
    if result["method"] == "dense":
        lines += _dense_lines(target, result)
    else:
        lines += _matrix_free_lines(result)
        if args.dense:
            lines += ["", "dense spectrum (float64):", *_dense_lines(target, result["dense"])]
    print("\n".join(lines))
    return 0


def _dense_spectrum(target: Target) -> dict[str, Any]:
    import torch

    from ..stability import classify, step_size_bounds

    J = games.jacobian(target.game, target.point)
    bad = int((~torch.isfinite(J.matrix)).sum())
    if bad:  # the game's field overflows (or is undefined) at this point
        raise UsageError(
            f"{target.where}: the Jacobian holds {bad} non-finite "
            f"entr{'y' if bad == 1 else 'ies'} (NaN or Inf): the game's field overflows or is "
            "undefined at this point; no eigenvalues"
        )
    try:
        verdict = classify(target.game, target.point)
    except ValueError as error:
        if "the Jacobian's eigenvalues overflow" not in str(error):
            raise  # a bug, not bad input: keep its traceback
        raise UsageError(target.where + one_line(error)[len("point") :]) from None
    values = ordered(verdict.eigenvalues)
    hessians = {}
    for i, player in enumerate(target.game.players):
        H = J.hessian(i)
        own = torch.linalg.eigvalsh(0.5 * H + 0.5 * H.T).flip(0)  # no overflow of H + H.T
        hessians[player] = [float(v) for v in own]
    return {
        "method": "dense",
        "eigenvalues": pairs(values),
        "gd_step_bounds": [float(b) for b in step_size_bounds(values)],
        "flow_stable": verdict.flow_stable,
        "classification": verdict.kind,
        "nash": verdict.nash,
        # 0 when the flow is not stable: a real part within classify's tol of 0 is no margin
        "max_gd_step": verdict.max_gd_step if verdict.flow_stable else 0.0,
        "hessian_eigenvalues": hessians,
        "jacobian": J.matrix.tolist(),
    }


def _matrix_free_spectrum(target: Target, k: int, which: str) -> dict[str, Any]:
    from scipy.sparse.linalg import ArpackNoConvergence

    from ..spectra import hessian_eigenvalues, top_eigenvalues
    from ..stability import TOL, max_stable_step, step_size_bounds

    if not 1 <= k < target.n - 1:
        raise UsageError(f"--k: expected an int with 1 <= k < n - 1 = {target.n - 1}, got {k}")
    try:
        top = top_eigenvalues(target.game, target.point, k, which=WHICH[which], partial=True)
        hessians = {}
        for i, (player, size) in enumerate(zip(target.game.players, target.game.sizes)):
            # Lanczos from both ends needs k >= 2 (ARPACK's 'BE'); k < size
            count = min(max(k, 2), size - 1)
            if count >= 1:
                spectrum = hessian_eigenvalues(
                    target.game,
                    target.point,
                    i,
                    count,
                    which="both_ends" if count >= 2 else "largest",
                )
                hessians[player] = [float(v.real) for v in spectrum.values]
    except ArpackNoConvergence as error:
        raise UsageError(
            f"--which {which}: ARPACK did not converge ({one_line(error)}); try --which LM "
            "or another --k"
        ) from None
    values = top.values
    flow = bool(np.all(values.real > TOL)) if which == "SR" else None
    return {
        "method": "arpack",
        "which": which,
        "k": k,
        "converged": len(values),
        "products": top.products,
        "eigenvalues": pairs(values),
        "gd_step_bounds": [float(b) for b in step_size_bounds(values)],
        "flow_stable": flow,
        "max_gd_step_upper_bound": max_stable_step(values),
        "hessian_eigenvalues": hessians,
    }


def _dense_lines(target: Target, result: dict[str, Any]) -> list[str]:
    lines = []
    values = np.array([complex(re, im) for re, im in result["eigenvalues"]])
    if target.n <= 6:
        for i, row in enumerate(result["jacobian"]):
            prefix = "Jacobian    [" if i == 0 else "            ["
            lines.append(prefix + "  ".join(fmt(v, 4) for v in row) + "]")
    lines.append("eigenvalues of J (dense, float64), by decreasing |λ|:")
    lines += eigenvalue_table(values)
    flow = (
        "locally stable (every Re λ > 0)"
        if result["flow_stable"]
        else "not asymptotically stable (some Re λ <= 0)"
    )
    lines.append(f"flow        {flow}")
    hessians = ", ".join(
        f"{player} {fmt(min(v), 4)}" for player, v in result["hessian_eigenvalues"].items()
    )
    lines.append(
        f"point       {result['classification']} (smallest own-Hessian eigenvalue: {hessians})"
    )
    step = result["max_gd_step"]
    lines.append(
        f"GD          stable for one step size eta < {step:.6g}"
        if step > 0
        else "GD          no step size is stable (some Re λ <= 0)"
    )
    return lines


def _matrix_free_lines(result: dict[str, Any]) -> list[str]:
    values = np.array([complex(re, im) for re, im in result["eigenvalues"]])
    lines = [
        f"top {result['k']} eigenvalues of J by {_WHICH_TEXT[result['which']]} (ARPACK, "
        f"matrix-free, {result['products']} products):"
    ]
    lines += eigenvalue_table(values)
    if result["converged"] < result["k"]:
        lines.append(
            f"warning     ARPACK converged {result['converged']} of the {result['k']} "
            "eigenvalues asked for (listed above); try another --k or --which LM"
        )
    lines.append("own-Hessian eigenvalues (Lanczos, both ends of each player's spectrum):")
    for player, hv in result["hessian_eigenvalues"].items():
        lines.append(f"  {player}: " + "  ".join(fmt(v) for v in hv))
    if result["flow_stable"] is None:
        lines.append("flow        not decided by these eigenvalues (--which SR decides it)")
    else:
        lines.append(
            "flow        locally stable (the smallest Re λ is > 0)"
            if result["flow_stable"]
            else "flow        not asymptotically stable (some Re λ <= 0)"
        )
    bound = result["max_gd_step_upper_bound"]
    lines.append(
        f"GD          no step size above {bound:.6g} is stable (bound from these eigenvalues)"
        if bound > 0
        else "GD          no step size is stable (some Re λ <= 0 among these)"
    )
    return lines
