"""Learned drivers: lip offsets predicted from the speech itself by networks trained on real
recordings (lab/train.py), shipped under models/ and loaded once, on first use."""
from functools import cache

import numpy as np

from studio.audio import SILENCE_DB
from studio.drivers.rules import VisemeDriver
from studio.geometry import symmetric_motion
from studio.hub import model_file
from studio.speech import Speech, recognised_phones

SMOOTHING_SIGMA = 1.0  # frames; a symmetric kernel, so the lips do not lag the audio
SPEECH_RANGE_DB = 35.0  # frames this far below the loud speech are silence
SILENCE_FLOOR_DB = SILENCE_DB - 30  # ... and so is anything this quiet, whatever the recording
MOTION_BLOCK = 1000  # frames made symmetric and smoothed at a time
ONSET_FRAMES = 2  # lips part before the sound starts and close after it ends
# The shipped networks by the training run that makes each (lab/train.py): the studio loads
# them from here and the training writes them here.
NETWORK_FILES = {"memory": "audio_lip_memory.pt", "memory-2": "audio_lip_memory_2.pt",
                 "memory-off": "ablation/memory_off.pt", "memory-off-2": "ablation/memory_off_2.pt",
                 "conv-reference": "ablation/conv_reference.pt"}


@cache
def _model(name: str):
    from studio.networks.checkpoint import load_model

    return load_model(model_file(name))


def smoothing_reach(sigma: float = SMOOTHING_SIGMA) -> int:
    """Frames on either side that `smooth` reads."""
    return int(np.ceil(3 * sigma))


def smooth(series: np.ndarray, sigma: float = SMOOTHING_SIGMA) -> np.ndarray:
    """Zero-phase Gaussian smoothing along the first (time) axis."""
    radius = smoothing_reach(sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(series, [(radius, radius)] + [(0, 0)] * (series.ndim - 1), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=0)
    return (windows @ kernel).astype(np.float32)


def face_motion(offsets: np.ndarray) -> np.ndarray:
    """A network's (T, K, 2) lip offsets as they go on a face: symmetric, then smoothed; a block of
    frames at a time (each with the smoothing's reach beyond it), so long speech needs no copies."""
    motion = np.empty_like(offsets)
    reach = smoothing_reach()
    for start in range(0, len(offsets), MOTION_BLOCK):
        first, last = max(0, start - reach), min(len(offsets), start + MOTION_BLOCK + reach)
        block = smooth(symmetric_motion(offsets[first:last]))
        motion[start:start + MOTION_BLOCK] = block[start - first:start - first + MOTION_BLOCK]
    return motion


def speech_gate(level: np.ndarray) -> np.ndarray:
    """A loudness series (dBFS per frame) -> 1 where someone speaks, 0 in silence, soft at the
    edges. Silence here is 35 dB under the loud speech (or the absolute floor): digital silence
    and very clean recordings. In a room's noise the gate stays open and the network's own still
    mouth in pauses does the work."""
    speaking = level > max(float(np.percentile(level, 95)) - SPEECH_RANGE_DB, SILENCE_FLOOR_DB)
    widened = np.convolve(speaking.astype(np.float32), np.ones(2 * ONSET_FRAMES + 1), mode="same") > 0
    return np.clip(smooth(widened.astype(np.float32)), 0, 1)


class LearnedDriver:
    """Speech -> networks -> the mean of their lip offsets, symmetric and smoothed, held still and
    closed where the speech gate finds silence. Networks trained alike from different seeds err
    differently on a voice none of them heard, and their mean errs less (reports/crossval.md)."""

    name = ""
    runs: tuple[str, ...] = ()  # one recipe from different seeds; the first is the recipe's own
    needs_phones = False

    def networks(self) -> list:
        """The networks this driver averages: its runs' shipped checkpoints, loaded once."""
        return [_model(NETWORK_FILES[run]) for run in self.runs]

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        from studio.networks.checkpoint import predict_offsets
        from studio.networks.features import phone_indices

        networks, phones = self.networks(), None
        if any(network.config.audio.phones for network in networks):  # heard once, shared with other drivers
            phones = phone_indices(recognised_phones(speech), speech.n_frames)
        motion = face_motion(predict_offsets(networks, speech.samples, speech.n_frames, phones))
        motion *= speech_gate(speech.loudness_db)[:, None, None]
        return motion


class MemoryDriver(LearnedDriver):
    """SyncTalkFace's Audio-Lip Memory with +-0.6 s of context, reading the log-mel and the phones
    pocketsphinx hears in the audio itself (never a transcript, so it stays audio-driven); two
    networks trained alike from different seeds."""

    name = "memory"
    runs = ("memory", "memory-2")


class MemoryOffDriver(LearnedDriver):
    """Ablation: the same networks and training without the memory."""

    name = "memory-off"
    runs = ("memory-off", "memory-off-2")


class ConvReferenceDriver(LearnedDriver):
    """Ablation: the plain 0.3M 1D-conv reference of issue 3."""

    name = "conv-reference"
    runs = ("conv-reference",)


class HybridDriver:
    """The mean of a learned driver's lips (memory by default) and viseme's phone rules. On people
    never heard, the two err differently: cross-validated by person, the mean follows the real
    lips closer than either (reports/crossval.md)."""

    name = "hybrid"
    needs_phones = True  # viseme's
    RULES_SHARE = 0.5  # viseme's weight; 0.3 did as well within the intervals (crossval)

    def __init__(self, learned: LearnedDriver | None = None):
        self.learned, self.rules = learned or MemoryDriver(), VisemeDriver()

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        motion = self.learned.lip_offsets(speech, rest_mouth)
        motion *= 1 - self.RULES_SHARE  # in place: long speech holds no extra copies
        motion += self.RULES_SHARE * self.rules.lip_offsets(speech, rest_mouth)
        return motion
