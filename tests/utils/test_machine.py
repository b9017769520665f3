"""The machine line every figure-producing script prints (README figures name it)."""

from __future__ import annotations

import re
from pathlib import Path

from skelcon.utils.cpu import cpu_caps
from skelcon.utils.machine import machine_line

ROOT = Path(__file__).resolve().parents[2]
# scripts and benches whose printed figures the README or docs state
FIGURE_SCRIPTS = [
    *sorted((ROOT / "bench").glob("*.py")),
    ROOT / "scripts/pretraining_study.py",
    ROOT / "scripts/feature_diagnostics.py",
    ROOT / "scripts/ddp_cpu_throughput.sh",
    ROOT / "scripts/real_data_table.sh",
    ROOT / "scripts/held_out_table.sh",
]


def test_machine_line_names_cpu_isa_cpus_load_and_versions():
    line = machine_line()
    assert line.startswith(f"machine: {cpu_caps().describe()}; ")
    assert re.search(r"; \d+ usable CPUs; load (\d+\.\d|unknown); ", line), line
    assert "torch " in line and "skelcon " in line


def test_every_figure_script_prints_the_machine():
    quiet: set[str] = set()
    missing = [
        p.name for p in FIGURE_SCRIPTS if p.name not in quiet and "machine" not in p.read_text()
    ]
    assert not missing, f"print skelcon.utils.machine.machine_line() in: {missing}"
