"""Cost of one step of each update rule, relative to one simultaneous-GD step, side by side.

Game: the two-player MLP GAN game of ``benchmarks/_mlp_game.py`` with about 10,000 parameters
(float32).  For the rules that use Jacobian-vector products it also prints the cost of
each product in units of one vector-field evaluation ("gradient evaluations"):
``(step time - field evaluations in the step) / products``.

Run: ``python benchmarks/rules.py [--n 10000] [--repeats 20]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _mlp_game import MLPGame, hidden_for

import dynamics as dyn
from games import field_function, flatten_params

# (rule, field evaluations per step, Jacobian products per step)
RULES = [
    ("SimultaneousGD", lambda: dyn.SimultaneousGD(lr=1e-3), 1, 0),
    ("AlternatingGD (1 G : 1 D)", lambda: dyn.AlternatingGD(lr=1e-3), 2, 0),
    ("Momentum", lambda: dyn.Momentum(lr=1e-3, beta=0.5), 1, 0),
    ("Adam", lambda: dyn.Adam(lr=1e-3, betas=(0.5, 0.9)), 1, 0),
    ("RMSProp", lambda: dyn.RMSProp(lr=1e-3), 1, 0),
    ("Extragradient", lambda: dyn.Extragradient(lr=1e-3), 2, 0),
    ("OptimisticGD", lambda: dyn.OptimisticGD(lr=1e-3), 1, 0),
    ("Consensus (1 VJP)", lambda: dyn.Consensus(lr=1e-3, gamma=0.1), 1, 1),
    ("SGA (1 VJP + 1 JVP)", lambda: dyn.SGA(lr=1e-3, lam=0.1), 1, 2),
    ("LookAhead (3 JVPs)", lambda: dyn.LookAhead(lr=1e-3, alpha=0.1), 1, 3),
    ("CGD, cg, 5 iterations", lambda: dyn.CGD(lr=1e-3, solver="cg", iterations=5), 1, None),
]


def per_step(game: MLPGame, rule: dyn.UpdateRule, repeats: int) -> float:
    params = game.params(torch.float32)
    state = rule.init(game, params)
    for _ in range(2):
        params, state = rule.step(game, params, state)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        params, state = rule.step(game, params, state)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    game = MLPGame(hidden_for(args.n))
    n = sum(game.sizes)
    theta = flatten_params(game.params(torch.float32))
    field = field_function(game)
    for _ in range(3):
        field(theta)
    t_field = statistics.median(
        [
            (lambda s: (field(theta), time.perf_counter() - s)[1])(time.perf_counter())
            for _ in range(50)
        ]
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, n = {n}")
    print(
        f"one vector-field evaluation (torch.func form used by the rules): {t_field * 1e3:.2f} ms\n"
    )
    print(
        "| rule | ms / step | x SimultaneousGD | field evals | cost per Jacobian product (x field) |"
    )
    print("|---|---|---|---|---|")
    base = None
    for name, build, fields, products in RULES:
        t = per_step(game, build(), args.repeats)
        base = base or t
        if products is None:  # CGD: 2 solves x 2 (shift) x 5 iterations x 2 JVPs + 2 rhs JVPs
            products = 2 * 2 * 5 * 2 + 2
        per_product = f"{(t - fields * t_field) / (products * t_field):.2f}" if products else "-"
        print(f"| {name} | {t * 1e3:.2f} | {t / base:.2f} | {fields} | {per_product} |", flush=True)


if __name__ == "__main__":
    main()
