"""gan_models: real neural GANs on toy data.

Training data for the mode-coverage benchmarks (:class:`GaussianMixture` and the
:func:`ring`, :func:`grid`, :func:`temperature` and :func:`high_dimensional` data sets)
and the networks that play them (:class:`MLP`, :class:`Discriminator` with PacGAN
packing and :class:`MinibatchDiscrimination`, and the standard toy architecture
:func:`generator_mlp` / :func:`discriminator_mlp`); real images that ship with
scikit-learn (:func:`digits`, :func:`stacked_digits`) and the DCGAN networks that play
them (:class:`ConvGenerator`, :class:`ConvDiscriminator`).

Everything that makes tensors takes ``device`` and ``dtype``; everything random takes a
seed or a CPU ``torch.Generator`` and leaves torch's global random state alone.  The
networks work with :func:`torch.func.functional_call`, so :class:`games.FlatModule` turns
them into flat players of a game.
"""

from ._interrupt import TrainingInterrupted
from .config import (
    ConfigError,
    TrainConfig,
    build_data,
    build_game,
    build_rule,
    config_names,
    load_config,
    resolve_device,
)
from .conv import ConvDiscriminator, ConvGenerator
from .data import GaussianMixture, grid, high_dimensional, ring, temperature
from .images import ImageData, digits, stacked_digits
from .networks import (
    MLP,
    Discriminator,
    MinibatchDiscrimination,
    discriminator_mlp,
    generator_mlp,
    pack_samples,
)
from .remedies import MixtureGenerator, ReplayBuffer, Substitution
from .trainer import (
    ConfigChanged,
    Trainer,
    TrainingDiverged,
    TrainResult,
    load_checkpoint,
    restore_buffers,
    save_checkpoint,
)

__all__ = [
    "MLP",
    "ConfigChanged",
    "ConfigError",
    "ConvDiscriminator",
    "ConvGenerator",
    "Discriminator",
    "GaussianMixture",
    "ImageData",
    "MinibatchDiscrimination",
    "MixtureGenerator",
    "ReplayBuffer",
    "Substitution",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "build_data",
    "build_game",
    "build_rule",
    "config_names",
    "digits",
    "discriminator_mlp",
    "generator_mlp",
    "grid",
    "high_dimensional",
    "load_checkpoint",
    "load_config",
    "pack_samples",
    "resolve_device",
    "restore_buffers",
    "ring",
    "save_checkpoint",
    "stacked_digits",
    "temperature",
]
