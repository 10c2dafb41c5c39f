"""The evaluation's lip-sync measures on series whose answer is known."""
import numpy as np
import pytest

from lab.measures import dynamic_distance, opening_measures


def test_opening_measures_find_lag_and_amplitude():
    rng = np.random.default_rng(0)
    real = np.convolve(rng.standard_normal(300), np.ones(5) / 5, mode="same")  # lip-like smoothness
    late = np.roll(real, 2) * 0.5  # half as wide, two frames late
    measures = opening_measures(real, late)
    assert measures["best_lag"] == 2
    assert abs(measures["amplitude"] - 0.5) < 0.02
    assert measures["open_corr"] < 0.9 < 0.999 < opening_measures(real, real)["open_corr"]


def test_opening_measures_ignore_frames_without_a_face():
    real = np.sin(np.linspace(0, 20, 200))
    generated = real.copy()
    generated[50:60] = np.nan
    measures = opening_measures(real, generated)
    assert measures["best_lag"] == 0 and abs(measures["amplitude"] - 1) < 0.05


def test_dynamic_distance_ignores_the_mean_shape_and_frames_without_a_face():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 0.01, (100, 40, 2))
    shifted = real + rng.normal(0, 1, (1, 40, 2))  # another rest shape, the same motion
    shifted[10:20] = np.nan
    assert dynamic_distance(real, shifted) < 1e-9
    still = np.zeros_like(real)
    expected = np.linalg.norm(real - real.mean(axis=0), axis=-1).mean() * 1000  # LMD of a frozen mouth
    assert abs(dynamic_distance(real, still) - expected) < 1e-9


def test_paired_difference_is_the_mean_gap_with_an_interval_around_it():
    from lab.measures import paired_difference

    a = np.array([0.5, 0.6, 0.7, 0.4, 0.9])
    assert paired_difference(a, a) == (0.0, 0.0, 0.0)
    assert paired_difference(a, a - 0.1) == pytest.approx((0.1, 0.1, 0.1))
    mean, low, high = paired_difference(a, np.array([0.4, 0.7, 0.2, 0.5, 0.3]))
    assert mean == pytest.approx(0.2) and low < mean < high  # the gap varies by clip: an interval
    assert paired_difference(a, a[::-1]) == paired_difference(a, a[::-1])  # a fixed seed: reports repeat


def test_aligned_mouths_do_not_count_head_motion_as_mouth_error(photo_path):
    """The same face moved by a head turn and shift: far apart in the fixed box, alike once each
    frame is cut in its own face frame."""
    import cv2

    from lab.measures import aligned_mouths, mouth_box, psnr
    from studio.face import FaceMesh
    from studio.geometry import FaceFrame
    from studio.pipeline import load_photo

    photo = load_photo(str(photo_path))
    landmarks = FaceMesh().locate(photo).landmarks
    centre = tuple(float(c) for c in landmarks.mean(axis=0))
    motion = cv2.getRotationMatrix2D(centre, 4.0, 1.0)
    motion[:, 2] += (6.0, -5.0)
    moved = cv2.warpAffine(photo, motion, photo.shape[1::-1], flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    moved_landmarks = landmarks @ motion[:, :2].T + motion[:, 2]
    x0, y0, x1, y1 = mouth_box(moved_landmarks, photo.shape)
    fixed_box = psnr(photo[y0:y1, x0:x1], moved[y0:y1, x0:x1])
    ours, theirs = aligned_mouths(photo, FaceFrame.of(landmarks), moved, moved_landmarks)
    assert ours.shape == theirs.shape and min(ours.shape[:2]) > 20
    assert psnr(ours, theirs) > 30 > fixed_box + 5


def test_anchor_times_refuse_timings_that_do_not_rise_together():
    from lab.measures import anchor_times
    from studio.phonemes import Segment

    a = [Segment("bin", 0.5, 0.8), Segment("blue", 0.8, 1.2)]
    b = [Segment("bin", 0.1, 0.3), Segment("blue", 0.3, 0.6)]
    assert anchor_times(a, b)[1].tolist() == [0.1, 0.3, 0.6]
    with pytest.raises(ValueError):
        anchor_times(a, [Segment("bin", 0.1, 0.4), Segment("blue", 0.3, 0.35)])
    paused = [Segment("bin", 0.5, 0.8), Segment("blue", 0.9, 1.2)]  # a pause b lacks
    with pytest.raises(ValueError):
        anchor_times(paused, b)
    assert anchor_times(paused, b, b_may_pause=True)[1].tolist() == [0.1, 0.3, 0.3, 0.6]
