"""The ``skelcon`` command line: the one place that knows about flags.

One module per command group (:mod:`.prepare`, :mod:`.pretrain`, :mod:`.configs`,
:mod:`.eval` (with ``embed``), :mod:`.export`, :mod:`.report`, :mod:`.plot`,
:mod:`.demo`), each with ``add_cli(subparsers)`` and handlers that call the library;
:mod:`.common` holds the arguments several share; :mod:`.main` builds the parser and
runs a command. ``skelcon.cli:main`` is the console entry point.

The library names below are re-exported for callers of the old ``skelcon.cli`` module.
"""

from __future__ import annotations

from typing import Any

from ..recipes import packaged_configs, recipe_summary, resolve_config_path
from ..version import package_version
from .main import build_parser, main, version_line

__all__ = [
    "build_parser",
    "main",
    "package_version",
    "packaged_configs",
    "recipe_summary",
    "resolve_benchmark",
    "resolve_config_path",
    "version_line",
]


def __getattr__(name: str) -> Any:
    # lazily: importing skelcon.data here would make `skelcon --version` import it
    if name == "resolve_benchmark":
        from ..data.benchmarks import resolve_benchmark

        return resolve_benchmark
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
