"""Spectra and stability regions: gamedyn's shortcuts against the direct computation, side by side.

Game: the two-player MLP GAN game of ``benchmarks/_mlp_game.py`` (
batch 256), float64 throughout (``analyses.top_eigenvalues`` computes in float64
whatever the params' dtype, so float32 would only add a cast).

(a) Stability region of simultaneous GD over a grid of step sizes ``lr`` x step-size
    ratios ``r`` (discriminator step ``r * lr``) at n = 498: ``analyses.stability_region``
    (one eigendecomposition of diag(1, r) J per ratio, mapped to every step size) against
    the spectral radius of ``I - diag(lr, r lr) J`` from ``np.linalg.eigvals`` at each grid
    point.  The per-point baseline is timed on a subset of grid points and extrapolated to
    the whole grid; both are checked to agree on that subset.

(b) Top-10 eigenvalues by magnitude, matrix-free (``analyses.top_eigenvalues``: ARPACK
    over ``games.JacobianOperator``, products J^T u through the field's graph built once)
    as n grows 10^4 -> 10^5 -> 10^6.  Each size runs in a fresh subprocess (this script
    with ``--one-size N``) so that its peak resident memory can be read: the high-water
    mark VmHWM is reset (``/proc/self/clear_refs``) after imports and a warm-up, and the
    peak increase covers building the game, its params and the whole top-10 run.  (Not
    ``ru_maxrss``: a child's ``ru_maxrss`` includes its parent's RSS at fork time.)
    Memory is read twice per size: with glibc's defaults, and in a second process with
    a fixed mmap threshold of 64 KiB, which returns every freed large buffer at once, so
    that the peak RSS is the peak of live memory.  Times are in units of one
    vector-field evaluation xi (``games.vector_field`` at the same point).  Also the
    products ARPACK needs for the top-6 by magnitude and by imaginary part at tol 1e-6.
    In full mode every size is run a third time with glibc's mmap disabled and no trimming
    (``MALLOC_MMAP_MAX_=0``: freed memory is reused, never page-faulted in again) to show
    the allocator's share of the cost.

Timings on this 2-core machine move with anything else running on it: every table row
prints the 1-minute load average.

Run: ``python benchmarks/spectra.py [--quick]`` (quick: a 50 x 50 grid, n up to 10^5,
under two minutes; full: 200 x 200, n up to 10^6, about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _mlp_game import MLPGame, hidden_for
from _results import Ratio, add_arguments, write

from analyses import stability_region, top_eigenvalues
from games import JacobianOperator, jacobian, vector_field

# glibc settings for the child processes: no mmap at all (freed memory is reused, never
# page-faulted again), or a fixed mmap threshold (every large buffer is mmapped and returned
# when freed, so the RSS peak is the peak of live memory)
NO_MMAP = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}
MMAP_ALWAYS = {"MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# --------------------------------------------------------------------------- (a)


def region_benchmark(grid: int, baseline_points: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    game = MLPGame(hidden_for(500))
    point = game.params(torch.float64)
    n, n_g = sum(game.sizes), game.sizes[0]
    lr = np.geomspace(1e-4, 1.0, grid)
    ratio = np.geomspace(0.1, 10.0, grid)
    stability_region(game, point, "gd", lr=lr[:2], ratio=ratio[:2])  # warm-up (vmap tracing)

    t_region, region = timed(lambda: stability_region(game, point, "gd", lr=lr, ratio=ratio), 1)
    radius = region.spectral_radius  # type: ignore[attr-defined]
    assert radius.shape == (grid, grid)

    t_jac, J_t = timed(lambda: jacobian(game, point).matrix, 1)
    J = J_t.numpy()  # type: ignore[attr-defined]
    flat = np.unique(np.linspace(0, grid * grid - 1, baseline_points).round().astype(int))
    rows, cols = np.unravel_index(flat, (grid, grid))
    eye = np.eye(n)

    def per_point(i: int, j: int) -> float:
        scale = np.concatenate([np.ones(n_g), np.full(n - n_g, ratio[j])])
        step = eye - lr[i] * scale[:, None] * J
        return float(np.abs(np.linalg.eigvals(step)).max())

    per_point(0, 0)  # warm-up
    start = time.perf_counter()
    direct = np.array([per_point(i, j) for i, j in zip(rows, cols, strict=True)])
    t_points = time.perf_counter() - start
    t_each = t_points / flat.size
    t_full = t_each * grid * grid
    diff = np.abs(direct - radius[rows, cols])
    print(
        f"## (a) Stability region of simultaneous GD, {grid} x {grid} grid "
        f"(lr in [1e-4, 1] x ratio in [0.1, 10], log-spaced), n = {n}, float64\n"
    )
    print("| method | eigensolves | time (s) | per grid point (ms) | x stability_region |")
    print("|---|---|---|---|---|")
    print(
        f"| analyses.stability_region (incl. dense J, {t_jac:.2f} s) | {grid} | {t_region:.2f} | "
        f"{t_region / grid**2 * 1e3:.3f} | 1.00 |"
    )
    print(
        f"| eigvals of I - diag(lr, r lr) J per grid point, timed on {flat.size} points | "
        f"{flat.size} | {t_points:.2f} | {t_each * 1e3:.2f} | - |"
    )
    print(
        f"| same, extrapolated to all {grid * grid} points (J not counted) | {grid * grid} | "
        f"{t_full:.0f} | {t_each * 1e3:.2f} | {t_full / t_region:.0f} |"
    )
    print(
        f"\nspeed-up: {t_full / t_region:.0f}x (extrapolated from {flat.size} timed points). "
        f"Agreement on those points: max |rho difference| {diff.max():.1e} "
        f"(relative {float((diff / direct).max()):.1e}); spectral radius over the grid "
        f"{radius.min():.4f} .. {radius.max():.3g}, stable (rho < 1) at "
        f"{100 * float(region.stable.mean()):.1f}% of the grid "  # type: ignore[attr-defined]
        "(the point is the game's initial params, not a fixed point). "
        f"Load average (1 min) {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.\n",
        flush=True,
    )
    return {
        "grid": grid,
        "n": n,
        "region_s": t_region,
        "jacobian_s": t_jac,
        "per_point_s": t_each,
        "timed_points": int(flat.size),
        "speedup": t_full / t_region,
        "max_relative_difference": float((diff / direct).max()),
    }


# --------------------------------------------------------------------------- (b)


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        match = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _reset_peak() -> bool:
    """Reset the peak-RSS high-water mark (VmHWM, which ru_maxrss reports) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def timed_cpu(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads, user + system) of ``repeats`` calls.

    The CPU time moves much less than the wall time when other jobs share the machine.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def product_times(
    game: MLPGame, params: tuple[torch.Tensor, ...], repeats: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) of one J^T u and of one J v through a built JacobianOperator, after a warm-up."""
    operator = JacobianOperator(game, params, dtype=torch.float64)
    u = torch.randn(operator.n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    operator.rmatvec(u)
    rmatvec = timed_cpu(lambda: operator.rmatvec(u), repeats)
    operator.matvec(u)  # the first J v also builds the graph of u -> J^T u
    matvec = timed_cpu(lambda: operator.matvec(u), repeats)
    return rmatvec, matvec


def one_size(target: int, repeats: int, mode: str) -> dict[str, object]:
    """Measure one size in this (fresh) process; ``mode``: 'all', 'no-top6' or 'memory'."""
    # warm-up on a small game: first-call costs stay out of the timings and the memory figure
    small = MLPGame(hidden_for(500))
    top_eigenvalues(small, small.params(torch.float64), 10)
    vector_field(small, small.params(torch.float64))
    del small
    gc.collect()
    reset = _reset_peak()
    rss0 = _status_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    load = os.getloadavg()[0]
    game = MLPGame(hidden_for(target))
    params = game.params(torch.float64)
    n = sum(game.sizes)
    xi_times: list[tuple[float, float]] = []
    if mode != "memory":
        # xi is timed just before and just after the top-10 run (median of both), so that
        # a change of machine load during the run shows less in the ratios; its memory
        # (less than the operator's graph) falls inside the measured window
        vector_field(game, params)
        xi_times = [timed_cpu(lambda: vector_field(game, params), 1) for _ in range(repeats)]
    usage_start = resource.getrusage(resource.RUSAGE_SELF)
    start, start_cpu = time.perf_counter(), time.process_time()
    spectrum = top_eigenvalues(game, params, 10, which="magnitude", tol=1e-6)
    t_top10, cpu_top10 = time.perf_counter() - start, time.process_time() - start_cpu
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM, not ru_maxrss: a child's ru_maxrss also counts the parent's RSS at fork time
    # (Linux records the pre-exec high-water mark in signal->maxrss, which clear_refs
    # does not reset)
    peak = _status_kib("VmHWM") if reset else usage1.ru_maxrss
    result: dict[str, object] = {
        "n": n,
        "products": spectrum.products,
        "t_top10": t_top10,
        "cpu_top10": cpu_top10,
        "user": usage1.ru_utime - usage_start.ru_utime,
        "sys": usage1.ru_stime - usage_start.ru_stime,
        "minflt": usage1.ru_minflt - usage_start.ru_minflt,
        "peak_bytes": (peak - rss0) * 1024,
        "peak_method": "VmHWM reset" if reset else "ru_maxrss (not reset)",
        "rss_kib": (rss0, peak, _status_kib("VmRSS")),
        "load": (load, os.getloadavg()[0]),
    }
    if mode == "memory":
        return result

    xi_times += [timed_cpu(lambda: vector_field(game, params), 1) for _ in range(repeats)]
    build = timed_cpu(lambda: JacobianOperator(game, params, dtype=torch.float64), 3)
    rmatvec, matvec = product_times(game, params, repeats)
    result.update(
        xi=(statistics.median(t for t, _ in xi_times), statistics.median(c for _, c in xi_times)),
        build=build,
        rmatvec=rmatvec,
        matvec=matvec,
        load=(load, os.getloadavg()[0]),
    )
    if mode == "all":
        for which in ("magnitude", "imaginary"):
            t, s = timed(lambda w=which: top_eigenvalues(game, params, 6, which=w, tol=1e-6), 1)
            result[f"top6_{which}"] = (s.products, t)  # type: ignore[attr-defined]
    return result


def run_child(target: int, args: argparse.Namespace, mode: str, env: dict[str, str]) -> dict:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--one-size",
        str(target),
        "--mode",
        mode,
        "--repeats",
        str(args.repeats if target < 500_000 else 3),
        "--threads",
        str(args.threads),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, timeout=3600
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"--one-size {target} failed:\n{done.stdout}\n{done.stderr}")


def dense_check() -> str:
    """Top-10 by ARPACK against dense LAPACK at n = 498 (relative distance to nearest)."""
    game = MLPGame(hidden_for(500))
    params = game.params(torch.float64)
    arpack = top_eigenvalues(game, params, 10).values
    dense = np.linalg.eigvals(jacobian(game, params).matrix.numpy())
    worst = max(float(np.abs(dense - v).min() / abs(v)) for v in arpack)
    top10 = np.sort(np.abs(dense))[::-1][:10]
    same = np.allclose(np.sort(np.abs(arpack))[::-1], top10, rtol=1e-6)
    return f"ARPACK top-10 vs dense eigvals at n = 498: max relative distance {worst:.1e}, same magnitudes: {same}"


def spectra_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    print(
        "## (b) Top-10 eigenvalues by magnitude, matrix-free (ARPACK on J^T u), "
        "float64, batch 256, tol 1e-6\n"
    )
    print(dense_check() + "\n", flush=True)
    header = (
        "| n | allocator | products | wall (s) | one xi (ms) | graph build (xi) | "
        "per product in ARPACK, (top-10 - build) / products (xi) | J^T u alone (xi) | "
        "J v alone (xi) | user / sys CPU (s) | minor page faults | load avg (start, end) |"
    )
    print(
        "Each time is given as wall / CPU (all threads, user + system; the CPU figures move "
        "less when other jobs share the machine); the ratios are to one xi measured the "
        "same way.\n"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    runs = [(n, "all" if n <= args.top6_max_n else "no-top6", {}) for n in args.sizes]
    if args.no_mmap_run:
        runs += [(n, "no-top6", NO_MMAP) for n in args.sizes]
    timing = []
    for target, mode, env in runs:
        r = run_child(target, args, mode, env)
        r["allocator"] = "glibc, mmap off" if env else "default"
        timing.append(r)
        (xi, xi_cpu), (build, build_cpu) = r["xi"], r["build"]
        per = (r["t_top10"] - build) / r["products"] / xi
        per_cpu = (r["cpu_top10"] - build_cpu) / r["products"] / xi_cpu
        print(
            f"| {r['n']:,} | {r['allocator']} | {r['products']} | "
            f"{r['t_top10']:.2f} / {r['cpu_top10']:.2f} | {xi * 1e3:.1f} / {xi_cpu * 1e3:.1f} | "
            f"{build / xi:.2f} / {build_cpu / xi_cpu:.2f} | {per:.2f} / {per_cpu:.2f} | "
            f"{r['rmatvec'][0] / xi:.2f} / {r['rmatvec'][1] / xi_cpu:.2f} | "
            f"{r['matvec'][0] / xi:.2f} / {r['matvec'][1] / xi_cpu:.2f} | "
            f"{r['user']:.1f} / {r['sys']:.1f} | {r['minflt']:,} | "
            f"{r['load'][0]:.1f}, {r['load'][1]:.1f} |",
            flush=True,
        )

    print(
        "\n### Peak memory of the top-10 run (fresh process per size; game, params, graph, "
        f"ARPACK; {timing[0]['peak_method']})\n\n"
        "| n | allocator | peak RSS increase (MB) | bytes / param |\n|---|---|---|---|"
    )
    fixed = [run_child(n, args, "memory", MMAP_ALWAYS) for n in args.sizes]
    for r in fixed:
        r["allocator"] = "glibc, mmap threshold fixed at 64 KiB"
    for r in sorted(timing + fixed, key=lambda r: (r["n"], r["allocator"])):
        print(
            f"| {r['n']:,} | {r['allocator']} | {r['peak_bytes'] / 1e6:.0f} | "
            f"{r['peak_bytes'] / r['n']:.0f} |"
        )
    print(
        "\nWith the threshold fixed, every buffer of 64 KiB or more is mmapped and returned to "
        "the system when freed, so the RSS peak is the peak of live memory; by default glibc "
        "moves its threshold up to 32 MiB and keeps freed buffers below it resident."
    )
    for label, series in (("fixed threshold", fixed), ("default", timing[: len(args.sizes)])):
        for a, b in itertools.pairwise(series):
            slope = (b["peak_bytes"] - a["peak_bytes"]) / (b["n"] - a["n"])
            print(
                f"{label}: marginal bytes per parameter from n = {a['n']:,} to {b['n']:,}: "
                f"{slope:.0f} (fixed part implied: {(a['peak_bytes'] - slope * a['n']) / 1e6:.0f} MB)"
            )

    print(
        "\n### Products for the top-6 at tol 1e-6 (target <= 40)\n\n"
        "| n | by magnitude: products | time (s) | by imaginary part: products | time (s) |\n"
        "|---|---|---|---|---|"
    )
    for r in timing:
        if "top6_magnitude" in r:
            (pm, tm), (pi, ti) = r["top6_magnitude"], r["top6_imaginary"]
            print(f"| {r['n']:,} | {pm} | {tm:.2f} | {pi} | {ti:.2f} |")
    skipped = [r["n"] for r in timing[: len(args.sizes)] if "top6_magnitude" not in r]
    if skipped:
        print(f"\n(top-6 not run at n = {', '.join(f'{n:,}' for n in skipped)}: --top6-max-n)")
    return {"timing": timing, "memory": fixed}


def ratios_of(region: dict[str, Any] | None, spectra: dict[str, Any]) -> list[Ratio]:
    """The figures of both parts as ratios (targets where the issue or the docs set one)."""
    out = []
    if region is not None:
        out.append(
            Ratio(
                f"stability region {region['grid']} x {region['grid']}: per-point eigvals "
                "/ analyses.stability_region (extrapolated)",
                region["speedup"],
                detail=f"n = {region['n']}, agreement {region['max_relative_difference']:.1e}",
            )
        )
    for r in spectra["timing"]:
        if r.get("allocator") != "default":
            continue
        xi, build = r["xi"][0], r["build"][0]
        out.append(
            Ratio(
                f"ARPACK product J^T u / field evaluation, n = {r['n']:,}",
                (r["t_top10"] - build) / r["products"] / xi,
                detail=f"{r['products']} products for the top-10",
            )
        )
        if "top6_magnitude" in r:
            for key, label in (("top6_magnitude", "magnitude"), ("top6_imaginary", "imaginary")):
                out.append(
                    Ratio(
                        f"products for the top-6 by {label}, tol 1e-6, n = {r['n']:,}",
                        float(r[key][0]),
                        40,
                    )
                )
    for r in spectra["memory"]:
        out.append(
            Ratio(
                f"peak memory of the top-10 run, bytes per parameter, n = {r['n']:,}",
                r["peak_bytes"] / r["n"],
                detail="glibc mmap threshold fixed at 64 KiB",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", type=int, help="grid side (default 200, quick 50)")
    parser.add_argument(
        "--baseline-points", type=int, help="points timed per point (default 200, quick 50)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="default 10^4 10^5 10^6 (quick: 10^4 10^5)"
    )
    parser.add_argument(
        "--top6-max-n", type=int, default=10**7, help="top-6 runs only up to this n"
    )
    parser.add_argument("--repeats", type=int, default=10)
    add_arguments(parser)
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="all", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-mmap-run",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rerun every size with glibc's mmap off (default: full mode only)",
    )
    parser.add_argument("--skip-region", action="store_true", help="only part (b)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one_size is not None:
        result = one_size(args.one_size, args.repeats, args.mode)
        print("RESULT " + json.dumps(result), flush=True)
        return
    args.grid = args.grid or (50 if args.quick else 200)
    args.baseline_points = args.baseline_points or (50 if args.quick else 200)
    args.sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    if args.no_mmap_run is None:
        args.no_mmap_run = not args.quick
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{'quick' if args.quick else 'full'} mode\n"
    )
    start = time.perf_counter()
    region = None if args.skip_region else region_benchmark(args.grid, args.baseline_points)
    spectra = spectra_benchmark(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    write(
        "spectra",
        args,
        ratios_of(region, spectra),
        {"region": region, **spectra},
        parameters={
            "grid": args.grid,
            "baseline_points": args.baseline_points,
            "sizes": args.sizes,
            "repeats": args.repeats,
        },
    )


if __name__ == "__main__":
    main()
