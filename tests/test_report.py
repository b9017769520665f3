"""``skelcon report``: hand-written metrics.json fixtures -> the paper's tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from skelcon.cli import main
from skelcon.config import LinearEvalConfig, to_dict
from skelcon.errors import DataFormatError, SkelconError
from skelcon.paper_numbers import OFFICIAL_SPLITS, Augmentation, OfficialSplit, lookup
from skelcon.report import PretrainInfo, collect, write_report

FIXTURE = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """Run from an unrelated directory: checkpoints resolve beside the metrics, not the cwd."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_report_matches_fixture(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    write_report([FIXTURE], out)  # format from the suffix
    assert out.read_text(encoding="utf-8") == (FIXTURE / f"expected.{fmt}").read_text(
        encoding="utf-8"
    )
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary files left


def _paper_by_row(tmp_path) -> dict:
    write_report([FIXTURE], tmp_path / "r.json")
    recs = json.loads((tmp_path / "r.json").read_text())["results"]
    return {
        (r["path"].removeprefix("evals/"), r["fraction"]): (
            r["paper_top1"],
            r["paper_table"],
            r["paper_not_comparable"],
        )
        for r in recs
    }


def test_paper_numbers_only_beside_comparable_rows(tmp_path):
    paper = _paper_by_row(tmp_path)
    t1 = "Table 1"
    expected = {  # the paper's tables, typed by hand; full data, paper recipe and protocol
        ("ntu60_xview/linear_seq", None): (85.2, t1, None),  # SEQ pre-trained inter with STG
        ("ntu60_xview/linear_seq_intra", None): (82.5, "Tables 5, 6", None),  # SEQ intra
        ("ntu60_xview/linear_stg_inter", None): (78.9, "Table 6", None),  # STG inter with SEQ
        ("ntu60_xview/linear_img_crop", None): (62.5, "Table 5", None),  # IMG, crop-resize only
        ("ntu60_xsub/knn_seq", None): (62.5, "Table 3", None),
        ("ntu60_xview/semi_seq", 1.0): (38.1, "Table 2", None),
        ("ntu60_xview/semi_seq", 5.0): (65.7, "Table 2", None),
        ("ntu60_xview/semi_seq", 10.0): (72.5, "Table 2", None),
        ("ntu60_xview/semi_seq", 20.0): (78.2, "Table 2", None),
        ("ntu60_xview/supervised_seq", 1.0): (21.7, "Table 2", None),  # "supervised only"
        ("ntu60_xview/supervised_seq", 10.0): (59.8, "Table 2", None),
        ("transfer/pku2_from_pku1", 100.0): (45.1, "Table 4", None),
        ("ntu60_xview/finetune_seq", 100.0): (90.4, "Table 7", None),
        ("ntu60_xview/finetune_seq_random", 100.0): (87.8, "Table 7", None),
        # a figure exists for the setting, but ours is not comparable: each kind, its reason
        ("ntu60_xview/linear_seq_small_data", None): (
            None,
            t1,
            "100/37,920 train, 50/18,960 test clips",
        ),
        ("ntu60_xview/linear_seq_short_eval", None): (None, t1, "linear 3/80 epochs"),
        ("pku_mmd1/semi_seq", 1.0): (None, "Table 2", "semi 3/50 epochs"),
        ("pku_mmd1/semi_seq", 10.0): (None, "Table 2", "semi 3/50 epochs"),
        ("ntu60_xview/linear_seq_2ep", None): (None, t1, "pre-trained 2/451 epochs"),
        ("ntu60_xview/linear_seq_custom", None): (
            None,
            t1,
            "recipe differs from ntu60: moco.temperature 0.2, moco.intra_weight 1",
        ),
        ("ntu60_xsub/linear_seq_noconfig", None): (None, t1, "pre-training recipe unknown"),
        ("ntu60_xsub/linear_seq_no_eval_config", None): (None, t1, "evaluation settings unknown"),
        # a 2-epoch cpu_small run on 218 of the 1,076 PKU-MMD I sequences
        ("pku_mmd1/linear_seq_cpu_small", None): (
            None,
            t1,
            "218/1,076 sequences; recipe cpu_small, not pku_mmd1; pre-trained 2/600 epochs",
        ),
        # no matching setting in the paper:
        ("ntu60_xview/linear_seq_random", None): (None, None, None),  # linear, random encoder
        ("synthetic/linear_seq", None): (None, None, None),
        ("ntu120_xsetup/knn_seq_k5", None): (None, None, None),  # k = 5
        ("transfer/pku2_from_ucla", None): (None, None, None),  # source NW-UCLA
    }
    assert paper == expected
    # a sub-directory alone gives the same numbers
    write_report([FIXTURE / "evals" / "transfer"], tmp_path / "p.csv")
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [(r["path"], r["paper_top1"], r["paper_comparable"]) for r in rows] == [
        ("pku2_from_pku1", "45.1", "True"),
        ("pku2_from_ucla", "", "False"),
    ]
    md = (FIXTURE / "expected.md").read_text(encoding="utf-8")
    # rows without a paper number show the dash in the markdown
    synth = [line for line in md.splitlines() if line.endswith("| evals/synthetic/linear_seq |")]
    assert len(synth) == 3 and all(line.count("| – |") == 1 for line in synth)
    # a non-comparable row names the table but never shows its figure
    line = next(x for x in md.splitlines() if x.endswith("| evals/pku_mmd1/linear_seq_cpu_small |"))
    assert "not comparable (T1): 218/1,076 sequences;" in line and "80.9" not in line
    semi = next(x for x in md.splitlines() if x.endswith("| evals/pku_mmd1/semi_seq |"))
    assert "semi 3/50 epochs" in semi and "72.1" not in semi and "37.7" not in semi


