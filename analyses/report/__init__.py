"""``gamedyn report``: the canonical studies, written to a self-contained folder.

:func:`generate_report` runs the studies of :data:`STUDIES` (all, or a selection) and
writes to ``out``:

- ``index.html``: every figure with a caption that says what it shows, a short
  explanation per study and tables of the numbers;
- ``figures/<name>.png`` and ``figures/<name>.svg``;
- ``summary.json``: every number shown (complex numbers as ``[re, im]``, non-finite
  values as the strings ``"inf"``, ``"-inf"``, ``"nan"``: strict JSON, see
  :mod:`gan_models.jsonio`), the options and the timings.

Every study is seeded from ``seed``, so two runs with the same options write the same
numbers.  ``quick=True`` shrinks grids and training runs so the whole report takes
under a minute on two CPU cores.

The package
-----------
One module per study — :mod:`~analyses.report.xy`, :mod:`~analyses.report.dirac`,
:mod:`~analyses.report.ttur`, :mod:`~analyses.report.unroll`,
:mod:`~analyses.report.function_space`, :mod:`~analyses.report.temperature`,
:mod:`~analyses.report.neural` — each with
``KEY``, ``TITLE``, ``INTRO`` and ``compute`` (the numbers, the table and what the
figures need) then ``figures`` (drawn and saved); :mod:`~analyses.report.page` renders
``index.html``; :mod:`~analyses.report.folder` writes the folder (:func:`generate_report`).
The ``gamedyn report`` subcommand is :mod:`analyses.cli.report`.
"""

from __future__ import annotations

from ..stability import r1_gd_step_bound
from .folder import _INTROS as _INTROS  # the studies' registry, for the tests
from .folder import _RUNNERS as _RUNNERS
from .folder import STUDIES, generate_report
from .neural import NEURAL_RUNS
from .temperature import TEMPERATURE_RUNS

__all__ = ["NEURAL_RUNS", "STUDIES", "TEMPERATURE_RUNS", "generate_report", "r1_gd_step_bound"]
