"""Top-down pose estimation's geometry: person boxes to model crops and back.

A top-down estimator (RTMPose) sees each person as a crop of fixed size ``(w, h)``
(192x256): the person's box, enlarged by :data:`BOX_PADDING` and widened to the crop's
aspect ratio, scaled onto the crop. A box is kept as its ``center (cx, cy)`` and
``scale (sw, sh)`` in image pixels; crop pixel ``(u, v)`` shows image point

    x = cx + (u - w / 2) * sw / w,    y = cy + (v - h / 2) * sh / h

(no rotation), the map OpenCV's ``getAffineTransform``/``warpAffine`` build from the
same three points. :func:`crop_people` samples it bilinearly (``torch`` ``grid_sample``,
every person at once; 0 outside the frame); :func:`decode_simcc` maps the model's
answer back with the same formula. :func:`letterbox` is a detector's input: the frame
scaled to fit, placed top-left, padded with grey :data:`PAD_VALUE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "BOX_PADDING",
    "Normalisation",
    "boxes_to_crops",
    "crop_people",
    "decode_simcc",
    "letterbox",
]

BOX_PADDING = 1.25  # a person box is enlarged by this before cropping (mmpose's top-down)
PAD_VALUE = 114.0  # the grey a letterboxed detector input is padded with (YOLOX, RTMDet)


@dataclass(frozen=True)
class Normalisation:
    """What a model wants its pixels as: channel order (``rgb`` or BGR) and
    ``(p - mean) / std`` per channel, ``mean``/``std`` in that order (0..255 scale)."""

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rgb: bool = True

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3, H, W)`` RGB pixels 0..255 -> the model's input, float32."""
        if not self.rgb:
            x = x.flip(1)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()


def boxes_to_crops(
    boxes: np.ndarray, size: tuple[int, int], padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes ``(N, 4)`` ``x1, y1, x2, y2`` (pixels) -> ``(centers (N, 2), scales
    (N, 2))`` float64: each box enlarged by ``padding`` and widened (never narrowed) to
    the aspect ratio ``w / h`` of the crop ``size = (w, h)``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    centers = (b[:, :2] + b[:, 2:]) / 2
    wh = (b[:, 2:] - b[:, :2]) * padding
    aspect = size[0] / size[1]
    wide = wh[:, 0] > wh[:, 1] * aspect
    scales = np.where(
        wide[:, None],
        np.stack([wh[:, 0], wh[:, 0] / aspect], 1),
        np.stack([wh[:, 1] * aspect, wh[:, 1]], 1),
    )
    return centers, scales


def _frame_tensor(frame: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(1, 3, H, W)`` float32."""
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()


def crop_people(
    frame: np.ndarray, centers: np.ndarray, scales: np.ndarray, size: tuple[int, int]
) -> torch.Tensor:
    """The crops of ``frame (H, W, 3)`` uint8 RGB for boxes ``centers``/``scales`` ``(N,
    2)`` (module doc) -> ``(N, 3, h, w)`` float32 RGB 0..255, bilinear, 0 outside the
    frame."""
    w, h = size
    height, width = frame.shape[:2]
    c = torch.as_tensor(np.asarray(centers), dtype=torch.float64)
    s = torch.as_tensor(np.asarray(scales), dtype=torch.float64)
    u = torch.arange(w, dtype=torch.float64)
    v = torch.arange(h, dtype=torch.float64)
    xs = c[:, 0:1] + (u[None] - w / 2) * (s[:, 0:1] / w)  # (N, w) image x of each column
    ys = c[:, 1:2] + (v[None] - h / 2) * (s[:, 1:2] / h)  # (N, h)
    # grid_sample's align_corners=True: -1 and 1 are the centres of the edge pixels
    gx = 2 * xs / max(width - 1, 1) - 1
    gy = 2 * ys / max(height - 1, 1) - 1
    n = len(c)
    grid = torch.stack(
        [gx[:, None, :].expand(n, h, w), gy[:, :, None].expand(n, h, w)], dim=-1
    ).float()
    img = _frame_tensor(frame).expand(n, -1, -1, -1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def letterbox(frame: np.ndarray, size: tuple[int, int]) -> tuple[torch.Tensor, float]:
    """``frame (H, W, 3)`` uint8 RGB scaled by ``ratio = min(w / W, h / H)`` into the
    top-left corner of a ``size = (w, h)`` canvas of :data:`PAD_VALUE` -> ``((1, 3, h,
    w) float32 RGB 0..255, ratio)``; a detector's box ``b`` in the canvas is ``b /
    ratio`` in the frame."""
    w, h = size
    height, width = frame.shape[:2]
    ratio = min(w / width, h / height)
    nw, nh = max(1, int(width * ratio)), max(1, int(height * ratio))
    img = F.interpolate(_frame_tensor(frame), size=(nh, nw), mode="bilinear", align_corners=False)
    canvas = torch.full((1, 3, h, w), PAD_VALUE, dtype=torch.float32)
    canvas[:, :, :nh, :nw] = img
    return canvas, ratio


def decode_simcc(
    simcc_x: np.ndarray,
    simcc_y: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """SimCC outputs -> keypoints ``(N, K, 3)`` float32 in image pixels and a score.

    ``simcc_x (N, K, Lx)``, ``simcc_y (N, K, Ly)``: one score per sub-pixel bin along the
    crop's width and height (``Lx / w`` bins a pixel, 2 for RTMPose); a joint is at the
    best bin of each (its crop pixel: the bin / bins per pixel), mapped back through
    the crop's box (module doc); its score is the smaller of the two maxima. A joint
    scoring 0 or less is not found: ``(0, 0, 0)``."""
    w, h = size
    sx = np.asarray(simcc_x, dtype=np.float32)
    sy = np.asarray(simcc_y, dtype=np.float32)
    ix, iy = sx.argmax(-1), sy.argmax(-1)  # (N, K)
    vx = np.take_along_axis(sx, ix[..., None], -1)[..., 0]
    vy = np.take_along_axis(sy, iy[..., None], -1)[..., 0]
    u = ix / (sx.shape[-1] / w)  # crop pixels
    v = iy / (sy.shape[-1] / h)
    c = np.asarray(centers, dtype=np.float64)[:, None]  # (N, 1, 2)
    s = np.asarray(scales, dtype=np.float64)[:, None]
    x = c[..., 0] + (u - w / 2) * s[..., 0] / w
    y = c[..., 1] + (v - h / 2) * s[..., 1] / h
    score = np.minimum(vx, vy)
    out = np.stack([x, y, score], -1).astype(np.float32)
    return np.where((score > 0)[..., None], out, np.float32(0.0))
