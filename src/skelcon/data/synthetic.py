"""A procedural 3D skeleton action dataset in the NTU 25-joint layout.

``skelcon prepare synthetic --out DIR`` writes a small, CPU-sized prepared dataset
(26 classes, benchmark ``default``, splits ``train``/``test``) for demos and tests.
Each sample is built like a recording:

1. a body: rest bone offsets over a kinematic tree of the 25 Kinect v2 joints,
   scaled by a random height and per-bone (left/right symmetric) length jitter;
2. a motion: per-bone joint angles over time (Euler angles, vectorised over
   frames) from a class-specific curve with random amplitude, repetitions, hand,
   speed (a random monotone time warp) and idle frames before and after; a random
   resting posture of the limbs the action does not use, slow idle sway and, now
   and then, an unrelated gesture of a free arm; forward kinematics, feet kept on
   the floor, planted feet held in place;
3. a recording: the scene seen from a random camera (yaw +-45 deg about the
   vertical, small tilt and roll, 2.6-3.8 m away; metres, y up, z depth like
   Kinect), Gaussian sensor noise (stronger on the hands), tracking glitches (a
   joint jumps away for a few frames) and dropped joints (zeros for a joint over a
   short stretch of frames, as in the raw files);
4. the standard preparation of the real datasets (:mod:`skelcon.data.normalize`:
   centre on the middle of the spine of person 1 in every frame, rotate the spine
   to +z and the shoulders to +x at frame 0). Frames after ``num_frames`` are zeros
   (the real preparations repeat the valid frames instead).

Persons: M = 2 always; single-person actions leave person 2 all zeros. Four pairs
of classes are, up to the frame-0 alignment, time reversals of each other in
distribution (pick up / put down, sit down / stand up, raise / lower hands,
approach / back away), and several hand gestures differ only in where the hand
goes and how it moves, so the classes are learnable from the motion but not from
per-joint means or spreads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SkelconError, choices_message
from .layouts import NTU25
from .normalize import align_batch, center_batch
from .prepared import PreparedWriter, prepare_cleanup

GENERATOR_VERSION = 1
_CHUNK = 256  # samples normalised per batch
FPS = 30.0
V = NTU25.num_joints
NUM_PERSONS = 2

# Joint indices (0-based, NTU order).
(
    SPINE_BASE,
    SPINE_MID,
    NECK,
    HEAD,
    SHOULDER_L,
    ELBOW_L,
    WRIST_L,
    HAND_L,
    SHOULDER_R,
    ELBOW_R,
    WRIST_R,
    HAND_R,
    HIP_L,
    KNEE_L,
    ANKLE_L,
    FOOT_L,
    HIP_R,
    KNEE_R,
    ANKLE_R,
    FOOT_R,
    SPINE_SHOULDER,
    HANDTIP_L,
    THUMB_L,
    HANDTIP_R,
    THUMB_R,
) = range(25)

# Physical kinematic tree: parent of each joint (root: -1). Thumb and hand tip both
# hang off the hand, so the layout's thumb-handtip bone is rigid as well.
_PARENT = np.array(
    [-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11]
)


def _tree_levels(parent: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(joints, their parents) for each depth of the tree below the root."""
    depth = np.zeros(len(parent), dtype=int)
    for _ in range(len(parent)):
        depth = np.where(parent < 0, 0, depth[parent] + 1)
    return [(np.flatnonzero(depth == d), parent[depth == d]) for d in range(1, depth.max() + 1)]


_LEVELS = _tree_levels(_PARENT)

# Rest offsets (metres, 1.70 m adult) of each joint from its parent in the body
# frame: +x the person's right, +y up, +z behind (the person faces -z, the camera).
_REST = np.zeros((V, 3))
_REST[SPINE_MID] = (0, 0.27, 0)
_REST[SPINE_SHOULDER] = (0, 0.22, 0)
_REST[NECK] = (0, 0.07, 0)
_REST[HEAD] = (0, 0.13, -0.01)
for _s, (_sh, _el, _wr, _ha, _tip, _th) in (
    (-1, (SHOULDER_L, ELBOW_L, WRIST_L, HAND_L, HANDTIP_L, THUMB_L)),
    (1, (SHOULDER_R, ELBOW_R, WRIST_R, HAND_R, HANDTIP_R, THUMB_R)),
):
    _REST[_sh] = (0.16 * _s, -0.03, 0)
    _REST[_el] = (0, -0.26, 0)
    _REST[_wr] = (0, -0.24, 0)
    _REST[_ha] = (0, -0.07, 0)
    _REST[_tip] = (0, -0.07, -0.01)
    _REST[_th] = (-0.025 * _s, -0.03, -0.03)
for _s, (_hip, _kn, _an, _ft) in (
    (-1, (HIP_L, KNEE_L, ANKLE_L, FOOT_L)),
    (1, (HIP_R, KNEE_R, ANKLE_R, FOOT_R)),
):
    _REST[_hip] = (0.08 * _s, -0.03, 0)
    _REST[_kn] = (0, -0.42, 0)
    _REST[_an] = (0, -0.40, 0)
    _REST[_ft] = (0, -0.05, -0.12)
