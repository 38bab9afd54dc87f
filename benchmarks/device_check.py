"""One command for a machine with CUDA: the DCGAN on CPU and on CUDA, agreement and speed.

On a machine with CUDA it

1. checks that CPU and CUDA compute the same game: the digits DCGAN (``digits_dcgan``,
   the same seeded initial parameters and the same fixed batch on both) — the vector
   field in float32 and a Jacobian-vector product ``J v`` in float64 — and the first
   ``FIRST`` training steps (the trainer's batches are drawn on the CPU, so both devices
   see the same minibatches);
2. trains the digits DCGAN for ``--steps`` steps (300; 30 with ``--quick``) on the CPU
   and on CUDA and prints steps/s and seconds of each;
3. computes the top-10 eigenvalues (largest magnitude, ARPACK on ``J^T`` products) of a
   game of about 10^6 parameters on CUDA — the stacked-digits DCGAN with ``width = 128``
   (1,166,596 parameters; ``width = 16`` with ``--quick``) on a fixed batch — and checks
   one ``J v`` of that game against the CPU.

Convolutions and matrix products run in full float32 for the comparisons (TF32 off: the
float32 tolerance assumes float32 arithmetic on both devices).  Without CUDA it prints
that CUDA is absent, writes a result file that says so (no ratios) and exits 0;
``--cpu-only`` runs the CPU half (step 2 on the CPU
and the CPU side of the checks) as a dry run of the script.  Raw results go through
``benchmarks/_results.py`` (``benchmarks/results/device_check[.quick].json``).  Exit
status 1 when an agreement target is missed.  About one to two minutes on an H200
machine.

    python benchmarks/device_check.py            # needs CUDA; exits 0 without it
    python benchmarks/device_check.py --cpu-only --quick
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses import top_eigenvalues  # noqa: E402
from benchmarks import _results  # noqa: E402
from games import flatten_params, jvp, vector_field  # noqa: E402
from gan_models import TrainConfig, Trainer, build_game, load_config  # noqa: E402

NAME = "device_check"
FIRST = 5
"""Training steps compared between the devices."""
FIELD_RTOL = 1e-4
"""float32: relative difference of the field (norm of the difference / norm)."""
JVP_RTOL = 1e-9
"""float64: relative difference of J v."""
STEPS_RTOL = 1e-3
"""float32 after FIRST Adam steps: relative difference of the parameters' change."""


def _config(name: str, device: str, steps: int, **changes: Any) -> TrainConfig:
    return load_config(name).replace(
        device=device,
        steps=steps,
        eval_every=steps,
        eval_samples=256,
        log_every=steps,
        checkpoint_every=steps,
        **changes,
    )


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def _fixed_game(config: TrainConfig, device: str) -> Any:
    _, base, _ = build_game(config, device=device)
    return base.at_batch()


def _agreement(devices: list[str]) -> dict[str, Any]:
    """The field (float32) and J v (float64) of the digits DCGAN, and the first steps."""
    config = _config("digits_dcgan", "cpu", FIRST)
    out: dict[str, Any] = {}
    fields, products, moved = {}, {}, {}
    for device in devices:
        game = _fixed_game(config.replace(device=device), device)
        point32 = game.params(dtype=torch.float32, device=device)
        fields[device] = flatten_params(vector_field(game, point32))
        point64 = game.params(dtype=torch.float64, device=device)
        gen = torch.Generator().manual_seed(1)
        v = tuple(torch.randn(n, generator=gen, dtype=torch.float64).to(device) for n in game.sizes)
        products[device] = flatten_params(jvp(game, point64, v))
        trainer = Trainer.from_config(
            config.replace(device=device), progress=False, stream=io.StringIO()
        )
        start = flatten_params(trainer.params).detach().clone()
        result = trainer.train(resume=False)
        moved[device] = flatten_params(result.params) - start
    out["parameters"] = int(fields["cpu"].numel())
    if "cuda" in devices:
        out["field_relative_difference"] = _relative(fields["cuda"], fields["cpu"])
        out["jvp_relative_difference"] = _relative(products["cuda"], products["cpu"])
        out["steps_relative_difference"] = _relative(moved["cuda"], moved["cpu"])
    out["field_norm_cpu"] = float(fields["cpu"].norm())
    return out


