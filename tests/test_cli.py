"""`python -m studio render` end to end, in a real subprocess, with the real voice and ffmpeg."""
import subprocess
import sys

import pytest
from conftest import ROOT

from studio.audio import FPS
from studio.video import probe, stream_durations


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", "render", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def assert_playable(video, n_seconds: float | None = None):
    info, durations = probe(str(video)), stream_durations(str(video))
    assert info["video"]["codec"] == "h264" and info["video"]["pix_fmt"] == "yuv420p"
    assert info["audio"]["codec"] == "aac"
    assert abs(durations["audio"] - durations["video"]) <= 1 / FPS
    assert abs(durations["frames"] / FPS - durations["video"]) <= 1 / FPS
    if n_seconds is not None:
        assert abs(durations["video"] - n_seconds) <= 1 / FPS
    return info, durations


def test_render_from_audio(tmp_path, photo_path, grid_clip):
    out = tmp_path / "speech.mp4"
    result = run_cli("--face", str(photo_path), "--audio", str(grid_clip.with_suffix(".flac")),
                     "--out", str(out), "--size", "256", "--still")
    assert result.returncode == 0, result.stderr
    info, durations = assert_playable(out, 3.0)
    assert durations["frames"] == 75
    assert (info["video"]["width"], info["video"]["height"]) == (256, 256)


def test_render_from_text_writes_subtitles(tmp_path, photo_path):
    out = tmp_path / "script.mp4"
    result = run_cli("--face", str(photo_path), "--text", "Hello! My name is Eileen, I am 25.",
                     "--out", str(out), "--size", "256")
    assert result.returncode == 0, result.stderr
    _, durations = assert_playable(out)
    assert durations["video"] > 1.0
    srt = out.with_suffix(".srt").read_text()
    assert srt.startswith("1\n00:00:") and "Eileen, I am 25." in srt  # as typed, not spelt out


@pytest.mark.parametrize("args, message", [
    (["--text", "   "], "empty"),
    (["--audio", "missing.wav"], "No such audio file"),
    (["--text", "hi", "--face", "README.md"], "not an image"),
    (["--text", "hi", "--driver", "static", "--size", "20"], "too small"),
])
def test_bad_input_exits_with_one_line_and_no_file(tmp_path, photo_path, args, message):
    out = tmp_path / "out.mp4"
    if "--face" not in args:
        args = ["--face", str(photo_path)] + args
    result = run_cli(*args, "--out", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_photo_without_a_face_is_refused(tmp_path, grid_clip):
    import cv2
    import numpy as np

    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 180, np.uint8))
    out = tmp_path / "out.mp4"
    result = run_cli("--face", str(blank), "--audio", str(grid_clip.with_suffix(".flac")),
                     "--out", str(out))
    assert result.returncode != 0 and "No face was found" in result.stderr
    assert not out.exists()
