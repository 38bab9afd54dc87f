r"""Primitive optimiser steps as pure functions of tensors: one definition of each rule.

The unrolled game's inner loop (:func:`games.unrolled`) and the update rules of
:mod:`dynamics` (:class:`dynamics.SimultaneousGD`, :class:`dynamics.Adam`) take their
steps through these functions, so an inner ``"adam"`` and ``dynamics.Adam`` give the
same numbers to the last bit.  They use only ``torch.func``-composable operations (no
data-dependent branching): a step can be differentiated, vectorised and run on any
device.

Adam at a tiny gradient
-----------------------
:math:`\sqrt{\hat v}` has an infinite derivative at :math:`\hat v = 0` (an exact fixed
point, where the gradient and so :math:`v` are zero): differentiating the step there
gives NaN.  :func:`adam_step` therefore takes the square root of
:math:`\max(\hat v, \text{tiny})`, ``tiny = torch.finfo(dtype).tiny`` (about
:math:`2.2\times10^{-308}` in float64, :math:`1.2\times10^{-38}` in float32).  The value
changes only where :math:`\hat v` < tiny, by at most :math:`\sqrt{\text{tiny}}`
(:math:`1.5\times10^{-154}`, :math:`1.1\times10^{-19}`) in the denominator
:math:`\sqrt{\hat v} + \epsilon`, far below any usable :math:`\epsilon`; the derivative
of the square root there is zero instead of NaN, and with :math:`\epsilon = 0` a zero
gradient gives a zero step instead of :math:`0/0`.
"""

from __future__ import annotations

import torch

__all__ = ["adam_step", "sgd_step"]


def sgd_step(param: torch.Tensor, grad: torch.Tensor, lr: float | torch.Tensor) -> torch.Tensor:
    r"""One gradient-descent step, :math:`\theta - \eta\,g`.

    Parameters
    ----------
    param, grad : torch.Tensor
        The parameters and the gradient (same shape).
    lr : float or torch.Tensor
        The step size (a tensor: one per parameter).

    Returns
    -------
    torch.Tensor
        The new parameters.

    Examples
    --------
    >>> import torch
    >>> sgd_step(torch.tensor([1.0, 2.0]), torch.tensor([1.0, -1.0]), 0.5)
    tensor([0.5000, 2.5000])
    """
    return param - lr * grad


def adam_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    t: int,
    lr: float | torch.Tensor,
    betas: tuple[float, float],
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""One Adam step (Kingma & Ba, 2015), bias-corrected.

    .. math::
        m' = \beta_1 m + (1-\beta_1) g, \quad v' = \beta_2 v + (1-\beta_2) g^2, \\
        \theta' = \theta - \eta\,\frac{m'/(1-\beta_1^t)}
        {\sqrt{\max\big(v'/(1-\beta_2^t),\ \text{tiny}\big)} + \epsilon}

    (see the module notes for the ``tiny`` floor).

    Parameters
    ----------
    param, grad : torch.Tensor
        The parameters and the gradient at them (same shape).
    m, v : torch.Tensor
        The first and second moments before the step (zeros before the first).
    t : int
        The number of this step, from 1 (for the bias corrections).
    lr : float or torch.Tensor
        The step size (a tensor: one per parameter).
    betas : (float, float)
        :math:`(\beta_1, \beta_2)` in [0, 1).
    eps : float
        The denominator constant :math:`\epsilon \ge 0`.

    Returns
    -------
    (param, m, v)
        The new parameters and moments.

    Examples
    --------
    The first step moves every coordinate by ``lr`` against the sign of its gradient,
    and a zero gradient does not move at all:

    >>> import torch
    >>> zero = torch.zeros(3, dtype=torch.float64)
    >>> grad = torch.tensor([2.0, -1e-3, 0.0], dtype=torch.float64)
    >>> new, m, v = adam_step(zero, grad, zero, zero, 1, 0.1, (0.9, 0.999), 1e-12)
    >>> new
    tensor([-0.1000,  0.1000,  0.0000], dtype=torch.float64)
    """
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    tiny = torch.finfo(v_hat.dtype).tiny
    return param - lr * (m_hat / (torch.sqrt(v_hat.clamp_min(tiny)) + eps)), m, v
