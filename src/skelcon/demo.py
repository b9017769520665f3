"""``skelcon demo``: synthetic data -> inter SEQ+STG pre-training -> linear and kNN
evaluation of the SEQ encoder against a random-init encoder, in a few CPU minutes."""

from __future__ import annotations

import time
from pathlib import Path

from .utils.io import write_json
from .utils.machine import machine_line

DEMO_EPOCHS = 10  # the cpu_small recipe with a shorter schedule, so the demo stays < 5 min
DEMO_OVERRIDES = ["device=cpu", f"epochs={DEMO_EPOCHS}"]


def run_demo(
    out: str | Path = "runs/demo", *, quiet: bool = False, epochs: int | None = None
) -> dict:
    """Run the whole demo into ``out``; returns the ``results.json`` dict (top-1 in %)."""
    from .config import KnnConfig, LinearEvalConfig, PretrainConfig, load_config
    from .data.prepared import read_meta
    from .data.synthetic import generate_synthetic
    from .engine.pretrain import pretrain
    from .eval.run import run_knn, run_linear
    from .recipes import resolve_config_path

    out = Path(out)
    t0 = time.time()
    data = out / "data"
    try:
        read_meta(data)
        print(f"[1/4] synthetic data already in {data}")
    except Exception:  # noqa: BLE001 - absent or incomplete: (re)generate
        print(f"[1/4] generating synthetic skeleton actions into {data}")
        generate_synthetic(data, seed=0)
    overrides = DEMO_OVERRIDES + ([f"epochs={epochs}"] if epochs else [])
    cfg = load_config(PretrainConfig, resolve_config_path("cpu_small"), overrides)
    run = out / "pretrain"
    resume = (run / "last.pt").exists()
    print(
        f"[2/4] pre-training inter-skeleton {'+'.join(cfg.representations).upper()} "
        f"({cfg.preset} preset, {cfg.epochs} epochs) into {run}"
    )
    pretrain(cfg, data, "default", run, resume=resume, progress=not quiet)
    lin_cfg = LinearEvalConfig(device="cpu")
    knn_cfg = KnnConfig(device="cpu")
    results: dict = {}
    for step, (key, random_init) in enumerate(
        (("pretrained", False), ("random_init", True)), start=3
    ):
        print(f"[{step}/4] linear and kNN evaluation of the SEQ encoder ({key.replace('_', ' ')})")
        lin = run_linear(
            run,
            "seq",
            data,
            "default",
            out / "eval" / f"linear_{key}",
            lin_cfg,
            random_init=random_init,
            progress=not quiet,
        )
        knn = run_knn(
            run,
            "seq",
            data,
            "default",
            out / "eval" / f"knn_{key}",
            knn_cfg,
            random_init=random_init,
            progress=not quiet,
        )
        results[key] = {"linear": round(lin["top1"], 2), "knn": round(knn["top1"], 2)}
    minutes = (time.time() - t0) / 60
    results["machine"] = machine_line()
    results["minutes"] = round(minutes, 2)
    write_json(out / "results.json", results)
    print()
    print("SEQ encoder, synthetic test split, top-1 %")
    print(f"{'':14s}{'linear':>10s}{'kNN (k=1)':>12s}")
    for key in ("pretrained", "random_init"):
        print(
            f"{key.replace('_', ' '):14s}{results[key]['linear']:10.2f}{results[key]['knn']:12.2f}"
        )
    print(f"\nwrote {out / 'results.json'} in {minutes:.1f} min\n{results['machine']}")
    return results
