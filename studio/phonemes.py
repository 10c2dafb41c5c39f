"""The one phoneme inventory used everywhere: ARPAbet without stress marks, plus silence.

Timed speech is a list of `Segment`s (label, start and end in seconds); the voice, the aligner,
the phone recogniser, the drivers and the subtitles all speak this form.
"""
from dataclasses import dataclass

import numpy as np

from studio.audio import FPS

SILENCE = "sil"
VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S",
              "SH", "T", "TH", "V", "W", "Y", "Z", "ZH")
PHONES = (SILENCE,) + VOWELS + CONSONANTS
OPEN_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "OW", "OY")  # the jaw drops
BILABIALS = ("P", "B", "M")  # the lips must meet for these, whatever surrounds them
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}


@dataclass(frozen=True)
class Segment:
    """A labelled stretch of time: a phone, a word or a subtitle cue."""

    label: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def strip_stress(phone: str) -> str:
    """'AH0' -> 'AH'; already plain phones pass through."""
    return phone.rstrip("012")


def merge_silences(phones: list[Segment]) -> list[Segment]:
    """One "sil" where two silences meet (between sentences, or pieces of long speech)."""
    merged: list[Segment] = []
    for phone in phones:
        if merged and phone.label == SILENCE == merged[-1].label:
            merged[-1] = Segment(SILENCE, merged[-1].start, phone.end)
        else:
            merged.append(phone)
    return merged


def frame_phones(phones: list[Segment], n_frames: int) -> list[str]:
    """The phone at the centre of each video frame (silence before the first)."""
    if not phones:
        return [SILENCE] * n_frames
    centres = (np.arange(n_frames) + 0.5) / FPS
    starts = np.array([p.start for p in phones])
    at = np.searchsorted(starts, centres, side="right") - 1
    return [phones[k].label if k >= 0 else SILENCE for k in at]
