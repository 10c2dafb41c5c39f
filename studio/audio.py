"""Audio: decoding with the bundled ffmpeg, and the one timeline every part of the studio shares.

All analysis happens on 16 kHz mono audio, 25 video frames per second, so video frame k covers
samples [640k, 640(k+1)) and mel frames [4k, 4(k+1)). Everything else derives from these constants.
"""
import os
import re
import subprocess
import tempfile
from functools import lru_cache

import numpy as np

from studio.errors import StudioError

SAMPLE_RATE = 16000
FPS = 25
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640
HOP_LENGTH = 160  # 10 ms: a whole number of mel frames per video frame
MELS_PER_FRAME = SAMPLES_PER_FRAME // HOP_LENGTH  # 4
N_FFT = 400  # 25 ms analysis window
N_MELS = 80
MEL_BLOCK = 2000  # mel frames computed at a time (20 s): memory stays flat
PLAYBACK_RATE = 44100  # what the viewer hears; analysis never uses it
SILENCE_DB = -50.0  # frames quieter than this (dBFS RMS) count as silence
MIN_SPEECH_SECONDS = 0.3


# Channels mixed down to mono keep the level of each (as for integer samples): float output would
# otherwise sum them, 3 dB louder for stereo, and clip.
MIX_DOWN = ("-rematrix_maxval", "1.0")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def decode(path: str, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Any audio or video file ffmpeg can read -> mono float32 samples at `sample_rate`.

    With `max_seconds`, decoding stops just past it, so a very long file never fills memory, and a
    StudioError says how long the file is.
    """
    if not os.path.isfile(path):
        raise StudioError("Could not open the audio file.")
    if os.path.getsize(path) == 0:
        raise StudioError("The audio file is empty.")
    limit = ["-t", f"{max_seconds + 1:.3f}"] if max_seconds is not None else []
    # "file:" keeps a name like "concat:..." or "-x.wav" from being read as a protocol or option.
    # The samples go through a file, not a pipe: a pipe's chunks and their join would hold a long
    # recording two more times over.
    with tempfile.NamedTemporaryFile(suffix=".f32") as raw:
        command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-y", "-i", f"file:{os.path.abspath(path)}",
                   *limit, "-vn", "-map", "0:a:0", "-ac", "1", "-ar", str(sample_rate),
                   *MIX_DOWN, "-f", "f32le", raw.name]
        result = subprocess.run(command, capture_output=True)
        if result.returncode != 0:
            if b"matches no streams" in result.stderr:
                raise StudioError("The file has no sound track.")
            raise StudioError("Could not read the audio: the file is damaged or not a sound file "
                              "(WAV, MP3, M4A, OGG, WebM, FLAC, ...).")
        samples = np.fromfile(raw.name, np.float32)
    if max_seconds is not None and len(samples) > max_seconds * sample_rate:
        stated = re.search(rb"Duration: (\d+):(\d\d):(\d\d)", result.stderr)
        length = (f" lasts {int(stated[1]) * 60 + int(stated[2])} min {int(stated[3])} s;"
                  if stated else " is too long;")
        raise StudioError(f"The audio{length} the limit is {minutes(max_seconds)}: trim it or "
                          "split it into parts.")
    return samples


def minutes(seconds: float) -> str:
    """A duration as people say it: "90 s", "5 min"."""
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    import soxr

    if rate_in == rate_out:
        return samples.astype(np.float32)
    return soxr.resample(samples.astype(np.float32), rate_in, rate_out).astype(np.float32)


def frame_count(n_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Video frames needed to cover the audio (the last partial frame counts)."""
    return int(np.ceil(n_samples * FPS / sample_rate))


def frame_samples(n_frames: int, sample_rate: int) -> int:
    """Samples that last exactly n_frames video frames."""
    return int(round(n_frames * sample_rate / FPS))


def fit_to_frames(samples: np.ndarray, n_frames: int, sample_rate: int) -> np.ndarray:
    """Pad with silence or trim so the audio lasts exactly n_frames video frames."""
    n = frame_samples(n_frames, sample_rate)
    if len(samples) >= n:
        return samples[:n]
    return np.pad(samples, (0, n - len(samples)))


def frame_loudness_db(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level in dBFS of each video frame's 16 kHz samples."""
    padded = fit_to_frames(samples, n_frames, SAMPLE_RATE).reshape(n_frames, SAMPLES_PER_FRAME)
    power = np.empty(n_frames, np.float64)
    block = MEL_BLOCK // MELS_PER_FRAME  # frames at a time: memory stays flat in the length
    for first in range(0, n_frames, block):
        power[first:first + block] = np.mean(padded[first:first + block].astype(np.float64) ** 2, axis=1)
    return (20 * np.log10(np.sqrt(power + 1e-12))).astype(np.float32)


@lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def log_mel(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames * MELS_PER_FRAME, N_MELS) log-mel features aligned to the video timeline.

    Mel frame j is centred on sample j * HOP_LENGTH + HOP_LENGTH / 2, so the 4 mel frames of video
    frame k lie inside its 640 samples.
    """
    audio = fit_to_frames(samples, n_frames, SAMPLE_RATE).astype(np.float32)
    n_mel = n_frames * MELS_PER_FRAME
    pad = N_FFT // 2
    padded = np.pad(audio, (pad, pad + N_FFT), mode="constant")
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)
    window = np.hanning(N_FFT).astype(np.float32)
    mel = np.empty((n_mel, N_MELS), np.float32)
    # A block at a time: the spectra of a whole recording would take ~1 MB per second of audio.
    for first in range(0, n_mel, MEL_BLOCK):
        starts = np.arange(first, min(first + MEL_BLOCK, n_mel)) * HOP_LENGTH + HOP_LENGTH // 2
        spectrum = np.abs(np.fft.rfft(windows[starts] * window, axis=1)) ** 2
        mel[first:first + len(starts)] = spectrum.astype(np.float32) @ _mel_filters().T
    return np.log(mel + 1e-6).astype(np.float32)


def check_speech(samples: np.ndarray, max_seconds: float) -> None:
    """Refuse audio that cannot drive a face: empty, silent, too short or too long."""
    seconds = len(samples) / SAMPLE_RATE
    if seconds < MIN_SPEECH_SECONDS:
        raise StudioError(f"The audio is too short ({seconds:.1f} s): give at least "
                          f"{MIN_SPEECH_SECONDS:g} s of speech.")
    if seconds > max_seconds:
        raise StudioError(f"The audio lasts {seconds:.0f} s; the limit is {minutes(max_seconds)}: "
                          "trim it or split it into parts.")
    peak_db = 20 * np.log10(np.max(np.abs(samples)) + 1e-12)
    if peak_db < SILENCE_DB:
        raise StudioError("The audio is silent: no speech was found in it.")
