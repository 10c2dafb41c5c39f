"""The measures of ../shared/docs/evaluation.md, on landmark series and frames."""
import cv2
import numpy as np

from studio.audio import FPS
from studio.geometry import (
    LIP_LOWER_INNER_MID,
    LIP_POINTS,
    LIP_UPPER_INNER_MID,
    MOUTH_INDEX,
    FaceFrame,
    mouth_opening,
)
from studio.phonemes import Segment

MAX_LAG = 5
PSNR_CAP = 100.0  # dB reported for identical pixels
MOUTH_MARGIN = 0.25  # share of the lips' size the mouth box extends beyond them


def opening_series(landmarks: np.ndarray) -> np.ndarray:
    """Per-frame `open` (inner-lip gap over inter-ocular distance); NaN where no face."""
    return mouth_opening(landmarks).astype(np.float64)


def lip_gap(mouths: np.ndarray) -> np.ndarray:
    """(T, K, 2) mouths in the face frame -> (T,) inner-lip gap, 0 where the lips press together
    (a norm, as `open` is, would count lips pushed past each other as open)."""
    lower, upper = MOUTH_INDEX[LIP_LOWER_INNER_MID], MOUTH_INDEX[LIP_UPPER_INNER_MID]
    return np.maximum(mouths[:, lower, 1] - mouths[:, upper, 1], 0)


def phone_frames(phone: Segment, n_frames: int) -> slice:
    """The video frames a phone overlaps (at least one, within the video)."""
    first = min(int(phone.start * FPS), n_frames - 1)
    return slice(first, max(int(np.ceil(phone.end * FPS)), first + 1))


def phone_middle_frame(phone: Segment, n_frames: int) -> int:
    """The video frame at the middle of a phone (within the video)."""
    return min(int((phone.start + phone.end) / 2 * FPS), n_frames - 1)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0  # a frozen mouth correlates with nothing
    return float(np.corrcoef(a, b)[0, 1])


def lagged_correlation(real: np.ndarray, generated: np.ndarray, lag: int) -> float:
    """Correlation with the generated series shifted by `lag` frames (positive: generated late)."""
    if lag > 0:
        return _pearson(real[:-lag], generated[lag:])
    if lag < 0:
        return _pearson(real[-lag:], generated[:lag])
    return _pearson(real, generated)


def opening_measures(real_open: np.ndarray, generated_open: np.ndarray) -> dict[str, float]:
    """open_corr (lag 0), best_lag within +-MAX_LAG and amplitude (std ratio) of two opening series."""
    lags = range(-MAX_LAG, MAX_LAG + 1)
    correlations = [lagged_correlation(real_open, generated_open, lag) for lag in lags]
    real_std = np.nanstd(real_open)
    return {"open_corr": correlations[MAX_LAG], "best_lag": float(list(lags)[int(np.argmax(correlations))]),
            "amplitude": float(np.nanstd(generated_open) / real_std) if real_std > 0 else 0.0}


def sync_measures(real: np.ndarray, generated: np.ndarray) -> dict[str, float]:
    """open_corr, best_lag, LMD, amplitude and detect for two (T, 478, 2) landmark series."""
    return {**opening_measures(opening_series(real), opening_series(generated)),
            "lmd": lip_distance(real, generated), "detect": float(np.isfinite(generated[:, 0, 0]).mean())}


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = 2000,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of the per-clip differences a - b and its 95% bootstrap interval over clips: whether a
    gap between two drivers is more than which clips happened to be picked."""
    differences = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    picks = np.random.default_rng(seed).integers(len(differences), size=(resamples, len(differences)))
    low, high = np.percentile(differences[picks].mean(axis=1), [2.5, 97.5])
    return float(differences.mean()), float(low), float(high)


def aligned_lips(landmarks: np.ndarray) -> np.ndarray:
    """(T, 40, 2) lip points in each frame's face frame; NaN where no face."""
    out = np.full((len(landmarks), len(LIP_POINTS), 2), np.nan, np.float32)
    for t, points in enumerate(landmarks):
        if np.isfinite(points[0, 0]):
            out[t] = FaceFrame.of(points).to_face(points[list(LIP_POINTS)])
    return out


def lip_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """Dynamic LMD of two (T, 478, 2) landmark series."""
    return dynamic_distance(aligned_lips(real), aligned_lips(generated))


