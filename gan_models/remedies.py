"""The remedies of the mode-collapse literature that live outside the loss.

- :class:`MixtureGenerator`: a mixture of generators (MIX+GAN-style, Arora et al. 2017;
  also Hoang et al.'s MGAN), each latent code routed to one component;
- :class:`ReplayBuffer`: experience replay, old generated samples shown to the
  discriminator again (Pfau & Vinyals 2016; Shrivastava et al. 2017);
- :class:`Substitution`: swapping in old snapshots of a player for a few steps
  (Pfau & Vinyals 2016: "occasionally swapping in old versions of the generator and
  discriminator").

Unrolling (:func:`games.unrolled`), minibatch discrimination and packing
(:class:`gan_models.Discriminator`) and feature matching (:class:`games.ParameterizedGAN`)
are switched on where they belong; :class:`gan_models.TrainConfig` exposes them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from games.validation import as_positive_int

__all__ = ["MixtureGenerator", "ReplayBuffer", "Substitution"]


class MixtureGenerator(nn.Module):
    """A uniform mixture of generators: sample ``i`` of a batch comes from component
    ``i mod M``.

    The assignment is deterministic (by position), so the module is a fixed
    differentiable function of its parameters and inputs, as the game machinery needs,
    and every component receives ``batch / M`` of the latent codes.

    Parameters
    ----------
    components : sequence of torch.nn.Module
        ``M >= 1`` generators with identical input and output shapes.

    Examples
    --------
    >>> import torch
    >>> from gan_models import MixtureGenerator
    >>> mix = MixtureGenerator([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)])
    >>> out = mix(torch.zeros(4, 2))
    >>> torch.equal(out[0], mix.components[0].bias.detach())
    True
    >>> torch.equal(out[1], mix.components[1].bias.detach())
    True
    """

    def __init__(self, components: Sequence[nn.Module]) -> None:
        super().__init__()
        if isinstance(components, nn.Module) or not isinstance(components, Sequence):
            raise TypeError(
                f"components: expected a sequence of torch.nn.Module, got {type(components).__name__}"
            )
        if len(components) == 0 or not all(isinstance(c, nn.Module) for c in components):
            raise ValueError("components: expected at least one torch.nn.Module")
        self.components = nn.ModuleList(components)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        m = len(self.components)
        if m == 1:
            return self.components[0](z)
        parts = [component(z[i::m]) for i, component in enumerate(self.components)]
        # component i produced rows i, i + m, i + 2m, ...: put them back in batch order
        index = torch.arange(z.shape[0], device=z.device)
        order = torch.cat([index[i::m] for i in range(m)])
        return torch.cat(parts, dim=0)[torch.argsort(order)]


class ReplayBuffer:
    """A ring buffer of old generated samples (experience replay).

    Parameters
    ----------
    capacity : int
        Samples kept (oldest dropped first).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = as_positive_int(capacity, "capacity")
        self.samples: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.samples is None else int(self.samples.shape[0])

    def push(self, samples: torch.Tensor) -> None:
        """Add a batch of samples (detached)."""
        samples = samples.detach()
        merged = samples if self.samples is None else torch.cat([self.samples, samples])
        self.samples = merged[-self.capacity :].clone()

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor | None:
        """``n`` samples drawn uniformly with replacement (``None`` while empty)."""
        if self.samples is None:
            return None
        index = torch.randint(0, self.samples.shape[0], (n,), generator=generator)
        return self.samples[index.to(self.samples.device)]

    def state_dict(self) -> dict[str, object]:
        return {"capacity": self.capacity, "samples": self.samples}

    def load_state_dict(self, state: dict[str, object]) -> None:
        samples = state.get("samples")
        self.samples = samples if isinstance(samples, torch.Tensor) else None


class Substitution:
    """Swap in an old snapshot of a player for a few steps, then restore it.

    Every ``every`` steps the player's current parameters are saved as a snapshot
    (the last ``keep`` are kept); at those steps, once a snapshot older than the
    current one exists, a random old snapshot replaces the player's parameters for
    ``duration`` steps — the opponent trains against it — after which the player's
    own parameters (from before the swap) come back and its updates during the swap
    are discarded.

    Parameters
    ----------
    player : int
        Index of the player that is substituted (1: the discriminator).
    every, duration, keep : int
    """

    def __init__(self, player: int, every: int, duration: int, keep: int) -> None:
        self.player = player
        self.every = as_positive_int(every, "every")
        self.duration = as_positive_int(duration, "duration")
        self.keep = as_positive_int(keep, "keep")
        self.snapshots: list[torch.Tensor] = []
        self.saved: torch.Tensor | None = None
        self.remaining = 0

    def before_step(
        self, step: int, params: tuple[torch.Tensor, ...], generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """Called before each step: maybe start or end a swap; returns the params to use."""
        params = tuple(params)
        if self.remaining > 0:
            self.remaining -= 1
            if self.remaining == 0 and self.saved is not None:
                out = list(params)
                out[self.player] = self.saved
                self.saved = None
                params = tuple(out)
        if step > 0 and step % self.every == 0 and self.saved is None:
            if len(self.snapshots) >= 2:
                pick = int(torch.randint(0, len(self.snapshots) - 1, (1,), generator=generator))
                self.saved = params[self.player].detach().clone()
                out = list(params)
                out[self.player] = self.snapshots[pick].clone()
                params = tuple(out)
                self.remaining = self.duration
            self.snapshots.append(
                (self.saved if self.saved is not None else params[self.player]).detach().clone()
            )
            self.snapshots = self.snapshots[-self.keep :]
        return params

    def state_dict(self) -> dict[str, object]:
        return {
            "snapshots": list(self.snapshots),
            "saved": self.saved,
            "remaining": self.remaining,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        snapshots = state.get("snapshots", [])
        assert isinstance(snapshots, list)
        self.snapshots = [s for s in snapshots if isinstance(s, torch.Tensor)]
        saved = state.get("saved")
        self.saved = saved if isinstance(saved, torch.Tensor) else None
        remaining = state.get("remaining", 0)
        self.remaining = int(remaining) if isinstance(remaining, int) else 0
