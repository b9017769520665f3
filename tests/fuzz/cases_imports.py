"""Cases of the importers of other tools' arrays: ``import-npy`` (``*_data_joint.npy``
folders) and ``import-pyskl`` (PYSKL / mmaction2 pickles), damaged or of the kinds
that can be misread (a score packed as a third channel, a depth, swapped axes, NaN
joints, a ``--channels`` that does not fit, pickle bombs).
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus
from .mutators import Case, bad_array, mutate_bytes, pickle_bomb
from .outcomes import check_output, expect_check, out_after_refusal

BAD_LABELS: list[Any] = [-1, 1.5, True, "3", None, 10**9, 10**30, 2**63, [1], b"x"]
BAD_NAMES: list[Any] = [3, None, b"name", "", "a\nb", ["x"], "same"]


def _npy_folder(case: Case) -> Path:
    rng = case.rng
    raw = case.tmp / "raw"
    raw.mkdir()
    t, m = rng.randint(2, 12), rng.choice([1, 2])
    nrng = np.random.default_rng(rng.randrange(2**32))
    for prefix in ("train", "val"):
        if prefix == "val" and rng.random() < 0.2:
            continue
        n = rng.randint(1, 4)
        data = nrng.normal(size=(n, 3, t, 25, m)).astype(np.float32)
        frames = nrng.integers(1, t + 1, size=n)
        for i, f in enumerate(frames):
            data[i, :, f:] = 0
        names: list[Any] = [f"{prefix}_{i}" for i in range(n)]
        labels: list[Any] = [int(v) for v in nrng.integers(0, 5, size=n)]
        obj: Any = (names, labels)
        target = rng.choice(["data", "frames", "labels", "bytes", "missing", "none", "none"])
        if target == "data":
            data = bad_array(case, data)
        elif target == "frames":
            fv = rng.choice([0, -1, t + 1, 2.7, np.nan, 10**12, "len", "2d", "float"])
            case.note(f"{prefix} num_frame -> {fv}")
            if fv == "len":
                frames = frames[:-1]
            elif fv == "2d":
                frames = frames[:, None]
            elif fv == "float":
                frames = frames.astype(np.float64) + 0.5
            else:
                frames = frames.astype(np.float64)
                frames[rng.randrange(n)] = fv
        elif target == "labels":
            kind = rng.choice(["label", "name", "shape", "length"])
            if kind == "label":
                labels[rng.randrange(n)] = rng.choice(BAD_LABELS)
            elif kind == "name":
                names[rng.randrange(n)] = rng.choice(BAD_NAMES)
            elif kind == "shape":
                obj = rng.choice([names, {"names": names}, (names, labels, labels), None, (names,)])
            else:
                labels = labels[:-1]
            if kind != "shape":
                obj = (names, labels)
            case.note(f"{prefix} label pickle: {kind}")
        np.save(raw / f"{prefix}_data_joint.npy", data)
        np.save(raw / f"{prefix}_num_frame.npy", frames)
        try:
            with open(raw / f"{prefix}_label.pkl", "wb") as f:
                pickle.dump(obj, f, protocol=rng.randint(0, 5))
        except (pickle.PicklingError, TypeError):
            pass
        if target == "bytes":
            fname = rng.choice(["data_joint.npy", "num_frame.npy", "label.pkl"])
            p = raw / f"{prefix}_{fname}"
            p.write_bytes(mutate_bytes(case, p.read_bytes(), rounds=1))
            case.note(f"{prefix}_{fname} bytes mutated")
        elif target == "missing":
            fname = rng.choice(["data_joint.npy", "num_frame.npy", "label.pkl"])
            (raw / f"{prefix}_{fname}").unlink()
            case.note(f"{prefix}_{fname} removed")
    return raw


def case_import_npy(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_import_npy`` on a tiny, possibly damaged, npy folder."""
    from skelcon.data.imports import prepare_import_npy

    if case.chance(0.5):  # channels, axes, NaN, pickle bombs
        raw, kwargs, expect = _npy_kind(case)
        out = case.tmp / "out"
        case.post = out_after_refusal(out)
        prepare_import_npy(raw, out, progress=False, normalize_data=case.chance(0.3), **kwargs)
        return expect_check(out, expect)
    raw = _npy_folder(case)
    norm, strict = case.chance(0.4), case.chance(0.3)
    classes = None
    if case.chance(0.2):
        classes = case.tmp / "classes.txt"
        classes.write_text("\n".join(f"c{i}" for i in range(case.rng.randint(0, 8))))
    case.note(f"normalize={norm} strict={strict} classes={classes is not None}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_import_npy(
        raw, out, normalize_data=norm, strict=strict, classes=classes, progress=False
    )
    return check_output(out)


