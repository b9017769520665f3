"""Typed configs: defaults, YAML, overrides, packaged recipes."""

from __future__ import annotations

import pytest
import yaml

from skelcon.cli import packaged_configs, resolve_config_path
from skelcon.config import PretrainConfig, from_dict, load_config, parse_representations, to_dict
from skelcon.errors import SkelconError


def test_overrides_are_typed():
    cfg = load_config(
        PretrainConfig,
        None,
        [
            "epochs=3",
            "optim.lr=1",
            "representations=seq,img",
            "optim.milestones=[2, 5]",
            "augment.spatial=none",
        ],
    )
    assert cfg.epochs == 3 and cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.representations == ["seq", "img"] and cfg.optim.milestones == [2, 5]
    with pytest.raises(SkelconError, match="expects int"):
        load_config(PretrainConfig, None, ["optim.milestones=[2, x]"])
    with pytest.raises(SkelconError, match="expects bool|expects int"):
        load_config(PretrainConfig, None, ["epochs=true"])
    with pytest.raises(SkelconError, match="key=value"):
        load_config(PretrainConfig, None, ["epochs"])


@pytest.mark.parametrize(
    "value", ["seq+stg", "seq,stg", " seq + stg ", ["seq", "stg"], ["seq+stg"], ("seq", "stg")]
)
def test_one_representation_syntax(value):
    assert parse_representations(value) == ["seq", "stg"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("seq+rgb", "unknown rgb"),
        ("", "empty"),
        ([], "empty"),
        ("seq,seq", "repeated"),
        (["seq", 3], "unknown 3"),
    ],
)
def test_bad_representations_are_one_line(value, why):
    with pytest.raises(SkelconError, match=why) as e:
        parse_representations(value)
    assert "\n" not in str(e.value) and "seq, img, stg" in str(e.value)


@pytest.mark.parametrize("text", ["seq+stg", "seq,stg", "[seq, stg]", "[seq+stg]"])
def test_pretrain_config_takes_every_representation_syntax(text):
    cfg = load_config(PretrainConfig, None, [f"representations={text}"])
    cfg.validate()
    assert cfg.representations == ["seq", "stg"]


def test_yaml_representations_string_or_list(tmp_path):
    for text in ("representations: seq+img\n", "representations: [seq, img]\n"):
        (tmp_path / "c.yaml").write_text(text)
        cfg = load_config(PretrainConfig, tmp_path / "c.yaml")
        cfg.validate()
        assert cfg.representations == ["seq", "img"]


def test_round_trip():
    cfg = load_config(PretrainConfig, None, ["epochs=7", "moco.queue_size=99"])
    assert from_dict(PretrainConfig, to_dict(cfg)) == cfg


@pytest.mark.parametrize("name", ["ntu60", "ntu120", "pku_mmd1", "pku_mmd2", "cpu_small"])
def test_packaged_recipes_load_and_validate(name):
    assert name in packaged_configs()
    cfg = load_config(PretrainConfig, resolve_config_path(name))
    cfg.validate()
    raw = yaml.safe_load(open(resolve_config_path(name)))
    assert raw["representations"] == cfg.representations


def test_paper_recipes_hold_the_paper_numbers():
    c = load_config(PretrainConfig, resolve_config_path("ntu60"))
    assert (c.preset, c.batch_size, c.optim.lr, c.optim.momentum, c.optim.weight_decay) == (
        "paper",
        64,
        0.01,
        0.9,
        1e-4,
    )
    assert (c.moco.queue_size, c.moco.momentum, c.moco.temperature, c.moco.dim) == (
        16384,
        0.999,
        0.07,
        128,
    )
    assert (c.epochs, c.optim.milestones) == (451, [351])
    assert (c.augment.l_min, c.augment.jitter_joints, c.augment.out_len) == (0.1, 15, 64)
    assert load_config(PretrainConfig, resolve_config_path("pku_mmd1")).moco.queue_size == 8192
    assert load_config(PretrainConfig, resolve_config_path("pku_mmd2")).moco.queue_size == 2048
    assert load_config(PretrainConfig, resolve_config_path("ntu120")).epochs == 351
    # the paper's mechanics: no MoCo v2/v3 switch is on in any paper recipe
    for name in ("ntu60", "ntu120", "pku_mmd1", "pku_mmd2"):
        m = load_config(PretrainConfig, resolve_config_path(name))
        assert (m.optim.schedule, m.optim.warmup_epochs, m.moco.momentum_schedule) == (
            "step",
            0,
            "constant",
        )
        assert (m.moco.symmetric, m.moco.shuffle_bn, m.moco.head_bn, m.moco.intra_weight) == (
            False,
            0,
            False,
            0,
        )
        assert (m.seq_init, m.augment.shear_magnitude, m.augment.temporal) == ("preset", 1.0, True)
        # nor any departure of cpu_small: no step floor, no extra noise or dropout
        assert (m.min_steps, m.augment.noise, m.augment.joint_drop) == (0, 0.0, 0.0)


def test_paper_linear_probe_batch_follows_the_authors():
    from skelcon.config import LinearEvalConfig

    assert LinearEvalConfig().batch_size == 64


@pytest.mark.parametrize(
    "override, match",
    [
        ("optim.schedule=linear", "optim.schedule"),
        ("moco.momentum_schedule=step", "momentum_schedule"),
        ("optim.warmup_epochs=-1", "warmup_epochs"),
        ("optim.lr=-1", "optim.lr"),
        ("optim.momentum=-1", "momentum"),
        ("num_workers=-1", "num_workers"),
        ("moco.momentum_end=1.5", "momentum_end"),
        ("moco.shuffle_bn=-1", "shuffle_bn"),
        ("monitor.every=-1", "monitor.every"),
        ("seq_init=orthogonal", "seq_init"),
        ("moco.temperature=0", "temperature"),
    ],
)
def test_mechanics_options_are_checked(override, match):
    with pytest.raises(SkelconError, match=match):
        load_config(PretrainConfig, None, [override]).validate()


def test_unknown_recipe():
    with pytest.raises(SkelconError, match="packaged"):
        resolve_config_path("ntu61")


def test_scientific_notation_and_momentum_end():
    cfg = load_config(PretrainConfig, None, ["optim.weight_decay=1e-4", "optim.lr=5E-2"])
    assert (cfg.optim.weight_decay, cfg.optim.lr) == (1e-4, 0.05)
    with pytest.raises(SkelconError, match="momentum_end"):
        load_config(
            PretrainConfig, None, ["moco.momentum_schedule=cosine", "moco.momentum_end=0.5"]
        ).validate()


def test_short_runs_of_a_recipe_with_warmup_still_train():
    from skelcon.engine.schedules import lr_at

    cfg = load_config(PretrainConfig, resolve_config_path("cpu_small"), ["epochs=2"])
    cfg.validate()  # warm-up 2 epochs in a 2-epoch run: capped at half the run
    assert lr_at(cfg.optim, 1.0, 2) == pytest.approx(cfg.optim.lr)
