"""The packaged recipes (``src/skelcon/configs/*.yaml``): their names, what each is for,
and the path a ``config`` argument (a file or a recipe name) resolves to."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from .errors import SkelconError


def packaged_configs() -> list[str]:
    """The names of the packaged recipes (``cpu_small``, ``ntu60``...), sorted."""
    root = importlib.resources.files("skelcon") / "configs"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def recipe_summary(name: str) -> str:
    """What a packaged recipe is for: the first comment line of its YAML (one source)."""
    text = (importlib.resources.files("skelcon") / "configs" / f"{name}.yaml").read_text("utf-8")
    for line in text.splitlines():
        if line.startswith("#") and line.lstrip("#").strip():
            return line.lstrip("#").strip()
    return ""


def resolve_config_path(value: str | None) -> Path | None:
    """A YAML path, or the name of a packaged recipe (``ntu60``, ``cpu_small``...)."""
    if value is None:
        return None
    if os.path.isfile(value):
        return Path(value)
    name = value[:-5] if value.endswith(".yaml") else value
    if name in packaged_configs():
        return Path(str(importlib.resources.files("skelcon") / "configs" / f"{name}.yaml"))
    raise SkelconError(
        f"config {value!r} is neither a file nor a packaged recipe (packaged: {', '.join(packaged_configs())})"
    )
