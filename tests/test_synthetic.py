"""lab.synthetic: the bundled voice's words warped onto a real GRID clip's word timings."""
import shutil

import numpy as np
import pytest

from lab import prepare, synthetic
from lab.dataset import grid_clip
from lab.measures import mapped_time
from studio.phonemes import Segment


def frame_energy(log_mel: np.ndarray) -> np.ndarray:
    """Log total power per video frame of log-mel rows."""
    return np.log(np.exp(log_mel).sum(axis=1)).reshape(-1, 4).mean(axis=1)


def test_touching_words_share_one_anchor_and_time_runs_at_the_voices_pace_beyond():
    clip = [Segment("bin", 0.5, 0.8), Segment("blue", 0.8, 1.2)]
    voice = [Segment("bin", 0.1, 0.3), Segment("Blue", 0.35, 0.6)]
    clip_times, voice_times = anchors = synthetic.time_warp(voice, clip)
    assert clip_times.tolist() == [0.5, 0.8, 1.2]
    assert voice_times == pytest.approx([0.1, 0.325, 0.6])
    mapped = mapped_time(np.array([0.0, 0.5, 0.65, 1.2, 2.0]), anchors)
    assert mapped == pytest.approx([-0.4, 0.1, 0.2125, 0.6, 1.4])


def test_words_said_otherwise_give_no_pair():
    with pytest.raises(ValueError):
        synthetic.time_warp([Segment("bin", 0.1, 0.3)], [Segment("bin", 0.5, 0.8), Segment("blue", 0.8, 1.2)])


def test_the_warped_voice_is_loud_where_the_speaker_is(shared_data):
    from studio.voice import Voice

    clip = grid_clip("bbaf2n")
    real = prepare.build(clip)
    mel, phones = synthetic.warped_features(clip, real, Voice())
    assert mel.shape == real.mel.shape and phones.shape == real.phones.shape
    assert np.corrcoef(frame_energy(mel), frame_energy(real.mel))[0, 1] > 0.75
    assert np.mean(phones != phones[0]) > 0.3  # phones heard over the words, not silence throughout


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="Debian's espeak-ng is not installed (.ci/run installs it)")
def test_an_espeak_voice_says_the_clips_words_where_the_speaker_does(shared_data):
    clip = grid_clip("bbaf2n")
    real = prepare.build(clip)
    voice = synthetic.EspeakVoice("en-us+f3")
    spoken = voice.synthesize(clip.transcript)
    assert [w.label.lower() for w in spoken.words] == [w.label.lower() for w in clip.words]
    mel, phones = synthetic.warped_features(clip, real, voice)
    assert mel.shape == real.mel.shape and phones.shape == real.phones.shape
    assert np.corrcoef(frame_energy(mel), frame_energy(real.mel))[0, 1] > 0.6
