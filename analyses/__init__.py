"""analyses: what we learn from a game.

Spectra (dense, matrix-free, per player, exact), fixed points and their classification,
stability regions and two-timescale studies, Display objects for the plots; the
``gamedyn`` command line.
"""

from .plots import (
    EigenvalueDisplay,
    PhasePortraitDisplay,
    SpectralRadiusDisplay,
    StabilityRegionDisplay,
    TrajectoryNormDisplay,
)
from .spectra import (
    Spectrum,
    eigenvalues,
    hessian_eigenvalues,
    jacobian_operator,
    symbolic_eigenvalues,
    top_eigenvalues,
)
from .stability import (
    Classification,
    StabilityRegion,
    classify,
    find_fixed_points,
    max_stable_step,
    stability_region,
    step_size_bounds,
    two_timescale,
)

__all__ = [
    "Classification",
    "EigenvalueDisplay",
    "PhasePortraitDisplay",
    "SpectralRadiusDisplay",
    "Spectrum",
    "StabilityRegion",
    "StabilityRegionDisplay",
    "TrajectoryNormDisplay",
    "classify",
    "eigenvalues",
    "find_fixed_points",
    "hessian_eigenvalues",
    "jacobian_operator",
    "max_stable_step",
    "stability_region",
    "step_size_bounds",
    "symbolic_eigenvalues",
    "top_eigenvalues",
    "two_timescale",
]
