"""This skelcon's version, for what it writes (checkpoints, exports) and says."""

from __future__ import annotations


def package_version() -> str:
    """This skelcon's version: ``skelcon.__version__``, the one source (pyproject.toml
    reads it), so a source tree on ``PYTHONPATH`` never reports an older install's."""
    from . import __version__

    return __version__
