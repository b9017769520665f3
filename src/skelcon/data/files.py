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

__all__ = [
    "dedupe_files",
    "file_key",
    "group_same_files",
    "is_layout_file",
    "rel_path",
    "walk_tree",
]

MAX_DEPTH = 16  # folder levels read below a class folder
LAYOUT_SUFFIXES = (".yaml", ".yml")


def rel_path(p: Path, raw: Path) -> str:
    """``p`` relative to ``raw``, ``/``-separated (as meta.json and messages show it)."""
    return str(p.relative_to(raw)).replace(os.sep, "/")


def is_layout_file(path: Path) -> bool:
    """Whether ``path`` is a valid joint layout file (``.yaml``/``.yml`` that
    :func:`~skelcon.data.layouts.read_layout_file` reads), such as the
    ``mediapipe33.yaml`` ``skelcon extract`` writes beside its clips: not a clip, so the
    folder readers pass over it without listing it as not read. Any other ``.yaml``
    (a broken layout, another document) is not one and stays listed."""
    if path.suffix.lower() not in LAYOUT_SUFFIXES:
        return False
    from ..errors import SkelconError
    from .layouts import read_layout_file

    try:
        read_layout_file(path)
    except (SkelconError, ValueError, OSError):
        return False
    return True


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


def _walk(
    d: Path,
    raw: Path,
    depth: int,
    files: list[Path],
    unused: list[tuple[str, str]],
    links: list[tuple[Path, int]],
    seen: set[str],
) -> None:
    """Every file below ``d`` into ``files``; a symlinked folder into ``links`` (read
    after every real folder, so the path without a link wins); what is not read into
    ``unused`` as ``(path relative to raw, reason)``. ``seen``: real folders walked."""
    seen.add(os.path.realpath(d))
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError as e:
        unused.append((rel_path(d, raw), f"cannot list the folder: {e.strerror or e}"))
        return
    if not entries and depth:
        unused.append((rel_path(d, raw), "an empty folder"))
    for e in entries:
        p = Path(e.path)
        if e.name.startswith("."):
            unused.append((rel_path(p, raw), "hidden file"))  # .DS_Store, macOS ._ files, .git
            continue
        try:
            is_dir, is_file, is_link = e.is_dir(), e.is_file(), e.is_symlink()
        except OSError:
            is_dir = is_file = is_link = False
        if is_dir and depth >= MAX_DEPTH:
            unused.append((rel_path(p, raw), f"more than {MAX_DEPTH} folders deep"))
        elif is_dir and is_link:
            links.append((p, depth + 1))
        elif is_dir:
            _walk(p, raw, depth + 1, files, unused, links, seen)
        elif is_file:
            files.append(p)
        else:
            unused.append((rel_path(p, raw), "a broken link or not a regular file"))


def walk_tree(raw: Path, files: list[Path], unused: list[tuple[str, str]]) -> None:
    """Every file under ``raw`` into ``files`` (what is not read into ``unused``, as
    ``(path relative to raw, reason)``), as ``prepare folder`` and ``kinetics-skeleton``
    walk: :func:`_walk` from ``raw``, then the symlinked folders, each real folder once
    (a second way to one is listed once in ``unused``, not file by file; loops cut)."""
    links: list[tuple[Path, int]] = []
    seen: set[str] = set()
    raw_real = os.path.realpath(raw)
    _walk(raw, raw, 0, files, unused, links, seen)
    while links:
        p, depth = links.pop(0)
        real = os.path.realpath(p)
        if real in seen:
            parent = os.path.realpath(p.parent)
            above = parent == real or parent.startswith(real + os.sep) or real == raw_real
            where = os.path.relpath(real, raw_real).replace(os.sep, "/")
            unused.append(
                (
                    rel_path(p, raw),
                    "a link to a folder above it (a loop)"
                    if above
                    else f"a link to the folder {where} (read there)",
                )
            )
        else:
            _walk(p, raw, depth, files, unused, links, seen)