def test_every_row_shows_recipe_epochs_and_loss_terms():
    md = (FIXTURE / "expected.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for x in md.splitlines():  # the first table a row appears in (linear, knn, semi, ...)
        if x.startswith("| "):
            rows.setdefault(x.split("|")[-2].strip(), x)
    cells = lambda path: [c.strip() for c in rows[path].split("|")[1:-1]]  # noqa: E731
    # dataset, benchmark, representation, pre-training, recipe, pre-train ep., eval ep., preset
    assert cells("evals/pku_mmd1/linear_seq_cpu_small")[3:8] == [
        "inter SEQ↔STG + intra; aug: shear",
        "cpu_small",
        "2 (of 50)",
        "80",
        "small",
    ]
    assert cells("evals/ntu60_xview/linear_seq")[3:7] == ["inter SEQ↔STG", "ntu60", "451", "80"]
    assert cells("evals/ntu60_xview/linear_seq_intra")[3:7] == [
        "intra SEQ",
        "ntu60 (representations varied)",
        "451",
        "80",
    ]
    assert cells("evals/ntu60_xview/linear_seq_custom")[3:5] == ["inter SEQ↔STG + intra", "custom"]
    assert cells("evals/ntu60_xview/linear_seq_random")[3:7] == [
        "**none (random init)**",
        "–",
        "–",
        "80",
    ]
    assert cells("evals/ntu60_xsub/knn_seq")[6] == "–"  # retrieval trains nothing
    assert cells("evals/ntu60_xsub/linear_seq_noconfig")[4:6] == ["unknown", "?"]
    header = next(x for x in md.splitlines() if x.startswith("| dataset | benchmark | repr"))
    assert "| recipe | pre-train epochs | eval epochs |" in header


def test_official_split_sizes():
    """Paper Section 4.1 counts; a prepared split may lack the official missing samples."""
    assert (OFFICIAL_SPLITS["ntu60", "xview"].train, OFFICIAL_SPLITS["ntu60", "xview"].test) == (
        37_920,
        18_960,
    )
    assert OFFICIAL_SPLITS["pku-mmd1", "xsub"] == OfficialSplit(18_841, 2_704)
    assert OFFICIAL_SPLITS["pku-mmd2", "xsub"] == OfficialSplit(5_332, 1_613)
    # the standard NTU-60 preparation (302 samples skipped) gives 40,091 / 16,487 and
    # 37,646 / 18,932: exactly the lower ends of the ranges
    xsub, xview = OFFICIAL_SPLITS["ntu60", "xsub"], OFFICIAL_SPLITS["ntu60", "xview"]
    assert (xsub.train - xsub.missing_train, xsub.test - xsub.missing_test) == (40_091, 16_487)
    assert (xview.train - xview.missing_train, xview.test - xview.missing_test) == (37_646, 18_932)
    for (ds, _), s in OFFICIAL_SPLITS.items():
        listed = {"ntu60": 302, "ntu120": 535}.get(ds, 0)
        assert s.missing_train + s.missing_test == listed
    assert xsub.accepts("train", 40_320) and xsub.accepts("train", 40_091)
    assert not xsub.accepts("train", 40_090) and not xsub.accepts("train", 40_321)
    assert OFFICIAL_SPLITS["pku-mmd1", "xsub"].accepts("test", 2_704)
    assert not OFFICIAL_SPLITS["pku-mmd1", "xsub"].accepts("test", 2_703)


def test_missing_counts_follow_the_packaged_lists():
    """The per-split missing counts are recounted from the official lists and split rules."""
    import re
    from importlib.resources import files

    subjects60 = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
    subjects120 = subjects60 | {
        int(v)
        for v in "45 46 47 49 50 52 53 54 55 56 57 58 59 70 74 78 80 81 82 83 84 85 86 89 91 92 93 94 95 97 98 100 103".split()
    }
    for ds, subjects, bench, rule in (
        ("ntu60", subjects60, "xview", lambda s, c: c in (2, 3)),
        ("ntu120", subjects120, "xsetup", lambda s, c: s % 2 == 0),
    ):
        text = (files("skelcon") / "resources" / f"{ds}_missing_skeletons.txt").read_text()
        ids = [
            tuple(map(int, m.groups())) for m in re.finditer(r"S(\d+)C(\d+)P(\d+)R\d+A\d+", text)
        ]
        xsub = sum(p in subjects for _, _, p in ids)
        other = sum(rule(s, c) for s, c, _ in ids)
        assert (
            OFFICIAL_SPLITS[ds, "xsub"].missing_train,
            OFFICIAL_SPLITS[ds, "xsub"].missing_test,
        ) == (
            xsub,
            len(ids) - xsub,
        )
        split = OFFICIAL_SPLITS[ds, bench]
        assert (split.missing_train, split.missing_test) == (other, len(ids) - other)


def test_random_init_rows_are_labelled():
    md = (FIXTURE / "expected.md").read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if x.endswith("| evals/ntu60_xview/linear_seq_random |"))
    assert "**none (random init)**" in line


