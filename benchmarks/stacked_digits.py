"""The stacked-digits benchmark: 1,000 modes of 8 x 8 images, with honest tuning.

Three independent UCI digits as the three channels of one 8 x 8 image
(``gan_models.stacked_digits``): the small analogue of stacked MNIST (Metz et al. 2017;
VEEGAN, Srivastava et al. 2017, table 2; PacGAN, Lin et al. 2018, table 3).  Every row
starts from the shipped ``stacked_digits_dcgan`` configuration (a DCGAN, Radford et al.
2016, every number with its source in the file):

- ``plain DCGAN`` as shipped; ``unrolled K=5`` and ``unrolled K=10`` (inner Adam at the
  discriminator's learning rate 2e-4); ``PacGAN2`` (packing 2); ``minibatch
  discrimination`` (50 kernels of dimension 5, Salimans et al. 2016): untuned;
- ``best single generator``: the candidates below are trained on the tuning seeds 100
  and 101, the winner (highest mean of modes covered + high-quality % / 100 at the end
  over the tuning seeds) is then trained on the reported seeds 0-4, which never take part
  in the choice.

Every run evaluates 2,600 samples every 500 steps with ``analyses.digit_classifier`` (a
label counts when the classifier is at least 90 % sure of every channel) and, at the end,
26,000 samples (the VEEGAN/PacGAN protocol): modes covered (of 1,000), the reverse KL of
the histogram of all samples' labels to the uniform one (PacGAN's definition), the
high-quality share and the Fréchet distance of the classifier's features to held-out
stacked digits.  Results are in the ``analyses.sweep`` format
(``docs/stacked_digits/results.jsonl``: an interrupted benchmark resumes with the
missing runs).

    python benchmarks/stacked_digits.py                 # everything (long: see docs)
    python benchmarks/stacked_digits.py --rows "plain DCGAN"
    python benchmarks/stacked_digits.py --report-only   # summary.json and table.md
    python benchmarks/stacked_digits.py --quick         # a smoke test in a scratch folder
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses import ModeCoverage, digit_classifier, frechet_distance  # noqa: E402
from benchmarks._sweep_common import (  # noqa: E402
    best_of,
    drive,
    finished,
    fmt,
    prepare,
    provenance,
    slug,
    summary_row,
    with_sections,
)
from gan_models import TrainConfig, Trainer, jsonio, load_config, stacked_digits  # noqa: E402

SWEEP_NAME = "benchmarks.stacked_digits.run_point"
DATASET = "stacked_digits"
TUNING_SEEDS = (100, 101)
REPORTED_SEEDS = (0, 1, 2, 3, 4)
FINAL_SAMPLES = 26_000  # VEEGAN/PacGAN: modes and KL on 26,000 samples
CONFIDENCE = 0.9

# Published stacked-MNIST rows (28 x 28 MNIST digits, a different data set; modes of
# 1,000 / reverse KL): PacGAN (Lin et al. 2018), table 3, which quotes the DCGAN,
# Unrolled GAN and VEEGAN rows of VEEGAN (Srivastava et al. 2017), table 2.
PUBLISHED = [
    ("DCGAN (stacked MNIST, VEEGAN table 2)", 99, 3.40),
    ("Unrolled GAN (stacked MNIST, VEEGAN table 2)", 48.7, 4.32),
    ("VEEGAN (stacked MNIST, VEEGAN table 2)", 150, 2.95),
    ("PacGAN2 (stacked MNIST, PacGAN table 3)", 1000, 0.06),
]


def _base() -> dict[str, Any]:
    return load_config("stacked_digits_dcgan").to_dict()


_with = with_sections


def fixed_rows() -> dict[str, dict[str, Any]]:
    """The untuned rows."""
    base = _base()
    unroll = {"lr": 2e-4, "inner": "adam"}
    return {
        "plain DCGAN": base,
        "unrolled K=5": _with(base, unroll={"steps": 5, **unroll}),
        "unrolled K=10": _with(base, unroll={"steps": 10, **unroll}),
        "PacGAN2": _with(base, discriminator={"pack": 2}),
        "minibatch discrimination": _with(base, discriminator={"minibatch_discrimination": 50}),
    }


def single_candidates() -> dict[str, dict[str, Any]]:
    """Candidates for the best single generator: packing 2 and 4 (PacGAN's rows), packing
    with a linear learning-rate decay to 2 % or with R1 on the real data (Mescheder et al.
    2018), minibatch discrimination with packing."""
    base = _base()
    return {
        "pack2": _with(base, discriminator={"pack": 2}),
        "pack4": _with(base, discriminator={"pack": 4}),
        "pack2+decay": _with(base, discriminator={"pack": 2}, optimizer={"final_lr": 0.02}),
        "pack2+r1(0.1)": _with(
            base, discriminator={"pack": 2}, game={"regularizer": "r1", "gamma": 0.1}
        ),
        "pack2+minibatch": _with(base, discriminator={"pack": 2, "minibatch_discrimination": 50}),
    }


FAMILY = "best single generator"


def mapping_of(config: str) -> dict[str, Any]:
    """The configuration mapping of a row or a candidate (``family/candidate``)."""
    if "/" in config:
        return single_candidates()[config.split("/", 1)[1]]
    return fixed_rows()[config]


# -- one run -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _classifier() -> Any:
    return digit_classifier()


@functools.lru_cache(maxsize=1)
def _reference() -> torch.Tensor:
    return stacked_digits("held_out").sample(2000, generator=0)


def coverage(samples: torch.Tensor) -> dict[str, Any]:
    """Mode metrics of generated stacked digits: the ``ModeCoverage`` record (a mode is a
    label, a sample is high quality when every channel is classified with probability
    >= 0.9), PacGAN's reverse KL over all samples' labels, and the FID."""
    classifier = _classifier()
    prob = classifier.probabilities(samples, 3)
    top, digit = prob.max(-1)
    labels = (digit * torch.tensor([100, 10, 1])).sum(1).numpy()
    sure = (top >= CONFIDENCE).all(1).numpy()
    everything = np.bincount(labels, minlength=1000)
    record = ModeCoverage.from_dict(
        {
            "counts": np.bincount(labels[sure], minlength=1000),
            "nearest_counts": everything,
            "high_quality": float(sure.mean()),
        }
    ).as_dict()
    p = everything / everything.sum()
    record["reverse_kl_all"] = float(np.sum(p[p > 0] * np.log(p[p > 0] * 1000)))
    record["fid"] = frechet_distance(
        classifier.features(samples, 3).numpy(), classifier.features(_reference(), 3).numpy()
    )
    return record


def run_point(
    config: str,
    replicate: int,
    steps: int,
    seed: int,
    *,
    out: str,
    threads: int,
    final_samples: int = FINAL_SAMPLES,
) -> dict[str, Any]:
    """Train ``config`` with trainer seed ``replicate`` (the sweep's derived ``seed`` is
    recorded by the sweep, not used: tables report "seeds 0-4")."""
    cfg = TrainConfig.from_dict(prepare(mapping_of(config), replicate, steps, threads))
    folder = Path(out) / "runs" / slug(config) / f"seed{replicate}"
    trainer = Trainer.from_config(
        cfg, out_dir=folder, evaluate=coverage, progress=False, stream=io.StringIO()
    )
    started = time.perf_counter()
    result = trainer.train()
    z = torch.randn(final_samples, cfg.latent_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        final = coverage(trainer.base.sample(result.params, z))
    keys = ("step", *ModeCoverage.__dataclass_fields__, "high_quality_percent", "fid")
    evaluations = [{k: h[k] for k in h if k in (*keys, "reverse_kl_all")} for h in result.history]
    return {
        "dataset": DATASET,
        "config": config,
        "seed": replicate,
        **provenance(result, trainer, started),
        "final_samples": final_samples,
        "final": final,
        "evaluations": evaluations,
    }


# -- the plan ----------------------------------------------------------------------------------


def _finished(results_file: Path) -> dict[tuple[str, int], dict[str, Any]]:
    return finished(results_file, lambda row: (row["config"], int(row["seed"])))


def _score(row: dict[str, Any]) -> float:
    final = row["final"]
    return float(final["modes_covered"]) + float(final["high_quality_percent"]) / 100.0


def winner(done: dict[tuple[str, int], dict[str, Any]]) -> str | None:
    """The candidate with the highest mean score on the tuning seeds, once every candidate
    has finished on every tuning seed (None before)."""
    return best_of(
        [f"{FAMILY}/{candidate}" for candidate in single_candidates()],
        lambda name: [done.get((name, s)) for s in TUNING_SEEDS],
        _score,
    )


def plan(rows: list[str] | None, done: dict[tuple[str, int], dict[str, Any]]) -> list[dict]:
    """The sweep points in run order: the fixed rows, the tuning, then its winner."""
    points = []

    def add(config: str, seeds: tuple[int, ...]) -> None:
        steps = int(mapping_of(config)["steps"])
        points.extend({"config": config, "replicate": s, "steps": steps} for s in seeds)

    for row in [*fixed_rows(), FAMILY]:
        if rows and not any(row.startswith(r) for r in rows):
            continue
        if row != FAMILY:
            add(row, REPORTED_SEEDS)
            continue
        for candidate in single_candidates():
            add(f"{FAMILY}/{candidate}", TUNING_SEEDS)
        best = winner(done)
        if best is not None:
            add(best, REPORTED_SEEDS)
    return points


# -- the summary and the table ---------------------------------------------------------------


def _data_hq_percent() -> float:
    """The share of held-out stacked digits the classifier is sure of in every channel."""
    real = stacked_digits("held_out").sample(FINAL_SAMPLES, generator=1)
    top = _classifier().probabilities(real, 3).max(-1).values
    return 100.0 * float((top >= CONFIDENCE).all(1).float().mean())


def summary_rows(done: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per reported configuration with at least one reported seed; the fields of
    ``docs/mode_coverage/summary.json`` plus ``fid`` (final 26,000 samples)."""
    labels: dict[str, str] = {name: name for name in fixed_rows()}
    best = winner(done)
    if best is not None:
        labels[best] = FAMILY
    rows = []
    data_hq = None
    for config, label in labels.items():
        runs = [done[(config, s)] for s in REPORTED_SEEDS if (config, s) in done]
        if not runs:
            continue
        data_hq = _data_hq_percent() if data_hq is None else data_hq
        row = summary_row(
            DATASET,
            label,
            config,
            runs,
            TUNING_SEEDS,
            data_hq_percent=data_hq,
            reverse_kl=lambda _, runs: float(np.mean([r["final"]["reverse_kl_all"] for r in runs])),
        )
        rows.append(row | {"fid": float(np.mean([r["final"]["fid"] for r in runs]))})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of summary.json (means over the reported seeds)."""
    if not rows:
        return "(no finished runs)"
    lines = [
        f"**stacked digits** (1,000 modes; the classifier is sure of "
        f"{rows[0]['data_hq_percent']:.1f} % of held-out stacked digits)",
        "",
        "| configuration | steps | seeds | modes (of 1,000) | high-quality % | reverse KL | FID |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        label = r["config"] + (f" ({r['candidate'].split('/', 1)[1]})" if r["candidate"] else "")
        lines.append(
            f"| {label} | {r['steps']:,} | {len(r['seeds'])} | "
            f"{fmt(r['modes'], r['modes_se'], 1)} | {fmt(r['hq_percent'], r['hq_percent_se'], 1)} | "
            f"{fmt(r['reverse_kl'], None, 3)} | {fmt(r['fid'], None, 2)} |"
        )
    lines += ["", "Published, on stacked MNIST (a different data set; modes / reverse KL):", ""]
    lines += [f"- {label}: {m} / {kl}" for label, m, kl in PUBLISHED]
    return "\n".join(lines) + "\n"


def report(results_file: Path, out: Path) -> list[dict[str, Any]]:
    """Write ``summary.json`` and ``table.md`` from the finished runs."""
    done = _finished(results_file)
    rows = summary_rows(done)
    summary = {
        "protocol": {
            "reported_seeds": list(REPORTED_SEEDS),
            "tuning_seeds": list(TUNING_SEEDS),
            "criterion": "mean over the tuning seeds of modes covered + high-quality % / 100 "
            f"on the final {FINAL_SAMPLES:,} samples",
            "evaluation": "2,600 samples every 500 steps (eval_every) and 26,000 at the end; "
            "a sample is high quality when the digit classifier is >= 90 % sure of every "
            "channel; reverse KL over all samples' labels (PacGAN); statistics over "
            "training skip the first 10 % of steps",
        },
        "rows": rows,
        "tuning": {
            FAMILY: {
                "candidates": list(single_candidates()),
                "seeds": list(TUNING_SEEDS),
                "scores": {
                    f"{FAMILY}/{c}": [
                        _score(done[(f"{FAMILY}/{c}", s)])
                        for s in TUNING_SEEDS
                        if (f"{FAMILY}/{c}", s) in done
                    ]
                    for c in single_candidates()
                },
                "winner": winner(done),
            }
        },
        "published_stacked_mnist": [
            {"row": label, "modes": m, "reverse_kl": kl} for label, m, kl in PUBLISHED
        ],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(jsonio.dumps(summary, indent=1) + "\n")
    (out / "table.md").write_text(table(rows))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=None, help="row names or prefixes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--workers", type=int, default=1, help="runs at once (process pool)")
    parser.add_argument("--report-only", action="store_true", help="summarise, train nothing")
    parser.add_argument("--quick", action="store_true", help="smoke test: 20 steps, scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "stacked_digits")
    args = parser.parse_args(argv)
    out: Path = args.out / "quick" if args.quick else args.out
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.jsonl"

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        if row["status"] != "ok":
            print(f"{row['config']} seed {row['replicate']}: {row.get('error_message')}")
            return
        print(
            f"[{done}/{total}] {row['config']} seed {row['replicate']}: "
            f"{row['final.modes_covered']} modes, {row['final.high_quality_percent']:.1f} % HQ, "
            f"FID {row['final.fid']:.2f}, {row['seconds'] / 60:.1f} min",
            flush=True,
        )

    if not args.report_only:
        run = functools.partial(run_point, out=str(out), threads=args.threads)
        if args.quick:
            run = functools.partial(run, final_samples=2600)
        drive(
            run,
            lambda done: plan(args.rows, done),
            lambda: _finished(results_file),
            results_file,
            name=SWEEP_NAME,
            progress=progress,
            workers=args.workers,
            quick_steps=20 if args.quick else None,
        )
    print(table(report(results_file, out)))


if __name__ == "__main__":
    main()
