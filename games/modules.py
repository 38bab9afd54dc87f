"""Neural players: a ``torch.nn.Module`` seen as a function of one flat parameter vector.

The flat vector is split into views shaped like the module's parameters and the module
is called with :func:`torch.func.functional_call`, so a neural player is a flat 1-D
tensor like every other player, block structure is plain slicing, and every function
of :mod:`games` (vector field, Jacobian, JVPs) works on it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

__all__ = ["FlatModule"]


class FlatModule:
    """A module's parameters as one flat vector, and the module as a function of it.

    Parameters
    ----------
    module : torch.nn.Module
        The network; its own parameters are left untouched by :meth:`__call__`.

    Attributes
    ----------
    size : int
        Number of parameters.
    names : tuple of str
        Parameter names, in flattening order.
    shapes : tuple of torch.Size

    Examples
    --------
    >>> import torch
    >>> from games import FlatModule
    >>> net = FlatModule(torch.nn.Linear(3, 2))
    >>> theta = net.flatten()
    >>> theta.shape
    torch.Size([8])
    >>> torch.allclose(net(theta, torch.ones(1, 3)), net.module(torch.ones(1, 3)))
    True
    """

    def __init__(self, module: torch.nn.Module) -> None:
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
        named = list(module.named_parameters())
        if not named:
            raise ValueError("module: expected a module with at least one parameter")
        self.module = module
        self.names: tuple[str, ...] = tuple(n for n, _ in named)
        self.shapes: tuple[torch.Size, ...] = tuple(p.shape for _, p in named)
        self.numels: tuple[int, ...] = tuple(p.numel() for _, p in named)
        self.size: int = sum(self.numels)
        # untying shared weights costs a walk over the module tree on every call; only
        # modules that do share a parameter under two names need it
        self._tied = len(list(module.named_parameters(remove_duplicate=False))) != len(named)

    def flatten(
        self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """A detached copy of the module's current parameters as one flat vector."""
        params = dict(self.module.named_parameters())
        flat = torch.cat([params[n].detach().reshape(-1) for n in self.names])
        return flat.to(dtype=dtype, device=device).clone()

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``flat`` shaped like each parameter (no copy, gradients flow)."""
        if not isinstance(flat, torch.Tensor) or flat.dim() != 1 or flat.numel() != self.size:
            raise ValueError(
                f"flat: expected a 1-D tensor of {self.size} values, got "
                f"{tuple(flat.shape) if isinstance(flat, torch.Tensor) else type(flat).__name__}"
            )
        chunks = torch.split(flat, list(self.numels))
        return {n: c.view(s) for n, c, s in zip(self.names, chunks, self.shapes)}

    def __call__(self, flat: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        """Run the module with the parameters in ``flat`` (floating buffers cast to its dtype)."""
        state: dict[str, torch.Tensor] = self.unflatten(flat)
        for name, buffer in self.module.named_buffers():
            state[name] = (
                buffer.to(dtype=flat.dtype, device=flat.device)
                if buffer.is_floating_point()
                else buffer.to(flat.device)
            )
        return functional_call(self.module, state, args, kwargs, tie_weights=self._tied)

    def load_(self, flat: torch.Tensor) -> None:
        """Copy ``flat`` into the module's own parameters (in place)."""
        params = dict(self.module.named_parameters())
        with torch.no_grad():
            for name, value in self.unflatten(flat.detach()).items():
                params[name].copy_(value)

    def __repr__(self) -> str:
        return f"FlatModule({type(self.module).__name__}, size={self.size})"
