"""The restricted unpickler reads every way numpy and Python 2/3 pickle plain arrays and
scalars (protocols 0-5) and still resolves nothing else."""

from __future__ import annotations

import io
import os
import pickle
import tracemalloc

import numpy as np
import pytest

from skelcon.data.safe_pickle import (
    RestrictedUnpickler,
    load_label_pickle,
    load_restricted,
)
from skelcon.errors import SkelconError

ARRAYS = [
    np.zeros(0, np.float32),
    np.zeros((0, 8, 25, 3), np.float32),  # the 0-person PYSKL keypoint
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2],  # a non-contiguous view
    np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    np.array([1.5, -2.0], dtype=">f8"),  # big-endian
    np.array([True, False]),
    np.array([0, 255], dtype=np.uint8),
    np.array([1 + 2j], dtype=np.complex64),
    np.array(["ab", "c"]),
    np.array(3.5),  # 0-d
]
SCALARS = [
    np.int64(3),
    np.int32(-1),
    np.float32(0.25),
    np.float64(1e-4),
    np.bool_(True),
    np.uint8(7),
    np.str_("S001C001P001R001A001"),
]


def _load(data: bytes):
    return RestrictedUnpickler(io.BytesIO(data), allow_numpy=True).load()


@pytest.mark.parametrize("protocol", range(6))
def test_every_protocol_reads_arrays_scalars_and_bytes(protocol):
    obj = {"arrays": ARRAYS, "scalars": SCALARS, "bytes": [b"", b"\x00\xffab"], "n": [1, 2.0]}
    data = pickle.dumps(obj, protocol=protocol)
    got, stock = _load(data), pickle.loads(data)  # the stock unpickler is the oracle
    for a, b, c in zip(ARRAYS, got["arrays"], stock["arrays"], strict=True):
        assert b.dtype == c.dtype and a.shape == b.shape and np.array_equal(a, b)
    for a, b in zip(SCALARS, got["scalars"], strict=True):
        assert type(a) is type(b) and a == b
    assert got["bytes"] == [b"", b"\x00\xffab"] and got["n"] == [1, 2.0]


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_numpy_1_module_names(protocol):
    """Pickles written by numpy < 2 name ``numpy.core`` instead of ``numpy._core``."""
    data = pickle.dumps([ARRAYS[2], np.int64(5)], protocol=protocol)
    old = data.replace(b"numpy._core", b"numpy.core")
    assert old != data
    got = _load(old)
    assert np.array_equal(got[0], ARRAYS[2]) and got[1] == 5


def test_python2_pickle_with_str_buffers():
    """A Python 2 pickle of ``[np.int64(3), np.arange(2.0)]`` (protocol 2, str buffers)."""
    i8 = (
        b"cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nU\x02i8K\x00K\x01\x87R"
        b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbU\x08"
        + (3).to_bytes(8, "little")
        + b"\x86R"
    )
    arr = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01K\x02\x85cnumpy\ndtype\nU\x02f8K\x00K\x01\x87R"
        b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x10"
        + np.arange(2.0).astype("<f8").tobytes()
        + b"tb"
    )
    got = _load(b"\x80\x02]q\x00(" + i8 + arr + b"e.")
    assert got[0] == 3 and got[0].dtype == np.int64
    assert np.array_equal(got[1], [0.0, 1.0])


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize(
    "obj",
    [
        _Evil(),
        np.array([1, "a"], dtype=object),
        np.ma.masked_array([1, 2]),  # an ndarray subclass
    ],
    ids=["os.system", "object-array", "ndarray-subclass"],
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_anything_else_is_refused(tmp_path, obj, protocol):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps(obj, protocol=protocol))
    with pytest.raises(SkelconError) as e:
        load_restricted(p, allow_numpy=True)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_bytes_with_arguments_refused():
    data = b"\x80\x02c__builtin__\nbytes\nK\x05\x85R."  # bytes(5)
    with pytest.raises(pickle.UnpicklingError, match="only without arguments"):
        _load(data)


# ---------------------------------------------------------------- bounded time and memory


def _bomb_doc(depth: int = 40) -> list:
    inner: list = [0]
    for _ in range(depth):
        inner = [inner, inner, inner]  # memo references: 3**depth paths in a tiny file
    return inner


