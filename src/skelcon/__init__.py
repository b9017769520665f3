"""skelcon: inter-skeleton contrastive learning of 3D action representations.

``skelcon.load_encoder(run, representation, device="cpu")`` returns the pre-trained
query encoder of a run as a ready model, a
:class:`~skelcon.eval.encoder.LoadedEncoder` (eval mode, frozen): ``model(x, num_frames)``
maps a prepared batch ``(N, C, T, V, M)`` with ``(N,)`` valid frame counts to ``(N, D)``
features. ``skelcon.read_clip(path, like)`` reads a raw clip file as ``skelcon prepare``
stored the dataset ``like`` (a prepared dataset, a run or a loaded encoder).
``skelcon.load_classifier(eval_dir)`` returns the classifier an evaluation kept
(:class:`~skelcon.eval.classifier.SavedClassifier`: ``model(x, num_frames)`` -> logits,
``model.predict_files(paths)``). All are imported lazily, so ``import skelcon`` stays
light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"  # the one source: pyproject.toml reads it
__all__ = ["__version__", "load_classifier", "load_encoder", "read_clip"]


def __getattr__(name: str) -> Any:
    if name == "load_encoder":
        from .eval.encoder import load_encoder

        return load_encoder
    if name == "load_classifier":
        from .eval.classifier import load_classifier

        return load_classifier
    if name == "read_clip":
        from .data.rawclip import read_clip

        return read_clip
    raise AttributeError(f"module 'skelcon' has no attribute {name!r}")
