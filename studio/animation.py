"""Life beyond the lips: eye blinks and a gentle head motion that follows the speech."""
import numpy as np

from studio.audio import FPS

BLINK_FRAMES = np.array([0.35, 0.8, 1.0, 0.7, 0.3])  # a blink lasts about 0.2 s
BLINK_GAP_SECONDS = (2.0, 5.5)  # people blink every few seconds
HEAD_TURN = 0.012  # rad: the largest rotation, so the motion stays gentle
HEAD_SHIFT = 0.012  # face-frame units (inter-ocular distances)


def blink_curve(n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Per-frame eyelid closure, 0 open .. 1 closed, at natural random intervals."""
    curve = np.zeros(n_frames, np.float32)
    frame = int(rng.uniform(0.8, BLINK_GAP_SECONDS[1]) * FPS)
    while frame + len(BLINK_FRAMES) <= n_frames:
        curve[frame:frame + len(BLINK_FRAMES)] = BLINK_FRAMES
        frame += int(rng.uniform(*BLINK_GAP_SECONDS) * FPS)
    return curve


def head_motion(n_frames: int, speaking: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_frames, 3) rotation, x and y shift: a slow sway, with small nods while speaking."""
    t = np.arange(n_frames) / FPS
    phases = rng.uniform(0, 2 * np.pi, 3)
    sway = np.stack([np.sin(2 * np.pi * 0.11 * t + phases[0]),
                     np.sin(2 * np.pi * 0.07 * t + phases[1]),
                     np.sin(2 * np.pi * 0.09 * t + phases[2])], axis=1)
    # Nods follow the speech, smoothed over about a second so the head never jerks.
    kernel = np.hanning(25)
    full = np.convolve(speaking.astype(np.float32), kernel / kernel.sum())  # "same" breaks
    nod = full[len(kernel) // 2:len(kernel) // 2 + n_frames]  # on clips shorter than the kernel
    motion = sway * [0.6 * HEAD_TURN, 0.5 * HEAD_SHIFT, 0.4 * HEAD_SHIFT]
    motion[:, 2] += 0.6 * HEAD_SHIFT * (nod - nod.mean())
    motion[:, 0] += 0.4 * HEAD_TURN * (nod - nod.mean())
    return motion.astype(np.float32)
