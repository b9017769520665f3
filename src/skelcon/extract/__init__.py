"""2D keypoints from videos, on a CPU, offline: ``skelcon extract``.

A video becomes a clip file that ``skelcon prepare folder`` and ``skelcon.read_clip``
read (:mod:`~skelcon.extract.clipfile`: ``x, y`` pixels and a score per joint and
frame). Two pose estimators, behind one interface (:mod:`~skelcon.extract.backend`):

* ``mediapipe`` (default): MediaPipe Pose, one person, 33 landmarks (layout file
  ``mediapipe33``, written beside the clips); its weights ship inside the wheel. It runs
  in an environment of its own (``make extract-env``), as a worker process
  (:mod:`~skelcon.extract.mediapipe`);
* ``rtmpose``: a person detector and RTMPose (ONNX files the user has, run by
  onnxruntime), several people, COCO's 17 keypoints (``coco17``)
  (:mod:`~skelcon.extract.rtmpose`).

Python use::

    from skelcon.extract import extract_videos
    results = extract_videos(["wave.mp4"], "clips/wave")   # clips/wave/wave.json
"""

from .run import ExtractResult, extract_videos, make_extractor

__all__ = ["ExtractResult", "extract_videos", "make_extractor"]
