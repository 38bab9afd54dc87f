r"""Neural GANs as two-player games over flat parameter vectors.

:class:`ParameterizedGAN` turns any generator and discriminator ``torch.nn.Module``
into a :class:`games.Game` with players ``("generator", "discriminator")``: both are
called with :func:`torch.func.functional_call` on views of the flat parameter vectors,
so the same object serves analysis (vector field, dense or matrix-free Jacobian,
spectra) and training (minibatch steps of any :mod:`dynamics` rule, on CPU or CUDA).

With discriminator logits :math:`d_r = D(x)` on real and :math:`d_f = D(G(z))` on
generated samples (means over the batch):

==================  =============================================  ===============================
loss                :math:`\ell_D`                                 :math:`\ell_G`
==================  =============================================  ===============================
``minimax``         :math:`\mathrm{sp}(-d_r) + \mathrm{sp}(d_f)`   :math:`-\ell_D` (zero-sum)
``non_saturating``  same                                           :math:`\mathrm{sp}(-d_f)`
``mle``             same                                           :math:`-\tfrac12 e^{d_f}`
``wgan``            :math:`d_f - d_r`                              :math:`-\ell_D` (zero-sum)
``hinge``           :math:`(1 - d_r)_+ + (1 + d_f)_+`              :math:`-d_f`
``least_squares``   :math:`\tfrac12 (d_r - 1)^2 + \tfrac12 d_f^2`  :math:`\tfrac12 (d_f - 1)^2`
==================  =============================================  ===============================

(:math:`\mathrm{sp}(t) = \log(1 + e^t)`.)  Loss values follow ``docs/conventions.md``: a
zero-sum generator's loss is the game's value :math:`V = -\ell_D` (regularisers excluded),
a surrogate's is its expectation over generated samples alone.  Regularisers add to :math:`\ell_D`: R1
:math:`\tfrac\gamma2 E\|\nabla_x D(x)\|^2` on real data, R2 the same on generated
samples (Mescheder et al. 2018), WGAN-GP
:math:`\gamma E(\|\nabla_{\hat x} D(\hat x)\| - 1)^2` on random interpolates (Gulrajani
et al. 2017).  Feature matching (Salimans et al. 2016) replaces :math:`\ell_G` by
:math:`\|E f(x) - E f(G(z))\|^2` with :math:`f` the discriminator's last hidden layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ._protocol import Params
from .autodiff import _grad_of, _values_only
from .modules import FlatModule
from .validation import as_nonnegative, as_positive_int, choice
from .vocabulary import canonical_loss

__all__ = ["ParameterizedGAN"]

LOSSES = ("minimax", "non_saturating", "mle", "wgan", "hinge", "least_squares")
REGULARIZERS = ("none", "r1", "r2", "wgan_gp")
MODES = ("fixed", "sampling")


def _softplus(t: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.softplus(t)


def _feature_module(discriminator: torch.nn.Module) -> torch.nn.Module:
    """The discriminator without its last layer: ``.features`` or ``Sequential[:-1]``."""
    features = getattr(discriminator, "features", None)
    if isinstance(features, torch.nn.Module):
        return features
    if isinstance(discriminator, torch.nn.Sequential) and len(discriminator) > 1:
        return discriminator[:-1]
    raise ValueError(
        "feature_matching: expected a discriminator that is a torch.nn.Sequential (features = "
        "all layers but the last) or has a 'features' submodule, got "
        f"{type(discriminator).__name__}"
    )


class ParameterizedGAN:
    r"""A GAN between two neural networks, as a game over their flat parameters.

    Parameters
    ----------
    generator, discriminator : torch.nn.Module
        Any modules: ``generator(z)`` maps latent codes ``(batch, latent_dim)`` to
        samples shaped like the data; ``discriminator(x)`` maps samples to logits (any
        shape with one value per sample, or per pack of samples for PacGAN).
    data : torch.Tensor or sampler
        Real data: a tensor of samples ``(N, ...)`` (minibatches are drawn from it), or
        an object with ``sample(n, *, generator, dtype)`` such as
        :func:`gan_models.ring`.
    latent_dim : int
        Size of the standard-normal latent codes.
    batch_size : int
        Samples per minibatch (real and generated alike).
    loss : str
        One of ``minimax``, ``non_saturating``, ``mle``, ``wgan``, ``hinge``,
        ``least_squares`` (see the module docstring for the formulas).
    regularizer : {"none", "r1", "r2", "wgan_gp"}
        Gradient penalty added to the discriminator's loss, with weight ``gamma``.
    gamma : float
        Penalty weight.
    feature_matching : bool
        Use Salimans et al.'s feature-matching loss for the generator.
    mode : {"fixed", "sampling"}
        ``"fixed"``: one batch of data, latent codes (and interpolation weights) drawn
        once from ``seed`` — deterministic losses, for Jacobians and spectra.
        ``"sampling"``: every call of :meth:`losses` draws fresh minibatches from a
        generator seeded with ``seed`` (its state is :meth:`rng_state`).  Networks that
        mix the samples of a batch (minibatch discrimination, batch statistics) are
        functions of the batch as a whole: on the fixed batch the game is deterministic
        and passes :func:`check_game`; in sampling mode each field is that of its batch.
    seed : int
        Seed of the batches.
    device : torch.device or str, optional
        Where batches are drawn (default: CPU).
    replay_weight : float
        Weight of the replayed fakes in the discriminator's loss when a replay buffer
        is set (:attr:`replay`), the experience-replay remedy.

    Attributes
    ----------
    players : tuple of str
        ``("generator", "discriminator")``.
    sizes : tuple of int
        Parameter counts of the two networks.
    G, D : games.FlatModule
        The networks as functions of flat vectors.
    replay : torch.Tensor or None
        Old generated samples shown to the discriminator as extra fakes (set by the
        trainer's experience-replay remedy; ``None`` by default).

    Examples
    --------
    >>> import torch
    >>> from games import ParameterizedGAN, check_game
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> G = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    >>> D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> game = ParameterizedGAN(G, D, torch.randn(64, 2), latent_dim=2, batch_size=16)
    >>> game.sizes
    (42, 33)
    >>> sorted(check_game(game, game.params()))[:2]
    ['deterministic', 'field_vs_fd']
    """

    players: tuple[str, ...] = ("generator", "discriminator")

    def __init__(
        self,
        generator: torch.nn.Module,
        discriminator: torch.nn.Module,
        data: Any,
        *,
        latent_dim: int,
        batch_size: int = 256,
        loss: str = "non_saturating",
        regularizer: str = "none",
        gamma: float = 1.0,
        feature_matching: bool = False,
        mode: str = "fixed",
        seed: int = 0,
        device: torch.device | str | None = None,
        replay_weight: float = 1.0,
    ) -> None:
        self.G = FlatModule(generator)
        self.D = FlatModule(discriminator)
        self.sizes: tuple[int, ...] = (self.G.size, self.D.size)
        self.latent_dim = as_positive_int(latent_dim, "latent_dim")
        self.batch_size = as_positive_int(batch_size, "batch_size")
        self.loss = canonical_loss(loss, LOSSES)
        self.regularizer = choice(regularizer, "regularizer", REGULARIZERS)
        self.gamma = as_nonnegative(gamma, "gamma")
        if not isinstance(feature_matching, bool):
            raise TypeError(
                f"feature_matching: expected a bool, got {type(feature_matching).__name__}"
            )
        self.feature_matching = feature_matching
        self._features = FlatModule(_feature_module(discriminator)) if feature_matching else None
        self._feature_names: tuple[str, ...] = ()
        if self._features is not None:
            # map the feature module's parameters to the discriminator's names (by identity)
            by_id = {id(p): n for n, p in discriminator.named_parameters()}
            own = dict(self._features.module.named_parameters())
            missing = [n for n in self._features.names if id(own[n]) not in by_id]
            if missing:
                raise ValueError(
                    "feature_matching: the discriminator's 'features' submodule must share "
                    f"the discriminator's parameters; {missing[:3]} are not among them"
                )
            self._feature_names = tuple(by_id[id(own[n])] for n in self._features.names)
        self.mode = choice(mode, "mode", MODES)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        self.seed = seed
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.replay_weight = as_nonnegative(replay_weight, "replay_weight")
        self.replay: torch.Tensor | None = None
        self._data = self._check_data(data)
        self._check_shapes(generator, discriminator)
        self._generator = torch.Generator().manual_seed(seed)
        self._fixed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._held: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        # (theta, z, G(theta, z)) while reuse_generator_output() is active
        self._fake_cache: list[torch.Tensor] | None = None
        if self.mode == "fixed":
            self._fixed = self.draw_batch()

    # -- data -------------------------------------------------------------------------

    def _check_data(self, data: Any) -> Any:
        if isinstance(data, torch.Tensor):
            if data.dim() < 2 or data.shape[0] < 1 or not data.is_floating_point():
                raise ValueError(
                    "data: expected a floating tensor of samples shaped (N, ...) with N >= 1, "
                    f"got {tuple(data.shape)} {data.dtype}"
                )
            if not bool(torch.isfinite(data).all()):
                raise ValueError("data: expected finite samples, found NaN or Inf")
            return data.to(self.device)
        if callable(getattr(data, "sample", None)):
            return data
        raise TypeError(
            "data: expected a tensor of samples or a sampler with "
            f"sample(n, *, generator, dtype), got {type(data).__name__}"
        )

    def _check_shapes(self, generator: torch.nn.Module, discriminator: torch.nn.Module) -> None:
        """One forward pass of each network on a batch (eval mode, no gradients, no draw
        from any game or global generator): a latent or data dimension that does not fit
        the networks fails here, naming it, instead of at first use."""
        n = self.batch_size
        if isinstance(self._data, torch.Tensor):
            real = self._data[torch.arange(n, device=self._data.device) % self._data.shape[0]]
        else:
            real = self._data.sample(
                n, generator=torch.Generator().manual_seed(0), dtype=torch.float32
            )
        first = next(iter(generator.parameters()), None)
        device = first.device if first is not None else self.device
        dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        modes = (generator.training, discriminator.training)
        generator.eval()
        discriminator.eval()
        try:
            with torch.no_grad():
                try:
                    fake = generator(torch.zeros(n, self.latent_dim, device=device, dtype=dtype))
                except (RuntimeError, ValueError, IndexError) as error:
                    raise ValueError(
                        f"latent_dim: the generator does not take latent codes of dimension "
                        f"{self.latent_dim} ({_first_line(error)})"
                    ) from None
                if tuple(fake.shape[1:]) != tuple(real.shape[1:]):
                    raise ValueError(
                        f"data: the samples have shape {tuple(real.shape[1:])} per sample, "
                        f"the generator makes {tuple(fake.shape[1:])}"
                    )
                try:
                    discriminator(real.to(device=fake.device, dtype=fake.dtype))
                except (RuntimeError, ValueError, IndexError) as error:
                    raise ValueError(
                        f"discriminator: it does not take samples of shape "
                        f"{tuple(real.shape[1:])} ({_first_line(error)})"
                    ) from None
        finally:
            generator.train(modes[0])
            discriminator.train(modes[1])

    def draw_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw ``(real, z, eps)`` from the game's generator: a data minibatch, latent
        codes and WGAN-GP interpolation weights (float32, on the game's device).

        Draws happen on the CPU (then move), so a seed gives the same batches on every
        device.
        """
        n, g = self.batch_size, self._generator
        if isinstance(self._data, torch.Tensor):
            index = torch.randint(0, self._data.shape[0], (n,), generator=g)
            real = self._data[index.to(self._data.device)].float()
        else:
            real = self._data.sample(n, generator=g, dtype=torch.float32)
        z = torch.randn(n, self.latent_dim, generator=g)
        eps = torch.rand(n, generator=g)
        return real.to(self.device), z.to(self.device), eps.to(self.device)

    @contextmanager
    def hold_batch(self) -> Iterator[None]:
        """In sampling mode, use one freshly drawn minibatch for every :meth:`losses`
        call inside the ``with`` block (e.g. all evaluations of one update: the inner
        steps of an unrolled game, extragradient's two fields).  No effect in fixed mode.
        """
        if self._fixed is not None or self._held is not None:
            yield
            return
        self._held = self.draw_batch()
        try:
            yield
        finally:
            self._held = None

    @contextmanager
    def reuse_generator_output(self) -> Iterator[None]:
        """Inside the ``with`` block, loss evaluations at the *same* generator parameter
        tensor and latent batch reuse one generator forward pass ``G(theta, z)``.

        Used by the inner steps of :func:`games.unrolled`, where only the discriminator
        moves: the K inner losses share ``G(theta, z)`` (and its graph to ``theta``)
        instead of recomputing it K times.  Identity, not value, decides: a different
        tensor object for ``theta`` or ``z`` recomputes.
        """
        previous = self._fake_cache
        self._fake_cache = []
        try:
            yield
        finally:
            self._fake_cache = previous

    def rng_state(self) -> torch.Tensor:
        """State of the batch generator (saved in checkpoints for exact resume)."""
        return self._generator.get_state()

    def set_rng_state(self, state: torch.Tensor) -> None:
        """Restore :meth:`rng_state`."""
        self._generator.set_state(state)

    def at_batch(
        self,
        real: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
        *,
        seed: int | None = None,
    ) -> ParameterizedGAN:
        """A fixed-batch copy of this game (same networks and settings): for spectra of
        a GAN along training, or a fixed evaluation batch.

        Missing parts of the batch are drawn from a generator seeded with ``seed``
        (default: the game's seed + 1), never from this game's own stream, so making
        the copy does not change the minibatches this game will draw.
        """
        game = object.__new__(ParameterizedGAN)
        game.__dict__.update(self.__dict__)
        game.mode = "fixed"
        game._held = None
        game._generator = torch.Generator().manual_seed(self.seed + 1 if seed is None else seed)
        drawn = game.draw_batch()
        game._fixed = (
            drawn[0] if real is None else real.to(self.device),
            drawn[1] if z is None else z.to(self.device),
            drawn[2],
        )
        return game

    # -- parameters ----------------------------------------------------------------------

    def params(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> Params:
        """The networks' current parameters as the game's params tuple."""
        return self.G.flatten(dtype=dtype, device=device), self.D.flatten(
            dtype=dtype, device=device
        )

    def load_(self, params: Params) -> None:
        """Copy ``params`` into the two networks' own parameters."""
        self.G.load_(params[0])
        self.D.load_(params[1])

    def sample(self, params: Params, z: torch.Tensor) -> torch.Tensor:
        """Generated samples ``G(z)`` at the generator parameters ``params[0]``."""
        theta = params[0]
        return self.G(theta, z.to(dtype=theta.dtype, device=theta.device))

    # -- the game -------------------------------------------------------------------------

    def _penalty(self, psi: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        def total_logit(x: torch.Tensor) -> torch.Tensor:
            return self.D(psi, x).sum()

        grads = _grad_of(total_logit, points).reshape(points.shape[0], -1)
        if self.regularizer == "wgan_gp":
            norms = torch.sqrt((grads * grads).sum(1) + 1e-12)
            return self.gamma * ((norms - 1.0) ** 2).mean()
        return 0.5 * self.gamma * (grads * grads).sum(1).mean()

    def losses(self, params: Params) -> tuple[torch.Tensor, torch.Tensor]:
        """``(l_G, l_D)`` on the fixed batch, or on a fresh minibatch in sampling mode."""
        return self._losses(params, generator=True, discriminator=True)

    def player_loss(self, params: Params, player: int) -> torch.Tensor:
        """``losses(params)[player]`` computing only what that loss needs (the
        generator's skips the discriminator on real data): used by rules that move one
        player at a time (:class:`dynamics.Alternating`)."""
        if player == 0:
            return self._losses(
                params, generator=True, discriminator=self.loss in ("minimax", "wgan")
            )[0]
        return self._losses(params, generator=False, discriminator=True)[1]

    def _losses(
        self, params: Params, *, generator: bool, discriminator: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        theta, psi = params
        batch = self._fixed or self._held or self.draw_batch()
        real, z, eps = (t.to(device=theta.device) for t in batch)
        real = real.to(theta.dtype)
        cache = self._fake_cache
        if cache and cache[0] is theta and cache[1] is batch[1]:
            fake = cache[2]
        else:
            fake = self.G(theta, z.to(theta.dtype))
            if cache is not None:
                cache[:] = [theta, batch[1], fake]
        d_fake = self.D(psi, fake).reshape(-1)
        loss_d = torch.zeros((), dtype=theta.dtype, device=theta.device)
        loss_g = loss_d
        if discriminator:
            d_real = self.D(psi, real).reshape(-1)
            if self.loss in ("minimax", "non_saturating", "mle"):
                loss_d = _softplus(-d_real).mean() + _softplus(d_fake).mean()
            elif self.loss == "wgan":
                loss_d = d_fake.mean() - d_real.mean()
            elif self.loss == "hinge":
                loss_d = torch.relu(1.0 - d_real).mean() + torch.relu(1.0 + d_fake).mean()
            else:
                loss_d = 0.5 * ((d_real - 1.0) ** 2).mean() + 0.5 * (d_fake**2).mean()

        if not generator:
            pass
        elif self.feature_matching:
            assert self._features is not None
            views = self.D.unflatten(psi)
            flat_f = torch.cat([views[n].reshape(-1) for n in self._feature_names])
            f_real = self._features(flat_f, real).reshape(real.shape[0], -1).mean(0)
            f_fake = self._features(flat_f, fake).reshape(fake.shape[0], -1).mean(0)
            loss_g = ((f_real - f_fake) ** 2).sum()
        elif self.loss in ("minimax", "wgan"):
            loss_g = -loss_d  # zero-sum: l_G = V (before any regulariser is added to l_D)
        elif self.loss == "non_saturating":
            loss_g = _softplus(-d_fake).mean()
        elif self.loss == "mle":
            loss_g = -0.5 * torch.exp(d_fake).mean()
        elif self.loss == "hinge":
            loss_g = -d_fake.mean()
        else:
            loss_g = 0.5 * ((d_fake - 1.0) ** 2).mean()

        if discriminator and self.replay is not None and self.replay_weight > 0:
            old = self.replay.to(dtype=theta.dtype, device=theta.device)
            d_old = self.D(psi, old).reshape(-1)
            if self.loss in ("minimax", "non_saturating", "mle"):
                extra = _softplus(d_old).mean()
            elif self.loss == "wgan":
                extra = d_old.mean()
            elif self.loss == "hinge":
                extra = torch.relu(1.0 + d_old).mean()
            else:
                extra = 0.5 * (d_old**2).mean()
            loss_d = loss_d + self.replay_weight * extra

        if discriminator and self.regularizer != "none" and self.gamma > 0:
            if self.regularizer == "r1":
                points = real
            elif self.regularizer == "r2":
                points = fake
            else:
                w = eps.to(theta.dtype).reshape(-1, *([1] * (real.dim() - 1)))
                points = w * real + (1 - w) * fake
            loss_d = loss_d + self._penalty(psi, points)
            if _values_only(params):
                # values only: drop the graph the input gradients needed
                return loss_g.detach(), loss_d.detach()
        return loss_g, loss_d

    def __repr__(self) -> str:
        return (
            f"ParameterizedGAN(sizes={self.sizes}, loss={self.loss!r}, "
            f"regularizer={self.regularizer!r}, mode={self.mode!r}, batch_size={self.batch_size})"
        )


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
