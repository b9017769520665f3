"""``skelcon extract``: videos to clip files, one backend, a progress bar per video."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml
from tqdm import tqdm

from ..data.layouts import JointLayout
from ..errors import SkelconError, choices_message
from ..utils.io import atomic_write
from .backend import BACKENDS, PACKAGED_LAYOUTS, Extractor, layout_file, named_layout
from .clipfile import clip_document, write_clip
from .convert import convert_keypoints, mirror_keypoints, target_conversion
from .video import check_video_file

__all__ = ["ExtractResult", "extract_videos", "make_extractor"]


@dataclass(frozen=True)
class ExtractResult:
    """One video extracted: its ``clip`` file, ``frames`` decoded, ``empty_frames``
    (nobody found), the ``seconds`` it took (decoding and estimation), the frame size
    and the layout (``layout_path``: the layout file written beside the clips, None for
    a built-in layout)."""

    video: Path
    clip: Path
    frames: int
    empty_frames: int
    seconds: float
    width: int
    height: int
    layout: str
    layout_path: Path | None

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def make_extractor(
    backend: str = "mediapipe",
    *,
    det_model: str | os.PathLike[str] | None = None,
    pose_model: str | os.PathLike[str] | None = None,
    max_people: int | None = None,
) -> Extractor:
    """The :class:`~skelcon.extract.backend.Extractor` of ``backend`` (``mediapipe``:
    one person, ``max_people`` 1; ``rtmpose``: ``pose_model`` required, ``det_model``
    optional, ``max_people`` default 2). Everything is checked here, before any video is
    read: the options, the mediapipe environment, the model files."""
    if backend not in BACKENDS:
        raise SkelconError(choices_message("backend", backend, BACKENDS), param="backend")
    if max_people is not None and max_people < 1:
        raise SkelconError(f"max_people must be at least 1, got {max_people}", param="max_people")
    if backend == "mediapipe":
        given = [f for f, v in (("--det-model", det_model), ("--pose-model", pose_model)) if v]
        if given:
            raise SkelconError(
                f"{' and '.join(given)} are for --backend rtmpose (MediaPipe's weights ship "
                "inside its wheel)"
            )
        if max_people not in (None, 1):
            raise SkelconError(
                f"max_people {max_people}: MediaPipe Pose finds one person a frame (use "
                "--backend rtmpose for several)",
                param="max_people",
            )
        from .mediapipe import MediaPipeExtractor

        return MediaPipeExtractor()
    if pose_model is None:
        raise SkelconError(
            "--backend rtmpose needs --pose-model (an RTMPose ONNX file, and --det-model a "
            "person detector for several people; see docs/extract.md)"
        )
    from .frames import FrameExtractor
    from .rtmpose import RTMPoseBackend

    return FrameExtractor(RTMPoseBackend(pose_model, det_model, max_people=max_people or 2))


class _Bar:
    """A :class:`~skelcon.extract.backend.Progress` shown as a tqdm bar in frames/s."""

    def __init__(self, name: str, enabled: bool):
        self.bar = tqdm(desc=name, unit="frame", disable=not enabled, file=sys.stderr, leave=False)

    def start(self, total: int) -> None:
        if total > 0:
            self.bar.total = total
            self.bar.refresh()

    def advance(self, frames: int) -> None:
        self.bar.update(frames)


def write_layout(path: Path, layout: JointLayout) -> None:
    """``layout`` as a layout file at ``path``: this package's own file as it is (with
    its comments), another as YAML from its definition."""
    if layout.name in PACKAGED_LAYOUTS and named_layout(layout.name) == layout:
        text = layout_file(layout.name).read_text(encoding="utf-8")
    else:
        text = yaml.safe_dump(layout.to_dict(), sort_keys=False, allow_unicode=True)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _targets(
    videos: Sequence[str | os.PathLike[str]], out: Path, overwrite: bool
) -> list[tuple[Path, Path]]:
    """``(video, clip file)`` pairs, checked before any work: every video exists, no two
    share a file name stem, no clip file is there already (unless ``overwrite``)."""
    if not videos:
        raise SkelconError("no video given", param="videos")
    if out.exists() and not out.is_dir():
        raise SkelconError(f"out {str(out)!r} is a file, not a folder", param="out")
    pairs = [(check_video_file(v), out) for v in videos]
    seen: dict[str, Path] = {}
    for video, _ in pairs:
        if video.stem in seen:
            raise SkelconError(
                f"videos {str(seen[video.stem])!r} and {str(video)!r} would both be written to "
                f"{video.stem}.json (extract them into different --out folders)"
            )
        seen[video.stem] = video
    pairs = [(v, out / f"{v.stem}.json") for v, _ in pairs]
    there = [c for _, c in pairs if c.exists()]
    if there and not overwrite:
        more = f" and {len(there) - 1} more" if len(there) > 1 else ""
        raise SkelconError(f"{there[0]}{more} already exist (--overwrite replaces them)")
    return pairs


def extract_videos(
    videos: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    backend: str = "mediapipe",
    det_model: str | os.PathLike[str] | None = None,
    pose_model: str | os.PathLike[str] | None = None,
    max_people: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    extractor: Extractor | None = None,
    layout: str | JointLayout | None = None,
    mirror: bool = False,
    log: TextIO | None = None,
) -> list[ExtractResult]:
    """Extract the 2D keypoints of every video into ``out/<video stem>.json``
    (:mod:`skelcon.extract.clipfile`), and, for a layout that is not built in
    (``mediapipe33``, or a backend's own), its layout file ``out/<layout>.yaml``.

    ``backend`` and its options: :func:`make_extractor` (or a ready ``extractor``).
    ``layout``: write the clips in this layout (a built-in name such as ``ntu25``),
    converted from the backend's by a shipped retarget table
    (:mod:`skelcon.data.retarget`; the clip records ``converted_from``); default the
    backend's own. ``mirror``: store the keypoints of the video's mirror image
    (:func:`~skelcon.extract.convert.mirror_keypoints`; for models of NTU colour-2D data).
    Prints one line per video (frames, frames/s, frames without
    anybody) to ``log`` (default stdout). Options, paths, the conversion and existing
    outputs are checked before any video is read. A video that cannot be read is
    skipped and the others extracted; then a one-line :class:`SkelconError` lists what
    failed.
    """
    out = Path(out)
    pairs = _targets(videos, out, overwrite)
    ex = (
        extractor
        if extractor is not None
        else make_extractor(
            backend, det_model=det_model, pose_model=pose_model, max_people=max_people
        )
    )
    conversion = None if layout is None else target_conversion(ex.layout, layout, ex.name)
    layout = ex.layout if conversion is None else conversion.target
    layout_path = None
    if not layout.builtin:  # a layout file for `prepare folder --layout`, beside the clips
        layout_path = out / f"{layout.name}.yaml"
        write_layout(layout_path, layout)
    done: list[ExtractResult] = []
    failed: list[str] = []
    for video, clip in pairs:
        bar = _Bar(video.name, progress)
        t0 = time.perf_counter()
        try:
            kp = ex.extract(video, bar)
        except SkelconError as e:
            if len(pairs) == 1:
                raise
            failed.append(str(e))
            print(f"extract: skipped: {e}", file=sys.stderr)
            continue
        finally:
            bar.bar.close()
        if conversion is not None:
            kp = convert_keypoints(kp, conversion)
        if mirror:
            kp = mirror_keypoints(kp)
        seconds = time.perf_counter() - t0
        doc = clip_document(
            kp,
            video=video,
            backend=ex.name,
            layout=layout,
            converted_from=None if conversion is None else ex.layout.name,
            mirrored=mirror,
        )
        write_clip(clip, doc)
        r = ExtractResult(
            video,
            clip,
            len(kp.frames),
            kp.empty_frames,
            seconds,
            kp.width,
            kp.height,
            layout.name,
            layout_path,
        )
        done.append(r)
        print(
            f"extract: {video.name}: {r.frames} frames ({r.width}x{r.height}) in {seconds:.1f} s, "
            f"{r.frames_per_s:.1f} frames/s; nobody found in {r.empty_frames} "
            f"(written with every joint 0, score 0)"
            + (f"; converted {ex.layout.name} -> {layout.name}" if conversion else "")
            + ("; mirrored (x -> width - x)" if mirror else "")
            + f" -> {clip}",
            file=log,
        )
    if failed:
        kept = f"{len(done)} written to {out}" if done else "none written"
        raise SkelconError(
            f"{len(failed)} of {len(pairs)} videos not extracted ({kept}); first: {failed[0]}"
        )
    return done
