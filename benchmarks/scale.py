"""Scaling up: large games and many workers (issue 8).

(a) Top-10 eigenvalues of an MLP GAN's game Jacobian at 10^4 .. 10^6 parameters, matrix
    free: runs ``benchmarks/spectra.py`` part (b) (products, wall time, peak memory per
    size; ``--sizes`` passes through).

(b) One sweep (``analyses.sweep``) run serially and on a local Dask cluster of 2 worker
    processes with 1 thread each (``distributed.LocalCluster`` on loopback), side by side
    in one run.  Each point is CPU-bound: the eigenvalues of ``repeats`` random Gaussian
    n x n matrices (numpy's Generator at the point's derived seed), scaled by 1/sqrt(n),
    whose spectral radius tends to 1 (the circular law) — a check that the work was done.
    ``repeats`` is calibrated so that one point takes about ``--seconds`` seconds here.
    BLAS/OpenMP/torch use one thread everywhere (set before numpy is imported; Dask's
    nanny sets the same for its workers), so a point uses one core in both runs.

    Printed: the serial sweep's seconds, the cluster's start-up (scheduler, two worker
    processes, and importing ``analyses`` in each worker, which imports torch), the
    cluster sweep's seconds, and the speed-up with and without the start-up.  The rows of
    both runs are checked to be identical (derived seeds and results).  Two cores bound
    the speed-up by 2; anything else running on the machine lowers it: each line prints
    the 1-minute load average.

Ratios (no targets): the speed-ups of (b); the raw timings, the load average and the
environment go to ``benchmarks/results/scale[.quick].json``.

Run: ``python benchmarks/scale.py [--quick] [--json PATH] [--points 16] [--seconds 1.0]
[--part b]`` (needs ``pip install -e ".[dask]"``; about 2 x points x seconds plus ~10 s on
2 cores).  ``--quick``: part (b) only (part (a) is ``benchmarks/spectra.py``, which
``benchmarks/run_all.py`` runs on its own), 8 points of 0.5 s.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy: one BLAS thread per process

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

import _results  # noqa: E402

from analyses.sweep import SweepResult, sweep  # noqa: E402


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


# ---------------------------------------------------------------------------------------
# PART (a): top-k eigenvalues at 1e4 .. 1e6 parameters: benchmarks/spectra.py part (b).
# ---------------------------------------------------------------------------------------


def part_a(args: argparse.Namespace) -> dict[str, Any]:
    """Top-10 eigenvalues of the MLP GAN game's Jacobian at n = 1e4, 1e5, 1e6 parameters.

    The measurement is ``benchmarks/spectra.py`` part (b) (matrix-free ARPACK, products
    counted, wall time, peak resident memory per size in a fresh child process); it is
    run here as is rather than written twice.
    """
    import subprocess

    out = _results.RESULTS / "scale_spectra.json"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "spectra.py"),
        "--skip-region",
        "--json",
        str(out),
    ]
    if args.sizes:
        command += ["--sizes", *map(str, args.sizes)]
    print(
        f"(a) top-10 eigenvalues at {args.sizes or '1e4 1e5 1e6'} parameters: {' '.join(command[1:])}",
        flush=True,
    )
    subprocess.run(
        command,
        check=True,
        env={
            **os.environ,
            "OMP_NUM_THREADS": "2",
            "MKL_NUM_THREADS": "2",
            "OPENBLAS_NUM_THREADS": "2",
        },
    )
    return {"command": command[1:], "results": str(out)}


# ---------------------------------------------------------------------------------------
# PART (b): a 2-worker Dask LocalCluster sweep against the serial sweep.
# ---------------------------------------------------------------------------------------


def random_spectrum(n: int, repeats: int, seed: int) -> dict[str, Any]:
    """Spectral radius of ``repeats`` Gaussian n x n matrices / sqrt(n) (-> 1 as n grows)."""
    rng = np.random.default_rng(seed)
    radii = [
        float(np.abs(np.linalg.eigvals(rng.standard_normal((n, n)) / np.sqrt(n))).max())
        for _ in range(repeats)
    ]
    return {"radius": float(np.mean(radii)), "pid": os.getpid()}


def calibrate(n: int, seconds: float) -> int:
    """How many n x n eigensolves take about ``seconds`` here (median of three timings)."""
    matrix = np.random.default_rng(0).standard_normal((n, n))
    times = []
    for _ in range(3):
        started = time.perf_counter()
        np.linalg.eigvals(matrix)
        times.append(time.perf_counter() - started)
    return max(1, round(seconds / float(np.median(times))))


def _same(result: SweepResult) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("seconds", "pid")} for row in result.rows]


def part_b(args: argparse.Namespace, ratios: list[_results.Ratio]) -> dict[str, Any]:
    try:
        import distributed
    except ImportError:
        print('(b) skipped: needs dask[distributed] (pip install -e ".[dask]")')
        return {"skipped": "dask[distributed] not installed"}
    loads = {"start": os.getloadavg()}
    n = args.n
    repeats = calibrate(n, args.seconds)
    grid = {"n": [n], "repeats": [repeats]}
    print(
        f"(b) sweep of {args.points} points, each {repeats} eigensolves of {n} x {n} "
        f"(~{args.seconds:g} s), serial vs a 2-worker LocalCluster (1 thread each)"
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        serial = sweep(
            random_spectrum, grid, seeds=args.points, results=Path(folder) / "serial.jsonl"
        )
        serial_seconds = time.perf_counter() - started
        loads["serial"] = os.getloadavg()
        print(f"  serial sweep               {serial_seconds:7.1f} s   ({load()})", flush=True)

        started = time.perf_counter()
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            # what every first task would pay: importing analyses (and torch) per worker
            client.run(__import__, "analyses.sweep")
            startup = time.perf_counter() - started
            print(f"  cluster start-up + imports {startup:7.1f} s   ({load()})", flush=True)
            started = time.perf_counter()
            clustered = sweep(
                random_spectrum,
                grid,
                seeds=args.points,
                results=Path(folder) / "dask.jsonl",
                executor=client.get_executor(),
            )
            cluster_seconds = time.perf_counter() - started
            loads["cluster"] = os.getloadavg()
        print(f"  LocalCluster sweep         {cluster_seconds:7.1f} s   ({load()})")
    if _same(serial) != _same(clustered):
        raise SystemExit("(b) FAILED: the serial and cluster rows differ")
    workers = len({row["pid"] for row in clustered.rows})
    radius = np.mean([row["radius"] for row in serial.rows])
    print(
        f"  speed-up {serial_seconds / cluster_seconds:.2f} x (sweep only), "
        f"{serial_seconds / (cluster_seconds + startup):.2f} x (with start-up); "
        f"{workers} worker processes ran points; rows identical; "
        f"mean spectral radius {radius:.3f} (circular law: -> 1)"
    )
    ratios.append(
        _results.Ratio(
            f"sweep speed-up, 2 workers vs serial ({args.points} points)",
            serial_seconds / cluster_seconds,
            detail=f"bound 2 on 2 cores; load {loads['cluster'][0]:.1f}",
        )
    )
    ratios.append(
        _results.Ratio(
            "sweep speed-up with the cluster's start-up",
            serial_seconds / (cluster_seconds + startup),
        )
    )
    return {
        "points": args.points,
        "n": n,
        "eigensolves_per_point": repeats,
        "serial_s": serial_seconds,
        "startup_s": startup,
        "cluster_s": cluster_seconds,
        "worker_processes": workers,
        "mean_spectral_radius": float(radius),
        "load_average": loads,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _results.add_arguments(parser)
    parser.add_argument(
        "--part", choices=["a", "b", "all"], default=None, help="default all (b with --quick)"
    )
    parser.add_argument("--points", type=int, default=None, help="(b) points (16; 8 quick)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="(b) seconds per point (1.0; 0.5 quick)"
    )
    parser.add_argument("--n", type=int, default=400, help="(b) matrix size")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="(a) parameter counts (default 1e4 1e5 1e6)",
    )
    args = parser.parse_args(argv)
    args.part = args.part or ("b" if args.quick else "all")
    args.points = args.points or (8 if args.quick else 16)
    args.seconds = args.seconds or (0.5 if args.quick else 1.0)
    ratios: list[_results.Ratio] = []
    raw: dict[str, Any] = {}
    if args.part in ("a", "all"):
        raw["a"] = part_a(args)
    if args.part in ("b", "all"):
        raw["b"] = part_b(args, ratios)
    _results.write(
        "scale",
        args,
        ratios,
        raw,
        parameters={
            "part": args.part,
            "points": args.points,
            "seconds_per_point": args.seconds,
            "matrix_n": args.n,
            "workers": 2,
            "threads_per_worker": 1,
        },
    )


if __name__ == "__main__":
    main()
