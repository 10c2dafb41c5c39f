"""Many users at once, cancels, closed tabs, big uploads and the cache, on a real server. The
scenarios and what counts as right are lab/served.py's; `python -m lab.bad_input` reports them."""
import pytest

from lab.served import (
    BRIEF,
    abandon,
    cache_lifetime,
    oversized_upload,
    serving,
    simultaneous_users,
)


@pytest.fixture
def server(studio, tmp_path):
    with serving(studio, tmp_path / "served") as served:
        yield served


@pytest.fixture
def brief_server(studio, tmp_path):
    """Results kept 3 s, uploads up to 1 MB."""
    with serving(studio, tmp_path / "served", **BRIEF) as served:
        yield served


def test_simultaneous_users_get_their_own_results(server, tmp_path, grid_clip):
    url, counting = server
    got = simultaneous_users(url, counting, tmp_path, grid_clip.with_suffix(".flac"))
    assert got["as_expected"], got["outcome"]


@pytest.mark.parametrize("how", ["cancel", "disconnect"])
def test_a_user_who_leaves_stops_the_render_and_leaves_nothing(server, how):
    url, counting = server
    got = abandon(url, how)
    assert got["as_expected"], got["outcome"]
    assert counting.running == 0


def test_results_leave_the_cache_on_schedule(brief_server, tmp_path):
    got = cache_lifetime(brief_server[0], tmp_path)
    assert got["as_expected"], got["outcome"]


def test_big_uploads_are_refused_before_any_work(brief_server, tmp_path):
    got = oversized_upload(*brief_server, tmp_path)
    assert got["as_expected"], got["outcome"]
