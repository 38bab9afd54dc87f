"""Training speed, side by side in one run.

(a) Trainer steps per second against a hand-written PyTorch loop doing the same work:
    alternating Adam (one discriminator step, then one generator step), non-saturating
    loss, the 8-Gaussian ring, batch 256, MLPs 2 x 128 (latent 64).  Target: the
    trainer's overhead <= 10 %.
(b) The unrolled generator update for K in {1, 5, 10} (the generator's gradient through K
    differentiable SGD steps of the discriminator, second order; the three agree to
    float32 rounding, checked before timing.  With inner Adam they do not agree: higher
    and torchopt put eps outside the bias correction, like torch.optim, and the
    derivative through Adam's normalisation is dominated by eps where gradients are
    tiny; torchopt's gives NaN where a gradient is exactly zero, e.g. dead ReLUs): gamedyn's ``games.unrolled`` against
    the same update written with ``higher`` and with ``torchopt`` (optional: pip install
    higher torchopt).  Target: no slower than either at any K.

Ratios and targets: (a) trainer time per step / hand-written loop's <= 1.10 (the medians of
20 interleaved blocks of steps); (b) per K, games.unrolled / the faster of higher and
torchopt <= 1.0 (medians of at least 20 updates after warm-up, the three timed
round-robin in blocks of 3 updates; not measured when neither is installed).  Raw timings and the environment go to
``benchmarks/results/training[.quick].json``.

    python benchmarks/training.py [--quick] [--json PATH] [--threads N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

import _results  # noqa: E402

from games import unrolled  # noqa: E402
from gan_models import TrainConfig, Trainer, build_game  # noqa: E402

CONFIG = {
    "steps": 10**9,
    "batch_size": 256,
    "latent_dim": 64,
    "generator": {"width": 128},
    "discriminator": {"width": 128},
    "optimizer": {"rule": "adam", "lr": 1e-4, "betas": [0.5, 0.999]},
    "eval_every": 10**8,
    "log_every": 10**8,
    "checkpoint_every": 10**8,
}


def trainer_step() -> Callable[[], None]:
    """One alternating Adam step of ``gan_models.Trainer`` (D, then G)."""
    cfg = TrainConfig.from_dict(CONFIG)
    trainer = Trainer.from_config(cfg, progress=False, stream=io.StringIO())
    return trainer._one_step


def hand_step() -> Callable[[], None]:
    """The same work written as most people write it: modules, torch.optim.Adam."""
    cfg = TrainConfig.from_dict(CONFIG)
    _, base, _ = build_game(cfg)
    G, D = base.G.module, base.D.module
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.999))
    softplus = torch.nn.functional.softplus

    def step() -> None:
        real, z, _ = base.draw_batch()
        opt_d.zero_grad()
        fake = G(z).detach()
        (softplus(-D(real)).mean() + softplus(D(fake)).mean()).backward()
        opt_d.step()
        _, z, _ = base.draw_batch()
        opt_g.zero_grad()
        softplus(-D(G(z))).mean().backward()
        opt_g.step()

    return step


def interleaved(
    steps: dict[str, Callable[[], None]], blocks: int, per_block: int
) -> dict[str, dict[str, Any]]:
    """Seconds per step of each loop: the median over ``blocks`` blocks of ``per_block``
    steps, the loops' blocks interleaved so that drifts in machine speed hit all of them."""
    for step in steps.values():
        for _ in range(5):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(blocks):
        for name, step in steps.items():
            started = time.perf_counter()
            for _ in range(per_block):
                step()
            times[name].append((time.perf_counter() - started) / per_block)
    return {
        name: {
            "median_s_per_step": statistics.median(t),
            "blocks": blocks,
            "steps_per_block": per_block,
            "times_s_per_step": t,
        }
        for name, t in times.items()
    }


# -- (b) unrolled generator updates --------------------------------------------------------------


def unrolled_setup(k: int):  # type: ignore[no-untyped-def]
    """A fixed-batch GAN on plain ``nn.Sequential`` MLPs (higher patches only standard
    modules), G: 64 -> 128 -> 128 -> 2, D: 2 -> 128 -> 128 -> 1, ReLU, batch 128."""
    from games import ParameterizedGAN
    from gan_models import ring

    torch.manual_seed(0)
    nn = torch.nn
    G = nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2)
    )
    D = nn.Sequential(
        nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1)
    )
    return ParameterizedGAN(G, D, ring(), latent_dim=64, batch_size=128)


def ours(fixed, k: int, lr: float):  # type: ignore[no-untyped-def]
    """The generator's gradient of the unrolled game's generator loss (what the trainer's
    alternating generator step computes)."""
    game = unrolled(fixed, k, lr=lr, inner="sgd")
    theta, psi = fixed.params(dtype=torch.float32)

    def update() -> torch.Tensor:
        leaf = theta.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(game.player_loss((leaf, psi), 0), leaf)
        return grad

    return update


def _losses(fixed, G, D):  # type: ignore[no-untyped-def]
    real, z, _ = fixed._fixed
    softplus = torch.nn.functional.softplus

    def loss_d(D_call) -> torch.Tensor:  # type: ignore[no-untyped-def]
        fake = G(z)
        return softplus(-D_call(real)).mean() + softplus(D_call(fake)).mean()

    def loss_g(D_call) -> torch.Tensor:  # type: ignore[no-untyped-def]
        return softplus(-D_call(G(z))).mean()

    return loss_d, loss_g


