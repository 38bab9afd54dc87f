"""The two-player MLP GAN game the benchmarks share.

G: latent 8 -> h -> 2, D: 2 -> h -> 1, tanh, non-saturating losses, a fixed batch of
256 ring samples and 256 latent codes.  n = 15 h + 3 parameters.
"""

from __future__ import annotations

import math

import torch

from games import FlatModule


class MLPGame:
    """Deterministic (fixed-batch) two-player MLP GAN, non-saturating losses."""

    players = ("generator", "discriminator")

    def __init__(self, hidden: int, *, batch: int = 256, latent: int = 8, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.G = FlatModule(
            torch.nn.Sequential(
                torch.nn.Linear(latent, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 2)
            )
        )
        self.D = FlatModule(
            torch.nn.Sequential(
                torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
            )
        )
        self.sizes = (self.G.size, self.D.size)
        angles = 2 * math.pi * torch.randint(0, 8, (batch,), generator=gen) / 8
        ring = torch.stack([torch.cos(angles), torch.sin(angles)], 1)
        self.real = ring + 0.02 * torch.randn(batch, 2, generator=gen)
        self.z = torch.randn(batch, latent, generator=gen)

    def params(self, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        return self.G.flatten(dtype=dtype), self.D.flatten(dtype=dtype)

    def losses(self, params: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        g, d = params
        fake = self.G(g, self.z.to(g))
        real_logits = self.D(d, self.real.to(d))
        fake_logits = self.D(d, fake)
        softplus = torch.nn.functional.softplus
        loss_d = softplus(-real_logits).mean() + softplus(fake_logits).mean()
        loss_g = softplus(-fake_logits).mean()
        return loss_g, loss_d


def hidden_for(n: int) -> int:
    """Hidden width giving about ``n`` parameters (n = 15 h + 3)."""
    return max(1, round((n - 3) / 15))


def bare_field(game: MLPGame, params: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """The vector field with nothing around it: one shared forward pass, one
    ``autograd.grad`` per player, no input checks -- the benchmarks' unit "one xi"."""
    leaves = [p.detach().requires_grad_(True) for p in params]
    losses = game.losses(tuple(leaves))
    return [
        torch.autograd.grad(loss, leaf, retain_graph=True)[0]
        for loss, leaf in zip(losses, leaves, strict=True)
    ]
