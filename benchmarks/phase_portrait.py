"""Phase portrait of a large neural game: the whole grid in one batched call.

``analyses.PhasePortraitDisplay.from_game`` on a 30 x 30 grid over two coordinates of the
two-player MLP GAN game of ``benchmarks/_mlp_game.py`` (n ~ 10,000 parameters, float32)
evaluates the field at 900 points with one ``torch.func.vmap`` (in chunks of about 13
points).  Its time is divided by 900 bare field evaluations (one shared forward pass and
one ``autograd.grad`` per player, no checks; "xi", the median of at least 20 after
warm-up, measured in the same process): what a Python loop over the grid would cost at
the very least.  For comparison, the same grid as a Python loop over the points of
``games.field_function`` (eager autograd, what the display did before) is timed too.

Ratio and target (issue 18): from_game(30 x 30) / (900 xi) <= 0.2.

    python benchmarks/phase_portrait.py [--quick] [--json PATH] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import _results  # noqa: E402
from _mlp_game import MLPGame, bare_field, hidden_for  # noqa: E402

from analyses import PhasePortraitDisplay  # noqa: E402
from games import field_function, flatten_params  # noqa: E402

TARGET = 0.2


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[dict[str, Any], Any]:
    """Median of ``repeats`` timed calls after ``warmup`` untimed ones (calls of seconds),
    and the last call's result."""
    for _ in range(warmup):
        fn()
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "repeats": repeats, "times_s": times}, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _results.add_arguments(parser)
    parser.add_argument("--n", type=int, default=10_000, help="parameters (default 10,000)")
    parser.add_argument("--resolution", type=int, default=30, help="grid points per axis")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 5
    game = MLPGame(hidden_for(args.n))
    params = game.params(torch.float32)
    n = sum(game.sizes)
    points = args.resolution**2
    # the slice: the generator's first weight against the discriminator's first weight
    coordinates = (0, game.sizes[0])
    around = flatten_params(params)
    xlim = (float(around[0]) - 1.0, float(around[0]) + 1.0)
    ylim = (float(around[game.sizes[0]]) - 1.0, float(around[game.sizes[0]]) + 1.0)

    xi = _results.median_time(lambda: bare_field(game, params), repeats=20, warmup=3)

    def portrait() -> PhasePortraitDisplay:
        return PhasePortraitDisplay.from_game(
            game,
            xlim,
            ylim,
            coordinates=coordinates,
            base=params,
            resolution=args.resolution,
            dtype=torch.float32,
        )

    batched, display = timed(portrait, repeats)

    fieldfn = field_function(game)
    grid = around.repeat(points, 1)
    xs = torch.linspace(*xlim, args.resolution, dtype=torch.float32)
    ys = torch.linspace(*ylim, args.resolution, dtype=torch.float32)
    grid[:, coordinates[0]] = xs.repeat(args.resolution)
    grid[:, coordinates[1]] = ys.repeat_interleave(args.resolution)
    looped, reference = timed(lambda: torch.stack([fieldfn(p) for p in grid]), 1, warmup=0)
    # the display's arrows are -xi at the same grid points (row-major: y outer, x inner)
    u = -reference[:, coordinates[0]].reshape(args.resolution, args.resolution).numpy()
    gap = float(abs(display.u - u).max() / max(abs(u).max(), 1e-30))

    unit = points * xi["median_s"]
    ratios = [
        _results.Ratio(
            f"phase portrait {args.resolution}x{args.resolution} / ({points} xi), n={n}",
            batched["median_s"] / unit,
            TARGET,
            detail=f"xi {1e3 * xi['median_s']:.2f} ms, from_game {batched['median_s']:.2f} s",
        ),
        _results.Ratio(
            f"loop of field_function over the grid / ({points} xi), n={n}",
            looped["median_s"] / unit,
            detail="the per-point loop, for comparison",
        ),
    ]
    print(f"max relative difference of the arrows, batched vs loop: {gap:.1e}")
    _results.write(
        "phase_portrait",
        args,
        ratios,
        {"xi": xi, "from_game": batched, "loop": looped, "max_relative_difference": gap},
        parameters={
            "n": n,
            "resolution": args.resolution,
            "dtype": "float32",
            "coordinates": list(coordinates),
            "repeats": repeats,
        },
    )


if __name__ == "__main__":
    main()