def with_higher(fixed, k: int, lr: float):  # type: ignore[no-untyped-def]
    try:
        import higher
    except ImportError:
        return None
    G, D = fixed.G.module, fixed.D.module
    loss_d, loss_g = _losses(fixed, G, D)
    opt = torch.optim.SGD(D.parameters(), lr=lr)

    def update() -> torch.Tensor:
        G.zero_grad()
        with higher.innerloop_ctx(D, opt, copy_initial_weights=True) as (fD, diffopt):
            for _ in range(k):
                diffopt.step(loss_d(fD))
            loss_g(fD).backward()
        return next(G.parameters()).grad

    return update


def with_torchopt(fixed, k: int, lr: float):  # type: ignore[no-untyped-def]
    try:
        import torchopt
    except ImportError:
        return None
    G, D = fixed.G.module, fixed.D.module
    loss_d, loss_g = _losses(fixed, G, D)
    optimizer = torchopt.sgd(lr=lr)
    names = [n for n, _ in D.named_parameters()]

    def update() -> torch.Tensor:
        G.zero_grad()
        params = tuple(p for p in D.parameters())
        state = optimizer.init(params)

        def call(ps):  # type: ignore[no-untyped-def]
            return lambda x: torch.func.functional_call(D, dict(zip(names, ps)), (x,))

        for _ in range(k):
            grads = torch.autograd.grad(loss_d(call(params)), params, create_graph=True)
            updates, state = optimizer.update(grads, state, params=params, inplace=False)
            params = torchopt.apply_updates(params, updates, inplace=False)
        loss_g(call(params)).backward()
        return next(G.parameters()).grad

    return update


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _results.add_arguments(parser)
    parser.set_defaults(threads=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    per_block = 10 if args.quick else 50
    repeats = 20 if args.quick else 30
    ratios: list[_results.Ratio] = []
    raw: dict[str, Any] = {}

    print(
        f"(a) training steps per second (torch threads {args.threads}, medians of 20 "
        f"interleaved blocks of {per_block} steps)"
    )
    rates = interleaved({"trainer": trainer_step(), "hand": hand_step()}, 20, per_block)
    raw["a"] = rates
    ours_s, hand_s = rates["trainer"]["median_s_per_step"], rates["hand"]["median_s_per_step"]
    print("| loop | steps/s | time per step |")
    print("|---|---|---|")
    print(f"| hand-written PyTorch (torch.optim.Adam) | {1 / hand_s:.1f} | {1e3 * hand_s:.2f} ms |")
    print(f"| gan_models.Trainer (Alternating Adam) | {1 / ours_s:.1f} | {1e3 * ours_s:.2f} ms |")
    ratios.append(
        _results.Ratio(
            "Trainer step / hand-written step",
            ours_s / hand_s,
            1.10,
            detail=f"{1 / ours_s:.1f} vs {1 / hand_s:.1f} steps/s",
        )
    )

    print("\n(b) one unrolled generator update (gradient through K SGD steps of D), batch 128")
    print("| K | games.unrolled | higher | torchopt | ours / best other |")
    print("|---|---|---|---|---|")
    raw["b"] = {}
    for k in (1, 5, 10):
        fixed = unrolled_setup(k)
        fns = {
            "ours": ours(fixed, k, 1e-2),
            "higher": with_higher(fixed, k, 1e-2),
            "torchopt": with_torchopt(fixed, k, 1e-2),
        }
        # the three compute the same gradient: check before timing
        reference = fns["ours"]().detach().clone().reshape(-1)
        gaps = {}
        for name in ("higher", "torchopt"):
            fn = fns[name]
            if fn is not None:
                other = fn().detach().clone().reshape(-1)[: reference.numel()]
                gap = float((other - reference[: other.numel()]).abs().max())
                gaps[name] = gap
                scale = float(reference.abs().max())
                if gap > 1e-4 * scale + 1e-7:
                    print(f"  warning: {name} gradient differs from ours by {gap:.2e}")
        # round-robin: the three are compared in the same stretch of the run
        present = {n: f for n, f in fns.items() if f is not None}
        measured = _results.interleaved_median_times(present, repeats=repeats, warmup=2, block=3)
        timings = {n: measured.get(n) for n in fns}
        raw["b"][str(k)] = {"timings": timings, "max_gradient_difference": gaps}
        medians = {n: (t["median_s"] if t is not None else None) for n, t in timings.items()}
        others = [medians[n] for n in ("higher", "torchopt") if medians[n] is not None]
        cells = [f"{1e3 * t:.1f} ms" if t is not None else "n/a" for t in medians.values()]
        ours_t = medians["ours"]
        assert ours_t is not None
        ratio = f"{ours_t / min(others):.2f}" if others else "n/a (higher, torchopt not installed)"
        print(f"| {k} | " + " | ".join(cells) + f" | {ratio} |")
        if others:
            ratios.append(
                _results.Ratio(
                    f"unrolled K={k}: games.unrolled / best of higher, torchopt",
                    ours_t / min(others),
                    1.0,
                    detail=f"{1e3 * ours_t:.1f} ms",
                )
            )
    _results.write(
        "training",
        args,
        ratios,
        raw,
        parameters={
            "steps_per_block": per_block,
            "blocks": 20,
            "unrolled_repeats": repeats,
            "config": CONFIG,
            "unrolled": {"K": [1, 5, 10], "lr": 1e-2, "batch": 128, "inner": "sgd"},
        },
    )


if __name__ == "__main__":
    main()
