"""``games.__version__``: the installed distribution's version (pyproject.toml is the one
place it is written).  A module of its own, so that ``import games`` does not pay for
:mod:`importlib.metadata` until the version is asked for."""

from importlib import metadata as _metadata

try:
    __version__: str = _metadata.version("gamedyn")
except _metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"
