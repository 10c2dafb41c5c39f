"""Forced alignment and phone recognition on real speech (GRID speaker 1)."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from studio.alignment import force_align, recognize_phones
from studio.errors import StudioError
from studio.phonemes import PHONES, SILENCE, Segment

GRID_UNITS = 25000  # .align times are in 1/25000 s


def grid_clip_of(shared_data, clip_id):
    """(16 kHz samples, reference word segments) of a GRID utterance."""
    path = shared_data / "grid-s1" / clip_id
    samples, rate = sf.read(f"{path}.flac", dtype="float32")
    assert rate == 16000
    words = [Segment(w, int(a) / GRID_UNITS, int(b) / GRID_UNITS)
             for a, b, w in (line.split() for line in Path(f"{path}.align").read_text().splitlines())
             if w not in ("sil", "sp")]
    return samples, words


def boundary_errors(words, reference):
    return [abs(w.start - r.start) for w, r in zip(words, reference)] + \
           [abs(w.end - r.end) for w, r in zip(words, reference)]


def assert_covers(phones, duration):
    assert phones[0].start == 0 and phones[-1].end == pytest.approx(duration)
    assert all(a.end == b.start for a, b in zip(phones, phones[1:]))
    assert all(p.label in PHONES for p in phones)


# sgio8p failed pocketsphinx's phone pass until bestpath was turned off
@pytest.mark.parametrize("clip_id", ["bbaf2n", "lgaz8p", "pbav2n", "sgio8p"])
def test_force_align_matches_grid_word_times(shared_data, clip_id):
    samples, reference = grid_clip_of(shared_data, clip_id)
    words, phones = force_align(samples, " ".join(w.label for w in reference))
    assert [w.label for w in words] == [w.label for w in reference]
    assert np.mean(boundary_errors(words, reference)) < 0.06
    assert_covers(phones, len(samples) / 16000)
    assert phones[0].label == SILENCE  # GRID clips start in silence


def test_long_audio_is_aligned_in_pieces(shared_data):
    ids = ["bbaf2n", "bbaf3s", "bbaf4p", "bbaf5a", "lgaz8p", "pbav2n", "sgio8p",
           "bbaf2n", "lgaz8p", "pbav2n", "sgio8p", "bbaf3s"]
    pieces, reference, offset = [], [], 0.0
    for clip_id in ids:
        samples, words = grid_clip_of(shared_data, clip_id)
        pieces.append(samples)
        reference += [Segment(w.label, w.start + offset, w.end + offset) for w in words]
        offset += len(samples) / 16000
    samples = np.concatenate(pieces)  # 36 s: over the 30 s piece limit
    words, phones = force_align(samples, " ".join(w.label for w in reference))
    assert [w.label for w in words] == [w.label for w in reference]
    assert np.mean(boundary_errors(words, reference)) < 0.06
    assert_covers(phones, offset)


def test_words_missing_from_the_dictionary(voice):
    text = "The zorblatt flew over Quillington at 3pm."
    spoken = voice.synthesize(text)
    words, phones = force_align(soxr.resample(spoken.samples, spoken.sample_rate, 16000), text)
    assert [w.label for w in words] == [w.label for w in spoken.words]
    assert all(w.duration > 0.1 for w in words[1:2] + words[4:5])  # zorblatt, Quillington
    assert np.mean(boundary_errors(words, spoken.words)) < 0.06


def test_wrong_transcript_is_rejected(grid_clip):
    samples, _ = sf.read(f"{grid_clip}.flac", dtype="float32")
    with pytest.raises(StudioError, match="Could not match the transcript"):
        force_align(samples, "the quick brown fox jumps over the lazy dog")


def test_recognize_phones(shared_data):
    samples, reference = grid_clip_of(shared_data, "bbaf2n")  # "bin blue at f two now"
    phones = recognize_phones(samples)
    assert_covers(phones, len(samples) / 16000)
    speech = [p for p in phones if p.label != SILENCE]
    assert 6 <= len(speech) <= 30
    assert phones[-1].label == SILENCE
    # Speech is heard where the words are said (GRID's pauses hold a few noises too).
    said = (reference[0].start, reference[-1].end)
    overlap = sum(max(0.0, min(p.end, said[1]) - max(p.start, said[0])) for p in speech)
    assert overlap > 0.8 * (said[1] - said[0])
    assert overlap > 0.75 * sum(p.duration for p in speech)


def test_recognize_phones_in_digital_silence():
    assert recognize_phones(np.zeros(16000, dtype=np.float32)) == [Segment(SILENCE, 0.0, 1.0)]


def test_what_is_heard_does_not_depend_on_what_was_heard_before(shared_data):
    """One decoder serves every request, so each decode must start from the same state: the same
    recording gives the same phones and the same alignment whatever was decoded before it."""
    speech, words = grid_clip_of(shared_data, "bbaf2n")
    transcript = " ".join(w.label for w in words)
    heard, aligned = [], []
    for before in ("lgaz8p", "pbav2n", "bbaf2n"):
        earlier, _ = grid_clip_of(shared_data, before)
        recognize_phones(earlier)
        heard.append(recognize_phones(speech))
        recognize_phones(earlier)
        aligned.append(force_align(speech, transcript))
    assert heard[0] == heard[1] == heard[2]
    assert aligned[0] == aligned[1] == aligned[2]


def test_a_transcript_that_cannot_be_aligned_falls_back_to_what_is_heard(studio, photo_path,
                                                                         grid_clip, tmp_path):
    from studio.pipeline import RenderOptions, load_photo

    result = studio.render(load_photo(str(photo_path)), str(tmp_path / "out.mp4"),
                           audio=str(grid_clip.with_suffix(".flac")),
                           transcript="the quick brown fox jumps over the lazy dog",
                           options=RenderOptions(driver="taem", size=128))
    assert result.driver == "taem" and "heard in the speech instead" in result.summary()
    cues = result.subtitles.read_text()
    assert "the quick brown fox" in cues and "-->" in cues  # the transcript, spread over the speech
