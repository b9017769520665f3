"""The paper's reported top-1 accuracies (paper Tables 1-10) and the settings they need.

The paper: Thoker, Doughty and Snoek, "Skeleton-Contrastive 3D Action Representation
Learning", ACM Multimedia 2021 (arXiv:2108.03656).

Every number carries the setting it was measured in: protocol, dataset, benchmark,
downstream representation(s), the representations used in pre-training (``None``
for training from random initialisation, "supervised only"), the augmentation, and,
where relevant, the label fraction (semi-supervised), k (retrieval) or the source
dataset (transfer). :func:`lookup` finds the number for a result of ours, or ``None``.

Table 5 is stored only for the rows whose augmentations the extracted paper text
determines (none; crop-resize only; shear only; jitter only; all three); the two
crop-resize + one-spatial rows are left out because their order is ambiguous.

Beside the numbers: the official split sizes (:data:`OFFICIAL_SPLITS`), the downstream
protocol settings (:data:`PAPER_PROTOCOLS`) and the packaged recipe of each dataset
(:data:`PAPER_RECIPES`), which ``skelcon report`` checks before it sets a paper figure
beside a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

__all__ = [
    "BENCHMARK_NAMES",
    "DATASET_NAMES",
    "DEFAULT_AUG",
    "FULL_CLASSES",
    "OFFICIAL_SEQUENCES",
    "OFFICIAL_SPLITS",
    "PAPER",
    "PAPER_PROTOCOLS",
    "PAPER_RECIPES",
    "PAPER_SUBSETS",
    "Augmentation",
    "OfficialSplit",
    "PaperNumber",
    "lookup",
]

DATASET_NAMES = {
    "ntu60": "NTU-60",
    "ntu120": "NTU-120",
    "pku-mmd1": "PKU-MMD I",
    "pku-mmd2": "PKU-MMD II",
    "nw-ucla": "NW-UCLA",
    "synthetic": "synthetic",
}
BENCHMARK_NAMES = {"xsub": "x-sub", "xview": "x-view", "xsetup": "x-setup"}

# Class counts of the full datasets the paper reports on.
FULL_CLASSES = {"ntu60": 60, "ntu120": 120, "pku-mmd1": 51, "pku-mmd2": 41, "nw-ucla": 10}


@dataclass(frozen=True)
class OfficialSplit:
    """The official sample counts of one benchmark's train / test split.

    ``train`` and ``test`` are the counts the paper gives (Section 4.1, "Datasets and
    Evaluation"). ``missing_train`` / ``missing_test`` are how many samples of the
    official missing-skeleton list of the dataset fall in each split (counted from the
    packaged lists, ``skelcon/resources/*_missing_skeletons.txt``, with the split rules
    of ``skelcon prepare``): a standard preparation skips them, so a prepared split is
    full when its count lies in ``[official - missing, official]``. That range is the
    whole tolerance; PKU-MMD has no such list and must match exactly.
    """

    train: int
    test: int
    missing_train: int = 0
    missing_test: int = 0

    def accepts(self, split: str, count: int) -> bool:
        """Whether ``count`` samples in ``split`` ("train" / "test") are the full split."""
        full = self.train if split == "train" else self.test
        missing = self.missing_train if split == "train" else self.missing_test
        return full - missing <= count <= full


# Paper Section 4.1; missing-skeleton counts from the official NTU RGB+D lists (302 samples
# of NTU-60, 535 of NTU-120) split by the benchmark rules. NTU-120's paper counts already
# lie inside the range (63,026 + 50,922 = 114,480 - 532).
OFFICIAL_SPLITS: dict[tuple[str, str], OfficialSplit] = {
    ("ntu60", "xview"): OfficialSplit(37_920, 18_960, 274, 28),
    ("ntu60", "xsub"): OfficialSplit(40_320, 16_560, 229, 73),
    ("ntu120", "xsub"): OfficialSplit(63_026, 50_922, 334, 201),
    ("ntu120", "xsetup"): OfficialSplit(54_471, 59_477, 252, 283),
    ("pku-mmd1", "xsub"): OfficialSplit(18_841, 2_704),
    ("pku-mmd2", "xsub"): OfficialSplit(5_332, 1_613),
}

# Untrimmed sequences of the full dataset (PKU-MMD I: the 1,076 sequences of the official
# cross-subject and cross-view lists, skelcon/resources/pku_mmd1/).
OFFICIAL_SEQUENCES = {"pku-mmd1": 1_076}

# Downstream settings of the paper (Appendix A.1, "Downstream Training Details"): the
# config fields of skelcon's evaluation that must hold these values. Semi-supervised,
# "supervised only", fine-tuning and transfer share one fine-tuning recipe (Adam).
_FINETUNE_SETTINGS = {"epochs": 50, "lr": 1e-4, "milestones": [30, 40], "gamma": 0.1}
PAPER_PROTOCOLS: dict[str, dict[str, object]] = {
    "linear": {"epochs": 80, "lr": 0.1, "momentum": 0.9, "milestones": [50, 70], "gamma": 0.1},
    "knn": {"similarity": "cosine"},
    "semi": _FINETUNE_SETTINGS,
    "supervised": _FINETUNE_SETTINGS,
    "finetune": _FINETUNE_SETTINGS,
    "transfer": _FINETUNE_SETTINGS,
}
# Table 2: "average accuracy of five runs with random subsets of labeled samples".
PAPER_SUBSETS = 5

# The packaged recipe (``skelcon pretrain --config NAME``) that reproduces the paper's
# pre-training on each dataset (paper Section 4.2, "Implementation Details").
PAPER_RECIPES = {
    "ntu60": "ntu60",
    "ntu120": "ntu120",
    "pku-mmd1": "pku_mmd1",
    "pku-mmd2": "pku_mmd2",
}


@dataclass(frozen=True)
class Augmentation:
    """A pre-training view maker: crop-resize on/off, spatial augmentation, parameters.

    ``spatial="random"`` is the paper's "all three" (crop-resize, then shear or jitter
    chosen at random). Parameters that play no part (``l_min`` without crop-resize,
    ``jitter_joints`` without jitter) are cleared by :meth:`normalized`.
    """

    temporal: bool = True
    spatial: str = "random"
    l_min: float | None = 0.1
    jitter_joints: int | None = 15

    def normalized(self) -> Augmentation:
        return replace(
            self,
            l_min=round(float(self.l_min), 6) if self.temporal and self.l_min is not None else None,
            jitter_joints=int(self.jitter_joints)
            if self.spatial in ("random", "jitter") and self.jitter_joints is not None
            else None,
        )


DEFAULT_AUG = Augmentation()


@dataclass(frozen=True)
class PaperNumber:
    """One reported top-1 accuracy (%) and the setting it belongs to."""

    table: str
    protocol: str  # linear | knn | semi | finetune | transfer
    dataset: str
    benchmark: str
    representation: frozenset[str]  # downstream encoder(s)
    top1: float
    pretrain: frozenset[str] | None  # None: random initialisation (supervised only)
    augment: Augmentation = DEFAULT_AUG
    fraction: float | None = None  # percent of labelled training samples (semi)
    std: float | None = None
    k: int | None = None  # retrieval neighbours
    source: str | None = None  # pre-training dataset (transfer)


def _reps(text: str) -> frozenset[str]:
    return frozenset(text.split("+"))


_INTER = _reps("seq+stg")  # the paper's headline pre-training (SEQ with STG)
_NTU = [("ntu60", "xview"), ("ntu60", "xsub"), ("ntu120", "xsetup"), ("ntu120", "xsub")]


def _build() -> tuple[PaperNumber, ...]:
    out: list[PaperNumber] = []
    seq = _reps("seq")

    # Table 1: linear evaluation, SEQ encoder pre-trained inter SEQ+STG.
    for (ds, bench), v in zip(
        [*_NTU, ("pku-mmd1", "xsub"), ("pku-mmd2", "xsub")],
        [85.2, 76.3, 67.9, 67.1, 80.9, 36.0],
        strict=True,
    ):
        out.append(PaperNumber("Table 1", "linear", ds, bench, seq, v, _INTER))

    # Table 3: retrieval, 1-NN by cosine similarity.
    for (ds, bench), v in zip(_NTU, [82.6, 62.5, 52.3, 50.6], strict=True):
        out.append(PaperNumber("Table 3", "knn", ds, bench, seq, v, _INTER, k=1))

    # Table 2: semi-supervised (mean ± std of 5 label subsets); "supervised only" rows.
    semi = {
        ("ntu60", "xview"): (
            [1, 5, 10, 20],
            [(38.1, 1.0), (65.7, 0.5), (72.5, 0.4), (78.2, 0.3)],
            [(21.7, 1.0), (47.6, 1.0), (59.8, 0.5), (69.1, 0.5)],
        ),
        ("ntu60", "xsub"): (
            [1, 5, 10, 20],
            [(35.7, 0.5), (59.6, 0.5), (65.9, 1.0), (70.8, 1.0)],
            [(17.6, 0.5), (42.8, 0.5), (51.6, 1.0), (59.5, 1.0)],
        ),
        ("pku-mmd1", "xsub"): ([1, 10], [(37.7, 1.0), (72.1, 1.0)], [(22.5, 1.0), (55.4, 1.0)]),
    }
    for (ds, bench), (fracs, ours, sup) in semi.items():
        for f, (m, s), (sm, ss) in zip(fracs, ours, sup, strict=True):
            out.append(PaperNumber("Table 2", "semi", ds, bench, seq, m, _INTER, fraction=f, std=s))
            out.append(PaperNumber("Table 2", "semi", ds, bench, seq, sm, None, fraction=f, std=ss))

    # Table 4: transfer to PKU-MMD II (fine-tuned with all labels).
    for src, v in (("pku-mmd1", 45.1), ("ntu60", 45.9)):
        out.append(
            PaperNumber("Table 4", "transfer", "pku-mmd2", "xsub", seq, v, _INTER, source=src)
        )

    # Table 7 (appendix): end-to-end fine-tuning with all labels, SEQ encoder.
    for (ds, bench), pre, sup in zip(
        _NTU, [90.4, 79.3, 75.4, 73.1], [87.8, 72.9, 68.2, 66.3], strict=True
    ):
        out.append(PaperNumber("Table 7", "finetune", ds, bench, seq, pre, _INTER))
        out.append(PaperNumber("Table 7", "finetune", ds, bench, seq, sup, None))

    # Ablations: linear evaluation on NTU-60 x-view.
    def abl(table: str, rep: str, v: float, pre: str, aug: Augmentation = DEFAULT_AUG) -> None:
        out.append(PaperNumber(table, "linear", "ntu60", "xview", _reps(rep), v, _reps(pre), aug))

    # Table 5 (intra-skeleton, each representation alone).
    t5 = {
        Augmentation(temporal=False, spatial="none"): (51.0, 51.4, 50.0),
        Augmentation(temporal=True, spatial="none"): (62.5, 53.5, 64.1),
        Augmentation(temporal=False, spatial="shear"): (69.8, 63.8, 71.7),
        Augmentation(temporal=False, spatial="jitter"): (74.6, 66.1, 75.2),
        DEFAULT_AUG: (79.6, 72.5, 82.5),
    }
    for aug, values in t5.items():
        table = "Tables 5, 6" if aug == DEFAULT_AUG else "Table 5"
        for rep, v in zip(("img", "stg", "seq"), values, strict=True):
            abl(table, rep, v, rep, aug)
    # Table 8: IMG, jitter only, |j| joints.
    for j, v in ((2, 65.6), (5, 67.5), (10, 69.4), (20, 70.6)):
        abl(
            "Table 8",
            "img",
            v,
            "img",
            Augmentation(temporal=False, spatial="jitter", jitter_joints=j),
        )
    # Table 9: IMG, crop-resize only, l_min.
    for lmin, v in ((0.3, 62.0), (0.5, 60.8)):
        abl("Table 9", "img", v, "img", Augmentation(temporal=True, spatial="none", l_min=lmin))
    # Table 6: inter-skeleton pairs and triple (SEQ with STG is Table 1's 85.2).
    abl("Table 6", "img", 80.0, "img+stg")
    abl("Table 6", "stg", 78.0, "img+stg")
    abl("Table 6", "img", 81.7, "img+seq")
    abl("Table 6", "seq", 83.0, "img+seq")
    abl("Table 6", "stg", 78.9, "seq+stg")
    abl("Table 6", "img", 81.2, "img+seq+stg")
    abl("Table 6", "stg", 81.6, "img+seq+stg")
    abl("Table 6", "seq", 85.4, "img+seq+stg")
    # Table 10: two downstream representations from one inter-skeleton pre-training.
    abl("Table 10", "img+stg", 81.8, "img+stg")
    abl("Table 10", "img+seq", 82.6, "img+seq")
    abl("Table 10", "seq+stg", 86.0, "seq+stg")
    return tuple(out)


PAPER: tuple[PaperNumber, ...] = _build()


def lookup(
    protocol: str,
    dataset: str,
    benchmark: str,
    representation: str | Iterable[str],
    *,
    pretrain: Iterable[str] | None,
    augment: Augmentation | None = DEFAULT_AUG,
    fraction: float | None = None,
    k: int | None = None,
    source: str | None = None,
) -> PaperNumber | None:
    """The paper's number for a result in exactly this setting, or ``None``.

    ``pretrain`` is the set of pre-training representations (``None``: random init).
    ``augment=None`` means the pre-training augmentation is unknown; it then matches
    only the default augmentation (the headline tables). ``fraction`` is in percent.
    ``protocol`` "supervised" is semi-supervised training from random initialisation.
    """
    rep = _reps(representation) if isinstance(representation, str) else frozenset(representation)
    pre = None if pretrain is None else frozenset(pretrain)
    if protocol == "supervised":
        protocol, pre = "semi", None
    aug = (augment or DEFAULT_AUG).normalized()
    for p in PAPER:
        if (p.protocol, p.dataset, p.benchmark, p.representation) != (
            protocol,
            dataset,
            benchmark,
            rep,
        ):
            continue
        if p.pretrain != pre:
            continue
        if pre is not None and p.augment.normalized() != aug:
            continue
        if p.fraction is not None and (fraction is None or abs(p.fraction - fraction) > 1e-6):
            continue
        if p.k is not None and k != p.k:
            continue
        if p.source is not None and source != p.source:
            continue
        return p
    return None
