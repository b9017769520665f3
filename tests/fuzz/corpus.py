"""Valid seed inputs per reader: real files from the shared data when present,
synthesised ones otherwise (:class:`Corpus`).
"""

from __future__ import annotations

import contextlib
import lzma
import os
import random
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


def _ntu_first_frames(text: bytes, k: int) -> bytes:
    """The first ``k`` frames of a valid NTU ``.skeleton`` text (frame count rewritten)."""
    lines = text.split(b"\n")
    i = 1
    for _ in range(k):
        nb = int(lines[i])
        i += 1 + nb * 27
    return b"\n".join([str(k).encode(), *lines[1:i]]) + b"\n"


def synth_ntu(rng: random.Random, frames: int = 12) -> bytes:
    """A valid synthetic NTU ``.skeleton`` text (0-2 bodies per frame)."""
    lines = [str(frames)]
    for _ in range(frames):
        nb = rng.choice([1, 1, 2, 0])
        lines.append(str(nb))
        for b in range(nb):
            lines.append(f"7205759403793110{b} 0 1 1 1 1 0 0.02764709 0.05745083 2")
            lines.append("25")
            for _ in range(25):
                x, y, z = rng.gauss(0, 0.3), rng.gauss(0, 0.3), 3 + rng.gauss(0, 0.3)
                lines.append(f"{x:.7f} {y:.7f} {z:.6f} 277.4 191.8 1036.2 519.1 0 0 0 0 2")
    return ("\n".join(lines) + "\n").encode()


def synth_pku(rng: random.Random, frames: int = 40) -> str:
    """A valid synthetic PKU-MMD skeleton text (``frames`` lines of 150 numbers)."""
    rows = []
    for _ in range(frames):
        rows.append(
            " ".join(f"{rng.gauss(0, 0.4) + (2 if k % 3 == 2 else 0):.6f}" for k in range(150))
        )
    return "\n".join(rows) + "\n"


@dataclass
class Corpus:
    """Seed inputs. Real files from ``shared`` (the shared data folder) when given,
    else synthesised ones; ``real`` says which."""

    ntu: list[tuple[str, bytes]] = field(default_factory=list)  # (sample name, file bytes)
    pku: list[tuple[str, str, str]] = field(default_factory=list)  # (stem, skeleton, labels)
    pku_label_files: list[str] = field(default_factory=list)  # whole official label files
    pku_splits: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    real: bool = False

    @classmethod
    def load(cls, shared: str | os.PathLike | None = None, *, seed: int = 0) -> Corpus:
        """Build the corpus; ``shared`` is the shared data folder or None."""
        rng = random.Random(seed)
        c = cls()
        root = configs_root()
        c.configs = [
            p.read_text("utf-8") for p in sorted(root.iterdir()) if p.name.endswith(".yaml")
        ]
        shared = Path(shared) if shared is not None else None
        ntu_zip = shared / "ntu" / "nturgbd_skeletons_s001_to_s017.zip" if shared else None
        pku_root = shared / "pku_mmd" / "v1" if shared else None
        if ntu_zip is not None and ntu_zip.is_file():
            c.real = True
            with zipfile.ZipFile(ntu_zip) as zf:
                members = sorted(m for m in zf.namelist() if m.endswith(".skeleton"))
                # small ones first (fast cases), plus one cut-off and one two-person file
                members.sort(key=lambda m: zf.getinfo(m).file_size)
                chosen = members[:3] + [m for m in members if "S005C002P013R002A056" in m]
                chosen += [m for m in members if "A050" in m][:1]
                for m in dict.fromkeys(chosen):
                    data = zf.read(m)
                    c.ntu.append((Path(m).stem, data))
            # short real excerpts: the first frames of each complete file
            for name, data in list(c.ntu):
                with contextlib.suppress(ValueError, IndexError):
                    c.ntu.append((name, _ntu_first_frames(data, 20)))
        else:
            c.ntu = [
                (f"S001C001P001R001A{a:03d}", synth_ntu(rng, rng.randint(3, 20))) for a in (1, 50)
            ]
        if pku_root is not None and (pku_root / "PKU_Skeleton_Renew").is_dir():
            c.real = True
            skel_files = sorted((pku_root / "PKU_Skeleton_Renew").glob("*.txt.xz"))[:3]
            for f in skel_files:
                stem = f.name.split(".")[0]
                with lzma.open(f, "rt") as fh:
                    lines = fh.read().splitlines()
                total = len(lines)
                excerpt = lines[:80]
                labels = (pku_root / "Train_Label_PKU_final" / f"{stem}.txt").read_text("utf-8")
                c.pku.append((stem, "\n".join(excerpt) + "\n", _scale_labels(labels, total, 80)))
            label_dir = pku_root / "Train_Label_PKU_final"
            c.pku_label_files = [p.read_text("utf-8") for p in sorted(label_dir.glob("*.txt"))[:40]]
            c.pku_splits = [
                p.read_text("utf-8", errors="replace")
                for p in sorted((pku_root / "Split").glob("*.txt"))
            ]
        else:
            for stem in ("0002-L", "0003-M"):
                text = synth_pku(rng, 40)
                labels = "".join(
                    f"{rng.randint(1, 51)},{s},{s + rng.randint(0, 15)},{rng.randint(0, 2)}\n"
                    for s in sorted(rng.sample(range(20), 4))
                )
                c.pku.append((stem, text, labels))
            c.pku_label_files = [lab for _, _, lab in c.pku]
            shipped = resources.files("skelcon").joinpath("resources", "pku_mmd1")
            c.pku_splits = [shipped.joinpath(f).read_text("utf-8") for f in ("cross-subject.txt",)]
        return c


def _scale_labels(text: str, total: int, frames: int) -> str:
    """Real label lines with start/end scaled from ``total`` to ``frames`` frames (the
    line format, classes and confidences stay as in the official file)."""
    out = []
    for line in text.splitlines():
        parts = line.split(",")
        try:
            label, s, e, conf = parts
            s2 = int(s) * frames // total
            e2 = max(s2, min(frames - 1, int(e) * frames // total))
        except ValueError:
            out.append(line)
            continue
        out.append(f"{label},{s2},{e2},{conf}")
    return "\n".join(out) + "\n"


def configs_root() -> Path:
    """The folder of the packaged YAML recipes."""
    return Path(str(resources.files("skelcon") / "configs"))
