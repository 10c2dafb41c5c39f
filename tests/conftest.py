"""Shared fixtures: real inputs only (a bundled photo, real speech from ../shared/data)."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("STUDIO_SHARED_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the network


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def grid_clip(shared_data) -> Path:
    """One GRID utterance id path without suffix ('bin blue at f two now')."""
    return shared_data / "grid-s1" / "bbaf2n"


@pytest.fixture(scope="session")
def photo_path() -> Path:
    return ROOT / "assets" / "examples" / "astronaut.jpg"


@pytest.fixture(scope="session")
def studio():
    from studio.pipeline import Studio

    return Studio()


@pytest.fixture(scope="session")
def voice():
    """The bundled piper voice, loaded once for every test that speaks."""
    from studio.voice import Voice

    return Voice()


def handler_result(results):
    """A browser handler's one result, past the progress beats (gr.skip() for every output) it
    yields while rendering; a gr.Error raises here."""
    return next(outputs for outputs in results if not isinstance(outputs[0], dict))
