"""Checkpoint files: atomic saving, safe loading, and the checks of a loaded training
state (private to :mod:`gan_models`; the public names are re-exported by the package)."""

from __future__ import annotations

import errno
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from dynamics import RuleState

from . import _runfiles

__all__ = [
    "CHECKPOINT",
    "FORMAT",
    "ConfigChanged",
    "TrainingDiverged",
    "check_state",
    "finite_losses",
    "finite_params",
    "finite_state",
    "first_line",
    "load_checkpoint",
    "network_buffers",
    "pack_state",
    "restore_buffers",
    "save_checkpoint",
    "stored_changes",
    "to_device",
    "unpack_state",
]

CHECKPOINT = "checkpoint.pt"
FORMAT = 1


class ConfigChanged(ValueError):
    """A checkpoint was trained with another training-relevant configuration.

    Attributes
    ----------
    changes : dict
        ``{dotted key: [checkpoint's value, this run's value]}``.
    """

    def __init__(self, message: str, changes: Mapping[str, list[Any]]) -> None:
        super().__init__(message)
        self.changes = dict(changes)


class TrainingDiverged(RuntimeError):
    """Losses or parameters became NaN/Inf; the last good checkpoint is kept.

    Attributes
    ----------
    step : int
        The step whose update produced non-finite values.
    checkpoint : pathlib.Path or None
        The last good checkpoint on disk (None without an output folder).
    """

    def __init__(self, message: str, step: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> None:
    """Save ``state`` (tensors, numbers, strings, lists, dicts) atomically with torch.save.

    The file is written to a unique temporary file in the same folder and renamed over
    ``path``: an existing checkpoint stays intact until the new one is complete.

    Raises
    ------
    OSError
        If the file cannot be written (full disk, read-only or missing folder); the
        message names the file, and any earlier checkpoint at ``path`` is unchanged.
    """
    path = Path(path)
    try:
        _runfiles.atomic_write(path, lambda tmp: torch.save(dict(state), tmp))
    except (OSError, RuntimeError) as error:  # torch reports a full disk as RuntimeError
        code = getattr(error, "errno", None) or errno.EIO
        reason = getattr(error, "strerror", None) or first_line(error)
        raise OSError(code, f"checkpoint: cannot write {str(path)!r} ({reason})") from None


def first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] or type(error).__name__


def load_checkpoint(
    path: str | Path, *, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code is unpickled).

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint at ``path``.
    ValueError
        If the file is not a gamedyn checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no such file {str(path)!r}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # a truncated or foreign file
        raise ValueError(
            f"checkpoint: {str(path)!r} is not a readable checkpoint ({error})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"checkpoint: {str(path)!r} is not a gamedyn checkpoint (format {FORMAT})")
    return state


def _networks(game: Any) -> dict[str, torch.nn.Module]:
    """A ParameterizedGAN's networks by player: ``{"generator": G, "discriminator": D}``."""
    return {player: flat.module for player, flat in zip(game.players, (game.G, game.D))}


def network_buffers(game: Any) -> dict[str, dict[str, torch.Tensor]]:
    """Copies of the buffers of a ParameterizedGAN's networks, by player, on the CPU.

    The state a network keeps outside its parameters: spectral normalisation's
    power-iteration vectors ``u, v`` (advanced by every training-mode forward pass),
    batch norm's running statistics.  Exact resume needs them as much as the parameters.
    """
    return {
        player: {name: b.detach().cpu().clone() for name, b in module.named_buffers()}
        for player, module in _networks(game).items()
    }


def restore_buffers(game: Any, stored: Any, note: Callable[[str], None] | None = None) -> None:
    """Copy the network buffers a checkpoint holds into a GAN's networks (in place).

    Parameters
    ----------
    game : games.ParameterizedGAN
        The GAN whose generator and discriminator receive the buffers (e.g. the base
        game :func:`gan_models.build_game` rebuilds from the checkpoint's configuration).
    stored : dict or None
        ``load_checkpoint(path).get("buffers")``: by player, buffer name -> tensor
        (spectral normalisation's power-iteration vectors, batch-norm statistics).
    note : callable, optional
        Told (one line) when ``stored`` is None; default: a :class:`UserWarning`.

    A checkpoint written before checkpoints carried buffers (``stored`` None) changes
    nothing: where the networks have buffers they keep their current values (for a
    freshly built game, those of the initialisation), so a resumed run is not bit-exact
    and a game rebuilt from it is not exactly the trained one; ``note`` is told so.

    Raises
    ------
    ValueError
        If ``stored`` does not hold exactly the networks' buffers, with their shapes.
    """
    networks = _networks(game)
    if stored is None:
        if any(True for m in networks.values() for _ in m.buffers()):
            (note or _warn)(
                "the checkpoint holds no network buffers (written by an older gamedyn): "
                "spectral normalisation's power-iteration vectors restart from their "
                "initial values, so the resumed run is not bit-exact"
            )
        return
    if not isinstance(stored, Mapping) or set(stored) != set(networks):
        raise ValueError(f"checkpoint: 'buffers' must map {sorted(networks)} to their buffers")
    for player, module in networks.items():
        own, saved = dict(module.named_buffers()), stored[player]
        if (
            not isinstance(saved, Mapping)
            or set(saved) != set(own)
            or any(
                not isinstance(saved[k], torch.Tensor) or saved[k].shape != b.shape
                for k, b in own.items()
            )
        ):
            raise ValueError(
                f"checkpoint: the {player}'s buffers do not match the network's "
                f"({sorted(own)} with their shapes)"
            )
    with torch.no_grad():
        for player, module in networks.items():
            for name, buffer in module.named_buffers():
                buffer.copy_(stored[player][name])


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def pack_state(state: Any) -> Any:
    if isinstance(state, RuleState):
        return {"t": state.t, "buffers": [pack_state(b) for b in state.buffers]}
    if isinstance(state, (tuple, list)):
        return [pack_state(s) for s in state]
    return state


def unpack_state(packed: Any) -> Any:
    if isinstance(packed, dict) and set(packed) == {"t", "buffers"}:
        return RuleState(int(packed["t"]), tuple(unpack_state(b) for b in packed["buffers"]))
    if isinstance(packed, list):
        return tuple(unpack_state(p) for p in packed)
    return packed


def to_device(state: Any, device: torch.device) -> Any:
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, RuleState):
        return RuleState(state.t, tuple(to_device(b, device) for b in state.buffers))
    if isinstance(state, tuple):
        return tuple(to_device(s, device) for s in state)
    return state


