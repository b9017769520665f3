"""Cases of the config reader: ``load_config`` on mutated packaged YAML recipes
with random ``--set`` overrides, then ``validate``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from .corpus import Corpus
from .mutators import Case, mutate_bytes

OVERRIDE_VALUES = [
    "0",
    "1",
    "-1",
    "0.5",
    "1e-4",
    "1e400",
    ".nan",
    ".inf",
    "-.inf",
    "nan",
    "inf",
    "[1, 2]",
    "[]",
    "{a: 1}",
    "abc",
    "",
    "null",
    "true",
    "0x10",
    "seq,stg",
    "[seq, [stg]]",
    "'3'",
    "1" * 5000,
    "!!python/object/apply:os.system ['true']",
    "&a [*a]",
    "[" * 2000,
    "{{",
    "999999999999",
    "2e9",
    "- 1\n- 2",
]


def _config_fields(cls: type, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(hint):
            out += _config_fields(hint, f"{prefix}{f.name}.")
        out.append(prefix + f.name)
    return out


def check_config(cfg: Any) -> str | None:
    """NaN when an accepted config holds a non-finite float anywhere."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            bad = check_config(v)
            if bad:
                return bad
        vals = v if isinstance(v, list) else [v]
        for x in vals:
            if isinstance(x, float) and not math.isfinite(x):
                return f"NaN:{f.name} = {x}"
    return None


def case_config(case: Case, corpus: Corpus) -> str:
    """Reader level: ``load_config`` (YAML file + ``--set`` overrides) and ``validate``."""
    from skelcon import config as C

    rng = case.rng
    cls = rng.choice([C.PretrainConfig] * 4 + [C.LinearEvalConfig, C.KnnConfig, C.FinetuneConfig])
    path = None
    if cls is C.PretrainConfig and rng.random() < 0.8:
        text = rng.choice(corpus.configs).encode()
        if rng.random() < 0.7:
            text = mutate_bytes(case, text, sep=b": ")
        path = case.tmp / "cfg.yaml"
        path.write_bytes(text)
    fields = _config_fields(cls)
    overrides = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        key = rng.choice(fields + ["nope", "optim.nope", "optim", "", "a.b.c", "optim.lr.x"])
        value = rng.choice(OVERRIDE_VALUES)
        overrides.append(rng.choice([f"{key}={value}", f"{key}={value}", key, f" {key} = {value}"]))
    case.note(f"{cls.__name__} file={path is not None} overrides={[o[:40] for o in overrides]}")
    cfg = C.load_config(cls, path, overrides)
    cfg.validate()
    return check_config(cfg) or "ok"
