"""Dense game Jacobian: gamedyn's ``jacobian`` against the usual alternatives, side by side.

For the two-player MLP GAN game of ``benchmarks/_mlp_game.py`` at n ~ 500, 2,000 and 8,000
parameters (float64), times in one process:

* ``gamedyn.jacobian``: per-player ``torch.func.jacrev`` over chunks of rows;
* a Python loop of ``torch.autograd.grad`` rows over the vector field's graph;
* ``torch.autograd.functional.jacobian`` (``vectorize=True``, reverse mode; up to
  ``--functional-max-n``, as it batches all n rows at once and runs out of memory at 8,000).

It prints each time, the ratios to gamedyn's, each time divided by (n x one vector-field
evaluation) measured in the same process (the bare field: one shared
forward pass and one ``autograd.grad`` per player, without gamedyn's input checks), and the largest difference between methods.

Run: ``python benchmarks/jacobian.py [--sizes 500 2000 8000] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _mlp_game import MLPGame, hidden_for

from games import flatten_params, jacobian, unflatten_params, vector_field
from games.autodiff import vector_field_graph


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def raw_field(game: MLPGame, params: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    leaves = [p.detach().requires_grad_(True) for p in params]
    losses = game.losses(tuple(leaves))
    return [
        torch.autograd.grad(loss, leaf, retain_graph=True)[0]
        for loss, leaf in zip(losses, leaves, strict=True)
    ]


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--functional-max-n",
        type=int,
        default=2500,
        help="skip autograd.functional.jacobian above this n: vectorize=True builds all n rows "
        "at once (it was killed for lack of memory at n = 8,000 with 24 GiB)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64\n")
    header = "| n | one xi, bare (checked) (ms) | method | time (s) | x gamedyn | / (n * xi) | max diff |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    for target in args.sizes:
        measure(target, args)


def measure(target: int, args: argparse.Namespace) -> None:
    """Time every method at about ``target`` parameters and print one table row each."""
    game = MLPGame(hidden_for(target))
    params = game.params(torch.float64)
    n = sum(game.sizes)
    vector_field(game, params)
    # The bare field (one shared forward, one autograd.grad per player, no input checks):
    # the stricter unit; gamedyn.vector_field adds validation on top of it.
    t_xi, _ = timed(lambda: raw_field(game, params), 50)
    t_checked, _ = timed(lambda: vector_field(game, params), 50)
    jacobian(game, params)  # warm-up (vmap tracing)
    t_ours, ours = timed(lambda: jacobian(game, params).matrix, args.repeats)
    rows = [("gamedyn.jacobian", t_ours, ours)]
    rows.append(("autograd.grad row loop", *timed(lambda: row_loop(game, params), 1)))
    if n <= args.functional_max_n:
        rows.append(("autograd.functional.jacobian", *timed(lambda: functional(game, params), 1)))
    for name, t, result in rows:
        diff = float((result - ours).abs().max())  # type: ignore[operator]
        print(
            f"| {n} | {t_xi * 1e3:.2f} ({t_checked * 1e3:.2f}) | {name} | {t:.2f} | {t / t_ours:.2f} | "
            f"{t / (n * t_xi):.2f} | {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
