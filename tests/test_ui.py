"""The browser studio's handlers, called directly and through a real server with gradio_client."""
import gradio as gr
import pytest

from studio.ui import EXAMPLES, StudioHandlers, build_ui
from studio.video import stream_durations


@pytest.fixture(scope="module")
def handlers(studio):
    return StudioHandlers(studio)


def no_progress(fraction, desc=None):
    pass


def test_script_gives_video_and_subtitles(handlers, photo_path):
    video, files, status = handlers.speak_script(str(photo_path), "Good morning, class.", 1.2,
                                                 "256", True, True, "default", no_progress)
    assert video.endswith(".mp4") and any(f.endswith(".srt") for f in files)
    assert stream_durations(video)["audio"] > 0.8
    assert "256x256" in status


def test_recording_gives_video(handlers, photo_path, grid_clip):
    video, files, status = handlers.speak_audio(str(photo_path), str(grid_clip.with_suffix(".flac")),
                                                "", "256", False, False, "energy", no_progress)
    assert files == [video]
    assert abs(stream_durations(video)["video"] - 3.0) < 0.05
    assert "energy" in status


@pytest.mark.parametrize("call, message", [
    (lambda h, p, a: h.speak_script(None, "Hello", 1, "256", True, True, "default", no_progress), "face photo"),
    (lambda h, p, a: h.speak_script(p, "", 1, "256", True, True, "default", no_progress), "empty"),
    (lambda h, p, a: h.speak_audio(p, None, "", "256", True, True, "default", no_progress), "speech"),
    (lambda h, p, a: h.speak_audio(str(a), str(a), "", "256", True, True, "default", no_progress), "not an image"),
])
def test_failures_are_messages_in_the_page(handlers, photo_path, grid_clip, call, message):
    with pytest.raises(gr.Error, match=message):
        call(handlers, str(photo_path), grid_clip.with_suffix(".flac"))


def test_several_faces_are_reported(handlers, tmp_path, photo_path):
    import cv2
    import numpy as np

    face = cv2.imread(str(photo_path))
    small = cv2.resize(face, None, fx=0.6, fy=0.6)
    group = np.full((512, 900, 3), 200, np.uint8)
    group[:, :512] = face
    group[100:100 + small.shape[0], 560:560 + small.shape[1]] = small
    path = tmp_path / "two.jpg"
    cv2.imwrite(str(path), group)
    _, _, status = handlers.speak_script(str(path), "Hello there.", 1, "512", False, False,
                                         "default", no_progress)
    assert "2 faces were found; the largest one is animated" in status


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
