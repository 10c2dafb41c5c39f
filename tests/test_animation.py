"""Blinks at natural intervals, and head motion that stays gentle and follows the speech."""
import numpy as np

from studio.animation import BLINK_GAP_SECONDS, HEAD_SHIFT, HEAD_TURN, blink_curve, head_motion
from studio.audio import FPS


def test_blinks_come_every_few_seconds():
    curve = blink_curve(60 * FPS, np.random.default_rng(0))
    starts = np.flatnonzero(np.diff((curve > 0).astype(int)) == 1)
    gaps = np.diff(starts) / FPS
    assert 10 <= len(starts) <= 30
    assert gaps.min() >= BLINK_GAP_SECONDS[0] - 0.05 and gaps.max() <= BLINK_GAP_SECONDS[1] + 0.05
    assert curve.max() == 1.0


def test_head_motion_is_gentle_smooth_and_seeded():
    speaking = np.r_[np.zeros(50), np.ones(100), np.zeros(50)]
    motion = head_motion(200, speaking, np.random.default_rng(3))
    assert np.abs(motion[:, 0]).max() <= HEAD_TURN
    assert np.abs(motion[:, 1:]).max() <= HEAD_SHIFT
    assert np.abs(np.diff(motion, axis=0)).max() < 0.1 * HEAD_SHIFT  # no jerks between frames
    assert np.array_equal(motion, head_motion(200, speaking, np.random.default_rng(3)))


def test_head_motion_on_clips_shorter_than_its_smoothing():
    for n_frames in (1, 8, 24, 25, 26):
        assert head_motion(n_frames, np.ones(n_frames), np.random.default_rng(0)).shape == (n_frames, 3)
