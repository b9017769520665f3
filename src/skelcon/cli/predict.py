"""``skelcon predict``: classify raw clips with the classifier an evaluation kept."""

from __future__ import annotations

import argparse

from .common import DEVICE_HELP, QUIET_HELP

DESCRIPTION = """\
Classify raw clips with the classifier a `skelcon eval linear|finetune|semi|supervised|transfer`
kept (EVAL_DIR/model.pt). Every clip is read as the evaluation's data were prepared (layout,
channels, persons, padded length, normalisation); the model applies the evaluation's centre
crop itself. Prints the top-k classes of each clip with their probabilities (softmax of the
logits); --out DIR also writes DIR/predictions.json and DIR/predictions.csv. A clip that
cannot be read or does not fit the model is skipped and listed (--strict: refused).

A video is first turned into 2D keypoints by `skelcon extract` (--backend, default
mediapipe: `make extract-env` once), in the model's joint layout: converted from the
backend's (mediapipe33 or coco17) by a shipped table when the model's is another
(coco17, ntu25, openpose18, openpose25; docs/extract.md). The keypoints go to a temporary
folder, or to --keypoints DIR to keep them (then `--input DIR/<video>.json` predicts again
without extracting)."""

EPILOG = """\
inputs (any mix, in order):
  clip.npy|.csv|.json        a clip (T, V, C) or (M, T, V, C), as `prepare folder` reads it
  OPENPOSE_DIR               an OpenPose --write_json folder (one clip per video)
  clip.json                  a Kinetics-skeleton clip ({"data": [...]}, openpose18 models)
  annotations.pkl            a PYSKL annotation pickle: every annotation is a clip
  DIR                        every clip below DIR, recursively (hidden files and other
                             types listed as not read); names relative to DIR
  video.mp4|.avi|.mov|...    a video: extracted first (above); in a folder too

examples:
  skelcon predict --model evals/lin --input my_clips/ --out preds
  skelcon predict --model evals/semi --which 0.1:0 --input clip.npy --top-k 3
  skelcon predict --model evals/lin --input wave.mp4 --keypoints kp/   # kp/wave.json kept
"""


def _predict(args: argparse.Namespace) -> int:
    from ..eval.predict import predict
    from .eval import parse_channels_arg

    clf, preds = predict(
        args.model,
        args.input,
        out=args.out,
        top_k=args.top_k,
        batch_size=args.batch_size,
        which=args.which,
        channels=parse_channels_arg(args.channels),
        strict=args.strict,
        device=args.device,
        progress=not args.quiet,
        backend=args.backend,
        keypoints=args.keypoints,
        det_model=args.det_model,
        pose_model=args.pose_model,
        mirror=args.mirror,
    )
    idx, prob = preds.top(args.top_k)
    for i, name in enumerate(preds.names):
        best = ", ".join(
            f"{preds.classes[int(c)]} {100 * float(p):.1f} %"
            for c, p in zip(idx[i], prob[i], strict=True)
        )
        print(f"{name}: {best}")
    info = clf.info
    model = f"{info['protocol']} {info['representation']}" + (
        f" model {clf.model_id}" if info["protocol"] != "linear" else ""
    )
    wrote = f"; wrote {args.out}/predictions.json and predictions.csv" if args.out else ""
    print(
        f"predicted {len(preds.names)} clips with {args.model} ({model}, "
        f"{len(preds.classes)} classes); skipped {len(preds.skipped)}"
        + (f", {len(preds.unused)} files not read" if preds.unused else "")
        + wrote
    )
    return 0


def add_cli(sub) -> None:
    from .eval import CHANNELS_INPUT_HELP, STRICT_INPUT_HELP
    from .extract import add_video_args

    p = sub.add_parser(
        "predict",
        help="classify raw clips with an evaluation's classifier (EVAL_DIR/model.pt)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", required=True, metavar="EVAL_DIR", help="an evaluation's --out (or its model.pt)"
    )
    p.add_argument(
        "--input", required=True, nargs="+", metavar="PATH", help="clips, pickles or folders"
    )
    p.add_argument("--out", metavar="DIR", help="write predictions.json and predictions.csv here")
    p.add_argument("--top-k", type=int, default=5, help="classes shown per clip (default 5)")
    p.add_argument("--batch-size", type=int, default=64, help="clips per batch (default 64)")
    p.add_argument(
        "--which",
        metavar="ID",
        help="the model of an evaluation that trained several (semi: FRACTION:REPEAT, "
        "e.g. 0.1:0, or its index); without it such a file is refused with the choices",
    )
    p.add_argument("--channels", help=CHANNELS_INPUT_HELP)
    p.add_argument("--strict", action="store_true", help=STRICT_INPUT_HELP)
    add_video_args(p)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    p.set_defaults(func=_predict)
