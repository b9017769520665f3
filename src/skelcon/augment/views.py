"""The spatio-temporal view maker (paper Section 3.1.3).

A view is a temporal crop-resize followed by one spatial augmentation: shear or
joint jitter chosen per sample with p = 1/2 (``spatial="random"``), a fixed one, or
none; then, when on (not in the paper), Gaussian noise on every present joint
(``noise``) and joints marked missing at random (``joint_drop``). With ``temporal=False`` the random crop is replaced by the deterministic
centre crop-resize, so ``ViewMaker(temporal=False, spatial="none")`` is the
"no augmentation" ablation. Query and key views are two calls on the same batch.
"""

from __future__ import annotations

import torch

from ..config import SPATIAL_AUGS, AugmentConfig
from ..errors import SkelconError, choices_message
from .spatial import JITTER_MODES, joint_dropout, joint_jitter, joint_noise, shear
from .temporal import center_crop_resize, temporal_crop_resize

__all__ = ["ViewMaker"]


class ViewMaker:
    """Makes one random view ``(N, C, out_len, V, M)`` of a batch ``x: (N, C, T, V, M)``.

    ``l_min``/``l_max`` bound the crop ratio, ``min_len`` the crop length;
    ``center_ratio`` is the centre crop used when ``temporal`` is off (0.95, as for
    evaluation, so both see the same kind of input). ``coords``: the leading
    coordinate channels the spatial step acts on (default all: C = 2 or 3); 2 for
    ``x, y, score`` data, whose confidence is left alone.
    """

    def __init__(
        self,
        out_len: int = 64,
        l_min: float = 0.1,
        l_max: float = 1.0,
        min_len: int = 1,
        spatial: str = "random",
        jitter_joints: int = 15,
        jitter_mode: str = "paper",
        *,
        temporal: bool = True,
        shear_magnitude: float = 1.0,
        center_ratio: float = 0.95,
        coords: int | None = None,
        noise: float = 0.0,
        joint_drop: float = 0.0,
    ) -> None:
        if spatial not in SPATIAL_AUGS:
            raise SkelconError(choices_message("spatial augmentation", spatial, SPATIAL_AUGS))
        if jitter_mode not in JITTER_MODES:
            raise SkelconError(choices_message("jitter mode", jitter_mode, JITTER_MODES))
        if int(out_len) < 1:
            raise SkelconError(f"out_len={out_len} must be >= 1")
        if not 0.0 < l_min <= l_max <= 1.0:
            raise SkelconError(
                f"crop ratio range [l_min={l_min}, l_max={l_max}] must satisfy 0 < l_min <= l_max <= 1"
            )
        if int(min_len) < 1:
            raise SkelconError(f"min_len={min_len} must be >= 1")
        if int(jitter_joints) < 0:
            raise SkelconError(f"jitter_joints={jitter_joints} must be >= 0")
        if not 0.0 < center_ratio <= 1.0:
            raise SkelconError(f"centre crop ratio={center_ratio} must be in (0, 1]")
        if shear_magnitude < 0:
            raise SkelconError(f"shear magnitude={shear_magnitude} must be >= 0")
        if not noise >= 0:
            raise SkelconError(f"augment.noise={noise} must be >= 0")
        if not 0 <= joint_drop < 1:
            raise SkelconError(f"augment.joint_drop={joint_drop} must be in [0, 1)")
        self.out_len = int(out_len)
        self.l_min = float(l_min)
        self.l_max = float(l_max)
        self.min_len = int(min_len)
        self.spatial = spatial
        self.jitter_joints = int(jitter_joints)
        self.jitter_mode = jitter_mode
        self.temporal = bool(temporal)
        self.shear_magnitude = float(shear_magnitude)
        self.center_ratio = float(center_ratio)
        self.coords = coords
        self.noise = float(noise)
        self.joint_drop = float(joint_drop)

    @classmethod
    def from_config(cls, cfg: AugmentConfig, **overrides) -> ViewMaker:
        """Build from an :class:`~skelcon.config.AugmentConfig`; ``overrides`` win.
        With ``coords=2`` (2D keypoints) ``cfg.temporal_2d`` turns the random crop on."""
        two_d = overrides.get("coords") == 2
        kwargs = dict(
            out_len=cfg.out_len,
            l_min=cfg.l_min,
            min_len=cfg.min_len,
            spatial=cfg.spatial,
            jitter_joints=cfg.jitter_joints,
            jitter_mode=cfg.jitter_mode,
            shear_magnitude=cfg.shear_magnitude,
            temporal=cfg.temporal or (cfg.temporal_2d and two_d),
            noise=cfg.noise,
            joint_drop=cfg.joint_drop,
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def __repr__(self) -> str:
        return (
            f"ViewMaker(out_len={self.out_len}, temporal={self.temporal}, l_min={self.l_min}, "
            f"l_max={self.l_max}, min_len={self.min_len}, spatial={self.spatial!r}, "
            f"jitter_joints={self.jitter_joints}, jitter_mode={self.jitter_mode!r})"
        )

    def temporal_view(
        self, x: torch.Tensor, num_frames: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The temporal step only: x (N, C, T, V, M) -> (N, C, out_len, V, M)."""
        if not self.temporal:
            return center_crop_resize(x, num_frames, self.out_len, self.center_ratio)
        return temporal_crop_resize(
            x, num_frames, self.out_len, self.l_min, self.l_max, self.min_len, generator
        )

    def spatial_view(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The spatial step only: x (N, C, T, V, M) -> same shape: the shear or jitter,
        then the per-joint noise and dropout when they are on."""
        x = self._affine(x, generator)
        x = joint_noise(x, self.noise, generator, coords=self.coords)
        return joint_dropout(x, self.joint_drop, generator)

    def _affine(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.spatial == "none":
            return x
        if self.spatial == "shear":
            return shear(x, self.shear_magnitude, generator, coords=self.coords)
        jittered = joint_jitter(
            x, self.jitter_joints, self.jitter_mode, generator, coords=self.coords
        )
        if self.spatial == "jitter":
            return jittered
        sheared = shear(x, self.shear_magnitude, generator, coords=self.coords)
        use_shear = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
        return torch.where(use_shear[:, None, None, None, None], sheared, jittered)

    def __call__(
        self, x: torch.Tensor, num_frames: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """x: (N, C, T, V, M), num_frames: (N,) int64 -> view (N, C, out_len, V, M)."""
        return self.spatial_view(self.temporal_view(x, num_frames, generator), generator)
