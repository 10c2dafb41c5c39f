"""Long work is done in pieces, with no seam and with progress that moves: the real voice on a
long script, real phone recognition on a long recording."""
import numpy as np

from studio.audio import SAMPLE_RATE, decode
from studio.phonemes import SILENCE, Segment, merge_silences
from studio.speech import PIECE_SECONDS, find_phones


def assert_contiguous(segments, duration):
    assert segments[0].start == 0 and abs(segments[-1].end - duration) < 0.02
    assert all(abs(a.end - b.start) < 1e-6 for a, b in zip(segments, segments[1:]))
    assert not any(a.label == SILENCE == b.label for a, b in zip(segments, segments[1:]))


def test_a_long_script_is_spoken_in_pieces_without_a_seam(studio):
    from lab.benchmark import long_script
    from studio.pipeline import VOICE_PIECE_CHARS
    from studio.text import check_script

    script = check_script(long_script(2 * VOICE_PIECE_CHARS + 100), 10_000)  # as render does
    seen = []
    speech = studio.speak(script, 1.0, seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    duration = len(speech.playback) / speech.playback_rate  # a voice's samples, not a file
    assert_contiguous(speech.phones, duration)
    assert_contiguous(speech.sentences, duration)
    assert " ".join(s.label for s in speech.sentences) == script
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts) and len(speech.words) == len(script.split())
    # Between pieces the pause is the voice's own pause between sentences: no seam in time.
    gaps = [b.start - a.end for a, b in zip(speech.words, speech.words[1:])]
    assert max(gaps) < 0.8


def test_a_long_recording_is_recognised_in_pieces_on_both_cores(shared_data):
    from studio import phone_helper
    from studio.alignment import recognize_phones
    from studio.speech import pause_cuts

    clips = sorted((shared_data / "grid-s1").glob("*.flac"))[:int(3.2 * PIECE_SECONDS / 3)]
    samples = np.concatenate([decode(str(c)) for c in clips])
    seen = []
    phones = find_phones(samples, seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    assert_contiguous(phones, len(samples) / SAMPLE_RATE)
    assert sum(p.label != SILENCE for p in phones) > 10 * len(clips)  # about a dozen per clip
    assert phone_helper._process is not None  # it took its share
    bounds = [0, *pause_cuts(samples), len(samples)]
    here = [Segment(p.label, p.start + start / SAMPLE_RATE, p.end + start / SAMPLE_RATE)
            for start, end in zip(bounds, bounds[1:]) for p in recognize_phones(samples[start:end])]
    assert phones == merge_silences(here)  # the helper hears what this process would
