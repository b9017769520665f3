"""``skelcon``: the top-level parser and :func:`main`, which runs one command.

Every user mistake surfaces as a :class:`~skelcon.errors.SkelconError`, printed as
one line (``skelcon: error: ...``) with exit status 2, never a traceback. A library
error that names a Python parameter (:attr:`SkelconError.param`) is printed with the
flag that set it (:func:`skelcon.cli.common.error_line`).

The command modules (``prepare``, ``pretrain``, ``eval``...) are imported when the
parser is built, not with this module: ``skelcon --version`` builds none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from ..errors import Interrupted, SkelconError
from ..utils import threads
from ..utils.io import NO_SPACE, output_lock
from ..version import package_version
from .common import Parser, error_line, rank

# Commands that never run a model: no thread policy (which imports torch) for them.
NO_TORCH_COMMANDS = ("configs", "sweep", "sweeps")

DESCRIPTION = """\
skelcon: inter-skeleton contrastive learning of 3D action representations.
Prepare a dataset, pre-train encoders with MoCo, then evaluate, embed, export, plot and report."""
EPILOG = """\
a first hour (CPU, minutes):
  skelcon demo --out runs/demo
  skelcon prepare synthetic --out data/synthetic
  skelcon pretrain --data data/synthetic --benchmark default --config cpu_small --out runs/syn
  skelcon eval linear --checkpoint runs/syn --representation seq --data data/synthetic \\
      --benchmark default --out runs/syn/linear
  skelcon plot confusion runs/syn/linear --out confusion.png

`skelcon configs` lists the packaged recipes; `skelcon COMMAND --help` shows a command's flags.
Mistakes get one line on stderr and exit status 2.
"""


def version_line() -> str:
    """What ``skelcon --version`` prints."""
    return f"skelcon {package_version()}"


def build_parser() -> argparse.ArgumentParser:
    """The whole ``skelcon`` parser: every command module adds its commands."""
    from . import (
        configs,
        demo,
        ensemble,
        eval,
        export,
        extract,
        plot,
        predict,
        prepare,
        pretrain,
        report,
        sweep,
        weights,
    )

    parser = Parser(
        prog="skelcon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    # the order of `skelcon --help`
    for module in (
        extract,
        prepare,
        pretrain,
        configs,
        eval,
        predict,
        ensemble,
        export,
        report,
        sweep,
        plot,
        demo,
        weights,
    ):
        module.add_cli(sub)
    return parser


def _check_torchrun(args: argparse.Namespace) -> None:
    """Under torchrun (``WORLD_SIZE`` > 1) only the commands that use the processes run,
    and only with the launcher's whole environment (checked before any work)."""
    from ..engine.launch import launch_info

    name = args.command + (f" {args.protocol}" if args.command == "eval" else "")
    if launch_info(check=False).world_size <= 1:
        return
    if name not in ("pretrain", "eval linear", "eval knn"):
        raise SkelconError(
            f"skelcon {name} runs in one process; under torchrun use pretrain, eval linear "
            "or eval knn (run the others without torchrun)"
        )
    from ..engine.distributed import launch_env  # (imports torch: only under a launcher)

    launch_env(command=name)


def _terminated(signum: int, frame: object) -> None:
    raise Interrupted("stopped by SIGTERM", signum)


def main(argv: list[str] | None = None) -> int:
    """Run one ``skelcon`` command; returns the exit status (0, 2 for a one-line error,
    130 / 143 when stopped by SIGINT / SIGTERM)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:  # fast path: argparse's output and exit, no subparser built
        print(version_line())
        raise SystemExit(0)
    parser = build_parser()
    if any(a.startswith(("--local-rank", "--local_rank")) for a in argv):
        # python -m torch.distributed.launch appends --local-rank=N: it is LOCAL_RANK
        from ..engine.distributed import take_local_rank_arg

        try:
            argv = take_local_rank_arg(argv)
        except SkelconError as e:
            parser.error(str(e))
    args = parser.parse_args(argv)
    # outside the training loops (which say what they kept), SIGTERM ends like Ctrl-C
    old = signal.signal(signal.SIGTERM, _terminated) if _main_thread() else None
    try:
        _check_torchrun(args)  # a launcher's environment first: before any file is read
        if "benchmark" in vars(args) and args.benchmark is None and vars(args).get("data"):
            from ..data.benchmarks import resolve_benchmark

            args.benchmark = resolve_benchmark(args.data, None)
        if args.command not in NO_TORCH_COMMANDS:
            threads.configure()  # (imports torch)
        with contextlib.ExitStack() as stack:
            if args.command == "prepare" and getattr(args, "out", None):
                stack.enter_context(output_lock(args.out, "prepare"))
                from ..data.prepared import remove_stale_partial

                stale = remove_stale_partial(args.out)  # first: before any check can fail
                if stale is not None:
                    print(
                        f"skelcon: removed {stale} left by an interrupted prepare", file=sys.stderr
                    )
            return int(args.func(args) or 0)
    except SkelconError as e:
        who = f"rank {rank()}: " if rank() else ""  # under torchrun, which process said it
        print(
            f"skelcon: {who}error: {error_line(e, getattr(args, 'flag_of', None))}", file=sys.stderr
        )
        return 2
    except Interrupted as e:
        if rank() == 0:  # every process stops; rank 0 says what was kept
            print(f"skelcon: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("skelcon: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a full disk anywhere: one line, not a traceback
        if e.errno not in NO_SPACE:
            raise
        print(f"skelcon: error: {e.strerror} writing {e.filename or 'output'}", file=sys.stderr)
        return 2
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
