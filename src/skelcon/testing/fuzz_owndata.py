"""Fuzz cases of the readers for one's own data (issue 11): layout YAML files,
Kinetics-skeleton clips and folders, and plain folders of npy/csv/json clips.

Registered in :data:`skelcon.testing.fuzz.READERS` as ``layout``, ``kinetics``,
``kinetics-prepare`` and ``folder-prepare``; same outcomes and contract as every other
reader there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .fuzz import (
    Case,
    Corpus,
    _bad_array,
    _expect_check,
    _out_after_refusal,
    check_output,
    check_sample,
    mutate_bytes,
)
from .owndata import synth_clips

JSON_BAD: list[Any] = [None, True, "1", [1], {}, -1, 0, 1.5, 10**30, float("nan"), float("inf"),
                       "x\ny", [[1, 2]], 10**400]  # fmt: skip


def case_layout(case: Case, corpus: Corpus) -> str:
    """Reader level: ``load_layout`` on a mutated built-in layout YAML."""
    from importlib import resources

    from ..data.layouts import BUILTIN_LAYOUTS, load_layout

    rng = case.rng
    name = rng.choice(BUILTIN_LAYOUTS)
    text = resources.files("skelcon").joinpath("resources", "layouts", f"{name}.yaml").read_text()
    op = rng.choice(["text", "text", "struct", "struct", "struct", "none"])
    if op == "text":
        text = mutate_bytes(case, text.encode(), sep=b", ").decode("utf-8", "replace")
    elif op == "struct":
        doc = yaml.safe_load(text)
        key = rng.choice(["joints", "bones", "center", "up", "left_right", "name", "extra"])
        what = rng.choice(["value", "delete", "element"])
        if what == "delete" and key in doc:
            del doc[key]
        elif what == "element" and isinstance(doc.get(key), list) and doc[key]:
            i = rng.randrange(len(doc[key]))
            doc[key][i] = rng.choice(
                JSON_BAD + ["nope", "nose", 10**6, -3, [0, 0], ["a", "b", "c"]]
            )
        else:
            doc[key] = rng.choice(JSON_BAD + ["nope", [], ["nose"], 5])
        case.note(f"{name}: {what} {key}")
        try:
            text = yaml.safe_dump(doc)
        except (yaml.YAMLError, ValueError):
            text = "{"
    case.note(f"{name} {op}")
    path = case.tmp / "layout.yaml"
    path.write_text(text, "utf-8", errors="surrogateescape")
    lay = load_layout(path)
    a = lay.adjacency()
    if not np.isfinite(a).all():
        return "NaN"
    return "ok"


def _kinetics_doc(case: Case, label: int) -> dict:
    from ..data.layouts import get_layout

    rng = case.rng
    kp = synth_clips(get_layout("openpose18"), [label], frames=(1, 12),
                     persons=rng.choice([1, 2, 3]), seed=rng.randrange(2**31))[0]  # fmt: skip
    data = []
    for t in range(kp.shape[1]):
        if rng.random() < 0.1:
            continue  # a frame nobody was detected in is not listed
        skel = [{"pose": np.round(kp[m, t, :, :2] / 1000, 3).reshape(-1).tolist(),
                 "score": np.round(kp[m, t, :, 2], 3).tolist()} for m in range(kp.shape[0])]  # fmt: skip
        data.append({"frame_index": t + 1, "skeleton": skel})
    return {"data": data, "label": f"class {label}", "label_index": label}


def mutate_kinetics(case: Case, doc: dict) -> str:
    """A structurally or textually mutated Kinetics-skeleton clip."""
    rng = case.rng
    op = rng.choice(["frame", "frame", "skeleton", "skeleton", "top", "text", "text", "none"])
    frames = doc["data"]
    if op == "frame" and frames:
        f = rng.choice(frames)
        key = rng.choice(["frame_index", "skeleton"])
        f[key] = rng.choice(JSON_BAD + [10**7, 2**40])
        case.note(f"frame {key} -> {str(f[key])[:20]}")
    elif op == "skeleton" and frames and frames[0]["skeleton"]:
        s = rng.choice(frames)["skeleton"]
        if not s:
            return json.dumps(doc)
        p = rng.choice(s)
        key = rng.choice(["pose", "score"])
        what = rng.choice(["value", "short", "long", "type", "delete"])
        if what == "value":
            p[key][rng.randrange(len(p[key]))] = rng.choice(JSON_BAD + [1e308, -1e30, 3.4e38])
        elif what == "short":
            p[key] = p[key][:-1]
        elif what == "long":
            p[key] = p[key] + [0.5]
        elif what == "type":
            p[key] = rng.choice(JSON_BAD)
        else:
            del p[key]
        case.note(f"skeleton {key}: {what}")
    elif op == "top":
        v = rng.choice([[], None, "x", {"data": None}, {"data": {}}, {"data": []},
                        {**doc, "label_index": rng.choice(JSON_BAD)}])  # fmt: skip
        case.note(f"top -> {str(v)[:30]}")
        return json.dumps(v)
    text = json.dumps(doc)
    if op == "text":
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    if op == "none":
        case.note("unmutated")
    return text


def _norm(case: Case):
    from ..data.clips import ClipNorm

    rng = case.rng
    on = rng.random() < 0.7
    norm = ClipNorm(on, rng.choice([0.0, 0.0, 0.5]) if on else 0.0,
                    rng.choice([None, (1.0, 1.0), (1920.0, 1080.0)]) if on else None)  # fmt: skip
    case.note(f"norm {norm}")
    return norm


def case_kinetics(case: Case, corpus: Corpus) -> str:
    """Reader level: ``kinetics.prepare_clip`` on a mutated clip."""
    from ..data.kinetics import MAX_CLASSES, KineticsTask, prepare_clip

    rng = case.rng
    text = mutate_kinetics(case, _kinetics_doc(case, rng.randint(0, 3)))
    path = case.tmp / "vid.json"
    path.write_text(text, "utf-8", errors="surrogateescape")
    max_frames = rng.choice([300, 8, 1])
    label = rng.choice([None, 2])
    case.note(f"max_frames {max_frames} label {label}")
    s = prepare_clip(KineticsTask(str(path), label, max_frames, _norm(case)))
    return check_sample(s.x, (3, max_frames, 18, 2), s.num_frames, s.label, MAX_CLASSES) or "ok"


def case_kinetics_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_kinetics`` on a tiny folder, clips or label files mutated."""
    from ..data.kinetics import prepare_kinetics

    rng = case.rng
    raw = case.tmp / "raw"
    if case.chance(0.4):  # the kinds of issue 17: duplicate ids, NaN joints, --channels
        return _kinetics_kind(case, raw)
    for folder, n in (("kinetics_train", rng.randint(0, 3)), ("kinetics_val", rng.randint(0, 2))):
        (raw / folder).mkdir(parents=True)
        table = {}
        for i in range(n):
            label = rng.randint(0, 3)
            doc = _kinetics_doc(case, label)
            text = mutate_kinetics(case, doc) if rng.random() < 0.5 else json.dumps(doc)
            (raw / folder / f"v{folder[9]}{i}.json").write_text(
                text, "utf-8", errors="surrogateescape"
            )
            table[f"v{folder[9]}{i}"] = {"has_skeleton": rng.random() < 0.9, "label": f"c{label}",
                                         "label_index": label}  # fmt: skip
        if rng.random() < 0.8:
            text = json.dumps(table)
            if rng.random() < 0.3:
                text = rng.choice([mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace"),
                                   json.dumps({"v": {"label_index": rng.choice(JSON_BAD)}}), "[]"])  # fmt: skip
                case.note(f"{folder} label file mutated")
            (raw / f"{folder}_label.json").write_text(text, "utf-8", errors="surrogateescape")
    strict, max_frames = rng.random() < 0.3, rng.choice([300, 6])
    case.note(f"strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_kinetics(raw, out, strict=strict, max_frames=max_frames, norm=_norm(case),
                     progress=False)  # fmt: skip
    return check_output(out)


