"""Cases of the public dataset readers: NTU RGB+D ``.skeleton`` files, PKU-MMD
skeleton/label/split files and NW-UCLA JSON documents (reader level and end to end).
"""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path
from typing import Any

from .corpus import Corpus, synth_ntu, synth_pku
from .mutators import Case, mutate_bytes
from .outcomes import check_output, check_sample, out_after_refusal


def _ntu_input(case: Case, corpus: Corpus) -> tuple[str, bytes]:
    name, data = case.rng.choice(corpus.ntu)
    case.note(f"ntu seed {name} ({len(data)} B)")
    if case.chance(0.08):
        case.note("unmutated")
        return name, data
    if case.chance(0.1):
        data = synth_ntu(case.rng, case.rng.randint(1, 8))
        case.note("synthesised")
    return name, mutate_bytes(case, data)


def case_ntu(case: Case, corpus: Corpus) -> str:
    """Reader level: ``ntu.prepare_sample`` on a mutated ``.skeleton`` file."""
    from skelcon.data.ntu import NtuName, NtuTask, prepare_sample

    name, data = _ntu_input(case, corpus)
    max_frames = case.rng.choice([300, 300, 64, 8, 1])
    path = case.tmp / f"{name}.skeleton"
    path.write_bytes(data)
    case.note(f"max_frames {max_frames}")
    s = prepare_sample(NtuTask(name, str(path), None, max_frames))
    bad = check_sample(s.x, (3, max_frames, 25, 2), s.num_frames, s.label, 120)
    if bad is None and s.label != NtuName.parse(name).action - 1:
        bad = "incomplete-output"
    return bad or "ok"


