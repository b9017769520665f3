"""A stand-in for ``python -m skelcon`` in the sweep tests: ``pretrain`` and ``eval`` as
the sweep runner calls them, in milliseconds and without torch.

``pretrain`` trains ``epochs`` (``--set epochs=N``, default 2) "epochs" of
``$FAKE_EPOCH_S`` seconds each, writing ``last.pt`` (JSON ``{"epoch": k}``) after each;
``--resume`` goes on from it, and an existing run without ``--resume`` is refused, as
skelcon does. SIGTERM ends it with exit status 143, ``last.pt`` keeping the last whole
epoch. ``eval`` writes ``metrics.json`` with a top-1 made from the run's seed. An ``--out``
containing ``$FAKE_FAIL`` fails with a ``skelcon: error:`` line. Every call appends one
JSON line (argv, SKELCON_THREADS, start and end times) to ``$FAKE_CALLS``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def _opt(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _sets(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--set")


def main(argv: list[str]) -> int:
    record = {"argv": argv, "threads": os.environ.get("SKELCON_THREADS"), "start": time.time()}
    stopped: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: stopped.append(s))
    out = Path(_opt(argv, "--out") or ".")
    try:
        fail = os.environ.get("FAKE_FAIL")
        if fail and fail in str(out):
            print(f"skelcon: error: boom in {out.name} (injected)", file=sys.stderr)
            return 2
        if argv[0] == "pretrain":
            return _pretrain(argv, out, stopped)
        if argv[0] == "eval":
            run = Path(_opt(argv, "--checkpoint") or "")
            seed = int(_sets_of_run(run).get("seed", "0"))
            out.mkdir(parents=True, exist_ok=True)
            rep = _opt(argv, "--representation")
            top1 = 50.0 + 10 * seed + len(rep or "")
            rec = {"protocol": argv[1], "representation": rep, "top1": top1}
            (out / "metrics.json").write_text(json.dumps(rec))
            print(f"{argv[1]} {rep}: top-1 {top1:.2f} %")
            return 0
        return 2
    finally:
        record["end"] = time.time()
        calls = os.environ.get("FAKE_CALLS")
        if calls:
            with open(calls, "a") as f:
                f.write(json.dumps(record) + "\n")


def _sets_of_run(run: Path) -> dict[str, str]:
    try:
        return json.loads((run / "sets.json").read_text())
    except OSError:
        return {}


def _pretrain(argv: list[str], out: Path, stopped: list[int]) -> int:
    sets = _sets(argv)
    epochs = int(sets.get("epochs", "2"))
    last = out / "last.pt"
    if last.exists() and "--resume" not in argv:
        print(f"skelcon: error: {out} already holds a run; pass --resume", file=sys.stderr)
        return 2
    start = json.loads(last.read_text())["epoch"] if last.exists() else 0
    out.mkdir(parents=True, exist_ok=True)
    (out / "sets.json").write_text(json.dumps(sets))
    for epoch in range(start, epochs):
        time.sleep(float(os.environ.get("FAKE_EPOCH_S", "0")))
        if stopped:
            print(f"skelcon: stopped by SIGTERM; {last} holds epoch {epoch}", file=sys.stderr)
            return 143
        last.write_text(json.dumps({"epoch": epoch + 1}))
    print(f"run in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