def _refused_fast(path, allow_numpy: bool = True, match: str = "") -> str:
    tracemalloc.start()  # a bomb expanded (3**depth references) would need far more
    try:
        with pytest.raises(SkelconError) as e:
            load_restricted(path, allow_numpy=allow_numpy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and match in msg
    return msg


@pytest.mark.parametrize("kind", ["lists", "tuples", "dicts"])
def test_shared_reference_bomb_refused_in_linear_time(tmp_path, kind):
    """Shared references are walked once, and a structure that unfolds into far more
    items than the pickle holds is refused as too large (the 403-byte bomb: 3**40
    items from 121 links), wherever it sits (here in one annotation's keypoint)."""
    x: object = 0
    for _ in range(30):
        x = [x, x, x] if kind == "lists" else (x, x, x) if kind == "tuples" else {"a": x, "b": x}
    p = tmp_path / "b.pkl"
    p.write_bytes(pickle.dumps({"annotations": [{"frame_dir": "v", "keypoint": x}]}, protocol=4))
    msg = _refused_fast(p, match="pickle refused as too large")
    assert "a pickle bomb" in msg and len(msg) < 400


def test_shared_references_of_real_files_load(tmp_path):
    """What real files share (one img_shape tuple, one annotation dict listed twice)
    is far below the bound: they load."""
    shape = (1080, 1920)
    ann = {"frame_dir": "v", "keypoint": np.zeros((1, 4, 17, 2), np.float32), "img_shape": shape}
    anns = [{**ann, "frame_dir": f"v{i}"} for i in range(5000)] + [ann, ann]
    p = tmp_path / "ok.pkl"
    p.write_bytes(pickle.dumps({"annotations": anns}, protocol=4))
    assert len(load_restricted(p, allow_numpy=True)["annotations"]) == 5002


def test_handed_bomb_pickles(shared_cases):
    case = shared_cases / "s3" / "17-pickle-shared-reference-bomb"
    for name in ("bomb_pyskl.pkl", "bomb_label.pkl"):
        _refused_fast(case / name, match="pickle refused as too large")
    with pytest.raises(SkelconError, match="pickle refused as too large") as e:
        load_label_pickle(case / "bomb_label.pkl")
    assert len(str(e.value)) < 400 and "bomb_label.pkl" in str(e.value)


def test_colliding_dict_keys_refused(tmp_path):
    """Ints sharing one hash (k * (2**61 - 1)) make each dict insertion scan every
    earlier key: 20,000 of them would take minutes."""
    keys = b"".join(pickle.dumps(k * (2**61 - 1), 2)[2:-1] + b"K\x00" for k in range(1, 20_000))
    p = tmp_path / "c.pkl"
    p.write_bytes(b"\x80\x02}(" + keys + b"u.")
    _refused_fast(p, match="dict or set key")
    p.write_bytes(b"\x80\x04(" + keys.replace(b"K\x00", b"") + b"\x91.")  # a frozenset
    _refused_fast(p, allow_numpy=False, match="dict or set key")


def test_ordinary_keys_still_load(tmp_path):
    p = tmp_path / "k.pkl"
    doc = {"a": 1, b"b": 2, 3: [4], None: 5, True: 6, -(2**59): 7}
    for protocol in (0, 4):
        p.write_bytes(pickle.dumps(doc, protocol=protocol))
        assert load_restricted(p, allow_numpy=True) == doc


def test_ndarray_cannot_be_called_and_reconstruct_shape_is_bounded(tmp_path):
    p = tmp_path / "n.pkl"
    # numpy.ndarray((10**12,)) through REDUCE would allocate 8 TB
    p.write_bytes(b"\x80\x02cnumpy\nndarray\nJ\x00\x10\xa5\xd4\x85R.")
    _refused_fast(p)
    p.write_bytes(b"\x80\x02cnumpy\nndarray\n\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85\x81.")  # NEWOBJ
    _refused_fast(p)
    p.write_bytes(
        b"\x80\x02cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        b"J\x00\xca\x9a;\x85U\x01b\x87R."
    )
    _refused_fast(p, match="_reconstruct with shape")


def test_deep_nesting_refused_without_recursion(tmp_path):
    p = tmp_path / "d.pkl"
    p.write_bytes(b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".")
    _refused_fast(p, allow_numpy=False, match="nests deeper than 64")