def _throughput(device: str, steps: int) -> dict[str, Any]:
    config = _config("digits_dcgan", device, steps)
    trainer = Trainer.from_config(config, progress=False, stream=io.StringIO())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    trainer.train(resume=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return {
        "device": device,
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
    }


def _spectra(devices: list[str], quick: bool) -> dict[str, Any]:
    """Top-10 eigenvalues of a ~10^6-parameter game on CUDA, and one J v against the CPU."""
    width = 16 if quick else 128  # --quick: 31,140 parameters
    config = _config(
        "stacked_digits_dcgan", "cpu", 1, generator__width=width, discriminator__width=width
    )
    games = {d: _fixed_game(config, d) for d in devices}
    gen = torch.Generator().manual_seed(2)
    sizes = games[devices[0]].sizes
    v = tuple(torch.randn(n, generator=gen, dtype=torch.float64) for n in sizes)
    out: dict[str, Any] = {"parameters": int(sum(sizes))}
    products = {}
    for device, game in games.items():
        point = game.params(dtype=torch.float64, device=device)
        started = time.perf_counter()
        products[device] = flatten_params(jvp(game, point, tuple(t.to(device) for t in v)))
        out[f"jvp_seconds_{device}"] = time.perf_counter() - started
    if "cuda" in devices:
        out["jvp_relative_difference"] = _relative(products["cuda"], products["cpu"])
        game = games["cuda"]
        point = game.params(dtype=torch.float64, device="cuda")
        started = time.perf_counter()
        spectrum = top_eigenvalues(game, point, k=10, tol=1e-4 if quick else 1e-6, partial=True)
        torch.cuda.synchronize()
        out["top_eigenvalues_seconds"] = time.perf_counter() - started
        out["products"] = int(spectrum.products)
        out["top_eigenvalues"] = [[float(z.real), float(z.imag)] for z in spectrum.values]
        out["converged"] = len(spectrum.values)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _results.add_arguments(parser)
    parser.add_argument("--steps", type=int, default=None, help="training steps timed (300)")
    parser.add_argument(
        "--cpu-only", action="store_true", help="without CUDA: run the CPU half as a dry run"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_only:
        print("device_check: CUDA is absent; nothing to check (--cpu-only runs the CPU half)")
        # A result file all the same, so that run_all reports this run as skipped (and
        # why), not as failed.
        _results.write("device_check", args, [], {"skipped": "CUDA is absent"})
        return 0
    if cuda:  # full float32 arithmetic on both devices
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    devices = ["cpu", "cuda"] if cuda and not args.cpu_only else ["cpu"]
    steps = args.steps if args.steps is not None else (30 if args.quick else 300)
    if steps < FIRST:
        parser.error(f"--steps: expected an integer >= {FIRST}, got {steps}")
    started = time.perf_counter()
    raw: dict[str, Any] = {"devices": devices}
    raw["agreement"] = _agreement(devices)
    raw["training"] = {d: _throughput(d, steps) for d in devices}
    for d, row in raw["training"].items():
        print(
            f"{d}: {row['steps']} steps in {row['seconds']:.1f} s ({row['steps_per_second']:.1f} steps/s)"
        )
    raw["spectra"] = _spectra(devices, args.quick)
    raw["seconds"] = time.perf_counter() - started
    ratios = []
    if "cuda" in devices:
        agreement, spectra = raw["agreement"], raw["spectra"]
        ratios = [
            _results.Ratio("field CPU/CUDA relative difference (float32)",
                           agreement["field_relative_difference"], FIELD_RTOL),
            _results.Ratio("J v CPU/CUDA relative difference (float64)",
                           agreement["jvp_relative_difference"], JVP_RTOL),
            _results.Ratio(f"first {FIRST} steps CPU/CUDA relative difference",
                           agreement["steps_relative_difference"], STEPS_RTOL),
            _results.Ratio("J v CPU/CUDA relative difference, 10^6-parameter game",
                           spectra["jvp_relative_difference"], JVP_RTOL),
            _results.Ratio("training speed-up CUDA / CPU",
                           raw["training"]["cuda"]["steps_per_second"]
                           / raw["training"]["cpu"]["steps_per_second"],
                           detail=f"{steps} steps of digits_dcgan"),
        ]  # fmt: skip
        print(
            f"top-10 eigenvalues of a {spectra['parameters']:,}-parameter game on CUDA: "
            f"{spectra['top_eigenvalues_seconds']:.1f} s, {spectra['products']} products, "
            f"{spectra['converged']} converged"
        )
    _results.write(NAME, args, ratios, raw, parameters={"steps": steps, "first": FIRST})
    print(f"device_check: {raw['seconds']:.1f} s in all")
    return 1 if any(r.met is False for r in ratios) else 0


if __name__ == "__main__":
    sys.exit(main())
