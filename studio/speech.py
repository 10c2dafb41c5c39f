"""What drives a face: speech on the studio's timeline, with the timed phones when they are known."""
from dataclasses import dataclass, field

import numpy as np

from studio.audio import FPS, PLAYBACK_RATE, SAMPLE_RATE, check_speech, decode, frame_count, resample
from studio.phonemes import Segment


@dataclass
class Speech:
    samples: np.ndarray  # 16 kHz mono float32, for analysis
    playback: np.ndarray  # what the viewer hears, at playback_rate
    playback_rate: int
    phones: list[Segment] | None = None  # ARPAbet phones with times, when known
    words: list[Segment] = field(default_factory=list)
    sentences: list[Segment] = field(default_factory=list)  # for subtitles

    @property
    def n_frames(self) -> int:
        return frame_count(len(self.samples))

    @property
    def duration(self) -> float:
        return self.n_frames / FPS


def speech_from_audio(path: str, max_seconds: float) -> Speech:
    """A recording as the user gave it: decoded, mono, checked; phones are found later if needed."""
    samples = decode(path, SAMPLE_RATE)
    check_speech(samples, max_seconds)
    return Speech(samples, decode(path, PLAYBACK_RATE), PLAYBACK_RATE)


def speech_from_track(track) -> Speech:
    """A synthesised voice (`studio.voice.SpeechTrack`), its phone timings kept."""
    samples = resample(track.samples, track.sample_rate, SAMPLE_RATE)
    return Speech(samples, track.samples, track.sample_rate, list(track.phones),
                  list(track.words), list(track.sentences))
