"""Decoding and encoding with the real bundled ffmpeg."""
import numpy as np
import pytest
import soundfile

from studio.audio import FPS, MELS_PER_FRAME, N_MELS, SAMPLE_RATE, check_speech, decode, log_mel
from studio.errors import StudioError
from studio.video import VideoWriter, probe, stream_durations


def test_grid_speech_decodes_at_16k(grid_clip):
    samples = decode(str(grid_clip.with_suffix(".flac")))
    assert samples.dtype == np.float32
    assert abs(len(samples) / SAMPLE_RATE - 2.98) < 0.01
    mel = log_mel(samples, 75)
    assert mel.shape == (75 * MELS_PER_FRAME, N_MELS)
    assert np.isfinite(mel).all()


def test_speech_checks_refuse_silence_and_short_audio():
    with pytest.raises(StudioError, match="silent"):
        check_speech(np.zeros(SAMPLE_RATE, np.float32), 60)
    with pytest.raises(StudioError, match="too short"):
        check_speech(np.ones(800, np.float32) * 0.1, 60)
    with pytest.raises(StudioError, match="limit"):
        check_speech(np.ones(SAMPLE_RATE * 3, np.float32) * 0.1, 2)


def test_unreadable_audio_is_a_clear_error(tmp_path):
    bad = tmp_path / "speech.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(StudioError, match="Could not read the audio"):
        decode(str(bad))


@pytest.mark.parametrize("seconds", [0.83, 1.13])  # shorter and longer than the 30 frames
@pytest.mark.parametrize("as_file", [False, True])  # a voice's samples, or a recording's stereo file
def test_writer_makes_a_browser_video_of_exact_length(tmp_path, seconds, as_file):
    out = tmp_path / "clip.mp4"
    n_frames, rate = 30, 44100
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
    audio = tone
    if as_file:  # the encoder decodes it itself: resampled, mixed down to mono
        audio = str(tmp_path / "recording.wav")
        soundfile.write(audio, np.stack([tone, tone], axis=1)[::2], rate // 2)
    with VideoWriter(str(out), 64, 48, audio, rate, n_frames) as writer:
        for k in range(n_frames):
            writer.write(np.full((48, 64, 3), k * 8, np.uint8))
        writer.close()
    info, durations = probe(str(out)), stream_durations(str(out))
    assert info["video"]["codec"] == "h264" and info["video"]["pix_fmt"] == "yuv420p"
    assert info["audio"]["codec"] == "aac"
    assert durations["frames"] == n_frames
    assert abs(durations["audio"] - durations["video"]) <= 1 / FPS
    assert " mono" in info["audio"]["line"] and "44100 Hz" in info["audio"]["line"]
    heard = decode(str(out))[SAMPLE_RATE // 10:SAMPLE_RATE // 2]  # the steady tone, no edges
    assert abs(np.sqrt(2 * np.mean(heard ** 2)) - 0.2) < 0.02  # mixed down at the level of each channel
    assert out.read_bytes()[4:8] == b"ftyp" and b"moov" in out.read_bytes()[:4096]  # faststart


def test_failed_encoding_leaves_no_file(tmp_path):
    out = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError), VideoWriter(str(out), 64, 48, np.zeros(100, np.float32), 16000,
                                                  10) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("render failed half way")
    assert list(tmp_path.iterdir()) == []
