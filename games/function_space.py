r"""GANs in function space: the pdf-space game and the generator-function-space game.

Both play on a :class:`Grid` with quadrature weights :math:`w_k` (:mod:`games.densities`:
a density is a vector :math:`p_k \ge 0` with :math:`\sum_k w_k p_k = 1`).

:class:`FunctionSpaceGAN` plays the GAN directly on densities: the generator *is* the
density :math:`p_g` (softmax logits, or the raw density values) and the discriminator is
one logit per grid point.  Its value is linear in :math:`p_g`, so at the equilibrium
:math:`p_g = p_\text{data}, D = \tfrac12` the generator's own Jacobian block is exactly
zero: nothing holds the generator in place.

:class:`GeneratorFunctionSpaceGAN` makes the generator a function :math:`G(z)` given by
its values at latent quadrature points (a pushforward of the latent distribution) and the
discriminator a small parametric function of :math:`x` (Gaussian radial features).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp
import torch

from ._protocol import Params
from .densities import (
    Grid,
    generator_best_response,
    optimal_discriminator,
    validate_density,
    virtual_training_criterion,
)
from .symbolic import SymbolicGame, exact
from .validation import as_nonnegative, as_positive_int, choice
from .vocabulary import canonical_loss

__all__ = ["FunctionSpaceGAN", "GeneratorFunctionSpaceGAN"]

LOSSES = ("minimax", "non_saturating", "mle", "wgan", "least_squares")


# -- the pdf-space game -----------------------------------------------------------------


class FunctionSpaceGAN:
    r"""The GAN played on densities over a grid.

    Players ``("generator", "discriminator")``, each with one parameter per grid point.
    The discriminator's parameters are logits :math:`d_k`, :math:`D_k = \sigma(d_k)`
    (for ``wgan`` and ``least_squares`` the raw values :math:`f_k = d_k` are the critic).
    The generator's parameters are either softmax logits
    (``generator="softmax"``: :math:`p_g = e^{a} / \sum_j w_j e^{a_j}`, always a density)
    or the raw density values (``generator="density"``: :math:`p_g = u`, used as is: the
    value is then exactly linear in :math:`p_g`, and a step of GD keeps
    :math:`\sum w u` only if the gradient integrates to zero, so the mass is reported,
    not forced).

    Losses (:math:`\mathbb{E}_p f = \sum_k w_k p_k f_k`):

    - ``minimax``: :math:`V = \mathbb{E}_\text{data}\log D + \mathbb{E}_{p_g}\log(1-D)`, :math:`\ell_D = -V`, :math:`\ell_G = V`;
    - ``non_saturating``: :math:`\ell_G = -\mathbb{E}_{p_g}\log D`;
    - ``mle``: :math:`\ell_G = -\tfrac12\mathbb{E}_{p_g} e^{\sigma^{-1}(D)}`;
    - ``wgan``: :math:`V = \mathbb{E}_\text{data} f - \mathbb{E}_{p_g} f`, with the Lipschitz
      constraint treated by a one-sided penalty on the grid's finite differences,
      :math:`\lambda \sum_\text{edges} \max(0, |\Delta f|/|\Delta x| - 1)^2` (``lipschitz_penalty``);
    - ``least_squares``: :math:`\ell_D = \tfrac12\mathbb{E}_\text{data}(f-1)^2 + \tfrac12\mathbb{E}_{p_g} f^2`, :math:`\ell_G = \tfrac12\mathbb{E}_{p_g}(f-1)^2`.

    Examples
    --------
    >>> from games import FunctionSpaceGAN, Grid, gaussian_mixture_density, jacobian
    >>> grid = Grid.line(-3, 3, 6)
    >>> game = FunctionSpaceGAN(grid, gaussian_mixture_density(grid, [0.0], 0.7), generator="density")
    >>> J = jacobian(game, game.equilibrium())
    >>> float(J.hessian("generator").abs().max())   # no retaining force
    0.0
    """

    players: tuple[str, ...] = ("generator", "discriminator")

    def __init__(
        self,
        grid: Grid,
        data: object,
        loss: str = "minimax",
        *,
        generator: str = "softmax",
        lipschitz_penalty: float = 10.0,
    ) -> None:
        if not isinstance(grid, Grid):
            raise TypeError(f"grid: expected a games.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.data = validate_density(data, grid, "data")
        self.loss = canonical_loss(loss, LOSSES)
        self.generator = choice(generator, "generator", ("softmax", "density"))
        self.lipschitz_penalty = as_nonnegative(lipschitz_penalty, "lipschitz_penalty")
        self.sizes: tuple[int, ...] = (grid.size, grid.size)
        self._edges = self._grid_edges()

    def _grid_edges(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.arange(self.grid.size).reshape(self.grid.shape)
        pairs = []
        for axis in range(index.dim()):
            a = index.narrow(axis, 0, index.shape[axis] - 1).reshape(-1)
            b = index.narrow(axis, 1, index.shape[axis] - 1).reshape(-1)
            pairs.append(torch.stack([a, b], 1))
        edges = torch.cat(pairs) if pairs else torch.zeros(0, 2, dtype=torch.long)
        lengths = torch.linalg.vector_norm(
            self.grid.points[edges[:, 1]] - self.grid.points[edges[:, 0]], dim=1
        )
        return edges[:, 0], edges[:, 1], lengths

    def density(self, generator_params: torch.Tensor) -> torch.Tensor:
        """The generator's density :math:`p_g` on the grid from its parameters."""
        if self.generator == "density":
            return generator_params
        w = self.grid.weights.to(generator_params)
        # p_k = exp(a_k) / sum_j w_j exp(a_j), stably
        log_mass = torch.logsumexp(generator_params + torch.log(w), dim=-1)
        return torch.exp(generator_params - log_mass)

    def discriminator(self, discriminator_params: torch.Tensor) -> torch.Tensor:
        """:math:`D(x_k) = \\sigma(d_k)` (or the critic values for ``wgan``/``least_squares``)."""
        if self.loss in ("wgan", "least_squares"):
            return discriminator_params
        return torch.sigmoid(discriminator_params)

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        a, d = params
        w = self.grid.weights.to(a)
        p_data = self.data.to(a)
        p_g = self.density(a)
        logsig = torch.nn.functional.logsigmoid
        if self.loss == "wgan":
            value = (w * (p_data - p_g) * d).sum()
            first, second, lengths = self._edges
            slope = (d[second] - d[first]).abs() / lengths.to(d)
            penalty = self.lipschitz_penalty * (torch.relu(slope - 1.0) ** 2).sum()
            return value, -value + penalty
        if self.loss == "least_squares":
            loss_d = 0.5 * (w * p_data * (d - 1) ** 2).sum() + 0.5 * (w * p_g * d**2).sum()
            return 0.5 * (w * p_g * (d - 1) ** 2).sum(), loss_d
        value = (w * p_data * logsig(d)).sum() + (w * p_g * logsig(-d)).sum()
        if self.loss == "minimax":
            loss_g = value  # zero-sum: l_G = V (docs/conventions.md, loss values)
        elif self.loss == "non_saturating":
            loss_g = -(w * p_g * logsig(d)).sum()
        else:  # mle: -1/2 E exp(logit D)
            loss_g = -0.5 * (w * p_g * torch.exp(d)).sum()
        return loss_g, -value

    def params_for(self, p_g: object, discriminator: object | None = None) -> Params:
        """Parameters realising a density :math:`p_g` (and :math:`D`, default ½; critic 0)."""
        p = validate_density(p_g, self.grid, "p_g")
        if self.generator == "softmax":
            if bool((p <= 0).any()):
                raise ValueError(
                    "p_g: softmax logits need a strictly positive density; use generator='density'"
                )
            a = torch.log(p)
        else:
            a = p.clone()
        if discriminator is None:
            d = torch.zeros(self.grid.size, dtype=torch.float64)
            if self.loss == "least_squares":
                d = torch.full((self.grid.size,), 0.5, dtype=torch.float64)
        else:
            D = torch.as_tensor(np.asarray(discriminator, dtype=np.float64)).reshape(-1)
            if D.shape != (self.grid.size,):
                raise ValueError(
                    f"discriminator: expected {self.grid.size} values, got {tuple(D.shape)}"
                )
            d = D if self.loss in ("wgan", "least_squares") else torch.logit(D)
        return a, d

    def discriminator_best_response(
        self, params: Params, *, max_logit: float = 30.0
    ) -> torch.Tensor:
        r"""The discriminator's parameters for :math:`D^* = p_\text{data}/(p_\text{data} + p_g)` at the current :math:`p_g`.

        Logits are clipped to :math:`\pm` ``max_logit`` where :math:`D^*` is 0 or 1.
        Defined for the logistic losses (minimax, non_saturating, mle).
        """
        if self.loss in ("wgan", "least_squares"):
            raise ValueError(
                f"loss: the closed-form D* is for the logistic losses, not {self.loss!r}"
            )
        d_star = optimal_discriminator(self.data.to(params[0]), self.density(params[0]))
        return torch.logit(d_star).clamp(-max_logit, max_logit)

    def generator_best_response(self, params: Params, *, floor: float = -60.0) -> torch.Tensor:
        r"""The generator's parameters for its best response to the current :math:`D`: all mass at :math:`\arg\max D`.

        Raw density: :math:`1/w_k` at the maximiser; softmax: logit 0 there and ``floor``
        elsewhere (mass :math:`e^{-60}` relative: a point mass to float64 precision).
        """
        target = generator_best_response(self.discriminator(params[1]).detach(), self.grid).to(
            params[0]
        )
        if self.generator == "density":
            return target
        return torch.where(target > 0, torch.zeros_like(target), torch.full_like(target, floor))

    def equilibrium(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> Params:
        r"""The equilibrium :math:`p_g = p_\text{data}`, :math:`D = \tfrac12` (logit 0; critic 0; LSGAN ½).

        With ``generator="density"`` this is a *constrained* equilibrium: there
        :math:`\xi_G = w\log(1 - D)` is a multiple of :math:`w`, the normal of the
        constraint :math:`\sum_k w_k u_k = 1`, so the projected field vanishes while the
        raw one does not.  With softmax logits it is an ordinary zero of the field.
        """
        return tuple(p.to(dtype=dtype, device=device) for p in self.params_for(self.data))

    def point_game(self, k: int) -> SymbolicGame:
        r"""The exact (sympy) game at grid point ``k`` alone, raw density, minimax loss.

        Symbols ``u`` (:math:`p_g(x_k)`) and ``d`` (the logit); with
        :math:`w = w_k`, :math:`p = p_\text{data}(x_k)`:
        :math:`\ell_G = w u \log(1-\sigma(d))`, :math:`\ell_D = -w(p\log\sigma(d) + u\log(1-\sigma(d)))`.
        The full pdf-space game (raw density, minimax) is the sum of these decoupled games.
        """
        u, d = sp.Symbol("u", real=True), sp.Symbol("d", real=True)
        w, p = exact(float(self.grid.weights[k])), exact(float(self.data[k]))
        log_sig = -sp.log(1 + sp.exp(-d))
        log_one_minus = -sp.log(1 + sp.exp(d))
        return SymbolicGame(
            [[u], [d]],
            [w * u * log_one_minus, -w * (p * log_sig + u * log_one_minus)],
            players=self.players,
        )

    def __repr__(self) -> str:
        return f"FunctionSpaceGAN(grid={self.grid.shape}, loss={self.loss!r}, generator={self.generator!r})"


# -- the generator-function-space game ----------------------------------------------------


class GeneratorFunctionSpaceGAN:
    r"""The GAN with the generator a function :math:`G(z)` on latent quadrature points.

    The latent distribution is represented by points :math:`z_j` with probabilities
    :math:`q_j` (default: ``latent_size`` equal-mass quantiles of N(0, 1)); the generator's
    parameters are the values :math:`G(z_j)` (``latent_size * d`` numbers), so
    :math:`p_g = \sum_j q_j \delta_{G(z_j)}`.  The discriminator is a small parametric
    function: :math:`D(x) = \sigma(b + \sum_k c_k \phi_k(x))` with Gaussian radial features
    :math:`\phi_k(x) = \exp(-|x - \mu_k|^2 / 2s^2)` centred on ``grid``'s points
    (parameters ``(c, b)``).  The data density is given on ``grid``.
    Losses: ``minimax`` and ``non_saturating`` as in :class:`FunctionSpaceGAN`.

    Equilibrium mode collapse: the generator that maps every latent point into one mode
    (``quantile_generator`` of that mode alone) minimises :meth:`criterion` among all
    generators whose samples stay near that mode (JSD is convex and, restricted to
    densities supported on mode A, minimal at :math:`p_A`), so every small change of
    :math:`G` in function space is worse, although covering both modes is better: for two
    equal, separated modes :math:`C = -\log 4 + \tfrac32\log\tfrac43` against :math:`-\log 4`.
    """

    players: tuple[str, ...] = ("generator", "discriminator")

    def __init__(
        self,
        grid: Grid,
        data: object,
        loss: str = "minimax",
        *,
        latent_size: int = 16,
        feature_width: float | None = None,
        latent_points: object | None = None,
        latent_probabilities: object | None = None,
    ) -> None:
        if not isinstance(grid, Grid):
            raise TypeError(f"grid: expected a games.Grid, got {type(grid).__name__}")
        self.grid = grid
        self.data = validate_density(data, grid, "data")
        self.loss = canonical_loss(loss, ("minimax", "non_saturating"))
        if latent_points is None:
            latent_size = as_positive_int(latent_size, "latent_size")
            from statistics import NormalDist

            levels = (np.arange(latent_size) + 0.5) / latent_size
            z = torch.tensor([NormalDist().inv_cdf(float(v)) for v in levels], dtype=torch.float64)
        else:
            z = torch.as_tensor(np.asarray(latent_points, dtype=np.float64)).reshape(-1)
            latent_size = z.numel()
        if latent_probabilities is None:
            q = torch.full((latent_size,), 1.0 / latent_size, dtype=torch.float64)
        else:
            q = torch.as_tensor(np.asarray(latent_probabilities, dtype=np.float64)).reshape(-1)
            if q.shape != (latent_size,) or bool((q < 0).any()) or abs(float(q.sum()) - 1) > 1e-8:
                raise ValueError(
                    f"latent_probabilities: expected {latent_size} non-negative values summing to 1"
                )
        self.latent_points, self.latent_probabilities = z, q
        spacing = float((grid.points.max(0).values - grid.points.min(0).values).max()) / max(
            grid.size ** (1 / grid.dim) - 1, 1
        )
        self.feature_width = 2.0 * spacing if feature_width is None else float(feature_width)
        if not self.feature_width > 0:
            raise ValueError(f"feature_width: expected a positive number, got {feature_width!r}")
        self.sizes: tuple[int, ...] = (latent_size * grid.dim, grid.size + 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Radial features :math:`\\phi_k(x)` of points ``x`` (n, d): shape (n, m)."""
        centres = self.grid.points.to(x)
        d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
        return torch.exp(-0.5 * d2 / self.feature_width**2)

    def logits(self, discriminator_params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits at points ``x`` (n, d)."""
        return self.features(x) @ discriminator_params[:-1] + discriminator_params[-1]

    def samples(self, generator_params: torch.Tensor) -> torch.Tensor:
        """The generator's points :math:`G(z_j)`, shape (latent_size, d)."""
        return generator_params.reshape(-1, self.grid.dim)

    def losses(self, params: Params) -> tuple[torch.Tensor, ...]:
        g, c = params
        w, p_data, q = self.grid.weights.to(g), self.data.to(g), self.latent_probabilities.to(g)
        real = self.logits(c, self.grid.points.to(g))
        fake = self.logits(c, self.samples(g))
        logsig = torch.nn.functional.logsigmoid
        value = (w * p_data * logsig(real)).sum() + (q * logsig(-fake)).sum()
        loss_g = value if self.loss == "minimax" else -(q * logsig(fake)).sum()
        return loss_g, -value

    def _levels(self) -> torch.Tensor:
        """The latent quadrature points' CDF levels: midpoints of the cumulative probabilities."""
        q = self.latent_probabilities
        return torch.cumsum(q, 0) - 0.5 * q

    def quantile_generator(self, density: object) -> torch.Tensor:
        r"""Generator parameters pushing the latent points to the quantiles of ``density``.

        :math:`G(z_j) = F^{-1}(u_j)`, with :math:`F` the piecewise-linear CDF of the grid
        density and :math:`u_j` the latent points' CDF levels: the monotone generator of
        that distribution (1-D grids).
        """
        if self.grid.dim != 1:
            raise ValueError("quantile_generator: defined for 1-D grids")
        p = validate_density(density, self.grid, "density")
        x, w = self.grid.points[:, 0], self.grid.weights
        edges = torch.cat([x[:1] - w[:1] / 2, x + w / 2])
        cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(w * p, 0)])
        levels = self._levels()
        index = torch.searchsorted(cdf, levels).clamp(1, len(cdf) - 1)
        lo, hi = cdf[index - 1], cdf[index]
        t = (levels - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
        return edges[index - 1] + t * (edges[index] - edges[index - 1])

    def pushforward_density(self, generator_params: torch.Tensor) -> torch.Tensor:
        r"""The generator's distribution binned onto the grid (1-D, linear "cloud-in-cell" binning).

        Each point :math:`G(z_j)` splits its probability :math:`q_j` between the two
        nearest grid points in proportion to proximity, so the density is continuous and
        piecewise differentiable in :math:`G`; points beyond the grid go to the end points.
        """
        if self.grid.dim != 1:
            raise ValueError("pushforward_density: defined for 1-D grids")
        x, w = self.grid.points[:, 0].to(generator_params), self.grid.weights.to(generator_params)
        m = x.numel()
        position = (
            (generator_params - x[0]) / (x[1] - x[0])
            if m > 1
            else torch.zeros_like(generator_params)
        )
        position = position.clamp(0, m - 1)
        left = position.floor().clamp(max=m - 2 if m > 1 else 0)
        frac = position - left
        q = self.latent_probabilities.to(generator_params)
        mass = torch.zeros(m, dtype=generator_params.dtype, device=generator_params.device)
        mass = mass.index_add(0, left.long(), q * (1 - frac))
        if m > 1:
            mass = mass.index_add(0, left.long() + 1, q * frac)
        return mass / w

    def criterion(self, generator_params: torch.Tensor) -> torch.Tensor:
        r"""The generator's objective with the discriminator at its best response:
        :math:`C(G) = \max_D V(D, G) = -\log 4 + 2\,JSD(p_\text{data}\|G_\#p_z)`, on the grid."""
        return virtual_training_criterion(
            self.data, self.pushforward_density(generator_params), self.grid
        )

    def collapsed(self, point: Sequence[float]) -> torch.Tensor:
        """Generator parameters with every latent point mapped to ``point`` (full collapse)."""
        x = torch.as_tensor(np.asarray(point, dtype=np.float64)).reshape(-1)
        if x.shape != (self.grid.dim,):
            raise ValueError(f"point: expected {self.grid.dim} coordinates, got {tuple(x.shape)}")
        return x.repeat(self.latent_probabilities.numel())

    def __repr__(self) -> str:
        return f"GeneratorFunctionSpaceGAN(grid={self.grid.shape}, latent={self.latent_probabilities.numel()}, loss={self.loss!r})"
