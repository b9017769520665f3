"""``skelcon sweep`` (run a grid of pre-trainings and evaluations: here, side by side, or
as Slurm jobs; ``--status``) and ``skelcon sweeps`` (the shipped ablation sweeps).
Neither imports torch: every point runs in commands of its own."""

from __future__ import annotations

import argparse
import re
import sys

from ..errors import SkelconError

EXECUTORS = ("local", "slurm")


def parse_axis(item: str) -> tuple[str, list[object]]:
    """``--axis seed=[0,1]`` (or ``seed=0``) -> ``("seed", [0, 1])``; values as YAML."""
    import yaml

    if "=" not in item:
        raise SkelconError(f"axis {item!r} must look like KEY=[V1, V2]", param="axis")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise SkelconError(f"axis {item!r}: {raw!r} is not a YAML list", param="axis") from None
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SkelconError(f"axis {item!r} gives no values", param="axis")
    return key.strip(), values


def parse_time(text: str) -> int:
    """A Slurm time limit in whole minutes (seconds rounded up), in Slurm's own forms:
    ``90`` (minutes), ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+(?::\d+){0,2})", text.strip())
    if not m:
        raise SkelconError(
            f"time {text!r} is not valid (valid: minutes, HH:MM:SS or D-HH:MM:SS)", param="time"
        )
    parts = [int(x) for x in m.group(2).split(":")]
    if m.group(1) is not None:  # days-hours[:minutes[:seconds]]
        h, mi, sec = (parts + [0, 0])[:3]
        seconds = ((int(m.group(1)) * 24 + h) * 60 + mi) * 60 + sec
    elif len(parts) == 3:
        seconds = (parts[0] * 60 + parts[1]) * 60 + parts[2]
    elif len(parts) == 2:
        seconds = parts[0] * 60 + parts[1]
    else:
        seconds = parts[0] * 60
    return -(-seconds // 60)


def _plan(args: argparse.Namespace):
    from ..sweep.grid import build_plan
    from ..sweep.spec import load_sweep, resolve_sweep_path

    spec = load_sweep(resolve_sweep_path(args.file))
    return build_plan(
        spec,
        data=args.sweep_data,
        benchmark=args.sweep_benchmark,
        recipe=args.recipe,
        overrides=args.overrides,
        eval_overrides=args.eval_overrides,
        axes=dict(parse_axis(a) for a in args.axes),
    )


SLURM_FLAGS = {  # flag: its value when not given
    "partition": None,
    "gpus": None,
    "cpus_per_task": None,
    "time": "1440",
    "array_parallelism": 256,
    "torchrun": None,
    "dry_run": False,
    "wait": False,
    "resubmit": False,
}


def _check_executor_flags(args: argparse.Namespace) -> None:
    """Slurm's flags go with ``--executor slurm``, ``--jobs`` with the local executor:
    one line, before anything is run or submitted."""
    if args.executor == "slurm":
        if args.jobs != 1:
            raise SkelconError(
                "--jobs is for --executor local; with --executor slurm, "
                "--array-parallelism caps the points running at once"
            )
        return
    given = [k for k, unset in SLURM_FLAGS.items() if getattr(args, k) != unset]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise SkelconError(f"{flags} go with --executor slurm (this sweep would run here)")


def _sweep(args: argparse.Namespace) -> int:
    from ..sweep.status import load_plan, open_sweep, status_lines

    if args.status is not None:
        for line in status_lines(args.status):
            print(line)
        return 0
    if args.out is None:
        raise SkelconError("--out DIR is required (or --status DIR)")
    _check_executor_flags(args)
    if args.file is None:  # go on with the grid recorded in --out
        shaping = (args.sweep_data, args.sweep_benchmark, args.recipe, args.overrides, args.axes)
        if any(shaping) or args.eval_overrides:
            raise SkelconError(
                "--data, --benchmark, --recipe, --set, --eval-set and --axis shape a new grid: "
                "give the sweep FILE too"
            )
        load_plan(args.out)
    else:
        plan = _plan(args)
        if open_sweep(args.out, plan):
            print(f"skelcon: {args.out} holds this grid already: finished steps are skipped")
    if args.executor == "slurm":
        return _slurm(args)
    if args.dry_run or args.torchrun is not None:
        raise SkelconError("--dry-run and --torchrun go with --executor slurm")
    from ..sweep.runner import run_sweep

    summary = run_sweep(args.out, jobs=args.jobs)
    if summary.failed:
        print(
            f"skelcon: {summary.failed} points failed; skelcon sweep --status {args.out} says "
            "why, and running this command again retries them",
            file=sys.stderr,
        )
        return 1
    print(f"skelcon: the table: skelcon report {args.out} --out {args.out}/report.md")
    return 0


def _slurm(args: argparse.Namespace) -> int:
    from ..sweep import slurm
    from ..sweep.status import load_plan, status_lines

    plan = load_plan(args.out)
    params = slurm.slurm_parameters(
        job_name=f"skelcon-{plan.name}",
        time_min=parse_time(args.time),
        partition=args.partition,
        gpus=args.gpus,
        cpus_per_task=args.cpus_per_task,
        array_parallelism=args.array_parallelism,
        torchrun=args.torchrun,
    )
    if args.dry_run:
        path, ids = slurm.dry_run(args.out, params, resubmit=args.resubmit)
        print(
            f"skelcon: dry run: the job script for {len(ids)} points is {path} (nothing submitted)"
        )
        return 0
    ids = slurm.points_to_submit(args.out, resubmit=args.resubmit)
    if not ids:
        print(f"skelcon: nothing to submit (skelcon sweep --status {args.out})")
        return 0
    executor = slurm.slurm_executor(f"{args.out}/slurm", params)
    jobs = slurm.submit(args.out, executor, ids)
    print(
        f"skelcon: submitted {len(ids)} points of sweep {plan.name} as Slurm job "
        f"{jobs[0].job_id.split('_')[0]} ({args.out}/slurm); skelcon sweep --status {args.out}"
    )
    if args.wait:
        slurm.wait(jobs)
        for line in status_lines(args.out):
            print(line)
    return 0


def _sweeps(args: argparse.Namespace) -> int:
    from ..sweep.spec import load_sweep, packaged_sweeps, resolve_sweep_path

    for name in packaged_sweeps():
        spec = load_sweep(resolve_sweep_path(name))
        n = 1
        for values in spec.axes.values():
            n *= len(values)
        axes = ", ".join(f"{k} ({len(v)})" for k, v in spec.axes.items())
        print(f"{name:<8} {spec.title}: {n} pre-trainings per grid; axes {axes}")
    return 0


def add_cli(sub) -> None:
    """``skelcon sweep`` and ``skelcon sweeps`` under the top-level subparsers ``sub``."""
    p = sub.add_parser(
        "sweep",
        help="run a grid of pre-trainings and evaluations (the paper's ablations), resumable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run every point of a sweep file (a shipped one: `skelcon sweeps`): its "
        "pre-training, then its evaluations, each a skelcon command whose output goes to the "
        "point's log.txt. Finished steps are skipped; an interrupted pre-training resumes from "
        "its last.pt. `skelcon report DIR` lays the results out as the paper's table.",
        epilog="examples:\n"
        "  skelcon sweep table5 --data data/ntu60 --out sweeps/t5            # the paper's recipe\n"
        "  skelcon sweep table6 --data data/pku1 --recipe cpu_small --axis seed=[0,1,2] \\\n"
        "      --jobs 2 --out sweeps/t6                                       # CPU-size data\n"
        "  skelcon sweep table5 --data data/ntu60 --out sweeps/t5 --executor slurm \\\n"
        "      --partition gpu --gpus 1 --time 24:00:00                       # one GPU per point\n"
        "  skelcon sweep --status sweeps/t5\n"
        "  skelcon report sweeps/t5 --out sweeps/t5/report.md",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="sweep file or shipped sweep name")
    p.add_argument("--out", metavar="DIR", help="sweep directory (refuses another grid's)")
    p.add_argument("--status", metavar="DIR", help="say which points are done, running, failed")
    p.add_argument(
        "--data", dest="sweep_data", metavar="DIR", help="prepared dataset (default: the file's)"
    )
    p.add_argument(
        "--benchmark", dest="sweep_benchmark", metavar="NAME", help="(default: the file's)"
    )
    p.add_argument(
        "--recipe",
        help="paper (the dataset's paper recipe), cpu_small, another recipe or a YAML file "
        "(default: the file's)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pre-training config override for every point, e.g. --set epochs=20 (repeatable)",
    )
    p.add_argument(
        "--eval-set",
        dest="eval_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="evaluation config override for every evaluation, e.g. --eval-set epochs=20",
    )
    p.add_argument(
        "--axis",
        dest="axes",
        action="append",
        default=[],
        metavar="KEY=[V1,V2]",
        help="replace an axis' values, e.g. --axis seed=[0,1,2] (repeatable)",
    )
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="points side by side here (default 1)"
    )
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="(default local)")
    g = p.add_argument_group("Slurm (--executor slurm; needs skelcon[slurm]: submitit)")
    g.add_argument("--partition", help="Slurm partition")
    g.add_argument("--gpus", type=int, help="GPUs per point (default: --torchrun's, else none)")
    g.add_argument("--cpus-per-task", type=int, help="CPU cores per point")
    g.add_argument("--time", default="1440", help="time limit per point: minutes or HH:MM:SS")
    g.add_argument(
        "--array-parallelism",
        type=int,
        default=256,
        help="at most this many points run at once (the %%N of the job array)",
    )
    g.add_argument(
        "--torchrun",
        type=int,
        metavar="N",
        help="pre-train each point on N GPUs with torchrun (its own launcher)",
    )
    g.add_argument("--dry-run", action="store_true", help="write the job script, submit nothing")
    g.add_argument("--wait", action="store_true", help="wait for the jobs, then say the status")
    g.add_argument(
        "--resubmit", action="store_true", help="also submit points already queued or running"
    )
    p.set_defaults(
        func=_sweep,
        flag_of={"data": "--data", "benchmark": "--benchmark", "jobs": "--jobs"},
    )

    s = sub.add_parser("sweeps", help="list the shipped sweeps (the paper's ablation tables)")
    s.set_defaults(func=_sweeps)