# Bone groups that share one length jitter (left and right together).
_BONE_GROUPS = (
    (SPINE_MID,),
    (SPINE_SHOULDER,),
    (NECK, HEAD),
    (SHOULDER_L, SHOULDER_R),
    (ELBOW_L, ELBOW_R),
    (WRIST_L, WRIST_R),
    (HAND_L, HAND_R, HANDTIP_L, HANDTIP_R, THUMB_L, THUMB_R),
    (HIP_L, HIP_R),
    (KNEE_L, KNEE_R),
    (ANKLE_L, ANKLE_R),
    (FOOT_L, FOOT_R),
)
_FEET = [ANKLE_L, FOOT_L, ANKLE_R, FOOT_R]
_HAND_JOINTS = [HAND_L, HAND_R, HANDTIP_L, THUMB_L, HANDTIP_R, THUMB_R]
# Joints that may drop out (never the spine or shoulders normalisation aligns on).
_DROPPABLE = np.array(
    [
        HEAD,
        WRIST_L,
        HAND_L,
        WRIST_R,
        HAND_R,
        ANKLE_L,
        FOOT_L,
        ANKLE_R,
        FOOT_R,
        HANDTIP_L,
        THUMB_L,
        HANDTIP_R,
        THUMB_R,
    ]
)
# (upper arm, forearm, hand) and (thigh, shin, foot): the joint whose bone each angle turns.
_ARM = {-1: (ELBOW_L, WRIST_L, HAND_L), 1: (ELBOW_R, WRIST_R, HAND_R)}
_LEG = {-1: (KNEE_L, ANKLE_L, FOOT_L), 1: (KNEE_R, ANKLE_R, FOOT_R)}


