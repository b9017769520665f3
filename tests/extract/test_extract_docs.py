"""The `skelcon` lines of the README's "From a video" section and of docs/extract.md are
commands the parser takes as written (their videos and models are placeholders)."""

from __future__ import annotations

from pathlib import Path

from test_readme import blocks, section, shell_commands

from skelcon.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[list[str]]:
    readme = section((ROOT / "README.md").read_text(), "From a video")
    docs = (ROOT / "docs" / "extract.md").read_text()
    return [
        argv for text in (readme, docs) for b in blocks(text, "bash") for argv in shell_commands(b)
    ]


def test_the_documented_commands_parse():
    cmds = _commands()
    assert {c[0] for c in cmds} >= {"extract", "prepare", "plot"}
    assert any("--backend" in c and "rtmpose" in c for c in cmds)
    parser = build_parser()
    for argv in cmds:
        args = parser.parse_args(argv)  # argparse exits (a test failure) on a bad line
        assert callable(args.func), argv
