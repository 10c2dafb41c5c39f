"""Model files resolve offline: shipped first, a configured Hub repo only when not shipped."""
import pytest

from studio.errors import StudioError
from studio.hub import MODELS, model_file


def test_missing_file_without_repo_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("STUDIO_HUB_REPO", raising=False)
    with pytest.raises(StudioError, match="missing"):
        model_file("no-such-model.pt")


def test_configured_repo_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("STUDIO_HUB_REPO", "talking-face-studio/models")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(StudioError, match="Could not get no-such-model.pt"):
        model_file("no-such-model.pt")


def test_shipped_files_win(tmp_path, monkeypatch):
    shipped = sorted(MODELS.glob("*.pt"))
    if not shipped:
        pytest.skip("no shipped checkpoint yet")
    monkeypatch.setenv("STUDIO_HUB_REPO", "talking-face-studio/models")
    assert model_file(shipped[0].name) == shipped[0]