def finite_params(params: Sequence[torch.Tensor]) -> bool:
    # one sum per player: NaN and Inf propagate into it (and a finite sum that
    # overflows means parameters beyond 1e38, divergence all the same)
    return math.isfinite(float(sum(p.sum() for p in params)))


def finite_losses(game: Any, base: Any, params: Sequence[torch.Tensor]) -> bool:
    """Whether ``game``'s losses at ``params`` are finite; the networks of ``base`` keep
    their buffers (a check before a checkpoint must not advance spectral normalisation's
    power iteration: a run resumed from it would differ from one that never stopped)."""
    saved = [(b, b.detach().clone()) for m in _networks(base).values() for b in m.buffers()]
    try:
        return all(math.isfinite(float(v)) for v in game.losses(params))
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def finite_state(state: Any) -> bool:
    if isinstance(state, torch.Tensor):
        return not state.is_floating_point() or bool(torch.isfinite(state).all())
    if isinstance(state, RuleState):
        return finite_state(state.buffers)
    if isinstance(state, (tuple, list)):
        return all(finite_state(s) for s in state)
    return True


def check_state(state: Mapping[str, Any], sizes: list[int]) -> None:
    """A loaded checkpoint's training state: its keys, step and parameters."""
    missing = [
        key
        for key in ("step", "params", "rule_state", "game_rng", "remedy_rng", "sizes")
        if key not in state
    ]
    if missing:
        raise ValueError(f"checkpoint: it lacks {', '.join(map(repr, missing))}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"checkpoint: 'step' must be an int >= 0, got {step!r}")
    stored = state["sizes"]
    if not isinstance(stored, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in stored
    ):
        raise ValueError(f"checkpoint: 'sizes' must be a list of ints, got {stored!r}")
    if list(stored) != sizes:
        raise ValueError(
            f"checkpoint: parameter sizes {list(stored)} do not match the game's {sizes} "
            "(a checkpoint of other networks: another configuration or output folder)"
        )
    params = state["params"]
    if (
        not isinstance(params, (list, tuple))
        or len(params) != len(sizes)
        or not all(isinstance(p, torch.Tensor) and p.is_floating_point() for p in params)
        or [p.numel() for p in params] != sizes
    ):
        raise ValueError(
            f"checkpoint: 'params' must be {len(sizes)} float tensors of sizes {sizes}"
        )
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise ValueError("checkpoint: its parameters hold NaN or Inf")


def stored_changes(
    state: Mapping[str, Any], config: Mapping[str, Any], label: Path
) -> tuple[dict[str, list[Any]], bool]:
    """The training-relevant differences between a checkpoint's configuration and ``config``.

    Returns ``(changes, hashed)``: ``hashed`` is False for a checkpoint written before
    configuration hashes, whose stored configuration is compared on the keys it has.
    A checkpoint without a stored configuration has no changes.
    """
    stored = state.get("config")
    if not isinstance(stored, str) or not stored:
        return {}, True
    try:
        old = json.loads(stored)
    except json.JSONDecodeError:
        old = None
    if not isinstance(old, dict):
        raise ValueError(
            f"checkpoint: {str(label)!r}: its stored configuration is not a JSON mapping"
        )
    stored_hash = state.get("config_hash")
    if not stored_hash:
        return _runfiles.config_changes(old, config, both_only=True), False
    if stored_hash == _runfiles.config_hash(config):
        return {}, True
    return _runfiles.config_changes(old, config), True
