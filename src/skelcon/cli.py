"""The ``skelcon`` command line.

Every user mistake surfaces as a :class:`~skelcon.errors.SkelconError`, printed as
one line (``skelcon: error: ...``) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.resources
import importlib.util
import os
import signal
import sys
import threading
from pathlib import Path

from .errors import Interrupted, SkelconError
from .utils import threads
from .utils.io import NO_SPACE, output_lock

# Modules that contribute `skelcon prepare <dataset>` subcommands through `add_cli(sub)`.
PREPARE_MODULES = (
    "skelcon.data.synthetic",
    "skelcon.data.ntu",
    "skelcon.data.pku",
    "skelcon.data.ucla",
    "skelcon.data.imports",
    "skelcon.data.kinetics",
    "skelcon.data.folder",
)
# Modules that contribute further top-level commands through `add_cli(sub)`.
COMMAND_MODULES = (
    "skelcon.eval.cli",
    "skelcon.export.cli",
    "skelcon.report",
    "skelcon.viz.cli",
    "skelcon.demo",
)

# Commands that never run a model: no thread policy (which imports torch) for them.
NO_TORCH_COMMANDS = ("configs",)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def packaged_configs() -> list[str]:
    root = importlib.resources.files("skelcon") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def recipe_summary(name: str) -> str:
    """What a packaged recipe is for: the first comment line of its YAML (one source)."""
    text = (importlib.resources.files("skelcon") / "configs" / f"{name}.yaml").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("#") and line.lstrip("#").strip():
            return line.lstrip("#").strip()
    return ""


def package_version() -> str:
    """This skelcon's version: ``skelcon.__version__``, the one source (pyproject.toml
    reads it), so a source tree on ``PYTHONPATH`` never reports an older install's."""
    from . import __version__

    return __version__


def version_line() -> str:
    """What ``skelcon --version`` prints."""
    return f"skelcon {package_version()}"


def resolve_config_path(value: str | None) -> Path | None:
    """A YAML path, or the name of a packaged recipe (``ntu60``, ``cpu_small``...)."""
    if value is None:
        return None
    if os.path.isfile(value):
        return Path(value)
    name = value[:-5] if value.endswith(".yaml") else value
    if name in packaged_configs():
        return Path(str(importlib.resources.files("skelcon") / "configs" / f"{name}.yaml"))
    raise SkelconError(
        f"config {value!r} is neither a file nor a packaged recipe (packaged: {', '.join(packaged_configs())})"
    )


REPRESENTATION_HELP = "seq, img or stg, or several joined with + or , (seq+stg is seq,stg)"


def add_representation_arg(p: argparse.ArgumentParser, *, required: bool) -> None:
    """``--representation`` (alias ``--representations``), one syntax for every command;
    parsed by :func:`skelcon.config.parse_representations`."""
    p.add_argument(
        "--representation", "--representations", dest="representation", required=required,
        metavar="REPS", help=REPRESENTATION_HELP,
    )  # fmt: skip


DEVICE_HELP = "auto, cpu, cuda or cuda:N (default auto: a GPU when there is one)"
QUIET_HELP = "no progress bar"
RANDOM_INIT_HELP = "the same architecture with untrained weights (the baseline)"


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


def resolve_benchmark(data: str | os.PathLike, benchmark: str | None) -> str:
    """``benchmark``, or the only benchmark of the prepared dataset ``data``."""
    if benchmark is not None:
        return benchmark
    from .data.prepared import read_meta

    names = list(read_meta(data).get("benchmarks", {}))
    if len(names) != 1:
        raise SkelconError(
            f"--benchmark is required: {str(data)!r} has {len(names)} "
            f"({', '.join(names) or 'none'})"
        )
    return names[0]


def add_override_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML file or packaged recipe name (see `skelcon configs`)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config entry, e.g. --set optim.lr=0.05 (repeatable)",
    )  # fmt: skip


def _pretrain(args: argparse.Namespace) -> int:
    from .config import PretrainConfig, from_dict, load_config
    from .engine.pretrain import load_resume, pretrain

    shortcuts = []
    for flag, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("seed", "seed"),
                      ("preset", "preset"), ("representation", "representations"),
                      ("device", "device")):  # fmt: skip
        v = getattr(args, flag)
        if v is not None:
            shortcuts.append(f"{key}={v}")
    path = resolve_config_path(args.config)
    resume = args.resume or args.resume_from is not None
    if resume and path is None:  # continue with the run's own config
        ckpt = load_resume(args.out, args.data, args.benchmark, args.resume_from)
        cfg = from_dict(PretrainConfig, ckpt["config"])
        from .config import apply_overrides

        apply_overrides(cfg, shortcuts + args.overrides)
    else:
        cfg = load_config(PretrainConfig, path, shortcuts + args.overrides)
    pretrain(cfg, args.data, args.benchmark, args.out, resume=resume,
             resume_from=args.resume_from, progress=not args.quiet)  # fmt: skip
    if _rank() == 0:  # under torchrun, rank 0 alone speaks
        print(
            f"run in {args.out} (last.pt, config.yaml, metrics.jsonl; curves: skelcon plot curves)"
        )
    return 0


