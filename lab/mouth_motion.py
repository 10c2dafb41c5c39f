"""How real jaws and chins follow the lips: `python -m lab.mouth_motion`.

For every jaw and chin point of studio.geometry, the slope of its face-frame height against the
inner-lip gap, fitted within each clip of grid-train and extra-train (so each person's own mouth is
the reference) and pooled; left and right points are averaged. studio.geometry.JAW_DROP holds
these figures; the report puts them side by side.
"""
import numpy as np

from lab.dataset import ROOT, clip_landmarks
from lab.prepare import clips
from lab.reports import write_report
from studio.geometry import (
    JAW_DROP,
    JAW_POINTS,
    LIP_LOWER_INNER_MID,
    LIP_UPPER_INNER_MID,
    MOUTH_INDEX,
    MOUTH_POINTS,
    mouths_in_face_frames,
)

REPORT = ROOT / "reports" / "mouth_motion"
SPLITS = ("grid-train", "extra-train")
MIRROR = dict(pair for a, b in ((172, 397), (136, 365), (150, 379), (149, 378), (176, 400), (148, 377),
                                (83, 313), (182, 406), (201, 421), (194, 418)) for pair in ((a, b), (b, a)))


def jaw_slopes() -> dict[int, float]:
    """Pooled within-clip regression slope of each jaw point's height on the lip gap."""
    covariance, variance = np.zeros(len(MOUTH_POINTS)), 0.0
    for name in SPLITS:
        for clip in clips(name):
            landmarks = clip_landmarks(clip)
            landmarks = landmarks[~np.isnan(landmarks).any(axis=(1, 2))]
            mouths = mouths_in_face_frames(landmarks)[..., 1]
            gap = mouths[:, MOUTH_INDEX[LIP_LOWER_INNER_MID]] - mouths[:, MOUTH_INDEX[LIP_UPPER_INNER_MID]]
            gap = gap - gap.mean()
            covariance += gap @ (mouths - mouths.mean(axis=0))
            variance += gap @ gap
    return {p: float(covariance[MOUTH_INDEX[p]] / variance) for p in JAW_POINTS}


def markdown(report: dict) -> str:
    slopes = {int(p): s for p, s in report["slopes"].items()}
    rows = ["| point | measured | mean with mirror | JAW_DROP |", "|---|---|---|---|"]
    for point, drop in report["jaw_drop"].items():
        point = int(point)
        mean = (slopes[point] + slopes[MIRROR.get(point, point)]) / 2
        rows.append(f"| {point} | {slopes[point]:.3f} | {mean:.3f} | {drop:.2f} |")
    return ("# Jaw and chin drop per unit of lip gap (MediaPipe, face frame)\n\n"
            f"Within-clip slopes pooled over {', '.join(report['splits'])}. JAW_DROP holds the mean of "
            "each point and its mirror, to two decimals.\n\n" + "\n".join(rows)
            + "\n\nCommand: `python -m lab.mouth_motion`\n")


def main() -> None:
    print(write_report(REPORT, {"splits": list(SPLITS), "slopes": jaw_slopes(),
                                "jaw_drop": {point: JAW_DROP[point] for point in JAW_POINTS}}, markdown))


if __name__ == "__main__":
    main()