def case_ntu_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_ntu`` on a folder of 1-3 files, one or more mutated."""
    from skelcon.data.ntu import prepare_ntu

    raw = case.tmp / "raw"
    raw.mkdir()
    n = case.rng.randint(1, 3)
    for k in range(n):
        name, data = case.rng.choice(corpus.ntu)
        name = name[:-4] + f"A{case.rng.choice([1, 2, 50, 60, 61, 120, 0, 999]):03d}"
        name = name[:12] + f"R{k + 1:03d}" + name[16:]
        if case.chance(0.6):
            data = mutate_bytes(case, data)
        if case.chance(0.05):
            name = case.rng.choice(["bad_name", name + "x", name.lower()])
        (raw / f"{name}.skeleton").write_bytes(data)
        case.note(f"file {name}")
    if case.chance(0.1):
        (raw / "sub").mkdir()
        shutil.copy(next(raw.glob("*.skeleton")), raw / "sub")
        case.note("same name twice")
    dataset = case.rng.choice(["ntu60", "ntu120"])
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"{dataset} strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_ntu(dataset, [raw], out, strict=strict, max_frames=max_frames, progress=False)
    return check_output(out)


def _pku_task(case: Case, stem: str, skel: str, labels: str, strict: bool, max_frames: int):
    from skelcon.data.pku import PkuTask

    path = case.tmp / f"{stem}.txt"
    if case.chance(0.2):
        path = case.tmp / f"{stem}.txt.xz"
        path.write_bytes(lzma.compress(skel.encode("utf-8", "surrogateescape")))
    else:
        path.write_bytes(skel.encode("utf-8", "surrogateescape"))
    return PkuTask(
        stem, str(path), str(case.tmp / f"{stem}_labels.txt"), labels, 51, max_frames, strict
    )


def _check_bundle(sample: Any, max_frames: int) -> str:
    b = sample.x
    for k in range(len(b.names)):
        bad = check_sample(b.x[k], (3, max_frames, 25, 2), b.num_frames[k], b.labels[k], 51)
        if bad:
            return bad
    return "skipped" if b.skipped else "ok"


def case_pku_skeleton(case: Case, corpus: Corpus) -> str:
    """Reader level: ``pku.prepare_sequence`` with a mutated skeleton file."""
    from skelcon.data.pku import prepare_sequence

    stem, skel, labels = case.rng.choice(corpus.pku)
    case.note(f"pku seed {stem}")
    if case.chance(0.08):
        case.note("unmutated")
    else:
        if case.chance(0.1):
            skel = synth_pku(case.rng, case.rng.randint(1, 30))
            case.note("synthesised")
        skel = mutate_bytes(case, skel.encode()).decode("utf-8", "surrogateescape")
    max_frames = case.rng.choice([300, 300, 10, 1])
    case.note(f"max_frames {max_frames}")
    task = _pku_task(case, stem, skel, labels, case.chance(0.3), max_frames)
    if task.skeleton.endswith(".xz") and case.chance(0.3):
        p = Path(task.skeleton)
        p.write_bytes(mutate_bytes(case, p.read_bytes(), rounds=1))
        case.note("xz stream mutated")
    return _check_bundle(prepare_sequence(task), max_frames)


def case_pku_labels(case: Case, corpus: Corpus) -> str:
    """Reader level: a mutated label file through ``prepare_sequence`` (skeleton an
    unmutated excerpt), or a whole official label file through ``parse_label_line``."""
    from skelcon.data.pku import parse_label_line, prepare_sequence

    if case.chance(0.3):
        text = case.rng.choice(corpus.pku_label_files)
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
        case.note("whole label file, parse_label_line")
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                inst = parse_label_line(line, i, "<labels>", 51)
                if not (1 <= inst.label <= 51 and 0 <= inst.start <= inst.end):
                    return "incomplete-output:bad instance accepted"
        return "ok"
    stem, skel, labels = case.rng.choice(corpus.pku)
    case.note(f"pku seed {stem}")
    labels = mutate_bytes(case, labels.encode(), sep=b",").decode("utf-8", "replace")
    max_frames = case.rng.choice([300, 300, 5, 1])
    strict = case.chance(0.3)
    case.note(f"max_frames {max_frames} strict={strict}")
    task = _pku_task(case, stem, skel, labels, strict, max_frames)
    return _check_bundle(prepare_sequence(task), max_frames)


def case_pku_splits(case: Case, corpus: Corpus) -> str:
    """Reader level: ``pku.parse_split_list`` on a mutated official split list."""
    from skelcon.data.pku import parse_split_list

    text = case.rng.choice(corpus.pku_splits)
    text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    parts = parse_split_list(text, "<split>")
    if set(parts["train"]) & set(parts["test"]):
        return "incomplete-output:sequence in both parts"
    return "ok"


def case_pku_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_pku`` on tiny skeleton/label/split folders."""
    from skelcon.data.pku import prepare_pku

    raw, labels, splits = case.tmp / "raw", case.tmp / "labels", case.tmp / "splits"
    for d in (raw, labels):
        d.mkdir()
    chosen = case.rng.sample(corpus.pku, min(len(corpus.pku), case.rng.randint(1, 2)))
    for stem, skel, lab in chosen:
        target = case.rng.choice(["skel", "labels", "none", "none"])
        if target == "skel":
            skel = mutate_bytes(case, skel.encode()).decode("utf-8", "surrogateescape")
        elif target == "labels":
            lab = mutate_bytes(case, lab.encode(), sep=b",").decode("utf-8", "replace")
        case.note(f"{stem}: mutated {target}")
        if case.chance(0.2):
            (raw / f"{stem}.txt.xz").write_bytes(
                lzma.compress(skel.encode("utf-8", "surrogateescape"))
            )
        else:
            (raw / f"{stem}.txt").write_bytes(skel.encode("utf-8", "surrogateescape"))
        (labels / f"{stem}.txt").write_text(lab, "utf-8")
    split_dir = None
    if case.chance(0.3):
        splits.mkdir()
        text = case.rng.choice(corpus.pku_splits)
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
        (splits / "cross-subject.txt").write_text(text, "utf-8")
        split_dir = splits
        case.note("mutated split list")
    min_inst = case.rng.choice([None, None, 1, 2, 100])
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"strict={strict} max_frames={max_frames} min_instances={min_inst}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_pku(
        "pku-mmd1",
        raw,
        labels,
        out,
        splits=split_dir,
        strict=strict,
        max_frames=max_frames,
        min_instances=min_inst,
        progress=False,
    )
    return check_output(out)


# ----------------------------------------------------------------- NW-UCLA (synthesised)


def _ucla_doc(case: Case, corpus: Corpus) -> dict:
    rng = case.rng
    t = rng.randint(1, 40)
    label = rng.randint(1, 10)
    name = (
        f"a{label:02d}_s{rng.randint(1, 10):02d}_e{rng.randint(0, 4):02d}_v{rng.randint(1, 3):02d}"
    )
    base = [rng.gauss(0, 0.3) for _ in range(60)]
    skel = [
        [
            [
                round(base[3 * j + c] + rng.gauss(0, 0.02) + (3 if c == 2 else 0), 5)
                for c in range(3)
            ]
            for j in range(20)
        ]
        for _ in range(t)
    ]
    return {"file_name": name, "skeletons": skel, "label": label}


UCLA_BAD_VALUES: list[Any] = [
    0,
    11,
    -1,
    True,
    1.0,
    "1",
    None,
    [1],
    10**30,
    {},
    "",
    "a01_s01_e00",
    "a01_s01_e00_v00",
    "a01_s01_e00_v04",
    "x_v1\nx",
    "a_v" + "1" * 5000,
    float("nan"),
]


