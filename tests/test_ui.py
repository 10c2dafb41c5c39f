"""The browser studio's handlers, called directly and through a real server with gradio_client."""
import os

import gradio as gr
import pytest
from conftest import handler_result

from studio.ui import EXAMPLES, StudioHandlers, build_ui
from studio.video import stream_durations


@pytest.fixture(scope="module")
def handlers(studio):
    return StudioHandlers(studio)


def no_progress(fraction, desc=None):
    pass


def test_script_gives_video_and_subtitles(handlers, photo_path):
    results = handlers.speak_script(str(photo_path), "Good morning, class.", 1.2, "256", True,
                                    True, "default", no_progress)
    video, files, status = handler_result(results)
    assert video.endswith(".mp4") and any(f.endswith(".srt") for f in files)
    assert stream_durations(video)["audio"] > 0.8
    assert "256x256" in status
    with pytest.raises(StopIteration):  # Gradio resumes the handler once it has its copy
        next(results)
    assert not any(os.path.exists(f) for f in files)


def test_recording_gives_video(handlers, photo_path, grid_clip):
    results = handlers.speak_audio(str(photo_path), str(grid_clip.with_suffix(".flac")), "",
                                   "256", False, False, "energy", no_progress)
    video, files, status = handler_result(results)  # the files last as long as the handler is open
    assert files == [video]
    assert abs(stream_durations(video)["video"] - 3.0) < 0.05
    assert "energy" in status


@pytest.mark.parametrize("call, message", [
    (lambda h, p, a: h.speak_script(None, "Hello", 1, "256", True, True, "default", no_progress),
     "face photo"),
    (lambda h, p, a: h.speak_audio(p, None, "", "256", True, True, "default", no_progress), "speech"),
])
def test_missing_input_is_a_message_in_the_page(handlers, photo_path, grid_clip, call, message):
    """(Bad inputs themselves are tests/test_bad_input.py's matrix.)"""
    with pytest.raises(gr.Error, match=message):
        handler_result(call(handlers, str(photo_path), grid_clip.with_suffix(".flac")))


def test_limits_are_configurable_and_stated(monkeypatch):
    from studio.pipeline import Limits

    monkeypatch.setenv("STUDIO_MAX_SECONDS", "90")
    monkeypatch.setenv("STUDIO_MAX_CHARS", "500")
    monkeypatch.setenv("STUDIO_MAX_PIXELS", "12000000")
    monkeypatch.setenv("STUDIO_MAX_SIDE", "768")
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_MB", "50")
    limits = Limits.from_env()
    assert limits.describe() == ("Limits: speech up to 90 s, scripts up to 500 characters, "
                                 "photos up to 12 megapixels, video up to 768 px on the long side, "
                                 "files up to 50 MB.")
    assert limits.describe() in str(build_ui(StudioHandlers()).config)


def test_examples_are_bundled_photos():
    assert len(EXAMPLES) >= 2


def test_client_calls_the_named_api(handlers, photo_path):
    from gradio_client import Client, handle_file

    demo = build_ui(handlers)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(url, verbose=False)
        video, files, status = client.predict(handle_file(str(photo_path)), "Hi there.", 1.0, "256",
                                              False, True, "default", api_name="/speak_script")
        assert stream_durations(video["video"] if isinstance(video, dict) else video)["frames"] > 10
        assert "/lip_sync_audio" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    finally:
        demo.close()
