"""Fuzzing every reader (issue 8 item 2): a few hundred hypothesis-driven cases, the
classifier itself, and the concrete inputs the fuzzer found (regressions).

The cases mutate real files from the shared data when present, synthesised ones
otherwise (``skelcon.testing.fuzz.Corpus``); ``bench/fuzz.py`` runs 10,000.
"""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelcon.config import PretrainConfig, load_config
from skelcon.data.imports import prepare_import_npy, prepare_import_pyskl
from skelcon.data.ntu import parse_skeleton
from skelcon.data.safe_pickle import load_restricted
from skelcon.data.ucla import parse_ucla, view_of
from skelcon.errors import DataFormatError, SkelconError
from skelcon.testing import fuzz
from skelcon.testing.fuzz import GOOD, READERS, Corpus, run_case

# cases per reader: reader level cheap, end to end fewer (about 300 in all)
EXAMPLES = {r: (15 if r.endswith("-prepare") or r.startswith("import-") else 35) for r in READERS}


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest) -> Corpus:
    """Real seed files when the shared data are here, synthesised ones otherwise."""
    try:
        shared = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    return Corpus.load(shared)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_fuzz_reader(reader: str, corpus: Corpus, tmp_path: Path) -> None:
    """Every mutated input is prepared, skipped or refused in one line: never a
    traceback, a hang, NaN in the output or an incomplete output directory."""
    seen: list[str] = []

    @settings(max_examples=EXAMPLES[reader], derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def one(seed: int) -> None:
        r = run_case(reader, seed, corpus, limit=20.0, tmp_root=tmp_path)
        seen.append(r.outcome)
        assert r.outcome in GOOD, (
            f"{r.outcome}: reproduce with `bench/fuzz.py --replay {reader}:{seed}`\n"
            f"mutation: {r.mutation}\ndetail: {r.detail}"
        )

    one()
    assert seen and "refused" in seen or reader == "config"  # the mutations do bite
    assert not list(tmp_path.iterdir())  # every case cleaned up its scratch folder


# --------------------------------------------------------------------------- the classifier


def _with_reader(monkeypatch: pytest.MonkeyPatch, fn) -> fuzz.CaseResult:
    monkeypatch.setitem(fuzz.READERS, "fake", lambda case, corpus: fn(case))
    return run_case("fake", 0, Corpus(), limit=0.5)


def test_classifier_flags_every_bad_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    def traceback(case):
        raise ValueError("boom")

    def multiline(case):
        raise SkelconError("two\nlines")

    def hang(case):
        time.sleep(5)
        return "ok"

    assert _with_reader(monkeypatch, traceback).outcome == "TRACEBACK"
    assert _with_reader(monkeypatch, multiline).outcome == "multiline"
    assert _with_reader(monkeypatch, hang).outcome == "hang"
    assert _with_reader(monkeypatch, lambda c: "NaN").outcome == "NaN"
    r = _with_reader(monkeypatch, lambda c: (_ for _ in ()).throw(DataFormatError("bad", "f", 3)))
    assert (r.outcome, r.detail) == ("refused", "f:3: bad")


def test_check_output_detects_incomplete_and_nan(tmp_path: Path) -> None:
    from skelcon.data.prepared import PreparedWriter

    def write(out: Path, x: np.ndarray) -> Path:
        w = PreparedWriter(out, dataset="t", layout="ntu25", classes=["a"], capacity=1,
                           max_frames=4, num_persons=1)  # fmt: skip
        w.add(x, 0, 4, "s0")
        return w.finalize({"default": {"train": [0]}})

    good = write(tmp_path / "good", np.ones((3, 4, 25, 1), np.float32))
    assert fuzz.check_output(good) == "ok"
    bad = np.ones((3, 4, 25, 1), np.float32)
    bad[0, 0, 0, 0] = np.nan
    assert fuzz.check_output(write(tmp_path / "nan", bad)) == "NaN"
    (good / "labels.npy").unlink()
    assert fuzz.check_output(good).startswith("incomplete-output")
    meta = json.loads((tmp_path / "nan" / "meta.json").read_text())
    meta["shape"][0] = 2
    (tmp_path / "nan" / "meta.json").write_text(json.dumps(meta))
    assert fuzz.check_output(tmp_path / "nan").startswith("incomplete-output")


def test_bench_table_and_exit_status(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_fuzz", Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--cases", "11", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "11 cases in" in out and "TRACEBACK" in out and "no bad outcomes" in out
    monkeypatch.setitem(fuzz.READERS, "config", lambda case, corpus: "NaN")
    assert bench.main(["--cases", "11", "--jobs", "1", "--readers", "config"]) == 1
    assert "--replay config:" in capsys.readouterr().out


# --------------------------------------------------------------------------- regressions


def test_ntu_over_long_count_refused() -> None:
    with pytest.raises(DataFormatError, match="too large"):
        parse_skeleton(b"1" * 5000 + b"\n1\n")


def test_ucla_deep_json_and_long_ints_refused() -> None:
    deep = '{"label": 1, "skeletons": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(DataFormatError, match="nested too deeply"):
        parse_ucla(deep)
    with pytest.raises(DataFormatError, match="invalid JSON"):
        parse_ucla('{"label": ' + "1" * 5000 + ', "skeletons": []}')
    with pytest.raises(DataFormatError, match="numeric"):
        parse_ucla(json.dumps({"label": 1, "skeletons": [[[10**400, 0, 0]] * 20]}))
    assert view_of("a_v" + "1" * 5000) is None and view_of("a01_s01_e00_v03") == 3


def test_ucla_overflowing_coordinates_refused(tmp_path: Path) -> None:
    from skelcon.data.ucla import UclaTask, prepare_file

    skel = [[[3.3e38 * (-1) ** j, 1.0, 2.0] for j in range(20)]] * 3
    p = tmp_path / "a01_s01_e00_v01.json"
    p.write_text(json.dumps({"file_name": "a01_s01_e00_v01", "skeletons": skel, "label": 1}))
    with pytest.raises(DataFormatError, match="too large to normalise"):
        prepare_file(UclaTask(str(p), 8))


@pytest.mark.parametrize(
    "overrides",
    [["optim.lr=.nan"], ["augment.shear_magnitude=.inf"], ["epochs=" + "1" * 5000],
     ["moco.dim=" + "[" * 2000], ["optim.gamma=1" + "0" * 400]],
)  # fmt: skip
def test_config_overrides_refused_in_one_line(overrides: list[str]) -> None:
    with pytest.raises(SkelconError) as e:
        load_config(PretrainConfig, None, overrides).validate()
    assert "\n" not in str(e.value)


def test_config_file_bad_utf8_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_bytes(b"epochs: 3\nseed: \xf6\n")  # was a UnicodeDecodeError traceback
    with pytest.raises(SkelconError) as e:
        load_config(PretrainConfig, p)
    assert "seed" in str(e.value) and "\n" not in str(e.value)


def test_pickle_huge_memo_index_loads_quickly(tmp_path: Path) -> None:
    """The C unpickler sized its memo from this index: gigabytes, uninterruptible."""
    p = tmp_path / "a.pkl"
    p.write_bytes(b"(lr\x75\x6e\x0a\x49.")  # MARK LIST, LONG_BINPUT 1225418101, STOP
    t0 = time.perf_counter()
    assert load_restricted(p, allow_numpy=True) == []
    assert time.perf_counter() - t0 < 5


def test_pyskl_huge_label_and_newline_frame_dir(tmp_path: Path) -> None:
    kp = np.ones((1, 4, 25, 3), np.float32)
    anns = [{"frame_dir": "ok", "label": 0, "keypoint": kp},
            {"frame_dir": "a\nb", "label": 10**19, "keypoint": kp}]  # fmt: skip
    p = tmp_path / "a.pkl"
    p.write_bytes(pickle.dumps({"annotations": anns}))
    out = prepare_import_pyskl(p, tmp_path / "out", progress=False)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["counts"]["samples"] == 1
    (reason,) = [s["reason"] for s in meta["skipped"]]
    assert "'a\\nb'" in reason and "\n" not in reason


def test_npy_damaged_header_and_zero_persons_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    np.save(raw / "train_data_joint.npy", np.zeros((2, 3, 4, 25, 0), np.float32))
    (raw / "train_label.pkl").write_bytes(pickle.dumps((["a", "b"], [0, 1])))
    with pytest.raises(SkelconError, match="must be >= 1"):
        prepare_import_npy(raw, tmp_path / "out", normalize_data=True, progress=False)
    np.save(raw / "train_data_joint.npy", np.zeros((2, 3, 4, 25, 1), np.float32))
    np.save(raw / "train_num_frame.npy", np.array([2.5, 3.0]))
    with pytest.raises(SkelconError, match="whole frame counts"):
        prepare_import_npy(raw, tmp_path / "out", progress=False)
    data = (raw / "train_data_joint.npy").read_bytes()
    (raw / "train_data_joint.npy").write_bytes(data[:20] + b"(" + data[21:])
    with pytest.raises(SkelconError, match="cannot read"):
        prepare_import_npy(raw, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_pickle_refusal_of_damaged_global_name_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "a.pkl"
    p.write_bytes(b"cnumpy._core.multiarray\r._reconstruct\r\n.")
    with pytest.raises(SkelconError, match="refusing to load global") as e:
        load_restricted(p, allow_numpy=True)
    assert "\r" not in str(e.value) and "\n" not in str(e.value)


def test_issue17_kinds_bombs_refused_fast_and_silence_detected(tmp_path):
    """Every pickle-bomb shape the fuzzer writes is refused, never hangs (a generous
    bound for a loaded CI machine: refusals take well under a second idle), and the
    checker calls a packed score read as z ``silent``."""
    import random

    from skelcon.data.imports import prepare_import_pyskl
    from skelcon.data.safe_pickle import load_label_pickle
    from skelcon.testing.fuzz import Case, _expect_check, pickle_bomb

    shapes = set()
    for seed in range(40):
        case = Case(random.Random(seed), tmp_path)
        what, bomb = pickle_bomb(case)
        shapes.add(what.split()[1] if what[0].isdigit() else what.split()[0])
        p = tmp_path / "b.pkl"
        p.write_bytes(bomb if isinstance(bomb, bytes) else pickle.dumps(bomb, protocol=4))
        t0 = time.perf_counter()
        with pytest.raises(SkelconError):
            load_label_pickle(p)
        assert time.perf_counter() - t0 < 15.0, what  # a hang guard, not a timing
    assert len(shapes) >= 6
    rng = np.random.default_rng(0)
    anns = [{"frame_dir": "a", "label": 0, "total_frames": 4,
             "keypoint": rng.uniform(0, 1, (1, 4, 17, 3)).astype(np.float32)}]  # fmt: skip
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": anns}))
    prepare_import_pyskl(tmp_path / "p.pkl", tmp_path / "z", layout="coco17",
                         channels=["x", "y", "z"], progress=False)  # fmt: skip
    assert _expect_check(tmp_path / "z", {"channels": ["x", "y", "score"]}).startswith("silent")
    assert _expect_check(tmp_path / "z", {"channels": ["x", "y", "z"]}) == "ok"
