"""``python -m analyses.cli``: the ``gamedyn`` command."""

import sys

from . import main

sys.exit(main())
