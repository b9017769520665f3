"""Reading the pickles other skeleton repositories ship, without running their code.

A pickle can name any importable callable (``os.system`` through ``__reduce__``) and
the stock unpickler calls it. :class:`RestrictedUnpickler` resolves no global at all
by default, which is enough for plain lists, tuples, dicts, str, int and float. With
``allow_numpy=True`` it resolves exactly the callables numpy's own array and scalar
pickles use, each wrapped so that it accepts only plain numeric data:

- ``numpy[._core|.core].multiarray._reconstruct`` (subtype must be ``numpy.ndarray``),
  ``numpy.ndarray``, ``numpy.dtype`` (no object dtypes): arrays, pickle protocols 0-4;
- ``numpy[._core|.core].numeric._frombuffer``: arrays, pickle protocol 5;
- ``numpy[._core|.core].multiarray.scalar``: numpy scalars such as ``np.int64(3)``;
- ``_codecs.encode(text, "latin1")`` and ``__builtin__.bytes()`` / ``builtins.bytes()``
  (no argument): how protocols 0-2 (mmcv's default is 2, so most PYSKL annotation
  files) write non-empty and empty ``bytes``, e.g. the buffer of an empty array; any
  other encoding or argument is refused.

Python 2 pickles (``numpy.core`` names, ``str`` buffers read as latin-1) load too.

Everything else raises, before anything is called, as a one-line
:class:`~skelcon.errors.SkelconError`.

Plain data alone can still be a bomb: a few hundred bytes of memo references
(``[x, x, x]`` nested 40 deep) describe 3**40 paths; dict keys chosen to share one hash
make every insertion scan all earlier keys; ``ndarray.__new__`` with a huge shape
allocates gigabytes. So the work is bounded by the file's size: every opcode builds
at most one object or link (an opcode is at least one byte), dict and set keys must be
``str``, ``bytes``, ``None``, ``bool`` or ints below ``2**60`` (no two share a hash),
``numpy.ndarray`` is a token ``_reconstruct`` accepts but nothing may call, and the
loaded structure is walked once per distinct object (shared references are not
walked again), at most :data:`MAX_NESTING` containers deep, and refused when its
shared references unfold into far more items than it holds (:data:`MAX_UNFOLD`,
:data:`MAX_SHARING`): the structure every later reader would walk as a tree.
"""

from __future__ import annotations

import os
import pickle
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkelconError

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 2, 40, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 4


def short_repr(value: Any) -> str:
    """A bounded, one-line ``repr`` of unpickled data for a message: a value that is a
    shared-reference bomb (``[x, x, x]`` nested 40 deep) would make ``repr`` run for
    ever; this shows at most 2 levels and a few items of each."""
    text = _SHORT.repr(value)
    return text if text.isprintable() else ascii(text)


class _Refused(pickle.UnpicklingError):
    """A global the restricted unpickler will not resolve."""


def _plain_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.hasobject:
        raise _Refused("numpy object arrays are not allowed")
    return dt


