"""analyses: what we learn from a game.

Spectra (dense, matrix-free, per player, exact), fixed points and their classification,
stability regions and two-timescale studies, Display objects for the plots; the
``gamedyn`` command line.
"""

from typing import TYPE_CHECKING

from games.lazy import attach

if TYPE_CHECKING:
    from .checkpoints import checkpoint_game
    from .digits import (
        DigitClassifier,
        digit_classifier,
        digit_coverage,
        digit_evaluator,
        frechet_distance,
    )
    from .hopping import (
        ModeHoppingGraphDisplay,
        dominant_modes,
        hopping_cycles,
        mode_hopping_graph,
    )
    from .image_plots import ImageGridDisplay, ModeHistogramDisplay
    from .mode_plots import CoverageDisplay, SamplesDisplay
    from .mode_summary import collapse_statistics, format_table, summarize
    from .modes import ModeCoverage, coverage_evaluator, gaussian_high_quality_rate, mode_coverage
    from .path_angle import PathAngle, PathAngleDisplay, path_angle
    from .plots import (
        EigenvalueDisplay,
        PhasePortraitDisplay,
        SpectralRadiusDisplay,
        StabilityRegionDisplay,
        TrajectoryNormDisplay,
    )
    from .regions import StabilityRegion, stability_region, two_timescale
    from .report import generate_report
    from .run_plots import RunRecord, plot_run, read_run
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
        UnrollDepthStudy,
        classify,
        find_fixed_points,
        max_stable_step,
        step_size_bounds,
        unroll_depth,
    )
    from .sweep import SweepResult, derive_seed, sweep
    from .training import (
        SpectraAlongTrainingDisplay,
        SpectraRecorder,
        load_spectra_log,
        spectra_record,
    )

__all__ = [
    "Classification",
    "CoverageDisplay",
    "DigitClassifier",
    "EigenvalueDisplay",
    "ImageGridDisplay",
    "ModeCoverage",
    "ModeHistogramDisplay",
    "ModeHoppingGraphDisplay",
    "PathAngle",
    "PathAngleDisplay",
    "PhasePortraitDisplay",
    "RunRecord",
    "SamplesDisplay",
    "SpectraAlongTrainingDisplay",
    "SpectraRecorder",
    "SpectralRadiusDisplay",
    "Spectrum",
    "StabilityRegion",
    "StabilityRegionDisplay",
    "SweepResult",
    "TrajectoryNormDisplay",
    "UnrollDepthStudy",
    "checkpoint_game",
    "classify",
    "collapse_statistics",
    "coverage_evaluator",
    "derive_seed",
    "digit_classifier",
    "digit_coverage",
    "digit_evaluator",
    "dominant_modes",
    "eigenvalues",
    "find_fixed_points",
    "format_table",
    "frechet_distance",
    "gaussian_high_quality_rate",
    "generate_report",
    "hessian_eigenvalues",
    "hopping_cycles",
    "jacobian_operator",
    "load_spectra_log",
    "max_stable_step",
    "mode_coverage",
    "mode_hopping_graph",
    "path_angle",
    "plot_run",
    "read_run",
    "spectra_record",
    "stability_region",
    "step_size_bounds",
    "summarize",
    "sweep",
    "symbolic_eigenvalues",
    "top_eigenvalues",
    "two_timescale",
    "unroll_depth",
]

attach(__name__)
