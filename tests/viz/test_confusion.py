"""``skelcon plot confusion`` reads a metrics.json and writes a PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skelcon.cli import main
from skelcon.viz.confusion import normalise_rows, read_confusion


def _write(path, c=120, results=False):
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 5, size=(c, c)) + np.eye(c, dtype=int) * 20
    body = {"confusion_matrix": cm.tolist()}
    rec = {
        "protocol": "linear",
        "representation": "seq",
        "dataset": "ntu120",
        "benchmark": "xsub",
        "classes": [f"action number {i}" for i in range(c)],
    }
    if results:
        rec["results"] = [
            {"fraction": 0.1, **body},
            {"fraction": 1.0, "confusion_matrix": np.eye(c, dtype=int).tolist()},
        ]
    else:
        rec.update(body)
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.json").write_text(json.dumps(rec))
    return cm


def test_plot_confusion_writes_a_png_for_120_classes(tmp_path, capsys):
    _write(tmp_path / "ev")
    out = tmp_path / "cm.png"
    assert main(["plot", "confusion", str(tmp_path / "ev"), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "confusion matrix written" in capsys.readouterr().out


def test_fraction_choice_and_row_normalisation(tmp_path, capsys):
    cm = _write(tmp_path / "semi", c=4, results=True)
    counts, names, title = read_confusion(tmp_path / "semi" / "metrics.json", 0.1)
    assert np.array_equal(counts, cm) and names[0] == "action number 0" and "10 %" in title
    counts, _, title = read_confusion(tmp_path / "semi")
    assert np.array_equal(counts, np.eye(4)) and "100 %" in title
    norm = normalise_rows(np.array([[1.0, 3.0], [0.0, 0.0]]))
    assert norm.tolist() == [[0.25, 0.75], [0.0, 0.0]]
    out = tmp_path / "s.png"
    assert (
        main(["plot", "confusion", str(tmp_path / "semi"), "--out", str(out), "--fraction", "0.1"])
        == 0
    )
    assert out.exists()
    assert (
        main(["plot", "confusion", str(tmp_path / "semi"), "--out", str(out), "--fraction", "0.5"])
        == 2
    )
    assert "no fraction 0.5" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, "{not json", '{"top1": 50}'])
def test_bad_sources_are_one_line(tmp_path, capsys, content):
    src = tmp_path / "m.json"
    if content is not None:
        src.write_text(content)
    assert main(["plot", "confusion", str(src), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("skelcon: error:")
