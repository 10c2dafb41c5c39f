"""What the audio side of every model reads: the studio's log-mel (studio.audio.log_mel) with the
recording's level taken out, so a quiet phone recording and a studio microphone look alike, and,
for the lip models, the phones a speaker-independent recogniser hears in it.

Training works on mel power (augmentation adds noise and reverberation there); inference and
training share `model_input`, so both see exactly the same features.
"""
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from studio.audio import MELS_PER_FRAME, SAMPLES_PER_FRAME, log_mel
from studio.phonemes import PHONE_INDEX, PHONES, Segment, frame_phones

MEL_EPSILON = 1e-6  # the floor inside studio.audio.log_mel: log(power + 1e-6)
REFERENCE_PERCENTILE = 95  # the loud frames of speech set the level
INPUT_CENTRE, INPUT_SCALE = -9.0, 5.0  # log power -> roughly [-1, 2]
NO_PHONE = len(PHONES)  # phone index meaning "no phonetic evidence" (dropped out in training)
# Inference reads long speech 20 s at a time, so memory stays flat in its length; each window sees
# this many frames more on either side, more than any lip model's context (+-0.6 s), so the frames
# it keeps come out as from the whole recording at once.
WINDOW_FRAMES, CONTEXT_FRAMES = 500, 32


@dataclass
class FeatureConfig:
    normalise_loudness: bool = True  # False: the raw log-mel (the plain conv reference)


def mel_power(mel: torch.Tensor) -> torch.Tensor:
    """Raw log-mel -> mel power (exactly invertible: the floor maps to 0)."""
    return torch.clamp(torch.exp(mel) - MEL_EPSILON, min=0)


def loud_level(totals: torch.Tensor) -> torch.Tensor:
    """(..., M) total power per mel frame -> (...) total power of the loud speech frames."""
    return torch.quantile(totals, REFERENCE_PERCENTILE / 100, dim=-1)


def speech_level(power: torch.Tensor) -> torch.Tensor:
    """(..., M, N_MELS) -> (..., 1, 1) total power of the loud speech frames."""
    return loud_level(power.sum(dim=-1))[..., None, None]


def model_input(power: torch.Tensor, config: FeatureConfig, level: torch.Tensor | None = None
                ) -> torch.Tensor:
    """(..., M, N_MELS) mel power -> model input. Normalised, loud speech has total power 1, so
    log_mel's floor sits a fixed 40 dB under it in every recording. `level`: the recording's
    speech_level when `power` is only a window of it."""
    if config.normalise_loudness:
        power = power / ((speech_level(power) if level is None else level) + 1e-12)
    return (torch.log(power + MEL_EPSILON) - INPUT_CENTRE) / INPUT_SCALE


def speech_features(samples: np.ndarray, n_frames: int, config: FeatureConfig) -> torch.Tensor:
    """16 kHz speech -> (1, n_frames * MELS_PER_FRAME, N_MELS) model input."""
    return model_input(mel_power(torch.from_numpy(log_mel(samples, n_frames))[None]), config)


def speech_windows(samples: np.ndarray, n_frames: int) -> Iterator[tuple[slice, slice, torch.Tensor]]:
    """Long speech a window at a time: (the window's frames, the frames it keeps, as a slice of the
    window's own frames, its (1, 4 x frames, N_MELS) mel power)."""
    for keep in range(0, n_frames, WINDOW_FRAMES):
        start, end = max(0, keep - CONTEXT_FRAMES), min(n_frames, keep + WINDOW_FRAMES + CONTEXT_FRAMES)
        mel = log_mel(samples[start * SAMPLES_PER_FRAME:end * SAMPLES_PER_FRAME], end - start)
        kept = slice(keep - start, min(keep + WINDOW_FRAMES, n_frames) - start)
        yield slice(start, end), kept, mel_power(torch.from_numpy(mel)[None])


def windowed_level(samples: np.ndarray, n_frames: int) -> torch.Tensor:
    """speech_level of a whole recording, read a window at a time."""
    totals = [power[0, MELS_PER_FRAME * kept.start:MELS_PER_FRAME * kept.stop].sum(dim=-1)
              for _, kept, power in speech_windows(samples, n_frames)]
    return loud_level(torch.cat(totals))


def phone_indices(phones: list[Segment], n_frames: int) -> torch.Tensor:
    """Timed phones -> (1, n_frames) index of the phone at each frame, as the lip models read them."""
    return torch.tensor([[PHONE_INDEX[label] for label in frame_phones(phones, n_frames)]])
