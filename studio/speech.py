"""What drives a face: speech on the studio's timeline, with the timed phones when they are known."""
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from studio.audio import (
    FPS,
    PLAYBACK_RATE,
    SAMPLE_RATE,
    check_speech,
    decode,
    frame_count,
    frame_loudness_db,
    resample,
)
from studio.errors import StudioError
from studio.phonemes import SILENCE, Segment, merge_silences

# Long work is done in pieces of at most this length, cut at pauses, so that memory stays flat
# and progress moves (phone recognition holds a lattice that grows with the audio's length).
PIECE_SECONDS = 30.0
_PAUSE_WINDOW = SAMPLE_RATE // 5  # a pause is the quietest 200 ms in the last third of a piece


@dataclass
class Speech:
    samples: np.ndarray  # 16 kHz mono float32, for analysis
    # What the viewer hears: samples at playback_rate, or the recording's own file, which the
    # encoder decodes itself, so a long recording costs no memory for it.
    playback: np.ndarray | str
    playback_rate: int
    phones: list[Segment] | None = None  # ARPAbet phones with times, when known
    words: list[Segment] = field(default_factory=list)
    sentences: list[Segment] = field(default_factory=list)  # for subtitles
    heard: list[Segment] | None = None  # phones recognised in the audio itself: see recognised_phones

    @property
    def n_frames(self) -> int:
        return frame_count(len(self.samples))

    @property
    def duration(self) -> float:
        return self.n_frames / FPS

    @cached_property
    def loudness_db(self) -> np.ndarray:
        """(n_frames,) loudness per frame (dBFS RMS), computed once for the drivers and the head."""
        return frame_loudness_db(self.samples, self.n_frames)


def speech_from_audio(path: str, max_seconds: float) -> Speech:
    """A recording as the user gave it: decoded, mono, checked; phones are found later if needed."""
    samples = decode(path, SAMPLE_RATE, max_seconds)
    check_speech(samples, max_seconds)
    return Speech(samples, os.path.abspath(path), PLAYBACK_RATE)


def speech_from_tracks(tracks: Sequence, pause: float) -> Speech:
    """Synthesised pieces (`studio.voice.SpeechTrack`s of one voice) end to end, `pause` seconds
    of silence between them, their phone, word and sentence timings kept."""
    rate = tracks[0].sample_rate
    gap = np.zeros(round(pause * rate), np.float32)
    audio, phones, words, sentences = [], [], [], []
    offset = 0.0
    for index, track in enumerate(tracks):
        last = index == len(tracks) - 1
        audio += [track.samples] if last else [track.samples, gap]
        end = offset + track.duration + (0 if last else len(gap) / rate)
        phones += [Segment(p.label, p.start + offset, p.end + offset) for p in track.phones]
        if not last:
            phones.append(Segment(SILENCE, offset + track.duration, end))
        words += [Segment(w.label, w.start + offset, w.end + offset) for w in track.words]
        sentences += [Segment(s.label, s.start + offset, s.end + offset) for s in track.sentences]
        if sentences:  # sentences cover the audio: the pause belongs to the one before it
            sentences[-1] = Segment(sentences[-1].label, sentences[-1].start, end)
        offset = end
    playback = np.concatenate(audio).astype(np.float32)
    return Speech(resample(playback, rate, SAMPLE_RATE), playback, rate, merge_silences(phones),
                  words, sentences)


def time_phones(speech: Speech, transcript: str | None, needs_phones: bool,
                progress: Callable[[float], None] = lambda fraction: None) -> str | None:
    """Phone timings of a recording: aligned to its transcript, else recognised if the driver
    needs them. A transcript that cannot be aligned falls back to recognition (its subtitles
    spread over the speech); the returned note says so."""
    if transcript:
        from studio.alignment import force_align

        try:
            speech.words, speech.phones = force_align(speech.samples, transcript)
        except StudioError as error:
            speech.phones = recognised_phones(speech, progress)
            spoken = [p for p in speech.phones if p.label != SILENCE] or [Segment("", 0, speech.duration)]
            speech.sentences = [Segment(transcript, spoken[0].start, spoken[-1].end)]
            return (f"{error} The lips follow the phones heard in the speech instead, and the "
                    "subtitles are spread over it.")
        if speech.words:  # one cue per transcript; subtitle_cues splits it at word times
            speech.sentences = [Segment(transcript, speech.words[0].start, speech.words[-1].end)]
    elif needs_phones:
        speech.phones = recognised_phones(speech, progress)
    return None


def recognised_phones(speech: Speech,
                      progress: Callable[[float], None] = lambda fraction: None) -> list[Segment]:
    """Phones heard in the speech's own audio, never taken from a transcript; recognised once per
    recording, however many drivers read them."""
    if speech.heard is None:
        speech.heard = find_phones(speech.samples, progress)
    return speech.heard


def find_phones(samples: np.ndarray, progress: Callable[[float], None]) -> list[Segment]:
    """Phones heard in speech without a transcript, piece by piece (cut at pauses): the first
    pieces here and, at the same time, the rest in the phone helper (studio.phone_helper)."""
    from studio.alignment import recognize_phones
    from studio.phone_helper import Helped

    bounds = [0, *pause_cuts(samples), len(samples)]
    mine = _own_share(bounds)
    helped_samples = len(samples) - bounds[mine]
    heard = []
    with Helped([samples[start:end] for start, end in zip(bounds[mine:], bounds[mine + 1:])]) as helped:
        for start, end in zip(bounds[:mine], bounds[1:mine + 1]):
            heard.append(recognize_phones(samples[start:end]))
            progress((end + min(end, helped_samples)) / len(samples))  # the helper keeps pace
        heard += helped.phones()
    progress(1.0)
    phones = []
    for start, piece in zip(bounds, heard):
        offset = start / SAMPLE_RATE
        phones += [Segment(p.label, p.start + offset, p.end + offset) for p in piece]
    return merge_silences(phones)


def _own_share(bounds: list[int]) -> int:
    """How many of the pieces between `bounds` (from 0) this process recognises, the helper taking
    the rest: the split that leaves the least to the busier of the two, at least one piece here."""
    return min(range(1, len(bounds)), key=lambda k: max(bounds[k], bounds[-1] - bounds[k]))


def pause_cuts(samples: np.ndarray, piece_seconds: float = PIECE_SECONDS) -> list[int]:
    """Sample indices that cut long audio into pieces of at most `piece_seconds`, each cut in the
    middle of the quietest 200 ms of the last third of its piece: a pause, so no sound is split."""
    piece = int(piece_seconds * SAMPLE_RATE)
    cuts, start = [], 0
    while len(samples) - start > piece:
        low = start + 2 * piece // 3
        power = np.cumsum(np.square(samples[low:start + piece], dtype=np.float64))
        window_power = power[_PAUSE_WINDOW:] - power[:-_PAUSE_WINDOW]
        cuts.append(low + int(np.argmin(window_power)) + _PAUSE_WINDOW // 2)
        start = cuts[-1]
    return cuts
