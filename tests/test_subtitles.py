"""Subtitle cues and SRT files."""
import re

import pytest

from studio.phonemes import Segment
from studio.subtitles import MAX_LINE_CHARS, subtitle_cues, write_srt, written_words

LONG = ("This is a rather long sentence that will certainly need more than two lines of "
        "subtitles to be shown on the screen, I think.")


def timed_words(text, start=0.0, step=0.35):
    words = []
    for token in text.split():
        words.append(Segment(token, start, start + 0.3))
        start += step
    return words


def assert_readable(cues, text):
    assert " ".join(c.label.replace("\n", " ") for c in cues) == text
    for cue in cues:
        lines = cue.label.split("\n")
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in lines)


def test_long_sentence_is_cut_at_word_times():
    words = timed_words(LONG)
    sentence = Segment(LONG, 0.0, words[-1].end + 0.5)
    cues = subtitle_cues([sentence], words)
    assert len(cues) == 2
    assert_readable(cues, LONG)
    assert cues[0].start == words[0].start
    assert cues[0].end == cues[1].start == words[len(cues[0].label.split())].start
    assert cues[-1].end == sentence.end


def test_short_sentences_are_one_line_each():
    first, second = timed_words("Hello there."), timed_words("Bye.", start=1.0)
    sentences = [Segment("Hello there.", 0.0, 0.9), Segment("Bye.", 0.9, 1.5)]
    cues = subtitle_cues(sentences, first + second)
    assert cues == [Segment("Hello there.", 0.0, 0.9), Segment("Bye.", 1.0, 1.5)]


def test_without_word_times_the_sentence_is_spread():
    cues = subtitle_cues([Segment(LONG, 2.0, 9.0)], [])
    assert_readable(cues, LONG)
    assert cues[0].start == 2.0 and cues[-1].end == pytest.approx(9.0)
    assert cues[0].end == cues[1].start


def test_a_word_too_long_for_a_line_gets_its_own_cue():
    text = "See " + "x" * 50 + " now"
    cues = subtitle_cues([Segment(text, 0, 2)], timed_words(text))
    assert [c.label for c in cues] == ["See", "x" * 50, "now"]


def test_write_srt(tmp_path):
    path = tmp_path / "talk.srt"
    write_srt([Segment("Hello there.", 0.0, 1.25),
               Segment("A second cue\non two lines.", 3723.456, 3725.0)], path)
    assert path.read_text(encoding="utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,250\nHello there.\n\n"
        "2\n01:02:03,456 --> 01:02:05,000\nA second cue\non two lines.\n")


def test_cues_from_the_voice(voice, tmp_path):
    script = LONG + " Short one."
    track = voice.synthesize(script)
    cues = subtitle_cues(track.sentences, track.words)
    assert_readable(cues, script)
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert cues[-1].end == pytest.approx(track.duration)
    write_srt(cues, tmp_path / "voice.srt")
    blocks = (tmp_path / "voice.srt").read_text(encoding="utf-8").split("\n\n")
    assert len(blocks) == len(cues)
    timing = r"\d+\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n"
    assert all(re.match(timing, block) for block in blocks)


def test_subtitles_show_the_script_as_typed(voice):
    script = "Dr. Smith paid $5.50 at 3:15pm. It is 25% off!"
    track = voice.synthesize(script)
    words = written_words(script, track.words)
    assert [w.label for w in words] == ["Dr.", "Smith", "paid", "$5.50", "at", "3:15pm.", "It", "is",
                                        "25%", "off!"]
    spoken = {w.label.strip(".,!"): w for w in track.words}  # "five dollars and fifty cents"
    assert (words[3].start, words[3].end) == (spoken["five"].start, spoken["cents"].end)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:]))
    assert_readable(subtitle_cues(track.sentences, words), script)


def test_typed_words_that_do_not_match_the_speech_are_not_used():
    assert written_words("Hello there", timed_words("Hello there friend")) is None
