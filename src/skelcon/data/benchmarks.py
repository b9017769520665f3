"""Which benchmark of a prepared dataset a command means when it names none."""

from __future__ import annotations

import os

from ..errors import SkelconError


def resolve_benchmark(data: str | os.PathLike, benchmark: str | None) -> str:
    """``benchmark``, or the only benchmark of the prepared dataset ``data``."""
    if benchmark is not None:
        return benchmark
    from .prepared import read_meta

    names = list(read_meta(data).get("benchmarks", {}))
    if len(names) != 1:
        raise SkelconError(
            f"benchmark is required: {str(data)!r} has {len(names)} ({', '.join(names) or 'none'})",
            param="benchmark",
        )
    return names[0]
