"""Finding a run's checkpoint: an evaluation's directory is named as such."""

from __future__ import annotations

import pytest


def test_an_evaluation_directory_is_not_taken_for_a_missing_run(tmp_path):
    from skelcon.engine.checkpoint import resolve_checkpoint
    from skelcon.errors import SkelconError

    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(SkelconError, match="is an evaluation's directory, not a pre-training run"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(SkelconError, match="not found"):
        resolve_checkpoint(tmp_path / "nothing")
