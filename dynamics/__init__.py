"""dynamics: how a game is played.

Update rules as pure step maps (``init``/``step``, per-player step sizes and schedules),
trajectories (single and batched), continuous-time flows, and exact linearisations.
"""

from typing import TYPE_CHECKING

from games.lazy import attach

if TYPE_CHECKING:
    from ._base import RuleState, StepSize, UpdateRule
    from .checks import check_update_rule
    from .combinators import Alternating, Projected
    from .first_order import (
        Adam,
        AlternatingGD,
        BestResponseGD,
        Extragradient,
        Momentum,
        OptimisticGD,
        ProximalPoint,
        RMSProp,
        SimultaneousGD,
    )
    from .jacobian_rules import CGD, LOLA, SGA, Consensus, LookAhead
    from .linearize import Linearization, closed_form_operator, linearize, spectral_radius
    from .solvers import conjugate_gradient
    from .trajectory import Divergence, FlowResult, Trajectory, flow, run, run_batched

__all__ = [
    "CGD",
    "LOLA",
    "SGA",
    "Adam",
    "Alternating",
    "AlternatingGD",
    "BestResponseGD",
    "Consensus",
    "Divergence",
    "Extragradient",
    "FlowResult",
    "Linearization",
    "LookAhead",
    "Momentum",
    "OptimisticGD",
    "Projected",
    "ProximalPoint",
    "RMSProp",
    "RuleState",
    "SimultaneousGD",
    "StepSize",
    "Trajectory",
    "UpdateRule",
    "check_update_rule",
    "closed_form_operator",
    "conjugate_gradient",
    "flow",
    "linearize",
    "run",
    "run_batched",
    "spectral_radius",
]

attach(__name__)
