"""Recipe matching: which packaged recipe (``skelcon configs``) a run's saved config
equals, in the fields that shape the pre-trained weights."""

from __future__ import annotations

import functools
import importlib.resources
import math
from typing import Any

import yaml

from ..config import PretrainConfig, from_dict, to_dict

# Config fields that shape the pre-trained weights. ``epochs`` is checked on its own (at
# least the recipe's); seed, device, workers, saving, logging and monitors are left out.
WEIGHT_FIELDS = (
    "preset",
    "seq_init",
    "seq",
    "representations",
    "batch_size",
    "optim",
    "augment",
    "moco",
)
# The fields the paper's ablation tables vary (Tables 5, 6, 8, 9, 10). A paper number of
# such a row is matched on them by :func:`~skelcon.paper_numbers.lookup`, so the recipe
# check leaves them out there.
ABLATION_FIELDS = (
    "representations",
    "augment.temporal",
    "augment.spatial",
    "augment.l_min",
    "augment.jitter_joints",
)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"moco": {"dim": 128}}`` -> ``{"moco.dim": 128}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _full_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """A saved pre-training config, flattened, with today's defaults for absent keys."""
    return {**_flatten(to_dict(PretrainConfig())), **_flatten(cfg)}


@functools.cache
def packaged_recipes() -> dict[str, dict[str, Any]]:
    """Every packaged recipe (``skelcon configs``), resolved and flattened, by name."""
    root = importlib.resources.files("skelcon") / "configs"
    out = {}
    for f in sorted(root.iterdir(), key=lambda p: p.name):
        if f.name.endswith(".yaml"):
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            out[f.name.removesuffix(".yaml")] = _flatten(to_dict(from_dict(PretrainConfig, data)))
    return out


def stretched_recipe(name: str, epochs: int | None) -> dict[str, Any] | None:
    """Packaged recipe ``name`` as a run on a small split ran it: stretched to ``epochs``
    by its ``min_steps`` (:func:`~skelcon.engine.pretrain.stretch_epochs`), flattened;
    None when the recipe has no ``min_steps`` or ``epochs`` is not more than its own."""
    from ..engine.pretrain import stretch_epochs

    f = importlib.resources.files("skelcon") / "configs" / f"{name}.yaml"
    cfg = from_dict(PretrainConfig, yaml.safe_load(f.read_text(encoding="utf-8")) or {})
    if not cfg.min_steps or epochs is None or epochs <= cfg.epochs:
        return None
    stretch_epochs(cfg, epochs)
    return _flatten(to_dict(cfg))


def _same(a: Any, b: Any) -> bool:
    """Config values equal, numbers up to float rounding (``1e-4`` == ``0.0001``)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = [x for x in (a, b) if isinstance(x, int | float | str) and not isinstance(x, bool)]
    if len(numbers) == 2 and not (isinstance(a, str) and isinstance(b, str)):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except ValueError:
            return False
    return a == b


def recipe_diff(
    config: dict[str, Any], recipe: dict[str, Any], *, ablation: bool = False
) -> list[str]:
    """The weight-shaping keys (:data:`WEIGHT_FIELDS`) where ``config`` differs from
    ``recipe`` (both flattened); ``ablation`` leaves out :data:`ABLATION_FIELDS`."""
    keys = [k for k in recipe if k.split(".")[0] in WEIGHT_FIELDS]
    if ablation:
        keys = [k for k in keys if k not in ABLATION_FIELDS]
    return [k for k in keys if not _same(config.get(k), recipe[k])]


def _fmt(v: Any) -> str:
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