# ----------------------------------------------------------------------------- geometry
def euler_to_matrix(e: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` for Euler angles ``e: (..., 3)`` = (pitch x, yaw y,
    roll z) in radians, composed as ``Ry(yaw) @ Rz(roll) @ Rx(pitch)``."""
    c, s = np.cos(e), np.sin(e)
    cx, cy, cz = c[..., 0], c[..., 1], c[..., 2]
    sx, sy, sz = s[..., 0], s[..., 1], s[..., 2]
    out = np.empty((*e.shape[:-1], 3, 3))
    # Ry @ Rz @ Rx, expanded.
    out[..., 0, 0] = cy * cz
    out[..., 0, 1] = -cy * sz * cx + sy * sx
    out[..., 0, 2] = cy * sz * sx + sy * cx
    out[..., 1, 0] = sz
    out[..., 1, 1] = cz * cx
    out[..., 1, 2] = -cz * sx
    out[..., 2, 0] = -sy * cz
    out[..., 2, 1] = sy * sz * cx + cy * sx
    out[..., 2, 2] = -sy * sz * sx + cy * cx
    return out


def forward_kinematics(angles: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Joint positions ``(T, V, 3)`` from per-bone Euler angles ``angles: (T, V, 3)`` and
    rest offsets ``offsets: (V, 3)``, root at the origin.

    The rotation of joint j turns the bone from its parent to j and everything below
    (computed one tree depth at a time):
    ``G_j = G_parent @ R_j``, ``p_j = p_parent + G_j @ offset_j`` (``G_root = R_root``).
    """
    rot = euler_to_matrix(angles)
    g = np.empty_like(rot)
    pos = np.zeros(angles.shape)
    g[:, 0] = rot[:, 0]
    for joints, parents in _LEVELS:  # all joints of one tree depth at once
        g[:, joints] = g[:, parents] @ rot[:, joints]
        pos[:, joints] = pos[:, parents] + (g[:, joints] @ offsets[joints][..., None])[..., 0]
    return pos


def _yaw_matrix(a: np.ndarray | float) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return euler_to_matrix(np.stack([np.zeros_like(a), a, np.zeros_like(a)], axis=-1))


# ----------------------------------------------------------------------------- time curves
def _ramp(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Smoothstep from 0 at ``a`` to 1 at ``b``."""
    u = np.clip((x - a) / (b - a), 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _bump(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """A smooth bump, 0 outside ``[a, b]``, 1 at its middle."""
    u = np.clip((x - a) / (b - a), 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def _trap(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Smooth plateau: up over ``[a, b]``, 1 until ``c``, down over ``[c, d]``."""
    return _ramp(x, a, b) * (1.0 - _ramp(x, c, d))


def _cycle(tau: np.ndarray, reps: int) -> np.ndarray:
    """Phase in ``[0, 1)`` of ``reps`` repetitions over ``tau`` in ``[0, 1]``."""
    p = tau * reps
    return np.where(tau >= 1.0, 0.0, p - np.floor(p))


def _smooth_noise(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``(k, n)`` slow stationary noise of unit-ish amplitude (3 sinusoids, 0.1-0.7 Hz)."""
    f = rng.uniform(0.1, 0.7, size=(k, 3, 1)) / FPS
    ph = rng.uniform(0, 2 * np.pi, size=(k, 3, 1))
    amp = rng.uniform(0.3, 1.0, size=(k, 3, 1))
    t = np.arange(n)[None, None, :]
    return (amp * np.sin(2 * np.pi * f * t + ph)).sum(axis=1) / 1.5


# ----------------------------------------------------------------------------- motions
@dataclass
class _Person:
    angles: np.ndarray  # (T, V, 3) Euler angles per bone
    offsets: np.ndarray  # (V, 3) scaled rest offsets
    lift: np.ndarray  # (T,) extra height above the floor (jumps)
    move: np.ndarray  # (T, 3) translation in the person's frame
    anchor: tuple[int, ...] = (ANKLE_L, ANKLE_R)  # joints kept in place on the floor


class _Ctx:
    """What a class's motion function sees: time, phase, persons, and the rng."""

    def __init__(self, rng: np.random.Generator, n: int, persons: list[_Person], tau: np.ndarray):
        self.rng = rng
        self.n = n
        self.persons = persons
        self.tau = tau
        self.env = _trap(tau, 0.0, 0.15, 0.85, 1.0)
        self.distance = 1.0  # between the two persons' roots
        self.free: tuple[int, ...] = ()  # arms free for an unrelated gesture
        self.hand = 1  # the hand of one-handed actions (-1 left, +1 right)

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def side(self) -> int:
        return int(self.rng.choice((-1, 1)))


def _arm(p: _Person, side: int, flex=0.0, abd=0.0, opening=0.0, elbow=0.0, fore_roll=0.0) -> None:
    """Add arm angles. ``side`` -1 left, +1 right. ``flex`` raises the upper arm forward,
    ``abd`` sideways, ``opening`` swings it outwards horizontally; ``elbow`` bends the
    forearm forward, ``fore_roll`` bends it outwards in the arm's frontal plane."""
    ua, fa, _ = _ARM[side]
    a = p.angles
    a[:, ua, 0] += flex
    a[:, ua, 2] += side * abd
    a[:, ua, 1] -= side * opening
    a[:, fa, 0] += elbow
    a[:, fa, 2] += side * fore_roll


def _leg(p: _Person, side: int, hip=0.0, knee=0.0, abd=0.0, ankle=0.0) -> None:
    """Add leg angles: ``hip`` flexes the thigh forward, ``knee`` bends the shin back,
    ``abd`` spreads the leg sideways, ``ankle`` points the foot down."""
    th, sh, ft = _LEG[side]
    a = p.angles
    a[:, th, 0] += hip
    a[:, th, 2] += side * abd
    a[:, sh, 0] -= knee
    a[:, ft, 0] -= ankle


def _lean(p: _Person, forward=0.0, upper=0.0, neck=0.0, twist=0.0) -> None:
    """Bend the spine forward (negative: backward), the neck/head forward, twist the torso."""
    a = p.angles
    a[:, SPINE_MID, 0] -= forward
    a[:, SPINE_SHOULDER, 0] -= upper
    a[:, HEAD, 0] -= neck
    a[:, SPINE_MID, 1] += twist


def _wave(c: _Ctx) -> None:
    """Forearm swings side to side, upper arm raised sideways."""
    p, env, side, reps = c.persons[0], c.env, c.hand, int(c.rng.integers(2, 6))
    swing = c.u(0.25, 0.5) * np.sin(2 * np.pi * reps * c.tau + c.u(0, 2 * np.pi))
    _arm(
        p,
        side,
        abd=c.u(1.5, 2.4) * env,
        flex=c.u(-0.1, 0.5) * env,
        fore_roll=(c.u(0.2, 0.6) + swing) * env,
        elbow=c.u(0.0, 0.4) * env,
    )
    _lean(p, twist=-side * c.u(0, 0.15) * env)


def _beckon(c: _Ctx) -> None:
    """Beckon ("come here"): forearm and hand curl towards the body and back, arm in front."""
    p, env, side, reps = c.persons[0], c.env, c.hand, int(c.rng.integers(2, 6))
    curl = np.sin(2 * np.pi * reps * c.tau + c.u(0, 2 * np.pi))
    _arm(
        p,
        side,
        flex=c.u(0.4, 1.1) * env,
        abd=c.u(0.0, 0.4) * env,
        elbow=(c.u(0.8, 1.3) + c.u(0.3, 0.6) * curl) * env,
    )
    p.angles[:, _ARM[side][2], 0] += 0.5 * curl * env


def _point(c: _Ctx) -> None:
    """Point at something: the straight arm goes up in front, holds, comes down."""
    p, side = c.persons[0], c.hand
    hold = _trap(c.tau, 0.0, c.u(0.15, 0.35), c.u(0.65, 0.85), 1.0)
    _arm(
        p,
        side,
        flex=c.u(1.1, 1.8) * hold,
        abd=c.u(-0.1, 0.5) * hold,
        opening=c.u(-0.3, 0.4) * hold,
        elbow=c.u(0.0, 0.25) * hold,
    )
    _lean(p, twist=-side * c.u(0.0, 0.3) * hold)


def _phone_call(c: _Ctx) -> None:
    """Hand to the ear, held there, head tilted towards it."""
    p, side = c.persons[0], c.hand
    hold = _trap(c.tau, 0.0, c.u(0.1, 0.25), c.u(0.75, 0.9), 1.0)
    _arm(
        p,
        side,
        flex=c.u(0.2, 0.6) * hold,
        abd=c.u(0.3, 0.7) * hold,
        elbow=c.u(2.1, 2.5) * hold,
        fore_roll=-c.u(0.2, 0.6) * hold,
    )
    p.angles[:, HEAD, 2] -= side * c.u(0.05, 0.25) * hold


def _touch(c: _Ctx, where: str) -> None:
    """A hand held on the head (headache) or the chest (chest pain)."""
    p, side = c.persons[0], c.hand
    hold = _trap(c.tau, 0.0, c.u(0.1, 0.25), c.u(0.75, 0.9), 1.0)
    if where == "head":
        _arm(
            p,
            side,
            flex=c.u(0.7, 1.1) * hold,
            abd=c.u(0.3, 0.6) * hold,
            elbow=c.u(2.0, 2.4) * hold,
            fore_roll=-c.u(0.5, 0.9) * hold,
        )
        _lean(p, neck=c.u(0.1, 0.3) * hold)
    else:
        _arm(
            p,
            side,
            flex=c.u(0.2, 0.5) * hold,
            abd=c.u(0.0, 0.2) * hold,
            elbow=c.u(1.7, 2.1) * hold,
            fore_roll=-c.u(0.4, 0.7) * hold,
        )
        _lean(p, forward=c.u(0.05, 0.25) * hold)


def _head(c: _Ctx, axis: int) -> None:
    """Nod (``axis`` 0, pitch) or shake the head (``axis`` 1, yaw)."""
    p, reps = c.persons[0], int(c.rng.integers(2, 6))
    amp = c.u(0.15, 0.35) if axis == 0 else c.u(0.3, 0.6)
    wobble = amp * np.sin(2 * np.pi * reps * c.tau) * c.env
    p.angles[:, HEAD, axis] += wobble
    p.angles[:, NECK, axis] += 0.5 * wobble


def _throw(c: _Ctx) -> None:
    """Overhand throw: wind up behind, whip forward over the shoulder, step in."""
    p, side, reps = c.persons[0], c.hand, int(c.rng.integers(1, 3))
    ph = _cycle(c.tau, reps)
    wind = _bump(ph, 0.05, 0.6)
    whip = _bump(ph, 0.45, 0.9)
    _arm(
        p,
        side,
        flex=-0.7 * wind + c.u(1.8, 2.6) * whip,
        abd=c.u(0.8, 1.3) * wind,
        elbow=1.6 * wind + 0.3 * whip,
    )
    _arm(p, -side, flex=0.8 * wind)
    _lean(p, twist=side * 0.4 * wind - side * 0.4 * whip, forward=0.3 * whip - 0.1 * wind)
    _leg(p, -side, hip=0.4 * _bump(ph, 0.3, 0.95), knee=0.3 * _bump(ph, 0.3, 0.95))


def _clap(c: _Ctx) -> None:
    p, env, reps = c.persons[0], c.env, int(c.rng.integers(3, 9))
    flex, elbow, close, width = c.u(0.9, 1.45), c.u(0.2, 0.8), c.u(0.25, 0.35), c.u(0.35, 0.8)
    opening = -close + width * (0.5 + 0.5 * np.cos(2 * np.pi * reps * c.tau))
    for s in (-1, 1):
        _arm(p, s, flex=flex * env, elbow=elbow * env, opening=opening * env)


def _squat(c: _Ctx) -> None:
    p, reps, depth = c.persons[0], int(c.rng.integers(1, 4)), c.u(0.9, 1.5)
    b = 0.5 - 0.5 * np.cos(2 * np.pi * reps * c.tau)
    knee = depth * c.u(1.3, 1.6)
    for s in (-1, 1):
        _leg(p, s, hip=depth * b, knee=knee * b)
    _lean(p, forward=c.u(0.3, 0.6) * depth * b)
    if c.rng.random() < 0.5:  # arms out in front for balance
        for s in (-1, 1):
            _arm(p, s, flex=c.u(1.0, 1.5) * b)
    else:
        c.free = (-1, 1)


def _jump(c: _Ctx) -> None:
    p, reps = c.persons[0], int(c.rng.integers(1, 4))
    depth, height, arms = c.u(0.5, 0.9), c.u(0.1, 0.3), c.u(1.2, 2.6)
    ph = _cycle(c.tau, reps)
    crouch = _bump(ph, 0.0, 0.4) + 0.7 * _bump(ph, 0.62, 1.0)
    q = np.clip((ph - 0.4) / 0.22, 0.0, 1.0)
    flight = 4 * q * (1 - q)
    for s in (-1, 1):
        _leg(p, s, hip=depth * crouch, knee=1.8 * depth * crouch, ankle=0.5 * flight)
        _arm(p, s, flex=-0.6 * _bump(ph, 0.0, 0.4) + arms * _bump(ph, 0.3, 0.72))
    _lean(p, forward=0.4 * depth * crouch)
    p.lift = p.lift + height * flight


def _kick(c: _Ctx) -> None:
    p, side, reps = c.persons[0], c.side(), int(c.rng.integers(1, 4))
    ph, high = _cycle(c.tau, reps), c.u(1.0, 1.6)
    raise_ = _bump(ph, 0.1, 0.75)
    knee = c.u(1.2, 1.7) * _bump(ph, 0.05, 0.45) + 0.3 * _bump(ph, 0.6, 0.95)
    _leg(p, side, hip=high * raise_, knee=knee, ankle=0.3 * raise_)
    for s in (-1, 1):
        _arm(p, s, abd=c.u(0.2, 0.6) * raise_, flex=(0.4 if s == -side else -0.1) * raise_)
    _lean(p, forward=-0.15 * raise_)
    p.anchor = (_LEG[-side][1],)
    c.free = (-1, 1)


def _bow(c: _Ctx) -> None:
    p, reps, depth = c.persons[0], int(c.rng.integers(1, 3)), c.u(0.5, 1.1)
    b = _trap(_cycle(c.tau, reps), 0.05, 0.4, 0.6, 0.95)
    _lean(p, forward=0.75 * depth * b, upper=0.25 * depth * b, neck=0.3 * b)
    for s in (-1, 1):
        _arm(p, s, flex=0.8 * depth * b)
        _leg(p, s, hip=0.1 * b)
    c.free = (-1, 1)


def _pick_up(c: _Ctx, reverse: bool = False) -> None:
    p, side, depth = c.persons[0], c.side(), c.u(0.8, 1.3)
    tau = 1.0 - c.tau if reverse else c.tau
    bend = _trap(tau, 0.02, 0.35, 0.5, 0.85)
    hold = _ramp(tau, 0.5, 0.9)
    _lean(p, forward=depth * bend, neck=0.2 * bend)
    for s in (-1, 1):
        _leg(p, s, hip=0.5 * depth * bend, knee=depth * bend)
    _arm(
        p,
        side,
        flex=c.u(0.3, 0.7) * bend + c.u(0.3, 0.6) * hold,
        elbow=c.u(1.2, 1.7) * hold,
        opening=-0.3 * hold,
    )
    _arm(p, -side, flex=0.3 * bend)
    c.free = (-side,)


def _sit_down(c: _Ctx, reverse: bool = False) -> None:
    p, depth = c.persons[0], c.u(1.3, 1.65)
    tau = 1.0 - c.tau if reverse else c.tau
    sit = _ramp(tau, 0.1, 0.8)
    move = _bump(tau, 0.05, 0.9)
    knee = depth * c.u(0.95, 1.1)
    for s in (-1, 1):
        _leg(p, s, hip=depth * sit, knee=knee * sit)
        _arm(p, s, flex=0.5 * move + 0.4 * sit, elbow=0.6 * sit)
    _lean(p, forward=0.6 * move)  # upright at both ends: frame-0 alignment stays symmetric


def _turn_around(c: _Ctx) -> None:
    p, steps = c.persons[0], int(c.rng.integers(2, 5))
    p.angles[:, SPINE_BASE, 1] += c.side() * c.u(2.6, 3.6) * _ramp(c.tau, 0.0, 1.0)
    for s, phase in ((-1, 0.0), (1, np.pi)):
        step = np.maximum(0.0, np.sin(2 * np.pi * steps * c.tau + phase)) * c.env
        _leg(p, s, hip=0.35 * step, knee=0.7 * step)
    p.anchor = ()
    c.free = (-1, 1)


def _raise_hands(c: _Ctx, reverse: bool = False) -> None:
    p = c.persons[0]
    up = _ramp(1.0 - c.tau if reverse else c.tau, 0.1, 0.6)
    for s in (-1, 1):
        _arm(p, s, flex=c.u(2.3, 3.0) * up, abd=-c.u(0.1, 0.5) * up, elbow=c.u(0.0, 0.4) * up)
    _lean(p, neck=-0.2 * up)


def _punch(c: _Ctx) -> None:
    p, env, reps, side = c.persons[0], c.env, int(c.rng.integers(2, 7)), c.side()
    for s in (-1, 1):
        _arm(p, s, flex=0.5 * env, abd=0.25 * env, elbow=2.0 * env, opening=-0.2 * env)
    w = 0.42 / reps
    for k in range(reps):
        hit = _bump(c.tau, 0.1 + 0.8 * (k + 0.5) / reps - w, 0.1 + 0.8 * (k + 0.5) / reps + w)
        _arm(p, side, flex=1.1 * hit, elbow=-1.9 * hit, opening=-0.15 * hit)
        _lean(p, twist=-side * 0.25 * hit)
        side = -side


def _handshake(c: _Ctx) -> None:
    c.distance = c.u(0.85, 1.15)
    reps, shake = int(c.rng.integers(2, 5)), _bump(c.tau, 0.25, 0.85)
    phase = c.u(0, 2 * np.pi)
    for p in c.persons:
        osc = 0.12 * np.sin(2 * np.pi * reps * c.tau + phase) * shake
        _arm(
            p,
            1,
            flex=c.u(0.7, 0.95) * c.env + osc,
            elbow=c.u(0.3, 0.6) * c.env,
            opening=-c.u(0.2, 0.35) * c.env,
        )


def _push(c: _Ctx) -> None:
    c.distance = c.u(0.65, 0.9)
    a, b = c.persons
    reach = _trap(c.tau, 0.15, 0.4, 0.6, 0.9)
    bent = _trap(c.tau, 0.15, 0.35, 0.42, 0.55)
    for s in (-1, 1):
        _arm(a, s, flex=1.3 * reach, elbow=1.6 * bent + 0.2 * reach)
    _lean(a, forward=0.25 * _bump(c.tau, 0.35, 0.75))
    _leg(a, 1, hip=0.3 * _bump(c.tau, 0.35, 0.7), knee=0.3 * _bump(c.tau, 0.35, 0.7))
    a.move[:, 2] -= 0.15 * _ramp(c.tau, 0.35, 0.6)
    a.anchor = ()
    hit = _bump(c.tau, 0.48, 0.85)
    b.move[:, 2] += c.u(0.2, 0.6) * _ramp(c.tau, 0.48, 0.8)
    _lean(b, forward=-0.3 * hit)
    for s in (-1, 1):
        _arm(b, s, flex=0.6 * hit, abd=0.4 * hit)
    _leg(b, c.side(), hip=-0.3 * hit)
    b.anchor = ()


def _approach(c: _Ctx, reverse: bool = False) -> None:
    """Two persons walk towards each other (``reverse``: walk backwards, apart)."""
    near, far = c.u(0.8, 1.1), c.u(2.2, 3.0)
    c.distance = far
    prog = _ramp(1.0 - c.tau if reverse else c.tau, 0.0, 1.0)
    speed = np.abs(np.gradient(prog))
    speed = speed / max(float(speed.max()), 1e-9)
    cycles = (far - near) / 2 / c.u(1.0, 1.4)  # one gait cycle = two steps
    for p in c.persons:
        ph = 2 * np.pi * cycles * prog + c.u(0, 2 * np.pi)
        for s in (-1, 1):
            swing = s * np.sin(ph) * speed
            _leg(p, s, hip=0.4 * swing, knee=0.6 * np.maximum(0.0, s * np.sin(ph + 0.8)) * speed)
            _arm(p, s, flex=-0.3 * swing)
        p.move[:, 2] -= (far - near) / 2 * prog
        p.anchor = ()


@dataclass(frozen=True)
class _ActionClass:
    name: str
    motion: Callable[[_Ctx], None]
    persons: int  # 1 or 2
    arms: tuple[int, ...]  # arms (-1 left, +1 right, 0 the chosen hand) the action uses


ACTIONS: tuple[_ActionClass, ...] = (
    _ActionClass("wave", _wave, 1, (0,)),
    _ActionClass("beckon", _beckon, 1, (0,)),
    _ActionClass("point", _point, 1, (0,)),
    _ActionClass("phone_call", _phone_call, 1, (0,)),
    _ActionClass("touch_head", lambda c: _touch(c, "head"), 1, (0,)),
    _ActionClass("touch_chest", lambda c: _touch(c, "chest"), 1, (0,)),
    _ActionClass("nod", lambda c: _head(c, 0), 1, ()),
    _ActionClass("shake_head", lambda c: _head(c, 1), 1, ()),
    _ActionClass("throw", _throw, 1, (-1, 1)),
    _ActionClass("clap", _clap, 1, (-1, 1)),
    _ActionClass("squat", _squat, 1, (-1, 1)),
    _ActionClass("jump", _jump, 1, (-1, 1)),
    _ActionClass("kick", _kick, 1, (-1, 1)),
    _ActionClass("bow", _bow, 1, (-1, 1)),
    _ActionClass("pick_up", _pick_up, 1, (-1, 1)),
    _ActionClass("put_down", lambda c: _pick_up(c, reverse=True), 1, (-1, 1)),
    _ActionClass("sit_down", _sit_down, 1, (-1, 1)),
    _ActionClass("stand_up", lambda c: _sit_down(c, reverse=True), 1, (-1, 1)),
    _ActionClass("turn_around", _turn_around, 1, ()),
    _ActionClass("raise_hands", _raise_hands, 1, (-1, 1)),
    _ActionClass("lower_hands", lambda c: _raise_hands(c, reverse=True), 1, (-1, 1)),
    _ActionClass("punch", _punch, 1, (-1, 1)),
    _ActionClass("handshake", _handshake, 2, (1,)),
    _ActionClass("push", _push, 2, (-1, 1)),
    _ActionClass("approach", _approach, 2, (-1, 1)),
    _ActionClass("back_away", lambda c: _approach(c, reverse=True), 2, (-1, 1)),
)
CLASSES: tuple[str, ...] = tuple(a.name for a in ACTIONS)
TWO_PERSON: frozenset[str] = frozenset(a.name for a in ACTIONS if a.persons == 2)


def _random_offsets(rng: np.random.Generator) -> np.ndarray:
    """Rest offsets ``(V, 3)`` of a random body: height 0.85-1.12, bone jitter +-7 %."""
    off = _REST * rng.uniform(0.85, 1.12)
    for group in _BONE_GROUPS:
        off[list(group)] *= rng.uniform(0.93, 1.07)
    return off


def _rest_posture(rng: np.random.Generator, n: int, busy_arms: Sequence[int]) -> _Person:
    """A person standing in a random posture, with slow idle sway."""
    p = _Person(
        angles=np.zeros((n, V, 3)),
        offsets=_random_offsets(rng),
        lift=np.zeros(n),
        move=np.zeros((n, 3)),
    )
    for s in (-1, 1):
        style = (
            "hang" if s in busy_arms else rng.choice(["hang", "akimbo", "front"], p=[0.6, 0.2, 0.2])
        )
        if style == "hang":
            _arm(
                p,
                s,
                flex=rng.uniform(-0.1, 0.15),
                abd=rng.uniform(0.03, 0.2),
                elbow=rng.uniform(0.05, 0.35),
            )
        elif style == "akimbo":  # hands on hips
            _arm(
                p,
                s,
                abd=rng.uniform(0.5, 0.7),
                flex=-0.2,
                elbow=0.3,
                fore_roll=-rng.uniform(1.1, 1.4),
            )
        else:  # hands together in front
            _arm(p, s, flex=rng.uniform(0.1, 0.35), opening=-0.25, elbow=rng.uniform(1.1, 1.5))
        knee = rng.uniform(0.0, 0.08)
        _leg(p, s, hip=knee / 2, knee=knee, abd=rng.uniform(0.0, 0.1))
    _lean(p, forward=rng.uniform(-0.05, 0.12), neck=rng.uniform(-0.1, 0.15))
    p.angles[:, HEAD, 1] += rng.uniform(-0.15, 0.15)
    sway = _smooth_noise(rng, n, 8)
    a = p.angles
    a[:, SPINE_BASE, 1] += 0.05 * sway[0]
    a[:, SPINE_MID, 0] += 0.03 * sway[1]
    a[:, SPINE_MID, 2] += 0.03 * sway[2]
    a[:, HEAD, 0] += 0.08 * sway[3]
    a[:, HEAD, 1] += 0.1 * sway[4]
    a[:, ELBOW_L, 0] += 0.05 * sway[5]
    a[:, ELBOW_R, 0] += 0.05 * sway[6]
    a[:, SPINE_BASE, 2] += 0.02 * sway[7]
    return p


def _pose(p: _Person) -> np.ndarray:
    """Joint positions ``(T, V, 3)`` of a person in its own frame, feet on the floor (y=0)."""
    pos = forward_kinematics(p.angles, p.offsets)
    pos[..., 1] -= pos[:, _FEET, 1].min(axis=1, keepdims=True)
    pos[..., 1] += p.lift[:, None]
    if p.anchor:
        drift = pos[:, list(p.anchor)][..., [0, 2]].mean(axis=1)  # (T, 2)
        pos[..., [0, 2]] -= (drift - drift[:1])[:, None, :]
    return pos + p.move[:, None, :]


def _gesture(rng: np.random.Generator, p: _Person, side: int, x: np.ndarray) -> None:
    """An unrelated arm gesture (scratch, point, touch face ...) somewhere in the clip."""
    centre, width = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.4)
    g = _trap(x, centre - width / 2, centre - width / 6, centre + width / 6, centre + width / 2)
    _arm(
        p,
        side,
        flex=rng.uniform(0.3, 2.2) * g,
        abd=rng.uniform(0.0, 1.0) * g,
        elbow=rng.uniform(0.3, 2.2) * g,
    )


def _time_warp(rng: np.random.Generator, tau: np.ndarray) -> np.ndarray:
    """A random monotone warp of ``[0, 1]`` whose distribution is time-reversal symmetric."""
    a, b = rng.uniform(-0.35, 0.35), rng.uniform(-0.5, 0.5)
    return np.clip(
        tau + b * np.sin(np.pi * tau) / np.pi - a * np.sin(2 * np.pi * tau) / (2 * np.pi), 0, 1
    )


def synthesize(
    label: int,
    rng: np.random.Generator,
    *,
    max_frames: int = 100,
    min_frames: int | None = None,
    noise: bool = True,
    dropout: bool = True,
    normalise: bool = True,
) -> tuple[np.ndarray, int]:
    """One sample of class ``label`` (index into :data:`CLASSES`).

    Returns ``x: (3, max_frames, 25, 2)`` float32 (metres; zeros after the valid
    frames and for an absent second person) and the number of valid frames, drawn
    uniformly from ``[min_frames, max_frames]`` (default ``min_frames``: 40 % of
    ``max_frames``). ``noise``: Gaussian sensor noise; ``dropout``: dropped joints;
    ``normalise``: the standard preparation (else raw camera coordinates).
    """
    action = ACTIONS[label]
    lo = max(8, math.ceil(0.4 * max_frames)) if min_frames is None else min_frames
    n = int(rng.integers(min(lo, max_frames), max_frames + 1))
    t = np.arange(n, dtype=np.float64)
    start, stop = rng.uniform(0, 0.25) * n, n - rng.uniform(0, 0.25) * n
    tau = _time_warp(rng, np.clip((t - start) / max(stop - start, 1.0), 0.0, 1.0))
    hand = 1 if rng.random() < 0.7 else -1
    busy = tuple(hand if s == 0 else s for s in action.arms)
    persons = [_rest_posture(rng, n, busy) for _ in range(action.persons)]
    ctx = _Ctx(rng, n, persons, tau)
    ctx.hand = hand
    ctx.free = tuple(s for s in (-1, 1) if s not in busy)
    action.motion(ctx)
    if ctx.free and rng.random() < 0.5:
        _gesture(rng, persons[0], int(rng.choice(ctx.free)), t / n)

    # Scene: one person faces the camera; two face each other across the x axis.
    if action.persons == 1:
        placements = [(0.0, np.zeros(3))]
    else:
        h = ctx.distance / 2
        placements = [(-np.pi / 2, np.array([-h, 0.0, 0.0])), (np.pi / 2, np.array([h, 0.0, 0.0]))]
    cam = euler_to_matrix(
        np.array(
            [rng.uniform(-0.17, 0.17), rng.uniform(-np.pi / 4, np.pi / 4), rng.uniform(-0.05, 0.05)]
        )
    )
    shift = np.array([rng.uniform(-0.5, 0.5), -rng.uniform(0.6, 1.0), rng.uniform(2.6, 3.8)])
    x = np.zeros((3, max_frames, V, NUM_PERSONS), dtype=np.float32)
    sigma = rng.uniform(0.003, 0.02)
    for m, (person, (facing, where)) in enumerate(zip(persons, placements, strict=True)):
        world = _pose(person) @ _yaw_matrix(facing).T + where
        cam_xyz = world @ cam.T + shift  # (n, V, 3)
        if noise:
            scale = np.ones(V)
            scale[_HAND_JOINTS] = 2.5
            cam_xyz = cam_xyz + rng.normal(0.0, sigma, size=cam_xyz.shape) * scale[None, :, None]
            for _ in range(int(rng.poisson(1.0))):  # tracking glitches: a joint jumps away
                j, s0, length = int(rng.integers(V)), int(rng.integers(n)), int(rng.integers(1, 6))
                cam_xyz[s0 : s0 + length, j] += rng.normal(0.0, 0.08, size=3)
        x[:, :n, :, m] = cam_xyz.transpose(2, 0, 1)
    if dropout:  # the sensor loses a joint for a few frames: zeros, as in the raw files
        for m in range(action.persons):
            for _ in range(int(rng.random() < 0.3) * int(rng.integers(1, 3))):
                j = int(rng.choice(_DROPPABLE))
                length = int(rng.integers(1, max(2, min(15, n // 4)) + 1))
                s0 = int(rng.integers(0, max(1, n - length + 1)))
                x[:, s0 : s0 + length, j, m] = 0.0
    if normalise:
        x = prepare_batch(x[None])[0]
    return x, n


def prepare_batch(x: np.ndarray) -> np.ndarray:
    """The standard preparation of zero-padded synthetic samples ``x: (N, 3, T, V, M)``.

    Equals :func:`skelcon.data.normalize.normalize` of each sample's valid frames: those
    hold no empty frame (dropouts never empty a whole frame), so its null-frame padding
    is a no-op and is skipped, which keeps the frames after ``num_frames`` zero.
    """
    return align_batch(center_batch(np.asarray(x, dtype=np.float32), NTU25), NTU25)


# ----------------------------------------------------------------------------- dataset
def stratified_split(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices, ``round(test_fraction * n_c)`` test samples of every
    class (at least one of each kind when the class has two or more samples)."""
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(test_fraction * len(idx)))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _resolve_classes(classes: Sequence[str] | None) -> list[int]:
    if classes is None:
        return list(range(len(CLASSES)))
    out = []
    for name in classes:
        if name not in CLASSES:
            raise SkelconError(choices_message("synthetic class", name, CLASSES))
        if CLASSES.index(name) not in out:
            out.append(CLASSES.index(name))
    if not out:
        raise SkelconError("no synthetic classes selected")
    return out


@prepare_cleanup()
def generate_synthetic(
    out: str | Path,
    *,
    per_class: int = 75,
    max_frames: int = 100,
    seed: int = 0,
    test_fraction: float = 0.3,
    classes: Sequence[str] | None = None,
    noise: bool = True,
    dropout: bool = True,
) -> Path:
    """Write the synthetic dataset to ``out`` (prepared format, benchmark ``default`` with
    splits ``train``/``test``, stratified by class) and return its path.

    Sample k of class c depends only on ``(seed, c, k, max_frames, noise, dropout)``,
    so choosing a subset of ``classes`` does not change the samples of the others.
    """
    if per_class < 2:
        raise SkelconError(
            f"per_class must be at least 2 (one train, one test sample), got {per_class}",
            param="per_class",
        )
    if max_frames < 16:
        raise SkelconError(f"max_frames must be at least 16, got {max_frames}", param="max_frames")
    if not 0.0 < test_fraction < 1.0:
        raise SkelconError(
            f"test_fraction must be strictly between 0 and 1, got {test_fraction}",
            param="test_fraction",
        )
    chosen = _resolve_classes(classes)
    names = [CLASSES[c] for c in chosen]
    writer = PreparedWriter(
        out,
        dataset="synthetic",
        layout=NTU25.name,
        classes=names,
        capacity=per_class * len(chosen),
        max_frames=max_frames,
        num_persons=NUM_PERSONS,
    )
    # interleaved (k outer), so any prefix of the file holds every class
    jobs = [(k, new, c) for k in range(per_class) for new, c in enumerate(chosen)]
    labels = []
    for s in range(0, len(jobs), _CHUNK):
        chunk = jobs[s : s + _CHUNK]
        raw, frames = [], []
        for k, _, c in chunk:
            rng = np.random.default_rng([seed, c, k])
            x, n = synthesize(
                c, rng, max_frames=max_frames, noise=noise, dropout=dropout, normalise=False
            )
            raw.append(x)
            frames.append(n)
        for x, n, (k, new, c) in zip(prepare_batch(np.stack(raw)), frames, chunk, strict=True):
            writer.add(x, new, n, f"{CLASSES[c]}_{k:05d}")
            labels.append(new)
    train, test = stratified_split(
        np.asarray(labels), test_fraction, np.random.default_rng([seed, 7919])
    )
    params = {
        "version": GENERATOR_VERSION,
        "per_class": per_class,
        "max_frames": max_frames,
        "min_frames": max(8, math.ceil(0.4 * max_frames)),
        "seed": seed,
        "test_fraction": test_fraction,
        "noise": noise,
        "dropout": dropout,
        "fps": FPS,
        "two_person_classes": sorted(TWO_PERSON & set(names)),
        "normalisation": "skelcon.data.normalize: centre on joint 1 of person 1 per frame, "
        "align spine to +z and shoulders to +x at frame 0; zeros after num_frames",
    }
    return writer.finalize({"default": {"train": train, "test": test}}, generator=params)
