"""NW-UCLA: hand-made JSON sequences prepared end to end, split by view; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.data.layouts import KINECT20
from skelcon.data.normalize import normalize
from skelcon.data.prepared import load_prepared, read_meta
from skelcon.data.ucla import CLASSES, parse_ucla, view_of
from skelcon.errors import DataFormatError


def _skeleton(t: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.2, size=(t, 20, 3)) + [0.0, 0.0, 3.0]
    return np.round(x, 5).tolist()


def _write(d: Path, name: str, label: int, t: int, seed: int) -> dict:
    doc = {"file_name": name, "skeletons": _skeleton(t, seed), "label": label}
    (d / f"{name}_skeletons.json").write_text(json.dumps(doc))
    return doc


@pytest.fixture
def ucla(tmp_path: Path) -> dict:
    """2 classes x 3 views x 2 subjects (one view-3 file in a sub-folder)."""
    raw = tmp_path / "all_sqe"
    (raw / "sub").mkdir(parents=True)
    docs = {}
    seed = 0
    for action, label in (("a01", 1), ("a06", 5)):
        for subject in (1, 2):
            for view in (1, 2, 3):
                name = f"{action}_s{subject:02d}_e00_v{view:02d}"
                d = raw / "sub" if (view == 3 and subject == 2) else raw
                docs[name] = _write(d, name, label, 8 + 3 * seed, seed)
                seed += 1
    return {"raw": raw, "docs": docs, "out": tmp_path / "out"}


def test_prepare_end_to_end_split_by_view(ucla):
    assert main(["prepare", "nw-ucla", "--raw", str(ucla["raw"]), "--out", str(ucla["out"])]) == 0
    meta = read_meta(ucla["out"])
    assert meta["layout"] == "kinect20" and meta["dataset"] == "nw-ucla"
    assert meta["shape"] == [12, 3, 300, 20, 1] and meta["num_persons"] == 1
    assert meta["classes"] == list(CLASSES) and len(CLASSES) == 10
    assert list(meta["benchmarks"]) == ["xview"]
    tr = load_prepared(ucla["out"], "xview", "train")
    te = load_prepared(ucla["out"], "xview", "test")
    assert sorted(tr.names) == sorted(n for n in ucla["docs"] if not n.endswith("_v03"))
    assert sorted(te.names) == sorted(n for n in ucla["docs"] if n.endswith("_v03"))
    for split in (tr, te):
        for i, name in enumerate(split.names):
            doc = ucla["docs"][name]
            t = len(doc["skeletons"])
            assert split.labels[i] == doc["label"] - 1
            assert split.num_frames[i] == t
            x = np.asarray(doc["skeletons"], dtype=np.float32).transpose(2, 0, 1)[..., None]
            np.testing.assert_allclose(split.data[i], normalize(x, 300, KINECT20), atol=1e-6)
            # centred on joint 1 (spine) in every valid frame, real values elsewhere
            assert np.abs(split.data[i][:, :t, 1, 0]).max() == 0
            assert np.abs(split.data[i][:, :t, 0, 0]).min() > 0


def test_long_sequences_are_subsampled(ucla):
    assert (
        main(
            [
                "prepare",
                "nw-ucla",
                "--raw",
                str(ucla["raw"]),
                "--out",
                str(ucla["out"]),
                "--max-frames",
                "10",
            ]
        )
        == 0
    )
    meta = read_meta(ucla["out"])
    longer = sorted(n for n, d in ucla["docs"].items() if len(d["skeletons"]) > 10)
    assert sorted(r["name"] for r in meta["resampled"]) == longer
    te = load_prepared(ucla["out"], "xview", "test")
    assert set(te.num_frames.tolist()) <= set(range(1, 11))


def test_view_of():
    assert view_of("a01_s01_e00_v03") == 3 and view_of("a01_s01_e00") is None


def _bad_files(raw: Path) -> list[tuple[str, int | None, str]]:
    cases = []
    p = raw / "a01_s09_e00_v01.json"
    p.write_text('{\n  "file_name": "a01_s09_e00_v01",\n  "skeletons": [[[1, 2, 3]]],,\n}\n')
    cases.append((str(p), 3, "invalid JSON: Expecting property name enclosed in double quotes"))
    p = raw / "a01_s09_e01_v01.json"
    p.write_text(
        json.dumps(
            {"file_name": "a01_s09_e01_v01", "label": 1, "skeletons": np.zeros((5, 19, 3)).tolist()}
        )
    )
    cases.append((str(p), None, "skeletons has shape [5, 19, 3], expected [T][20][3]"))
    p = raw / "a01_s09_e02_v01.json"
    p.write_text(
        json.dumps({"file_name": "a01_s09_e02_v01", "label": 11, "skeletons": _skeleton(4, 0)})
    )
    cases.append((str(p), None, "label 11 outside 1..10"))
    p = raw / "a01_s09_e03_v01.json"
    p.write_text(json.dumps({"file_name": "a01_s09_e03_v01", "label": 2, "skeletons": []}))
    cases.append((str(p), None, "sequence has no frames"))
    p = raw / "a01_s09_e04_v01.json"
    p.write_text(json.dumps({"file_name": "a01_s09_e04_v01", "label": 2}))
    cases.append((str(p), None, "missing key 'skeletons'"))
    p = raw / "a01_s09_e05_v04.json"
    p.write_text(
        json.dumps({"file_name": "a01_s09_e05_v04", "label": 2, "skeletons": _skeleton(4, 1)})
    )
    cases.append((str(p), None, "file_name 'a01_s09_e05_v04' has no view suffix _v01.._v03"))
    p = raw / "a01_s09_e06_v01.json"
    sk = _skeleton(4, 2)
    sk[2][5][1] = float("nan")
    p.write_text(json.dumps({"file_name": "a01_s09_e06_v01", "label": 2, "skeletons": sk}))
    cases.append((str(p), None, "non-finite coordinate in frame 2"))
    return cases


def test_bad_input_skipped_with_file_and_line(ucla, capsys):
    cases = _bad_files(ucla["raw"])
    assert main(["prepare", "nw-ucla", "--raw", str(ucla["raw"]), "--out", str(ucla["out"])]) == 0
    err = capsys.readouterr().err
    meta = read_meta(ucla["out"])
    reasons = {s["reason"] for s in meta["skipped"]}
    for path, line, reason in cases:
        msg = f"{path}:{line}: {reason}" if line else f"{path}: {reason}"
        assert f"skipped {msg}" in err
        assert msg in reasons
    assert meta["counts"]["samples"] == 12 and meta["counts"]["skipped"] == len(cases)


@pytest.mark.parametrize("k", range(7))
def test_strict_exit_2_one_line(tmp_path, capsys, k):
    raw = tmp_path / "raw"
    raw.mkdir()
    path, line, reason = _bad_files(raw)[k]
    for p in raw.iterdir():
        if str(p) != path:
            p.unlink()
    _write(raw, "a01_s01_e00_v01", 1, 5, 0)
    rc = main(["prepare", "nw-ucla", "--raw", str(raw), "--out", str(tmp_path / "o"), "--strict"])
    assert rc == 2
    err = capsys.readouterr().err
    want = f"{path}:{line}: {reason}" if line else f"{path}: {reason}"
    assert "Traceback" not in err and err.strip().splitlines()[-1] == f"skelcon: error: {want}"
    assert not (tmp_path / "o").exists()


def test_parse_ucla_rejects_non_object():
    with pytest.raises(DataFormatError, match="expected a JSON object"):
        parse_ucla("[1, 2]", "x.json")
