"""Real images that ship with scikit-learn: the UCI handwritten digits, and stacked digits.

:func:`digits` — scikit-learn's :func:`~sklearn.datasets.load_digits` (1,797 grey images
of 8 × 8 pixels, 10 classes; Alpaydin & Kaynak 1998, UCI), scaled from 0..16 to [−1, 1],
with a fixed, stratified train/held-out split (20 % of each class held out; the same on
every machine, independent of scikit-learn's random generators).

:func:`stacked_digits` — three digits drawn independently as the three channels of one
image: 1,000 modes, label ``100·a + 10·b + c`` (the 8 × 8 analogue of stacked MNIST, the
"discrete mode collapse" benchmark of Metz et al. 2017, Srivastava et al. 2017 (VEEGAN,
Table 2) and Lin et al. 2018 (PacGAN, Table 3)).

Both are samplers like :class:`gan_models.GaussianMixture`: ``sample(n, generator=...)``
returns flat vectors ``(n, C·8·8)`` (what :class:`games.ParameterizedGAN` feeds its
networks; a convolutional network reshapes them to ``(n, C, 8, 8)``), seeded by a CPU
generator, never by the global random state. scikit-learn is an optional dependency: the
``images`` extra (``pip install "gamedyn[images]"``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from games.validation import as_positive_int

from .data import GeneratorLike, _as_device, _as_float_dtype, _as_generator

__all__ = ["HELD_OUT_FRACTION", "ImageData", "digits", "stacked_digits"]

HELD_OUT_FRACTION = 0.2
"""The share of each digit class held out (for the classifier's accuracy and the FID)."""

_SPLIT_SEED = 20_170_101  # fixed: the split is part of the data set's definition
SPLITS = ("train", "held_out", "all")


def _require_sklearn() -> object:
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError(
            "the digits data need scikit-learn: pip install 'gamedyn[images]' "
            "(or pip install scikit-learn)"
        ) from None
    return datasets


@lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    datasets = _require_sklearn()
    bunch = datasets.load_digits()  # type: ignore[attr-defined]
    images = np.asarray(bunch.images, dtype=np.float64) / 8.0 - 1.0  # 0..16 -> [-1, 1]
    return images, np.asarray(bunch.target, dtype=np.int64)


def _split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    if split == "all":
        return np.arange(labels.size)
    rng = np.random.default_rng(_SPLIT_SEED)
    held: list[np.ndarray] = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        members = members[rng.permutation(members.size)]
        held.append(members[: round(HELD_OUT_FRACTION * members.size)])
    held_out = np.sort(np.concatenate(held))
    if split == "held_out":
        return held_out
    return np.setdiff1d(np.arange(labels.size), held_out)


class ImageData:
    """A finite set of labelled images, sampled with replacement (:func:`digits`,
    :func:`stacked_digits`).

    Attributes
    ----------
    images : torch.Tensor, shape (N, 1, 8, 8), float64 in [-1, 1]
        The digit images of the split (one channel).
    labels : torch.Tensor, shape (N,), int64
        Their classes 0..9.
    channels : int
        Digits per sample (1, or 3 for stacked digits).
    shape : (int, int, int)
        ``(channels, 8, 8)``.
    dim : int
        ``channels * 64``, the length of a flat sample.
    n_modes : int
        ``10 ** channels``.
    split : str
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, channels: int, split: str):
        self.images = images
        self.labels = labels
        self.channels = as_positive_int(channels, "channels")
        self.shape = (self.channels, int(images.shape[-2]), int(images.shape[-1]))
        self.dim = int(np.prod(self.shape))
        self.n_modes = 10**self.channels
        self.split = split

    def __repr__(self) -> str:
        return (
            f"ImageData(split={self.split!r}, images={int(self.images.shape[0])}, "
            f"channels={self.channels}, modes={self.n_modes})"
        )

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def sample_with_labels(
        self,
        n: int,
        *,
        generator: GeneratorLike = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` images with replacement: flat ``(n, dim)`` samples and their labels.

        Each channel is an independent uniform draw from the split; a stacked sample's
        label is ``sum_c label_c · 10^(channels − 1 − c)`` (``100·a + 10·b + c`` for 3).
        ``generator``: a CPU ``torch.Generator`` (advanced in place) or an int seed.
        """
        n = as_positive_int(n, "n")
        gen = _as_generator(generator)
        target = _as_device(device)
        dtype = _as_float_dtype(dtype)
        picks = torch.randint(0, len(self), (n, self.channels), generator=gen)
        samples = self.images[picks, 0]  # (n, C, 8, 8)
        place = 10 ** torch.arange(self.channels - 1, -1, -1)
        labels = (self.labels[picks] * place).sum(1)
        return samples.reshape(n, self.dim).to(device=target, dtype=dtype), labels.to(device=target)

    def sample(
        self,
        n: int,
        *,
        generator: GeneratorLike = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Draw ``n`` flat samples ``(n, dim)``; see :meth:`sample_with_labels`."""
        return self.sample_with_labels(n, generator=generator, device=device, dtype=dtype)[0]


def digits(split: str = "train") -> ImageData:
    """The UCI handwritten digits (8 × 8, 10 classes) of one split, in [−1, 1].

    Parameters
    ----------
    split : {"train", "held_out", "all"}
        ``"train"`` (1,438 images) and ``"held_out"`` (359: 20 % of each class, a fixed
        choice), or all 1,797.

    Raises
    ------
    ImportError
        Without scikit-learn (the ``images`` extra), in one line naming the extra.

    Examples
    --------
    >>> data = digits()
    >>> len(data), data.dim, data.n_modes
    (1438, 64, 10)
    >>> x = data.sample(5, generator=0)
    >>> tuple(x.shape), bool(x.min() >= -1 and x.max() <= 1)
    ((5, 64), True)
    """
    images, labels = _load()
    index = _split_indices(labels, split)
    return ImageData(torch.as_tensor(images[index, None]), torch.as_tensor(labels[index]), 1, split)


def stacked_digits(split: str = "train", channels: int = 3) -> ImageData:
    """Stacked digits: ``channels`` independent digits as the channels of one image.

    With 3 channels: 1,000 modes, label ``100·a + 10·b + c`` (the 8 × 8 analogue of
    stacked MNIST).

    Examples
    --------
    >>> data = stacked_digits()
    >>> data.shape, data.n_modes
    ((3, 8, 8), 1000)
    >>> x, y = data.sample_with_labels(4, generator=1)
    >>> tuple(x.shape), bool((y >= 0).all() and (y < 1000).all())
    ((4, 192), True)
    """
    channels = as_positive_int(channels, "channels")
    base = digits(split)
    return ImageData(base.images, base.labels, channels, split)
