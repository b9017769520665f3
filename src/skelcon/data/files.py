"""One real file, read once: grouping the paths found under ``--raw`` by the file they name.

A clip reachable by two paths (a symlink, a hard link, a linked folder) must be read
once, or the same clip lands twice in a dataset, maybe once in each split. Paths name
the same file when :func:`os.stat` (which follows symlinks) gives the same
``(st_dev, st_ino)``: that covers symlinks and hard links alike.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["dedupe_files", "file_key", "group_same_files", "rel_path"]


def rel_path(p: Path, raw: Path) -> str:
    """``p`` relative to ``raw``, ``/``-separated (as meta.json and messages show it)."""
    return str(p.relative_to(raw)).replace(os.sep, "/")


def file_key(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the file ``path`` names (symlinks followed); None when
    it cannot be stat'ed (then it is its own file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def group_same_files(paths: Sequence[Path], raw: Path) -> list[list[Path]]:
    """``paths`` grouped by the real file they name, each group in the order given,
    groups in the order of their first path; within a group the path without a
    symlink on its way below ``raw`` comes first (it is the one to read)."""
    raw_real = Path(os.path.realpath(raw))
    groups: dict[object, list[Path]] = {}
    for p in paths:
        key = file_key(p)
        groups.setdefault(key if key is not None else ("path", str(p)), []).append(p)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group)
            continue
        direct = [p for p in group if str(raw_real / p.relative_to(raw)) == os.path.realpath(p)]
        first = (direct or group)[0]
        out.append([first, *(p for p in group if p != first)])
    return out


def dedupe_files(paths: Sequence[Path], raw: Path, unused: list[tuple[str, str]]) -> list[Path]:
    """One path per real file (:func:`group_same_files`), in the order given; every
    other path appended to ``unused`` as ``(path relative to raw, reason)`` naming
    the path that is read."""
    keep = set()
    for first, *others in group_same_files(paths, raw):
        keep.add(first)
        for p in others:
            how = "" if os.path.realpath(p) == os.path.realpath(first) else "; a hard link"
            unused.append(
                (
                    rel_path(p, raw),
                    f"the same file as {rel_path(first, raw)} (read once, there{how})",
                )
            )
    return [p for p in paths if p in keep]
