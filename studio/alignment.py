"""Word and phone timings of real speech, with pocketsphinx's bundled en-us model.

`force_align` times a known transcript; `recognize_phones` guesses phones when there is none.
Both take analysis audio (16 kHz mono float32 in [-1, 1]) and return contiguous `Segment`s
that cover the whole clip, with ARPAbet labels from PHONES and "sil" for silence and noise.

pocketsphinx works in 10 ms frames on int16 audio. One decoder is shared (it takes 0.15 s
to load and is not thread-safe, hence the lock); alignment is its own search mode, and phone
recognition a named "allphone" search on the same decoder.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Iterable

import numpy as np

from studio.errors import StudioError
from studio.phonemes import PHONES, SILENCE, Segment
from studio.text import normalize_text, split_words, spoken_words, word_phonemes

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100
_ALLPHONE_SEARCH = "allphone"
# A language-model weight of 2 for the phone bigram is what CMU suggests for phone decoding.
_PHONE_LM_WEIGHT = 2.0
# Alignment is judged to have failed when more than this share of the loud frames is put in
# silence: the transcript then leaves out speech that is in the audio.
_MAX_LOUD_SILENCE = 0.35

_decoder: Any = None
_lock = threading.Lock()


def _get_decoder() -> Any:
    """The shared decoder; call with `_lock` held."""
    global _decoder
    if _decoder is None:
        import pocketsphinx

        decoder = pocketsphinx.Decoder(lm=None, lw=_PHONE_LM_WEIGHT, loglevel="FATAL")
        decoder.add_allphone_file(
            _ALLPHONE_SEARCH, pocketsphinx.get_model_path("en-us/en-us-phone.lm.bin"))
        _decoder = decoder
    return _decoder


def _to_int16(samples: np.ndarray) -> bytes:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {samples.shape}")
    return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def _decode(decoder: Any, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _phone_label(name: str) -> str:
    """pocketsphinx phone -> PHONES: 'SIL' and noise phones like '+NSN+' become silence."""
    return name if name in PHONES and name != SILENCE else SILENCE


def _contiguous(starts: Iterable[tuple[str, int]], duration: float) -> list[Segment]:
    """(label, start frame) runs -> segments that meet end to start and end at `duration`.

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


def _loud_share_in_silence(samples: np.ndarray, phones: list[Segment]) -> float:
    """Share of loud 10 ms frames (within 20 dB of the clip's loud level) labelled silence."""
    hop = SAMPLE_RATE // FRAMES_PER_SECOND
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    if not len(level):
        return 0.0
    loud = level > np.percentile(level, 95) - 20
    silent = np.zeros(len(level), dtype=bool)
    for phone in phones:
        if phone.label == SILENCE:
            silent[round(phone.start * FRAMES_PER_SECOND):round(phone.end * FRAMES_PER_SECOND)] = True
    return float(np.sum(loud & silent) / max(np.sum(loud), 1))


def force_align(samples: np.ndarray, transcript: str) -> tuple[list[Segment], list[Segment]]:
    """Time each word and phone of `transcript` in `samples` (16 kHz mono float32).

    Returns (words, phones). Words are labelled as written in the normalised transcript
    ("Hello," "twenty-five!") and leave gaps where there is silence; phones cover the audio.
    Raises StudioError if the transcript cannot be matched to the speech.
    """
    pcm = _to_int16(samples)
    duration = len(samples) / SAMPLE_RATE
    written = split_words(normalize_text(transcript))
    if not written:
        raise StudioError("The transcript is empty: type the words that are spoken.")
    with _lock:
        decoder = _get_decoder()
        owners = [(i, word) for i, w in enumerate(written)
                  for word in _ensure_in_dictionary(decoder, spoken_words(w))]
        if not owners:
            raise StudioError("The transcript has no English words to align.")
        decoder.set_align_text(" ".join(word for _, word in owners))
        _decode(decoder, pcm)  # first pass: word boundaries
        if decoder.hyp() is None:
            raise StudioError("Could not match the transcript to the speech: check that it "
                              "is exactly what is said in the audio.")
        decoder.set_alignment()
        _decode(decoder, pcm)  # second pass: phone boundaries within those words
        # Copy out now: entries point into the Alignment and crash once it is freed.
        alignment = [(word.name, word.start, word.duration, [(p.name, p.start) for p in word])
                     for word in decoder.get_alignment()]
    spoken = [entry for entry in alignment if not re.match(r"[<\[+]", entry[0])]
    if len(spoken) != len(owners):
        raise StudioError("Could not match the transcript to the speech: check that it "
                          "is exactly what is said in the audio.")

    phones = _contiguous(((_phone_label(name), start) for *_, word_phones in alignment
                          for name, start in word_phones), duration)
    if _loud_share_in_silence(np.asarray(samples, dtype=np.float32), phones) > _MAX_LOUD_SILENCE:
        raise StudioError("The transcript seems to leave out part of the speech: check that "
                          "it has every word that is said in the audio.")

    spans: dict[int, tuple[float, float]] = {}
    for (owner, _), (_, first_frame, frames, _) in zip(owners, spoken):
        start = first_frame / FRAMES_PER_SECOND
        end = min((first_frame + frames) / FRAMES_PER_SECOND, duration)
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
    pcm = _to_int16(samples)
    with _lock:
        decoder = _get_decoder()
        decoder.activate_search(_ALLPHONE_SEARCH)
        _decode(decoder, pcm)
        heard = [(_phone_label(s.word), s.start_frame) for s in decoder.seg()]
    return _contiguous(heard, len(samples) / SAMPLE_RATE)
