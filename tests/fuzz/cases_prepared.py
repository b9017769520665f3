"""Cases of what users hand back to skelcon: prepared datasets and
checkpoints that another tool, another version or a hand edit touched.

Readers ``prepared-open`` (a small
prepared dataset with one to three of its files tampered: dtypes, shapes, labels,
split indices, ``num_frames``, NaN/Inf values, ``meta.json`` fields, truncated or
missing files; then :func:`~skelcon.data.prepared.load_prepared` and every clip read)
and ``checkpoint-open`` (a real small checkpoint with entries removed or retyped,
data-spec fields changed, tensors resized, renamed or made non-finite, the file
truncated or replaced; then :func:`~skelcon.eval.encoder.load_encoder` and a forward
pass). Same outcomes and contract as every other reader: what opens must give sound
clips or finite features of the documented shape, anything else one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus
from .mutators import Case, bad_array, mutate_bytes
from .outcomes import check_sample

JSON_ODD: list[Any] = [None, True, "3", -1, 0, 1.5, 10**30, [], {}, [3], "x\ny", float("nan")]

# --------------------------------------------------------------------------- prepared


def _small_dataset(case: Case) -> Path:
    """12 clips (C, T=10, 17, M) in 2 or 3 classes, channels from every valid set."""
    from skelcon.data.channels import VALID_CHANNELS
    from skelcon.data.prepared import PreparedWriter

    rng = case.rng
    channels = list(rng.choice(VALID_CHANNELS))
    k, m = rng.choice([2, 3]), rng.choice([1, 2])
    out = case.tmp / "data"
    w = PreparedWriter(
        out,
        dataset="fuzz",
        layout="coco17",
        classes=[f"c{i}" for i in range(k)],
        capacity=12,
        max_frames=10,
        num_persons=m,
        channels=len(channels),
        channel_names=channels,
    )
    g = np.random.default_rng(rng.randrange(2**32))
    for i in range(12):
        nf = int(g.integers(1, 11))
        x = np.zeros((len(channels), 10, 17, m), np.float32)
        x[:, :nf] = g.normal(size=(len(channels), nf, 17, m))
        w.add(x, i % k, nf, f"s{i:02d}")
    w.finalize({"default": {"train": np.arange(8), "test": np.arange(8, 12)}})
    return out


def _tamper_npy(case: Case, path: Path) -> None:
    """One damage to the ``.npy`` at ``path``: values, dtype, shape or bytes."""
    rng = case.rng
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):  # already damaged by an earlier tampering
        return
    op = rng.choice(["array", "array", "values", "length", "bytes", "missing", "object"])
    name = path.name
    if op == "array":
        try:
            arr = bad_array(case, arr)
        except (OverflowError, ValueError, IndexError):  # NaN into ints: a float copy
            if arr.dtype.kind not in "iub" or not arr.size:
                return  # (names, or an empty array: left as they are)
            arr = bad_array(case, arr.astype(np.float64))
    elif op == "values" and arr.size and arr.dtype.kind in "iuf":
        pick = rng.choice([-1, 0, 2, 3, 11, 12, 300, 2**40, -(2**40)])
        flat = arr.reshape(-1).copy()
        flat[rng.randrange(flat.size)] = pick
        arr = flat.reshape(arr.shape)
        case.note(f"{name}: one value {pick}")
    elif op == "length" and arr.ndim and len(arr):
        arr = (
            arr[: rng.randrange(len(arr))] if rng.random() < 0.5 else np.concatenate([arr, arr[:1]])
        )
        case.note(f"{name}: length {len(arr)}")
    elif op == "bytes":
        data = path.read_bytes()
        cut = rng.randrange(len(data))
        data = (
            data[:cut]
            if rng.random() < 0.5
            else data[:cut] + bytes([rng.randrange(256)]) + data[cut + 1 :]
        )
        path.write_bytes(data)
        case.note(f"{name}: bytes damaged at {cut}")
        return
    elif op == "missing":
        path.unlink()
        case.note(f"{name}: removed")
        return
    elif op == "object":
        np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
        case.note(f"{name}: object array (pickle)")
        return
    else:
        case.note(f"{name}: unchanged")
    np.save(path, arr)


def _tamper_meta(case: Case, root: Path) -> None:
    rng = case.rng
    path = root / "meta.json"
    if rng.random() < 0.2:
        path.write_bytes(mutate_bytes(case, path.read_bytes(), sep=b", "))
        return
    try:
        meta = json.loads(path.read_text("utf-8", errors="replace"))
    except ValueError:  # damaged by an earlier tampering: leave it so
        return
    if not isinstance(meta, dict) or not isinstance(meta.get("shape"), list) or not meta["shape"]:
        return
    key = rng.choice(
        [
            "shape",
            "shape",
            "num_classes",
            "classes",
            "channels",
            "layout_def",
            "layout",
            "benchmarks",
            "complete",
            "format",
        ]
    )
    if key == "shape" and rng.random() < 0.7:
        i = rng.randrange(len(meta["shape"]))
        was = meta["shape"][i] if isinstance(meta["shape"][i], int) else 0
        meta["shape"][i] = rng.choice([0, -1, 1, 25, was + 1, "3", None])
        case.note(f"meta shape[{i}] = {meta['shape'][i]!r}")
    elif key == "num_classes" and rng.random() < 0.6:
        meta["num_classes"] = rng.choice([1, 2, 4, 0, -3, "2", 2.0, None])
        if rng.random() < 0.5 and isinstance(meta["num_classes"], int) and meta["num_classes"] > 0:
            meta["classes"] = [f"c{i}" for i in range(meta["num_classes"])]
        case.note(f"meta num_classes = {meta['num_classes']!r}")
    elif key == "channels":
        meta["channels"] = rng.choice(
            [
                ["x", "y"],
                ["x", "y", "z"],
                ["x", "y", "score"],
                ["x", "y", "z", "score"],
                ["a"],
                "xyz",
                None,
                [],
            ]
        )
        case.note(f"meta channels = {meta['channels']!r}")
    elif (
        key == "layout_def"
        and isinstance(meta.get("layout_def"), dict)
        and isinstance(meta["layout_def"].get("joints"), list)
        and meta["layout_def"]["joints"]
    ):
        joints = meta["layout_def"]["joints"]
        meta["layout_def"]["joints"] = joints[: rng.randrange(len(joints))]
        case.note(f"meta layout_def joints cut to {len(meta['layout_def']['joints'])}")
    elif key == "benchmarks":
        meta["benchmarks"] = rng.choice(
            [
                {},
                {"default": {"train": 99, "test": 4}},
                {"default": {"train": "8", "test": 4}},
                None,
            ]
        )
        case.note(f"meta benchmarks = {meta['benchmarks']!r}")
    else:
        meta[key] = rng.choice(JSON_ODD)
        case.note(f"meta {key} = {meta[key]!r}")
    path.write_text(json.dumps(meta))


def case_prepared_open(case: Case, corpus: Corpus) -> str:
    """Reader level: open a split of a tampered prepared dataset and read every clip."""
    from skelcon.data.prepared import load_prepared

    rng = case.rng
    root = _small_dataset(case)
    files = [
        "data.npy",
        "data.npy",
        "labels.npy",
        "num_frames.npy",
        "names.npy",
        "splits/default/train.npy",
        "splits/default/test.npy",
        "meta.json",
    ]
    for _ in range(rng.choice([1, 1, 2, 3])):
        f = rng.choice(files)
        if f == "meta.json":
            _tamper_meta(case, root)
        elif (root / f).exists():
            _tamper_npy(case, root / f)
    split = rng.choice(["train", "test"])
    s = load_prepared(root, "default", split)
    shape = tuple(s.data.shape[1:])
    for clip in s:
        bad = check_sample(clip.x, shape, clip.num_frames, clip.label, s.num_classes)
        if bad:
            return f"{bad}:{clip.name} accepted (label {clip.label}, frames {clip.num_frames})"
    if shape != tuple(s.meta["shape"][1:]) or len(s.channels) != shape[0]:
        return f"incomplete-output:clips {shape} vs meta.json {s.meta['shape']}"
    return "ok"


# --------------------------------------------------------------------------- checkpoints

_BASE: dict[str, Any] = {}


def _base_checkpoint() -> dict[str, Any]:
    """A small real checkpoint (untrained seq+stg encoders of the small preset on
    coco17 x, y, score data), built once per process."""
    if not _BASE:
        import torch

        from skelcon.config import PretrainConfig, to_dict
        from skelcon.engine.build import build_encoders

        spec = {
            "dataset": "fuzz",
            "layout": "coco17",
            "in_channels": 3,
            "num_joints": 17,
            "num_persons": 1,
            "num_frames": 16,
            "channels": ["x", "y", "score"],
        }
        torch.manual_seed(0)
        encs = build_encoders(["seq", "stg"], "small", spec)
        model = {
            f"query_encoders.{r}.{k}": v for r, e in encs.items() for k, v in e.state_dict().items()
        }
        cfg = to_dict(PretrainConfig())
        cfg["preset"] = "small"
        _BASE.update(
            config=cfg,
            epoch=1,
            model=model,
            data=spec,
            representations=["seq", "stg"],
            skelcon_version="0.1.0",
        )
    return _BASE


def _tamper_checkpoint(case: Case, ck: dict[str, Any]) -> Any:
    import torch

    rng = case.rng
    op = rng.choice(["drop", "retype", "spec", "spec", "tensor", "tensor", "prefix", "other"])
    if op == "drop":
        key = rng.choice(["data", "representations", "config", "model", "epoch"])
        ck.pop(key, None)
        case.note(f"no {key}")
    elif op == "retype":
        key = rng.choice(["data", "representations", "config", "model", "epoch"])
        ck[key] = rng.choice(JSON_ODD[:-1] + [["seq"], ["img"], "seq", torch.zeros(2)])
        case.note(f"{key} = {ck[key]!r}"[:80])
    elif op == "spec":
        key = rng.choice(
            [
                "layout",
                "in_channels",
                "num_joints",
                "num_persons",
                "num_frames",
                "channels",
                "preset",
            ]
        )
        where = ck["config"] if key == "preset" else ck["data"]
        if rng.random() < 0.3:
            where.pop(key, None)
            case.note(f"no {key}")
        else:
            where[key] = rng.choice(
                JSON_ODD[:-1] + [2, 4, 18, 25, 1, "ntu25", "paper", "nope", ["x", "y", "z"], 10**6]
            )
            case.note(f"{key} = {where[key]!r}")
    elif op == "tensor":
        model = ck["model"]
        name = rng.choice(sorted(model))
        what = rng.choice(["shape", "drop", "extra", "nan", "inf", "dtype", "scalar"])
        t = model[name]
        if what == "shape":
            model[name] = torch.zeros(*(s + 1 for s in t.shape)) if t.ndim else torch.zeros(2)
        elif what == "drop":
            del model[name]
        elif what == "extra":
            model["query_encoders.seq.extra.weight"] = torch.zeros(3)
        elif what in ("nan", "inf") and t.is_floating_point() and t.numel():
            t = t.clone()
            t.view(-1)[rng.randrange(t.numel())] = float(what)
            model[name] = t
        elif what == "dtype":
            model[name] = t.to(rng.choice([torch.float64, torch.float16, torch.int64]))
        else:
            model[name] = 3
        case.note(f"tensor {name}: {what}")
    elif op == "prefix":
        ck["model"] = {f"module.{k}": v for k, v in ck["model"].items()}
        case.note("module. prefix")
    else:
        case.note("another repository's MoCo checkpoint")
        return {
            "epoch": 3,
            "arch": "BIGRU",
            "state_dict": {"module.encoder_q.fc.weight": torch.zeros(2, 2)},
        }
    return ck


def case_checkpoint_open(case: Case, corpus: Corpus) -> str:
    """Reader level: ``load_encoder`` on a tampered checkpoint, then features of a batch."""
    import copy

    import torch

    from skelcon.eval.encoder import load_encoder

    rng = case.rng
    ck = _tamper_checkpoint(case, copy.deepcopy(_base_checkpoint()))
    path = case.tmp / "last.pt"
    torch.save(ck, path)
    if rng.random() < 0.25:  # damage the file itself too
        data = path.read_bytes()
        cut = rng.randrange(len(data))
        path.write_bytes(
            data[:cut] if rng.random() < 0.5 else data[:cut] + b"\x00" + data[cut + 1 :]
        )
        case.note(f"file damaged at byte {cut}")
    rep = rng.choice(["seq", "stg", "seq+stg"])
    model = load_encoder(path, rep)
    spec = model.spec
    x = torch.randn(2, spec["in_channels"], 12, spec["num_joints"], spec["num_persons"])
    f = model(x, [12, 5])
    if tuple(f.shape) != (2, model.feature_dim):
        return f"incomplete-output:features {tuple(f.shape)}"
    if not bool(torch.isfinite(f).all()):
        return "NaN:features of an accepted checkpoint"
    return "ok"
