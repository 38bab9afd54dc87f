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

    python benchmarks/training.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def trainer_rate(steps: int) -> float:
    cfg = TrainConfig.from_dict(CONFIG)
    trainer = Trainer.from_config(cfg, progress=False, stream=io.StringIO())
    for _ in range(5):
        trainer._one_step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer._one_step()
    return steps / (time.perf_counter() - start)


def hand_rate(steps: int) -> float:
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

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


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


def median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = 100 if args.quick else 600
    repeats = 3 if args.quick else 7

    print(f"(a) training steps per second (torch threads {args.threads}, medians of {repeats})")
    ours_rates, hand_rates = [], []
    for _ in range(repeats):  # interleaved, so drifts in machine speed hit both
        ours_rates.append(trainer_rate(steps))
        hand_rates.append(hand_rate(steps))
    a, b = statistics.median(ours_rates), statistics.median(hand_rates)
    print("| loop | steps/s | time per step |")
    print("|---|---|---|")
    print(f"| hand-written PyTorch (torch.optim.Adam) | {b:.1f} | {1e3 / b:.2f} ms |")
    print(f"| gan_models.Trainer (Alternating Adam) | {a:.1f} | {1e3 / a:.2f} ms |")
    print(f"overhead of the trainer: {100 * (b / a - 1):+.1f} % (target <= 10 %)\n")

    print("(b) one unrolled generator update (gradient through K SGD steps of D), batch 128")
    print("| K | games.unrolled | higher | torchopt | ours / best other |")
    print("|---|---|---|---|---|")
    for k in (1, 5, 10):
        fixed = unrolled_setup(k)
        fns = {
            "ours": ours(fixed, k, 1e-2),
            "higher": with_higher(fixed, k, 1e-2),
            "torchopt": with_torchopt(fixed, k, 1e-2),
        }
        # the three compute the same gradient: check before timing
        reference = fns["ours"]().detach().clone().reshape(-1)
        for name in ("higher", "torchopt"):
            fn = fns[name]
            if fn is not None:
                other = fn().detach().clone().reshape(-1)[: reference.numel()]
                gap = float((other - reference[: other.numel()]).abs().max())
                scale = float(reference.abs().max())
                if gap > 1e-4 * scale + 1e-7:
                    print(f"  warning: {name} gradient differs from ours by {gap:.2e}")
        timings = {n: (median_time(f, repeats) if f is not None else None) for n, f in fns.items()}
        others = [timings[n] for n in ("higher", "torchopt") if timings[n] is not None]
        cells = [f"{1e3 * t:.1f} ms" if t is not None else "n/a" for t in timings.values()]
        ratio = f"{timings['ours'] / min(others):.2f}" if others else "n/a"
        print(f"| {k} | " + " | ".join(cells) + f" | {ratio} |")


if __name__ == "__main__":
    main()
