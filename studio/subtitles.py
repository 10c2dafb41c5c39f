"""Subtitles: sentences cut into cues of at most two lines that a viewer can read in time.

A cue's label is its text, with a newline between its two lines.
"""
from __future__ import annotations

from pathlib import Path

from studio.phonemes import Segment
from studio.text import normalize_text, split_words, spoken_words

MAX_LINE_CHARS = 42  # the usual broadcast limit


def _lines(words: list[str]) -> list[str]:
    """The words on one line, or on two lines as even as possible."""
    text = " ".join(words)
    if len(text) <= MAX_LINE_CHARS or len(words) == 1:
        return [text]
    splits = [[" ".join(words[:k]), " ".join(words[k:])] for k in range(1, len(words))]
    return min(splits, key=lambda lines: max(map(len, lines)))


def _fits(words: list[str]) -> bool:
    """True if the words fit in one cue (a single over-long word has to)."""
    return len(words) == 1 or all(len(line) <= MAX_LINE_CHARS for line in _lines(words))


def _spread_over(sentence: Segment) -> list[Segment]:
    """Without word timings, time the sentence's words in proportion to their length."""
    tokens = sentence.label.split()
    total = sum(len(t) + 1 for t in tokens)
    words, start = [], sentence.start
    for token in tokens:
        end = start + sentence.duration * (len(token) + 1) / total
        words.append(Segment(token, start, end))
        start = end
    return words


def written_words(script: str, spoken: list[Segment]) -> list[Segment] | None:
    """The script's words as typed ("$5.50"), each timed over the spoken words it became ("five
    dollars and fifty cents"), so subtitles show what was written. None when the typed words,
    spelt out one by one, do not add up to what was spoken."""
    typed = split_words(script)
    counts = [len(spoken_words(normalize_text(word))) for word in typed]
    owner = [k for k, word in enumerate(spoken) for _ in spoken_words(word.label)]
    if sum(counts) != len(owner) or not all(counts):
        return None
    words, first = [], 0
    for word, count in zip(typed, counts):
        a, b = spoken[owner[first]], spoken[owner[first + count - 1]]
        words.append(Segment(word, a.start, b.end))
        first += count
    return words


def subtitle_cues(sentences: list[Segment], words: list[Segment]) -> list[Segment]:
    """Cut each sentence into cues of at most two 42-character lines, at word boundaries.

    A cue starts when its first word does and lasts until the next cue of its sentence
    starts; a sentence's last cue stays up until the sentence ends (its trailing pause).
    """
    cues: list[Segment] = []
    for sentence in sentences:
        own = [w for w in words if sentence.start <= (w.start + w.end) / 2 < sentence.end]
        groups: list[list[Segment]] = []
        for word in own or _spread_over(sentence):
            if groups and _fits([w.label for w in groups[-1]] + [word.label]):
                groups[-1].append(word)
            else:
                groups.append([word])
        for k, group in enumerate(groups):
            end = groups[k + 1][0].start if k + 1 < len(groups) else sentence.end
            text = "\n".join(_lines([w.label for w in group]))
            cues.append(Segment(text, group[0].start, max(end, group[-1].end)))
    return cues


def _timestamp(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_srt(cues: list[Segment], path: str | Path) -> None:
    """Write cues as a SubRip (.srt) file: 1-based index, HH:MM:SS,mmm times, blank line."""
    blocks = [f"{i}\n{_timestamp(c.start)} --> {_timestamp(c.end)}\n{c.label}\n"
              for i, c in enumerate(cues, start=1)]
    Path(path).write_text("\n".join(blocks), encoding="utf-8")
