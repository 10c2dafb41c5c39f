"""Drivers that need no learning: the baselines every learned driver must beat."""
import numpy as np

from studio.audio import FPS, SILENCE_DB
from studio.geometry import ParametricMouth
from studio.phonemes import SILENCE
from studio.speech import Speech

# Mouth opening (inner-lip gap over inter-ocular distance) and width (+1 spread, -1 rounded) of
# each phone's target shape, from the shapes lips make in English (Preston Blair / Rhubarb-style
# groups), scaled to the openings measured on real speech (peaks about 0.14).
VISEME_SHAPES = {
    SILENCE: (0.0, 0.0),
    "AA": (0.14, 0.1), "AE": (0.13, 0.3), "AH": (0.10, 0.1), "AO": (0.12, -0.5),
    "AW": (0.13, -0.3), "AY": (0.13, 0.2), "EH": (0.10, 0.3), "ER": (0.07, -0.4),
    "EY": (0.09, 0.4), "IH": (0.06, 0.4), "IY": (0.05, 0.6), "OW": (0.10, -0.8),
    "OY": (0.11, -0.6), "UH": (0.06, -0.6), "UW": (0.05, -1.0),
    "B": (0.0, 0.0), "M": (0.0, 0.0), "P": (0.0, 0.0),
    "F": (0.02, 0.1), "V": (0.02, 0.1),
    "TH": (0.04, 0.1), "DH": (0.04, 0.1),
    "S": (0.03, 0.4), "Z": (0.03, 0.4), "SH": (0.04, -0.6), "ZH": (0.04, -0.6),
    "CH": (0.04, -0.5), "JH": (0.04, -0.5),
    "T": (0.05, 0.2), "D": (0.05, 0.2), "N": (0.05, 0.2), "L": (0.06, 0.1),
    "K": (0.07, 0.1), "G": (0.07, 0.1), "NG": (0.06, 0.1), "HH": (0.08, 0.0),
    "R": (0.05, -0.6), "W": (0.04, -1.0), "Y": (0.05, 0.5),
}
# Dominance of a phone over its neighbours (Cohen-Massaro co-articulation): lips must close for
# bilabials and touch the teeth for labiodentals, whatever surrounds them; other consonants
# borrow the shape of the vowels around them.
DOMINANCE = {"B": 4.0, "M": 4.0, "P": 4.0, "F": 2.5, "V": 2.5, "W": 1.5, SILENCE: 1.0}
VOWEL_DOMINANCE, CONSONANT_DOMINANCE = 1.0, 0.4
VOWEL_REACH, CONSONANT_REACH = 0.06, 0.03  # s: how far a phone's influence spreads
SUBSTEPS = 4  # samples per video frame when averaging the continuous curve
CURVE_BLOCK = 1000  # samples weighed against the phones at a time: about 10 s, a few MB


class StaticDriver:
    """The photo as it is: the lower bound."""

    name = "static"
    needs_phones = False

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        return np.zeros((speech.n_frames, len(rest_mouth), 2), np.float32)


class EnergyDriver:
    """Mouth opening follows the loudness envelope: what cheap tools do."""

    name = "energy"
    needs_phones = False
    MAX_OPENING = 0.12
    RANGE_DB = 30.0

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        level = speech.loudness_db
        peak = float(np.percentile(level, 95))
        floor = max(peak - self.RANGE_DB, SILENCE_DB)
        opening = np.clip((level - floor) / max(peak - floor, 1e-6), 0, 1) * self.MAX_OPENING
        opening = np.convolve(np.pad(opening, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
        return ParametricMouth(rest_mouth).offsets(opening, np.zeros_like(opening))


class VisemeDriver:
    """Rule-based mouth shapes from phone timings, blended by co-articulation dominance."""

    name = "viseme"
    needs_phones = True

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        opening, width = viseme_curves(speech.phones, speech.n_frames)
        return ParametricMouth(rest_mouth).offsets(opening, width)


def viseme_curves(phones, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame opening and width from timed phones."""
    if not phones:
        return np.zeros(n_frames, np.float32), np.zeros(n_frames, np.float32)
    times = (np.arange(n_frames * SUBSTEPS) + 0.5) / (FPS * SUBSTEPS)
    starts = np.array([p.start for p in phones])
    ends = np.array([p.end for p in phones])
    targets = np.array([VISEME_SHAPES.get(p.label, VISEME_SHAPES[SILENCE]) for p in phones])
    vowel = np.array([p.label[0] in "AEIOU" for p in phones])
    strength = np.array([DOMINANCE.get(p.label, VOWEL_DOMINANCE if v else CONSONANT_DOMINANCE)
                         for p, v in zip(phones, vowel)])
    reach = np.where(vowel, VOWEL_REACH, CONSONANT_REACH)
    curves = np.zeros((len(times), 2))
    horizon = 10 * VOWEL_REACH  # beyond this a phone's weight is negligible
    for begin in range(0, len(times), CURVE_BLOCK):  # in blocks, so long speech stays small in memory
        block = times[begin:begin + CURVE_BLOCK]
        near = (ends > block[0] - horizon) & (starts < block[-1] + horizon)
        if not near.any():
            continue
        # Full dominance across the phone itself, fading with distance outside it.
        distance = np.maximum(np.maximum(starts[near][None] - block[:, None],
                                         block[:, None] - ends[near][None]), 0)
        weight = strength[near][None] * np.exp(-distance / reach[near][None]) + 1e-9
        curves[begin:begin + len(block)] = weight @ targets[near] / weight.sum(axis=1, keepdims=True)
    curves = curves.reshape(n_frames, SUBSTEPS, 2).mean(axis=1).astype(np.float32)
    return curves[:, 0], curves[:, 1]
