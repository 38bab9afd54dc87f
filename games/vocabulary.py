"""One vocabulary for names shared by the Python API, the command line and TOML files.

Every place that takes a loss name, a rule's hyper-parameter or an eigenvalue selector
resolves it here, so the canonical names and their aliases are the same everywhere
(``DiracGAN(loss="standard")``, ``gamedyn spectrum dirac:loss=standard`` and
``loss = "standard"`` in a training configuration all mean ``"minimax"``).  Aliases are
matched case-insensitively, with ``-`` read as ``_``.  See ``docs/conventions.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "LOSS_ALIASES",
    "PARAMETER_ALIASES",
    "WHICH_ALIASES",
    "canonical_loss",
    "canonical_parameter",
    "canonical_which",
]

LOSS_ALIASES: dict[str, str] = {
    "standard": "minimax",
    "saturating": "minimax",
    "gan": "minimax",
    "ns": "non_saturating",
    "nonsaturating": "non_saturating",
    "maximum_likelihood": "mle",
    "wasserstein": "wgan",
    "lsgan": "least_squares",
    "ls": "least_squares",
}
"""Other spellings of the canonical loss names (``minimax``, ``non_saturating``, ``mle``,
``wgan``, ``hinge``, ``least_squares``)."""

PARAMETER_ALIASES: dict[str, dict[str, str]] = {
    "sga": {"lambda": "lam", "gamma": "lam"},
}
"""Per rule, other spellings of its hyper-parameters.  ``gamma`` is the weight of a
regulariser (R1, R2, WGAN-GP, consensus); SGA's adjustment weight is ``lam``
(Balduzzi et al. 2018's :math:`\\lambda`), also accepted as ``lambda`` or ``gamma``."""

WHICH_ALIASES: dict[str, str] = {
    "lm": "magnitude",
    "li": "imaginary",
    "sr": "smallest_real",
    "lr": "largest_real",
    "largest_magnitude": "magnitude",
    "largest_imaginary": "imaginary",
}
"""Other spellings of the eigenvalue selectors (ARPACK's ``LM``, ``LI``, ``SR``, ``LR``)."""


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _resolve(name: object, aliases: dict[str, str], choices: Iterable[str], argument: str) -> str:
    options = tuple(choices)
    if not isinstance(name, str):
        raise TypeError(f"{argument}: expected one of {options}, got {type(name).__name__}")
    key = _key(name)
    key = aliases.get(key, key)
    if key in options:
        return key
    accepted = [a for a, target in aliases.items() if target in options]
    hint = f" or an alias ({', '.join(accepted)})" if accepted else ""
    raise ValueError(f"{argument}: unknown value {name!r}, expected one of {options}{hint}")


def canonical_loss(name: object, choices: Iterable[str], argument: str = "loss") -> str:
    """The canonical loss name of ``name`` (an alias or a canonical name) among ``choices``.

    Raises
    ------
    ValueError
        Naming ``argument``, when ``name`` is not one of ``choices`` or their aliases.

    Examples
    --------
    >>> canonical_loss("Standard", ("minimax", "wgan"))
    'minimax'
    """
    return _resolve(name, LOSS_ALIASES, choices, argument)


def canonical_which(name: object, choices: Iterable[str], argument: str = "which") -> str:
    """The canonical eigenvalue selector (``"magnitude"``, ...) of ``name`` or its ARPACK code.

    >>> canonical_which("LI", ("magnitude", "imaginary"))
    'imaginary'
    """
    return _resolve(name, WHICH_ALIASES, choices, argument)


def canonical_parameter(owner: str, name: str) -> str:
    """The canonical name of hyper-parameter ``name`` of rule ``owner`` (unchanged if canonical).

    >>> canonical_parameter("sga", "gamma")
    'lam'
    """
    return PARAMETER_ALIASES.get(owner, {}).get(name, name)