def _pyskl_obj(case: Case) -> Any:
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    anns = []
    c = rng.choice([3, 3, 2])  # 2: 2D keypoints, whose keypoint_score becomes a channel
    for i in range(rng.randint(1, 4)):
        t, m = rng.randint(1, 12), rng.choice([1, 2])
        kp = nrng.normal(size=(m, t, 25, c)).astype(np.float32)
        anns.append(
            {
                "frame_dir": f"S{i:03d}",
                "label": rng.randint(0, 4),
                "keypoint": kp,
                "total_frames": t,
                "keypoint_score": np.ones((m, t, 25), np.float32),
                "img_shape": (1080, 1920),
            }
        )
    names = [a["frame_dir"] for a in anns]
    obj: dict[str, Any] = {
        "split": {"xsub_train": names[::2], "xsub_val": names[1::2]},
        "annotations": anns,
    }
    op = rng.choice(["ann", "ann", "ann", "keypoint", "keypoint", "split", "top", "none"])
    a = rng.choice(anns)
    if op == "ann":
        k = rng.choice(["frame_dir", "label", "total_frames", "keypoint"])
        if rng.random() < 0.2:
            del a[k]
            case.note(f"annotation without {k}")
        else:
            pool = {
                "frame_dir": BAD_NAMES + ["S000"],
                "label": BAD_LABELS + [np.int64(2), np.uint8(1)],
                "total_frames": [0, -1, 99, "5", 5.0, np.int64(3), None],
                "keypoint": [None, [[1.0]], "kp", np.zeros(3)],
            }[k]
            a[k] = rng.choice(pool)
            case.note(f"{k} -> {str(a[k])[:20]!r}")
    elif op == "keypoint":
        a["keypoint"] = bad_array(case, a["keypoint"])
        if rng.random() < 0.5:
            a["total_frames"] = a["keypoint"].shape[1] if a["keypoint"].ndim > 1 else 0
    elif op == "split":
        v = rng.choice(
            [
                None,
                [],
                {"train": names, "val": names},
                {"xsub_train": "S000"},
                {"xsub_train": [1, 2]},
                {5: names},
                {"foo": names},
                {"xsub_val": names, "xsub_test": names},
                {"train1": names, "test1": []},
                {"xsub_train": names + ["ghost"]},
            ]
        )
        obj["split"] = v
        case.note(f"split -> {str(v)[:40]}")
    elif op == "top":
        v = rng.choice(
            [
                [],
                None,
                {"annotations": []},
                {"annotations": "x"},
                {"split": {}},
                {"annotations": [1, 2]},
                anns,
            ]
        )
        case.note(f"top -> {str(v)[:30]}")
        return v
    else:
        case.note("unmutated")
    return obj


