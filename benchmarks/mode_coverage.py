"""The mode-coverage benchmark on the ring and the grid, with honest tuning.

Rows, per data set (the shipped configurations ``gan_models/configs/*.toml`` are the
unrolled-GAN paper's 2-D experiment, Metz et al. 2017):

- ``plain GAN`` and ``unrolled K=1/5/10`` (ring; grid: plain and K=10): the paper's
  settings as shipped, 25,000 steps each, not tuned here (``tuning_seeds`` empty);
- ``best single generator``: any remedy except a mixture of generators; the candidates
  below are trained on the tuning seeds 100 and 101, the winner (highest mean of
  robust modes + high-quality % / 100 at the last evaluation over the tuning seeds) is
  then trained on the reported seeds 0-4, which never take part in the choice;
- ``mixture of generators (knows the number of modes)``: as many generators as modes,
  chosen the same way.

Every run evaluates 2,500 samples every 500 steps (``analyses.mode_coverage``) and its
row in ``docs/mode_coverage/results.jsonl`` (the ``analyses.sweep`` format: an
interrupted benchmark resumes with the missing runs) records every evaluation, the git
commit, torch version, thread count and the full resolved configuration; replicate 0
also keeps 500 of its samples at every evaluation for the figures.

    python benchmarks/mode_coverage.py                 # everything (about 20 CPU-hours)
    python benchmarks/mode_coverage.py --datasets ring --rows plain "unrolled K=10"
    python benchmarks/mode_coverage.py --report-only   # summary.json, table, figures
    python benchmarks/mode_coverage.py --quick         # a smoke test in a scratch folder

A run of hours next to a git working tree: give ``--out`` a folder outside it (e.g.
``--out ../sweep-out``) and copy its ``results.jsonl`` into ``docs/mode_coverage/``
before ``--report-only`` and a commit, so that no checkout, stash or merge replaces the
file under the running benchmark (``analyses.sweep`` follows a replaced file, but the
copy keeps the two apart).
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

from analyses import (  # noqa: E402
    ModeCoverage,
    collapse_statistics,
    gaussian_high_quality_rate,
    mode_coverage,
)
from benchmarks._sweep_common import (  # noqa: E402
    best_of,
    drive,
    finished,
    finite_or_none,
    fmt,
    prepare,
    provenance,
    slug,
    summary_row,
    with_sections,
)
from gan_models import TrainConfig, Trainer, build_data, jsonio, load_config  # noqa: E402

SWEEP_NAME = "benchmarks.mode_coverage.run_point"
TUNING_SEEDS = (100, 101)
REPORTED_SEEDS = (0, 1, 2, 3, 4)
SNAPSHOT = 500  # samples kept per evaluation of replicate 0 (for the figures)

# Published rows (modes covered / high-quality %): VEEGAN (Srivastava et al. 2017,
# table 1: 2-D ring and grid) and PacGAN (Lin et al. 2018, table 1 / table 2).
PUBLISHED = {
    "ring": [
        ("GAN (VEEGAN paper, table 1)", 1, 99.3),
        ("Unrolled GAN (VEEGAN paper, table 1)", 7.6, 35.6),
        ("VEEGAN (VEEGAN paper, table 1)", 8, 52.9),
        ("GAN (PacGAN paper)", 6.3, 98.2),
        ("PacGAN2 (PacGAN paper)", 7.9, 95.6),
    ],
    "grid": [
        ("GAN (VEEGAN paper, table 1)", 3.3, 0.5),
        ("Unrolled GAN (VEEGAN paper, table 1)", 23.6, 16),
        ("VEEGAN (VEEGAN paper, table 1)", 24.6, 40),
        ("GAN (PacGAN paper)", 17.3, 94.8),
        ("PacGAN4 (PacGAN paper)", 24.8, 93.6),
    ],
}


def _paper(dataset: str, unroll: int) -> dict[str, Any]:
    name = f"{'unrolled' if unroll else 'plain'}_{dataset}"
    mapping = load_config(name).to_dict()
    if unroll:
        mapping["unroll"]["steps"] = unroll
    return mapping


_with = with_sections


def single_candidates(dataset: str) -> dict[str, dict[str, Any]]:
    """Candidates for the best single generator: the paper's plain GAN plus PacGAN
    packing (2 on the ring, 4 on the grid, as the PacGAN paper's best rows), R1 on the
    real data (Mescheder et al. 2018) and a linear learning-rate decay to 2 %."""
    base = _paper(dataset, 0)
    pack = 2 if dataset == "ring" else 4
    decay = {"final_lr": 0.02}
    return {
        f"pack{pack}": _with(base, discriminator={"pack": pack}),
        f"pack{pack}+decay": _with(base, discriminator={"pack": pack}, optimizer=decay),
        "r1(0.01)+decay": _with(base, game={"regularizer": "r1", "gamma": 0.01}, optimizer=decay),
        "r1(0.1)+decay": _with(base, game={"regularizer": "r1", "gamma": 0.1}, optimizer=decay),
        f"pack{pack}+r1(0.01)+decay": _with(
            base,
            discriminator={"pack": pack},
            game={"regularizer": "r1", "gamma": 0.01},
            optimizer=decay,
        ),
        f"pack{pack}+r1(0.1)+decay": _with(
            base,
            discriminator={"pack": pack},
            game={"regularizer": "r1", "gamma": 0.1},
            optimizer=decay,
        ),
    }


def mixture_candidates(dataset: str) -> dict[str, dict[str, Any]]:
    """Candidates for the mixture of generators (one small generator per mode): the
    configuration found in an earlier round (on seed 0, which is why it is chosen again
    here on the tuning seeds) with R1 gamma 0.01 or 0.1; 15,000 steps."""
    modes = 8 if dataset == "ring" else 25
    base = _with(
        _paper(dataset, 0),
        generator={"width": 64, "components": modes},
        discriminator={"width": 128 if dataset == "ring" else 256},
        optimizer={
            "lr": [2e-4, 2e-4] if dataset == "ring" else [2e-4, 4e-4],
            "final_lr": 0.02,
        },
    )
    base.update(steps=15_000, batch_size=256, latent_dim=64 if dataset == "ring" else 8)
    return {
        f"mixture+r1({g})+decay": _with(base, game={"regularizer": "r1", "gamma": g})
        for g in (0.01, 0.1)
    }


FAMILIES = {
    "best single generator": single_candidates,
    "mixture of generators (knows the number of modes)": mixture_candidates,
}


def fixed_rows(dataset: str) -> dict[str, dict[str, Any]]:
    """The rows run at the paper's settings, untuned."""
    depths = (1, 5, 10) if dataset == "ring" else (10,)
    return {"plain GAN": _paper(dataset, 0)} | {
        f"unrolled K={k}": _paper(dataset, k) for k in depths
    }


def mapping_of(dataset: str, config: str) -> dict[str, Any]:
    """The configuration mapping of a row or a candidate (``family/candidate``)."""
    if "/" in config:
        family, candidate = config.split("/", 1)
        return FAMILIES[family](dataset)[candidate]
    return fixed_rows(dataset)[config]


# -- one run -------------------------------------------------------------------------------


def run_point(
    dataset: str,
    config: str,
    replicate: int,
    steps: int,
    seed: int,
    *,
    out: str,
    threads: int,
) -> dict[str, Any]:
    """Train ``config`` on ``dataset`` with trainer seed ``replicate`` (the sweep's derived
    ``seed`` is recorded by the sweep, not used: tables report "seeds 0-4")."""
    cfg = TrainConfig.from_dict(prepare(mapping_of(dataset, config), replicate, steps, threads))
    data = build_data(cfg)
    modes, std = data.modes, data.std

    def evaluate(samples: torch.Tensor) -> dict[str, Any]:
        record = mode_coverage(samples, modes, std).as_dict()
        if replicate == 0:
            kept = samples[:SNAPSHOT].double().numpy().round(3)
            record["samples"] = kept.tolist()
        return record

    folder = Path(out) / "runs" / dataset / slug(config) / f"seed{replicate}"
    trainer = Trainer.from_config(
        cfg, out_dir=folder, evaluate=evaluate, progress=False, stream=io.StringIO()
    )
    started = time.perf_counter()
    result = trainer.train()
    keys = ("step", "samples", *ModeCoverage.__dataclass_fields__, "high_quality_percent")
    evaluations = [{k: h[k] for k in h if k in keys} for h in result.history]
    return {
        "dataset": dataset,
        "config": config,
        "seed": replicate,
        **provenance(result, trainer, started),
        "final": {k: v for k, v in evaluations[-1].items() if k != "samples"},
        "evaluations": evaluations,
    }


# -- the plan: points in priority order, winners once their tuning is complete --------------


def _finished(results_file: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    return finished(results_file, lambda row: (row["dataset"], row["config"], int(row["seed"])))


def _score(row: dict[str, Any]) -> float:
    final = row["final"]
    return float(final["modes_robust"]) + float(final["high_quality_percent"]) / 100.0


def winner(
    dataset: str, family: str, done: dict[tuple[str, str, int], dict[str, Any]]
) -> str | None:
    """The family's candidate with the highest mean score on the tuning seeds, once every
    candidate has finished on every tuning seed (None before)."""
    return best_of(
        [f"{family}/{candidate}" for candidate in FAMILIES[family](dataset)],
        lambda name: [done.get((dataset, name, s)) for s in TUNING_SEEDS],
        _score,
    )


def plan(
    datasets: list[str], rows: list[str] | None, done: dict[tuple[str, str, int], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The sweep points in run order: on each data set the plain GAN, the single-generator
    tuning and its winner, unrolled K=10, K=1, K=5, then the mixture."""
    order = ["plain GAN", "best single generator", "unrolled K=10", "unrolled K=1"]
    order += ["unrolled K=5", "mixture of generators (knows the number of modes)"]
    points = []

    def add(dataset: str, config: str, seeds: tuple[int, ...]) -> None:
        steps = int(mapping_of(dataset, config)["steps"])
        for s in seeds:
            points.append({"dataset": dataset, "config": config, "replicate": s, "steps": steps})

    for dataset in datasets:
        fixed = fixed_rows(dataset)
        for row in order:
            if rows and not any(row.startswith(r) for r in rows):
                continue
            if row in fixed:
                add(dataset, row, REPORTED_SEEDS)
            elif row in FAMILIES:
                for candidate in FAMILIES[row](dataset):
                    add(dataset, f"{row}/{candidate}", TUNING_SEEDS)
                best = winner(dataset, row, done)
                if best is not None:
                    add(dataset, best, REPORTED_SEEDS)
    return points


# -- the summary, the table and the figures ---------------------------------------------------


def summary_rows(done: dict[tuple[str, str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (data set, reported configuration) with at least one reported seed."""
    rows: list[dict[str, Any]] = []
    for dataset in ("ring", "grid"):
        labels: dict[str, str] = {name: name for name in fixed_rows(dataset)}
        for family in FAMILIES:
            best = winner(dataset, family, done)
            if best is not None:
                labels[best] = family
        for config, label in labels.items():
            runs = [
                done[(dataset, config, s)] for s in REPORTED_SEEDS if (dataset, config, s) in done
            ]
            if runs:
                rows.append(
                    summary_row(
                        dataset,
                        label,
                        config,
                        runs,
                        TUNING_SEEDS,
                        data_hq_percent=100 * gaussian_high_quality_rate(2),
                        reverse_kl=lambda summary, _: finite_or_none(summary["reverse_kl"]["mean"]),
                    )
                )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of summary.json (means over the reported seeds)."""
    lines = []
    for dataset in ("ring", "grid"):
        chosen = [r for r in rows if r["dataset"] == dataset]
        if not chosen:
            continue
        lines += [
            f"**{dataset}** (data: {chosen[0]['data_hq_percent']:.1f} % of its own samples "
            "are high quality)",
            "",
            "| configuration | steps | seeds | modes | modes (≥ 1 %) | high-quality % | "
            "reverse KL | distinct dominant modes | median dominant share | "
            "concentrated evaluations | median HQ % when concentrated |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in chosen:
            label = r["config"] + (
                f" ({r['candidate'].split('/', 1)[1]})" if r["candidate"] else ""
            )
            conc = sum(c for c, _ in r["concentrated_evaluations"])
            total = sum(n for _, n in r["concentrated_evaluations"])
            lines.append(
                f"| {label} | {r['steps']:,} | {len(r['seeds'])} | "
                f"{fmt(r['modes'], r['modes_se'])} | {fmt(r['modes_robust'])} | "
                f"{fmt(r['hq_percent'], r['hq_percent_se'], 1)} | {fmt(r['reverse_kl'], None, 3)} | "
                f"{fmt(r['distinct_dominant_modes'], None, 1)} | "
                f"{fmt(r['dominant_share_median'])} | {conc}/{total} | "
                f"{fmt(r['concentrated_hq_median'], None, 1)} |"
            )
        lines += ["", "Published (modes / high-quality %):", ""]
        lines += [f"- {label}: {m} / {hq}" for label, m, hq in PUBLISHED[dataset]]
        lines.append("")
    return "\n".join(lines)


def figures(
    done: dict[tuple[str, str, int], dict[str, Any]], rows: list[dict[str, Any]], out: Path
) -> list[str]:
    """Final samples of replicate 0 per row, the plain GAN's samples along training,
    coverage over training and the concentrated-only hopping graph; PNG files in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analyses import CoverageDisplay, ModeHoppingGraphDisplay, SamplesDisplay

    written = []
    for dataset in ("ring", "grid"):
        chosen = [r for r in rows if r["dataset"] == dataset]
        if not chosen:
            continue
        keyed = [(r, done.get((dataset, r["candidate"] or r["config"], 0))) for r in chosen]
        keyed = [(r, run) for r, run in keyed if run is not None]
        if not keyed:
            continue
        data = build_data(TrainConfig.from_dict({"data": keyed[0][1]["resolved_config"]["data"]}))
        modes = data.modes.numpy()
        lim = float(np.abs(modes).max()) * 1.5
        fig, axes = plt.subplots(1, len(keyed), figsize=(3.6 * len(keyed), 3.8), squeeze=False)
        for ax, (r, run) in zip(axes[0], keyed):
            last = run["evaluations"][-1]
            display = SamplesDisplay.from_samples(np.asarray(last["samples"]), modes, data.std)
            display.plot(ax=ax)
            _square(ax, lim)
            ax.set_title(
                f"{r['config'][:28]}\nseed 0, step {last['step']:,}: {last['modes_covered']} modes, "
                f"{last['high_quality_percent']:.0f} % HQ",
                fontsize=8,
            )
            ax.get_legend().remove()
        fig.tight_layout()
        fig.savefig(out / f"{dataset}_samples.png", dpi=80)
        plt.close(fig)
        written.append(f"{dataset}_samples.png")

        plain = done.get((dataset, "plain GAN", 0))
        if plain is not None:
            evals = plain["evaluations"]
            picks = [evals[i] for i in np.linspace(len(evals) // 10, len(evals) - 1, 6).astype(int)]
            fig, axes = plt.subplots(1, 6, figsize=(19, 3.6))
            for ax, e in zip(axes, picks):
                cov = ModeCoverage.from_dict(e)
                SamplesDisplay.from_samples(np.asarray(e["samples"]), modes, data.std).plot(ax=ax)
                _square(ax, lim)
                ax.get_legend().remove()
                where = f"mode {cov.dominant_mode}" if cov.concentrated else "not concentrated"
                ax.set_title(
                    f"step {e['step']:,}: {100 * cov.dominant_share:.0f} % of all samples\n"
                    f"nearest one mode ({where}); {cov.high_quality_percent:.0f} % HQ",
                    fontsize=8,
                )
            fig.suptitle(f"plain GAN on the {dataset}, seed 0, along training")
            fig.tight_layout()
            fig.savefig(out / f"{dataset}_plain_along_training.png", dpi=80)
            plt.close(fig)
            written.append(f"{dataset}_plain_along_training.png")

            covs = [ModeCoverage.from_dict(e) for e in evals]
            stats = collapse_statistics([e["step"] for e in evals], covs)
            fig, ax = plt.subplots(figsize=(7, 6.5))
            ModeHoppingGraphDisplay.from_dominant_modes(
                stats["dominant_modes"],
                modes,
                title=f"plain GAN, {dataset}, seed 0: {stats['n_concentrated']} of "
                f"{stats['n_evaluations']} evaluations concentrated\n",
            ).plot(ax=ax)
            ax.title.set_fontsize(9)
            fig.tight_layout()
            fig.savefig(out / f"{dataset}_hopping.png", dpi=80)
            plt.close(fig)
            written.append(f"{dataset}_hopping.png")

        fig, axes = plt.subplots(1, len(keyed), figsize=(4.4 * len(keyed), 3.4), squeeze=False)
        for ax, (r, run) in zip(axes[0], keyed):
            evals = run["evaluations"]
            CoverageDisplay.from_coverages(
                [e["step"] for e in evals],
                [ModeCoverage.from_dict(e) for e in evals],
                title=f"{r['config'][:30]}, seed 0",
            ).plot(ax=ax)
        fig.tight_layout()
        fig.savefig(out / f"{dataset}_coverage.png", dpi=80)
        plt.close(fig)
        written.append(f"{dataset}_coverage.png")
    return written


def _square(ax: Any, lim: float) -> None:
    """One axis range for every compared panel: [-lim, lim] on both axes."""
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)


def report(results_file: Path, out: Path) -> list[dict[str, Any]]:
    """Write ``summary.json``, ``table.md`` and the figures from the finished runs."""
    done = _finished(results_file)
    rows = summary_rows(done)
    tuning = {
        f"{dataset}/{family}": {
            "candidates": list(FAMILIES[family](dataset)),
            "seeds": list(TUNING_SEEDS),
            "scores": {
                name: [
                    _score(done[(dataset, name, s)])
                    for s in TUNING_SEEDS
                    if (dataset, name, s) in done
                ]
                for name in (f"{family}/{c}" for c in FAMILIES[family](dataset))
            },
            "winner": winner(dataset, family, done),
        }
        for dataset in ("ring", "grid")
        for family in FAMILIES
    }
    summary = {
        "protocol": {
            "reported_seeds": list(REPORTED_SEEDS),
            "tuning_seeds": list(TUNING_SEEDS),
            "criterion": "mean over the tuning seeds of robust modes + high-quality % / 100 "
            "at the last evaluation",
            "evaluation": "2,500 samples every 500 steps (eval_every); statistics over training "
            "skip the first 10 % of steps",
        },
        "rows": rows,
        "tuning": tuning,
    }
    (out / "summary.json").write_text(jsonio.dumps(summary, indent=1) + "\n")
    (out / "table.md").write_text(table(rows) + "\n")
    figures(done, rows, out)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--rows", nargs="+", default=None, help="row names or prefixes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--workers", type=int, default=1, help="runs at once (process pool)")
    parser.add_argument("--report-only", action="store_true", help="summarise, train nothing")
    parser.add_argument("--quick", action="store_true", help="smoke test: 60 steps, scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "mode_coverage")
    args = parser.parse_args()
    out: Path = args.out / "quick" if args.quick else args.out
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.jsonl"

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        if row["status"] != "ok":
            print(
                f"{row['dataset']} {row['config']} seed {row['replicate']}: "
                f"{row.get('error_type')}: {row.get('error_message')}",
                flush=True,
            )
            return
        print(
            f"[{done}/{total}] {row['dataset']} {row['config']} seed {row['replicate']}: "
            f"{row['final.modes_covered']} modes ({row['final.modes_robust']} >= 1 %), "
            f"{row['final.high_quality_percent']:.1f} % HQ, {row['seconds'] / 60:.1f} min",
            flush=True,
        )

    if not args.report_only:
        drive(
            functools.partial(run_point, out=str(out), threads=args.threads),
            lambda done: plan(args.datasets, args.rows, done),
            lambda: _finished(results_file),
            results_file,
            name=SWEEP_NAME,
            progress=progress,
            workers=args.workers,
            quick_steps=60 if args.quick else None,
        )
    rows = report(results_file, out)
    print(table(rows))


if __name__ == "__main__":
    main()
