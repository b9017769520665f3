"""What every command shares: the one-line parser, the arguments several commands take
(``--representation``, ``--benchmark``/``--device``/``--quiet``, ``--config``/``--set``),
and the translation of a library error's parameter name into the flag that set it."""

from __future__ import annotations

import argparse
import re

from ..errors import SkelconError


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one line, exit 2."""

    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


REPRESENTATION_HELP = "seq, img or stg, or several joined with + or , (seq+stg is seq,stg)"
DEVICE_HELP = "auto, cpu, cuda or cuda:N (default auto: a GPU when there is one)"
QUIET_HELP = "no progress bar"
RANDOM_INIT_HELP = "the same architecture with untrained weights (the baseline)"


def add_representation_arg(p: argparse.ArgumentParser, *, required: bool) -> None:
    """``--representation`` (alias ``--representations``), one syntax for every command;
    parsed by :func:`skelcon.config.parse_representations`."""
    p.add_argument(
        "--representation",
        "--representations",
        dest="representation",
        required=required,
        metavar="REPS",
        help=REPRESENTATION_HELP,
    )


STREAM_HELP = (
    "input stream: joint, bone (each joint minus its parent) or motion (frame differences)"
)


STREAM_CHECK_HELP = (
    "the run's input stream, checked (default: the run's; its encoders compute it from the "
    "stored joints)"
)


def add_stream_arg(p: argparse.ArgumentParser, help: str = STREAM_HELP) -> None:
    """``--stream`` (joint, bone, motion: :mod:`skelcon.encoders.streams`)."""
    from ..config import STREAMS

    p.add_argument("--stream", choices=STREAMS, help=help)


def add_common_args(p: argparse.ArgumentParser, *, device: bool = True) -> None:
    """``--benchmark`` (default: the dataset's only one), ``--device`` and ``--quiet``, with
    the same defaults and help on every command that has them."""
    p.add_argument(
        "--benchmark",
        help="benchmark of --data, e.g. xsub (default: the dataset's only benchmark)",
    )
    if device:
        p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def add_override_args(p: argparse.ArgumentParser) -> None:
    """``--config`` (a YAML file or a packaged recipe) and repeatable ``--set KEY=VALUE``."""
    p.add_argument("--config", help="YAML file or packaged recipe name (see `skelcon configs`)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry, e.g. --set optim.lr=0.05 (repeatable)",
    )


def rank() -> int:
    """This process's rank under torchrun (0 without it; the one reader of the launcher's
    environment, :func:`skelcon.engine.launch.launch_info`, which imports no torch)."""
    from ..engine.launch import launch_info

    return launch_info(check=False).rank


def flag_for(param: str, flag_of: dict[str, str] | None = None) -> str:
    """The flag that sets the library parameter ``param`` (``test_fraction`` ->
    ``--test-fraction``), unless the command's ``flag_of`` names another (``synthetic``'s
    ``max_frames`` is ``--frames``)."""
    return (flag_of or {}).get(param) or "--" + param.replace("_", "-")


def error_line(error: SkelconError, flag_of: dict[str, str] | None = None) -> str:
    """``error``'s message as the command line says it: the parameter it names
    (:attr:`SkelconError.param`, its first occurrence) replaced by its flag."""
    text = str(error)
    param = getattr(error, "param", None)
    if not param:
        return text
    # the first occurrence: the message names its parameter before any value (a path
    # that happens to hold the same word stays as it is)
    return re.sub(rf"(?<![\w-]){re.escape(param)}(?!\w)", flag_for(param, flag_of), text, count=1)
