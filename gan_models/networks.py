r"""Networks for toy GANs: MLPs, a discriminator with minibatch discrimination and packing.

Every module here is an ordinary ``torch.nn.Module`` that works with
:func:`torch.func.functional_call` (so :class:`games.FlatModule` can flatten it into one
parameter vector) and is twice differentiable, so game Jacobians can be taken through it.

Initialisation is reproducible and private: pass ``generator`` (an int seed or a CPU
``torch.Generator``) and every parameter is drawn from it on the CPU in float64, then cast
to ``dtype`` and moved to ``device``.  Torch's global random state is never read or
advanced, and the same seed gives the same network on every device.

Spectral normalisation (``spectral_norm=True``) uses
:func:`torch.nn.utils.parametrizations.spectral_norm`: the weight used in the forward pass
is :math:`W / \hat\sigma(W)`, with :math:`\hat\sigma` from a power iteration whose vectors
``u, v`` are buffers.  In training mode every forward pass takes one power-iteration step
and updates those buffers in place (also through ``functional_call``/``FlatModule`` when
the buffers handed in are the module's own).  In eval mode the forward pass is a pure,
deterministic function of the parameters and buffers: use eval mode for Jacobians.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import torch
from torch import nn

from games.validation import as_positive_int

from .data import GeneratorLike, _as_device, _as_float_dtype, _as_generator
from .layers import _activation, _as_nonnegative_int, _check_features, _Config

__all__ = [
    "MLP",
    "Discriminator",
    "MinibatchDiscrimination",
    "discriminator_mlp",
    "generator_mlp",
    "pack_samples",
]

Activation: TypeAlias = str | Callable[[], nn.Module]


# -- modules -------------------------------------------------------------------------------


class MLP(nn.Sequential):
    r"""A fully connected network: ``depth`` hidden layers of ``width`` units.

    ``in_features -> width -> ... -> width -> out_features``, with ``activation`` after
    every hidden layer and ``output_activation`` (if any) after the last one.

    Parameters
    ----------
    in_features, out_features : int
    depth : int
        Number of hidden layers (0 gives a single linear map).
    width : int
        Units per hidden layer.
    activation : {'relu', 'leaky_relu', 'tanh', 'elu', 'selu', 'gelu'} or callable
        Hidden activation, by name or as a factory returning a fresh module
        (e.g. ``torch.nn.Softplus``).
    negative_slope : float
        Slope of ``'leaky_relu'`` for negative inputs (0.2, the usual GAN choice).
    init : {'default', 'orthogonal', 'xavier', 'kaiming'}
        ``'default'``: PyTorch's ``nn.Linear`` scheme, weights and biases
        :math:`U(\pm 1/\sqrt{\text{fan\_in}})`.  ``'orthogonal'``: ``gain`` times a
        random (semi-)orthogonal matrix (Saxe et al. 2014).  ``'xavier'``: Glorot
        uniform, bound ``gain * sqrt(6 / (fan_in + fan_out))``.  ``'kaiming'``: He
        normal, std ``gain / sqrt(fan_in)``.  The last three set biases to zero.
    gain : float, optional
        Gain of the last three schemes.  If given it is used for every layer; by default
        hidden layers take :func:`torch.nn.init.calculate_gain` of the activation (the
        ReLU gain :math:`\sqrt2` for ELU and GELU, 1 for a custom factory) and the output
        layer takes 1.
    spectral_norm : bool
        Spectrally normalise every linear layer (see the module notes on train/eval).
    output_activation : str or callable, optional
        Applied to the output (same choices as ``activation``).
    bias : bool
    device, dtype
        Where and in which floating dtype the parameters live (float32 by default).
    generator : int, torch.Generator or None
        Seed or CPU generator for the initialisation (``None``: a fresh random seed).

    Examples
    --------
    >>> import torch
    >>> from gan_models import MLP
    >>> net = MLP(2, 1, depth=2, width=16, generator=0)
    >>> net(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    >>> sum(p.numel() for p in net.parameters())  # (2*16+16) + (16*16+16) + (16*1+1)
    337
    >>> same = MLP(2, 1, depth=2, width=16, generator=0)
    >>> all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters()))
    True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        depth: int = 2,
        width: int = 128,
        activation: Activation = "relu",
        negative_slope: float = 0.2,
        init: str = "default",
        gain: float | None = None,
        spectral_norm: bool = False,
        output_activation: Activation | None = None,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: GeneratorLike = None,
    ) -> None:
        in_features = as_positive_int(in_features, "in_features")
        out_features = as_positive_int(out_features, "out_features")
        depth = _as_nonnegative_int(depth, "depth")
        width = as_positive_int(width, "width")
        config = _Config(
            activation=activation,
            negative_slope=negative_slope,
            init=init,
            gain=gain,
            spectral_norm=spectral_norm,
            bias=bias,
            device=device,
            dtype=dtype,
            generator=generator,
        )
        layers = config.hidden_layers(in_features, depth, width)
        layers.append(config.linear(width if depth else in_features, out_features, hidden=False))
        if output_activation is not None:
            factory = _activation(output_activation, "output_activation", config.negative_slope)[0]
            layers.append(factory())
        super().__init__(*layers)
        self.in_features = in_features
        self.out_features = out_features
        self.depth = depth
        self.width = width
        self.to(device=config.device, dtype=config.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(..., in_features)`` to ``(..., out_features)``."""
        return super().forward(_check_features(x, self.in_features, "MLP"))


class MinibatchDiscrimination(nn.Module):
    r"""Minibatch discrimination (Salimans et al. 2016, section 3.2).

    With a learned tensor :math:`T \in \mathbb{R}^{A \times B \times C}` (``A =
    in_features``, ``B = kernels``, ``C = kernel_dim``), each sample's features
    :math:`x_i \in \mathbb{R}^A` give :math:`M_i = x_i T \in \mathbb{R}^{B \times C}`,
    and for every kernel ``b``

    .. math::  c_b(x_i, x_j) = \exp(-\|M_{i,b} - M_{j,b}\|_{L_1}), \qquad
               o(x_i)_b = \sum_{j \ne i} c_b(x_i, x_j).

    The sum leaves out ``j = i`` (whose term is exactly 1), so a sample alone in its
    batch gets 0 and a batch of ``N`` identical samples gets ``N - 1`` in every kernel.
    The output is ``[x, o(x)]``, of shape ``(N, A + B)``.  Cost and memory are
    :math:`O(N^2 B C)`.

    Parameters
    ----------
    in_features : int
    kernels : int
        B, the number of closeness statistics appended.
    kernel_dim : int
        C, the dimension each kernel compares samples in.
    device, dtype, generator
        As for :class:`MLP`; ``T`` is drawn from :math:`N(0, 1/A)`.

    Examples
    --------
    >>> import torch
    >>> from gan_models import MinibatchDiscrimination
    >>> layer = MinibatchDiscrimination(3, kernels=4, kernel_dim=2, generator=0)
    >>> out = layer(torch.ones(5, 3))
    >>> out.shape, out[:, 3:].unique().tolist()  # five identical samples: 4 per kernel
    (torch.Size([5, 7]), [4.0])
    """

    def __init__(
        self,
        in_features: int,
        kernels: int = 50,
        kernel_dim: int = 5,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        self.in_features = as_positive_int(in_features, "in_features")
        self.kernels = as_positive_int(kernels, "kernels")
        self.kernel_dim = as_positive_int(kernel_dim, "kernel_dim")
        self.out_features = self.in_features + self.kernels
        gen = _as_generator(generator)
        values = torch.randn(
            self.in_features, self.kernels, self.kernel_dim, generator=gen, dtype=torch.float64
        ) / math.sqrt(self.in_features)
        self.T = nn.Parameter(values.to(device=_as_device(device), dtype=_as_float_dtype(dtype)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Append the ``kernels`` closeness statistics to each row of ``x`` (shape ``(N, A)``)."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"x: MinibatchDiscrimination expected a batch of shape (N, {self.in_features}), "
                f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        m = (x @ self.T.reshape(self.in_features, -1)).reshape(-1, self.kernels, self.kernel_dim)
        l1 = (m[:, None] - m[None, :]).abs().sum(-1)  # (N, N, B)
        closeness = torch.exp(-l1).sum(1) - 1  # drop c_b(x_i, x_i) = 1
        return torch.cat([x, closeness], dim=1)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, kernels={self.kernels}, kernel_dim={self.kernel_dim}"
        )


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """Concatenate consecutive groups of ``pack`` samples (PacGAN, Lin et al. 2018).

    ``x`` of shape ``(batch, d)`` becomes ``(batch // pack, pack * d)``: packed row ``i``
    is samples ``i*pack, ..., i*pack + pack - 1`` side by side.  ``batch`` must be a
    multiple of ``pack``.

    Examples
    --------
    >>> import torch
    >>> from gan_models import pack_samples
    >>> pack_samples(torch.arange(8.0).reshape(4, 2), 2)
    tensor([[0., 1., 2., 3.],
            [4., 5., 6., 7.]])
    """
    pack = as_positive_int(pack, "pack")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"x: expected a batch of shape (batch, d), got {tuple(x.shape)}")
    batch, d = x.shape
    if batch % pack != 0:
        raise ValueError(f"pack: the batch size {batch} is not a multiple of pack={pack}")
    return x.reshape(batch // pack, pack * d)


class _Features(nn.Module):
    """A discriminator's last hidden layer on packed inputs (feature matching): its
    ``trunk`` (shared parameters, the same names) after its packing."""

    owner: _PackingDiscriminator

    def __init__(self, owner: _PackingDiscriminator) -> None:
        super().__init__()
        self.trunk = owner.trunk
        self.__dict__["owner"] = owner  # not a submodule: no second copy of the names

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.owner._packed(x, features=True))


class _PackingDiscriminator(nn.Module):
    """The remedies' interface every discriminator of :mod:`gan_models` shares
    (:class:`Discriminator`, :class:`gan_models.ConvDiscriminator`).

    Samples are packed ``pack`` at a time (PacGAN, :meth:`_packed`, by subclass) and pass
    the ``trunk``, then :class:`MinibatchDiscrimination` if asked for, then the ``head``:
    one logit per packed input, flat, shape ``(batch // pack,)``.  ``features`` is the
    trunk's output on packed inputs (feature matching), a module sharing the trunk's
    parameters and kept out of the module tree so that parameter names stay unique.
    Parameters are registered as ``trunk``, ``minibatch`` (its tensor ``T``), ``head``,
    in that order: the flattening order of :class:`games.FlatModule`.
    """

    pack: int
    trunk: nn.Module
    minibatch: MinibatchDiscrimination | None
    head: nn.Module
    features: nn.Module

    def _packed(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        """Checked, packed inputs of the trunk (``features``: for :attr:`features`)."""
        raise NotImplementedError

    def _build_head(
        self,
        features: int,
        minibatch_discrimination: int | None,
        minibatch_kernel_dim: int,
        gen: torch.Generator,
        head: Callable[[int], nn.Module],
    ) -> None:
        """After the trunk (of ``features`` outputs): the minibatch-discrimination tensor
        drawn from ``gen`` (float64, cast with the network), then ``head(width)``."""
        self.minibatch = None
        if minibatch_discrimination is not None:
            self.minibatch = MinibatchDiscrimination(
                features,
                as_positive_int(minibatch_discrimination, "minibatch_discrimination"),
                as_positive_int(minibatch_kernel_dim, "minibatch_kernel_dim"),
                dtype=torch.float64,
                generator=gen,
            )
            features = self.minibatch.out_features
        self.head = head(features)
        self.__dict__["features"] = _Features(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(batch // pack,)``."""
        h = self.trunk(self._packed(x))
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h).squeeze(-1)


class Discriminator(_PackingDiscriminator):
    r"""An MLP discriminator with optional packing and minibatch discrimination.

    ``x (batch, in_features)`` is packed into ``(batch // pack, pack * in_features)``
    (:func:`pack_samples`), passed through ``depth`` hidden layers (linear + activation),
    then through :class:`MinibatchDiscrimination` if asked for, and a final linear layer
    gives one logit per packed row.  The output is flat, shape ``(batch // pack,)``.

    Parameters
    ----------
    in_features : int
        Dimension of one sample (before packing).
    depth, width, activation, negative_slope, init, gain, spectral_norm, bias
        As for :class:`MLP`; ``spectral_norm`` applies to every linear layer, not to the
        minibatch-discrimination tensor.
    minibatch_discrimination : int, optional
        Number of minibatch-discrimination kernels (``None``: no such layer).
    minibatch_kernel_dim : int
        Dimension of each of those kernels.
    pack : int
        Samples per discriminator input (1: no packing).
    device, dtype, generator
        As for :class:`MLP`.

    Examples
    --------
    >>> import torch
    >>> from gan_models import Discriminator
    >>> D = Discriminator(2, depth=1, width=8, minibatch_discrimination=3, pack=2, generator=0)
    >>> D(torch.zeros(6, 2)).shape
    torch.Size([3])
    """

    def __init__(
        self,
        in_features: int,
        *,
        depth: int = 2,
        width: int = 128,
        activation: Activation = "relu",
        negative_slope: float = 0.2,
        init: str = "default",
        gain: float | None = None,
        spectral_norm: bool = False,
        minibatch_discrimination: int | None = None,
        minibatch_kernel_dim: int = 5,
        pack: int = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        self.in_features = as_positive_int(in_features, "in_features")
        self.depth = _as_nonnegative_int(depth, "depth")
        self.width = as_positive_int(width, "width")
        self.pack = as_positive_int(pack, "pack")
        config = _Config(
            activation=activation,
            negative_slope=negative_slope,
            init=init,
            gain=gain,
            spectral_norm=spectral_norm,
            bias=bias,
            device=device,
            dtype=dtype,
            generator=generator,
        )
        packed = self.pack * self.in_features
        self.trunk = nn.Sequential(*config.hidden_layers(packed, self.depth, self.width))
        self._build_head(
            self.width if self.depth else packed,
            minibatch_discrimination,
            minibatch_kernel_dim,
            config.gen,
            lambda features: config.linear(features, 1, hidden=False),
        )
        self.to(device=config.device, dtype=config.dtype)

    def _packed(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        """Samples ``(batch, in_features)`` as ``(batch // pack, pack * in_features)``."""
        owner = "Discriminator.features" if features else "Discriminator"
        return pack_samples(_check_features(x, self.in_features, owner), self.pack)


# -- the standard toy architecture ---------------------------------------------------------


def generator_mlp(
    latent: int = 256,
    out: int = 2,
    *,
    depth: int = 2,
    width: int = 128,
    activation: Activation = "relu",
    init: str = "orthogonal",
    gain: float | None = 0.8,
    spectral_norm: bool = False,
    output_activation: Activation | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    generator: GeneratorLike = None,
) -> MLP:
    """The toy-benchmark generator: ``latent -> 128 -> 128 -> out``, ReLU, linear output.

    The 8-Gaussian architecture of Metz et al. (2016, unrolled GANs): a 256-dimensional
    standard-normal latent, two ReLU hidden layers of 128 units, a linear map to the
    data, every weight initialised orthogonally with scale 0.8.  (The widely copied
    reference notebook uses tanh and gain 1.4 instead.)  Sample the latent yourself,
    e.g. ``torch.randn(n, latent, generator=g)``.

    Examples
    --------
    >>> import torch
    >>> from gan_models import generator_mlp
    >>> G = generator_mlp(generator=0)
    >>> G(torch.zeros(3, 256)).shape
    torch.Size([3, 2])
    """
    return MLP(
        latent,
        out,
        depth=depth,
        width=width,
        activation=activation,
        init=init,
        gain=gain,
        spectral_norm=spectral_norm,
        output_activation=output_activation,
        device=device,
        dtype=dtype,
        generator=generator,
    )


def discriminator_mlp(
    in_features: int = 2,
    *,
    depth: int = 2,
    width: int = 128,
    activation: Activation = "relu",
    init: str = "orthogonal",
    gain: float | None = 0.8,
    spectral_norm: bool = False,
    minibatch_discrimination: int | None = None,
    minibatch_kernel_dim: int = 5,
    pack: int = 1,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    generator: GeneratorLike = None,
) -> Discriminator:
    """The toy-benchmark discriminator: ``in_features -> 128 -> 128 -> 1`` logit, ReLU.

    Matches :func:`generator_mlp` (orthogonal init, scale 0.8).  Returns a
    :class:`Discriminator`, so logits are flat, shape ``(batch // pack,)``, and packing
    or minibatch discrimination are one argument away.  (Metz et al. describe a smaller
    discriminator that also divides its input by 4 for their radius-2 ring.)

    Examples
    --------
    >>> import torch
    >>> from gan_models import discriminator_mlp
    >>> D = discriminator_mlp(generator=0)
    >>> D(torch.zeros(3, 2)).shape
    torch.Size([3])
    """
    return Discriminator(
        in_features,
        depth=depth,
        width=width,
        activation=activation,
        init=init,
        gain=gain,
        spectral_norm=spectral_norm,
        minibatch_discrimination=minibatch_discrimination,
        minibatch_kernel_dim=minibatch_kernel_dim,
        pack=pack,
        device=device,
        dtype=dtype,
        generator=generator,
    )