def _make_dtype(obj: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(obj, str):
        raise _Refused(f"numpy.dtype({type(obj).__name__}) is not allowed (only dtype strings)")
    dt = np.dtype(obj, align, copy)  # a fresh copy: __setstate__ then sets its byte order
    if dt.hasobject:
        raise _Refused("numpy object arrays are not allowed")
    return dt


_REAL_RECONSTRUCT = np.zeros(0).__reduce__()[0]
MAX_NESTING = 64
"""Containers nested deeper than this in a pickle are refused (PYSKL files nest 4)."""


class _NdarrayToken:
    """What ``numpy.ndarray`` resolves to: ``_reconstruct``'s first argument in numpy's
    own pickles, never called (``ndarray(shape)`` would allocate whatever it names)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "numpy.ndarray"

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise _Refused("calling numpy.ndarray(...) is not allowed (numpy's own pickles never do)")


_NDARRAY = _NdarrayToken()
_REAL_SCALAR = np.float32(0).__reduce__()[0]
_REAL_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not _NDARRAY:
        raise _Refused("only plain numpy.ndarray may be reconstructed")
    if shape not in ((0,), [0], 0):  # numpy writes (0,); BUILD then sets the real shape
        raise _Refused(f"numpy _reconstruct with shape {short_repr(shape)} (numpy writes (0,))")
    return _REAL_RECONSTRUCT(np.ndarray, (0,), dtype)


def _scalar(dtype: Any, data: Any = None) -> Any:
    dt = _plain_dtype(dtype)
    if isinstance(data, str):  # a Python 2 pickle: its str buffer was decoded as latin-1
        data = data.encode("latin1")
    if not isinstance(data, bytes):
        raise _Refused("numpy scalar data must be bytes")
    return _REAL_SCALAR(dt, data)


def _empty_bytes(*args: Any) -> bytes:
    if args:
        raise _Refused("bytes(...) is allowed only without arguments")
    return b""


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    return _REAL_FROMBUFFER(buf, _plain_dtype(dtype), shape, order)


def _codecs_encode(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode is allowed only as encode(str, 'latin1')")
    return text.encode("latin1")


_NUMPY_GLOBALS: dict[tuple[str, str], Any] = {("numpy", "ndarray"): _NDARRAY}
_NUMPY_GLOBALS[("numpy", "dtype")] = _make_dtype
_NUMPY_GLOBALS[("_codecs", "encode")] = _codecs_encode
_NUMPY_GLOBALS[("__builtin__", "bytes")] = _empty_bytes
_NUMPY_GLOBALS[("builtins", "bytes")] = _empty_bytes
for _pkg in ("numpy._core", "numpy.core"):
    _NUMPY_GLOBALS[(f"{_pkg}.multiarray", "_reconstruct")] = _reconstruct
    _NUMPY_GLOBALS[(f"{_pkg}.multiarray", "scalar")] = _scalar
    _NUMPY_GLOBALS[(f"{_pkg}.numeric", "_frombuffer")] = _frombuffer

NUMPY_GLOBALS: frozenset[tuple[str, str]] = frozenset(_NUMPY_GLOBALS)
"""The ``(module, name)`` pairs ``allow_numpy=True`` resolves."""


_MAX_KEY_INT = 2**60


def _check_keys(keys: Any) -> None:
    """Refuse dict/set keys whose hashes an attacker could make collide (module doc)."""
    for k in keys:
        t = type(k)
        if t is str or t is bytes or k is None or t is bool:
            continue
        if t is int and -_MAX_KEY_INT < k < _MAX_KEY_INT:
            continue
        shown = repr(k) if t is not int else f"an int of {k.bit_length()} bits"
        raise _Refused(f"dict or set key {shown[:40]} (only str, bytes and small int keys)")


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An unpickler that resolves no globals, or only numpy's array/scalar ones, and
    whose time and memory grow at most linearly with the pickle's size (module doc).

    Built on the pure-Python unpickler: the C one sizes its memo table from the index
    a ``PUT`` opcode names, so a damaged pickle (``LONG_BINPUT 1225418101``) makes it
    allocate and zero gigabytes in one uninterruptible call (found by fuzzing); the
    Python one keeps the memo in a dict, and its opcode table can be guarded.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def _load_setitem(self) -> None:
        _check_keys(self.stack[-2:-1])
        pickle._Unpickler.load_setitem(self)  # type: ignore[attr-defined]

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        _check_keys(items[0::2])
        d = self.stack[-1]
        for i in range(0, len(items) - 1, 2):
            d[items[i]] = items[i + 1]

    def _load_dict(self) -> None:
        items = self.pop_mark()
        _check_keys(items[0::2])
        self.append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})

    def _load_additems(self) -> None:
        items = self.pop_mark()
        _check_keys(items)
        s = self.stack[-1]
        if not isinstance(s, set):
            raise _Refused("ADDITEMS on something that is not a set")
        s.update(items)

    def _load_frozenset(self) -> None:
        items = self.pop_mark()
        _check_keys(items)
        self.append(frozenset(items))

    def _load_newobj(self) -> None:
        raise _Refused("NEWOBJ (creating class instances) is not allowed")

    for _op, _fn in (
        (pickle.SETITEM, _load_setitem),
        (pickle.SETITEMS, _load_setitems),
        (pickle.DICT, _load_dict),
        (pickle.ADDITEMS, _load_additems),
        (pickle.FROZENSET, _load_frozenset),
        (pickle.NEWOBJ, _load_newobj),
        (pickle.NEWOBJ_EX, _load_newobj),
    ):
        dispatch[_op[0]] = _fn
    del _op, _fn

    def __init__(self, file: Any, *, allow_numpy: bool = False):
        super().__init__(file, encoding="latin1")
        self._allowed: dict[tuple[str, str], Any] = dict(_NUMPY_GLOBALS) if allow_numpy else {}

    def find_class(self, module: str, name: str) -> Callable[..., Any]:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            what = "numpy arrays and plain Python data" if self._allowed else "plain Python data"
            qual = f"{module}.{name}"
            if not qual.isprintable():  # fuzz: a damaged name must not break the line
                qual = repr(qual)
            raise _Refused(f"refusing to load global {qual} (only {what} allowed)") from None


def load_restricted(path: str | os.PathLike, *, allow_numpy: bool = False) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`; any problem is a one-line error."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise SkelconError(f"cannot read pickle {str(path)!r}: {e.strerror}") from None
    with f:
        try:
            obj = RestrictedUnpickler(f, allow_numpy=allow_numpy).load()
        except _Refused as e:
            raise SkelconError(f"{path}: {e}") from None
        except Exception as e:  # malformed pickles raise many different types
            msg = str(e).splitlines()[0] if str(e) else ""
            raise SkelconError(
                f"{path}: not a readable pickle ({type(e).__name__}: {msg})"
            ) from None
    _check_no_objects(obj, path)
    return obj


def _check_no_objects(obj: Any, path: Path) -> None:
    """Refuse object arrays anywhere in a loaded structure, nesting deeper than
    :data:`MAX_NESTING`, and shared references that unfold into more than
    :data:`MAX_UNFOLD` items and :data:`MAX_SHARING` times the links the pickle holds
    (``[x, x, x]`` nested 40 deep: 3**40 items from 121 links; any reader that walks
    it as the tree it claims to be never ends). Each distinct container is visited
    once (a post-order walk with each container's unfolded size memoised), so the
    check costs one step per link the pickle built, however its references are shared.
    """
    size: dict[int, int] = {}  # id -> items it unfolds into (itself included); 0: on the path
    links = 0
    stack: list[tuple[Any, int, list | None]] = [(obj, 0, None)]
    while stack:
        o, depth, kids = stack[-1]
        if kids is None:  # first visit
            if id(o) in size:
                stack.pop()
                continue
            if isinstance(o, np.ndarray):
                if o.dtype.hasobject:
                    raise SkelconError(f"{path}: numpy object arrays are not allowed")
                size[id(o)] = 1
                stack.pop()
                continue
            if isinstance(o, dict):
                children = list(o.values())
            elif isinstance(o, (list, tuple, set, frozenset)):
                children = list(o)
            else:  # pragma: no cover (only containers are pushed)
                size[id(o)] = 1
                stack.pop()
                continue
            if depth >= MAX_NESTING:
                raise SkelconError(
                    f"{path}: pickle refused as too deep: it nests deeper than {MAX_NESTING} levels"
                )
            size[id(o)] = 0
            kids = [c for c in children if isinstance(c, _CONTAINERS)]
            stack[-1] = (o, depth, children)
            stack.extend((c, depth + 1, None) for c in kids if id(c) not in size)
            continue
        links += len(kids)
        total = 1 + sum(size.get(id(c), 1) or 1 if isinstance(c, _CONTAINERS) else 1 for c in kids)
        size[id(o)] = total
        stack.pop()
        if total > MAX_UNFOLD and total > MAX_SHARING * (links + 1):
            raise SkelconError(
                f"{path}: pickle refused as too large: its shared references unfold "
                f"{links + 1:,} links into more than {MAX_UNFOLD:,} items (a pickle bomb; a "
                "dataset pickle shares almost nothing)"
            )


MAX_UNFOLD = 10**6
"""Items a loaded pickle may unfold into through shared references before
:data:`MAX_SHARING` applies (a PYSKL file unfolds into about as many as it holds)."""
MAX_SHARING = 100
"""Unfolded items per link the pickle holds above which shared references are a bomb."""


_CONTAINERS = (np.ndarray, dict, list, tuple, set, frozenset)


def load_label_pickle(path: str | os.PathLike) -> tuple[list[str], list[int]]:
    """A ``(names, labels)`` pickle (ST-GCN's ``*_label.pkl``): sample names and int labels.

    Names may be ``str`` or numpy strings; labels Python ints, numpy integer scalars
    (what ``list(np_array)`` gives) or one numpy integer array. Only numpy's array and
    scalar globals are resolved (:class:`RestrictedUnpickler`). Raises
    :class:`SkelconError` naming the file and what was expected.
    """
    obj = load_restricted(path, allow_numpy=True)
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        raise SkelconError(f"{path}: expected a (names, labels) pair, got {type(obj).__name__}")
    names, labels = obj
    if isinstance(names, np.ndarray) and names.dtype.kind == "U":
        names = names.tolist()
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise SkelconError(f"{path}: the first element must be a list of sample names (str)")
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise SkelconError(
                f"{path}: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}"
            )
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)):
        raise SkelconError(f"{path}: the second element must be a list of int labels")
    bad = [
        v for v in labels if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
    ]
    if bad:
        raise SkelconError(
            f"{path}: the second element must be a list of int labels, found {short_repr(bad[0])}"
        )
    if len(names) != len(labels):
        raise SkelconError(f"{path}: {len(names)} names but {len(labels)} labels")
    return [str(n) for n in names], [int(v) for v in labels]
