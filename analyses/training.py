r"""Spectra along training, after Berard et al. (2020): the landscape every N steps.

Every ``every`` steps of a :class:`gan_models.Trainer`, :class:`SpectraRecorder` computes
the top-``k`` eigenvalues of the game Jacobian :math:`J = \partial\xi/\partial\theta`
(ARPACK, by largest magnitude and by largest imaginary part: the rotation) and both ends
of each player's own Hessian :math:`\nabla^2_{\theta_i}\ell_i` (Lanczos), on one *fixed*
evaluation batch (:meth:`games.ParameterizedGAN.at_batch`), so successive spectra differ
only because the parameters moved.  Records go to ``spectra.jsonl`` next to the trainer's
``log.jsonl`` (one JSON object per line, see :func:`spectra_record`);
:class:`SpectraAlongTrainingDisplay` plots them.  The recorder draws nothing from the
training streams and leaves the networks' buffers as it found them: training is
bit-for-bit the same with and without it.  The same record from a saved checkpoint:
:func:`checkpoint_game` then :func:`spectra_record`.  The path angle: :mod:`analyses.path_angle`.

References
----------
H. Berard, G. Gidel, A. Almahairi, P. Vincent, S. Lacoste-Julien.  A closer look at the
optimization landscapes of generative adversarial networks.  ICLR 2020.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from games import Game, JacobianOperator, validate_params

from .checkpoints import checkpoint_game, fixed_batch_game
from .plots import _axes
from .spectra import _PureForward, hessian_eigenvalues, top_eigenvalues
from .spectra_log import SPECTRA_LOG, _step_of, load_spectra_log

if TYPE_CHECKING:
    from games import ParameterizedGAN
    from gan_models import TrainConfig, Trainer

__all__ = [
    "SPECTRA_LOG",
    "SpectraAlongTrainingDisplay",
    "SpectraRecorder",
    "checkpoint_game",
    "load_spectra_log",
    "spectra_record",
]

_JACOBIAN_WHICH = ("magnitude", "imaginary", "largest_real", "smallest_real")


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
    return int(value)


def _which_tuple(which: str | Sequence[str]) -> tuple[str, ...]:
    names = (which,) if isinstance(which, str) else tuple(which)
    if not names or any(w not in _JACOBIAN_WHICH for w in names):
        raise ValueError(f"which: expected one or more of {_JACOBIAN_WHICH}, got {which!r}")
    return names


# -- one spectrum record ------------------------------------------------------------------------


def spectra_record(
    game: Game,
    params: Sequence[torch.Tensor],
    *,
    k: int = 6,
    which: str | Sequence[str] = ("magnitude", "imaginary"),
    hessian_k: int = 4,
    tol: float = 1e-6,
    seed: int = 0,
    step: int | None = None,
    starts: dict[str, np.ndarray] | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, Any]:
    r"""Top eigenvalues of :math:`J` and both ends of each player's Hessian, as one JSON-ready record.

    Parameters
    ----------
    game : Game
        A deterministic game (for a GAN: a fixed-batch
        :class:`games.ParameterizedGAN`, see :meth:`~games.ParameterizedGAN.at_batch`).
    params : sequence of torch.Tensor
        The point (converted to ``dtype``).
    k : int
        Eigenvalues of :math:`J` per ``which`` (capped at ``n - 2``).
    which : str or sequence of str
        ``'magnitude'``, ``'imaginary'``, ``'largest_real'``, ``'smallest_real'`` (see
        :func:`analyses.top_eigenvalues`); one ARPACK run each.
    hessian_k : int
        Eigenvalues of each player's own Hessian, half from each end (Lanczos; capped
        at the player's size minus 1; 0 skips the Hessians).
    tol, seed
        ARPACK's tolerance and starting-vector seed.
    step : int, optional
        Stored as ``record["step"]``.
    starts : dict, optional
        Warm starts along training: ARPACK's starting vectors by spectrum
        (``"jacobian/magnitude"``, ``"hessian/generator"``, ...), read (where present)
        and replaced in place by each spectrum's :attr:`Spectrum.start`.  Without it
        every run starts from the seeded vector.
    dtype : torch.dtype
        The products' precision: float64 (default) or float32, eigenvalues to about
        1e-5 relative (use ``tol >= 1e-5``); ARPACK works in float64.

    Every product of the record comes from one :class:`games.JacobianOperator` (the
    field's graph built once per record, the Hessians through the same operator).

    Returns
    -------
    dict
        ``step``, ``field_norm`` (:math:`\|\xi\|`), ``losses`` (player -> loss),
        ``jacobian`` (which -> list of ``[re, im]``), ``hessian`` (player -> eigenvalues,
        decreasing), ``products`` (Jacobian-vector products), ``seconds`` and
        ``converged`` (False if ARPACK stopped early: only the converged values are kept).

    Examples
    --------
    >>> from games import Quadratic
    >>> game = Quadratic.zero_sum([[1.0, 0.0], [0.0, 2.0]], [[3.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    >>> record = spectra_record(game, game.equilibrium(), k=2, which="imaginary", hessian_k=0)
    >>> [[round(re, 6), round(im, 6)] for re, im in record["jacobian"]["imaginary"]]
    [[1.0, 3.0], [1.0, -3.0]]
    """
    from scipy.sparse.linalg import ArpackNoConvergence

    names = _which_tuple(which)
    k = _positive_int(k, "k")
    if isinstance(hessian_k, bool) or not isinstance(hessian_k, (int, np.integer)) or hessian_k < 0:
        raise ValueError(f"hessian_k: expected an int >= 0, got {hessian_k!r}")
    params = validate_params(game, params)
    if dtype not in (torch.float64, torch.float32):
        raise TypeError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
    point = tuple(p.detach().to(dtype) for p in params)
    n = int(sum(game.sizes))
    tick = time.perf_counter()
    record: dict[str, Any] = {"step": step, "players": list(game.players)}
    products, converged = 0, True
    with _PureForward(game):
        with torch.no_grad():
            losses = game.losses(point)
        operator = JacobianOperator(game, point, dtype=dtype)
        xi = operator.field
        record["field_norm"] = float(torch.linalg.vector_norm(xi))
        record["losses"] = {p: float(v) for p, v in zip(game.players, losses)}
        jac: dict[str, list[list[float]]] = {}
        count = min(k, n - 2)
        for name in names:
            if count < 1:
                jac[name] = []
                continue
            key = f"jacobian/{name}"
            try:
                spectrum = top_eigenvalues(
                    game,
                    point,
                    count,
                    which=name,
                    tol=tol,
                    seed=seed,
                    v0=_start(starts, key, n),
                    operator=operator,
                    return_start=starts is not None and key != "jacobian/imaginary",
                )
                values = spectrum.values
                _keep(starts, key, spectrum.start)
            except ArpackNoConvergence as error:
                values, converged = np.asarray(error.eigenvalues, dtype=complex), False
            jac[name] = [[float(v.real), float(v.imag)] for v in values]
        record["jacobian"] = jac
        hess: dict[str, list[float]] = {}
        for i, (player, size) in enumerate(zip(game.players, game.sizes)):
            count = min(int(hessian_k), size - 1)
            if count < 1:
                continue
            key = f"hessian/{player}"
            try:
                spectrum = hessian_eigenvalues(
                    game,
                    point,
                    i,
                    count,
                    which="both_ends" if count >= 2 else "largest",
                    tol=tol,
                    seed=seed,
                    v0=_start(starts, key, size),
                    operator=operator,
                )
                values = spectrum.values
                _keep(starts, key, spectrum.start)
            except ArpackNoConvergence as error:
                values, converged = np.sort(np.asarray(error.eigenvalues))[::-1], False
            hess[player] = [float(np.real(v)) for v in values]
        record["hessian"] = hess
        products = operator.products
    record["products"], record["dtype"] = int(products), str(dtype).removeprefix("torch.")
    record["converged"] = converged
    record["seconds"] = time.perf_counter() - tick
    return record


def _start(starts: dict[str, np.ndarray] | None, key: str, size: int) -> np.ndarray | None:
    # never for 'imaginary' (ARPACK's 'LI' from a Ritz vector can settle on real values)
    start = None if starts is None or key == "jacobian/imaginary" else starts.get(key)
    return start if start is not None and start.shape == (size,) else None


def _keep(starts: dict[str, np.ndarray] | None, key: str, start: np.ndarray | None) -> None:
    if starts is not None and start is not None:
        starts[key] = start


class SpectraRecorder:
    r"""A :class:`gan_models.Trainer` callback: spectra on a fixed batch every ``every`` steps.

    At step 0 and every ``every`` steps (and at the last step) it appends a
    :func:`spectra_record` of the trainer's current parameters, evaluated on one fixed
    batch of the *base* GAN (for an unrolled run: the plain GAN), to :attr:`records` and,
    with an output folder, to ``out_dir/spectra.jsonl`` (:data:`SPECTRA_LOG`).  When a
    run is resumed from a checkpoint, lines beyond the step it restarts from are dropped
    first, as the trainer does with ``log.jsonl``.

    Parameters
    ----------
    every : int
        Record every ``every`` steps.
    k, which, hessian_k, tol, seed
        As for :func:`spectra_record`.
    batch_size : int, optional
        Size of the fixed evaluation batch (default: the training batch size).
    batch_seed : int, optional
        Seed of the fixed batch (default: the game's seed + 1, the same batch as
        ``gamedyn spectrum CHECKPOINT``).
    path : str or pathlib.Path, optional
        Where to write the records (default: ``trainer.out_dir / "spectra.jsonl"``;
        nothing is written when the trainer has no ``out_dir``).
    warm_start : bool
        Start each ARPACK/Lanczos run from the previous record's eigenvectors (the
        ``starts`` of :func:`spectra_record`): fewer products, the same eigenvalues to
        ARPACK's tolerance ``tol``; False starts every record from the seeded vector,
        as :func:`spectra_record` does by default (records then equal the offline ones
        bit for bit).
    dtype : torch.dtype
        The products' precision (:func:`spectra_record`); float32 is cheaper on
        MLPs of some width, not on every network (``docs/benchmarks.md``).

    Examples
    --------
    >>> import io
    >>> from gan_models import TrainConfig, Trainer
    >>> config = TrainConfig.from_dict({"steps": 4, "batch_size": 16, "latent_dim": 2,
    ...     "eval_every": 4, "eval_samples": 16, "generator": {"width": 4},
    ...     "discriminator": {"width": 4}})
    >>> recorder = SpectraRecorder(2, k=2, hessian_k=2)
    >>> _ = Trainer.from_config(config, callbacks=[recorder], stream=io.StringIO()).train()
    >>> [r["step"] for r in recorder.records]
    [0, 2, 4]
    """

    def __init__(
        self,
        every: int,
        *,
        k: int = 6,
        which: str | Sequence[str] = ("magnitude", "imaginary"),
        hessian_k: int = 4,
        batch_size: int | None = None,
        batch_seed: int | None = None,
        tol: float = 1e-6,
        seed: int = 0,
        path: str | Path | None = None,
        warm_start: bool = True,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.every = _positive_int(every, "every")
        self.k = _positive_int(k, "k")
        self.which = _which_tuple(which)
        if isinstance(hessian_k, bool) or not isinstance(hessian_k, int) or hessian_k < 0:
            raise ValueError(f"hessian_k: expected an int >= 0, got {hessian_k!r}")
        self.hessian_k = hessian_k
        self.batch_size = None if batch_size is None else _positive_int(batch_size, "batch_size")
        self.batch_seed = batch_seed
        self.tol, self.seed = tol, seed
        self.path = None if path is None else Path(path)
        self.records: list[dict[str, Any]] = []
        self.warm_start = bool(warm_start)
        if dtype not in (torch.float64, torch.float32):
            raise TypeError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        self.dtype = dtype
        self._starts: dict[str, np.ndarray] = {}
        self._game: ParameterizedGAN | None = None
        self._started = False

    @classmethod
    def from_config(cls, config: TrainConfig) -> SpectraRecorder:
        """The recorder a training configuration's ``[spectra]`` table asks for.

        ``every``, ``k`` and ``which`` are passed on; ``hessians = false`` records no
        Hessian eigenvalues, otherwise ``hessian_k`` at each end.

        Raises
        ------
        ValueError
            If ``config.spectra.every`` is 0 (spectra off).

        Examples
        --------
        >>> from gan_models import TrainConfig
        >>> config = TrainConfig.from_dict({"spectra": {"every": 50, "k": 4, "hessians": False}})
        >>> recorder = SpectraRecorder.from_config(config)
        >>> recorder.every, recorder.k, recorder.which, recorder.hessian_k
        (50, 4, ('magnitude', 'imaginary'), 0)
        """
        section = config.spectra
        if not section.every:
            raise ValueError("config: its [spectra] table is off (every = 0)")
        return cls(
            section.every,
            k=section.k,
            which=tuple(section.which),
            hessian_k=section.hessian_k if section.hessians else 0,
        )

    @property
    def game(self) -> ParameterizedGAN | None:
        """The fixed-batch game the spectra are computed on (None before the first record)."""
        return self._game

    def _target(self, trainer: Trainer) -> Path | None:
        if self.path is not None:
            return self.path
        return None if trainer.out_dir is None else trainer.out_dir / SPECTRA_LOG

    def _trim(self, path: Path | None, first_step: int) -> None:
        # a resumed run recomputes every step after its checkpoint: drop those lines
        self.records = [r for r in self.records if int(r["step"]) < first_step]
        if path is None or not path.is_file():
            return
        text = path.read_text(errors="replace")
        complete = text.splitlines()[: text.count("\n")]  # a last line cut short is dropped
        kept = [line for line in complete if _step_of(line) < first_step]
        path.write_text("".join(line + "\n" for line in kept))

    def __call__(self, step: int, trainer: Trainer) -> None:
        path = self._target(trainer)
        if not self._started:
            self._started = True
            self._trim(path, step)
        if step % self.every != 0 and step != trainer.steps:
            return
        if self._game is None:
            self._game = fixed_batch_game(trainer.base, self.batch_size, self.batch_seed)
        record = spectra_record(
            self._game,
            trainer.params,
            k=self.k,
            which=self.which,
            hessian_k=self.hessian_k,
            tol=self.tol,
            seed=self.seed,
            step=step,
            starts=self._starts if self.warm_start else None,
            dtype=self.dtype,
        )
        record["batch_size"] = self._game.batch_size
        self.records.append(record)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as handle:
                handle.write(json.dumps(record) + "\n")


def _complex(pairs: Iterable[Sequence[float]]) -> np.ndarray:
    return np.array([complex(re, im) for re, im in pairs], dtype=complex)


def _extreme(values: np.ndarray, fn: Any) -> float:
    return float(fn(values)) if values.size else math.nan


@dataclass
class SpectraAlongTrainingDisplay:
    r"""Eigenvalues recorded along training (:class:`SpectraRecorder`): three panels.

    1. The computed eigenvalues of :math:`J` in the complex plane, coloured by step.
    2. Against steps, among the computed eigenvalues of :math:`J`: the largest
       :math:`|\mathrm{Im}\,\lambda|` (rotation), the largest :math:`|\lambda|` and the
       smallest :math:`\mathrm{Re}\,\lambda` (below 0: locally unstable for the flow).
    3. Both ends of each player's Hessian against steps (the smallest below 0: that
       player is not at a local minimum of its own loss).

    Build with :meth:`from_log` (a run folder or ``spectra.jsonl``) or
    :meth:`from_records`; draw with :meth:`plot`.

    Attributes
    ----------
    records : list of dict
        :func:`spectra_record` records, by step.
    """

    records: list[dict[str, Any]]
    title: str = "spectra along training"

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, title: str | None = None
    ) -> SpectraAlongTrainingDisplay:
        ordered = sorted((dict(r) for r in records), key=lambda r: int(r["step"]))
        if not ordered:
            raise ValueError("records: expected at least one spectra record, got none")
        return cls(ordered, title or "spectra along training")

    @classmethod
    def from_log(cls, path: str | Path, *, title: str | None = None) -> SpectraAlongTrainingDisplay:
        """From ``spectra.jsonl`` or the run folder holding it (see :func:`load_spectra_log`)."""
        records = load_spectra_log(path)
        if not records:
            raise ValueError(f"path: the spectra log {str(path)!r} holds no records")
        return cls.from_records(records, title=title)

    @property
    def steps(self) -> np.ndarray:
        return np.array([int(r["step"]) for r in self.records])

    def jacobian_values(self, record: Mapping[str, Any]) -> np.ndarray:
        """Every computed eigenvalue of :math:`J` in one record (each ``which``, deduplicated)."""
        values = np.concatenate(
            [_complex(pairs) for pairs in record["jacobian"].values()] or [np.zeros(0, complex)]
        )
        if values.size:
            values = np.unique(np.round(values, 10))
        return values

    def summary(self) -> dict[str, Any]:
        """Per step: ``max_abs_imag``, ``max_abs``, ``min_real`` (among the computed
        eigenvalues of J) and ``hessian_min``/``hessian_max`` per player."""
        out: dict[str, Any] = {"steps": self.steps}
        for key, fn in (
            ("max_abs_imag", lambda v: np.abs(v.imag).max()),
            ("max_abs", lambda v: np.abs(v).max()),
            ("min_real", lambda v: v.real.min()),
        ):
            out[key] = np.array([_extreme(self.jacobian_values(r), fn) for r in self.records])
        players = list(dict.fromkeys(p for r in self.records for p in r["hessian"]))
        for key, fn in (("hessian_min", np.min), ("hessian_max", np.max)):
            out[key] = {
                p: np.array(
                    [_extreme(np.asarray(r["hessian"].get(p, []), float), fn) for r in self.records]
                )
                for p in players
            }
        return out

    def plot(self, ax: Any = None) -> SpectraAlongTrainingDisplay:
        """Draw on three Axes (a new 1 x 3 figure if None)."""
        import matplotlib as mpl

        axes = _axes(ax, 3, figsize=(16, 4.6), layout="constrained")
        self.axes_, self.figure_ = axes, axes[0].figure
        steps = self.steps
        norm = mpl.colors.Normalize(vmin=float(steps.min()), vmax=float(max(steps.max(), 1)))
        cmap = mpl.colormaps["viridis"]
        plane = axes[0]
        plane.axvline(0.0, color="0.6", linewidth=0.8)
        plane.axhline(0.0, color="0.6", linewidth=0.8)
        xs, ys, cs = [], [], []
        for record, step in zip(self.records, steps):
            values = self.jacobian_values(record)
            xs += values.real.tolist()
            ys += values.imag.tolist()
            cs += [step] * values.size
        self.points_ = plane.scatter(xs, ys, c=cs, cmap=cmap, norm=norm, s=18, zorder=3)
        self.colorbar_ = self.figure_.colorbar(self.points_, ax=plane, label="step")
        plane.set_xlabel("Re(lambda)  (> 0: stable for the flow)")
        plane.set_ylabel("Im(lambda)  (rotation)")
        plane.set_title("top eigenvalues of J, by step")

        s = self.summary()
        self.lines_ = {}
        over = axes[1]
        for key, label, color in (
            ("max_abs_imag", "max |Im lambda|", "tab:purple"),
            ("max_abs", "max |lambda|", "tab:gray"),
            ("min_real", "min Re lambda (of those computed)", "tab:orange"),
        ):
            (self.lines_[key],) = over.plot(
                steps, s[key], "o-", color=color, markersize=3, label=label
            )
        over.axhline(0.0, color="0.6", linewidth=0.8)
        over.set_xlabel("step")
        over.set_ylabel("eigenvalue of J")
        over.set_title("J: rotation and stability along training")
        over.legend(fontsize=8)

        hess = axes[2]
        colors = ("tab:blue", "tab:red", "tab:green")
        for player, color in zip(s["hessian_max"], colors):
            (self.lines_[f"{player}_max"],) = hess.plot(
                steps,
                s["hessian_max"][player],
                "^-",
                color=color,
                markersize=3,
                label=f"{player}: largest",
            )
            (self.lines_[f"{player}_min"],) = hess.plot(
                steps,
                s["hessian_min"][player],
                "v--",
                color=color,
                markersize=3,
                label=f"{player}: smallest",
            )
        hess.axhline(0.0, color="0.3", linewidth=0.8)
        ends = np.abs(
            np.concatenate([v for part in ("hessian_min", "hessian_max") for v in s[part].values()])
        )
        ends = ends[np.isfinite(ends) & (ends > 0)]
        # linear up to the smallest extreme's decade: every curve stays readable
        linthresh = 10.0 ** np.floor(np.log10(ends.min())) if ends.size else 1e-3
        hess.set_yscale("symlog", linthresh=float(linthresh))
        hess.set_xlabel("step")
        hess.set_ylabel("eigenvalue of the player's own Hessian")
        hess.set_title("each player's Hessian: both ends")
        hess.legend(fontsize=8)
        self.figure_.suptitle(self.title)
        return self
