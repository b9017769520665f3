"""Where the real data samples and the handed failing cases are (import it by name:
``from shareddirs import shared_data_dir``).

``$SKELCON_SHARED_DATA`` may name the data folder itself (``shared/data``, holding
``ntu/`` and ``pku_mmd/``) or the shared root above it (``shared``); likewise
``$SKELCON_SHARED_CASES`` the ``cases`` folder or the root. Without the variable,
``<repo>/../shared/{data,cases}`` is used when it exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_MARKERS = ("ntu", "pku_mmd")


def resolve_shared_dir(
    path: str | os.PathLike, sub: str, markers: Sequence[str] = ()
) -> Path | None:
    """``path`` if it is the ``sub`` folder (it holds one of ``markers``, or has no
    ``sub`` child), ``path/sub`` if ``path`` is the shared root holding ``sub``;
    ``None`` when ``path`` is not a directory."""
    p = Path(path).expanduser()
    if not p.is_dir():
        return None
    if any((p / m).is_dir() for m in markers):
        return p
    if (p / sub).is_dir():
        return p / sub
    return p


def _find(env: str, sub: str, markers: Sequence[str] = ()) -> Path | None:
    """The first of ``$env`` and ``<repo>/../shared`` that resolves to a ``sub`` folder
    (holding one of ``markers``, when given)."""
    candidates = [os.environ[env]] if os.environ.get(env) else []
    candidates.append(str(REPO.parent / "shared"))
    for c in candidates:
        d = resolve_shared_dir(c, sub, markers)
        if d is not None and (not markers or any((d / m).is_dir() for m in markers)):
            return d
    return None


def shared_data_dir() -> Path | None:
    """The real data samples (the folder holding ``ntu/``, ``pku_mmd/``), if found."""
    return _find("SKELCON_SHARED_DATA", "data", DATA_MARKERS)


def shared_cases_dir() -> Path | None:
    """The handed failing inputs (``shared/cases``), if found."""
    return _find("SKELCON_SHARED_CASES", "cases")


def not_found(what: str, env: str, sub: str) -> str:
    """The skip reason: what was looked for and where."""
    if os.environ.get(env):
        where = f"${env}={os.environ[env]!r} is neither the shared root nor its {sub}/ folder"
    else:
        where = f"${env} is unset"
    return f"{what} not found ({where}; no {REPO.parent / 'shared' / sub} either)"
