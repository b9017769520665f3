"""Fuzzing every reader: a few hundred seeded mutation cases per run (the harness in
``tests/fuzz``), hypothesis-generated inputs fed to the readers, the classifier itself,
and the concrete inputs the fuzzer found (regressions).

The seeded cases mutate real files from the shared data when present, synthesised
ones otherwise (``fuzz.Corpus``); ``bench/fuzz.py`` runs 10,000 of them.
"""

from __future__ import annotations

import collections
import json
import pickle
import time
import tracemalloc
from pathlib import Path

import fuzz
import numpy as np
import pytest
from fuzz import GOOD, READERS, Corpus, run_case
from fuzz.cases_config import check_config
from fuzz.outcomes import check_output, check_sample, classify, out_after_refusal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skelcon.config import PretrainConfig, load_config
from skelcon.data.imports import prepare_import_npy, prepare_import_pyskl
from skelcon.data.ntu import parse_skeleton
from skelcon.data.safe_pickle import load_restricted
from skelcon.data.ucla import parse_ucla, view_of
from skelcon.errors import DataFormatError, SkelconError

# cases per reader: reader level cheap, end to end fewer (about 600 in all)
CASES = {r: (15 if r.endswith("-prepare") or r.startswith("import-") else 35) for r in READERS}


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
    traceback, a hang, NaN in the output or an incomplete output directory. The
    mutations bite (some inputs are refused) and the unmutated or mildly mutated ones
    are read (some are prepared)."""
    seen: collections.Counter[str] = collections.Counter()
    for seed in range(CASES[reader]):
        r = run_case(reader, seed, corpus, limit=20.0, tmp_root=tmp_path)
        seen[r.outcome] += 1
        assert r.outcome in GOOD, (
            f"{r.outcome}: reproduce with `bench/fuzz.py --replay {reader}:{seed}`\n"
            f"mutation: {r.mutation}\ndetail: {r.detail}"
        )
    assert seen["refused"] > 0, dict(seen)
    assert seen["ok"] + seen["skipped"] > 0, dict(seen)
    assert not list(tmp_path.iterdir())  # every case cleaned up its scratch folder


# ------------------------------------------------------------ hypothesis-generated inputs

HYPOTHESIS = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# what a number field of a text file may hold: numbers of any size, NaN/Inf, junk
NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(width=32).map(str),
    st.integers().map(str),
    st.text(alphabet="0123456789.-+eEnaif ,x", max_size=8),
)


def _read(fn) -> tuple[str, str]:
    """``fn`` run under the harness's classifier and time limit: ``(outcome, detail)``."""
    return classify(fn, 20.0)


@st.composite
def ntu_texts(draw: st.DrawFn) -> bytes:
    """An NTU ``.skeleton`` text: frame, body and joint counts right or off by one or
    junk; joint coordinates any number text; maybe cut short."""
    frames = draw(st.integers(0, 3))
    count = st.one_of(st.integers(-1, 27).map(str), st.sampled_from(["", "x", "1e3", "2.0"]))
    lines = [str(frames) if draw(st.booleans()) else draw(count)]
    for _ in range(frames):
        bodies = draw(st.integers(0, 2))
        lines.append(str(bodies))
        for b in range(bodies):
            lines.append(f"7205759403793110{b} 0 1 1 1 1 0 0.02764709 0.05745083 2")
            joints = draw(st.sampled_from([25, 25, 25, 24, 26, 0]))
            lines.append(str(joints))
            for _ in range(min(joints, 25)):
                x, y, z = draw(NUMBER_TEXT), draw(NUMBER_TEXT), draw(NUMBER_TEXT)
                lines.append(f"{x} {y} {z} 277.4 191.8 1036.2 519.1 0 0 0 0 2")
    data = ("\n".join(lines) + "\n").encode()
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


