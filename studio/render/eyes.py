"""Eyelids: the mesh points that close in a blink."""
import numpy as np

# Eyelids (MediaPipe indices), corner to corner, upper lid then lower lid, per eye.
UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))
LOWER_LIDS = ((7, 163, 144, 145, 153, 154, 155), (249, 390, 373, 374, 380, 381, 382))
LID_CREASES = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))
EYE_POINTS = [p for lid in UPPER_LIDS + LOWER_LIDS + LID_CREASES for p in lid]


def blink(points: np.ndarray, index: dict[int, int], amount: float) -> np.ndarray:
    """`points` with each upper lid moved `amount` (0 open .. 1 closed) of the way to the lower lid,
    its crease following; `index` maps a landmark to its row in `points`."""
    points = points.copy()
    for upper, lower, crease in zip(UPPER_LIDS, LOWER_LIDS, LID_CREASES):
        for lid, below, fold in zip(upper[1:-1], lower[1:-1], crease[1:-1]):
            travel = (points[index[below]] - points[index[lid]]) * 0.9 * amount
            points[index[lid]] += travel
            points[index[fold]] += travel * 0.35
    return points
