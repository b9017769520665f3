"""skelcon: inter-skeleton contrastive learning of 3D action representations."""

__version__ = "0.1.0"
