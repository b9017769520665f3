"""The fuzz readers of one's own data (``tests/fuzz/cases_owndata.py``) can fail: each
reports ``silent`` when the reader under test accepts wrong data without a word."""

from __future__ import annotations

import numpy as np
from fuzz import BAD, Corpus, run_case

from skelcon.data.clips import MISSING_ENCODINGS

NONE_COUNTED = dict.fromkeys(MISSING_ENCODINGS, 0)
# cases known to build each kind (a ',' file of decimal commas with --channels, a header
# of column numbers, a hard link), so the tests stay short
SEEDS_DECIMAL = range(55, 80)
SEEDS_HEADER = range(5, 30)
SEEDS_HARDLINK = range(5)


def _outcomes(reader: str, seeds, tmp_path) -> list[str]:
    """The outcomes of ``reader``'s cases ``seeds`` (an int n: seeds 0..n-1)."""
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    return [run_case(reader, s, Corpus(), tmp_root=tmp_path).outcome for s in seeds]


def test_silent_is_a_bad_outcome():
    assert "silent" in BAD


def test_missing_joints_stored_as_real_ones_are_silent(monkeypatch, tmp_path):
    monkeypatch.setattr(
        "skelcon.data.folder.mark_missing",
        lambda kp, ch: (np.nan_to_num(kp, nan=5.0), NONE_COUNTED),
    )
    assert "silent" in _outcomes("missing-joints", 12, tmp_path)
    assert "silent" in _outcomes("openpose-prepare", 4, tmp_path)


def test_a_file_read_twice_is_silent(monkeypatch, tmp_path):
    monkeypatch.setattr("skelcon.data.files.dedupe_files", lambda files, raw, unused: files)
    assert "silent" in _outcomes("folder-tree-prepare", range(12, 16), tmp_path)


def test_axes_read_in_another_order_are_silent(monkeypatch, tmp_path):
    monkeypatch.setattr(
        "skelcon.data.folder._axis_order", lambda shape, v, c: (tuple(range(len(shape))), "")
    )
    assert "silent" in _outcomes("axes", 20, tmp_path)


def test_decimal_commas_cut_are_silent(monkeypatch, tmp_path):
    from skelcon.data import folder

    real = folder._floats

    def cut(rows, lines, decimal_comma, path):  # "1,5" read as 1: a number not in the file
        return real([[f.split(",")[0] for f in r] for r in rows], lines, False, path)

    monkeypatch.setattr(folder, "_floats", cut)
    assert "silent" in _outcomes("csv-locale", 30, tmp_path)


def test_comma_separated_decimal_commas_read_are_silent(monkeypatch, tmp_path):
    # the old reader: a ',' file of whole numbers in pairs taken as twice the values
    monkeypatch.setattr("skelcon.data.folder._split_decimals", lambda s, fits, path: None)
    assert "silent" in _outcomes("csv-locale", SEEDS_DECIMAL, tmp_path)


def test_numeric_header_read_as_a_frame_is_silent(monkeypatch, tmp_path):
    from skelcon.data import folder

    def old(fields, decimal_comma):  # the old reader: only a line without numbers
        return "" if any(folder._numeric(f, decimal_comma) for f in fields) else "names"

    monkeypatch.setattr(folder, "_header_kind", old)
    assert "silent" in _outcomes("csv-locale", SEEDS_HEADER, tmp_path)


def test_a_hard_linked_file_read_twice_is_silent(monkeypatch, tmp_path):
    import os

    monkeypatch.setattr("skelcon.data.files.file_key", os.path.realpath)  # symlinks only
    assert "silent" in _outcomes("folder-tree-prepare", SEEDS_HARDLINK, tmp_path)


def _old_kinetics_scan(raw):
    """The walk before the folder rules: every kinetics_*/*.json, nothing listed."""
    return {f: sorted((raw / f).glob("*.json")) for f in ("kinetics_train", "kinetics_val")}, []


KINETICS_FILE_SEEDS = (7, 11, 14, 21)  # kinetics-prepare cases of the kinds extras, leak


def test_kinetics_links_and_extra_files_are_silent_without_the_folder_rules(monkeypatch, tmp_path):
    assert "silent" not in _outcomes("kinetics-prepare", KINETICS_FILE_SEEDS, tmp_path)
    monkeypatch.setattr("skelcon.data.kinetics.scan_kinetics", _old_kinetics_scan)
    assert "silent" in _outcomes("kinetics-prepare", KINETICS_FILE_SEEDS, tmp_path)


NPY_ORDER_SEEDS = (16, 25, 35)  # import-npy cases of the nmtvc kind


def test_npy_in_pyskl_order_read_as_standard_is_silent(monkeypatch, tmp_path):
    assert "silent" not in _outcomes("import-npy", NPY_ORDER_SEEDS, tmp_path)
    monkeypatch.setattr("skelcon.data.imports.npy_axis_order", lambda *a, **k: ("NCTVM", ""))
    assert "silent" in _outcomes("import-npy", NPY_ORDER_SEEDS, tmp_path)
