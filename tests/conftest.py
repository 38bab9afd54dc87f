"""Shared fixtures: every game the contract suite runs on."""

from __future__ import annotations

import math

import pytest
import torch

from games import Bilinear, DiracGAN, FlatModule, Quadratic

SMALL_TRAINING = {
    "steps": 30,
    "batch_size": 32,
    "latent_dim": 4,
    "eval_every": 10,
    "eval_samples": 200,
    "checkpoint_every": 10,
    "log_every": 5,
    "generator": {"width": 16},
    "discriminator": {"width": 16},
    "optimizer": {"lr": 1e-3},
}
"""A ring GAN that trains in about a second: the configuration (``TrainConfig.from_dict``)
of the trainer's tests (``test_trainer.py``, ``test_interrupt.py``); treat it as read-only."""


class TinyNeuralGAN:
    """A small deterministic two-player MLP GAN (fixed batch), for contract tests."""

    players = ("generator", "discriminator")

    def __init__(self, hidden: int = 5, batch: int = 16, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.G = FlatModule(
            torch.nn.Sequential(
                torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 2)
            )
        )
        self.D = FlatModule(
            torch.nn.Sequential(
                torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
            )
        )
        self.sizes = (self.G.size, self.D.size)
        gen = torch.Generator().manual_seed(seed)
        angles = 2 * math.pi * torch.arange(batch) / 8
        self.real = torch.stack([angles.cos(), angles.sin()], 1) + 0.02 * torch.randn(
            batch, 2, generator=gen
        )
        self.z = torch.randn(batch, 2, generator=gen)

    def losses(self, params):
        g, d = params
        fake = self.G(g, self.z.to(g))
        real_logits, fake_logits = self.D(d, self.real.to(d)), self.D(d, fake)
        sp = torch.nn.functional.softplus
        return sp(-fake_logits).mean(), sp(-real_logits).mean() + sp(fake_logits).mean()


def _games():
    gen = torch.Generator().manual_seed(1)
    A = torch.randn(3, 2, generator=gen, dtype=torch.float64)
    P = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    three_player = [torch.randn(4, 4, generator=gen, dtype=torch.float64) for _ in range(3)]
    return {
        "xy": Bilinear.xy(),
        "bilinear_3x2": Bilinear(
            A, b=A @ torch.tensor([1.0, -2.0], dtype=torch.float64), c=[0.3, 0.1]
        ),
        "zero_sum": Quadratic.zero_sum(P @ P.T, A, [[2.0, 0.5], [0.5, 1.0]], a=[1.0, 0.0, 0.0]),
        "potential": Quadratic.potential(
            P @ P.T + torch.eye(3, dtype=torch.float64), c=[1.0, 2.0, 3.0], sizes=[1, 2]
        ),
        "hamiltonian": Quadratic.hamiltonian(A),
        "tandem": Quadratic.tandem(),
        "matching_pennies": Quadratic.matching_pennies(),
        "three_player": Quadratic([m + m.T for m in three_player], sizes=[1, 2, 1]),
        "dirac": DiracGAN(),
        "dirac_ns_r1": DiracGAN("non_saturating", "r1", gamma=0.7),
        "dirac_mle_r2": DiracGAN("mle", "r2", gamma=0.2),
        "dirac_wgan": DiracGAN("wgan"),
        "dirac_wgan_gp": DiracGAN("wgan", "wgan_gp", gamma=1.0),
        # 20 Gauss–Hermite nodes: the symbolic twin sums the same nodes (the default
        # 285-node rule is checked against scipy quad in test_conventions.py)
        "dirac_noise": DiracGAN("standard", "instance_noise", noise_std=0.6, quadrature_nodes=20),
    }


GAMES = _games()


@pytest.fixture(params=sorted(GAMES), ids=sorted(GAMES))
def closed_form_game(request):
    return GAMES[request.param]


def assert_same_spectrum(actual, expected, *, rtol=1e-8, atol=1e-9):
    """Two multisets of complex eigenvalues agree (optimal matching, no sort-order noise)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    a = np.asarray(actual, dtype=complex).ravel()
    b = np.asarray(expected, dtype=complex).ravel()
    assert a.shape == b.shape, f"{a.size} eigenvalues, expected {b.size}"
    cost = np.abs(a[:, None] - b[None, :])
    rows, cols = linear_sum_assignment(cost)
    errors = cost[rows, cols]
    bounds = atol + rtol * np.abs(b[cols])
    assert np.all(errors <= bounds), f"eigenvalues differ: {a[rows]} vs {b[cols]} (errors {errors})"
