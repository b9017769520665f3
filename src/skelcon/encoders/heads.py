"""Heads on top of an encoder feature: the MoCo projection head and the linear classifier."""

from __future__ import annotations

from torch import nn

from ._checks import check_positive


class ProjectionHead(nn.Sequential):
    """``Linear(d, d) - ReLU - Linear(d, out_dim)`` (the authors' MLP): ``(N, d)`` -> ``(N, out_dim)``.

    ``batch_norm=True`` inserts ``BatchNorm1d(d)`` after the first linear layer (as in
    MoCo v2/v3 and SimCLR heads). It removes the common offset of the embeddings at
    initialisation, which lets short inter-skeleton runs escape the collapsed start.
    """

    def __init__(self, in_dim: int, out_dim: int = 128, batch_norm: bool = False):
        check_positive("projection head in_dim", in_dim)
        check_positive("projection head out_dim", out_dim)
        hidden = [nn.Linear(in_dim, in_dim)] + ([nn.BatchNorm1d(in_dim)] if batch_norm else [])
        super().__init__(*hidden, nn.ReLU(), nn.Linear(in_dim, out_dim))
        self.in_dim = in_dim
        self.out_dim = out_dim


class LinearClassifier(nn.Linear):
    """One linear layer on (frozen or fine-tuned) features: ``(N, in_dim)`` -> ``(N, num_classes)``."""

    def __init__(self, in_dim: int, num_classes: int):
        check_positive("classifier in_dim", in_dim)
        check_positive("classifier num_classes", num_classes)
        super().__init__(in_dim, num_classes)
        self.num_classes = num_classes
