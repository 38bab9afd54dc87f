"""Mode counting and quality for generated digits (:func:`gan_models.digits`,
:func:`gan_models.stacked_digits`).

:func:`digit_classifier` trains a small convolutional network on the training split of
the UCI digits (or loads it from the disk cache, keyed by its training configuration);
:func:`digit_coverage` classifies each channel of generated images and reports, like the
stacked-MNIST benchmark (Metz et al. 2017; Srivastava et al. 2017, Table 2; Lin et al.
2018, Table 3): modes covered (of 10 or 1,000), the reverse KL of the mode histogram to
the uniform one, the mean classifier confidence, the share of confidently classified
samples, and a Fréchet distance between the classifier's features of the generated and of
held-out images (the FID of Heusel et al. 2017, with this classifier in place of
Inception).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import linalg

__all__ = [
    "DigitClassifier",
    "digit_classifier",
    "digit_coverage",
    "digit_evaluator",
    "frechet_distance",
]

_ARCHITECTURE = "conv16-conv32-pool-fc64-fc10/v1"


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(32 * 4 * 4, 64),
            torch.nn.ReLU(),
        )
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class DigitClassifier:
    """A trained digit classifier for 8 × 8 images in [−1, 1].

    Attributes
    ----------
    net : torch.nn.Module
        The network (eval mode, CPU, float32).
    accuracy : float
        Its accuracy on the held-out split.
    config : dict
        How it was trained (the cache key is a hash of this).
    """

    net: torch.nn.Module
    accuracy: float
    config: dict[str, Any]

    def _channels(self, images: torch.Tensor | np.ndarray, channels: int) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        x = x.detach().to("cpu", torch.float32)
        if x.dim() == 2 and x.shape[1] == 64 * channels:
            x = x.reshape(-1, channels, 8, 8)
        if x.dim() != 4 or tuple(x.shape[1:]) != (channels, 8, 8):
            raise ValueError(
                f"images: expected (n, {64 * channels}) or (n, {channels}, 8, 8), "
                f"got shape {tuple(x.shape)}"
            )
        return x.reshape(-1, 1, 8, 8)  # every channel one digit

    @torch.no_grad()
    def probabilities(self, images: Any, channels: int = 1) -> torch.Tensor:
        """Class probabilities of each channel: ``(n, channels, 10)``."""
        x = self._channels(images, channels)
        return torch.softmax(self.net(x), -1).reshape(-1, channels, 10)

    @torch.no_grad()
    def features(self, images: Any, channels: int = 1) -> torch.Tensor:
        """The 64 penultimate features of each channel, concatenated: ``(n, 64·channels)``."""
        x = self._channels(images, channels)
        return self.net.body(x).reshape(-1, 64 * channels)  # type: ignore[operator]


def _cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get("GAMEDYN_CACHE") or Path.home() / ".cache" / "gamedyn"
    return Path(root)


def _train(config: dict[str, Any]) -> tuple[torch.nn.Module, float]:
    from gan_models import digits

    train, held = digits("train"), digits("held_out")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config["seed"])
        net = _Net()
    gen = torch.Generator().manual_seed(config["seed"] + 1)
    optimizer = torch.optim.Adam(net.parameters(), lr=config["lr"])
    x = train.images.to(torch.float32)
    y = train.labels
    for _ in range(config["epochs"]):
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), config["batch_size"]):
            batch = order[start : start + config["batch_size"]]
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        predicted = net(held.images.to(torch.float32)).argmax(-1)
    return net, float((predicted == held.labels).float().mean())


def digit_classifier(
    *,
    seed: int = 0,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
) -> DigitClassifier:
    """The digit classifier: loaded from the disk cache, else trained (seconds on a CPU).

    Parameters
    ----------
    seed, epochs, lr, batch_size
        The training configuration (Adam, cross-entropy, the training split); a different
        configuration is a different cache entry.
    cache_dir : path, optional
        Where trained classifiers are kept (default ``$GAMEDYN_CACHE`` or
        ``~/.cache/gamedyn``).
    cache : bool
        ``False`` trains afresh and writes nothing.

    Returns
    -------
    DigitClassifier
        With its held-out ``accuracy`` (about 0.98 with the defaults).
    """
    from games.validation import as_positive_float, as_positive_int

    config = {
        "architecture": _ARCHITECTURE,
        "seed": int(seed),
        "epochs": as_positive_int(epochs, "epochs"),
        "lr": as_positive_float(lr, "lr"),
        "batch_size": as_positive_int(batch_size, "batch_size"),
        "torch": torch.__version__.split("+")[0],
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    path = _cache_dir(cache_dir) / f"digit_classifier-{key}.pt"
    if cache and path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            cached = _Net()
            cached.load_state_dict(state["weights"])
            cached.eval()
            if state.get("config") == config:
                return DigitClassifier(cached, float(state["accuracy"]), config)
        except Exception:  # a damaged cache entry: retrain and replace it
            pass
    net, accuracy = _train(config)
    if cache:
        from gan_models import save_checkpoint

        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, {"weights": net.state_dict(), "accuracy": accuracy, "config": config})
    return DigitClassifier(net, accuracy, config)


def frechet_distance(a: Any, b: Any) -> float:
    r"""The Fréchet distance between Gaussians fitted to two feature sets ``(n, d)``:

    :math:`\|\mu_a - \mu_b\|^2 + \mathrm{tr}(\Sigma_a + \Sigma_b - 2(\Sigma_a\Sigma_b)^{1/2})`
    (Heusel et al. 2017).
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(
            f"a, b: expected two (n, d) feature arrays with the same d and n >= 2, got "
            f"{x.shape} and {y.shape}"
        )
    mu = x.mean(0) - y.mean(0)
    sa = np.atleast_2d(np.cov(x, rowvar=False))
    sb = np.atleast_2d(np.cov(y, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular: handled below
        root = linalg.sqrtm(sa @ sb)
        if not np.isfinite(root).all():  # rank-deficient features: offset as pytorch-fid
            offset = 1e-6 * np.eye(sa.shape[0])
            root = linalg.sqrtm((sa + offset) @ (sb + offset))
    return float(mu @ mu + np.trace(sa + sb - 2 * np.real(root)))


def digit_coverage(
    samples: Any,
    classifier: DigitClassifier,
    *,
    channels: int = 1,
    confidence: float = 0.9,
    reference: Any = None,
) -> dict[str, Any]:
    """Modes, quality and FID of generated digit images.

    Parameters
    ----------
    samples : array_like
        ``(n, 64·channels)`` or ``(n, channels, 8, 8)`` generated images.
    classifier : DigitClassifier
    channels : int
        Digits per image (3: stacked digits, 1,000 modes).
    confidence : float
        A sample is *high quality* when every channel's top probability is at least this.
    reference : array_like, optional
        Real images of the same shape (e.g. held-out ones) for the Fréchet distance.

    Returns
    -------
    dict
        ``n_modes``, ``modes`` (labels with at least one high-quality sample), ``hq_percent``,
        ``mean_confidence``, ``reverse_kl`` (KL of the histogram of all samples' labels to
        the uniform distribution over ``n_modes``), ``histogram`` (counts per label) and,
        with ``reference``, ``fid``.
    """
    if not 0 < confidence <= 1:
        raise ValueError(f"confidence: expected a number in (0, 1], got {confidence!r}")
    prob = classifier.probabilities(samples, channels)  # (n, C, 10)
    top, digit = prob.max(-1)
    place = 10 ** torch.arange(channels - 1, -1, -1)
    labels = (digit * place).sum(1).numpy()
    sure = (top >= confidence).all(1).numpy()
    n_modes = 10**channels
    histogram = np.bincount(labels, minlength=n_modes)
    p = histogram / histogram.sum()
    nonzero = p > 0
    out: dict[str, Any] = {
        "n_modes": n_modes,
        "modes": int(np.unique(labels[sure]).size),
        "hq_percent": 100.0 * float(sure.mean()),
        "mean_confidence": float(top.mean()),
        "reverse_kl": float(np.sum(p[nonzero] * np.log(p[nonzero] * n_modes))),
        "histogram": histogram.tolist(),
    }
    if reference is not None:
        out["fid"] = frechet_distance(
            classifier.features(samples, channels).numpy(),
            classifier.features(reference, channels).numpy(),
        )
    return out


def digit_evaluator(
    data: Any, *, classifier: DigitClassifier | None = None, confidence: float = 0.9
) -> Any:
    """A trainer evaluation function for image data: ``samples -> dict`` of mode metrics.

    The image counterpart of :func:`analyses.coverage_evaluator` (``gamedyn train`` picks
    it for ``digits`` and ``stacked_digits``): :func:`digit_coverage` of the samples, with
    the Fréchet distance to the held-out images, under the names the training log and
    the command line use: ``modes_covered`` (labels with a confidently classified
    sample), ``n_modes``, ``high_quality_percent``, ``reverse_kl``, ``mean_confidence``
    and ``fid``.

    Parameters
    ----------
    data : gan_models.ImageData
        The training data (its ``channels`` say how many digits an image holds).
    classifier : DigitClassifier, optional
        Default: :func:`digit_classifier` (trained once, then read from the disk cache).
    confidence : float
        As in :func:`digit_coverage`.
    """
    from gan_models import ImageData, stacked_digits

    if not isinstance(data, ImageData):
        raise TypeError(
            f"data: expected gan_models.ImageData (digits or stacked_digits), "
            f"got {type(data).__name__}"
        )
    net = classifier if classifier is not None else digit_classifier()
    channels = data.channels
    # held-out digits in every channel, a fixed draw of 2,000 images
    reference = stacked_digits("held_out", channels).sample(2000, generator=0)

    def evaluate(samples: Any) -> dict[str, Any]:
        out = digit_coverage(
            samples, net, channels=channels, confidence=confidence, reference=reference
        )
        return {
            "modes_covered": out["modes"],
            "n_modes": out["n_modes"],
            "high_quality_percent": out["hq_percent"],
            "reverse_kl": out["reverse_kl"],
            "mean_confidence": out["mean_confidence"],
            "fid": out["fid"],
        }

    return evaluate