def test_paper_table_numbers():
    inter = ["seq", "stg"]
    for (ds, bench), v in {
        ("ntu60", "xview"): 85.2,
        ("ntu60", "xsub"): 76.3,
        ("ntu120", "xsetup"): 67.9,
        ("ntu120", "xsub"): 67.1,
        ("pku-mmd1", "xsub"): 80.9,
        ("pku-mmd2", "xsub"): 36.0,
    }.items():
        assert lookup("linear", ds, bench, "seq", pretrain=inter).top1 == v
    for (ds, bench), v in {
        ("ntu60", "xview"): 82.6,
        ("ntu60", "xsub"): 62.5,
        ("ntu120", "xsetup"): 52.3,
        ("ntu120", "xsub"): 50.6,
    }.items():
        assert lookup("knn", ds, bench, "seq", pretrain=inter, k=1).top1 == v
        assert lookup("knn", ds, bench, "seq", pretrain=inter, k=5) is None
    semi = {
        ("ntu60", "xview"): {1: 38.1, 5: 65.7, 10: 72.5, 20: 78.2},
        ("ntu60", "xsub"): {1: 35.7, 5: 59.6, 10: 65.9, 20: 70.8},
        ("pku-mmd1", "xsub"): {1: 37.7, 10: 72.1},
    }
    for (ds, bench), by_f in semi.items():
        for f, v in by_f.items():
            assert lookup("semi", ds, bench, "seq", pretrain=inter, fraction=f).top1 == v
    assert lookup("semi", "pku-mmd1", "xsub", "seq", pretrain=inter, fraction=5) is None
    for src, v in (("pku-mmd1", 45.1), ("ntu60", 45.9)):
        assert lookup("transfer", "pku-mmd2", "xsub", "seq", pretrain=inter, source=src).top1 == v

    def abl(rep, pre, aug=None):
        kw = {} if aug is None else {"augment": aug}
        return lookup("linear", "ntu60", "xview", rep, pretrain=pre, **kw).top1

    none = Augmentation(temporal=False, spatial="none")
    for rep, lo, hi in (("img", 51.0, 79.6), ("stg", 51.4, 72.5), ("seq", 50.0, 82.5)):
        assert (abl(rep, [rep], none), abl(rep, [rep])) == (lo, hi)
    assert (abl("seq", ["seq", "stg"]), abl("img", ["img", "seq"]), abl("stg", ["seq", "stg"])) == (
        85.2,
        81.7,
        78.9,
    )
    jit = [
        abl("img", ["img"], Augmentation(False, "jitter", jitter_joints=j))
        for j in (2, 5, 10, 15, 20)
    ]
    assert jit == [65.6, 67.5, 69.4, 74.6, 70.6]
    crop = [abl("img", ["img"], Augmentation(True, "none", l_min=v)) for v in (0.1, 0.3, 0.5)]
    assert crop == [62.5, 62.0, 60.8]


