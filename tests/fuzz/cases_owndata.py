"""Cases of the readers of one's own data: layout YAML files, Kinetics-skeleton clips
and folders, plain folders of npy/csv/json clips, and the files pose estimators and
spreadsheets write: ``openpose-prepare`` (``--write_json`` folders and single files),
``missing-joints`` (NaN, (0, 0), -1 and zero-score joints), ``csv-locale``
(separators, decimal commas, quotes, BOMs), ``axes`` (arrays saved in another axis
order) and ``folder-tree-prepare`` (sub-folders, symlinks, loops, dot-files);
``kinetics-prepare`` applies the same folder rules to a Kinetics folder (a clip linked
into the other split, dot-files, links, other files and folders). These also check
for ``silent`` outcomes: wrong data accepted without a word (a missing joint stored
as a real one or not counted, a value that was not in the file, a file read twice or
never accounted for).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from skelcon.examples import synth_clips

from .corpus import Corpus
from .mutators import JSON_BAD, Case, bad_array, mutate_bytes
from .outcomes import check_output, check_sample, expect_check, out_after_refusal


def case_layout(case: Case, corpus: Corpus) -> str:
    """Reader level: ``load_layout`` on a mutated built-in layout YAML."""
    from importlib import resources

    from skelcon.data.layouts import BUILTIN_LAYOUTS, load_layout

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
    from skelcon.data.layouts import get_layout

    rng = case.rng
    kp = synth_clips(
        get_layout("openpose18"),
        [label],
        frames=(1, 12),
        persons=rng.choice([1, 2, 3]),
        seed=rng.randrange(2**31),
    )[0]
    data = []
    for t in range(kp.shape[1]):
        if rng.random() < 0.1:
            continue  # a frame nobody was detected in is not listed
        skel = [
            {
                "pose": np.round(kp[m, t, :, :2] / 1000, 3).reshape(-1).tolist(),
                "score": np.round(kp[m, t, :, 2], 3).tolist(),
            }
            for m in range(kp.shape[0])
        ]
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
        v = rng.choice(
            [
                [],
                None,
                "x",
                {"data": None},
                {"data": {}},
                {"data": []},
                {**doc, "label_index": rng.choice(JSON_BAD)},
            ]
        )
        case.note(f"top -> {str(v)[:30]}")
        return json.dumps(v)
    text = json.dumps(doc)
    if op == "text":
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    if op == "none":
        case.note("unmutated")
    return text


def _norm(case: Case):
    from skelcon.data.clips import ClipNorm

    rng = case.rng
    on = rng.random() < 0.7
    norm = ClipNorm(
        on,
        rng.choice([0.0, 0.0, 0.5]) if on else 0.0,
        rng.choice([None, (1.0, 1.0), (1920.0, 1080.0)]) if on else None,
    )
    case.note(f"norm {norm}")
    return norm


def case_kinetics(case: Case, corpus: Corpus) -> str:
    """Reader level: ``kinetics.prepare_clip`` on a mutated clip."""
    from skelcon.data.kinetics import MAX_CLASSES, KineticsTask, prepare_clip

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
    from skelcon.data.kinetics import prepare_kinetics

    rng = case.rng
    raw = case.tmp / "raw"
    if case.chance(0.4):  # duplicate ids, NaN joints, --channels
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
            table[f"v{folder[9]}{i}"] = {
                "has_skeleton": rng.random() < 0.9,
                "label": f"c{label}",
                "label_index": label,
            }
        if rng.random() < 0.8:
            text = json.dumps(table)
            if rng.random() < 0.3:
                text = rng.choice(
                    [
                        mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace"),
                        json.dumps({"v": {"label_index": rng.choice(JSON_BAD)}}),
                        "[]",
                    ]
                )
                case.note(f"{folder} label file mutated")
            (raw / f"{folder}_label.json").write_text(text, "utf-8", errors="surrogateescape")
    strict, max_frames = rng.random() < 0.3, rng.choice([300, 6])
    case.note(f"strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_kinetics(
        raw, out, strict=strict, max_frames=max_frames, norm=_norm(case), progress=False
    )
    return check_output(out)


def _kinetics_kind(case: Case, raw: Path) -> str:
    """A Kinetics-skeleton folder with a same id in train and val, NaN joints (JSON
    ``NaN`` / ``Infinity``) or a ``--channels`` choice; checked for silent acceptance."""
    from skelcon.data.kinetics import prepare_kinetics

    rng = case.rng
    kind = rng.choice(["duplicate", "nan", "channels", "leak", "extras"])
    expect: dict[str, Any] = {}
    channels = None
    clips = 0
    for folder in ("kinetics_train", "kinetics_val"):
        (raw / folder).mkdir(parents=True)
        for i in range(rng.randint(1, 3)):
            clips += 1
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
    elif kind in ("leak", "extras"):
        _kinetics_files(case, raw, kind, expect, clips)
    elif kind == "channels":
        channels = rng.choice(
            [["x", "y"], ["x", "y", "score"], ["x", "y", "z"], ["x", "y", "z", "score"]]
        )
        if len(channels) == 2 or channels[-1] == "score" and len(channels) == 3:
            expect["channels"] = channels
        else:
            expect["refuse"] = f"--channels {channels} on x,y + score"
    case.note(f"kinetics kind {kind} channels {channels}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_kinetics(
        raw,
        out,
        max_frames=rng.choice([300, 6]),
        norm=_norm(case),
        progress=False,
        channels=channels,
    )
    return expect_check(out, expect)


def _kinetics_files(case: Case, raw: Path, kind: str, expect: dict[str, Any], clips: int) -> None:
    """The folder rules on a Kinetics folder of ``clips`` clips: ``leak``, a train clip
    linked (symlink or hard link) into kinetics_val, must be refused; ``extras``,
    entries that are no clip of their own (dot-files, macOS ``._*``, a link or hard
    link to a clip of the same split, other files, sub-folders, other folders), must
    leave ``clips`` samples and be accounted for in meta.json ``unused_count``."""
    import os

    rng = case.rng
    train = raw / "kinetics_train"
    src = sorted(train.glob("*.json"))[0]
    if kind == "leak":
        dst = raw / "kinetics_val" / f"zz_leak{rng.randrange(100)}.json"
        if rng.random() < 0.5:
            dst.symlink_to(os.path.relpath(src, dst.parent))
        else:
            os.link(src, dst)
        expect["refuse"] = "one real file in train and val"
        case.note(f"kinetics leak {dst.name} -> {src.name}")
        return
    extras = rng.sample(
        ["hidden", "apple", "link", "hard", "text", "sub", "test"], rng.randint(1, 4)
    )
    for e in extras:
        if e == "hidden":
            (train / ".hidden_copy.json").write_bytes(src.read_bytes())
        elif e == "apple":
            (train / f"._{src.name}").write_bytes(b"\x00\x05\x16\x07\x00\x02 Mac OS X")
        elif e == "link":
            (train / "zz_link.json").symlink_to(src.name)
        elif e == "hard":
            os.link(src, train / "zz_hard.json")
        elif e == "text":
            (raw / "notes.txt").write_text("notes")
        elif e == "sub":
            (train / "sub").mkdir()
            (train / "sub" / "x.json").write_bytes(src.read_bytes())
        else:
            (raw / "kinetics_test").mkdir()
            (raw / "kinetics_test" / "y.json").write_bytes(src.read_bytes())
    expect["max_samples"] = clips
    expect["unused"] = len(extras)
    case.note(f"kinetics extras {extras}")


def case_folder_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_folder`` on class folders of npy/csv/json clips, some damaged."""
    from skelcon.data.folder import prepare_folder
    from skelcon.data.layouts import get_layout

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
                np.save(d / f"c{i}.npy", bad_array(case, kp) if damage else kp)
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
    case.post = out_after_refusal(out)
    prepare_folder(
        raw,
        out,
        layout="coco17",
        channels=channels,
        max_frames=max_frames,
        max_persons=persons,
        norm=norm,
        strict=strict,
        progress=False,
    )
    return check_output(out)