def mutate_ucla(case: Case, doc: dict) -> str:
    """A structurally or textually mutated NW-UCLA JSON document."""
    rng = case.rng
    op = rng.choice(
        [
            "key",
            "field",
            "field",
            "skeleton",
            "skeleton",
            "skeleton",
            "text",
            "text",
            "deep",
            "toplevel",
            "none",
        ]
    )
    skel = doc["skeletons"]
    if op == "key":
        k = rng.choice(list(doc))
        del doc[k]
        case.note(f"delete key {k}")
    elif op == "field":
        k = rng.choice(["file_name", "label", "skeletons"])
        doc[k] = rng.choice(UCLA_BAD_VALUES)
        case.note(f"{k} -> {str(doc[k])[:20]!r}")
    elif op == "skeleton":
        what = rng.choice(["value", "joint", "coord", "frames", "ragged", "type", "huge-t"])
        t, j, c = rng.randrange(len(skel)), rng.randrange(20), rng.randrange(3)
        if what == "value":
            v = rng.choice(
                [
                    float("nan"),
                    float("inf"),
                    -float("inf"),
                    1e308,
                    1e39,
                    3.4e38,
                    -3e38,
                    1e30,
                    1e-320,
                    0.0,
                    "1.0",
                    None,
                    True,
                    [1.0],
                    10**400,
                ]
            )
            skel[t][j][c] = v
            case.note(f"skeletons[{t}][{j}][{c}] = {str(v)[:20]}")
        elif what == "joint":
            if rng.random() < 0.5:
                del skel[t][j]
            else:
                skel[t].append([0.0, 0.0, 0.0])
            case.note(f"joint count of frame {t}")
        elif what == "coord":
            if rng.random() < 0.5:
                del skel[t][j][c]
            else:
                skel[t][j].append(1.0)
            case.note(f"coordinate count of joint {t},{j}")
        elif what == "frames":
            doc["skeletons"] = rng.choice([[], [[]], [[[]]], skel[:0], skel * 20])
            case.note(f"skeletons with {len(doc['skeletons'])} frames")
        elif what == "ragged":
            skel[t] = skel[t][: rng.randint(0, 19)]
            case.note(f"ragged frame {t}")
        elif what == "type":
            skel[t] = rng.choice(["frame", 3, None, {"a": 1}])
            case.note(f"frame {t} of wrong type")
        else:
            doc["skeletons"] = skel * rng.randint(10, 40)
            case.note(f"{len(doc['skeletons'])} frames")
    elif op == "deep":
        depth = rng.choice([50, 2000, 100000])
        case.note(f"skeletons nested {depth} deep")
        return json.dumps(
            {**{k: v for k, v in doc.items() if k != "skeletons"}, "skeletons": 0}
        ).replace("0}", "[" * depth + "]" * depth + "}")
    elif op == "toplevel":
        v = rng.choice([[], "x", 3, None, [doc]])
        case.note(f"top level {type(v).__name__}")
        return json.dumps(v)
    text = json.dumps(doc)  # NaN/Infinity allowed, as Python writes them
    if op == "text":
        text = mutate_bytes(case, text.encode(), sep=b",").decode("utf-8", "replace")
    if op == "none":
        case.note("unmutated")
    return text


def case_ucla(case: Case, corpus: Corpus) -> str:
    """Reader level: ``ucla.prepare_file`` on a mutated JSON document."""
    from skelcon.data.ucla import UclaTask, prepare_file

    text = mutate_ucla(case, _ucla_doc(case, corpus))
    path = case.tmp / "a01_s01_e00_v01_skeletons.json"
    path.write_text(text, "utf-8", errors="surrogateescape")
    max_frames = case.rng.choice([300, 300, 16, 1])
    case.note(f"max_frames {max_frames}")
    s = prepare_file(UclaTask(str(path), max_frames))
    return check_sample(s.x, (3, max_frames, 20, 1), s.num_frames, s.label, 10) or "ok"


def case_ucla_prepare(case: Case, corpus: Corpus) -> str:
    """End to end: ``prepare_ucla`` on 1-3 JSON files, some mutated."""
    from skelcon.data.ucla import prepare_ucla

    raw = case.tmp / "raw"
    raw.mkdir()
    for k in range(case.rng.randint(1, 3)):
        doc = _ucla_doc(case, corpus)
        text = mutate_ucla(case, doc) if case.chance(0.6) else json.dumps(doc)
        (raw / f"f{k}.json").write_text(text, "utf-8", errors="surrogateescape")
    strict = case.chance(0.3)
    max_frames = case.rng.choice([300, 16, 1])
    case.note(f"strict={strict} max_frames={max_frames}")
    out = case.tmp / "out"
    case.post = out_after_refusal(out)
    prepare_ucla(raw, out, strict=strict, max_frames=max_frames, progress=False)
    return check_output(out)
