"""Word and phone timings of real speech, with pocketsphinx's bundled en-us model.

`force_align` times a known transcript; `recognize_phones` guesses phones when there is none.
Both take analysis audio (16 kHz mono float32 in [-1, 1]) and return contiguous `Segment`s
that cover the whole clip, with ARPAbet labels from PHONES and "sil" for silence and noise.

pocketsphinx works in 10 ms frames on int16 audio. Alignment runs in two passes: words (a
linear grammar of the transcript), then phones within those words. One decoder is shared (it
takes 0.15 s to load and is not thread-safe, hence the lock); phone recognition is a named
"allphone" search on the same decoder. pocketsphinx keeps a little state from one utterance to
the next, so a result can move by a frame depending on what the decoder heard before.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from studio.errors import StudioError
from studio.phonemes import PHONES, SILENCE, Segment
from studio.text import normalize_text, split_words, spoken_words, word_phonemes

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100
_HOP = SAMPLE_RATE // FRAMES_PER_SECOND
_ALLPHONE_SEARCH = "allphone"
# The phone pass keeps a token per HMM state per frame, so its memory grows with
# phones x frames (1.5 GB for 5 minutes in one piece): longer audio is aligned in pieces of
# at most this many frames, cut in the silences that the word pass finds.
_MAX_PIECE_FRAMES = 30 * FRAMES_PER_SECOND
_MISMATCH = ("Could not match the transcript to the speech: check that it is exactly what is "
             "said in the audio.")

# (word, start frame, frames, [(phone, start frame), ...]) as pocketsphinx aligned it.
_AlignedWord = tuple[str, int, int, list[tuple[str, int]]]

_decoder: Any = None
_lock = threading.Lock()


def _get_decoder() -> Any:
    """The shared decoder; call with `_lock` held."""
    global _decoder
    if _decoder is None:
        import pocketsphinx

        # bestpath would end the word pass with a fake one-frame </s> that the phone pass
        # then cannot fit, failing about one GRID clip in ten (pocketsphinx PR #354).
        # Language weight 2 (default 6.5) cuts the worst word-boundary errors on GRID
        # (max 610 -> 430 ms, mean 28.6 -> 26.3 ms over 100 clips); phone recognition is
        # no worse with it.
        decoder = pocketsphinx.Decoder(lm=None, bestpath=False, lw=2.0, loglevel="FATAL")
        decoder.add_allphone_file(
            _ALLPHONE_SEARCH, pocketsphinx.get_model_path("en-us/en-us-phone.lm.bin"))
        _decoder = decoder
    return _decoder


def to_int16(samples: np.ndarray) -> np.ndarray:
    """int16 for pocketsphinx, with +-1 of dither so digital silence (exact zeros, as in the
    voice's pauses) is not heard as a fricative; seeded, so the same audio aligns the same."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {samples.shape}")
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32766).astype(np.int16)
    return pcm + np.random.default_rng(0).integers(-1, 2, len(pcm), dtype=np.int16)


def decode_utterance(decoder: Any, pcm: np.ndarray) -> None:
    # The feature state (cepstral mean and its history) would otherwise carry over from the last
    # recording decoded, so the same audio would be heard differently after another request.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()


def _is_word(name: str) -> bool:
    """False for <s>, <sil>, </s> and noise fillers like [NOISE] or +SPN+."""
    return re.match(r"[<\[+]", name) is None


def phone_label(name: str) -> str:
    """pocketsphinx phone -> PHONES: 'SIL' and noise phones like '+NSN+' become silence."""
    return name if name in PHONES and name != SILENCE else SILENCE


def contiguous_phones(starts: Iterable[tuple[str, int]], duration: float) -> list[Segment]:
    """(label, start frame) pairs -> segments that meet end to start and end at `duration`.

    Neighbouring silences merge, and the last segment absorbs the part frame at the end.
    """
    runs: list[tuple[str, float]] = []
    for label, frame in starts:
        start = min(frame / FRAMES_PER_SECOND, duration)
        if runs and (label == SILENCE == runs[-1][0] or start <= runs[-1][1]):
            continue
        runs.append((label, start))
    if not runs:
        return [Segment(SILENCE, 0.0, duration)]
    runs[0] = (runs[0][0], 0.0)
    ends = [start for _, start in runs[1:]] + [duration]
    return [Segment(label, start, end) for (label, start), end in zip(runs, ends)]


def _ensure_in_dictionary(decoder: Any, words: Iterable[str]) -> list[str]:
    """Add g2p pronunciations for words pocketsphinx does not know; drop unpronounceable ones."""
    known = []
    for word in words:
        if decoder.lookup_word(word) is None:
            phones = word_phonemes(word)
            if not phones:
                continue
            decoder.add_word(word, " ".join(phones), True)
        known.append(word)
    return known


def _word_pass(decoder: Any, pcm: np.ndarray, words: list[str]) -> list[tuple[str, int, int]]:
    """(word or filler, start frame, end frame exclusive) for `words` said in `pcm`."""
    decoder.set_align_text(" ".join(words))
    decode_utterance(decoder, pcm)
    if decoder.hyp() is None:
        raise StudioError(_MISMATCH)
    return [(s.word, s.start_frame, s.end_frame + 1) for s in decoder.seg()]


