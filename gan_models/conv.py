r"""Convolutional GANs for small images: a DCGAN-style generator and discriminator.

The architecture of Radford, Metz & Chintala (2016, "Unsupervised representation
learning with deep convolutional generative adversarial networks", ICLR, section 3),
scaled down to the 8 × 8 images of :func:`gan_models.digits` and
:func:`gan_models.stacked_digits`:

- :class:`ConvGenerator`: latent :math:`z \to` linear :math:`\to (2^{L-1} w, 2, 2)`
  :math:`\to` ``L`` transposed convolutions (kernel 4, stride 2, padding 1), each
  doubling the side and halving the channels, the last one to ``channels`` :math:`\to`
  tanh; batch norm and ReLU after every layer but the last (the paper's "use batchnorm
  in the generator", "ReLU in the generator, tanh for the output").
- :class:`ConvDiscriminator`: ``L`` strided convolutions (kernel 4, stride 2, padding 1),
  each halving the side and doubling the channels (``w``, ``2w``, ...), LeakyReLU with
  slope 0.2 (the paper's "LeakyReLU in the discriminator", slope 0.2 in section 4), then
  optional minibatch discrimination and one linear logit.  No batch norm in the
  discriminator: gradient penalties and PacGAN packing need a per-sample discriminator;
  ``spectral_norm`` (Miyato et al. 2018) is the normalisation offered instead.

For ``size = 8``: ``L = 2``, ``(2w, 2, 2) -> (w, 4, 4) -> (C, 8, 8)``.  Every weight is
drawn from :math:`N(0, 0.02^2)` and batch norm's scale from :math:`N(1, 0.02^2)` (the
paper, section 4), biases are zero; draws come from the ``generator`` seed on the CPU in
float64, never from torch's global random state, so a seed gives the same network on
every device.

Both networks take and give **flat** samples ``(n, C·size²)``, the layout of
:class:`gan_models.ImageData` and of :class:`games.ParameterizedGAN`'s batches (the
discriminator also accepts ``(n, C, size, size)``).  They mirror :class:`MLP` /
:class:`Discriminator`, so every remedy works unchanged: PacGAN packing stacks ``pack``
consecutive images along the channels (``(n / pack, pack·C, size, size)``); the
discriminator's ``features`` (its last hidden layer, the flattened output of the last
convolution, on packed inputs) serve feature matching; :class:`MixtureGenerator` mixes
:class:`ConvGenerator` components.

**Batch norm and the game Jacobian.**  The generator's batch norm keeps no running
statistics (``track_running_stats=False``): in training *and* eval mode it normalises by
the mean and (biased) variance of the batch it is given, as the DCGAN reference code does
when it samples.  So the generator has no buffers, it is a deterministic function of its
parameters and the whole latent batch, and the game's vector field, Jacobian and spectra
(on a fixed batch, :meth:`games.ParameterizedGAN.at_batch`) are exactly those of the
training losses, in either mode; checkpoints hold the whole state.  The price: a
generated image depends on the other latents of its batch (a batch of one is degenerate),
so generate batches of many samples.

**Spectral normalisation** (discriminator) is that of :class:`Discriminator`: the
convolution weight is reshaped to ``(out, in·4·4)`` and divided by a power-iteration
estimate of its top singular value, the SN-GAN recipe; in training mode each forward pass
advances the power iteration in its buffers, in eval mode it is a pure function — use
eval mode for Jacobians (see :mod:`gan_models.networks`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from games.validation import as_positive_int

from .data import GeneratorLike, _as_device, _as_float_dtype, _as_generator
from .layers import _SPECTRAL_NORM_WARMUP, _as_bool
from .networks import _PackingDiscriminator, pack_samples

__all__ = ["ConvDiscriminator", "ConvGenerator"]

INIT_STD = 0.02
"""Standard deviation of every initial weight (Radford et al. 2016, section 4)."""

LEAKY_SLOPE = 0.2
"""The discriminator's LeakyReLU slope (Radford et al. 2016, section 4)."""


# -- layers ------------------------------------------------------------------------------


def _upsamplings(size: object) -> int:
    """``L`` with ``size = 2^(L+1)``: the stride-2 layers between 2 × 2 and ``size``."""
    side = as_positive_int(size, "size")
    if side < 4 or side & (side - 1):
        raise ValueError(f"size: expected a power of two >= 4 (the image side), got {side}")
    return int(math.log2(side)) - 1


def _normal(shape: tuple[int, ...], gen: torch.Generator, mean: float = 0.0) -> torch.Tensor:
    return mean + INIT_STD * torch.randn(shape, generator=gen, dtype=torch.float64)


