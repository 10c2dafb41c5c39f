"""Many users at once: simultaneous gradio_client calls with different inputs, on a real server."""
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import ROOT

from studio.pipeline import Studio
from studio.ui import CONCURRENT_RENDERS, OUTPUT_NAME, StudioHandlers, serve
from studio.video import stream_durations

EXAMPLES = ROOT / "assets" / "examples"


class CountingStudio(Studio):
    """The real studio, counting how many renders run at the same time."""

    def __init__(self, studio):
        super().__init__(studio.face_mesh, studio.voice, studio.limits)
        self._lock = threading.Lock()
        self.running = self.most_at_once = self.calls = 0

    def render(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
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
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    demo, (_, url, _) = serve(StudioHandlers(counting), prevent_thread_lock=True,
                              server_name="127.0.0.1", quiet=True)
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


def encoders_running() -> list[int]:
    """ffmpeg processes started by this test process (the studio's encoder and decoders)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # the process ended while being read
            continue
        if int(fields.get("PPid", 0)) == os.getpid() and "ffmpeg" in fields.get("Name", ""):
            found.append(int(status.parent.name))
    return found


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_user_who_cancels_stops_the_render_and_leaves_nothing(server):
    from gradio_client import Client, handle_file

    url, counting, work = server
    client = Client(url, verbose=False)
    script = " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 20)
    job = client.submit(handle_file(str(EXAMPLES / "astronaut.jpg")), script, 1.0, "512", True, True,
                        "default", api_name="/speak_script")
    assert wait_for(encoders_running, 120), "the render never reached the encoder"
    started = time.monotonic()
    job.cancel()

    assert wait_for(lambda: not encoders_running() and counting.running == 0, 30)
    assert time.monotonic() - started < 10  # stopped at once, not after rendering 40 s of video
    assert [p for p in work.rglob("*") if p.is_file() or p.name.startswith("studio-")] == []


@pytest.fixture
def brief_limits(monkeypatch):
    """Results kept 3 s, uploads up to 1 MB (set before `server` builds the studio)."""
    monkeypatch.setenv("STUDIO_KEEP_SECONDS", "3")
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "1")


def test_results_leave_the_cache_on_schedule_and_big_uploads_are_refused(brief_limits, server, tmp_path):
    from gradio_client import Client, handle_file

    url, counting, _ = server
    client = Client(url, verbose=False)
    upload = tmp_path / "me.jpg"  # a user's own photo (the bundled examples stay cached)
    cv2.imwrite(str(upload), cv2.imread(str(EXAMPLES / "grace-hopper.jpg")))
    client.predict(handle_file(str(upload)), "Hi.", 1.0, "256", True, True, "default",
                   api_name="/speak_script")
    cached = lambda: sorted(p.name for p in (tmp_path / "gradio").rglob("*")
                            if p.name in ("me.jpg", OUTPUT_NAME, Path(OUTPUT_NAME).with_suffix(".srt").name))
    assert OUTPUT_NAME in cached()  # served from the cache for a while...
    assert wait_for(lambda: not cached(), 15)  # ...then the results and the upload go, 3 s old

    big = tmp_path / "big.jpg"
    with open(big, "wb") as file:
        file.truncate(2_000_000)
    renders = counting.calls
    with pytest.raises(Exception, match="(?i)size|large"):
        client.predict(handle_file(str(big)), "Hi.", 1.0, "256", True, True, "default",
                       api_name="/speak_script")
    assert counting.calls == renders  # refused by the server, before any work
