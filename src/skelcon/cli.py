"""The ``skelcon`` command line.

Every user mistake surfaces as a :class:`~skelcon.errors.SkelconError`, printed as
one line (``skelcon: error: ...``) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from .errors import SkelconError

# Modules that contribute `skelcon prepare <dataset>` subcommands through `add_cli(sub)`.
PREPARE_MODULES = (
    "skelcon.data.synthetic",
    "skelcon.data.ntu",
    "skelcon.data.pku",
    "skelcon.data.ucla",
    "skelcon.data.imports",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="skelcon", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    prep = sub.add_parser("prepare", help="prepare a dataset into the skelcon format")
    prep_sub = prep.add_subparsers(dest="dataset", required=True, parser_class=_Parser)
    for name in PREPARE_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).add_cli(prep_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SkelconError as e:
        print(f"skelcon: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skelcon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
