"""Videos straight into a model: the video step of ``skelcon predict`` and ``skelcon
embed --input``.

:class:`VideosForModel` is the :data:`~skelcon.data.rawinputs.VideoStep` that
:func:`~skelcon.data.rawinputs.read_inputs` runs on the videos among the inputs: it
extracts each with a ``skelcon extract`` backend, in the model's joint layout (converted
by a shipped retarget table, :mod:`skelcon.data.retarget`, when the backend writes
another), into a temporary folder or the ``keypoints`` folder the user keeps, and hands
back the clip files, which are then read like any other clip, with the model's contract.
Everything that can be checked without reading a video is checked before the first one
is: the model takes 2D keypoints, a conversion exists, the backend's environment and
model files are there, no clip file would be overwritten.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..data.channels import channels_of, coord_count
from ..data.layouts import JointLayout, layout_from_meta
from ..data.retarget import Conversion, find_conversion, no_conversion_message
from ..errors import SkelconError, choices_message
from .backend import BACKENDS, Extractor, backend_layout

__all__ = ["VideosForModel"]


class VideosForModel:
    """Extract videos for the model whose data contract is ``contract`` (a prepared
    dataset's meta, a checkpoint's data spec, a kept classifier's contract).

    ``backend``, ``det_model``, ``pose_model``: as for ``skelcon extract``
    (:func:`~skelcon.extract.run.make_extractor`; ``rtmpose`` keeps up to the model's
    persons a frame); ``mirror``: the keypoints of the videos' mirror images
    (:func:`~skelcon.extract.convert.mirror_keypoints`); ``keypoints``: a folder to keep the clip files in (``<clip
    name>.json``, sub-folders as the videos'), default a temporary folder removed by
    :meth:`close`; ``extractor``: a ready :class:`~skelcon.extract.backend.Extractor`
    instead of ``backend`` (tests); ``who`` names the model in messages; ``progress``: a
    bar per video on stderr, where the per-video lines go too.

    Use as a context manager, or call :meth:`close`. Nothing is checked or started
    until the first call: a model given no video needs no backend."""

    def __init__(
        self,
        contract: Mapping[str, Any],
        *,
        backend: str = "mediapipe",
        keypoints: str | os.PathLike[str] | None = None,
        det_model: str | os.PathLike[str] | None = None,
        pose_model: str | os.PathLike[str] | None = None,
        extractor: Extractor | None = None,
        mirror: bool = False,
        who: str = "the model",
        progress: bool = True,
    ):
        if extractor is None and backend not in BACKENDS:
            raise SkelconError(choices_message("backend", backend, BACKENDS), param="backend")
        if keypoints is not None and Path(keypoints).exists() and not Path(keypoints).is_dir():
            raise SkelconError(
                f"keypoints folder {str(keypoints)!r} is a file, not a folder", param="keypoints"
            )
        self.contract = dict(contract)
        self.backend = extractor.name if extractor is not None else backend
        self.keypoints = Path(keypoints) if keypoints is not None else None
        self.det_model = det_model
        self.pose_model = pose_model
        self.mirror = mirror
        self.who = who
        self.progress = progress
        self._extractor = extractor
        self._tmp: Path | None = None

    # ------------------------------------------------------------------ checks

    def source_layout(self) -> JointLayout:
        """The layout the backend writes."""
        if self._extractor is not None:
            return self._extractor.layout
        return backend_layout(self.backend)

    def conversion(self) -> Conversion | None:
        """The conversion from the backend's layout to the model's (None: the same).
        Raises a one-line :class:`SkelconError` when the model does not take 2D
        keypoints or no shipped table converts between the two."""
        from ..data.rawinputs import contract_words

        takes = f"{self.who} takes {contract_words(self.contract)}"
        if coord_count(channels_of(self.contract)) != 2:
            raise SkelconError(f"a video gives 2D keypoints (x, y, score); {takes}", param="input")
        source, target = self.source_layout(), layout_from_meta(self.contract)
        if source.name == target.name and source.joints == target.joints:
            return None
        conv = find_conversion(source, target)
        if conv is None:
            raise SkelconError(
                f"the {self.backend} backend writes {source.name} keypoints and {takes}: "
                + no_conversion_message(source.name, target.name)
            )
        return conv

    def _make_extractor(self) -> Extractor:
        if self._extractor is None:
            from .run import make_extractor

            persons = int(
                self.contract["num_persons"]
                if "num_persons" in self.contract
                else self.contract["shape"][4]
            )
            self._extractor = make_extractor(
                self.backend,
                det_model=self.det_model,
                pose_model=self.pose_model,
                max_people=persons if self.backend == "rtmpose" else None,
            )
        return self._extractor

    def _targets(self, videos: Sequence[tuple[str, Path]], root: Path) -> list[Path]:
        """The clip file of each video, checked: no two the same, none there already."""
        files = [root / f"{name}.json" for name, _ in videos]
        seen: dict[Path, Path] = {}
        for f, (_, video) in zip(files, videos, strict=True):
            if f in seen:
                raise SkelconError(
                    f"videos {str(seen[f])!r} and {str(video)!r} would both be extracted to "
                    f"{f.name} (give them in separate runs, or in different folders)"
                )
            seen[f] = video
            if f.exists():
                raise SkelconError(
                    f"keypoints folder {str(root)!r} holds {f.relative_to(root)} already (give a new or "
                    f"empty folder, or pass {str(f)!r} itself as an input: no extraction)",
                    param="keypoints",
                )
        return files

    # ------------------------------------------------------------------ the step

    def __call__(self, videos: Sequence[tuple[str, Path]]) -> list[Path | str]:
        """Extract ``(clip name, video)`` pairs; returns each one's clip file, or the
        reason it could not be extracted (that video is skipped, the others go on). The
        checks (module doc) raise a one-line :class:`SkelconError` before any video is
        read (``param="keypoints"`` for a clip file already in ``keypoints``)."""
        from .run import extract_videos

        if not videos:
            return []
        conv = self.conversion()
        root = self.keypoints
        if root is None:
            self._tmp = self._tmp or Path(tempfile.mkdtemp(prefix="skelcon-videos-"))
            root = self._tmp
        files = self._targets(videos, root)
        ex = self._make_extractor()
        out: list[Path | str] = []
        for f, (_, video) in zip(files, videos, strict=True):
            try:
                done = extract_videos(
                    [video],
                    f.parent,
                    extractor=ex,
                    layout=None if conv is None else conv.target,
                    mirror=self.mirror,
                    progress=self.progress,
                    log=sys.stderr,
                )
            except SkelconError as e:  # this video is skipped, the others go on
                text = str(e)  # the video is named beside the reason where it is listed
                out.append(text.removeprefix(f"{video}: "))
                continue
            out.append(done[0].clip)
        return out

    def close(self) -> None:
        """Remove the temporary folder (never the ``keypoints`` folder)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> VideosForModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
