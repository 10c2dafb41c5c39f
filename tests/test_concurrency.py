"""Many users at once: simultaneous gradio_client calls with different inputs, on a real server."""
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import ROOT

from studio.pipeline import Studio
from studio.ui import CONCURRENT_RENDERS, OUTPUT_NAME, StudioHandlers, build_ui
from studio.video import stream_durations

EXAMPLES = ROOT / "assets" / "examples"


class CountingStudio(Studio):
    """The real studio, counting how many renders run at the same time."""

    def __init__(self, studio):
        super().__init__(studio.face_mesh, studio.voice, studio.limits)
        self._lock = threading.Lock()
        self.running = self.most_at_once = 0

    def render(self, *args, **kwargs):
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().render(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def server(studio, tmp_path, monkeypatch):
    """A served studio whose working files go to tmp_path/work, and Gradio's cache apart."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    counting = CountingStudio(studio)
    demo = build_ui(StudioHandlers(counting))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url, counting, work
    demo.close()


def test_simultaneous_users_get_their_own_results(server, tmp_path, grid_clip):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    url, counting, work = server
    odd = tmp_path / "..;$(touch x) talking-face.mp4.jpg"  # an upload's name never picks a path
    shutil.copy(EXAMPLES / "grid-speaker.jpg", odd)
    options = ("256", False, True, "default")
    scripts = {EXAMPLES / "astronaut.jpg": ("Hi.", (256, 256)),
               odd: ("Good morning, class. Today we learn about the moon.", (256, 204)),
               EXAMPLES / "grace-hopper.jpg": ("Seven ravens sat on the old fence.", (218, 256))}
    client = Client(url, verbose=False)
    jobs = {photo: client.submit(handle_file(str(photo)), script, 1.0, *options,
                                 api_name="/speak_script")
            for photo, (script, _) in scripts.items()}
    recording = client.submit(handle_file(str(EXAMPLES / "astronaut.jpg")),
                              handle_file(str(grid_clip.with_suffix(".flac"))), "", *options,
                              api_name="/lip_sync_audio")
    failing = client.submit(handle_file(str(ROOT / "README.md")), "Hello.", 1.0, *options,
                            api_name="/speak_script")

    durations = {}
    for photo, job in jobs.items():
        video, files, status = job.result(timeout=600)
        script, (width, height) = scripts[photo]
        assert f"at {width}x{height}," in status
        assert Path(video).name == OUTPUT_NAME
        subtitles = next(Path(f).read_text() for f in files if f.endswith(".srt"))
        said = [line for line in subtitles.splitlines()
                if line.strip() and not line.isdigit() and "-->" not in line]
        assert " ".join(said) == script  # its own words, no one else's
        durations[script] = stream_durations(video)["video"]
    assert durations["Hi."] < 1.5 < min(d for s, d in durations.items() if s != "Hi.")
    video, files, status = recording.result(timeout=600)
    assert abs(stream_durations(video)["video"] - 3.0) < 0.05
    with pytest.raises(AppError, match="not an image file"):
        failing.result(timeout=600)

    assert counting.most_at_once == CONCURRENT_RENDERS
    # Every working file is gone, whether the request worked or not (Gradio's server and client
    # leave empty folders of their own here).
    assert [p for p in work.rglob("*") if p.is_file() or p.name.startswith("studio-")] == []