def case_import_pyskl(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_import_pyskl`` on a tiny, possibly damaged, PYSKL pickle."""
    from skelcon.data.imports import prepare_import_pyskl

    if case.chance(0.5):  # channels, axes, NaN, pickle bombs
        obj, kwargs, expect = _pyskl_kind(case)
        raw, out = case.tmp / "ann.pkl", case.tmp / "out"
        _write_pickle(raw, obj, case.rng.randint(2, 5))
        case.post = out_after_refusal(out)
        prepare_import_pyskl(raw, out, progress=False, normalize_data=case.chance(0.3), **kwargs)
        return expect_check(out, expect)
    obj = _pyskl_obj(case)
    raw = case.tmp / "ann.pkl"
    proto = case.rng.randint(0, 5)
    try:
        raw.write_bytes(pickle.dumps(obj, protocol=proto))
    except (pickle.PicklingError, TypeError, ValueError):
        raw.write_bytes(pickle.dumps(None))
    if case.chance(0.25):
        raw.write_bytes(mutate_bytes(case, raw.read_bytes(), rounds=1))
        case.note("pickle bytes mutated")
    max_frames = case.rng.choice([None, None, 1, 4])
    norm, strict = case.chance(0.3), case.chance(0.3)
    case.note(f"protocol {proto} max_frames={max_frames} normalize={norm} strict={strict}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_import_pyskl(
        raw, out, max_frames=max_frames, normalize_data=norm, strict=strict, progress=False
    )
    return check_output(out)


def _write_pickle(path: Path, obj: Any, proto: int) -> None:
    path.write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=proto))


def _expect_channels(
    rng: random.Random, kind: str, lay: str, kwargs: dict[str, Any], expect: dict[str, Any]
) -> None:
    """For an importer case whose third channel is a score (``packed``, ``nan``) or a
    depth (``depth2d``): maybe pass ``--channels``, and what the import must then do."""
    if kind not in ("packed", "depth2d", "nan"):
        return
    if rng.random() < 0.3:
        kwargs["channels"] = ["x", "y", "z"] if kind == "depth2d" else ["x", "y", "score"]
        expect["channels"] = kwargs["channels"]
    elif lay == "ntu25":
        expect["channels"] = ["x", "y", "z"]
    elif kind == "depth2d":
        expect["refuse"] = "a depth was taken for a score"
    else:
        expect["channels"] = ["x", "y", "score"]


def _npy_kind(case: Case) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """An import-npy folder of a new kind: ``(raw, prepare kwargs, expectations)``."""
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    raw = case.tmp / "raw"
    raw.mkdir()
    kind = rng.choice(["packed", "depth2d", "transposed", "nan", "channels", "bomb", "nmtvc"])
    lay = rng.choice(
        ["openpose18", "coco17"] if kind == "nmtvc" else ["openpose18", "coco17", "ntu25"]
    )
    v = {"openpose18": 18, "coco17": 17, "ntu25": 25}[lay]
    n, t, m = rng.randint(1, 4), rng.randint(3, 12), rng.choice([1, 2])
    xy = nrng.uniform(0.1, 0.9, (n, 2, t, v, m))
    third = nrng.uniform(0.2, 1.0, (n, 1, t, v, m))  # a confidence
    kwargs: dict[str, Any] = {"layout": lay}
    expect: dict[str, Any] = {}
    if kind == "depth2d":
        third = nrng.uniform(1.5, 5.0, (n, 1, t, v, m))  # metres: a depth, not a score
    data = np.concatenate([xy, third], 1).astype(np.float32)
    _expect_channels(rng, kind, lay, kwargs, expect)
    if kind == "nan":
        k = rng.randint(1, 5)
        picks = {
            (rng.randrange(n), rng.randrange(t), rng.randrange(v), rng.randrange(m))
            for _ in range(k)
        }
        for i, tt, vv, mm in picks:
            data[i, rng.randrange(3), tt, vv, mm] = rng.choice([np.nan, np.inf, -np.inf])
        expect["nonfinite"] = len(picks)
    elif kind == "transposed":
        tt = rng.randint(11, 40)
        data = nrng.uniform(0.2, 0.9, (n, 3, 2, v, tt)).astype(np.float32)  # (N, C, M, V, T)
        expect["max_persons"] = 10
    elif kind == "channels":
        c = rng.choice([2, 3, 4])
        data = nrng.uniform(0.2, 0.9, (n, c, t, v, m)).astype(np.float32)
        given = rng.choice(
            [
                ch
                for ch in (
                    ["x", "y"],
                    ["x", "y", "z"],
                    ["x", "y", "score"],
                    ["x", "y", "z", "score"],
                )
                if len(ch) != c
            ]
        )
        kwargs["channels"] = given
        expect["refuse"] = f"--channels {given} on C={c}"
    elif kind == "nmtvc":  # PYSKL's / mmaction2's (N, M, T, V, C): x, y, score last
        m = rng.choice([1, 2, 2, 3])
        data = np.concatenate(
            [nrng.uniform(0.1, 0.9, (n, m, t, v, 2)), nrng.uniform(0.2, 1.0, (n, m, t, v, 1))], -1
        ).astype(np.float32)
        if m > 1 and rng.random() < 0.5:
            data[::2, 1:] = 0  # persons absent from some clips
        if rng.random() < 0.4:
            kwargs["channels"] = ["x", "y", "score"]
        expect["channels"] = ["x", "y", "score"]
        expect["shape"] = [3, t, v, m]  # (C, T, V, M) of each sample, or a refusal
    np.save(raw / "train_data_joint.npy", data)
    labels: Any = ([f"s{i}" for i in range(n)], [i % 3 for i in range(n)])
    if kind == "bomb":
        what, labels = pickle_bomb(case)
        case.note(f"label pickle bomb: {what}")
        expect["refuse"] = "a pickle bomb"
    _write_pickle(raw / "train_label.pkl", labels, rng.randint(2, 5))
    case.note(f"npy kind {kind}, layout {lay}, shape {data.shape}, {kwargs.get('channels')}")
    return raw, kwargs, expect


def _pyskl_kind(case: Case) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A PYSKL pickle of a new kind: ``(object or bytes, prepare kwargs, expectations)``."""
    rng = case.rng
    nrng = np.random.default_rng(rng.randrange(2**32))
    kind = rng.choice(["packed", "depth2d", "transposed", "nan", "channels", "bomb", "bomb"])
    lay = rng.choice(["coco17", "coco17", "ntu25"])
    v = 17 if lay == "coco17" else 25
    kwargs: dict[str, Any] = {"layout": lay}
    expect: dict[str, Any] = {}
    anns = []
    for i in range(rng.randint(1, 4)):
        t, m = rng.randint(2, 12), rng.choice([1, 2])
        xy = nrng.uniform(0, 1000, (m, t, v, 2))
        third = (
            nrng.uniform(1.5, 5.0, (m, t, v, 1))
            if kind == "depth2d"
            else nrng.uniform(0.1, 1.0, (m, t, v, 1))
        )
        anns.append(
            {
                "frame_dir": f"v{i}",
                "label": i % 3,
                "total_frames": t,
                "keypoint": np.concatenate([xy, third], -1).astype(np.float32),
            }
        )
    _expect_channels(rng, kind, lay, kwargs, expect)
    if kind == "nan":
        a = rng.choice(anns)
        kp = a["keypoint"]
        picks = {
            (rng.randrange(kp.shape[0]), rng.randrange(kp.shape[1]), rng.randrange(v))
            for _ in range(rng.randint(1, 4))
        }
        for mm, tt, vv in picks:
            kp[mm, tt, vv, rng.randrange(3)] = rng.choice([np.nan, np.inf])
        expect["nonfinite"] = len(picks)
    elif kind == "transposed":
        a = rng.choice(anns)
        tt = rng.randint(11, 40)
        a["keypoint"] = nrng.uniform(0.1, 1.0, (tt, 2, v, 3)).astype(np.float32)  # (T, M, V, C)
        a["total_frames"] = rng.choice([tt, 2])
        expect["max_persons"] = 10
    elif kind == "channels":
        c = rng.choice([2, 3, 4])
        for a in anns:
            a["keypoint"] = nrng.uniform(0.1, 1.0, (*a["keypoint"].shape[:3], c)).astype(np.float32)
        given = rng.choice(
            [
                ch
                for ch in (
                    ["x", "y"],
                    ["x", "y", "z"],
                    ["x", "y", "score"],
                    ["x", "y", "z", "score"],
                )
                if len(ch) != c
            ]
        )
        kwargs["channels"] = given
        expect["refuse"] = f"--channels {given} on C={c}"
    obj: Any = {"split": {"xsub_train": [a["frame_dir"] for a in anns]}, "annotations": anns}
    if kind == "bomb":
        what, bomb = pickle_bomb(case)
        if isinstance(bomb, bytes):
            obj = bomb
        else:
            where = rng.choice(["annotations", "keypoint", "label", "frame_dir", "split", "extra"])
            if where == "annotations":
                obj["annotations"] = bomb
            elif where == "split":
                obj["split"] = {"xsub_train": bomb}
            else:
                anns[0][where] = bomb
        case.note(f"pickle bomb: {what}")
        expect["refuse"] = "a pickle bomb"  # wherever it sits: the unpickler refuses it
    case.note(f"pyskl kind {kind}, layout {lay}, {kwargs.get('channels')}")
    return obj, kwargs, expect