# ------------------------------------------- pose-estimator and spreadsheet files


def _prepare_post(out: Path):
    """As :func:`out_after_refusal`, and no hidden ``.<out>.partial``/``.old`` left."""
    base = out_after_refusal(out)

    def post(outcome: str, detail: str) -> tuple[str, str]:
        outcome, detail = base(outcome, detail)
        left = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
        if left and outcome in ("ok", "skipped", "refused"):
            return "incomplete-output", f"{left[0]} left behind after: {detail}"
        return outcome, detail

    return post


def _silent_markers(out: Path, joint: int, encoding: str) -> str | None:
    """``silent:...`` when the joint every person had marked missing is stored as a
    real one or the marks were not counted; None when sound."""
    from skelcon.data.prepared import read_meta

    meta = read_meta(out)
    if not meta["counts"]["samples"]:
        return None
    data = np.load(out / "data.npy", mmap_mode="r")
    if data[:, :, :, joint].any():
        return f"silent:joint {joint} marked missing ({encoding}) stored as a real joint"
    if not meta["missing_joints"].get(encoding):
        return f"silent:{encoding} marks not counted in meta.json: {meta['missing_joints']}"
    return None


def _mark(kp: np.ndarray, where: np.ndarray, encoding: str) -> None:
    """Write ``encoding`` (nan, sentinel, score0, zero) into the joints ``where``
    ``(..., V)`` of ``kp (..., V, C)``, the last channel the score when C is odd."""
    if encoding == "nan":
        kp[where, 0] = np.nan
    elif encoding == "sentinel":
        kp[where, :-1] = -1
    elif encoding == "score0":
        kp[where, -1] = 0
    else:
        kp[where, :-1] = 0


