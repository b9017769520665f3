"""``skelcon report``: hand-written metrics.json fixtures -> the paper's tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from skelcon.cli import main
from skelcon.errors import DataFormatError, SkelconError
from skelcon.paper_numbers import Augmentation, lookup
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
    return {(r["path"].removeprefix("evals/"), r["fraction"]): r["paper_top1"] for r in recs}


def test_paper_numbers_only_beside_matching_rows(tmp_path):
    paper = _paper_by_row(tmp_path)
    expected = {  # SPEC §6 / the paper's tables, typed by hand
        ("ntu60_xview/linear_seq", None): 85.2,  # Table 1, SEQ pre-trained inter with STG
        ("ntu60_xview/linear_seq_intra", None): 82.5,  # Tables 5, 6: SEQ intra, all augmentations
        ("ntu60_xview/linear_stg_inter", None): 78.9,  # Table 6: STG inter with SEQ
        ("ntu60_xview/linear_img_crop", None): 62.5,  # Table 5: IMG intra, crop-resize only
        ("ntu60_xsub/linear_seq_noconfig", None): 76.3,  # setting unknown: the headline number
        ("ntu60_xsub/knn_seq", None): 62.5,  # Table 3, NTU-60 x-sub
        ("ntu60_xview/semi_seq", 1.0): 38.1, ("ntu60_xview/semi_seq", 5.0): 65.7,
        ("ntu60_xview/semi_seq", 10.0): 72.5, ("ntu60_xview/semi_seq", 20.0): 78.2,
        ("pku_mmd1/semi_seq", 1.0): 37.7, ("pku_mmd1/semi_seq", 10.0): 72.1,
        ("ntu60_xview/supervised_seq", 1.0): 21.7,  # "supervised only"
        ("ntu60_xview/supervised_seq", 10.0): 59.8,
        ("transfer/pku2_from_pku1", 100.0): 45.1,  # Table 4
        ("ntu60_xview/finetune_seq", 100.0): 90.4,  # Table 7
        ("ntu60_xview/finetune_seq_random", 100.0): 87.8,
        # no matching setting in the paper:
        ("ntu60_xview/linear_seq_random", None): None,  # linear on a random encoder
        ("synthetic/linear_seq", None): None,
        ("ntu120_xsetup/knn_seq_k5", None): None,  # k = 5
        ("transfer/pku2_from_ucla", None): None,  # source NW-UCLA
    }  # fmt: skip
    assert paper == expected
    # a sub-directory alone gives the same numbers
    write_report([FIXTURE / "evals" / "pku_mmd1"], tmp_path / "p.csv")
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [(r["path"], r["fraction"], r["paper_top1"]) for r in rows] == [
        ("semi_seq", "1.0", "37.7"), ("semi_seq", "10.0", "72.1"),
    ]  # fmt: skip
    # rows without a paper number show the dash in the markdown
    md = (FIXTURE / "expected.md").read_text(encoding="utf-8")
    synth = [line for line in md.splitlines() if line.endswith("| evals/synthetic/linear_seq |")]
    assert len(synth) == 3 and all("| – |" in line for line in synth)


def test_random_init_rows_are_labelled():
    md = (FIXTURE / "expected.md").read_text(encoding="utf-8")
    line = next(x for x in md.splitlines() if x.endswith("| evals/ntu60_xview/linear_seq_random |"))
    assert "**none (random init)**" in line


def test_spec_section6_numbers():
    inter = ["seq", "stg"]
    for (ds, bench), v in {("ntu60", "xview"): 85.2, ("ntu60", "xsub"): 76.3, ("ntu120", "xsetup"): 67.9,
                           ("ntu120", "xsub"): 67.1, ("pku-mmd1", "xsub"): 80.9,
                           ("pku-mmd2", "xsub"): 36.0}.items():  # fmt: skip
        assert lookup("linear", ds, bench, "seq", pretrain=inter).top1 == v
    for (ds, bench), v in {("ntu60", "xview"): 82.6, ("ntu60", "xsub"): 62.5, ("ntu120", "xsetup"): 52.3,
                           ("ntu120", "xsub"): 50.6}.items():  # fmt: skip
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
        85.2, 81.7, 78.9,
    )  # fmt: skip
    jit = [
        abl("img", ["img"], Augmentation(False, "jitter", jitter_joints=j))
        for j in (2, 5, 10, 15, 20)
    ]
    assert jit == [65.6, 67.5, 69.4, 74.6, 70.6]
    crop = [abl("img", ["img"], Augmentation(True, "none", l_min=v)) for v in (0.1, 0.3, 0.5)]
    assert crop == [62.5, 62.0, 60.8]


def test_setting_labels():
    info = PretrainInfo(("seq", "stg"), Augmentation())
    assert info.setting("seq") == "SEQ, inter with STG" and info.label() == "inter SEQ+STG"
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
    base = {"protocol": "linear", "representation": "seq", "dataset": "ntu60", "benchmark": "xview",
            "top1": 50.0, "random_init": False, "preset": "small"}  # fmt: skip
    (path / "metrics.json").write_text(json.dumps({**base, **rec}))


def test_setting_and_source_read_from_a_checkpoint_without_config(tmp_path):
    import torch

    for name, spatial in (("shear", "shear"), ("default", "random")):
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        cfg = {"representations": ["seq", "stg"], "augment": {"spatial": spatial}}
        torch.save({"config": cfg, "model": {}, "data": {"dataset": "pku-mmd1"}}, run / "last.pt")
        _metrics(tmp_path / "ev" / f"lin_{name}", checkpoint=str(run))
        _metrics(tmp_path / "ev" / f"ft_{name}", protocol="finetune", checkpoint=str(run / "last.pt"),
                 dataset="pku-mmd2", benchmark="xsub", top1=40.0)  # fmt: skip
    res = {r.source: r for r in collect([tmp_path / "ev"])}
    assert res["lin_shear"].pretrain.representations == ("seq", "stg")
    assert res["lin_shear"].pretrain.augment.spatial == "shear"
    # fine-tuning on another dataset than the pre-training one is transfer (paper Table 4)
    assert res["ft_default"].source_dataset == "pku-mmd1" and res["ft_default"].paper.top1 == 45.1
    assert res["ft_shear"].source_dataset == "pku-mmd1" and res["ft_shear"].paper is None
    write_report([tmp_path / "ev"], tmp_path / "r.md")
    text = (tmp_path / "r.md").read_text()
    assert (
        "| inter SEQ+STG; aug: crop-resize (l_min 0.1) + shear; pre-trained on PKU-MMD I |" in text
    )


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
    assert "report of 21 results" in capsys.readouterr().out


def test_class_subset_is_not_set_beside_the_full_dataset_numbers(tmp_path):
    import json

    from skelcon.report import collect

    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.json").write_text(json.dumps({"num_classes": 8}))
    for name, d in (("subset", str(data)), ("full", None)):
        rec = {"protocol": "linear", "representation": "seq", "top1": 50.0, "num_train": 1,
               "num_test": 1, "dataset": "pku-mmd1", "benchmark": "xsub", "data": d}  # fmt: skip
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(rec))
    by_ds = {r.dataset: r for r in collect([tmp_path / "subset", tmp_path / "full"])}
    assert by_ds["pku-mmd1 (8 of 51 classes)"].paper is None
    assert by_ds["pku-mmd1"].paper is not None and by_ds["pku-mmd1"].paper.top1 == 80.9
