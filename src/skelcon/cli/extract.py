"""``skelcon extract``: 2D keypoints from videos, on a CPU, offline."""

from __future__ import annotations

import argparse

from .common import QUIET_HELP

DESCRIPTION = """\
2D keypoints of every frame of each VIDEO, written as OUT/<video stem>.json: a clip that
`skelcon prepare folder` and skelcon.read_clip read (x, y in pixels and a score per
joint; a frame where nobody is found has every joint 0, score 0: missing).

backends:
  mediapipe (default)  MediaPipe Pose: one person, 33 landmarks (layout file
                       OUT/mediapipe33.yaml, written beside the clips). Runs in its own
                       environment: make it once with `make extract-env` in the skelcon
                       checkout (or set SKELCON_EXTRACT_PYTHON to a Python with
                       mediapipe==0.10.21). Its weights ship inside the wheel.
  rtmpose              a person detector (--det-model) and RTMPose (--pose-model), ONNX
                       files you have (mmpose's / rtmlib's onnx_sdk releases), run by
                       onnxruntime: several people, COCO's 17 keypoints (layout coco17).
                       Needs pip install 'skelcon[rtmpose]'.

--layout NAME writes the clips in another joint layout, converted from the backend's
by a shipped table (docs/extract.md): mediapipe33 -> coco17, ntu25, openpose18,
openpose25; coco17 -> ntu25, openpose18, openpose25. Derived joints (NTU's spine, neck,
head, hands) are means of the landmarks around them; joints the backend lacks (COCO's
hands and feet in ntu25) are missing (0, score 0).
"""
EPILOG = """\
example (one folder per class, then prepared as any folder of clips):
  skelcon extract videos/wave/*.mp4 --out clips/wave
  skelcon extract videos/clap/*.mp4 --out clips/clap
  skelcon prepare folder --raw clips --layout clips/wave/mediapipe33.yaml --normalize --out data/mine
for a model trained on NTU's 25 joints (or classify the video directly: skelcon predict --input VIDEO):
  skelcon extract wave01.mp4 --out clips/ntu --layout ntu25
"""


MIRROR_HELP = (
    "store the keypoints of the video's mirror image (x -> width - x; joint names kept): "
    "for models of NTU RGB+D colour-2D data, whose Kinect colour image is mirrored "
    "(docs/extract.md)"
)


def _extract(args: argparse.Namespace) -> int:
    from ..extract import extract_videos

    done = extract_videos(
        args.videos,
        args.out,
        backend=args.backend,
        det_model=args.det_model,
        pose_model=args.pose_model,
        max_people=args.max_people,
        overwrite=args.overwrite,
        progress=not args.quiet,
        layout=args.layout,
        mirror=args.mirror,
    )
    first = done[0]
    layout = first.layout_path if first.layout_path is not None else first.layout
    frames = sum(r.frames for r in done)
    empty = sum(r.empty_frames for r in done)
    print(
        f"extract: {len(done)} clips, {frames} frames ({empty} without anybody), layout "
        f"{first.layout} -> {args.out}; prepare a folder of such class folders with "
        f"`skelcon prepare folder --raw <parent of {args.out}> --layout {layout} --normalize`"
    )
    return 0


def add_cli(sub) -> None:
    from ..extract.backend import BACKENDS

    p = sub.add_parser(
        "extract",
        help="2D keypoints from videos (CPU, offline): clips for `prepare folder`",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (.mp4, .avi, .mov, ...)")
    p.add_argument(
        "--out",
        required=True,
        help="folder for the clips, <video stem>.json (e.g. one class folder of a "
        "`prepare folder` DIR)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="mediapipe",
        help="pose estimator (default mediapipe; see above)",
    )
    p.add_argument(
        "--det-model",
        metavar="F.onnx",
        help="rtmpose: person detector, an end-to-end ONNX (RTMDet/YOLOX, NMS inside) or "
        "its SDK folder (default: the whole frame is one person)",
    )
    p.add_argument(
        "--pose-model",
        metavar="F.onnx",
        help="rtmpose: the RTMPose ONNX (COCO 17 keypoints) or its SDK folder (required)",
    )
    p.add_argument(
        "--max-people",
        type=int,
        metavar="N",
        help="people kept a frame, the most confident (default: mediapipe 1, its only; rtmpose 2)",
    )
    p.add_argument(
        "--layout",
        metavar="NAME",
        help="write the clips in this joint layout (e.g. ntu25, coco17, openpose18), converted "
        "from the backend's (default: the backend's own; see above)",
    )
    p.add_argument("--mirror", action="store_true", help=MIRROR_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace clip files already in --out")
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    p.set_defaults(func=_extract)


def add_video_args(p: argparse.ArgumentParser) -> None:
    """The flags for videos among the inputs (``predict``, ``embed --input``)."""
    from ..extract.backend import BACKENDS

    g = p.add_argument_group("videos among the inputs (skelcon extract first)")
    g.add_argument(
        "--backend",
        choices=BACKENDS,
        default="mediapipe",
        help="pose estimator for videos (default mediapipe; see `skelcon extract --help`)",
    )
    g.add_argument(
        "--keypoints",
        metavar="DIR",
        help="keep the videos' clip files here (<video>.json; default: a temporary folder)",
    )
    g.add_argument("--det-model", metavar="F.onnx", help="rtmpose: the person detector ONNX")
    g.add_argument("--pose-model", metavar="F.onnx", help="rtmpose: the RTMPose ONNX (required)")
    g.add_argument("--mirror", action="store_true", help=MIRROR_HELP)