@HYPOTHESIS
@given(text=ntu_texts(), max_frames=st.sampled_from([300, 8, 1]))
def test_ntu_reader_on_generated_files(text: bytes, max_frames: int, tmp_path_factory) -> None:
    """A generated ``.skeleton`` file is prepared into a finite sample of the documented
    shape or refused in one line."""
    from skelcon.data.ntu import NtuTask, prepare_sample

    path = tmp_path_factory.mktemp("ntu") / "S001C001P001R001A007.skeleton"
    path.write_bytes(text)

    def read() -> str:
        s = prepare_sample(NtuTask(path.stem, str(path), None, max_frames))
        assert s.label == 6
        return check_sample(s.x, (3, max_frames, 25, 2), s.num_frames, s.label, 120) or "ok"

    outcome, detail = _read(read)
    assert outcome in GOOD, (outcome, detail)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=20,
)
COORD = st.one_of(st.floats(-10, 10), st.floats(), st.integers(), JSON)


@st.composite
def ucla_docs(draw: st.DrawFn) -> str:
    """An NW-UCLA JSON document: right keys, frames of 20 joints of 3 coordinates
    (any JSON values in places), or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(JSON))
    joint = st.lists(COORD, min_size=2, max_size=4) | st.lists(
        st.floats(-5, 5), min_size=3, max_size=3
    )
    frame = st.lists(joint, min_size=19, max_size=21) | JSON
    doc = {
        "file_name": draw(st.sampled_from(["a01_s01_e00_v01", "a03_s02_e01_v02", "x"])),
        "skeletons": draw(st.lists(frame, max_size=6)),
        "label": draw(st.integers(-1, 11) | JSON),
    }
    return json.dumps(doc)


@HYPOTHESIS
@given(text=ucla_docs(), max_frames=st.sampled_from([300, 4, 1]))
def test_ucla_reader_on_generated_documents(text: str, max_frames: int, tmp_path_factory) -> None:
    """A generated NW-UCLA document is prepared into a finite sample or refused in one line."""
    from skelcon.data.ucla import UclaTask, prepare_file

    path = tmp_path_factory.mktemp("ucla") / "a01_s01_e00_v01_skeletons.json"
    path.write_text(text)

    def read() -> str:
        s = prepare_file(UclaTask(str(path), max_frames))
        return check_sample(s.x, (3, max_frames, 20, 1), s.num_frames, s.label, 10) or "ok"

    outcome, detail = _read(read)
    assert outcome in GOOD, (outcome, detail)


@HYPOTHESIS
@given(
    fields=st.lists(NUMBER_TEXT, min_size=0, max_size=6),
    sep=st.sampled_from([",", "\t", " ", ", "]),
)
def test_pku_label_line_on_generated_lines(fields: list[str], sep: str) -> None:
    """A generated label line is refused in one line or gives a class in 1..51 and an
    instance whose start is not after its end."""
    from skelcon.data.pku import parse_label_line

    got = []

    def read() -> str:
        got.append(parse_label_line(sep.join(fields), 1, "<labels>", 51))
        return "ok"

    outcome, detail = _read(read)
    assert outcome in GOOD, (outcome, detail)
    if outcome == "ok":
        (inst,) = got
        assert 1 <= inst.label <= 51 and 0 <= inst.start <= inst.end, inst


@HYPOTHESIS
@given(
    data=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.just(3), st.integers(1, 6), st.just(25), st.integers(1, 2)),
        elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
    ),
    normalize=st.booleans(),
)
def test_import_npy_on_generated_arrays(
    data: np.ndarray, normalize: bool, tmp_path_factory
) -> None:
    """Generated ``(N, 3, T, 25, M)`` arrays of any float32 values (NaN, Inf, huge,
    subnormal) are imported into a sound prepared dataset or refused in one line,
    leaving no output behind."""
    root = tmp_path_factory.mktemp("npy")
    raw, out = root / "raw", root / "out"
    raw.mkdir()
    np.save(raw / "train_data_joint.npy", data)
    n = len(data)
    (raw / "train_label.pkl").write_bytes(
        pickle.dumps(([f"s{i}" for i in range(n)], [i % 3 for i in range(n)]))
    )

    def read() -> str:
        prepare_import_npy(raw, out, normalize_data=normalize, progress=False)
        return check_output(out)

    outcome, detail = out_after_refusal(out)(*_read(read))
    assert outcome in GOOD, (outcome, detail)


CONFIG_KEYS = [
    "epochs",
    "seed",
    "optim.lr",
    "optim.momentum",
    "moco.dim",
    "moco.queue_size",
    "moco.temperature",
    "augment.shear_magnitude",
    "representations",
    "batch_size",
]
YAML_VALUE = st.one_of(NUMBER_TEXT, st.text(max_size=12), JSON.map(json.dumps))


@HYPOTHESIS
@given(key=st.sampled_from(CONFIG_KEYS), value=YAML_VALUE)
def test_config_override_on_generated_values(key: str, value: str) -> None:
    """A generated ``--set key=value`` is refused in one line or gives a valid config
    whose every float is finite."""

    def read() -> str:
        cfg = load_config(PretrainConfig, None, [f"{key}={value}"])
        cfg.validate()
        return check_config(cfg) or "ok"

    outcome, detail = _read(read)
    assert outcome in GOOD, (outcome, detail)


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
        w = PreparedWriter(
            out, dataset="t", layout="ntu25", classes=["a"], capacity=1, max_frames=4, num_persons=1
        )
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
    [
        ["optim.lr=.nan"],
        ["augment.shear_magnitude=.inf"],
        ["epochs=" + "1" * 5000],
        ["moco.dim=" + "[" * 2000],
        ["optim.gamma=1" + "0" * 400],
    ],
)
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
    """The C unpickler sized its memo from this index: gigabytes, uninterruptible. The
    load must allocate no more than a few megabytes."""
    p = tmp_path / "a.pkl"
    p.write_bytes(b"(lr\x75\x6e\x0a\x49.")  # MARK LIST, LONG_BINPUT 1225418101, STOP
    tracemalloc.start()
    try:
        assert load_restricted(p, allow_numpy=True) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB allocated"


def test_pyskl_huge_label_and_newline_frame_dir(tmp_path: Path) -> None:
    kp = np.ones((1, 4, 25, 3), np.float32)
    anns = [
        {"frame_dir": "ok", "label": 0, "keypoint": kp},
        {"frame_dir": "a\nb", "label": 10**19, "keypoint": kp},
    ]
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


def test_pickle_bombs_refused_and_silence_detected(tmp_path):
    """Every pickle-bomb shape the fuzzer writes is refused in one line (the harness's
    time limit calls a hang a hang), and the checker calls a packed score read as z
    ``silent``."""
    import random

    from fuzz import Case, expect_check, pickle_bomb

    from skelcon.data.safe_pickle import load_label_pickle

    shapes = set()
    for seed in range(40):
        case = Case(random.Random(seed), tmp_path)
        what, bomb = pickle_bomb(case)
        shapes.add(what.split()[1] if what[0].isdigit() else what.split()[0])
        p = tmp_path / "b.pkl"
        p.write_bytes(bomb if isinstance(bomb, bytes) else pickle.dumps(bomb, protocol=4))
        outcome, detail = classify(lambda p=p: load_label_pickle(p), 60.0)
        assert outcome == "refused", (what, outcome, detail)
    assert len(shapes) >= 6
    rng = np.random.default_rng(0)
    anns = [
        {
            "frame_dir": "a",
            "label": 0,
            "total_frames": 4,
            "keypoint": rng.uniform(0, 1, (1, 4, 17, 3)).astype(np.float32),
        }
    ]
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"annotations": anns}))
    prepare_import_pyskl(
        tmp_path / "p.pkl",
        tmp_path / "z",
        layout="coco17",
        channels=["x", "y", "z"],
        progress=False,
    )
    assert expect_check(tmp_path / "z", {"channels": ["x", "y", "score"]}).startswith("silent")
    assert expect_check(tmp_path / "z", {"channels": ["x", "y", "z"]}) == "ok"
