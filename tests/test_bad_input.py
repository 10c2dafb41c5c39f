"""Every input of the bad-input matrix (lab/bad_input.py) through the browser handlers and the
CLI: a video where one is right, else the case's own message (gr.Error; one line on stderr)."""
import os
import re
import subprocess
import sys

import gradio as gr
import pytest
from conftest import ROOT, handler_result

from lab.bad_input import CASES, SIZE, request
from studio.ui import StudioHandlers

ERRORS = [case for case in CASES if not case.renders]


@pytest.fixture(scope="module")
def handlers(studio):
    return StudioHandlers(studio)


def no_progress(fraction, desc=None):
    pass


def handle(handlers, asked):
    options = (str(SIZE), True, True, "default", no_progress)
    if asked["audio"] is not None:
        return handlers.speak_audio(asked["photo"], asked["audio"], asked["transcript"] or "", *options)
    return handlers.speak_script(asked["photo"], asked["text"], 1.0, *options)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_in_the_browser(handlers, shared_data, tmp_path, case):
    results = handle(handlers, request(case, tmp_path))
    if not case.renders:
        with pytest.raises(gr.Error, match=case.expect):
            handler_result(results)
        return
    video, files, status = handler_result(results)
    assert os.path.getsize(video) > 0 and re.search(case.expect, status), status
    results.close()  # as when Gradio has taken its copy: the working folder goes
    assert not any(os.path.exists(f) for f in files)


@pytest.mark.parametrize("case", ERRORS, ids=[case.name for case in ERRORS])
def test_on_the_command_line(shared_data, tmp_path, case):
    asked = request(case, tmp_path)
    source = ["--audio", asked["audio"]] if asked["audio"] is not None else ["--text", asked["text"]]
    out = tmp_path / "out.mp4"
    result = subprocess.run([sys.executable, "-m", "studio", "render", "--face", asked["photo"],
                             *source, "--out", str(out), "--size", str(SIZE)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert re.search(case.expect, lines[0]), lines[0]
    assert not out.exists()