def test_setting_labels():
    info = PretrainInfo(("seq", "stg"), Augmentation())
    assert info.setting("seq") == "SEQ, inter with STG" and info.label() == "inter SEQ↔STG"
    mixed = PretrainInfo(("seq", "stg"), Augmentation(), intra_weight=1.0)
    assert mixed.label() == "inter SEQ↔STG + intra"
    assert mixed.setting("seq") == "SEQ, inter with STG + intra"
    assert PretrainInfo(("seq", "stg"), Augmentation(), intra_weight=0.5).label() == (
        "inter SEQ↔STG + intra ×0.5"
    )
    assert PretrainInfo(("seq",), Augmentation()).label() == "intra SEQ"
    assert PretrainInfo(("seq",), Augmentation()).setting("seq") == "SEQ, intra"
    assert (
        PretrainInfo(("img", "seq", "stg"), Augmentation()).setting("seq+stg")
        == "SEQ+STG, inter with IMG"
    )
    assert (
        PretrainInfo(("seq",), Augmentation(spatial="none")).augment_text()
        == "crop-resize (l_min 0.1)"
    )


def _metrics(path: Path, **rec) -> None:
    path.mkdir(parents=True, exist_ok=True)
    base = {
        "protocol": "linear",
        "representation": "seq",
        "dataset": "ntu60",
        "benchmark": "xview",
        "top1": 50.0,
        "random_init": False,
        "preset": "small",
    }
    (path / "metrics.json").write_text(json.dumps({**base, **rec}))


def test_setting_epochs_clips_and_source_read_from_a_checkpoint_without_config(tmp_path):
    import torch
    import yaml

    from skelcon.config import FinetuneConfig, to_dict

    recipe = yaml.safe_load((FIXTURE / "runs" / "pku1_paper" / "config.yaml").read_text())
    runs = {  # name: (augment.spatial, epochs trained, pre-training clips)
        "default": ("random", 600, 18_841),
        "shear": ("shear", 600, 18_841),
        "short": ("random", 2, 18_841),
        "subset": ("random", 600, 1_510),
    }
    for name, (spatial, epoch, clips) in runs.items():
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        cfg = {**recipe, "augment": {**recipe["augment"], "spatial": spatial}}
        torch.save(
            {
                "config": cfg,
                "model": {},
                "epoch": epoch,
                "num_clips": clips,
                "benchmark": "xsub",
                "data": {"dataset": "pku-mmd1"},
            },
            run / "last.pt",
        )
        _metrics(tmp_path / "ev" / f"lin_{name}", checkpoint=str(run))
        _metrics(
            tmp_path / "ev" / f"ft_{name}",
            protocol="finetune",
            checkpoint=str(run / "last.pt"),
            dataset="pku-mmd2",
            benchmark="xsub",
            top1=40.0,
            num_train=5_332,
            num_test=1_613,
            config=to_dict(FinetuneConfig()),
        )
    res = {r.source: r for r in collect([tmp_path / "ev"])}
    assert res["lin_shear"].pretrain.representations == ("seq", "stg")
    assert res["lin_shear"].pretrain.augment.spatial == "shear"
    assert res["lin_default"].pretrain.recipe() == "pku_mmd1"
    assert res["lin_default"].pretrain.epochs == 600 and res["lin_short"].pretrain.epochs == 2
    # fine-tuning on another dataset than the pre-training one is transfer (paper Table 4)
    ft = res["ft_default"]
    assert ft.source_dataset == "pku-mmd1" and ft.comparable and ft.paper.top1 == 45.1
    assert res["ft_shear"].paper.table == "Table 4" and res["ft_shear"].paper_reasons == [
        "recipe differs from pku_mmd1: augment.spatial shear"
    ]
    assert res["ft_short"].paper_reasons == ["pre-trained 2/600 epochs"]
    assert res["ft_subset"].paper_reasons == ["pre-trained on 1,510/18,841 clips"]
    write_report([tmp_path / "ev"], tmp_path / "r.md")
    text = (tmp_path / "r.md").read_text()
    assert (
        "| inter SEQ↔STG; aug: crop-resize (l_min 0.1) + shear; pre-trained on PKU-MMD I |" in text
    )


