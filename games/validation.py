"""Argument checks shared by the game constructors and the packages above ``games``.

Each helper returns the checked value in canonical form (a float64 CPU tensor, a float,
an int, a normalised option) or raises a ``TypeError``/``ValueError`` whose message
starts with the argument's name.  Import them from this module (``from games.validation
import as_positive_int``); they are not part of the ``games`` namespace itself.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "as_matrix",
    "as_nonnegative",
    "as_positive_float",
    "as_positive_int",
    "as_vector",
    "choice",
]


def _float64(value: object, name: str, expected: str) -> torch.Tensor:
    """``value`` as a detached float64 CPU tensor, or a TypeError naming ``name``."""
    try:
        tensor = torch.as_tensor(
            np.asarray(value, dtype=np.float64) if not isinstance(value, torch.Tensor) else value
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__}") from exc
    if not (tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name}: expected {expected}, got dtype {tensor.dtype}")
    return tensor.detach().to(dtype=torch.float64, device="cpu")


def as_matrix(
    value: object, name: str, *, shape: tuple[int | None, int | None] | None = None
) -> torch.Tensor:
    """A finite 2-D float64 CPU tensor, or a clear error naming ``name``."""
    tensor = _float64(value, name, "a 2-D array of numbers")
    if tensor.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got shape {tuple(tensor.shape)}")
    if shape is not None:
        for axis, expected in enumerate(shape):
            if expected is not None and tensor.shape[axis] != expected:
                raise ValueError(
                    f"{name}: expected shape {tuple('*' if s is None else s for s in shape)}, "
                    f"got {tuple(tensor.shape)}"
                )
    if tensor.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty matrix, got shape {tuple(tensor.shape)}")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: expected finite entries, found NaN or Inf")
    return tensor


def as_vector(value: object, name: str, *, size: int) -> torch.Tensor:
    """A finite 1-D float64 CPU tensor of ``size`` values (``None`` gives zeros)."""
    if value is None:
        return torch.zeros(size, dtype=torch.float64)
    tensor = _float64(value, name, f"a 1-D array of {size} numbers")
    if tensor.dim() == 0 and size == 1:
        tensor = tensor.reshape(1)
    if tensor.dim() != 1 or tensor.numel() != size:
        raise ValueError(
            f"{name}: expected a 1-D vector of {size} values, got shape {tuple(tensor.shape)}"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: expected finite entries, found NaN or Inf")
    return tensor


def as_nonnegative(value: object, name: str) -> float:
    """A finite number >= 0, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a non-negative number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return number


def as_positive_float(value: object, name: str) -> float:
    """A finite number > 0, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a positive float, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name}: expected a positive float, got {value!r}")
    return number


def as_positive_int(value: object, name: str) -> int:
    """An int >= 1, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a positive int, got {type(value).__name__}")
    if int(value) < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """One of ``options`` (case-insensitive, '-' and '_' alike), or a clear error."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {options}, got {type(value).__name__}")
    key = value.lower().replace("-", "_")
    if key not in options:
        raise ValueError(f"{name}: unknown value {value!r}, expected one of {options}")
    return key
