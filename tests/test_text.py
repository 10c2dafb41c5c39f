"""Script normalisation, checks and offline grapheme-to-phoneme."""
import pytest

from studio.errors import StudioError
from studio.phonemes import PHONES
from studio.text import check_script, normalize_text, split_words, spoken_words, words_to_phonemes


@pytest.mark.parametrize("written, said", [
    ("Dr. Smith paid $5.50 at 3:15pm on 2/3/2025",
     "Doctor Smith paid five dollars and fifty cents at three fifteen p m on February third, "
     "twenty twenty-five"),
    ("Meet me at 10:00.", "Meet me at ten o'clock."),
    ("It is 10:05 a.m. now.", "It is ten oh five a m now."),
    ("Born in 1999, back in 2025, gone in 2005.",
     "Born in nineteen ninety-nine, back in twenty twenty-five, gone in two thousand five."),
    ("Music of the 1990s.", "Music of the nineteen nineties."),
    ("She came 3rd, he came 21st.", "She came third, he came twenty-first."),
    ("Pi is 3.14 and 1,250 people came.",
     "Pi is three point one four and one thousand two hundred fifty people came."),
    ("Prices rose 12.5% vs. last year.", "Prices rose twelve point five percent versus last year."),
    ("I paid £3, €1.50 and $1.", "I paid three pounds, one euro and fifty cents and one dollar."),
    ("Mr. and Mrs. Brown met Ms. Green & Prof. White.",
     "Mister and Missus Brown met Miz Green and Professor White."),
    ("Fruit, e.g. apples, i.e. food, etc. Then more.",
     "Fruit, for example apples, that is food, et cetera. Then more."),
    ("Main St. is near St. Louis.", "Main Street is near Saint Louis."),
    ("  lots   of\n space  ,  here ", "lots of space, here"),
])
def test_normalize_text(written, said):
    assert normalize_text(written) == said
    assert normalize_text(said) == said  # idempotent: every stage may normalise again


def test_check_script_returns_the_normalised_script():
    assert check_script("  Hi, Dr. Who! 😀 ", max_chars=100) == "Hi, Doctor Who!"
    assert check_script("Hello 你好", max_chars=100) == "Hello"


@pytest.mark.parametrize("script, message", [
    ("", "The script is empty: type what the face should say."),
    (" \n\t ", "The script is empty: type what the face should say."),
    ("x" * 30, "The script has 30 characters; the limit is 20."),
    ("😀🎉", "only English text"),
    ("你好世界", "only English text"),
    ("?!...", "only English text"),
])
def test_check_script_errors(script, message):
    with pytest.raises(StudioError, match=message):
        check_script(script, max_chars=20)


def test_split_and_spoken_words():
    assert split_words('Well -- "yes," twenty-five!') == ["Well --", '"yes,"', "twenty-five!"]
    assert spoken_words("Twenty-five,") == ["twenty", "five"]
    assert spoken_words("Café's") == ["cafe's"]


def test_words_to_phonemes_offline():
    words = words_to_phonemes("Hello, world! 3 zorblatts.")
    assert [w for w, _ in words] == ["hello", "world", "three", "zorblatts"]
    assert dict(words)["hello"] == ["HH", "AH", "L", "OW"]  # CMUdict, stress stripped
    assert len(dict(words)["zorblatts"]) >= 6  # not in CMUdict: g2p-en's own model
    assert all(p in PHONES for _, phones in words for p in phones)
