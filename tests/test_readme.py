"""Every ```python block of README.md runs, as written, against a tiny dataset and a
1-epoch run placed where the README's paths point (``data/pku1``, ``runs/pku1-small``);
the ``skelcon`` lines of the Python API and Export sections' ```bash blocks run first,
through the CLI, so the blocks that read their output find it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from tinydata import TINY_PRETRAIN, make_tiny_prepared

from skelcon.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(text: str, lang: str) -> list[str]:
    """The bodies of the ```lang fenced blocks of ``text``, in order."""
    return [body for kind, body in FENCE.findall(text) if kind == lang]


def section(text: str, title: str) -> str:
    """The README's ``## <title>`` section (up to the next ``## `` heading)."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def api_section(text: str) -> str:
    """The sections whose ``skelcon`` commands run before the Python blocks: the
    ``## Python API`` and ``## Export`` sections."""
    return section(text, "Python API") + section(text, "Export")


def shell_commands(block: str) -> list[list[str]]:
    """``skelcon ...`` lines of a bash block (``\\`` continuations joined) as argv lists."""
    text = re.sub(r"\\\n\s*", " ", block)
    return [
        shlex.split(line, comments=True)[1:]
        for line in text.splitlines()
        if line.startswith("skelcon ")
    ]


def readme_prepare_lines(text: str, datasets: tuple[str, ...]) -> list[list[str]]:
    """The ``skelcon prepare DATASET ...`` lines of the "Using it" section for ``datasets``,
    as argv lists, in order."""
    return [
        argv
        for block in blocks(section(text, "Using it"), "bash")
        for argv in shell_commands(block)
        if argv[:1] == ["prepare"] and argv[1] in datasets
    ]


def test_block_parsing_finds_the_api_blocks():
    text = README.read_text()
    assert len(blocks(text, "python")) >= 3
    cmds = [c for b in blocks(api_section(text), "bash") for c in shell_commands(b)]
    assert [c[0] for c in cmds] == ["embed", "embed", "export", "export"]
    assert blocks("a\n```python\nx = 1\n```\n```bash\nls\n```\n", "python") == ["x = 1\n"]


@pytest.fixture(scope="module")
def readme_dir(tmp_path_factory) -> Path:
    """A working directory holding ``data/pku1`` (benchmark ``xsub``) and a 1-epoch
    SEQ+STG run ``runs/pku1-small`` of the README's ``cpu_small`` recipe, shrunk."""
    root = tmp_path_factory.mktemp("readme")
    make_tiny_prepared(root / "data" / "pku1", benchmark="xsub")
    sets = [a for item in TINY_PRETRAIN for a in ("--set", item)]
    rc = main(
        [
            "pretrain",
            "--data",
            str(root / "data" / "pku1"),
            "--benchmark",
            "xsub",
            "--config",
            "cpu_small",
            "--out",
            str(root / "runs" / "pku1-small"),
            "--epochs",
            "1",
            "--quiet",
            *sets,
        ]
    )
    assert rc == 0
    return root


@pytest.mark.slow
def test_readme_blocks_run(readme_dir, monkeypatch, capsys):
    monkeypatch.chdir(readme_dir)
    text = README.read_text()
    for block in blocks(api_section(text), "bash"):
        for argv in shell_commands(block):
            assert main(argv) == 0, argv
    capsys.readouterr()
    for i, code in enumerate(blocks(text, "python")):
        namespace: dict = {"__name__": f"readme_block_{i}"}
        exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert re.search(
        r"top-1 \d+\.\d % over the 3 classes of the test split \(3 in the dataset\)", out
    ), out
    assert "torch.Size([12, 384])" in out, out  # seq 256 + stg 128 over the 12 test clips
    assert "ntu25 ['N', 3, 'T', 25, 2] (4, 256)" in out, out  # the onnxruntime example


def test_readme_prepare_lines_give_the_data_the_text_states(readme_prepared):
    """The README's PKU-MMD line, run as written on the shared subset, gives the dataset
    of the Results table (its sizes read from the README's text, not typed here), and
    the NTU lines prepare the shared samples."""
    from skelcon.data.prepared import load_prepared, read_meta

    text = README.read_text()
    results = section(text, "Results")
    m = re.search(
        r"at least (\d+)\s+instances are the (\d+) two-person interactions: "
        r"([\d,]+) training\s+clips.*?and (\d+) test clips, cross-subject",
        results,
        re.S,
    )
    assert m, "the Results section no longer states the PKU-MMD subset's sizes"
    k, classes, train, test = int(m[1]), int(m[2]), int(m[3].replace(",", "")), int(m[4])
    pku = readme_prepared["data/pku1"]
    meta = read_meta(pku)
    assert meta["min_instances"] == k and meta["num_classes"] == classes
    assert len(load_prepared(pku, "xsub", "train")) == train
    assert len(load_prepared(pku, "xsub", "test")) == test
    assert meta["class_coverage"]["empty"] == [] and meta["class_coverage"]["tiny"] == []
    assert {"data/ntu60", "data/ntu120"} <= set(readme_prepared)
    ntu60 = (pku.parent / "ntu60.out").read_text()  # the x-view split of the NTU-60 sample:
    assert (
        "benchmark xview: " in ntu60 and "8 of 8 test clips can never be classified right" in ntu60
    )
