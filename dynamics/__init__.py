"""dynamics: how a game is played.

Update rules as pure step maps (``init``/``step``, per-player step sizes and schedules),
trajectories (single and batched), continuous-time flows, and exact linearisations.
"""

from ._base import RuleState, StepSize, UpdateRule
from .checks import check_update_rule
from .linearize import Linearization, closed_form_operator, linearize, spectral_radius
from .rules import (
    CGD,
    LOLA,
    SGA,
    Adam,
    Alternating,
    AlternatingGD,
    BestResponseGD,
    Consensus,
    Extragradient,
    LookAhead,
    Momentum,
    OptimisticGD,
    ProximalPoint,
    RMSProp,
    SimultaneousGD,
    conjugate_gradient,
)
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
