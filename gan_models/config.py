"""Training configuration: dataclasses, TOML loading with clear errors, and building.

A configuration file (TOML) has top-level run settings and one table per part; every
key is optional (defaults: the unrolled-GAN paper's 8-Gaussian ring set-up).  The
complete file, every key with its default, is in ``docs/training.md``: the top-level
``seed``, ``device``, ``steps``, ``batch_size``, ``latent_dim``, ``eval_every``,
``eval_samples``, ``log_every`` (and ``checkpoint_every``, the older spelling of
``[checkpoint] every``), then the tables ``[data]``, ``[generator]``,
``[discriminator]``, ``[game]``, ``[optimizer]``, ``[unroll]``, ``[replay]``,
``[substitution]``, ``[checkpoint]`` (``every``, ``keep_every``: snapshots kept in
``checkpoints/``) and ``[spectra]`` (``every``, ``k``, ``which``, ``hessians``,
``hessian_k``: spectra along training, recorded by :class:`analyses.SpectraRecorder`).

Every error names the key (``optimizer.lr: expected a number > 0 or a list of two,
got -1``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the tomli package (a declared dependency there)
    import tomli as tomllib

import torch
from torch import nn

from dynamics import Alternating, UpdateRule
from dynamics.registry import TRAINING_RULES, SpecError, make_rule
from games import Game, ParameterizedGAN, unrolled
from games.vocabulary import LOSS_ALIASES

from . import data as data_module
from ._config_parse import ConfigError, _choice, _from_mapping, _nonnegative, _positive
from .conv import ConvDiscriminator, ConvGenerator
from .images import ImageData
from .networks import discriminator_mlp, generator_mlp
from .remedies import MixtureGenerator

__all__ = [
    "DATASETS",
    "RULES",
    "CheckpointConfig",
    "ConfigError",
    "DataConfig",
    "DiscriminatorConfig",
    "GameConfig",
    "GeneratorConfig",
    "OptimizerConfig",
    "ReplayConfig",
    "SpectraConfig",
    "SubstitutionConfig",
    "TrainConfig",
    "UnrollConfig",
    "build_game",
    "build_rule",
    "config_names",
    "load_config",
]

IMAGE_DATASETS = ("digits", "stacked_digits")
DATASETS = ("ring", "grid", "temperature", "high_dimensional", *IMAGE_DATASETS)
NETWORKS = ("mlp", "dcgan")
"""``[generator] kind`` / ``[discriminator] kind``: an MLP (any data) or the DCGAN
convolutional networks of :mod:`gan_models.conv` (image data)."""
RULES = TRAINING_RULES
"""The names ``optimizer.rule`` accepts: the rules of :mod:`dynamics.registry` marked for
training, with their aliases (``"sgd"`` is ``"gd"``)."""


_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")
MAX_SEED = 2**62
"""The largest seed (the trainer derives its random streams from seed + small offsets)."""


@dataclass
class DataConfig:
    name: str = "ring"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class _NetworkConfig:
    """The settings both players' networks share (``kind = "dcgan"`` fixes the
    architecture: then only ``width`` and ``spectral_norm`` apply)."""

    kind: str = "mlp"
    depth: int = 2
    width: int = 128
    activation: str = "relu"
    init: str = "orthogonal"
    gain: float = 0.8
    spectral_norm: bool = False


@dataclass
class GeneratorConfig(_NetworkConfig):
    components: int = 1
    batch_norm: bool = False


@dataclass
class DiscriminatorConfig(_NetworkConfig):
    minibatch_discrimination: int = 0
    pack: int = 1


@dataclass
class GameConfig:
    loss: str = "non_saturating"
    regularizer: str = "none"
    gamma: float = 1.0
    feature_matching: bool = False


@dataclass
class OptimizerConfig:
    rule: str = "adam"
    lr: float | list[float] = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    alternating: bool = True
    d_steps: int = 1
    final_lr: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnrollConfig:
    steps: int = 0
    lr: float = 1e-4
    inner: str = "adam"
    first_order: bool = False


@dataclass
class ReplayConfig:
    capacity: int = 0
    every: int = 10
    weight: float = 0.5


@dataclass
class SubstitutionConfig:
    player: str = "discriminator"
    every: int = 0
    duration: int = 10
    keep: int = 10


@dataclass
class CheckpointConfig:
    """``[checkpoint]``: the resumable ``checkpoint.pt`` every ``every`` steps (0: the
    top-level ``checkpoint_every``), a kept ``checkpoints/step_NNNNNNN.pt`` snapshot every
    ``keep_every`` steps (0: none)."""

    every: int = 0
    keep_every: int = 0


@dataclass
class SpectraConfig:
    """``[spectra]``: Jacobian and Hessian spectra every ``every`` steps (0: off), recorded
    to ``spectra.jsonl`` by :class:`analyses.SpectraRecorder`."""

    every: int = 0
    k: int = 6
    which: list[str] = field(default_factory=lambda: ["magnitude", "imaginary"])
    hessians: bool = True
    hessian_k: int = 4


SPECTRA_WHICH = ("magnitude", "imaginary", "largest_real", "smallest_real")


@dataclass
class TrainConfig:
    """Everything a training run needs; see the module docstring for the file format."""

    seed: int = 0
    device: str = "auto"
    steps: int = 5000
    batch_size: int = 256
    latent_dim: int = 256
    eval_every: int = 500
    eval_samples: int = 2500
    checkpoint_every: int = 1000
    log_every: int = 100
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    game: GameConfig = field(default_factory=GameConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    unroll: UnrollConfig = field(default_factory=UnrollConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    substitution: SubstitutionConfig = field(default_factory=SubstitutionConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    spectra: SpectraConfig = field(default_factory=SpectraConfig)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> TrainConfig:
        """Build and validate a configuration from nested mappings (e.g. parsed TOML).

        ``[checkpoint] every`` and the top-level ``checkpoint_every`` are one setting:
        given both, they must agree; afterwards ``checkpoint_every`` holds it.
        """
        config = _from_mapping(cls, mapping, "")
        assert isinstance(config, TrainConfig)
        every = config.checkpoint.every
        if every and "checkpoint_every" in mapping and mapping["checkpoint_every"] != every:
            raise ConfigError(
                f"checkpoint.every: {every} differs from checkpoint_every = "
                f"{mapping['checkpoint_every']!r} (the older spelling of the same key); give one"
            )
        if isinstance(every, int) and every > 0:
            config.checkpoint_every = every
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts (JSON/TOML-serialisable)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with top-level fields or ``section__key`` entries changed, validated."""
        mapping = self.to_dict()
        for key, value in changes.items():
            if "__" in key:
                section, sub = key.split("__", 1)
                mapping.setdefault(section, {})[sub] = value
            else:
                mapping[key] = value
        if "checkpoint_every" in changes and "checkpoint__every" not in changes:
            mapping["checkpoint"]["every"] = 0  # one setting, two spellings
        return TrainConfig.from_dict(mapping)

    def validate(self) -> None:
        """Check ranges and choices; raises :class:`ConfigError` naming the key."""
        for key in ("steps", "batch_size", "latent_dim", "eval_every", "eval_samples"):
            _positive(getattr(self, key), key)
        for key in ("checkpoint_every", "log_every"):
            _positive(getattr(self, key), key)
        if not _DEVICE.fullmatch(self.device):
            raise ConfigError(f"device: expected 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed: expected an int in [0, 2**62], got {self.seed}")
        _choice(self.data.name, "data.name", DATASETS)
        for name, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            _choice(net.kind, f"{name}.kind", NETWORKS)
            if net.kind == "dcgan":
                if self.data.name not in IMAGE_DATASETS:
                    raise ConfigError(
                        f"{name}.kind: 'dcgan' needs image data (data.name = "
                        f"{' or '.join(IMAGE_DATASETS)}), got data.name = {self.data.name!r}"
                    )
                fixed = _NetworkConfig()
                for key in ("depth", "activation", "init", "gain"):
                    if getattr(net, key) != getattr(fixed, key):
                        raise ConfigError(
                            f"{name}.{key}: not a setting of the 'dcgan' network (its layers, "
                            "activations and N(0, 0.02) initialisation are fixed); remove it"
                        )
            _positive(net.depth, f"{name}.depth", allow_zero=True)
            _positive(net.width, f"{name}.width")
            if not net.gain > 0:
                raise ConfigError(f"{name}.gain: expected a number > 0, got {net.gain}")
        _positive(self.generator.components, "generator.components")
        if self.generator.batch_norm and self.generator.kind != "dcgan":
            raise ConfigError("generator.batch_norm: only the 'dcgan' generator has batch norm")
        _positive(
            self.discriminator.minibatch_discrimination,
            "discriminator.minibatch_discrimination",
            allow_zero=True,
        )
        _positive(self.discriminator.pack, "discriminator.pack")
        if self.batch_size % self.discriminator.pack:
            raise ConfigError(
                f"discriminator.pack: expected a divisor of batch_size={self.batch_size}, "
                f"got {self.discriminator.pack}"
            )
        losses = ("minimax", "non_saturating", "mle", "wgan", "hinge", "least_squares")
        if isinstance(self.game.loss, str):  # the one vocabulary: "standard" is "minimax", ...
            key = self.game.loss.strip().lower().replace("-", "_")
            self.game.loss = LOSS_ALIASES.get(key, key)
        _choice(self.game.loss, "game.loss", losses)
        _choice(self.game.regularizer, "game.regularizer", ("none", "r1", "r2", "wgan_gp"))
        _nonnegative(self.game.gamma, "game.gamma")
        opt = self.optimizer
        _choice(opt.rule, "optimizer.rule", RULES)
        lrs = opt.lr if isinstance(opt.lr, list) else [opt.lr]
        if len(lrs) not in (1, 2) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in lrs
        ):
            raise ConfigError(
                f"optimizer.lr: expected a number > 0 or a list of two (generator, "
                f"discriminator), got {opt.lr!r}"
            )
        if len(opt.betas) != 2 or not all(0 <= b < 1 for b in opt.betas):
            raise ConfigError(f"optimizer.betas: expected two numbers in [0, 1), got {opt.betas}")
        _positive(opt.d_steps, "optimizer.d_steps")
        if not 0 < opt.final_lr <= 1:
            raise ConfigError(
                f"optimizer.final_lr: expected a fraction in (0, 1] (lr decays linearly to "
                f"lr * final_lr over the run), got {opt.final_lr}"
            )
        if opt.d_steps > 1 and not opt.alternating:
            raise ConfigError(
                "optimizer.d_steps: several discriminator steps need optimizer.alternating = true"
            )
        _positive(self.unroll.steps, "unroll.steps", allow_zero=True)
        if not self.unroll.lr > 0:
            raise ConfigError(f"unroll.lr: expected a number > 0, got {self.unroll.lr}")
        _choice(self.unroll.inner, "unroll.inner", ("sgd", "adam"))
        _positive(self.replay.capacity, "replay.capacity", allow_zero=True)
        _positive(self.replay.every, "replay.every")
        _nonnegative(self.replay.weight, "replay.weight")
        _choice(self.substitution.player, "substitution.player", ("generator", "discriminator"))
        _positive(self.substitution.every, "substitution.every", allow_zero=True)
        _positive(self.substitution.duration, "substitution.duration")
        _positive(self.substitution.keep, "substitution.keep")
        _positive(self.checkpoint.every, "checkpoint.every", allow_zero=True)
        _positive(self.checkpoint.keep_every, "checkpoint.keep_every", allow_zero=True)
        spectra = self.spectra
        for key in ("every", "hessian_k"):
            _positive(getattr(spectra, key), f"spectra.{key}", allow_zero=True)
        _positive(spectra.k, "spectra.k")
        if not spectra.which or not all(w in SPECTRA_WHICH for w in spectra.which):
            raise ConfigError(
                f"spectra.which: expected a list of one or more of {', '.join(SPECTRA_WHICH)}; "
                f"got {spectra.which!r}"
            )


CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def config_names() -> tuple[str, ...]:
    """The names of the configurations shipped with gamedyn (``gan_models/configs/*.toml``).

    ``plain_ring`` / ``unrolled_ring`` and ``plain_grid`` / ``unrolled_grid`` are the
    unrolled-GAN paper's 2-D experiment (Metz et al. 2017), every number with its source
    in a comment of the file.

    Examples
    --------
    >>> from gan_models import config_names
    >>> "unrolled_ring" in config_names()
    True
    """
    return tuple(sorted(path.stem for path in CONFIG_DIR.glob("*.toml")))


def load_config(source: str | Path) -> TrainConfig:
    """Read a TOML configuration file, or a shipped configuration by name.

    Parameters
    ----------
    source : str or pathlib.Path
        A path to a TOML file, or the name of a shipped configuration
        (:func:`config_names`, e.g. ``"unrolled_ring"``).  An existing file wins over
        a name.

    Raises
    ------
    FileNotFoundError
        If ``source`` looks like a path (has a folder or a ``.toml`` suffix) and there
        is no such file.
    ConfigError
        On an unknown name (the message lists the shipped names), malformed TOML (with
        its line) or a bad value (naming the key).

    Examples
    --------
    >>> from gan_models import load_config
    >>> config = load_config("unrolled_ring")
    >>> config.unroll.steps, config.optimizer.lr, config.batch_size
    (10, [0.001, 0.0001], 512)
    """
    if not isinstance(source, (str, Path)):
        raise TypeError(
            f"config: expected a TOML file path or a configuration name, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.is_file():
        looks_like_path = isinstance(source, Path) or path.suffix == ".toml" or len(path.parts) > 1
        if looks_like_path:
            raise FileNotFoundError(f"config: no such file {str(path)!r}")
        names = config_names()
        if str(source) not in names:
            raise ConfigError(
                f"config: {str(source)!r} is neither a file nor a shipped configuration; "
                f"shipped: {', '.join(names)}"
            )
        path = CONFIG_DIR / f"{source}.toml"
    try:
        mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config: {path.name} is not valid TOML ({error})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config: {str(path)!r} is not UTF-8 text (byte {error.start}); TOML files are UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"config: cannot read {str(path)!r} ({error.strerror})") from None
    return TrainConfig.from_dict(mapping)


