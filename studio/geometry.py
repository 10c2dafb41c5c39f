"""Mouth geometry in a face-aligned frame: which landmarks move, how they are normalised, and the
parametric mouth (opening and width) the rule-based drivers speak.

Face frame: eyes levelled, origin at the mean of stable eye and nose points, one unit = the
inter-ocular distance (outer eye corners 33-263). Lip motion is a set of offsets of MOUTH_POINTS in
this frame, relative to the face's own mouth at rest (lips together), so it transfers between faces.
"""
from dataclasses import dataclass

import numpy as np

# MediaPipe FaceMesh indices.
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 33, 263
LIP_UPPER_INNER_MID, LIP_LOWER_INNER_MID = 13, 14
STABLE_POINTS = (33, 133, 362, 263, 168, 6, 197, 195, 5)
# Inner lip contour, corner to corner: upper then lower (same length, paired column by column).
INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIP_POINTS = tuple(sorted(set(INNER_UPPER + INNER_LOWER + OUTER_UPPER + OUTER_LOWER)))  # the 40
JAW_LINE = (172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397)  # one side to the other
CHIN_MIDLINE = (18, 200, 199, 175)
CHIN_PAIRS = ((83, 313), (182, 406), (201, 421), (194, 418))  # left and right of the midline
CHIN = CHIN_MIDLINE + sum(CHIN_PAIRS, ())
JAW_POINTS = JAW_LINE + CHIN
MOUTH_POINTS = LIP_POINTS + JAW_POINTS
# How far each jaw and chin point drops per unit of inner-lip gap, as real faces move: measured by
# `python -m lab.mouth_motion` (reports/mouth_motion.md). The chin follows the lips only about a
# third of the way; the skin just under the lower lip about 0.6.
JAW_DROP = {172: 0.20, 136: 0.20, 150: 0.22, 149: 0.24, 176: 0.28, 148: 0.33, 152: 0.35,
            377: 0.33, 400: 0.28, 378: 0.24, 379: 0.22, 365: 0.20, 397: 0.20,
            18: 0.61, 200: 0.49, 199: 0.40, 175: 0.37, 83: 0.59, 313: 0.59, 182: 0.49, 406: 0.49,
            201: 0.45, 421: 0.45, 194: 0.36, 418: 0.36}
MOUTH_INDEX = {p: i for i, p in enumerate(MOUTH_POINTS)}
# Each mouth point's mirror image across the face's midline: the contours run from one side to the
# other, the chin's midline points are their own mirrors.
_MIRROR = {p: q for line in (INNER_UPPER, INNER_LOWER, OUTER_UPPER, OUTER_LOWER, JAW_LINE, *CHIN_PAIRS)
           for p, q in zip(line, reversed(line))}
_MIRROR.update({p: p for p in CHIN_MIDLINE})
MOUTH_MIRROR = np.array([MOUTH_INDEX[_MIRROR[p]] for p in MOUTH_POINTS])
CORNER_SHARE = 0.3  # how much the mouth corners follow an opening, relative to the middle
INNER_MOUTH_POLYGON = INNER_UPPER + INNER_LOWER[-2:0:-1]  # closed loop through the lip gap
OUTER_LIP_POLYGON = OUTER_UPPER + OUTER_LOWER[-2:0:-1]


@dataclass(frozen=True)
class FaceFrame:
    """Similarity transform between image pixels and the face frame."""

    origin: np.ndarray  # (2,) image point that maps to (0, 0)
    rotation: np.ndarray  # (2, 2) image -> face frame rotation
    scale: float  # pixels per face-frame unit (the inter-ocular distance)

    @classmethod
    def of(cls, landmarks: np.ndarray) -> "FaceFrame":
        eye_axis = landmarks[RIGHT_EYE_OUTER] - landmarks[LEFT_EYE_OUTER]
        angle = np.arctan2(eye_axis[1], eye_axis[0])
        c, s = np.cos(-angle), np.sin(-angle)
        return cls(landmarks[list(STABLE_POINTS)].mean(axis=0),
                   np.array([[c, -s], [s, c]], np.float32), float(np.linalg.norm(eye_axis)))

    def to_face(self, points: np.ndarray) -> np.ndarray:
        return ((points - self.origin) @ self.rotation.T / self.scale).astype(np.float32)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return (points * self.scale @ self.rotation + self.origin).astype(np.float32)

    def crop_matrix(self, corner: np.ndarray, pixels_per_unit: float) -> np.ndarray:
        """(2, 3) affine from image pixels to an upright crop whose top-left is `corner` (face
        frame), at `pixels_per_unit` crop pixels per face unit."""
        linear = self.rotation * (pixels_per_unit / self.scale)
        offset = -linear @ self.origin - np.asarray(corner) * pixels_per_unit
        return np.concatenate([linear, offset[:, None]], axis=1).astype(np.float32)


def mouth_opening(landmarks: np.ndarray) -> float | np.ndarray:
    """Inner-lip gap over inter-ocular distance (the evaluation's `open`); works on (..., 478, 2)."""
    gap = np.linalg.norm(landmarks[..., LIP_LOWER_INNER_MID, :] - landmarks[..., LIP_UPPER_INNER_MID, :],
                         axis=-1)
    iod = np.linalg.norm(landmarks[..., RIGHT_EYE_OUTER, :] - landmarks[..., LEFT_EYE_OUTER, :], axis=-1)
    return gap / iod


