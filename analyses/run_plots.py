"""The figures of one training run folder (``gamedyn train`` or :class:`gan_models.Trainer`).

:func:`read_run` gathers what a run folder holds — ``log.jsonl`` (losses, ‖ξ‖ and the mode
evaluations), ``samples/step_XXXXXXX.pt`` (generated samples per evaluation), the
configuration stored in ``checkpoint.pt`` and, when present, ``spectra.jsonl`` — and
:func:`plot_run` draws it:

- ``samples``: the samples of up to six evaluations spread over the run, on one axis range
  (image runs: a grid of images per evaluation);
- ``coverage``: modes covered, robust modes and high-quality samples over training, and the
  dominant share of each evaluation (concentrated at ≥ 1/2); for image runs modes covered
  and confidently classified samples, with the reverse KL and the FID;
- ``mode_hopping``: the mode-hopping graph of the concentrated evaluations only;
- ``mode_histogram`` (image runs: digits, stacked digits): the samples of the last
  evaluation per mode, classified by :func:`analyses.digit_classifier`;
- ``losses``: both players' losses and ‖ξ‖ over training;
- ``spectra``: the spectra along training (only when ``spectra.jsonl`` exists).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .hopping import ModeHoppingGraphDisplay, dominant_modes
from .image_plots import ImageGridDisplay, ModeHistogramDisplay
from .mode_plots import CoverageDisplay, SamplesDisplay
from .modes import ModeCoverage

__all__ = ["RUN_FIGURES", "RunRecord", "plot_run", "read_run"]

RUN_FIGURES = ("samples", "coverage", "mode_hopping", "mode_histogram", "losses", "spectra")
"""The figures :func:`plot_run` can draw, in order (``spectra`` needs ``spectra.jsonl``)."""

_FORMATS = ("png", "svg", "pdf")


@dataclass
class RunRecord:
    """What :func:`read_run` found in a run folder.

    Attributes
    ----------
    path : pathlib.Path
        The run folder.
    log : list of dict
        One record per logged step, in step order (records of the same step merged).
    evaluations : list of (int, ModeCoverage)
        The steps with a mode evaluation and what it measured.
    samples : dict of int to numpy.ndarray
        Generated samples per evaluation step, ``(n, d)``.
    modes : numpy.ndarray or None
        The data's mode centres ``(K, d)``, from the stored configuration.
    stds : numpy.ndarray or None
        The data's standard deviation per mode ``(K,)``.
    config : dict or None
        The resolved training configuration stored in the checkpoint.
    spectra : pathlib.Path or None
        ``spectra.jsonl`` when the run recorded spectra.
    image_channels : int or None
        Digits per image for an image run (``digits``: 1, ``stacked_digits``: 3), else None.
    """

    path: Path
    log: list[dict[str, Any]]
    evaluations: list[tuple[int, ModeCoverage]]
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    modes: np.ndarray | None = None
    stds: np.ndarray | None = None
    config: dict[str, Any] | None = None
    spectra: Path | None = None
    image_channels: int | None = None

    @property
    def image_evaluations(self) -> list[dict[str, Any]]:
        """The log records of an image run's evaluations (:func:`digit_evaluator` keys)."""
        keys = ("modes_covered", "n_modes", "high_quality_percent")
        return [r for r in self.log if all(k in r for k in keys)] if self.image_channels else []


