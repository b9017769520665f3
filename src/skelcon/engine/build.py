"""Build encoders and the MoCo model from a config and a dataset's shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import nn

from ..config import PretrainConfig
from ..data.channels import channels_of, coord_count, default_channels
from ..data.layouts import JointLayout, layout_from_meta
from ..data.normalize import is_centred

if TYPE_CHECKING:
    from ..contrast import SkeletonMoCo
    from ..encoders.streams import InputStream


def _is_default(channels: list[str]) -> bool:
    """Whether ``channels`` are what data naming none hold (``x, y, z`` for C = 3,
    ``x, y`` for C = 2); other sets, ``x, y, z, score`` among them, have no default."""
    return len(channels) in (2, 3) and channels == default_channels(len(channels))


@dataclass(frozen=True)
class DataSpec:
    """What an encoder is built for: the shape and meaning of its input.

    Saved in every checkpoint as ``ckpt["data"]`` (:meth:`to_dict`, the plain dict
    checkpoints have always held) so encoders can be rebuilt without the dataset, and a
    random-init baseline gets the same initialisation. ``layout_def`` (a layout that is
    not a built-in one, kept whole), ``channels`` (other than the default for C:
    ``x, y, z`` / ``x, y``), ``normalization`` (the dataset's note, written by the
    readers of :mod:`skelcon.data.clips`), ``seq_init`` (the SEQ encoder's GRU
    initialisation when not the preset's), ``seq_recurrence`` (the SEQ encoder's GRU
    recurrence when not ``bidirectional``: ``stepwise``, the authors' model) and
    ``stream`` (the encoders' input when not ``joint``: ``bone`` or ``motion``) are
    ``None`` when absent, so the spec of data prepared before these existed is unchanged.
    """

    dataset: str | None
    layout: str
    in_channels: int
    num_joints: int
    num_persons: int
    num_frames: int
    layout_def: Mapping[str, Any] | None = None
    channels: tuple[str, ...] | None = None
    normalization: str | None = None
    seq_init: str | None = None
    stream: str | None = None
    seq_recurrence: str | None = None

    @classmethod
    def from_meta(
        cls,
        meta: Mapping[str, Any],
        out_len: int,
        seq_init: str = "preset",
        stream: str = "joint",
        seq_recurrence: str = "bidirectional",
    ) -> DataSpec:
        """The spec of a prepared dataset's ``meta.json`` for clips of ``out_len`` frames;
        ``seq_init`` other than ``"preset"`` overrides the SEQ encoder's GRU init;
        ``stream`` is the encoders' input (:mod:`skelcon.encoders.streams`);
        ``seq_recurrence`` the SEQ encoder's GRU recurrence (``config.SEQ_RECURRENCES``)."""
        _, c, _, v, m = meta["shape"]
        layout = layout_from_meta(dict(meta))
        channels = channels_of(dict(meta))
        return cls(
            dataset=meta.get("dataset"),
            layout=meta["layout"],
            in_channels=int(c),
            num_joints=int(v),
            num_persons=int(m),
            num_frames=int(out_len),
            layout_def=None if layout.builtin else layout.to_dict(),
            channels=None if _is_default(channels) else tuple(channels),
            normalization=meta.get("normalization") or None,
            seq_init=None if seq_init == "preset" else seq_init,
            stream=None if stream == "joint" else stream,
            seq_recurrence=None if seq_recurrence == "bidirectional" else seq_recurrence,
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataSpec:
        """The spec of a checkpoint's ``ckpt["data"]``, of this skelcon or an older one
        (the optional entries absent); entries it does not know are left out."""
        channels = d.get("channels")
        return cls(
            dataset=d.get("dataset"),
            layout=d["layout"],
            in_channels=int(d["in_channels"]),
            num_joints=int(d["num_joints"]),
            num_persons=int(d["num_persons"]),
            num_frames=int(d["num_frames"]),
            layout_def=d.get("layout_def"),
            channels=None if channels is None else tuple(channels),
            normalization=d.get("normalization"),
            seq_init=d.get("seq_init"),
            stream=None if d.get("stream") in (None, "joint") else d.get("stream"),
            seq_recurrence=(
                None
                if d.get("seq_recurrence") in (None, "bidirectional")
                else d.get("seq_recurrence")
            ),
        )

    @classmethod
    def of(cls, spec: DataSpec | Mapping[str, Any]) -> DataSpec:
        """``spec`` as a :class:`DataSpec` (a checkpoint's dict is read by :meth:`from_dict`)."""
        return spec if isinstance(spec, DataSpec) else cls.from_dict(spec)

    def to_dict(self) -> dict[str, Any]:
        """The plain dict saved in checkpoints (``ckpt["data"]``): the six fixed entries,
        then those of the optional ones that are set."""
        d: dict[str, Any] = {
            "dataset": self.dataset,
            "layout": self.layout,
            "in_channels": self.in_channels,
            "num_joints": self.num_joints,
            "num_persons": self.num_persons,
            "num_frames": self.num_frames,
        }
        if self.layout_def is not None:
            d["layout_def"] = dict(self.layout_def)
        if self.channels is not None:
            d["channels"] = list(self.channels)
        if self.normalization is not None:
            d["normalization"] = self.normalization
        if self.seq_init is not None:
            d["seq_init"] = self.seq_init
        if self.stream is not None:
            d["stream"] = self.stream
        if self.seq_recurrence is not None:
            d["seq_recurrence"] = self.seq_recurrence
        return d

    @property
    def input_stream(self) -> str:
        """The encoders' input stream: ``joint`` (recorded as absent), ``bone`` or ``motion``."""
        return self.stream or "joint"

    def stream_module(self) -> InputStream:
        """The :class:`~skelcon.encoders.streams.InputStream` every encoder of this input
        starts with (coordinate channels, and the centre-joint rule of centred data
        without a score channel, from the channels and the normalisation note)."""
        from ..encoders.streams import InputStream

        channels = list(self.channels or default_channels(self.in_channels))
        centred = is_centred({"normalization": self.normalization})
        return InputStream(
            self.input_stream,
            self.joint_layout(),
            coords=coord_count(channels) or None,
            center_origin=centred and "score" not in channels,
        )

    def joint_layout(self) -> JointLayout:
        """The skeleton layout (a built-in one by name, else ``layout_def``)."""
        return layout_from_meta(self.to_dict())

    def encoder_options(self, rep: str) -> dict[str, Any]:
        """The arguments of :func:`~skelcon.encoders.build_encoder` for representation
        ``rep`` on this input."""
        return {
            "in_channels": self.in_channels,
            "num_frames": self.num_frames,
            "num_joints": self.num_joints,
            "num_persons": self.num_persons,
            "layout": self.joint_layout(),
            "stream": self.stream_module(),
            **({"init": self.seq_init} if rep == "seq" and self.seq_init else {}),
            **({"recurrence": self.seq_recurrence} if rep == "seq" and self.seq_recurrence else {}),
        }


def data_spec(
    meta: dict[str, Any],
    out_len: int,
    seq_init: str = "preset",
    stream: str = "joint",
    seq_recurrence: str = "bidirectional",
) -> dict[str, Any]:
    """:class:`DataSpec` ``.from_meta(meta, out_len, seq_init, stream, seq_recurrence)`` as
    the checkpoint's plain dict (for the readers that still take one)."""
    return DataSpec.from_meta(meta, out_len, seq_init, stream, seq_recurrence).to_dict()


def build_encoders(
    reps: list[str], preset: str, spec: DataSpec | Mapping[str, Any]
) -> dict[str, nn.Module]:
    """One query encoder per representation, sized by ``preset`` for input ``spec``."""
    from ..encoders import build_encoder

    spec = DataSpec.of(spec)
    return {r: build_encoder(r, preset, **spec.encoder_options(r)) for r in reps}


def build_moco(cfg: PretrainConfig, spec: DataSpec | Mapping[str, Any]) -> SkeletonMoCo:
    """The :class:`~skelcon.contrast.SkeletonMoCo` for a :class:`PretrainConfig`."""
    from ..contrast import SkeletonMoCo

    encoders = build_encoders(cfg.representations, cfg.preset, spec)
    return SkeletonMoCo(
        encoders,
        dim=cfg.moco.dim,
        queue_size=cfg.moco.queue_size,
        momentum=cfg.moco.momentum,
        temperature=cfg.moco.temperature,
        head_bn=cfg.moco.head_bn,
        intra_weight=cfg.moco.intra_weight,
        symmetric=cfg.moco.symmetric,
        shuffle_bn=cfg.moco.shuffle_bn,
        stats=cfg.monitor.stats,
    )