def case_openpose_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: OpenPose ``--write_json`` folders (per-frame files in class or
    video folders) and single-file frame lists, some mutated, some with a joint that
    every person has marked missing (which must come out 0 and counted)."""
    from skelcon.data.folder import prepare_folder
    from skelcon.data.layouts import get_layout

    rng = case.rng
    name = rng.choice(["openpose18", "openpose25"])
    lay = get_layout(name)
    raw = case.tmp / "raw"
    marker = rng.choice([None, None, "nan", "sentinel", "score0"])
    joint = rng.randrange(lay.num_joints)
    clean = True
    for k in range(rng.randint(1, 2)):
        for i in range(rng.randint(1, 2)):
            kp = synth_clips(
                lay, [k], frames=(1, 8), persons=rng.choice([1, 2, 3]), seed=rng.randrange(2**31)
            )[0].astype(np.float64)
            if marker:
                _mark(
                    kp,
                    np.eye(lay.num_joints, dtype=bool)[joint][None, None]
                    .repeat(kp.shape[0], 0)
                    .repeat(kp.shape[1], 1),
                    marker,
                )
            frames = []
            for t in range(kp.shape[1]):
                people = [
                    {
                        "person_id": [-1],
                        "pose_keypoints_2d": np.round(kp[m, t], 2).ravel().tolist(),
                        "face_keypoints_2d": [],
                    }
                    for m in range(kp.shape[0])
                    if rng.random() < 0.9
                ]
                rng.shuffle(people)
                frames.append({"version": 1.3, "people": people})
            texts = [json.dumps(f) for f in frames]
            op = rng.choice(
                ["none"] * 6 + ["value", "structure", "text", "drop", "dup-frame", "wrong-model"]
            )
            if op != "none" and op != "drop":
                clean = False
            t = rng.randrange(len(texts))
            if op == "value" and frames[t]["people"]:
                p = rng.choice(frames[t]["people"])["pose_keypoints_2d"]
                p[rng.randrange(len(p))] = rng.choice(JSON_BAD + [1e308, -1, 0])
                texts[t] = json.dumps(frames[t])
            elif op == "structure":
                frames[t] = rng.choice(
                    [
                        {"people": None},
                        {"people": [3]},
                        {},
                        {"people": [{"pose_keypoints_2d": "x"}]},
                        [],
                        {"people": [{"pose_keypoints_2d": [1.0, 2.0]}]},
                    ]
                )
                texts[t] = json.dumps(frames[t])
            elif op == "text":
                texts[t] = mutate_bytes(case, texts[t].encode(), sep=b",").decode(
                    "utf-8", "replace"
                )
            elif op == "wrong-model":
                other = 25 if lay.num_joints == 18 else 18
                frames[t] = {"people": [{"pose_keypoints_2d": [1.0] * (3 * other)}]}
                texts[t] = json.dumps(frames[t])
            case.note(f"class{k}/vid{i}: {op} frame {t}")
            where = rng.choice(["class", "video", "single"])
            d = raw / f"class{k}" / (f"vid{i}" if where == "video" else "")
            d.mkdir(parents=True, exist_ok=True)
            if where == "single":
                body = "[" + ",".join(texts) + "]"
                (d / f"vid{i}.json").write_text(body, "utf-8", errors="surrogateescape")
                continue
            for t, text in enumerate(texts):
                if op == "drop" and t == len(texts) // 2:
                    continue
                f = d / f"vid{i}_{t:012d}_keypoints.json"
                f.write_text(text, "utf-8", errors="surrogateescape")
            if op == "dup-frame":
                (d / f"vid{i}_0_keypoints.json").write_text(texts[0], "utf-8", "surrogateescape")
    channels = rng.choice([None, None, ["x", "y", "score"], ["x", "y"], ["x", "y", "z"]])
    persons, strict = rng.choice([1, 2]), rng.random() < 0.15
    case.note(f"{name} marker {marker}@{joint} channels={channels} M={persons} strict={strict}")
    out = case.tmp / "out"
    case.post = _prepare_post(out)
    prepare_folder(
        raw,
        out,
        layout=name,
        channels=channels,
        max_persons=persons,
        max_frames=rng.choice([300, 4]),
        norm=_norm(case),
        strict=strict,
        progress=False,
    )
    res = check_output(out)
    if res.split(":")[0] in ("ok", "skipped") and marker and clean:
        return _silent_markers(out, joint, marker) or res
    return res


def case_missing_joints(case: Case, corpus: Corpus) -> str:
    """Reader level: a clip (npy, json or csv) with joints marked missing in every
    way estimators write it; each must come out 0 and be counted, every other joint
    exactly as written (``silent`` otherwise)."""
    from skelcon.data.clips import ClipNorm
    from skelcon.data.folder import read_folder
    from skelcon.data.layouts import get_layout

    rng = case.rng
    lay = get_layout("coco17")
    dims = rng.choice([2, 2, 3])
    kp = synth_clips(
        lay, [0], frames=(1, 10), persons=rng.choice([1, 2]), dims=dims, seed=rng.randrange(2**31)
    )[0].astype(np.float64)
    kp = np.round(kp, 2)
    channels = (
        (["x", "y", "score"] if rng.random() < 0.6 else ["x", "y"])
        if dims == 2
        else ["x", "y", "z"]
    )
    if "score" not in channels:
        kp = np.ascontiguousarray(kp[..., : len(channels)])
    kp[np.abs(kp[..., : len(channels)]).sum(-1) == 0] = 0  # synth's lost joints: all 0
    encodings = ["nan", "sentinel", "zero"] + (["score0"] if "score" in channels else [])
    fmt = rng.choice([".npy", ".json", ".csv"])
    marks = np.zeros(kp.shape[:3], dtype=bool)
    injected = dict.fromkeys(encodings, 0)
    shape = kp.shape[:3]
    enc_of = np.array([rng.choice(encodings) for _ in range(int(np.prod(shape)))]).reshape(shape)
    chosen = np.array([rng.random() < 0.15 for _ in range(int(np.prod(shape)))]).reshape(shape)
    for enc in encodings:
        w = chosen & (enc_of == enc) & (kp != 0).any(-1)
        (_mark if "score" in channels else _mark_noscore)(kp, w, enc)
        marks |= w
        injected[enc] = int(w.sum())
    bad = rng.random() < 0.1
    if bad:
        kp.reshape(-1)[rng.randrange(kp.size)] = rng.choice([np.inf, -np.inf, 1e30])
    case.note(f"{fmt} C={kp.shape[-1]} channels={channels} injected {injected} bad={bad}")
    d = case.tmp / "raw" / "c"
    d.mkdir(parents=True)
    if fmt == ".npy":
        np.save(d / "a.npy", kp.astype(np.float32))
    elif fmt == ".json":
        doc = kp.tolist() if rng.random() < 0.5 else {"keypoints": kp.tolist()}
        text = json.dumps(doc)
        if rng.random() < 0.5:
            text = text.replace("NaN", "null")
        (d / "a.json").write_text(text)
    else:
        na = rng.choice(["", "NaN", "nan", "NA"])
        rows = [
            ",".join(na if np.isnan(v) else repr(float(v)) for v in f.ravel())
            for f in kp.transpose(1, 0, 2, 3).reshape(kp.shape[1], -1)
        ]
        (d / "a.csv").write_text("\n".join(rows) + "\n")
    norm = ClipNorm(rng.random() < 0.3)
    folder = read_folder(
        case.tmp / "raw", lay, channels=channels, max_frames=300, max_persons=kp.shape[0], norm=norm
    )
    s = folder.load(0)
    res = check_sample(s.x, (len(channels), 300, 17, kp.shape[0]), s.num_frames, s.label, 1)
    if res:
        return res
    if bad:
        return "silent:an infinite or out-of-range value was accepted"
    got = s.x[:, : kp.shape[1]].transpose(3, 1, 2, 0)  # (M, T, V, C)
    if got[marks].any():
        return "silent:a joint marked missing was stored as a real joint"
    counted = s.info.get("missing", {})
    for enc in ("nan", "sentinel", "score0"):
        if enc in injected and counted.get(enc, 0) != injected[enc]:
            return f"silent:{injected[enc]} {enc} joints written, {counted.get(enc, 0)} counted"
    if not norm.enabled:
        exp = np.where(marks[..., None], 0.0, kp)
        if not np.allclose(got, exp, atol=1e-3):
            return "silent:joints not marked missing changed"
    return "ok"


def _mark_noscore(kp: np.ndarray, where: np.ndarray, encoding: str) -> None:
    """:func:`_mark` for channels without a score (every channel a coordinate)."""
    kp[where] = {"nan": np.nan, "sentinel": -1.0, "zero": 0.0}[encoding]


def case_csv_locale(case: Case, corpus: Corpus) -> str:
    """Reader level: a CSV clip as a spreadsheet in some locale or pandas writes it
    (``,``/``;``/tab/space separators, decimal commas, quotes, BOM, CRLF, a header of
    names or of column numbers ``0,1,...``, a row-index first column), sometimes
    mutated; an unmutated file must read back exactly or be refused — never other
    numbers. ``,`` between values and decimal commas cannot be told apart: refused,
    with or without the channel count (``silent`` when read)."""
    from skelcon.data.folder import read_clip
    from skelcon.data.layouts import get_layout

    rng = case.rng
    c = rng.choice([2, 3])
    kp = np.round(
        synth_clips(get_layout("coco17"), [0], frames=(1, 6), seed=rng.randrange(2**31))[0][
            :1, ..., :c
        ].astype(np.float64),
        2,
    )
    delim = rng.choice([",", ";", "\t", " "])
    dec = rng.choice([".", ","])
    quote = rng.random() < 0.3 and delim != " "
    header = rng.choice([None, None, "names", "numbers"])  # numbers: pandas' to_csv()
    index = rng.random() < 0.25  # pandas' to_csv(index=True): a row-index first column
    enc = rng.choice(["utf-8", "utf-8-sig", "utf-16"])
    eol = rng.choice(["\n", "\r\n"])
    nc = rng.choice([None, c])
    ambiguous = delim == "," and dec == "," and not quote

    def cell(s: str) -> str:
        return f'"{s}"' if quote else s

    lines = [
        delim.join(
            ([cell(str(t))] if index else [])
            + [cell(f"{v:.2f}".replace(".", dec)) for v in f.ravel()]
        )
        for t, f in enumerate(kp[0])
    ]
    if header:
        n = kp[0, 0].size
        names = [f"j{i}" if header == "names" else str(i) for i in range(n)]
        lines.insert(0, delim.join(cell(x) for x in ([""] if index else []) + names))
    text = eol.join(lines) + rng.choice(["", eol])
    mutated = rng.random() < 0.3
    if mutated:
        text = mutate_bytes(case, text.encode(), sep=delim.encode()).decode("utf-8", "replace")
    case.note(
        f"C={c} delim={delim!r} dec={dec!r} quote={quote} header={header} index={index} "
        f"{enc} nc={nc} mutated={mutated}"
    )
    path = case.tmp / "clip.csv"
    path.write_bytes(text.encode(enc, errors="surrogateescape"))
    a = read_clip(path, 17, nc)
    if mutated:
        return "ok" if a.shape[2] == 17 else "silent:wrong joint count accepted"
    if ambiguous:
        return f"silent:',' between values and decimal commas read as shape {list(a.shape)}"
    if a.shape != kp.shape or not np.allclose(np.nan_to_num(a, nan=-9), kp, atol=1e-4):
        return f"silent:read as shape {list(a.shape)} with other values"
    return "ok"


def case_axes(case: Case, corpus: Corpus) -> str:
    """Reader level: an array saved in another axis order; it must be read back as
    written (and the order assumed reported) or refused. With ``hard`` sizes (few
    frames, persons like channels) only a clean outcome is checked."""
    from skelcon.data.folder import read_clip_info

    rng = case.rng
    hard = rng.random() < 0.2
    c = rng.choice([2, 3, 4])
    if hard:
        m, t = rng.randint(1, 4), rng.randint(1, 10)
    else:
        m, t = rng.choice([1, 5, 6]), rng.randint(20, 60)
    kp = np.random.default_rng(rng.randrange(2**31)).uniform(1, 100, (m, t, 17, c))
    kp = kp.astype(np.float32)
    three = rng.random() < 0.3
    a = kp[0] if three else kp
    perm = list(range(a.ndim))
    rng.shuffle(perm)
    nc = rng.choice([None, c])
    case.note(f"shape {list(a.shape)} saved as axes {perm} nc={nc} hard={hard}")
    np.save(case.tmp / "a.npy", a.transpose(perm))
    got, info = read_clip_info(case.tmp / "a.npy", 17, nc)
    if hard:
        return "ok" if got.ndim == 4 and got.shape[2] == 17 else "silent:bad shape accepted"
    if got.shape != kp[:1].shape if three else got.shape != kp.shape:
        return f"silent:read as shape {list(got.shape)}"
    if not np.array_equal(got, kp[:1] if three else kp):
        return "silent:axes read in another order"
    if perm != sorted(perm) and "axes" not in info:
        return "silent:transposed without a word"
    return "ok"


def case_folder_tree(case: Case, corpus: Corpus) -> str:
    """End to end: a folder tree as users have it (sub-folders, odd names, symlinked
    files and class folders, hard links, loops, dot-files, macOS ``._`` files, stray files);
    every file must be read once, skipped or listed as not read (``silent`` if one is
    read twice or never accounted for)."""
    import os

    from skelcon.data.folder import prepare_folder
    from skelcon.data.layouts import get_layout
    from skelcon.data.prepared import read_meta

    rng = case.rng
    coco = get_layout("coco17")
    raw = case.tmp / "raw"
    raw.mkdir()
    names = rng.sample(["a", "Wave Hands", "über", "c.d", "X"], rng.randint(1, 3))
    clips: list[Path] = []
    for k, cls in enumerate(names):
        for i in range(rng.randint(1, 3)):
            sub = Path(*rng.choice([[], [], ["s1"], ["s1", "deep"]]))
            ext = rng.choice([".npy", ".npy", ".NPY"])
            p = raw / cls / sub / f"clip {i}.v{k}{ext}"
            p.parent.mkdir(parents=True, exist_ok=True)
            kp = synth_clips(coco, [k], frames=(2, 6), seed=rng.randrange(2**31))[0]
            with open(p, "wb") as f:
                np.save(f, kp)
            clips.append(p)
    extras = rng.sample(
        [
            "ds_store",
            "apple",
            "txt",
            "root",
            "link-file",
            "link-dir",
            "loop",
            "empty",
            "broken",
            "hidden-dir",
            "clash",
            "damaged",
            "hardlink",
        ],
        rng.randint(0, 5),
    )
    first = raw / names[0]
    for e in extras:
        if e == "ds_store":
            (raw / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        elif e == "apple":
            (first / "._clip 0.v0.npy").write_bytes(b"\0\5\26\7" + b"\0" * 60)
        elif e == "txt":
            (first / "notes.txt").write_text("hello")
        elif e == "root":
            np.save(raw / "stray.npy", np.zeros((2, 17, 3), np.float32))
        elif e == "link-file":
            os.symlink(clips[0], raw / names[-1] / "linked.npy")
        elif e == "hardlink":  # one file under two names (and maybe two labels)
            os.link(clips[-1], raw / names[0] / "hard linked.npy")
        elif e == "link-dir":
            os.symlink(first, raw / "linked_class")
        elif e == "loop":
            os.symlink(".", first / "loop")
        elif e == "empty":
            (raw / "empty").mkdir()
        elif e == "clash":  # a second file of the same clip name: refused
            clips[0].with_suffix(".csv").write_text("1,2\n")
        elif e == "damaged":
            (first / "damaged.npy").write_bytes(b"\x93NUMPY junk")
        elif e == "broken":
            os.symlink(raw / "nowhere.npy", first / "broken.npy")
        else:
            (first / ".git").mkdir()
            (first / ".git" / "x.npy").write_bytes(b"x")
    case.note(f"classes {names}, {len(clips)} clips, extras {extras}")
    out = case.tmp / "out"
    case.post = _prepare_post(out)
    prepare_folder(
        raw,
        out,
        layout="coco17",
        channels=["x", "y", "score"],
        strict=rng.random() < 0.2,
        progress=False,
    )
    res = check_output(out)
    if res.split(":")[0] not in ("ok", "skipped"):
        return res
    meta = read_meta(out)
    kept = np.load(out / "names.npy").tolist()
    done = set(kept) | {s["name"] for s in meta["skipped"]}
    unused = {u["path"] for u in meta["unused_files"]}
    reals = [os.stat(next(raw.glob(glob_escape(n) + ".*"))) for n in kept]
    if len({(st.st_dev, st.st_ino) for st in reals}) != len(reals):
        return "silent:one file read twice (a symlink or a hard link)"
    for root, dirs, files in os.walk(raw):
        for f in [*files, *[d for d in dirs if os.path.islink(os.path.join(root, d))]]:
            rel = os.path.relpath(os.path.join(root, f), raw).replace(os.sep, "/")
            stem = rel.rsplit(".", 1)[0] if "." in f else rel
            ups = [rel.rsplit("/", j)[0] for j in range(rel.count("/") + 1)]
            if (
                stem not in done
                and not any(u in unused for u in ups)
                and not any(u.startswith(rel + "/") for u in unused)
            ):
                return f"silent:{rel} neither read, skipped nor listed as not read"
    return res


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    import glob

    return glob.escape(name)
