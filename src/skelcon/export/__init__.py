"""Use a pre-trained encoder outside skelcon: ``skelcon export`` writes it as a
TorchScript or ONNX graph with its input contract beside it (:mod:`.writer`,
:mod:`.graph`, :mod:`.contract`)."""

from .writer import FORMATS, contract_path, export_encoder

__all__ = ["FORMATS", "contract_path", "export_encoder"]
