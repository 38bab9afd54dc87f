"""Dense game Jacobian: gamedyn's ``jacobian`` against the usual alternatives, side by side.

For the two-player MLP GAN game of ``benchmarks/_mlp_game.py`` at n ~ 500, 2,000 and 8,000
parameters (float64), times in one process:

* ``gamedyn.jacobian``: per-player ``torch.func.jacrev`` over chunks of rows;
* a Python loop of ``torch.autograd.grad`` rows over the vector field's graph;
* ``torch.autograd.functional.jacobian`` (``vectorize=True``, reverse mode; up to
  ``--functional-max-n``, as it batches all n rows at once and runs out of memory at 8,000).

It prints each time, the ratios to gamedyn's, each time divided by (n x one vector-field
evaluation, "xi") measured in the same process (the bare field: one shared forward pass and
one ``autograd.grad`` per player, without gamedyn's input checks; the median of at least 20
evaluations after warm-up), and the largest difference between methods; and writes them
with every raw timing to ``benchmarks/results/jacobian[.quick].json``.

Ratios and targets (issues 2 and 18): at n ~ 2,000, dense J / (n xi) <= 0.4 and the row
loop at least 2x slower than gamedyn; at n ~ 8,000, dense J / (n xi) <= 1.0.

Run: ``python benchmarks/jacobian.py [--quick] [--json PATH] [--sizes 500 2000 8000]``
(``--quick``: n ~ 2,000 only, without ``autograd.functional.jacobian``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import _results  # noqa: E402
from _mlp_game import MLPGame, bare_field, hidden_for  # noqa: E402

from games import flatten_params, jacobian, unflatten_params, vector_field  # noqa: E402
from games.autodiff import vector_field_graph  # noqa: E402

TARGETS = {2000: 0.4, 8000: 1.0}
"""dense J / (n xi) targets by (approximate) n: a size within 10 % of one is judged."""
ROW_LOOP_TARGET = {2000: 2.0}
"""row loop / dense J, at least."""


def timed(fn: Callable[[], object], repeats: int) -> tuple[dict[str, Any], object]:
    """Median of ``repeats`` timed calls (calls of seconds: the warm-up is the caller's)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "repeats": repeats, "times_s": times}, result


def row_loop(game: MLPGame, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
    theta = flatten_params(params).detach().requires_grad_(True)
    xi = torch.cat(vector_field_graph(game, unflatten_params(game, theta)))
    n = theta.numel()
    rows = []
    for k in range(n):
        e = torch.zeros(n, dtype=theta.dtype)
        e[k] = 1.0
        rows.append(torch.autograd.grad(xi, theta, e, retain_graph=True)[0])
    return torch.stack(rows)


def functional(game: MLPGame, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
    def xi(theta: torch.Tensor) -> torch.Tensor:
        return torch.cat(vector_field_graph(game, unflatten_params(game, theta)))

    return torch.autograd.functional.jacobian(xi, flatten_params(params).detach(), vectorize=True)


def _target(n: int, targets: dict[int, float]) -> float | None:
    for size, value in targets.items():
        if abs(n - size) <= 0.1 * size:
            return value
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _results.add_arguments(parser)
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=None, help="timed jacobian calls")
    parser.add_argument(
        "--functional-max-n",
        type=int,
        default=None,
        help="skip autograd.functional.jacobian above this n (default 2,500; 0 with --quick): "
        "vectorize=True builds all n rows at once (it was killed for lack of memory at "
        "n = 8,000 with 24 GiB)",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ([2000] if args.quick else [500, 2000, 8000])
    repeats = args.repeats or (2 if args.quick else 3)
    functional_max_n = args.functional_max_n
    if functional_max_n is None:
        functional_max_n = 0 if args.quick else 2500
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64\n")
    print(
        "| n | one xi, bare (checked) (ms) | method | time (s) | x gamedyn | / (n * xi) "
        "| max diff |"
    )
    print("|---|---|---|---|---|---|---|")
    ratios: list[_results.Ratio] = []
    raw: dict[str, Any] = {}
    for size in sizes:
        raw[str(size)] = measure(size, repeats, functional_max_n, ratios)
    _results.write(
        "jacobian",
        args,
        ratios,
        raw,
        parameters={
            "sizes": sizes,
            "repeats": repeats,
            "dtype": "float64",
            "functional_max_n": functional_max_n,
            "game": "benchmarks/_mlp_game.py MLPGame (batch 256)",
        },
    )


def measure(
    target: int, repeats: int, functional_max_n: int, ratios: list[_results.Ratio]
) -> dict[str, Any]:
    """Time every method at about ``target`` parameters, print one table row each, append
    the ratios and return the raw timings."""
    game = MLPGame(hidden_for(target))
    params = game.params(torch.float64)
    n = sum(game.sizes)
    # The bare field (one shared forward, one autograd.grad per player, no input checks):
    # the stricter unit; gamedyn.vector_field adds validation on top of it.
    xi = _results.median_time(lambda: bare_field(game, params), repeats=30, warmup=5)
    checked = _results.median_time(lambda: vector_field(game, params), repeats=30, warmup=5)
    t_xi, t_checked = xi["median_s"], checked["median_s"]
    jacobian(game, params)  # warm-up (vmap tracing)
    t_ours, ours = timed(lambda: jacobian(game, params).matrix, repeats)
    rows = [("gamedyn.jacobian", t_ours, ours)]
    rows.append(("autograd.grad row loop", *timed(lambda: row_loop(game, params), 1)))
    if n <= functional_max_n:
        rows.append(("autograd.functional.jacobian", *timed(lambda: functional(game, params), 1)))
    raw: dict[str, Any] = {"n": n, "xi_bare": xi, "xi_checked": checked}
    base = t_ours["median_s"]
    for name, t, result in rows:
        diff = float((result - ours).abs().max())  # type: ignore[operator]
        seconds = t["median_s"]
        raw[name] = {**t, "max_diff": diff}
        print(
            f"| {n} | {t_xi * 1e3:.2f} ({t_checked * 1e3:.2f}) | {name} | {seconds:.2f} | "
            f"{seconds / base:.2f} | {seconds / (n * t_xi):.2f} | {diff:.1e} |",
            flush=True,
        )
    ratios.append(
        _results.Ratio(
            f"dense J / (n xi), n={n}",
            base / (n * t_xi),
            _target(n, TARGETS),
            detail=f"xi {t_xi * 1e3:.2f} ms, J {base:.2f} s",
        )
    )
    ratios.append(
        _results.Ratio(
            f"row loop / dense J, n={n}",
            raw["autograd.grad row loop"]["median_s"] / base,
            _target(n, ROW_LOOP_TARGET),
            at_least=True,
        )
    )
    if "autograd.functional.jacobian" in raw:
        ratios.append(
            _results.Ratio(
                f"autograd.functional.jacobian / dense J, n={n}",
                raw["autograd.functional.jacobian"]["median_s"] / base,
            )
        )
    return raw


if __name__ == "__main__":
    main()