def test_pretraining_epochs_from_the_checkpoint_name_or_the_log(tmp_path):
    import shutil

    run = tmp_path / "runs" / "r"
    shutil.copytree(FIXTURE / "runs" / "ntu60_2ep", run)
    (run / "epoch_0050.pt").write_bytes(b"not a checkpoint")  # unreadable: the name says 50
    base = dict(num_train=37_646, num_test=18_932, config=to_dict(LinearEvalConfig()))
    _metrics(tmp_path / "ev" / "named", checkpoint=str(run / "epoch_0050.pt"), **base)
    _metrics(tmp_path / "ev" / "logged", checkpoint=str(run), **base)  # metrics.jsonl: 2
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "config.yaml").write_text((run / "config.yaml").read_text())
    _metrics(tmp_path / "ev" / "unknown", checkpoint=str(tmp_path / "bare"), **base)
    res = {r.source: r for r in collect([tmp_path / "ev"])}
    assert res["named"].paper_reasons == ["pre-trained 50/451 epochs"]
    assert res["logged"].paper_reasons == ["pre-trained 2/451 epochs"]
    assert res["logged"].pretrain_epochs_text() == "2 (of 451)"
    assert res["unknown"].paper_reasons == ["pre-training epochs unknown"]


def test_protocol_settings_hide_the_paper_figure(tmp_path):
    from skelcon.config import FinetuneConfig, KnnConfig

    run = str(FIXTURE / "runs" / "inter_seq_stg")
    full = dict(num_train=37_646, num_test=18_932, checkpoint=run)
    lin = to_dict(LinearEvalConfig())
    _metrics(tmp_path / "ok", config=lin, **full)
    _metrics(tmp_path / "lr", config={**lin, "lr": 0.05}, **full)
    _metrics(tmp_path / "drops", config={**lin, "milestones": [60]}, **full)
    _metrics(
        tmp_path / "euclid",
        protocol="knn",
        k=1,
        config={**to_dict(KnnConfig()), "similarity": "euclidean"},
        **full,
    )
    subsets = [{"fraction": 0.01, "mean": 30.0, "std": 1.0, "runs": [29.0, 30.0, 31.0]}]
    _metrics(
        tmp_path / "three",
        protocol="semi",
        results=subsets,
        config=to_dict(FinetuneConfig()),
        **full,
    )
    res = {r.source: r for r in collect([tmp_path])}
    assert res["ok"].comparable and res["ok"].paper.top1 == 85.2
    assert res["lr"].paper_reasons == ["linear lr 0.05 (paper 0.1)"]
    assert res["drops"].paper_reasons == ["linear milestones [60] (paper [50, 70])"]
    assert res["euclid"].paper_reasons == ["knn similarity euclidean (paper cosine)"]
    assert res["three"].paper.top1 == 38.1 and res["three"].paper_reasons == ["3/5 label subsets"]


def test_cached_linear_training_crops_hide_the_paper_figure(tmp_path):
    """A crop bank or a cached centre crop is not the protocol's fresh random crop each
    epoch; files from before these options (no keys) ran the protocol."""
    run = str(FIXTURE / "runs" / "inter_seq_stg")
    full = dict(num_train=37_646, num_test=18_932, checkpoint=run)
    lin = to_dict(LinearEvalConfig())
    old = {
        k: v for k, v in lin.items() if k not in ("train_crop", "crop_bank", "crop_bank_max_gib")
    }
    _metrics(tmp_path / "exact", config=lin, **full)
    _metrics(tmp_path / "old", config=old, **full)
    _metrics(tmp_path / "bank", config={**lin, "crop_bank": 8}, **full)
    _metrics(tmp_path / "center", config={**lin, "train_crop": "center"}, **full)
    res = {r.source: r for r in collect([tmp_path])}
    assert res["exact"].comparable and res["old"].comparable and res["exact"].paper.top1 == 85.2
    assert res["bank"].paper_reasons == [
        "linear crop bank 8 (paper: a fresh random crop each epoch)"
    ]
    assert res["center"].paper_reasons == [
        "linear train_crop center (paper: a random crop each epoch)"
    ]
    assert res["bank"].eval_epochs_text() == "80 (crop bank 8)"
    assert res["exact"].eval_epochs_text() == "80"
    write_report([tmp_path], tmp_path / "r.md")
    row = next(x for x in (tmp_path / "r.md").read_text().splitlines() if x.endswith("| bank |"))
    assert "| 80 (crop bank 8) |" in row and "not comparable (T1): linear crop bank 8" in row
    assert "85.2" not in row


