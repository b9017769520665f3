"""One tolerant text decoder and field parser behind every reader: a byte-order mark
and any line ending read the same as plain UTF-8 with ``\\n``."""

from __future__ import annotations

import codecs
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skelcon.config import PretrainConfig, load_config
from skelcon.data.imports import read_class_names
from skelcon.data.ntu import load_missing, parse_skeleton
from skelcon.data.pku import load_splits, read_skeleton
from skelcon.data.ucla import UclaTask, prepare_file
from skelcon.errors import DataFormatError
from skelcon.utils.text import decode_text, parse_float, parse_int, split_fields, text_lines


def _variants(text: str) -> dict[str, bytes]:
    """The same text as a user's tools write it."""
    crlf = text.replace("\n", "\r\n")
    return {
        "plain": text.encode(),
        "bom+crlf": codecs.BOM_UTF8 + crlf.encode(),
        "cr": text.replace("\n", "\r").encode(),
        "bom+lf": codecs.BOM_UTF8 + text.encode(),
        "utf16-bom+crlf": codecs.BOM_UTF16_LE + crlf.encode("utf-16-le"),
    }


def test_decode_text_bom_and_line_ends():
    for name, data in _variants("a,1\nb,2\n").items():
        assert decode_text(data) == "a,1\nb,2\n", name
    assert decode_text(b"\xff\xfe") == ""  # a lone UTF-16 BOM: empty
    assert decode_text(b"a\xffb") == "a\ufffdb"  # undecodable -> U+FFFD, the parser reports it
    assert text_lines("x\n\n  y \n") == [(1, "x"), (3, "y")]


def test_split_fields_and_numbers():
    assert split_fields("18,377,423,2,") == ["18", "377", "423", "2"]
    assert split_fields("24\t1200\t1250\t2") == ["24", "1200", "1250", "2"]
    assert split_fields(" 21, 596, 666, 2 ") == ["21", "596", "666", "2"]
    assert split_fields("1; 2 ;3") == ["1", "2", "3"]
    assert parse_int("12") == 12 and parse_int("+3") == 3 and parse_int("1.2e1") == 12
    assert parse_float("1e-4") == 1e-4 and parse_float("5E-2") == 0.05 and parse_float(".5") == 0.5
    with pytest.raises(DataFormatError, match=r"^f.txt:3: start frame '1.5' is not an integer$"):
        parse_int("1.5", "start frame", "f.txt", 3)
    with pytest.raises(DataFormatError, match=r"^f.txt:2: confidence 'x' is not a number$"):
        parse_float("x", "confidence", "f.txt", 2)
    with pytest.raises(DataFormatError, match="not a finite number"):
        parse_float("nan", "lr")
    assert parse_float("inf", "x", finite=False) == float("inf")


def _each_variant(tmp_path: Path, name: str, text: str, read):
    results = {}
    for kind, data in _variants(text).items():
        p = tmp_path / kind / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        results[kind] = read(p)
    return results


def _same(results: dict) -> None:
    ref = results["plain"]
    for kind, got in results.items():
        if isinstance(ref, np.ndarray):
            np.testing.assert_array_equal(got, ref, err_msg=kind)
        else:
            assert got == ref, kind


def test_every_text_reader_tolerates_bom_and_line_ends(tmp_path):
    _same(
        _each_variant(
            tmp_path, "classes.txt", "walk\nrun\nsit down\n", lambda p: read_class_names(p, 3)
        )
    )
    _same(
        _each_variant(
            tmp_path, "missing.txt", "S001C002P005R002A008\nS001C002P006R001A008\n", load_missing
        )
    )
    _same(
        _each_variant(
            tmp_path,
            "cfg.yaml",
            "epochs: 3\noptim:\n  lr: 1e-4\n",
            lambda p: load_config(PretrainConfig, p, []),
        )
    )
    cfg = load_config(PretrainConfig, tmp_path / "bom+crlf" / "cfg.yaml", [])
    assert cfg.epochs == 3 and cfg.optim.lr == 1e-4

    split = "Training videos: \n0002-L, 0002-M,\n0003-R\nValidataion videos: \n0004-L, 0004-M\n"

    def splits(p: Path) -> dict:
        (p.parent / "cross-subject.txt").write_bytes(p.read_bytes())
        b = load_splits("pku-mmd1", p.parent)["xsub"]
        return {"train": b["train"], "test": b["test"]}

    res = _each_variant(tmp_path, "split-src.txt", split, splits)
    _same(res)
    assert res["plain"] == {"train": {"0002-L", "0002-M", "0003-R"}, "test": {"0004-L", "0004-M"}}

    rows = np.round(np.random.default_rng(0).normal(size=(4, 150)), 4)
    pku = "".join(" ".join(f"{v:.4f}" for v in r) + "\n" for r in rows)
    res = _each_variant(tmp_path, "0002-L.txt", pku, read_skeleton)
    _same(res)
    np.testing.assert_allclose(res["plain"], rows, atol=1e-6)

    skel = np.round(np.random.default_rng(1).normal(size=(5, 20, 3)), 4).tolist()
    doc = json.dumps({"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": skel}, indent=1)
    _same(
        _each_variant(
            tmp_path,
            "a01_s01_e00_v01_skeletons.json",
            doc,
            lambda p: prepare_file(UclaTask(str(p), 300)).x,
        )
    )


def test_ntu_skeleton_bytes_with_bom_and_line_ends(shared_data: Path):
    with zipfile.ZipFile(shared_data / "ntu" / "nturgbd_skeletons_s001_to_s017.zip") as zf:
        member = next(n for n in zf.namelist() if n.endswith(".skeleton"))
        data = zf.read(member)
    text = data.decode().replace("\r\n", "\n")
    ref, t = parse_skeleton(text.encode(), member)
    for kind, variant in _variants(text).items():
        if kind.startswith("utf16"):
            continue  # .skeleton files are ASCII; the byte parser reads UTF-8 / ASCII only
        got, t2 = parse_skeleton(variant, member)
        assert t2 == t, kind
        np.testing.assert_array_equal(got, ref, err_msg=kind)