def _align_piece(decoder: Any, pcm: np.ndarray, words: list[str]) -> list[_AlignedWord]:
    _word_pass(decoder, pcm, words)
    decoder.set_alignment()
    try:
        decode_utterance(decoder, pcm)  # the phone pass, within the word pass's boundaries
    except RuntimeError as error:
        raise StudioError(_MISMATCH) from error
    # Copy out now: entries point into the Alignment and crash once it is freed.
    return [(word.name, word.start, word.duration, [(p.name, p.start) for p in word])
            for word in decoder.get_alignment()]


def _cut_points(segments: list[tuple[str, int, int]], n_frames: int) -> list[int]:
    """Frames at which to cut long audio: mid-silence where possible, else between words."""
    cuts, start = [], 0
    while n_frames - start > _MAX_PIECE_FRAMES:
        window = [(name, first, end) for name, first, end in segments
                  if start + _MAX_PIECE_FRAMES // 2 < end <= start + _MAX_PIECE_FRAMES]
        silences = [(end - first, (first + end) // 2) for name, first, end in window
                    if not _is_word(name)]
        if silences:
            cut = max(silences)[1]
        elif window:
            cut = window[-1][2]
        else:
            break  # one word longer than half a piece: align the rest in one go
        cuts.append(cut)
        start = cut
    return cuts


def _align(decoder: Any, pcm: np.ndarray, words: list[str]) -> list[_AlignedWord]:
    n_frames = len(pcm) // _HOP
    if n_frames <= _MAX_PIECE_FRAMES:
        return _align_piece(decoder, pcm, words)
    segments = _word_pass(decoder, pcm, words)
    word_starts = [first for name, first, _ in segments if _is_word(name)]
    if len(word_starts) != len(words):
        raise StudioError(_MISMATCH)
    aligned: list[_AlignedWord] = []
    bounds = [0, *_cut_points(segments, n_frames), n_frames + 1]
    for start, end in zip(bounds, bounds[1:]):
        piece_words = [w for w, first in zip(words, word_starts) if start <= first < end]
        if not piece_words:  # only silence here
            aligned.append(("<sil>", start, end - start, [(SILENCE, start)]))
            continue
        piece = _align_piece(decoder, pcm[start * _HOP:end * _HOP], piece_words)
        aligned += [(name, first + start, frames, [(p, s + start) for p, s in phones])
                    for name, first, frames, phones in piece]
    return aligned


def force_align(samples: np.ndarray, transcript: str) -> tuple[list[Segment], list[Segment]]:
    """Time each word and phone of `transcript` in `samples` (16 kHz mono float32).

    Returns (words, phones). Words are labelled as written in the normalised transcript
    ("Hello," "twenty-five!") and leave gaps where there is silence; phones cover the audio.
    Raises StudioError if the transcript cannot be matched to the speech.
    """
    pcm = to_int16(samples)
    duration = len(pcm) / SAMPLE_RATE
    if len(pcm) < _HOP:
        raise StudioError("The audio is too short to align.")
    written = split_words(normalize_text(transcript))
    if not written:
        raise StudioError("The transcript is empty: type the words that are spoken.")
    with _lock:
        decoder = _get_decoder()
        owners = [(i, word) for i, w in enumerate(written)
                  for word in _ensure_in_dictionary(decoder, spoken_words(w))]
        if not owners:
            raise StudioError("The transcript has no English words to align.")
        aligned = _align(decoder, pcm, [word for _, word in owners])
    spoken = [entry for entry in aligned if _is_word(entry[0])]
    if len(spoken) != len(owners):
        raise StudioError(_MISMATCH)

    phones = contiguous_phones(((phone_label(name), start) for *_, word_phones in aligned
                          for name, start in word_phones), duration)
    spans: dict[int, tuple[float, float]] = {}
    for (owner, _), (_, first, frames, _) in zip(owners, spoken):
        start = first / FRAMES_PER_SECOND
        end = min((first + frames) / FRAMES_PER_SECOND, duration)
        spans[owner] = (spans[owner][0], end) if owner in spans else (start, end)
    words, previous_end = [], 0.0
    for i, label in enumerate(written):
        start, end = spans.get(i, (previous_end, previous_end))
        words.append(Segment(label, start, end))
        previous_end = end
    return words, phones


def recognize_phones(samples: np.ndarray) -> list[Segment]:
    """Phones heard in `samples` (16 kHz mono float32), without a transcript.

    pocketsphinx's phone decoding is rough (many phones wrong, but timing and the open/closed
    character of the mouth mostly right): use force_align when the words are known.
    """
    pcm = to_int16(samples)
    if len(pcm) < _HOP:
        return [Segment(SILENCE, 0.0, len(pcm) / SAMPLE_RATE)] if len(pcm) else []
    with _lock:
        decoder = _get_decoder()
        decoder.activate_search(_ALLPHONE_SEARCH)
        decode_utterance(decoder, pcm)
        heard = [(phone_label(s.word), s.start_frame) for s in decoder.seg()]
    return contiguous_phones(heard, len(pcm) / SAMPLE_RATE)