def _check_torchrun(args: argparse.Namespace) -> None:
    """Under torchrun (``WORLD_SIZE`` > 1) only the commands that use the processes run,
    and only with the launcher's whole environment (checked before any work)."""
    if not os.environ.get("WORLD_SIZE", "").strip():
        return
    from .engine.distributed import launch_env  # (imports torch: only under a launcher)

    name = args.command + (f" {args.protocol}" if args.command == "eval" else "")
    world = os.environ["WORLD_SIZE"].strip()
    if name not in ("pretrain", "eval linear", "eval knn") and not (
        world.isdigit() and int(world) <= 1
    ):
        raise SkelconError(
            f"skelcon {name} runs in one process; under torchrun use pretrain, eval linear "
            "or eval knn (run the others without torchrun)"
        )
    launch_env(command=name)


def _rank() -> int:
    """This process's rank under torchrun (0 without it)."""
    text = os.environ.get("RANK", "0")
    return int(text) if text.isdigit() else 0


MIN_INSTANCES_HINT = (
    "--min-instances K keeps only the classes with at least K clips, relabelled (e.g. "
    "--min-instances 50, as the README's PKU-MMD table)"
)


def _guard_prepare(parser: argparse.ArgumentParser) -> None:
    """Give a ``prepare`` subcommand ``--overwrite`` and check its ``--out`` first."""
    run = parser.get_default("func")
    name = parser.prog.split()[-1]  # the dataset subcommand: ntu60, folder, ...

    def guarded(args: argparse.Namespace) -> int:
        from .data.coverage import coverage_notes
        from .data.prepared import check_output_dir, prepare_cleanup, read_meta

        check_output_dir(args.out, args.overwrite)
        with prepare_cleanup():  # any error or Ctrl-C: no .partial left behind
            rc = run(args)
        hint = MIN_INSTANCES_HINT if getattr(args, "min_instances", 0) is None else ""
        for line in coverage_notes(read_meta(args.out), drop_hint=hint):
            print(f"{name}: note: {line}")
        return rc

    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists and is not empty"
    )
    parser.set_defaults(func=guarded)


def _configs(args: argparse.Namespace) -> int:
    names = packaged_configs()
    width = max(map(len, names), default=0)
    for name in names:
        print(f"{name:<{width}}  {recipe_summary(name)}".rstrip())
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="skelcon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    prep = sub.add_parser("prepare", help="prepare a dataset into the skelcon format")
    prep_sub = prep.add_subparsers(dest="dataset", required=True, parser_class=_Parser)
    for name in PREPARE_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).add_cli(prep_sub)
    for prep_parser in prep_sub.choices.values():  # every dataset, one rule
        _guard_prepare(prep_parser)

    p = sub.add_parser(
        "pretrain", help="contrastive pre-training (MoCo, intra or inter-skeleton)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="several processes (GPUs, nodes; docs/scaling.md):\n"
        "  torchrun --nproc_per_node=N -m skelcon pretrain ...   (batch_size is the global batch)\n"
        "speed: --set precision=bf16|fp16  --set compile=true  --set sync_bn=true (GPUs)",
    )  # fmt: skip
    p.add_argument("--data", required=True, help="prepared dataset directory")
    p.add_argument("--out", required=True, help="run directory")
    add_override_args(p)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument(
        "--resume-from", metavar="FILE",
        help="continue the run in --out from this checkpoint (e.g. an epoch_NNNN.pt)",
    )  # fmt: skip
    p.add_argument("--epochs", type=int,
                   help="training epochs (default: the config's); turns the config's min_steps off")  # fmt: skip
    p.add_argument("--batch-size", type=int, help="training batch (default: the config's)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's, 0)")
    p.add_argument("--preset", choices=["paper", "small"], help="encoder sizes")
    add_representation_arg(p, required=False)
    add_common_args(p)  # --benchmark: its train split is used
    p.set_defaults(func=_pretrain)

    c = sub.add_parser("configs", help="list the packaged recipes and what each is for")
    c.set_defaults(func=_configs)

    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).add_cli(sub)
    return parser


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
        from .engine.distributed import take_local_rank_arg

        try:
            argv = take_local_rank_arg(argv)
        except SkelconError as e:
            parser.error(str(e))
    args = parser.parse_args(argv)
    # outside the training loops (which say what they kept), SIGTERM ends like Ctrl-C
    old = signal.signal(signal.SIGTERM, _terminated) if _main_thread() else None
    try:
        _check_torchrun(args)  # a launcher's environment first: before any file is read
        if "benchmark" in vars(args) and args.benchmark is None and "data" in vars(args):
            args.benchmark = resolve_benchmark(args.data, None)
        if args.command not in NO_TORCH_COMMANDS:
            threads.configure()  # (imports torch)
        with contextlib.ExitStack() as stack:
            if args.command == "prepare" and getattr(args, "out", None):
                stack.enter_context(output_lock(args.out, "prepare"))
                from .data.prepared import remove_stale_partial

                stale = remove_stale_partial(args.out)  # first: before any check can fail
                if stale is not None:
                    print(f"skelcon: removed {stale} left by an interrupted prepare",
                          file=sys.stderr)  # fmt: skip
            return int(args.func(args) or 0)
    except SkelconError as e:
        who = f"rank {_rank()}: " if _rank() else ""  # under torchrun, which process said it
        print(f"skelcon: {who}error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        if _rank() == 0:  # every process stops; rank 0 says what was kept
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