def _layer(module: nn.Module, gen: torch.Generator, *, spectral_norm: bool = False) -> nn.Module:
    """Initialise a Linear/Conv2d/ConvTranspose2d/BatchNorm built on the meta device
    (so torch's own initialisation never draws from the global generator), on the CPU in
    float64, from ``gen`` alone."""
    if spectral_norm:
        nn.utils.parametrizations.spectral_norm(module)
    module.to_empty(device="cpu")
    params, buffers = dict(module.named_parameters()), dict(module.named_buffers())
    with torch.no_grad():
        if isinstance(module, nn.BatchNorm2d):
            params["weight"].copy_(_normal(tuple(params["weight"].shape), gen, mean=1.0))
            params["bias"].zero_()
            return module
        key = "parametrizations.weight.original" if spectral_norm else "weight"
        weight = _normal(tuple(params[key].shape), gen)
        params[key].copy_(weight)
        if "bias" in params:
            params["bias"].zero_()
        if spectral_norm:  # power-iteration vectors drawn and warmed up from gen, too
            matrix = weight.reshape(weight.shape[0], -1)
            u = nn.functional.normalize(
                torch.randn(matrix.shape[0], generator=gen, dtype=torch.float64), dim=0
            )
            v = nn.functional.normalize(
                torch.randn(matrix.shape[1], generator=gen, dtype=torch.float64), dim=0
            )
            for _ in range(_SPECTRAL_NORM_WARMUP):
                u = nn.functional.normalize(matrix @ v, dim=0, eps=1e-12)
                v = nn.functional.normalize(matrix.T @ u, dim=0, eps=1e-12)
            buffers["parametrizations.weight.0._u"].copy_(u)
            buffers["parametrizations.weight.0._v"].copy_(v)
    return module


def _meta(cls: type[nn.Module], *args: int, **kwargs: object) -> nn.Module:
    return cls(*args, **kwargs, device="meta", dtype=torch.float64)


class _Unflatten(nn.Module):
    """``(n, C·s·s)`` or ``(n, C, s, s)`` to ``(n, C, s, s)``, checking the sizes."""

    def __init__(self, channels: int, size: int, owner: str) -> None:
        super().__init__()
        self.channels, self.size, self.owner = channels, size, owner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channels, self.size
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 2 and x.shape[1] == c * s * s:
            return x.reshape(x.shape[0], c, s, s)
        if x.dim() == 4 and tuple(x.shape[1:]) == (c, s, s):
            return x
        raise ValueError(
            f"x: {self.owner} expected images of shape (n, {c * s * s}) or (n, {c}, {s}, {s}), "
            f"got {tuple(x.shape)}"
        )


# -- the generator -----------------------------------------------------------------------


