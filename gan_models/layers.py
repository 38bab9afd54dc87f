r"""Layer options and reproducible, private initialisation, shared by the networks.

Every parameter is drawn from the caller's ``generator`` on the CPU in float64 (the
global random state is never read or advanced), then cast and moved by the network.
Initialisations: ``"default"`` (torch's uniform), ``"orthogonal"``, ``"xavier"``,
``"kaiming"``; spectral normalisation's power-iteration vectors are drawn and warmed up
the same way.  The modules built from these layers are in :mod:`gan_models.networks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from games.validation import as_nonnegative, as_positive_float, choice

from .data import _as_device, _as_float_dtype, _as_generator

__all__ = ["ACTIVATIONS", "INITS"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "selu", "gelu")
INITS = ("default", "orthogonal", "xavier", "kaiming")

# Power-iteration steps run at construction, as torch's own spectral_norm does.
_SPECTRAL_NORM_WARMUP = 15


# -- argument handling -------------------------------------------------------------------


def _as_nonnegative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a non-negative int, got {type(value).__name__}")
    if int(value) < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value!r}")
    return int(value)


def _as_bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def _activation(
    activation: object, name: str, negative_slope: float
) -> tuple[Callable[[], nn.Module], float]:
    """A factory of activation modules and the init gain recommended for it."""
    if isinstance(activation, nn.Module):
        raise TypeError(
            f"{name}: expected a name in {ACTIVATIONS} or a factory such as torch.nn.ReLU, "
            f"got the module instance {activation!r} (pass its class or a lambda)"
        )
    if isinstance(activation, str):
        key = choice(activation, name, ACTIVATIONS)
        factories: dict[str, tuple[Callable[[], nn.Module], float]] = {
            "relu": (nn.ReLU, nn.init.calculate_gain("relu")),
            "leaky_relu": (
                lambda: nn.LeakyReLU(negative_slope),
                nn.init.calculate_gain("leaky_relu", negative_slope),
            ),
            "tanh": (nn.Tanh, nn.init.calculate_gain("tanh")),
            "selu": (nn.SELU, nn.init.calculate_gain("selu")),
            # calculate_gain does not know ELU or GELU; both are rectifier-like.
            "elu": (nn.ELU, nn.init.calculate_gain("relu")),
            "gelu": (nn.GELU, nn.init.calculate_gain("relu")),
        }
        return factories[key]
    if callable(activation):

        def checked() -> nn.Module:
            module = activation()
            if not isinstance(module, nn.Module):
                raise TypeError(
                    f"{name}: the factory must return a torch.nn.Module, got {type(module).__name__}"
                )
            return module

        return checked, 1.0
    raise TypeError(
        f"{name}: expected a name in {ACTIVATIONS} or a factory returning a torch.nn.Module, "
        f"got {type(activation).__name__}"
    )


# -- initialisation ----------------------------------------------------------------------


def _orthogonal(rows: int, cols: int, gen: torch.Generator) -> torch.Tensor:
    """A (rows, cols) matrix with orthonormal rows (wide) or columns (tall), from QR."""
    flat = torch.randn(rows, cols, generator=gen, dtype=torch.float64)
    if rows < cols:
        flat = flat.T
    q, r = torch.linalg.qr(flat)
    # sign fix makes Q Haar-distributed (Mezzadri 2007); sign(0) would zero a column
    signs = torch.where(torch.diagonal(r) < 0, -1.0, 1.0).to(q)
    q = q * signs
    return q.T if rows < cols else q


def _draw_linear(
    fan_in: int, fan_out: int, init: str, gain: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (fan_out, fan_in) and bias (fan_out,) in float64."""
    if init == "default":
        bound = 1.0 / math.sqrt(fan_in)
        weight = (2 * torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) - 1) * bound
        bias = (2 * torch.rand(fan_out, generator=gen, dtype=torch.float64) - 1) * bound
        return weight, bias
    if init == "orthogonal":
        weight = gain * _orthogonal(fan_out, fan_in, gen)
    elif init == "xavier":
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        weight = (2 * torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) - 1) * bound
    else:  # kaiming (He) normal, fan-in mode
        weight = (
            gain
            / math.sqrt(fan_in)
            * torch.randn(fan_out, fan_in, generator=gen, dtype=torch.float64)
        )
    return weight, torch.zeros(fan_out, dtype=torch.float64)


