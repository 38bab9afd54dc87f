"""Theory next to practice: the spectra of the ring GAN's game along training, plain and unrolled.

Trains the shipped ``plain_ring`` and ``unrolled_ring`` configurations (the unrolled-GAN
paper's 2-D experiment, seed 0) and, every ``--every`` steps, computes at the current
parameters (a checkpoint, :func:`analyses.checkpoint_game`, fixed batch) the top
eigenvalues by magnitude of

- J, the Jacobian of the plain GAN's simultaneous gradient field, and
- J_K, the Jacobian of the unrolled game's field (K = ``--unroll`` inner Adam steps of
  the discriminator, the configuration's inner rule),

with ARPACK (:func:`analyses.top_eigenvalues`, matrix-free).  The rotational part of an
eigenvalue λ is |Im λ| / |Re λ|.  Writes ``docs/ring_spectra/spectra.json`` and
``docs/ring_spectra/ring_spectra.png``.

    python benchmarks/ring_spectra.py                      # 2,500 steps each, every 500
    python benchmarks/ring_spectra.py --report-only        # the figure from spectra.json

It also measures the cost of :class:`analyses.SpectraRecorder` along training (the
ratio of ``benchmarks/results/ring_spectra.json``): ``plain_ring`` (2 x 128 ReLU
networks, batch 512) trained ``--recorder-steps`` steps with no recorder, and with a
recorder of the top-6 of J by magnitude every 100 steps (no Hessians), warm-started
(the default) and cold (``warm_start=False``, every ARPACK run from the seeded vector,
as before warm starts), and warm with float32 products (``dtype=torch.float32``,
tol 1e-5): the recorder's time over the training time, and the products per record.  ``--quick`` runs only this measurement, 300 steps (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses import (  # noqa: E402
    SpectraRecorder,
    checkpoint_game,
    coverage_evaluator,
    top_eigenvalues,
)
from gan_models import Trainer, jsonio, load_config  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import Ratio, add_arguments, write  # noqa: E402

OUT = ROOT / "docs" / "ring_spectra"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _spectrum(path: Path, unroll: int, k: int) -> dict[str, Any]:
    """Top-k eigenvalues by magnitude and by imaginary part, with |Im|/|Re| of each."""
    game, point, _ = checkpoint_game(path, unroll=unroll)
    out: dict[str, Any] = {}
    for which in ("magnitude", "imaginary"):
        started = time.perf_counter()
        spectrum = top_eigenvalues(game, point, k=k, which=which)
        values = np.asarray(spectrum.values)
        out[which] = {
            "eigenvalues": [[float(v.real), float(v.imag)] for v in values],
            "rotation": [float(abs(v.imag) / max(abs(v.real), 1e-300)) for v in values],
            "products": int(spectrum.products),
            "seconds": time.perf_counter() - started,
        }
    return out


def run(config: str, steps: int, every: int, unroll: int, k: int) -> dict[str, Any]:
    """Train ``config`` (seed 0) for ``steps``; spectra of J and J_K every ``every`` steps."""
    cfg = load_config(config).replace(
        steps=steps, eval_every=every, checkpoint_every=every, log_every=every, device="cpu"
    )
    records = []
    with tempfile.TemporaryDirectory(prefix="gamedyn-spectra-") as tmp:
        trainer = Trainer.from_config(
            cfg, out_dir=tmp, metrics=coverage_evaluator, progress=False, stream=io.StringIO()
        )
        while True:
            trainer.save()
            checkpoint = Path(tmp) / "checkpoint.pt"
            last = trainer.history[-1] if trainer.history else {}
            record = {
                "step": trainer.step,
                "dominant_share": last.get("dominant_share"),
                "dominant_mode": last.get("dominant_mode"),
                "high_quality_percent": last.get("high_quality_percent"),
                "plain": _spectrum(checkpoint, 0, k),
                "unrolled": _spectrum(checkpoint, unroll, k),
            }
            records.append(record)
            print(
                f"{config} step {trainer.step}: |Im|/|Re| of the top-{k} by magnitude, J "
                f"{np.round(record['plain']['magnitude']['rotation'], 2).tolist()}, J_{unroll} "
                f"{np.round(record['unrolled']['magnitude']['rotation'], 2).tolist()}; "
                f"largest |Im|: J {record['plain']['imaginary']['eigenvalues'][0]}, "
                f"J_{unroll} {record['unrolled']['imaginary']['eigenvalues'][0]}",
                flush=True,
            )
            if trainer.step >= steps:
                break
            trainer.train(stop_after=every)
    return {"config": config, "trained_unroll": cfg.unroll.steps, "records": records}


FLOAT32_TOL = 1e-5  # the tolerance analyses.spectra_record advises with float32 products


def recorder_cost(steps: int, every: int, k: int) -> dict[str, Any]:
    """Training time of ``plain_ring`` without a recorder, and the recorder's time and
    products per record, warm-started and cold (one run each, same seed)."""
    cfg = load_config("plain_ring").replace(
        steps=steps, eval_every=steps, checkpoint_every=10 * steps, log_every=steps, device="cpu"
    )

    def train(callbacks: list[Any]) -> float:
        trainer = Trainer.from_config(
            cfg, progress=False, stream=io.StringIO(), callbacks=callbacks
        )
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started

    out: dict[str, Any] = {"steps": steps, "every": every, "k": k}
    out["train_s"] = train([])
    variants = (
        ("warm", {}),
        ("cold", {"warm_start": False}),
        ("float32", {"dtype": torch.float32, "tol": FLOAT32_TOL}),
    )
    for label, options in variants:
        recorder = SpectraRecorder(every, k=k, which="magnitude", hessian_k=0, **options)
        total = train([recorder])
        spectra = sum(r["seconds"] for r in recorder.records)
        out[label] = {
            "total_s": total,
            "spectra_s": spectra,
            "records": len(recorder.records),
            "products": [r["products"] for r in recorder.records],
        }
        print(
            f"recorder ({label} start): {len(recorder.records)} records, "
            f"{spectra:.1f} s of spectra in {total:.1f} s; products per record "
            f"{out[label]['products']}",
            flush=True,
        )
    print(f"training alone: {out['train_s']:.1f} s for {steps} steps", flush=True)
    return out


def recorder_ratios(cost: dict[str, Any]) -> list[Ratio]:
    warm, cold = cost["warm"], cost["cold"]

    def mean_products(run: dict[str, Any]) -> float:
        later = run["products"][1:] or run["products"]  # the first record is cold in both
        return float(np.mean(later))

    return [
        Ratio(
            f"spectra recorder (top-{cost['k']} of J every {cost['every']} steps) / training "
            "time, ring GAN 2 x 128",
            warm["spectra_s"] / cost["train_s"],
            0.25,
            detail=f"{warm['spectra_s']:.1f} s / {cost['train_s']:.1f} s, {cost['steps']} steps",
        ),
        Ratio(
            "same, cold ARPACK starts (before warm starts)",
            cold["spectra_s"] / cost["train_s"],
            detail=f"{cold['spectra_s']:.1f} s",
        ),
        Ratio(
            f"same, float32 products (tol {FLOAT32_TOL:g}, warm)",
            cost["float32"]["spectra_s"] / cost["train_s"],
            detail=f"{cost['float32']['spectra_s']:.1f} s",
        ),
        Ratio(
            "products per record after the first, warm / cold",
            mean_products(warm) / mean_products(cold),
            detail=f"{mean_products(warm):.0f} vs {mean_products(cold):.0f}",
        ),
    ]


def figure(summary: dict[str, Any], out: Path) -> None:
    """|Im|/|Re| of the top eigenvalues (by magnitude) and the largest |Im λ| of J and of
    J_K along training, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = summary["runs"]
    fig, axes = plt.subplots(2, len(runs), figsize=(6.5 * len(runs), 7.5), squeeze=False)
    for col, run in enumerate(runs):
        steps = [r["step"] for r in run["records"]]
        top, bottom = axes[0, col], axes[1, col]
        for key, label in (
            ("plain", "J (plain game)"),
            ("unrolled", f"J_K (K = {summary['unroll']})"),
        ):
            rot = [np.median(r[key]["magnitude"]["rotation"]) for r in run["records"]]
            (line,) = top.plot(steps, rot, marker="o", label=label)
            imag = [
                max(abs(p[1]) for p in r[key]["imaginary"]["eigenvalues"]) for r in run["records"]
            ]
            bottom.plot(steps, imag, marker="s", color=line.get_color(), label=label)
        top.set_yscale("symlog", linthresh=0.1)
        top.set_ylabel(f"median |Im λ| / |Re λ|, top-{summary['k']} by |λ|")
        top.set_title(f"trained as {run['config']} (seed 0)")
        top.legend(fontsize=8)
        bottom.set_xlabel("training step")
        bottom.set_ylabel("largest |Im λ|")
        bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "ring_spectra.png", dpi=90)
    plt.close(fig)


