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
    rc = main(["pretrain", "--data", str(root / "data" / "pku1"), "--benchmark", "xsub",
               "--config", "cpu_small", "--out", str(root / "runs" / "pku1-small"),
               "--epochs", "1", "--quiet", *sets])  # fmt: skip
    assert rc == 0
    return root


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
    assert re.search(r"top-1 \d+\.\d % over 3 classes", out), out
    assert "torch.Size([12, 384])" in out, out  # seq 256 + stg 128 over the 12 test clips
    assert "ntu25 ['N', 3, 'T', 25, 2] (4, 256)" in out, out  # the onnxruntime example
