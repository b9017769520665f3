"""Learning-rate and key-momentum schedules."""

from __future__ import annotations

import math

import pytest

from skelcon.config import MocoConfig, OptimConfig
from skelcon.engine.schedules import lr_at, momentum_at


def test_step_schedule_matches_multisteplr_semantics():
    cfg = OptimConfig(lr=0.1, milestones=[3, 5], gamma=0.1)
    assert lr_at(cfg, 0.0, 8) == pytest.approx(0.1)
    assert lr_at(cfg, 2.99, 8) == pytest.approx(0.1)
    assert lr_at(cfg, 3.0, 8) == pytest.approx(0.01)  # epoch index 3 is the first lower one
    assert lr_at(cfg, 5.5, 8) == pytest.approx(0.001)


def test_warmup_then_cosine():
    cfg = OptimConfig(lr=0.2, schedule="cosine", warmup_epochs=2)
    assert lr_at(cfg, 0.0, 10) == 0.0
    assert lr_at(cfg, 1.0, 10) == pytest.approx(0.1)  # half-way through warm-up
    assert lr_at(cfg, 2.0, 10) == pytest.approx(0.2)  # peak
    assert lr_at(cfg, 6.0, 10) == pytest.approx(0.1)  # half-way through the cosine
    assert lr_at(cfg, 10.0, 10) == pytest.approx(0.0, abs=1e-12)
    values = [lr_at(cfg, t / 10, 10) for t in range(20, 101)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_warmup_also_precedes_step_decay():
    cfg = OptimConfig(lr=0.1, warmup_epochs=1, milestones=[4])
    assert lr_at(cfg, 0.25, 6) == pytest.approx(0.025)
    assert lr_at(cfg, 1.0, 6) == pytest.approx(0.1)
    assert lr_at(cfg, 4.0, 6) == pytest.approx(0.01)


def test_momentum_schedules():
    const = MocoConfig(momentum=0.99)
    assert momentum_at(const, 0.0, 10) == momentum_at(const, 7.3, 10) == 0.99
    cos = MocoConfig(momentum=0.99, momentum_schedule="cosine", momentum_end=1.0)
    assert momentum_at(cos, 0.0, 10) == pytest.approx(0.99)
    assert momentum_at(cos, 5.0, 10) == pytest.approx(0.995)
    assert momentum_at(cos, 10.0, 10) == pytest.approx(1.0)
    assert momentum_at(cos, 2.5, 10) == pytest.approx(1 - 0.01 * (1 + math.cos(math.pi / 4)) / 2)