def test_recipe_names():
    from skelcon.report import packaged_recipes, recipe_diff

    recipes = packaged_recipes()
    assert {"cpu_small", "ntu60", "ntu120", "pku_mmd1", "pku_mmd2"} <= set(recipes)
    for name, flat in recipes.items():
        assert PretrainInfo(("seq", "stg"), Augmentation(), config=flat).recipe() == name
    ntu60 = dict(recipes["ntu60"])
    # epochs, seed and logging do not shape the weights; the rest does
    assert recipe_diff({**ntu60, "epochs": 2, "seed": 3, "log_every": 1}, recipes["ntu60"]) == []
    assert recipe_diff({**ntu60, "optim.lr": 0.1}, recipes["ntu60"]) == ["optim.lr"]
    assert recipe_diff({**ntu60, "optim.weight_decay": "1e-4"}, recipes["ntu60"]) == []
    odd = PretrainInfo(("seq", "stg"), Augmentation(), config={**ntu60, "batch_size": 32})
    assert odd.recipe() == "custom"


def test_errors(tmp_path, capsys):
    with pytest.raises(SkelconError, match="does not exist"):
        collect([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SkelconError, match="no metrics.json"):
        collect([tmp_path / "empty"])
    bad = tmp_path / "bad" / "metrics.json"
    bad.parent.mkdir()
    bad.write_text('{"protocol": "linear",\n oops}')
    with pytest.raises(DataFormatError) as e:
        collect([bad.parent])
    assert e.value.path == str(bad) and e.value.line == 2
    _metrics(tmp_path / "notop", top1=None)
    with pytest.raises(DataFormatError, match="top1"):
        collect([tmp_path / "notop"])
    _metrics(tmp_path / "other" / "a", protocol="pretrain-bench")
    _metrics(tmp_path / "other" / "b")
    warnings: list[str] = []
    assert [r.source for r in collect([tmp_path / "other"], warnings)] == ["b"]
    assert len(warnings) == 1 and "pretrain-bench" in warnings[0]
    with pytest.raises(SkelconError, match="report format"):
        write_report([tmp_path / "other"], tmp_path / "r.txt", fmt="html")
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.md")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "r.md").exists()


def test_cli_writes_each_format(tmp_path, capsys):
    for fmt in ("md", "csv", "json"):
        out = tmp_path / f"report_{fmt}.txt"
        assert main(["report", str(FIXTURE), "--out", str(out), "--format", fmt]) == 0
        assert out.read_text(encoding="utf-8") == (FIXTURE / f"expected.{fmt}").read_text(
            encoding="utf-8"
        )
    assert "report of 27 results" in capsys.readouterr().out


def test_class_subset_is_not_set_beside_the_full_dataset_numbers(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.json").write_text(json.dumps({"num_classes": 8}))
    run = str(FIXTURE / "runs" / "pku1_paper")
    for name, d, sizes in (("subset", str(data), (1_510, 195)), ("full", None, (18_841, 2_704))):
        rec = {
            "protocol": "linear",
            "representation": "seq",
            "top1": 50.0,
            "num_train": sizes[0],
            "num_test": sizes[1],
            "dataset": "pku-mmd1",
            "benchmark": "xsub",
            "data": d,
            "checkpoint": run,
            "config": to_dict(LinearEvalConfig()),
        }
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(rec))
    by_ds = {r.dataset: r for r in collect([tmp_path / "subset", tmp_path / "full"])}
    sub = by_ds["pku-mmd1 (8 of 51 classes)"]
    assert not sub.comparable and sub.paper_reasons == [
        "8/51 classes",
        "1,510/18,841 train, 195/2,704 test clips",
    ]
    assert by_ds["pku-mmd1"].comparable and by_ds["pku-mmd1"].paper.top1 == 80.9


def test_a_stretched_cpu_small_run_is_still_cpu_small(tmp_path):
    """A run on a small split under min_steps ran more epochs with the warm-up stretched
    alike: it is the packaged recipe, an old-recipe config is not."""
    import yaml

    from skelcon.cli import resolve_config_path
    from skelcon.config import PretrainConfig, load_config, to_dict
    from skelcon.engine.pretrain import stretch_to_min_steps
    from skelcon.report import DEFAULT_AUG, PretrainInfo, _full_config

    cfg = load_config(PretrainConfig, resolve_config_path("cpu_small"))
    assert stretch_to_min_steps(cfg, 100)  # 1,000 epochs of one step, warm-up 40
    saved = to_dict(cfg)

    def info(config):
        return PretrainInfo(
            ("seq", "stg"), DEFAULT_AUG, planned_epochs=cfg.epochs, config=_full_config(config)
        )

    assert info(saved).recipe() == "cpu_small"
    old = yaml.safe_load(yaml.safe_dump(saved))
    old["augment"]["l_min"] = 0.1  # the recipe before min_steps and the 2D crop
    assert info(old).recipe() == "custom"


# ---------------------------------------------------------------- EvalRecord


def test_eval_record_reads_every_fixture_and_round_trips():
    """The report reads metrics.json through EvalRecord.from_dict: every fixture (written
    before the schema field) reads, and to_dict/from_dict round-trip it."""
    from skelcon.eval.record import EvalRecord

    files = sorted((FIXTURE / "evals").rglob("metrics.json"))
    assert len(files) > 15
    for f in files:
        raw = json.loads(f.read_text())
        rec = EvalRecord.from_dict(raw, str(f))
        assert rec.schema == 0 and rec.protocol == raw["protocol"]
        assert (rec.results is not None) == ("results" in raw)
        assert EvalRecord.from_dict(rec.to_dict()) == rec


def test_eval_record_is_what_the_protocols_write():
    from skelcon.eval.record import SCHEMA_VERSION, EvalRecord, FractionResult

    knn = EvalRecord(
        protocol="knn",
        representation="seq",
        dataset="tiny",
        benchmark="default",
        num_train=8,
        num_test=4,
        reachable_test=4,
        data="d",
        checkpoint=None,
        random_init=True,
        preset="small",
        top1=50.0,
        k=1,
        similarity="cosine",
        config={"k": 1},
        seconds=0.1,
        extra={"top5": 100.0},
    )
    d = knn.to_dict()
    assert d["schema"] == SCHEMA_VERSION and d["checkpoint"] is None and d["top5"] == 100.0
    assert "results" not in d and "source_dataset" not in d
    assert EvalRecord.from_dict(d) == knn and EvalRecord.from_dict(d).to_dict() == d
    semi = EvalRecord(
        protocol="semi",
        representation="seq",
        dataset="tiny",
        benchmark="default",
        results=(FractionResult(0.5, 40.0, 2.0, (38.0, 42.0), (3, 3), {"top5_mean": 90.0}),),
        extra={"std": "population (ddof=0) over the repeats"},
    )
    d = semi.to_dict()
    assert "top1" not in d and d["results"][0]["runs"] == [38.0, 42.0]
    assert d["results"][0]["top5_mean"] == 90.0 and d["std"].startswith("population")
    assert EvalRecord.from_dict(d) == semi
    # older files: no schema, no reachable_test, pretrain_dataset for source_dataset
    old = {
        "protocol": "finetune",
        "representation": "seq",
        "dataset": "pku-mmd2",
        "benchmark": "xsub",
        "pretrain_dataset": "pku-mmd1",
        "results": [{"fraction": 1.0, "mean": 50.0}],
    }
    rec = EvalRecord.from_dict(old)
    assert rec.schema == 0 and rec.reachable_test is None and rec.source_dataset == "pku-mmd1"
    assert rec.results == (FractionResult(1.0, 50.0),)
    for bad, said in [
        ({**old, "dataset": 3}, "'dataset' must be a string"),
        ({**old, "results": []}, "'results' must be a non-empty list"),
        ({**old, "results": [{"fraction": 1.0, "mean": "x"}]}, "'mean' must be"),
        ({**old, "protocol": "linear", "results": None}, "'results' must be"),
    ]:
        with pytest.raises(DataFormatError, match=said):
            EvalRecord.from_dict(bad, "m.json")
    lin = {k: v for k, v in old.items() if k != "results"}
    with pytest.raises(DataFormatError, match="'top1' must be a finite number"):
        EvalRecord.from_dict({**lin, "protocol": "linear"}, "m.json")


def test_a_dataset_without_a_name_is_reported_and_a_newer_schema_refused(tmp_path, capsys):
    """A meta.json without a dataset name gives records with dataset None: they round-trip
    and the report still renders; a schema newer than this skelcon is one line."""
    import shutil

    from skelcon.errors import DataFormatError
    from skelcon.eval.record import SCHEMA_VERSION, EvalRecord

    shutil.copytree(FIXTURE, tmp_path / "runs")
    f = sorted((tmp_path / "runs" / "evals").rglob("metrics.json"))[0]
    raw = json.loads(f.read_text())
    raw["dataset"] = None
    f.write_text(json.dumps(raw))
    assert EvalRecord.from_dict(EvalRecord.from_dict(raw).to_dict()).dataset is None
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "r.md")]) == 0
    with pytest.raises(DataFormatError, match="newer than this skelcon reads"):
        EvalRecord.from_dict({**raw, "schema": SCHEMA_VERSION + 1})