def dynamic_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean L2 distance of two (T, N, 2) face-frame point series, each minus its own mean shape,
    x 1000 (LMD on the 40 lip points); frames where either is NaN are left out."""
    keep = np.isfinite(a[:, 0, 0]) & np.isfinite(b[:, 0, 0])
    if not keep.any():
        return float("nan")
    a, b = a[keep], b[keep]
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return float(np.linalg.norm(a - b, axis=-1).mean() * 1000)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return PSNR_CAP if mse == 0 else float(min(PSNR_CAP, 10 * np.log10(255 ** 2 / mse)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two RGB patches on luminance (Gaussian window, sigma 1.5, as Wang et al.)."""
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    blur = lambda img: cv2.GaussianBlur(img, (11, 11), 1.5)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float(np.mean((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))))


def _lip_extent(lips: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) around lip points, widened by `margin` (and downwards by a tenth of the
    width more: the chin moves with the lips)."""
    (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin + (x1 - x0) * 0.1
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def mouth_box(landmarks: np.ndarray, shape: tuple[int, ...],
              margin: float = MOUTH_MARGIN) -> tuple[int, int, int, int]:
    """A box around the lip points (from the real frame's landmarks), widened by `margin`."""
    x0, y0, x1, y1 = _lip_extent(landmarks[list(LIP_POINTS)], margin)
    return (int(max(0, x0)), int(max(0, y0)), int(min(shape[1], x1)), int(min(shape[0], y1)))


def aligned_mouths(generated: np.ndarray, generated_frame: FaceFrame, real: np.ndarray,
                   real_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mouth region of a generated and a real frame, each cut in its own face frame (eyes
    levelled, centred on the stable points, scaled by the inter-ocular distance: LMD's alignment)
    at the generated frame's resolution. The box is mouth_box's, from the real frame's lips; the
    real head's motion, which a still-headed render cannot follow, no longer counts as mouth error."""
    real_frame = FaceFrame.of(real_landmarks)
    x0, y0, x1, y1 = _lip_extent(real_frame.to_face(real_landmarks[list(LIP_POINTS)]), MOUTH_MARGIN)
    k = generated_frame.scale  # crop pixels per face unit
    size = (int(np.ceil((x1 - x0) * k)), int(np.ceil((y1 - y0) * k)))

    def cut(image: np.ndarray, frame: FaceFrame) -> np.ndarray:
        return cv2.warpAffine(image, frame.crop_matrix(np.array([x0, y0]), k), size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    return cut(generated, generated_frame), cut(real, real_frame)


def anchor_times(a: list[Segment], b: list[Segment], b_may_pause: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two timings of the same segments -> matching anchor times (a's, b's) in seconds: each
    segment's start and end; where a's segments touch, one anchor, between b's two times there.
    Both must rise; with `b_may_pause`, b may stand still where a pauses between segments that
    touch in b (a pause one timing has and the other lacks)."""
    a_times = np.array([t for s in a for t in (s.start, s.end)])
    b_times = np.array([t for s in b for t in (s.start, s.end)])
    a_times, where = np.unique(a_times, return_inverse=True)
    b_times = np.bincount(where, b_times) / np.bincount(where)
    b_steps = np.diff(b_times)
    b_falls = np.any(b_steps < 0) if b_may_pause else np.any(b_steps <= 0)
    if len(a_times) == 0 or np.any(np.diff(a_times) <= 0) or b_falls:
        raise ValueError("the two timings do not rise together")
    return a_times, b_times


def mapped_time(times: np.ndarray, anchors: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Times on anchor_times' first timeline -> the second: piecewise linear between the
    anchors, at the same pace beyond them."""
    a_times, b_times = anchors
    inside = np.interp(times, a_times, b_times)
    before, after = b_times[0] + (times - a_times[0]), b_times[-1] + (times - a_times[-1])
    return np.where(times < a_times[0], before, np.where(times > a_times[-1], after, inside))


def warp(series: np.ndarray, source_times: np.ndarray, rate: float = FPS) -> np.ndarray:
    """A series of `rate` rows a second (frame offsets, mel rows), sampled linearly at times in
    seconds on its own timeline (row k centred at (k + 0.5) / rate)."""
    position = np.clip(source_times * rate - 0.5, 0, len(series) - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(series) - 1)
    share = (position - low).reshape(-1, *[1] * (series.ndim - 1))
    return (1 - share) * series[low] + share * series[high]