def _linear(
    fan_in: int,
    fan_out: int,
    *,
    bias: bool,
    init: str,
    gain: float,
    spectral_norm: bool,
    gen: torch.Generator,
) -> nn.Linear:
    """A float64 CPU ``nn.Linear`` initialised from ``gen`` alone.

    It is built on the meta device first: ``nn.Linear``'s own initialisation and
    ``spectral_norm``'s random ``u, v`` would otherwise draw from the global generator.
    """
    layer = nn.Linear(fan_in, fan_out, bias=bias, device="meta", dtype=torch.float64)
    if spectral_norm:
        nn.utils.parametrizations.spectral_norm(layer)
    layer.to_empty(device="cpu")
    weight, bias_values = _draw_linear(fan_in, fan_out, init, gain, gen)
    params, buffers = dict(layer.named_parameters()), dict(layer.named_buffers())
    with torch.no_grad():
        if spectral_norm:
            params["parametrizations.weight.original"].copy_(weight)
            u = nn.functional.normalize(
                torch.randn(fan_out, generator=gen, dtype=torch.float64), dim=0
            )
            v = nn.functional.normalize(
                torch.randn(fan_in, generator=gen, dtype=torch.float64), dim=0
            )
            for _ in range(_SPECTRAL_NORM_WARMUP):
                u = nn.functional.normalize(weight @ v, dim=0, eps=1e-12)
                v = nn.functional.normalize(weight.T @ u, dim=0, eps=1e-12)
            buffers["parametrizations.weight.0._u"].copy_(u)
            buffers["parametrizations.weight.0._v"].copy_(v)
        else:
            params["weight"].copy_(weight)
        if bias:
            params["bias"].copy_(bias_values)
    return layer


class _Config:
    """Validated hyper-parameters shared by MLP and Discriminator."""

    def __init__(
        self,
        *,
        activation: object,
        negative_slope: object,
        init: object,
        gain: object,
        spectral_norm: object,
        bias: object,
        device: object,
        dtype: object,
        generator: object,
    ) -> None:
        self.negative_slope = as_nonnegative(negative_slope, "negative_slope")
        self.activation, self.hidden_gain = _activation(
            activation, "activation", self.negative_slope
        )
        self.init = choice(init, "init", INITS)
        if gain is not None:
            if self.init == "default":
                raise ValueError(
                    "gain: only used by init 'orthogonal', 'xavier' or 'kaiming', but init is 'default'"
                )
            self.gain: float | None = as_positive_float(gain, "gain")
        else:
            self.gain = None
        self.spectral_norm = _as_bool(spectral_norm, "spectral_norm")
        self.bias = _as_bool(bias, "bias")
        self.device = _as_device(device)
        self.dtype = _as_float_dtype(dtype)
        self.gen = _as_generator(generator)

    def linear(self, fan_in: int, fan_out: int, *, hidden: bool) -> nn.Linear:
        gain = self.gain if self.gain is not None else (self.hidden_gain if hidden else 1.0)
        return _linear(
            fan_in,
            fan_out,
            bias=self.bias,
            init=self.init,
            gain=gain,
            spectral_norm=self.spectral_norm,
            gen=self.gen,
        )

    def hidden_layers(self, fan_in: int, depth: int, width: int) -> list[nn.Module]:
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [
                self.linear(fan_in if i == 0 else width, width, hidden=True),
                self.activation(),
            ]
        return layers


def _check_features(x: object, expected: int, owner: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 0 or x.shape[-1] != expected:
        raise ValueError(
            f"x: {owner} expected inputs with last dimension {expected}, got shape {tuple(x.shape)}"
        )
    return x