def test_ensembles_are_rows_with_their_members(tmp_path):
    import numpy as np

    from skelcon.eval.ensemble import ensemble
    from skelcon.eval.scores import write_scores

    names, labels = ["a", "b", "c"], [0, 1, 1]
    dirs = []
    for i, (stream, top) in enumerate([("joint", 0), ("bone", 1), ("motion", 1)]):
        d = tmp_path / "evals" / stream
        scores = np.eye(2, dtype=np.float32)[[top, top, i % 2]]
        info = dict(representation="stg", stream=stream, dataset="ntu60", benchmark="xview")
        write_scores(d, scores, names, labels, kind="logits", protocol="linear", **info)
        _metrics(d, representation="stg", top1=float((scores.argmax(1) == labels).mean() * 100))
        dirs.append(d)
    ensemble(dirs, tmp_path / "evals" / "ens")
    results = collect([tmp_path / "evals"])
    ens = next(r for r in results if r.protocol == "ensemble")
    assert ens.paper is None and ens.streams_text() == "joint+bone+motion"
    assert ens.members_text() == (
        "linear joint ×0.6 (33.33) + linear bone ×0.6 (66.67) + linear motion ×0.4 (33.33)"
    )
    write_report([tmp_path / "evals"], tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    table = md.split("## Ensembles")[1]
    assert "| STG (joint+bone+motion) | linear joint ×0.6 (33.33) + linear bone" in table
    assert table.rstrip().endswith("| 33.33 | ens |")
    assert table.count("\n| ") == 2  # the header and one row (the members are linear rows)
    write_report([tmp_path / "evals"], tmp_path / "r.csv")
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    by_path = {r["path"]: r for r in rows}
    assert by_path["ens"]["representation"] == "stg (joint+bone+motion)"
    assert by_path["ens"]["pretraining"].startswith("ensemble: linear joint ×0.6")
    assert by_path["joint"]["representation"] == "stg"  # the members' rows as before
    assert not by_path["joint"]["pretraining"].startswith("ensemble")


def test_a_bone_stream_run_says_so_and_is_not_the_papers_setting(tmp_path):
    """The paper reports joints: a run pre-trained on another stream keeps its paper recipe
    but is not comparable, and its loss-terms cell names the stream."""
    import shutil

    import yaml

    root = tmp_path / "report"
    shutil.copytree(FIXTURE, root)
    cfg_path = root / "runs" / "inter_seq_stg" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["stream"] = "bone"
    cfg_path.write_text(yaml.safe_dump(cfg))
    res = next(r for r in collect([root / "evals" / "ntu60_xview"]) if r.source == "linear_seq")
    assert res.pretrain.label() == "inter SEQ↔STG, bone stream"
    assert res.pretrain.recipe() == "ntu60"
    assert res.paper is not None and "bone stream (paper: joints)" in res.paper_reasons


def test_a_from_scratch_run_names_its_stream():
    from skelcon.report.records import Result

    row = dict(source="x", dataset="d", benchmark="b", representation="stg", top1=50.0)
    assert Result(protocol="supervised", stream="motion", **row).pretraining_text() == (
        "none (random init), motion stream"
    )
    assert Result(protocol="supervised", stream="joint", **row).pretraining_text() == (
        "none (random init)"
    )
    assert Result(protocol="linear", **row).pretraining_text() == "unknown (no config.yaml)"