def _complex(pair: list[float]) -> str:
    re, im = pair
    return f"{re:.3g} {'+' if im >= 0 else '−'} {abs(im):.3g}i"


def table(summary: dict[str, Any]) -> str:
    """A markdown table: per run and checkpoint, the eigenvalue of J and of J_K with the
    largest imaginary part, and the median |Im|/|Re| of the top-k by magnitude."""
    k, unroll = summary["k"], summary["unroll"]
    lines = [
        f"| trained as | step | J: largest-Im eigenvalue | J: median abs(Im)/abs(Re), top-{k} "
        f"| J_{unroll}: largest-Im eigenvalue | J_{unroll}: median abs(Im)/abs(Re), top-{k} |",
        "|---|---|---|---|---|---|",
    ]
    for run in summary["runs"]:
        for r in run["records"]:
            cells = []
            for key in ("plain", "unrolled"):
                top = max(r[key]["imaginary"]["eigenvalues"], key=lambda p: abs(p[1]))
                cells += [_complex(top), f"{np.median(r[key]['magnitude']['rotation']):.2f}"]
            lines.append(f"| {run['config']} | {r['step']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--unroll", type=int, default=10)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--recorder-steps", type=int, help="steps of the recorder measurement (quick: 300)"
    )
    add_arguments(parser)
    args = parser.parse_args()
    if not args.report_only:
        torch.set_num_threads(args.threads)
        steps = args.recorder_steps or (300 if args.quick else 1000)
        cost = recorder_cost(steps, 100, args.k)
        write(
            "ring_spectra",
            args,
            recorder_ratios(cost),
            cost,
            parameters={"config": "plain_ring", "steps": steps, "every": 100, "k": args.k},
        )
        if args.quick:
            return
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "spectra.json"
    if not args.report_only:
        torch.set_num_threads(args.threads)
        summary = {
            "steps": args.steps,
            "every": args.every,
            "unroll": args.unroll,
            "k": args.k,
            "commit": _commit(),
            "torch": torch.__version__,
            "threads": args.threads,
            "runs": [
                run(name, args.steps, args.every, args.unroll, args.k)
                for name in ("plain_ring", "unrolled_ring")
            ],
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(jsonio.dumps(summary, indent=1) + "\n")
        tmp.replace(path)
    summary = jsonio.loads(path.read_text())
    figure(summary, args.out)
    (args.out / "table.md").write_text(table(summary))


if __name__ == "__main__":
    main()
