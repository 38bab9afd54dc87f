"""A checkpoint's game: the GAN a :class:`gan_models.Trainer` saved, rebuilt for analysis.

:func:`checkpoint_game` turns a checkpoint written by a configured trainer (``gamedyn
train``) into a deterministic game and a point: the networks rebuilt from the stored
configuration, the parameters as float64 vectors, one fixed batch
(:func:`fixed_batch_game`, as :class:`analyses.SpectraRecorder` draws it), and with
``unroll = K`` the unrolled game around it (:func:`games.unrolled`).  ``gamedyn
spectrum``, ``stability`` and ``path-angle`` analyse checkpoints through it.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import torch

from games import Game

if TYPE_CHECKING:
    from games import ParameterizedGAN

__all__ = ["checkpoint_game", "fixed_batch_game"]


def fixed_batch_game(
    base: ParameterizedGAN, batch_size: int | None = None, batch_seed: int | None = None
) -> ParameterizedGAN:
    """A fixed-batch copy of a training GAN, for its landscape (spectra, path angles).

    Parameters
    ----------
    base : games.ParameterizedGAN
        The training game (its own minibatch stream is left alone).
    batch_size : int, optional
        The batch's size (default: ``base.batch_size``).
    batch_seed : int, optional
        The seed the batch is drawn from (default: ``base.seed + 1``).

    Returns
    -------
    games.ParameterizedGAN
        :meth:`~games.ParameterizedGAN.at_batch`'s copy, without experience replay
        (replay belongs to training, not to the landscape).
    """
    source = base
    if batch_size is not None and batch_size != base.batch_size:
        source = copy.copy(base)  # a shallow copy: at_batch never draws from its stream
        source.batch_size = batch_size
    game = source.at_batch(seed=base.seed + 1 if batch_seed is None else batch_seed)
    game.replay = None
    return game


@overload
def checkpoint_game(
    path: str | Path,
    *,
    batch_size: int | None = ...,
    batch_seed: int | None = ...,
    unroll: Literal[0] = ...,
    unroll_lr: float | None = ...,
    unroll_inner: str | None = ...,
) -> tuple[ParameterizedGAN, tuple[torch.Tensor, ...], dict[str, Any]]: ...


@overload
def checkpoint_game(
    path: str | Path,
    *,
    batch_size: int | None = ...,
    batch_seed: int | None = ...,
    unroll: int,
    unroll_lr: float | None = ...,
    unroll_inner: str | None = ...,
) -> tuple[Game, tuple[torch.Tensor, ...], dict[str, Any]]: ...


def checkpoint_game(
    path: str | Path,
    *,
    batch_size: int | None = None,
    batch_seed: int | None = None,
    unroll: int = 0,
    unroll_lr: float | None = None,
    unroll_inner: str | None = None,
) -> tuple[Game, tuple[torch.Tensor, ...], dict[str, Any]]:
    """The fixed-batch GAN and float64 point of a checkpoint written by a configured Trainer.

    The networks are rebuilt from the configuration stored in the checkpoint
    (:meth:`gan_models.TrainConfig.from_dict`, :func:`gan_models.build_game`); the batch
    is drawn as :class:`SpectraRecorder` draws it, so ``spectra_record(*checkpoint_game(p)[:2])``
    reproduces the recorder's record at that step.  With ``unroll = K > 0`` the game is
    the unrolled one around that fixed-batch GAN (:func:`games.unrolled`: the generator
    looks ``K`` discriminator steps ahead), with the inner rule, its step size, Adam's
    ``betas`` and ``first_order`` of the stored configuration's ``[unroll]`` and
    ``[optimizer]`` sections, so its spectra at the checkpoint are the landscape an
    unrolled GAN trains on.

    Parameters
    ----------
    path : str or pathlib.Path
        A checkpoint file or a run folder holding ``checkpoint.pt``.
    batch_size, batch_seed : int, optional
        The fixed batch (defaults: the training batch size, the run's seed + 1).
    unroll : int
        Unroll depth ``K >= 0``; 0 (default) is the base GAN.
    unroll_lr : float, optional
        The inner step size (default: the configuration's ``unroll.lr``); with ``unroll > 0``.
    unroll_inner : {"sgd", "adam"}, optional
        The inner rule (default: the configuration's ``unroll.inner``); with ``unroll > 0``.

    Returns
    -------
    (game, point, state)
        ``game`` is a fixed-batch :class:`games.ParameterizedGAN` (unroll 0) or a
        :class:`games.UnrolledGame` around one; ``point`` has one float64 vector per
        player; ``state`` is the loaded checkpoint (``state["step"]`` is its step).

    Raises
    ------
    FileNotFoundError
        No checkpoint at ``path``.
    ValueError
        An unreadable checkpoint, one without a valid configuration or whose parameters
        do not fit the networks it describes, or a bad keyword (the message names it).
    """
    from games import unrolled
    from games.unrolled import INNER_RULES
    from gan_models import ConfigError, TrainConfig, build_game, load_checkpoint, restore_buffers
    from gan_models.trainer import CHECKPOINT

    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    if batch_seed is not None and (isinstance(batch_seed, bool) or not isinstance(batch_seed, int)):
        raise TypeError(f"batch_seed: expected an int, got {batch_seed!r}")
    if batch_seed is not None and not 0 <= batch_seed < 2**63:
        raise ValueError(f"batch_seed: expected an int in [0, 2**63), got {batch_seed}")
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 0:
        raise ValueError(f"unroll: expected an int >= 0 (the unroll depth K), got {unroll!r}")
    for name, value in (("unroll_lr", unroll_lr), ("unroll_inner", unroll_inner)):
        if value is not None and unroll == 0:
            raise ValueError(f"{name}: only with unroll >= 1 (the base GAN has no inner steps)")
    if unroll_lr is not None and not (
        isinstance(unroll_lr, (int, float))
        and not isinstance(unroll_lr, bool)
        and math.isfinite(unroll_lr)
        and unroll_lr > 0
    ):
        raise ValueError(f"unroll_lr: expected a number > 0, got {unroll_lr!r}")
    if unroll_inner is not None and unroll_inner not in INNER_RULES:
        raise ValueError(
            f"unroll_inner: expected one of {', '.join(INNER_RULES)}, got {unroll_inner!r}"
        )

    file = Path(path)
    label = str(file / CHECKPOINT if file.is_dir() else file)
    try:
        state = load_checkpoint(path)
    except ValueError as error:
        cause = error.__context__  # torch.load's own error, when the file is unreadable
        if cause is None:
            raise
        first = " ".join(str(cause).split()).split(". ")[0][:300]
        raise ValueError(
            f"checkpoint: {label!r} is not a readable checkpoint (corrupt, truncated or not "
            f"written by a gan_models.Trainer; torch.load: {first})"
        ) from None
    stored = state.get("config")
    if not isinstance(stored, str) or not stored:
        raise ValueError(
            f"checkpoint: {label!r} holds no training configuration (saved by a Trainer "
            "without config), so its networks cannot be rebuilt"
        )
    try:
        config = TrainConfig.from_dict(json.loads(stored))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"checkpoint: {label!r}: its stored configuration is not valid JSON ({error})"
        ) from None
    except ConfigError as error:
        raise ValueError(f"checkpoint: {label!r}: its stored configuration: {error}") from None
    if batch_size is not None:
        try:
            config = config.replace(batch_size=batch_size)
        except ConfigError as error:
            raise ValueError(f"batch_size: {error}") from None
    try:
        _, base, _ = build_game(config, device="cpu")
    except ConfigError as error:
        raise ValueError(f"checkpoint: {label!r}: its stored configuration: {error}") from None
    params = state.get("params")
    if not (
        isinstance(params, (list, tuple))
        and len(params) == len(base.sizes)
        and all(isinstance(p, torch.Tensor) for p in params)
    ):
        raise ValueError(
            f"checkpoint: {label!r}: expected one parameter tensor per player "
            f"({', '.join(base.players)})"
        )
    sizes = [int(p.numel()) for p in params]
    if sizes != list(base.sizes):
        raise ValueError(
            f"checkpoint: {label!r}: parameter sizes {sizes} do not match the networks "
            f"rebuilt from its configuration {list(base.sizes)}"
        )
    if not all(p.is_floating_point() and bool(torch.isfinite(p).all()) for p in params):
        raise ValueError(f"checkpoint: {label!r}: its parameters hold NaN, Inf or non-floats")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"checkpoint: {label!r}: 'step' must be an int >= 0, got {step!r}")
    try:  # spectral normalisation's vectors, batch-norm statistics: the trained state
        restore_buffers(
            base, state.get("buffers"), lambda m: warnings.warn(f"{label}: {m}", stacklevel=3)
        )
    except ValueError as error:
        raise ValueError(f"checkpoint: {label!r}: {error}") from None
    point = tuple(p.detach().reshape(-1).to(torch.float64) for p in params)
    game: Game = fixed_batch_game(base, None, batch_seed)
    if unroll > 0:
        game = unrolled(
            game,
            unroll,
            lr=config.unroll.lr if unroll_lr is None else float(unroll_lr),
            inner=config.unroll.inner if unroll_inner is None else unroll_inner,
            first_order=config.unroll.first_order,
            betas=tuple(config.optimizer.betas),
        )
    return game, point, state