def mouth_in_face_frame(landmarks: np.ndarray) -> np.ndarray:
    """(K, 2) MOUTH_POINTS of one face in its own face frame."""
    return FaceFrame.of(landmarks).to_face(landmarks[list(MOUTH_POINTS)])


def mouths_in_face_frames(landmarks: np.ndarray) -> np.ndarray:
    """(T, 478, 2) landmarks of a video -> (T, K, 2) its mouths, each in its own face frame; NaN
    where a frame has no face."""
    mouths = np.full((len(landmarks), len(MOUTH_POINTS), 2), np.nan)
    face = ~np.isnan(landmarks).any(axis=(1, 2))
    if face.any():
        mouths[face] = np.stack([mouth_in_face_frame(face_points) for face_points in landmarks[face]])
    return mouths


class ParametricMouth:
    """Offsets of MOUTH_POINTS for a mouth opening (inner-lip gap, face-frame units) and a width
    change (+1 spread as in 'ee', -1 rounded as in 'oo'), shaped to one face's rest mouth.

    Opening drops the lower lip, the upper lip lifts a little, and the jaw and chin follow as real
    faces do (JAW_DROP). Width scales the lips about the mouth's centre line.
    """

    UPPER_LIFT = 0.2  # share of the gap taken by the upper lip
    WIDTH_GAIN = 0.12  # relative change of mouth width at |width| = 1

    def __init__(self, rest_mouth: np.ndarray):
        self.rest = rest_mouth
        lips = rest_mouth[[MOUTH_INDEX[p] for p in LIP_POINTS]]
        self.centre_x = float(lips[:, 0].mean())
        half_width = float(np.ptp(lips[:, 0])) / 2
        lower = set(INNER_LOWER + OUTER_LOWER)
        upper = set(INNER_UPPER + OUTER_UPPER)
        drop = np.zeros(len(MOUTH_POINTS), np.float32)
        for i, point in enumerate(MOUTH_POINTS):
            side = abs(rest_mouth[i, 0] - self.centre_x) / half_width
            if point in lower and point in upper:  # the corners: a little, with the lower lip
                drop[i] = CORNER_SHARE * (1 - self.UPPER_LIFT)
            elif point in lower or point in upper:  # lips open most in the middle, smoothly
                share = CORNER_SHARE + (1 - CORNER_SHARE) * max(0.0, 1 - side ** 2)
                drop[i] = share * ((1 - self.UPPER_LIFT) if point in lower else -self.UPPER_LIFT)
            else:
                drop[i] = JAW_DROP[point]
        self.drop = drop
        is_lip = np.array([p in LIP_POINTS for p in MOUTH_POINTS], np.float32)
        self.spread = is_lip * (rest_mouth[:, 0] - self.centre_x) * self.WIDTH_GAIN

    def offsets(self, opening: np.ndarray, width: np.ndarray) -> np.ndarray:
        """(T, K, 2) offsets for per-frame opening and width."""
        opening = np.asarray(opening, np.float32)[:, None]
        width = np.asarray(width, np.float32)[:, None]
        return np.stack([width * self.spread, opening * self.drop], axis=-1).astype(np.float32)


def rest_mouth(landmarks: np.ndarray) -> np.ndarray:
    """The photo's mouth in its face frame with the lips brought together (an open mouth closes).

    Each column of the lip gap closes by its own height, the upper lip taking UPPER_LIFT of it and
    the lower lip the rest; outer lip points follow the inner point above or below them, and the
    jaw rises with the middle of the gap. A wide-open photo mouth thus closes without folding.
    """
    mouth = mouth_in_face_frame(landmarks).copy()
    upper = np.array([MOUTH_INDEX[p] for p in INNER_UPPER])
    lower = np.array([MOUTH_INDEX[p] for p in INNER_LOWER])
    gaps = np.maximum(mouth[lower, 1] - mouth[upper, 1], 0)  # per column, corners 0
    columns_x = (mouth[upper, 0] + mouth[lower, 0]) / 2
    lift = ParametricMouth.UPPER_LIFT
    closed = mouth.copy()
    for outer, share in ((OUTER_UPPER, lift), (OUTER_LOWER, lift - 1)):
        for point in outer:
            i = MOUTH_INDEX[point]
            closed[i, 1] += share * np.interp(mouth[i, 0], columns_x, gaps)
    closed[upper, 1] += lift * gaps
    closed[lower, 1] -= (1 - lift) * gaps
    jaw = [MOUTH_INDEX[p] for p in JAW_POINTS]
    middle_gap = float(gaps.max())
    parametric = ParametricMouth(mouth)
    closed[jaw, 1] -= middle_gap * parametric.drop[jaw]
    return closed


def symmetric_motion(offsets: np.ndarray) -> np.ndarray:
    """(..., K, 2) mouth offsets in the face frame -> their mirror-symmetric part. Speech moves
    both sides of the mouth alike; the rest is how one person's mouth is lopsided (the learned
    drivers' training speaker), which does not belong on someone else's face."""
    mirrored = offsets[..., MOUTH_MIRROR, :]
    return np.stack([offsets[..., 0] - mirrored[..., 0], offsets[..., 1] + mirrored[..., 1]], axis=-1) / 2
