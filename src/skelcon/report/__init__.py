"""``skelcon report``: gather ``metrics.json`` files into the paper's tables.

Every ``metrics.json`` under the given directories becomes one row (one per label
fraction for semi-supervised results). The pre-training of a row is read from the
``config.yaml`` of the run its ``checkpoint`` names (or from the checkpoint itself):
the loss terms trained (``inter SEQ↔STG + intra``), the recipe (the packaged config it
equals, else ``custom``) and the epochs trained; the evaluation epochs come from the
``metrics.json``.

The paper's number (:mod:`skelcon.paper_numbers`) for the row's setting stands beside
ours only when the result is comparable: (a) the full official dataset (classes and
train/test sizes, up to the official missing-skeleton lists), (b) the protocol's
settings as in the paper (epochs, learning rate and schedule, k, label subsets), and
(c) the paper's packaged recipe for the pre-training dataset, trained for at least its
epochs. Otherwise the paper column says which table has a figure for the setting and
why ours is not comparable; "–" where the paper reports none. Output: Markdown tables,
CSV (one row per result) or JSON, written atomically.

The package, by job: :mod:`.records` (what a result is), :mod:`.recipes` (which
packaged recipe a run's config equals), :mod:`.collect` (reading ``metrics.json`` files
and the runs behind them), :mod:`.judge` (comparability with the paper),
:mod:`.tables` (table layout) and :mod:`.render` (Markdown, CSV, JSON; writing).
"""

from __future__ import annotations

from ..paper_numbers import DEFAULT_AUG
from .collect import collect
from .recipes import _full_config, packaged_recipes, recipe_diff, stretched_recipe
from .records import PretrainInfo, Result
from .render import FORMATS, render, to_csv, to_json, to_markdown, to_records, write_report

__all__ = [
    "DEFAULT_AUG",
    "FORMATS",
    "PretrainInfo",
    "Result",
    "_full_config",
    "collect",
    "packaged_recipes",
    "recipe_diff",
    "render",
    "stretched_recipe",
    "to_csv",
    "to_json",
    "to_markdown",
    "to_records",
    "write_report",
]
