"""The phone helper: a second process recognising pieces of long speech, the real pocketsphinx in
both, whose phones are the phones this process would hear; busy or gone, this process does it."""
import pytest

from studio import phone_helper
from studio.alignment import recognize_phones
from studio.audio import decode


@pytest.fixture(scope="module")
def pieces(shared_data):
    return [decode(str(shared_data / "grid-s1" / f"{clip}.flac")) for clip in ("bbaf2n", "lgaz8p", "pbav2n")]


def test_the_helper_hears_what_this_process_hears(pieces):
    with phone_helper.Helped(pieces) as helped:
        assert phone_helper._process is not None and phone_helper._process.poll() is None
        heard = helped.phones()
    assert heard == [recognize_phones(piece) for piece in pieces]
    assert phone_helper._lock.acquire(blocking=False)  # released for the next request
    phone_helper._lock.release()


def test_a_helper_that_died_is_replaced_and_one_dying_mid_request_is_done_without(pieces):
    expected = [recognize_phones(piece) for piece in pieces]
    with phone_helper.Helped(pieces[:1]) as helped:
        helped.phones()
    phone_helper._process.kill()
    phone_helper._process.wait()
    with phone_helper.Helped(pieces) as helped:  # a new helper
        assert phone_helper._process.poll() is None
        phone_helper._process.kill()
        assert helped.phones() == expected
    assert phone_helper._process is None


def test_a_busy_helper_leaves_the_work_here(pieces):
    with phone_helper.Helped(pieces[:1]) as first:
        with phone_helper.Helped(pieces[1:]) as second:
            assert not second._sent
            assert second.phones() == [recognize_phones(piece) for piece in pieces[1:]]
        assert first.phones() == [recognize_phones(pieces[0])]


def test_a_request_that_fails_before_its_answer_stops_the_helper(pieces):
    with pytest.raises(RuntimeError), phone_helper.Helped(pieces[:1]):
        raise RuntimeError("the request failed")
    assert phone_helper._process is None
    with phone_helper.Helped(pieces[:1]) as helped:  # the next request starts a new one
        assert helped.phones() == [recognize_phones(pieces[0])]
