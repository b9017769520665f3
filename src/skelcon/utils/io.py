"""Durable file writes and output locks.

:func:`atomic_path` writes a temporary file in the same directory, ``fsync``\\ s it,
renames it onto the target and ``fsync``\\ s the directory, so a crash (even
``kill -9`` or a power cut) leaves either the old file or the new one, never a torn
one. :func:`no_space_errors` turns a full disk into a one-line
:class:`~skelcon.errors.SkelconError`; :func:`output_lock` keeps two runs off the
same output.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import SkelconError

# errors that mean "the disk (or the user's quota) is full"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush ``path``'s data to the device (``fsync`` through a fresh descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make renames and new entries in directory ``path`` durable (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def fsync_tree(root: str | os.PathLike[str]) -> None:
    """``fsync`` every file and directory under ``root`` (before renaming it into place)."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            fsync_file(os.path.join(dirpath, name))
        fsync_dir(dirpath)


@contextmanager
def atomic_path(path: str | os.PathLike[str], kept: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; make it durable and rename it onto
    ``path`` on success. On any failure the temporary file is removed and ``path``
    keeps its old content; a full disk raises a one-line :class:`SkelconError`
    (``kept``: what to say is still intact, see :func:`no_space_errors`)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        if e.errno in NO_SPACE:
            raise
        # a read-only place, a parent that is a file, no permission: one line
        raise SkelconError(
            f"cannot write {path}: {e.strerror or e} (choose a writable --out)"
        ) from None
    os.close(fd)
    try:
        with no_space_errors(path, kept=kept):
            yield Path(tmp)
            fsync_file(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _no_space(e: BaseException | None) -> int | None:
    """ENOSPC/EDQUOT if ``e`` or an exception it was raised from or during is one.

    Writers wrap the ``OSError`` (``torch.save``'s zip writer raises a ``RuntimeError``
    while the disk-full ``OSError`` is its ``__context__``)."""
    seen = 0
    while e is not None and seen < 16:
        if isinstance(e, OSError) and e.errno in NO_SPACE:
            return e.errno
        e, seen = e.__cause__ or e.__context__, seen + 1
    return None


@contextmanager
def no_space_errors(
    path: str | os.PathLike[str], cleanup: Callable[[], Any] | None = None, kept: str = ""
) -> Iterator[None]:
    """Turn ``OSError(ENOSPC/EDQUOT)`` raised inside into a one-line :class:`SkelconError`
    naming ``path``; ``cleanup()`` runs first (e.g. removing a partial output) and
    ``kept`` says what is still intact."""
    try:
        yield
    except Exception as e:
        code = _no_space(e)
        if code is None:
            raise
        if cleanup is not None:
            cleanup()
        why = "no space left on the device" if code == errno.ENOSPC else "disk quota exceeded"
        raise SkelconError(
            f"{why} writing {path}{kept or ' (nothing was replaced)'}; free some space and run again"
        ) from None


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], Any]) -> None:
    """Call ``writer(tmp_path)`` and move the result onto ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda p: p.write_text(text))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse the JSON file at ``path``."""
    with open(path) as f:
        return json.load(f)


def npy_error(e: BaseException) -> str:
    """The one-line reason ``np.load(..., allow_pickle=False)`` failed, in a user's words.

    NumPy's message for a file that is not a plain array (pickled objects, or not an
    ``.npy`` file at all, e.g. text) advises ``allow_pickle=True``, which would run code
    from the file; say what the file is instead.
    """
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "allow_pickle" in msg or "pickled" in msg:
        return (
            "not a plain NumPy array file (it holds pickled Python objects, or is not an .npy "
            "file at all); save the array with np.save(path, array) of a numeric array"
        )
    return msg


def lock_path(out: str | os.PathLike[str]) -> Path:
    """The lock file of output ``out``: a hidden ``.NAME.lock`` beside it (outputs such
    as prepared datasets are renamed into place, so the lock cannot live inside)."""
    out = Path(os.path.abspath(out))
    parent = out.parent.resolve() if out.parent.exists() else out.parent
    return parent / f".{out.name}.lock"


@contextmanager
def output_lock(out: str | os.PathLike[str], command: str) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``out``'s lock file while the body runs.

    A second holder (another process, or another ``output_lock`` in this one) gets a
    one-line :class:`SkelconError`. The kernel drops the lock when the holder exits,
    however it dies, so a lock file left behind by a dead process never blocks. The
    holder removes the file when it is done (however the body ended), still holding
    the lock; a process that locked the file just before it was removed sees that the
    path no longer names its file and locks the new one instead.
    """
    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SkelconError(
                f"{out} is in use by another skelcon {command} (pid {holder}, lock {path}); "
                "wait for it to finish or pick another --out"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # the holder removed it after we opened it: lock the current one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        try:
            if _same_file(fd, path):
                os.unlink(path)
        except OSError:
            pass  # a lock file that stays never blocks
        os.close(fd)  # releases the flock


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        st, cur = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (cur.st_dev, cur.st_ino)