class ConvGenerator(nn.Module):
    r"""A DCGAN generator for ``channels × size × size`` images, flat output in (−1, 1).

    ``z (n, latent) -> linear -> (2^{L-1}·width, 2, 2) -> [BN, ReLU] -> transposed conv
    -> ... -> (channels, size, size) -> tanh``, returned flat as ``(n, channels·size²)``
    (``L = log2(size) - 1`` transposed convolutions with kernel 4, stride 2, padding 1).
    See the module notes for the initialisation and for batch norm (batch statistics
    only, in every mode).

    Parameters
    ----------
    latent : int
        Dimension of the latent codes.
    channels : int
        Image channels (1: digits, 3: stacked digits).
    size : int
        Image side, a power of two >= 4 (8 for the digits).
    width : int
        Channels of the last hidden layer (at side ``size / 2``); they double at every
        halving of the side.
    batch_norm : bool
        Batch norm after the linear layer and every transposed convolution but the last.
    device, dtype
        Where and in which floating dtype the parameters live (float32 by default).
    generator : int, torch.Generator or None
        Seed or CPU generator for the initialisation (``None``: a fresh random seed).

    Examples
    --------
    >>> import torch
    >>> from gan_models import ConvGenerator
    >>> G = ConvGenerator(16, channels=3, width=8, generator=0)
    >>> x = G(torch.randn(5, 16, generator=torch.Generator().manual_seed(1)))
    >>> x.shape, bool(x.abs().max() < 1)
    (torch.Size([5, 192]), True)
    >>> sum(p.numel() for p in G.parameters())  # linear, BN, convT 16->8, BN, convT 8->3
    3579
    """

    def __init__(
        self,
        latent: int,
        *,
        channels: int = 1,
        size: int = 8,
        width: int = 64,
        batch_norm: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        self.latent = as_positive_int(latent, "latent")
        self.channels = as_positive_int(channels, "channels")
        self.layers_up = _upsamplings(size)
        self.size = int(size)
        self.width = as_positive_int(width, "width")
        self.batch_norm = _as_bool(batch_norm, "batch_norm")
        target, dtype = _as_device(device), _as_float_dtype(dtype)
        gen = _as_generator(generator)
        self.out_features = self.channels * self.size**2
        top = self.width * 2 ** (self.layers_up - 1)
        self.top = top
        self.project = _layer(_meta(nn.Linear, self.latent, top * 4), gen)
        body: list[nn.Module] = []
        if self.batch_norm:
            body.append(_layer(_meta(nn.BatchNorm2d, top, track_running_stats=False), gen))
        body.append(nn.ReLU())
        ch = top
        for i in range(self.layers_up):
            last = i == self.layers_up - 1
            out = self.channels if last else ch // 2
            body.append(_layer(_meta(nn.ConvTranspose2d, ch, out, 4, 2, 1), gen))
            if not last:
                if self.batch_norm:
                    body.append(_layer(_meta(nn.BatchNorm2d, out, track_running_stats=False), gen))
                body.append(nn.ReLU())
            ch = out
        body.append(nn.Tanh())
        self.body = nn.Sequential(*body)
        self.to(device=target, dtype=dtype)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Flat images ``(n, channels·size²)`` for latent codes ``z`` of shape ``(n, latent)``."""
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.latent:
            raise ValueError(
                f"z: ConvGenerator expected latent codes of shape (n, {self.latent}), got "
                f"{tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}"
            )
        h = self.project(z).reshape(z.shape[0], self.top, 2, 2)
        return self.body(h).reshape(z.shape[0], self.out_features)

    def extra_repr(self) -> str:
        return (
            f"latent={self.latent}, channels={self.channels}, size={self.size}, "
            f"width={self.width}, batch_norm={self.batch_norm}"
        )


# -- the discriminator -------------------------------------------------------------------


class ConvDiscriminator(_PackingDiscriminator):
    r"""A DCGAN discriminator for ``channels × size × size`` images, with PacGAN packing
    and minibatch discrimination.

    Images ``(batch, channels·size²)`` (or ``(batch, channels, size, size)``) are packed
    into ``(batch / pack, pack·channels, size, size)`` — ``pack`` consecutive images
    stacked along the channels (PacGAN, Lin et al. 2018) — and pass ``L = log2(size) - 1``
    convolutions (kernel 4, stride 2, padding 1; ``width``, ``2·width``, ... channels),
    each followed by LeakyReLU(0.2); the flattened result (the ``features``) goes through
    :class:`MinibatchDiscrimination` if asked for, and a linear layer gives one logit per
    packed input.  The output is flat, shape ``(batch // pack,)``, as for
    :class:`Discriminator`.

    Parameters
    ----------
    channels, size, width
        As for :class:`ConvGenerator` (``width``: channels of the first convolution).
    spectral_norm : bool
        Spectrally normalise every convolution and the linear head (see the module notes
        on train/eval), not the minibatch-discrimination tensor.
    minibatch_discrimination : int, optional
        Number of minibatch-discrimination kernels (``None``: no such layer).
    minibatch_kernel_dim : int
    pack : int
        Images per discriminator input (1: no packing).
    device, dtype, generator
        As for :class:`ConvGenerator`.

    Examples
    --------
    >>> import torch
    >>> from gan_models import ConvDiscriminator
    >>> D = ConvDiscriminator(channels=3, width=8, pack=2, minibatch_discrimination=4, generator=0)
    >>> D(torch.zeros(6, 192)).shape
    torch.Size([3])
    >>> D.features(torch.zeros(6, 192)).shape  # 2·8 channels on a 2 × 2 grid
    torch.Size([3, 64])
    """

    def __init__(
        self,
        *,
        channels: int = 1,
        size: int = 8,
        width: int = 64,
        spectral_norm: bool = False,
        minibatch_discrimination: int | None = None,
        minibatch_kernel_dim: int = 5,
        pack: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        self.channels = as_positive_int(channels, "channels")
        self.layers_down = _upsamplings(size)
        self.size = int(size)
        self.width = as_positive_int(width, "width")
        self.pack = as_positive_int(pack, "pack")
        self.spectral_norm = _as_bool(spectral_norm, "spectral_norm")
        target, dtype = _as_device(device), _as_float_dtype(dtype)
        gen = _as_generator(generator)
        self.in_features = self.channels * self.size**2
        self.unflatten = _Unflatten(self.channels, self.size, "ConvDiscriminator")
        layers: list[nn.Module] = []
        ch, out = self.pack * self.channels, self.width
        for _ in range(self.layers_down):
            conv = _meta(nn.Conv2d, ch, out, 4, 2, 1)
            layers += [
                _layer(conv, gen, spectral_norm=self.spectral_norm),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
            ch, out = out, out * 2
        layers.append(nn.Flatten())
        self.trunk = nn.Sequential(*layers)
        self.feature_dim = ch * 4  # channels on the final 2 × 2 grid
        self._build_head(
            self.feature_dim,
            minibatch_discrimination,
            minibatch_kernel_dim,
            gen,
            lambda features: _layer(
                _meta(nn.Linear, features, 1), gen, spectral_norm=self.spectral_norm
            ),
        )
        self.to(device=target, dtype=dtype)

    def packed(self, images: torch.Tensor) -> torch.Tensor:
        """``(batch, C, s, s)`` to ``(batch / pack, pack·C, s, s)``: packs along channels."""
        n, c, s = images.shape[0], self.channels, self.size
        flat = pack_samples(images.reshape(n, c * s * s), self.pack)
        return flat.reshape(n // self.pack, self.pack * c, s, s)

    def _packed(self, x: torch.Tensor, *, features: bool = False) -> torch.Tensor:
        """Images ``x`` (flat or ``(batch, C, s, s)``), checked and packed."""
        return self.packed(self.unflatten(x))

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, size={self.size}, width={self.width}, pack={self.pack}, "
            f"spectral_norm={self.spectral_norm}"
        )