def _kinetics_kind(case: Case, raw: Path) -> str:
    """A Kinetics-skeleton folder with a same id in train and val, NaN joints (JSON
    ``NaN`` / ``Infinity``) or a ``--channels`` choice; checked for silent acceptance."""
    from ..data.kinetics import prepare_kinetics

    rng = case.rng
    kind = rng.choice(["duplicate", "nan", "channels"])
    expect: dict[str, Any] = {}
    channels = None
    for folder in ("kinetics_train", "kinetics_val"):
        (raw / folder).mkdir(parents=True)
        for i in range(rng.randint(1, 3)):
            doc = _kinetics_doc(case, rng.randint(0, 2))
            vid = f"{folder[9]}{i}" if kind != "duplicate" or i else "same"
            if kind == "nan" and folder == "kinetics_train" and i == 0 and doc["data"]:
                picks = {(rng.randrange(len(doc["data"])), rng.randrange(18)) for _ in range(3)}
                for f, j in picks:
                    s = doc["data"][f]["skeleton"][0]
                    key, k = rng.choice([("pose", 2 * j), ("pose", 2 * j + 1), ("score", j)])
                    s[key][k] = rng.choice([float("nan"), float("inf"), float("-inf")])
                expect["nonfinite"] = len(picks)
            (raw / folder / f"{vid}.json").write_text(json.dumps(doc))
    if kind == "duplicate":
        expect["refuse"] = "one video id in train and val"
    elif kind == "channels":
        channels = rng.choice([["x", "y"], ["x", "y", "score"], ["x", "y", "z"],
                               ["x", "y", "z", "score"]])  # fmt: skip
        if len(channels) == 2 or channels[-1] == "score" and len(channels) == 3:
            expect["channels"] = channels
        else:
            expect["refuse"] = f"--channels {channels} on x,y + score"
    case.note(f"kinetics kind {kind} channels {channels}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_kinetics(raw, out, max_frames=rng.choice([300, 6]), norm=_norm(case),
                     progress=False, channels=channels)  # fmt: skip
    return _expect_check(out, expect)