def _read_log(path: Path) -> list[dict[str, Any]]:
    """``log.jsonl`` by step: a cut-off last line (a kill mid-write) is skipped."""
    from gan_models import jsonio

    by_step: dict[int, dict[str, Any]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = jsonio.loads(line)
        except ValueError:
            if number == len(lines):  # the last line cut short: what a resume repairs
                break
            raise ValueError(f"run: {str(path)!r} line {number} is not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            raise ValueError(f"run: {str(path)!r} line {number} has no integer 'step'")
        by_step.setdefault(record["step"], {}).update(record)
    return [by_step[s] for s in sorted(by_step)]


def read_run(run: str | os.PathLike[str]) -> RunRecord:
    """Read a run folder written by :class:`gan_models.Trainer` (``gamedyn train``).

    Parameters
    ----------
    run : path
        The folder holding ``log.jsonl`` (and usually ``checkpoint.pt`` and ``samples/``).

    Returns
    -------
    RunRecord

    Raises
    ------
    ValueError
        If ``run`` is not a folder with a readable ``log.jsonl``.
    """
    import torch

    from gan_models import GaussianMixture, ImageData, TrainConfig, build_data, load_checkpoint

    path = Path(run)
    if not path.is_dir():
        raise ValueError(f"run: expected a run folder, got {str(path)!r} (no such folder)")
    log_path = path / "log.jsonl"
    if not log_path.is_file():
        raise ValueError(f"run: {str(path)!r} holds no log.jsonl (not a training run folder)")
    log = _read_log(log_path)
    evaluations = [
        (int(r["step"]), ModeCoverage.from_dict(r))
        for r in log
        if all(k in r for k in ("counts", "nearest_counts", "high_quality"))
    ]
    samples: dict[int, np.ndarray] = {}
    folder = path / "samples"
    if folder.is_dir():
        for file in sorted(folder.glob("step_*.pt")):
            try:
                state = torch.load(file, map_location="cpu", weights_only=True)
                samples[int(state["step"])] = np.asarray(state["samples"], dtype=np.float64)
            except Exception as error:  # one unreadable file should not hide the rest
                raise ValueError(
                    f"run: cannot read the samples file {str(file)!r} ({error})"
                ) from None
    modes = stds = config = channels = None
    if (path / "checkpoint.pt").is_file():
        state = load_checkpoint(path / "checkpoint.pt")
        raw = state.get("config")
        config = json.loads(raw) if isinstance(raw, str) else raw
        data = build_data(TrainConfig.from_dict(config)) if isinstance(config, dict) else None
        if isinstance(data, GaussianMixture):  # image data have no modes to draw
            modes = data.modes.detach().cpu().numpy().astype(np.float64)
            stds = data.stds.detach().cpu().numpy().astype(np.float64)
        elif isinstance(data, ImageData):
            channels = data.channels
    spectra = path / "spectra.jsonl"
    return RunRecord(
        path,
        log,
        evaluations,
        samples,
        modes,
        stds,
        config,
        spectra if spectra.is_file() else None,
        channels,
    )


def _spread(count: int, available: Sequence[int]) -> list[int]:
    """Up to ``count`` entries of ``available`` evenly spread, first and last included."""
    if len(available) <= count:
        return list(available)
    picks = np.linspace(0, len(available) - 1, count).round().astype(int)
    return [available[i] for i in dict.fromkeys(picks.tolist())]


def _samples_figure(record: RunRecord, panels: int) -> Any:
    import matplotlib.pyplot as plt

    steps = _spread(panels, sorted(record.samples))
    if record.image_channels:
        return _image_samples_figure(record, steps)
    coverage = dict(record.evaluations)
    fig, axes = plt.subplots(1, len(steps), figsize=(3.6 * len(steps), 3.8), squeeze=False)
    axes = axes[0]
    dim = next(iter(record.samples.values())).shape[1]
    modes, stds = record.modes, record.stds
    if modes is not None and stds is not None:
        reach = np.abs(modes).max() + 4 * float(np.max(stds)) + 0.25
    else:
        reach = float(np.quantile(np.abs(np.concatenate(list(record.samples.values()))), 0.99))
    for ax, step in zip(axes, steps):
        x = record.samples[step]
        cov = coverage.get(step)
        share = f", share {cov.dominant_share:.2f}" if cov is not None else ""
        if dim == 2 and modes is not None and stds is not None:
            SamplesDisplay.from_samples(x, modes, stds, title=f"step {step}{share}").plot(ax=ax)
            ax.get_legend().remove()
            ax.set_aspect("equal", adjustable="box")
            ax.set_xlim(-reach, reach)
            ax.set_ylim(-reach, reach)
        else:
            ax.hist(x[:, 0], bins=60, range=(-reach, reach), color="tab:blue")
            if modes is not None:
                for m in modes[:, 0]:
                    ax.axvline(m, color="black", linewidth=0.8)
            ax.set_xlim(-reach, reach)
            ax.set_xlabel("x[0]")
            ax.set_title(f"step {step}{share}")
    fig.suptitle(
        f"{record.path.name}: generated samples at {len(steps)} evaluations (one axis range"
        + ("; circles: 3 std around each mode)" if dim == 2 else "; lines: the modes)")
    )
    fig.tight_layout()
    return fig


def _image_samples_figure(record: RunRecord, steps: Sequence[int]) -> Any:
    import matplotlib.pyplot as plt

    assert record.image_channels is not None
    fig, axes = plt.subplots(1, len(steps), figsize=(3.4 * len(steps), 3.8), squeeze=False)
    for ax, step in zip(axes[0], steps):
        ImageGridDisplay.from_samples(
            record.samples[step], channels=record.image_channels, title=f"step {step}"
        ).plot(ax=ax)
    fig.suptitle(f"{record.path.name}: the first 64 generated images at {len(steps)} evaluations")
    fig.tight_layout()
    return fig


def _image_coverage_figure(record: RunRecord) -> Any:
    import matplotlib.pyplot as plt

    evaluations = record.image_evaluations
    steps = np.array([r["step"] for r in evaluations], dtype=np.float64)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    CoverageDisplay(
        steps,
        np.array([r["modes_covered"] for r in evaluations], dtype=np.int64),
        np.array([r["high_quality_percent"] for r in evaluations], dtype=np.float64),
        int(evaluations[0]["n_modes"]),
        "modes covered and high quality (confidently classified)",
    ).plot(ax=left)
    kl = [(r["step"], r["reverse_kl"]) for r in evaluations if "reverse_kl" in r]
    if kl:
        right.plot(*zip(*kl), "o-", markersize=3, color="tab:purple", label="reverse KL")
    right.set_xlabel("step")
    right.set_ylabel("KL(mode histogram || uniform)")
    fid = [(r["step"], r["fid"]) for r in evaluations if isinstance(r.get("fid"), (int, float))]
    if fid:
        twin = right.twinx()
        twin.plot(*zip(*fid), "s-", markersize=3, color="tab:green", label="FID (classifier)")
        twin.set_ylabel("Fréchet distance, classifier features")
        twin.legend(fontsize=8, loc="upper center")
    right.legend(fontsize=8, loc="upper right")
    right.set_title("reverse KL of the mode histogram and the FID")
    fig.tight_layout()
    return fig


def _histogram_figure(record: RunRecord) -> Any:
    import matplotlib.pyplot as plt

    from .digits import digit_classifier, digit_coverage

    assert record.image_channels is not None
    step = max(record.samples)
    out = digit_coverage(record.samples[step], digit_classifier(), channels=record.image_channels)
    fig, ax = plt.subplots(figsize=(9, 4))
    display = ModeHistogramDisplay.from_histogram(out["histogram"])
    display.title = (
        f"step {step}: {len(record.samples[step])} samples over {out['n_modes']} modes; "
        f"{display.modes_hit} hit, {out['modes']} with a confident sample, "
        f"reverse KL {display.reverse_kl:.3f}"
    )
    display.plot(ax=ax)
    fig.tight_layout()
    return fig


def _coverage_figure(record: RunRecord) -> Any:
    import matplotlib.pyplot as plt

    if record.image_channels:
        return _image_coverage_figure(record)

    steps = [s for s, _ in record.evaluations]
    covs = [c for _, c in record.evaluations]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    display = CoverageDisplay.from_coverages(
        steps, covs, title="modes covered and high quality"
    ).plot(ax=left)
    (robust,) = left.plot(
        steps, [c.modes_robust for c in covs], color="tab:green", marker="^", markersize=3
    )
    robust.set_label("robust modes (≥ 1 % of samples)")
    left.legend(handles=[display.line_modes_, robust, display.line_hq_], fontsize=8)
    share = [c.dominant_share for c in covs]
    right.plot(steps, share, "o-", markersize=3, color="tab:purple")
    right.axhline(0.5, color="black", linewidth=0.8, ls="--", label="concentrated: ≥ 1/2")
    right.legend(fontsize=8)
    right.set_ylim(0, 1.02)
    right.set_xlabel("step")
    right.set_ylabel("dominant share (all samples)")
    concentrated = sum(c.concentrated for c in covs)
    right.set_title(f"dominant share: {concentrated} of {len(covs)} evaluations concentrated")
    fig.tight_layout()
    return fig


def _hopping_figure(record: RunRecord) -> Any:
    import matplotlib.pyplot as plt

    covs = [c for _, c in record.evaluations]
    dominant = dominant_modes(covs)
    concentrated = sum(d is not None for d in dominant)
    modes = record.modes if record.modes is not None and record.modes.shape[1] == 2 else None
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    ModeHoppingGraphDisplay.from_dominant_modes(
        dominant,
        modes,
        title=f"mode hopping over the {concentrated} concentrated evaluations of {len(covs)}\n",
    ).plot(ax=ax)
    fig.tight_layout()
    return fig


def _losses_figure(record: RunRecord) -> Any:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for key, label in (("loss_generator", "generator"), ("loss_discriminator", "discriminator")):
        points = [(r["step"], r[key]) for r in record.log if isinstance(r.get(key), (int, float))]
        if points:
            left.plot(*zip(*points), label=label)
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.set_title("losses")
    left.legend(fontsize=8)
    points = [(r["step"], r["xi_norm"]) for r in record.log if isinstance(r.get("xi_norm"), float)]
    if points:
        right.semilogy(*zip(*points), "o-", markersize=3)
    right.set_xlabel("step")
    right.set_ylabel("‖ξ‖")
    right.set_title("norm of the simultaneous gradient at the evaluations")
    fig.tight_layout()
    return fig


def plot_run(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ("png", "svg"),
    figures: Sequence[str] | None = None,
    panels: int = 6,
) -> dict[str, list[Path]]:
    """Draw the figures of a run folder into ``out``.

    Parameters
    ----------
    run : path
        A run folder (``log.jsonl``, ``samples/``, ``checkpoint.pt``; ``spectra.jsonl``
        when spectra were recorded).
    out : path
        Folder for the figures (created if missing); files are named ``<figure>.<format>``.
    formats : sequence of {"png", "svg", "pdf"}
        The file formats written for every figure.
    figures : sequence of str, optional
        Names from :data:`RUN_FIGURES` (default: every figure the run has data for).
    panels : int
        The most evaluations shown in the samples figure (default 6).

    Returns
    -------
    dict of str to list of pathlib.Path
        The files written, per figure.

    Raises
    ------
    ValueError
        If the run folder cannot be read, or an argument is not valid.

    Notes
    -----
    The mode-hopping graph uses the concentrated evaluations only (dominant share
    ≥ 1/2); its title says how many there were. The samples figure uses one axis range
    for every panel.
    """
    import matplotlib.pyplot as plt

    formats = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in formats if f not in _FORMATS]
    if bad or not formats:
        raise ValueError(f"formats: expected some of {', '.join(_FORMATS)}, got {formats!r}")
    if isinstance(panels, bool) or not isinstance(panels, int) or panels < 1:
        raise ValueError(f"panels: expected an int >= 1, got {panels!r}")
    if figures is not None:
        figures = [figures] if isinstance(figures, str) else list(figures)
        unknown = [f for f in figures if f not in RUN_FIGURES]
        if unknown or not figures:
            raise ValueError(f"figures: expected some of {', '.join(RUN_FIGURES)}, got {figures!r}")
    record = read_run(run)
    available = {
        "samples": bool(record.samples),
        "coverage": bool(record.evaluations or record.image_evaluations),
        "mode_hopping": bool(record.evaluations),
        "mode_histogram": bool(record.image_channels and record.samples),
        "losses": bool(record.log),
        "spectra": record.spectra is not None,
    }
    if figures is None:
        chosen = [f for f in RUN_FIGURES if available[f]]
    else:
        missing = [f for f in figures if not available[f]]
        if missing:
            raise ValueError(
                f"figures: the run {str(record.path)!r} has no data for {', '.join(missing)}"
            )
        chosen = list(figures)
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise ValueError(f"out: expected a folder, got the existing file {str(out_path)!r}")
    out_path.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for name in chosen:
        if name == "samples":
            fig = _samples_figure(record, panels)
        elif name == "coverage":
            fig = _coverage_figure(record)
        elif name == "mode_hopping":
            fig = _hopping_figure(record)
        elif name == "mode_histogram":
            fig = _histogram_figure(record)
        elif name == "losses":
            fig = _losses_figure(record)
        else:
            from .training import SpectraAlongTrainingDisplay

            assert record.spectra is not None
            display = SpectraAlongTrainingDisplay.from_log(record.spectra).plot()
            fig = display.figure_
        written[name] = []
        for fmt in formats:
            target = out_path / f"{name}.{fmt}"
            fig.savefig(target, dpi=110)
            written[name].append(target)
        plt.close(fig)
    return written