# -- building ---------------------------------------------------------------------------------


def resolve_device(device: str) -> torch.device:
    """``'auto'`` is CUDA when available, else the CPU.

    Raises
    ------
    ConfigError
        If ``device`` is not ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``, or names
        a CUDA device that is not there.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ConfigError(f"device: expected 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} requested but CUDA is not available")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ConfigError(
            f"device: {device!r} requested but there are {torch.cuda.device_count()} CUDA devices"
        )
    return resolved


def build_data(config: TrainConfig) -> data_module.GaussianMixture | ImageData:
    """The data distribution named by ``config.data``: a Gaussian mixture, or the
    :class:`ImageData` of ``digits`` / ``stacked_digits`` (these need scikit-learn)."""
    from . import images

    module = images if config.data.name in IMAGE_DATASETS else data_module
    factory = getattr(module, config.data.name)
    try:
        mixture = factory(**config.data.options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"data.options: {error}") from None
    except ImportError as error:
        raise ConfigError(f"data.name: {config.data.name!r}: {error}") from None
    assert isinstance(mixture, (data_module.GaussianMixture, ImageData))
    return mixture


_Data = data_module.GaussianMixture | ImageData


def _image_shape(data: _Data, key: str) -> tuple[int, int]:
    if not isinstance(data, ImageData):
        raise ConfigError(f"{key}: 'dcgan' needs image data (digits or stacked_digits)")
    return data.channels, data.shape[-1]


def _generator(config: TrainConfig, data: _Data, device: torch.device, seed: int) -> nn.Module:
    g = config.generator
    if g.kind == "dcgan":
        channels, size = _image_shape(data, "generator.kind")
        return ConvGenerator(
            config.latent_dim, channels=channels, size=size, width=g.width,
            batch_norm=g.batch_norm, device=device, generator=seed,
        )
    return generator_mlp(
        latent=config.latent_dim, out=data.dim, depth=g.depth, width=g.width,
        activation=g.activation, init=g.init, gain=g.gain, spectral_norm=g.spectral_norm,
        device=device, generator=seed,
    )


def _discriminator(
    config: TrainConfig, data: _Data, device: torch.device, seed: int
) -> nn.Module:
    d = config.discriminator
    minibatch = d.minibatch_discrimination or None
    if d.kind == "dcgan":
        channels, size = _image_shape(data, "discriminator.kind")
        return ConvDiscriminator(
            channels=channels, size=size, width=d.width, spectral_norm=d.spectral_norm,
            minibatch_discrimination=minibatch, pack=d.pack, device=device, generator=seed,
        )
    return discriminator_mlp(
        in_features=data.dim, depth=d.depth, width=d.width,
        activation=d.activation, init=d.init, gain=d.gain, spectral_norm=d.spectral_norm,
        minibatch_discrimination=minibatch, pack=d.pack, device=device, generator=seed,
    )


def build_game(
    config: TrainConfig, *, device: torch.device | str = "cpu"
) -> tuple[Game, ParameterizedGAN, data_module.GaussianMixture | ImageData]:
    """The training game (unrolled if asked), its base ParameterizedGAN and the data.

    Networks (MLPs, or the DCGAN networks for ``kind = "dcgan"``) are initialised from
    ``config.seed`` (not the global RNG), in float32.
    """
    device = torch.device(device)
    mixture = build_data(config)
    seed = config.seed
    components = [
        _generator(config, mixture, device, seed * 1000 + 1 + i)
        for i in range(config.generator.components)
    ]
    generator = components[0] if len(components) == 1 else MixtureGenerator(components)
    discriminator = _discriminator(config, mixture, device, seed * 1000 + 999)
    base = ParameterizedGAN(
        generator,
        discriminator,
        mixture,
        latent_dim=config.latent_dim,
        batch_size=config.batch_size,
        loss=config.game.loss,
        regularizer=config.game.regularizer,
        gamma=config.game.gamma,
        feature_matching=config.game.feature_matching,
        mode="sampling",
        seed=seed,
        device=device,
        replay_weight=config.replay.weight,
    )
    game: Game = base
    if config.unroll.steps > 0:
        game = unrolled(
            base,
            config.unroll.steps,
            lr=config.unroll.lr,
            inner=config.unroll.inner,
            first_order=config.unroll.first_order,
            betas=tuple(config.optimizer.betas),
        )
    return game, base, mixture


def build_rule(config: TrainConfig) -> UpdateRule:
    """The update rule named by ``config.optimizer`` (alternating when asked).

    With ``final_lr < 1`` the step sizes decay linearly from ``lr`` to
    ``lr * final_lr`` over ``config.steps`` updates.  The rule is built by
    :func:`dynamics.registry.make_rule`: ``optimizer.options`` are its hyper-parameters
    by their registry names (``gamedyn rules`` lists them), Adam's moment decays come from
    ``optimizer.betas``.
    """
    opt = config.optimizer
    lrs = [float(v) for v in opt.lr] if isinstance(opt.lr, list) else [float(opt.lr)] * 2
    options = dict(opt.options)
    total, final = config.steps, opt.final_lr

    def decay(t: float) -> float:
        return 1.0 - (1.0 - final) * min(t / total, 1.0)

    if opt.rule == "adam":  # Adam's moment decays are optimizer.betas
        for key in ("beta1", "beta2"):
            if key in options:
                raise ConfigError(
                    f"optimizer.options: {key}: give Adam's moment decays as optimizer.betas"
                )
        options.update(beta1=opt.betas[0], beta2=opt.betas[1])

    def make(lr: Any) -> UpdateRule:
        # the rule and its options by their dynamics.registry names (gamedyn rules)
        try:
            return make_rule(opt.rule, lr, **options)
        except SpecError as error:
            raise ConfigError(f"optimizer.options: {error}") from None

    if opt.alternating:
        repeats = (1, opt.d_steps)
        if final == 1.0:
            rules = [make(lrs[0]), make(lrs[1])]
        else:
            # a player's own step count is t * repeats: schedule on the outer step
            rules = [make(lambda t, lr=lr, r=r: lr * decay(t / r)) for lr, r in zip(lrs, repeats)]
        return Alternating(rules, repeats=repeats)
    if final == 1.0:
        return make(lrs if lrs[0] != lrs[1] else lrs[0])
    return make(lambda t: [lrs[0] * decay(t), lrs[1] * decay(t)])
