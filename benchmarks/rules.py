"""Cost of one step of each update rule, relative to one simultaneous-GD step, side by side;
CGD's conjugate-gradient iteration against the CGDs package's (BCGD).

The rules' steps are timed round-robin (5 consecutive steps of each rule per round, the
median over >= 20 rounds of the time per step), so each ratio to SimultaneousGD compares
steps timed in the same stretch of the run.

Game: the two-player MLP GAN game of ``benchmarks/_mlp_game.py`` with about 10,000
parameters (float32).  For the rules that take Jacobian products it also gives the cost of
one product in units of one vector-field evaluation:
``(step time - field evaluations in the step x field time) / products``, with the products
a step takes counted by :class:`games.FieldProducts` (for LookAhead and LOLA, whose
Jacobian-vector products need the graph of ``u -> J^T u``, building that graph counts as one
product).

CGD against CGDs (Schäfer & Anandkumar's package, ``pip install gamedyn[bench]``): on the
zero-sum version of the same game (the generator minimises minus the discriminator's loss),
the time of one CG iteration of each, as the difference of a solve of ``m1`` and of ``m2``
iterations divided by ``m1 - m2`` (each the median of >= 20 timings): gamedyn's whole
``CGD(solver='cg')`` step against CGDs's ``conjugate_gradient`` on its gradient graph, so
setup costs cancel.  Then both take one step from the same point in float64 (CG to a relative
residual of 1e-10) and the relative difference of the new parameters is reported.

Run: ``python benchmarks/rules.py [--quick] [--n 10000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _mlp_game import MLPGame, hidden_for
from _results import Ratio, add_arguments, interleaved_median_times, median_time, write

import dynamics as dyn
from games import FieldProducts, field_function, flatten_params

NAME = "rules"

# (rule, field evaluations per step besides the products; in --quick too?)
RULES: list[tuple[str, Any, int, bool]] = [
    ("SimultaneousGD", lambda: dyn.SimultaneousGD(lr=1e-3), 1, True),
    ("AlternatingGD (1 G : 1 D)", lambda: dyn.AlternatingGD(lr=1e-3), 2, False),
    ("Momentum", lambda: dyn.Momentum(lr=1e-3, beta=0.5), 1, False),
    ("Adam", lambda: dyn.Adam(lr=1e-3, betas=(0.5, 0.9)), 1, False),
    ("Extragradient", lambda: dyn.Extragradient(lr=1e-3), 2, False),
    ("OptimisticGD", lambda: dyn.OptimisticGD(lr=1e-3), 1, False),
    ("Consensus", lambda: dyn.Consensus(lr=1e-3, gamma=0.1), 1, True),
    ("SGA", lambda: dyn.SGA(lr=1e-3, lam=0.1), 1, True),
    ("LookAhead", lambda: dyn.LookAhead(lr=1e-3, alpha=0.1), 1, True),
    ("LOLA", lambda: dyn.LOLA(lr=1e-3, alpha=0.1), 2, True),
    ("CGD, cg, 5 iterations", lambda: dyn.CGD(lr=1e-3, solver="cg", iterations=5), 1, True),
]
TARGETS = {"Consensus": 2.5, "SGA": 3.5, "LookAhead": 5.5}


class ZeroSumMLPGame(MLPGame):
    """The MLP GAN game with f = -(discriminator's loss): G minimises f, D maximises it."""

    def objective(self, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return -super().losses(params)[1]  # type: ignore[arg-type]

    def losses(self, params: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.objective(params)
        return f, -f


def products_per_step(game: MLPGame, rule: dyn.UpdateRule, params: Any) -> int:
    """Jacobian products (backward passes beyond the field's) one step takes, as counted by
    every :class:`games.FieldProducts` the step makes."""
    made: list[FieldProducts] = []
    original = FieldProducts.__init__

    def tracking(self: FieldProducts, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    FieldProducts.__init__ = tracking  # type: ignore[method-assign]
    try:
        rule.step(game, params, rule.init(game, params))
    finally:
        FieldProducts.__init__ = original  # type: ignore[method-assign]
    return sum(p.products for p in made)


def step_timer(game: MLPGame, rule: dyn.UpdateRule, dtype: torch.dtype) -> Any:
    params = game.params(dtype)
    box = [params, rule.init(game, params)]

    def once() -> None:
        box[0], box[1] = rule.step(game, box[0], box[1])

    return once


def cgds_iteration(game: ZeroSumMLPGame, lr: float, m1: int, m2: int, repeats: int) -> dict:
    """Seconds per CG iteration of CGDs (its conjugate_gradient on its gradient graph)."""
    from CGDs.cgd_utils import Hvp_vec, conjugate_gradient

    g, d = (p.detach().clone().requires_grad_(True) for p in game.params(torch.float32))
    f = game.objective((g, d))
    grad_d = torch.autograd.grad(f, [d], create_graph=True, retain_graph=True)[0]
    grad_g = torch.autograd.grad(f, [g], create_graph=True, retain_graph=True)[0]
    hvp = Hvp_vec(grad_g, [d], grad_g.detach(), retain_graph=True)
    b = (grad_d.detach() - lr * hvp).detach()

    def solve(m: int) -> Any:
        return lambda: conjugate_gradient(
            grad_x=grad_d, grad_y=grad_g, x_params=[d], y_params=[g], b=b,
            nsteps=m, tol=0.0, atol=0.0, lr_x=lr, lr_y=lr,
        )  # fmt: skip

    t1 = median_time(solve(m1), repeats=repeats)
    t2 = median_time(solve(m2), repeats=repeats)
    return {"per_iteration_s": (t1["median_s"] - t2["median_s"]) / (m1 - m2), m1: t1, m2: t2}


def gamedyn_iteration(game: ZeroSumMLPGame, lr: float, m1: int, m2: int, repeats: int) -> dict:
    """Seconds per CG iteration of gamedyn's CGD(solver='cg'): whole steps of m1, m2 iterations."""
    out: dict[Any, Any] = {}
    for m in (m1, m2):
        rule = dyn.CGD(lr=lr, solver="cg", iterations=m, tol=0.0, warm_start=False)
        out[m] = median_time(step_timer(game, rule, torch.float32), repeats=repeats)
    out["per_iteration_s"] = (out[m1]["median_s"] - out[m2]["median_s"]) / (m1 - m2)
    return out


def first_step_agreement(game: ZeroSumMLPGame, lr: float) -> dict:
    """One CGD step of gamedyn and of CGDs' BCGD from the same float64 point."""
    from CGDs import BCGD

    params = game.params(torch.float64)
    rule = dyn.CGD(lr=lr, solver="cg", iterations=500, tol=1e-10)
    ours = flatten_params(rule.step(game, params, rule.init(game, params))[0])
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # CGDs allocates its CG iterate in the default dtype
    try:
        g, d = (p.detach().clone().requires_grad_(True) for p in params)
        optimizer = BCGD(
            max_params=[d], min_params=[g], lr_max=lr, lr_min=lr, tol=1e-20, atol=0.0,
            collect_info=True,
        )  # fmt: skip
        optimizer.step(game.objective((g, d)))
        theirs = torch.cat([g.detach(), d.detach()])
        iterations = optimizer.get_info()["iter_num"]
    finally:
        torch.set_default_dtype(previous)
    moved = torch.linalg.vector_norm(ours - flatten_params(params))
    return {
        "relative_difference": float(torch.linalg.vector_norm(ours - theirs) / moved),
        "gamedyn_iterations": rule.diagnostics["iterations"],
        "gamedyn_residual": rule.diagnostics["residual"],
        "cgds_iterations": iterations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--n", type=int, default=10_000, help="parameters (about)")
    parser.add_argument("--repeats", type=int, default=20, help="timings per median (>= 20)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    game = MLPGame(hidden_for(args.n))
    n = sum(game.sizes)
    theta = flatten_params(game.params(torch.float32))
    field = field_function(game)
    t_field = median_time(lambda: field(theta), repeats=max(args.repeats, 50))["median_s"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, n = {n}")
    print(f"one vector-field evaluation: {t_field * 1e3:.2f} ms\n")
    print("| rule | ms / step | x SimultaneousGD | products | cost per product (x field) |")
    print("|---|---|---|---|---|")
    raw: dict[str, Any] = {"field_s": t_field, "n": n, "rules": {}}
    ratios: list[Ratio] = []
    base = None
    per_product: dict[str, float] = {}
    chosen = [row for row in RULES if row[3] or not args.quick]  # row[3]: in --quick
    # round-robin over the rules (a block of steps of each per round): each ratio to
    # SimultaneousGD compares steps timed in the same stretch of the run
    timings = interleaved_median_times(
        {name: step_timer(game, build(), torch.float32) for name, build, _, _ in chosen},
        repeats=args.repeats,
        block=5,
    )
    for name, build, fields, _ in chosen:
        timing = timings[name]
        t = timing["median_s"]
        base = base or t
        products = products_per_step(game, build(), game.params(torch.float32))
        cost = (t - fields * t_field) / (products * t_field) if products else float("nan")
        if products:
            per_product[name] = cost
        raw["rules"][name] = {"timing": timing, "products": products, "fields": fields}
        shown = f"{cost:.2f}" if products else "-"
        print(f"| {name} | {t * 1e3:.2f} | {t / base:.2f} | {products} | {shown} |", flush=True)
        if name in TARGETS:
            ratios.append(Ratio(f"{name} step / SimultaneousGD step", t / base, TARGETS[name]))
        elif name.startswith("CGD"):
            ratios.append(Ratio(f"{name} step / SimultaneousGD step", t / base))
    worst = max(per_product, key=per_product.__getitem__)
    ratios.append(
        Ratio(
            "Jacobian product inside a rule / field evaluation (worst rule)",
            per_product[worst],
            1.6,
            detail=worst,
        )
    )
    zero_sum = ZeroSumMLPGame(hidden_for(args.n))
    # a step size at which CG does not converge to an exact zero residual within m1
    # iterations (CGDs divides 0 by 0 there and stops with "vector nan")
    lr, (m1, m2) = 0.1, ((8, 2) if args.quick else (12, 3))
    try:
        import CGDs  # noqa: F401
    except ImportError:
        ratios.append(
            Ratio(
                "CGD time per CG iteration / CGDs BCGD's",
                float("nan"),
                1.0,
                detail="CGDs not installed: pip install gamedyn[bench]",
            )
        )
    else:
        ours = gamedyn_iteration(zero_sum, lr, m1, m2, args.repeats)
        theirs = cgds_iteration(zero_sum, lr, m1, m2, args.repeats)
        raw["cg_iteration"] = {"gamedyn": ours, "cgds": theirs}
        ratios.append(
            Ratio(
                "CGD time per CG iteration / CGDs BCGD's",
                ours["per_iteration_s"] / theirs["per_iteration_s"],
                1.0,
                detail=f"{ours['per_iteration_s'] * 1e3:.2f} ms vs "
                f"{theirs['per_iteration_s'] * 1e3:.2f} ms",
            )
        )
        agreement = first_step_agreement(zero_sum, 1e-2)
        raw["first_step"] = agreement
        ratios.append(
            Ratio(
                "first CGD step, |gamedyn - CGDs| / |step| (float64)",
                agreement["relative_difference"],
                1e-6,
                detail=f"CG iterations {agreement['gamedyn_iterations']} vs "
                f"{agreement['cgds_iterations']}",
            )
        )
    write(
        NAME,
        args,
        ratios,
        raw,
        parameters={"n": n, "dtype": "float32", "repeats": args.repeats, "cg_iterations": [m1, m2]},
    )


if __name__ == "__main__":
    main()