def case_folder_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_folder`` on class folders of npy/csv/json clips, some damaged."""
    from ..data.folder import prepare_folder
    from ..data.layouts import get_layout

    rng = case.rng
    coco = get_layout("coco17")
    raw = case.tmp / "raw"
    c = rng.choice([2, 3])
    for k in range(rng.randint(1, 3)):
        d = raw / f"class{k}"
        d.mkdir(parents=True)
        for i in range(rng.randint(1, 2)):
            kp = synth_clips(coco, [k], frames=(1, 10), seed=rng.randrange(2**31))[0][0][..., :c]
            ext = rng.choice([".npy", ".csv", ".json"])
            damage = rng.random() < 0.4
            if ext == ".npy":
                np.save(d / f"c{i}.npy", _bad_array(case, kp) if damage else kp)
            elif ext == ".json":
                text = json.dumps({"keypoints": kp.tolist()} if rng.random() < 0.5 else kp.tolist())
                if damage:
                    text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
                (d / f"c{i}.json").write_text(text, "utf-8", errors="surrogateescape")
            else:
                text = "\n".join(",".join(f"{v:.2f}" for v in f.ravel()) for f in kp) + "\n"
                if damage:
                    text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
                (d / f"c{i}.csv").write_text(text, "utf-8", errors="surrogateescape")
            if damage:
                case.note(f"class{k}/c{i}{ext} damaged")
    channels = rng.choice([None, None, ["x", "y"], ["x", "y", "score"], ["x", "y", "z"]])
    norm = _norm(case)
    strict, max_frames, persons = rng.random() < 0.3, rng.choice([300, 4]), rng.choice([1, 2])
    case.note(f"C={c} channels={channels} strict={strict} max_frames={max_frames} M={persons}")
    out = case.tmp / "out"
    case.post = _out_after_refusal(out)
    prepare_folder(raw, out, layout="coco17", channels=channels, max_frames=max_frames,
                   max_persons=persons, norm=norm, strict=strict, progress=False)  # fmt: skip
    return check_output(out)


OWN_READERS = {
    "layout": case_layout,
    "kinetics": case_kinetics,
    "kinetics-prepare": case_kinetics_prepare,
    "folder-prepare": case_folder_prepare,
}
OWN_WEIGHTS = {"layout": 8, "kinetics": 10, "kinetics-prepare": 5, "folder-prepare": 6}
