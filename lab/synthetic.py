"""Synthetic pairs: the bundled voice speaking GRID's transcripts, with the real clip's lips:
`python -m lab.synthetic [--voices joe en-us+f3 ...]`.

Per grid-train clip, piper's "joe" says the clip's words; its log-mel and the phones heard in it
are time-warped word by word onto the clip's own word timings (GRID's .align), so the real lips of
grid-s1's speaker line up with another voice saying the same words. A second voice for the same
lip motion: what the network learns from the pair cannot be grid-s1's voice. Other voices are
espeak-ng's (EspeakVoice). Cached in .cache/synthetic/ (joe) and .cache/synthetic-<voice>/, keyed
by the clip's files and SYNTHETIC_VERSION; never touches grid-val, grid-test or the other people.
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from lab import prepare
from lab.dataset import Clip, cache_path, split
from lab.measures import anchor_times, mapped_time, warp
from lab.prepare import ClipData
from studio.alignment import force_align
from studio.audio import FPS, HOP_LENGTH, SAMPLE_RATE, frame_count, log_mel, resample
from studio.errors import StudioError
from studio.phonemes import Segment
from studio.voice import SpeechTrack

SYNTHETIC_VERSION = "1"  # bump when the pairs are made differently
PAD_SECONDS = 1.0  # silence around the voice's audio, read where the clip is silent
STUDIO_VOICE = "joe"  # piper's bundled voice, the studio's own


def time_warp(voice_words: list[Segment], clip_words: list[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """Anchor times (clip, voice) in seconds from the words' timings, where both say the same
    words in the same order."""
    if [w.label.lower() for w in voice_words] != [w.label.lower() for w in clip_words]:
        raise ValueError("the voice and the clip say different words")
    return anchor_times(clip_words, voice_words)


def warped_features(clip: Clip, real: ClipData, voice) -> tuple[np.ndarray, np.ndarray]:
    """The voice saying `clip`'s words, warped onto its timeline: log-mel rows as `real.mel`'s and
    the phones heard, one per frame."""
    track = voice.synthesize(clip.transcript)
    anchors = time_warp(track.words, list(clip.words))
    pad = round(PAD_SECONDS * SAMPLE_RATE)
    samples = np.pad(resample(track.samples, track.sample_rate, SAMPLE_RATE), pad)
    n_voice_frames = frame_count(len(samples))
    voice_mel = log_mel(samples, n_voice_frames)
    n_frames = len(real.opening)
    mel_rate = SAMPLE_RATE / HOP_LENGTH
    mel_times = mapped_time((np.arange(len(real.mel)) + 0.5) / mel_rate, anchors) + PAD_SECONDS
    mel = warp(voice_mel, mel_times, mel_rate)
    heard = prepare.heard_phones(samples, n_voice_frames)[0].numpy()
    frame_times = mapped_time((np.arange(n_frames) + 0.5) / FPS, anchors) + PAD_SECONDS
    return mel.astype(np.float32), heard[np.clip((frame_times * FPS).astype(int), 0, n_voice_frames - 1)]


def _pair(real: ClipData, mel: np.ndarray, phones: np.ndarray) -> ClipData:
    """The pair's features with the real clip's lips. No samples: the warp exists only as
    features, and nothing measures these pairs."""
    return ClipData(f"synthetic/{real.name}", mel, phones, real.offsets, real.opening, real.photo_rest,
                    np.zeros(0, np.float32), real.lag)


def _pair_path(clip: Clip, voice: str) -> Path:
    version = f"{SYNTHETIC_VERSION}-{prepare.PREPARE_VERSION}"  # the lips' features are prepare's
    kind = "synthetic" if voice == STUDIO_VOICE else f"synthetic-{voice}"
    return cache_path(kind, clip, (clip.video, clip.audio), version, ".npz")


class EspeakVoice:
    """A voice of Debian's espeak-ng (`apt-get install espeak-ng`), a formant synthesiser: voices
    far from piper's and from GRID's speaker. Its words are timed by forced alignment."""

    def __init__(self, name: str):
        self.name = name

    def synthesize(self, text: str) -> SpeechTrack:
        with tempfile.NamedTemporaryFile(suffix=".wav") as file:
            subprocess.run(["espeak-ng", "-v", self.name, "-w", file.name, text], check=True)
            with wave.open(file.name) as audio:
                rate = audio.getframerate()
                pcm = np.frombuffer(audio.readframes(audio.getnframes()), np.int16)
        samples = pcm.astype(np.float32) / 32768
        try:
            words, phones = force_align(resample(samples, rate, SAMPLE_RATE), text)
        except StudioError as error:  # a pair is refused as any warp that does not fit
            raise ValueError(str(error)) from error
        return SpeechTrack(samples, rate, phones, words, [Segment(text, 0.0, len(samples) / rate)])


def make_voice(name: str):
    if name == STUDIO_VOICE:
        from studio.voice import Voice

        return Voice()
    if shutil.which("espeak-ng") is None:
        raise SystemExit(f"voice {name}: Debian's espeak-ng is not installed (apt-get install espeak-ng)")
    return EspeakVoice(name)


def load(voices: tuple[str, ...] = (STUDIO_VOICE,)) -> list[ClipData]:
    """The synthetic pair of every grid-train clip whose words each voice says as GRID wrote them
    (built and cached on first use)."""
    pairs = []
    reals = [(clip, prepare.clip_data(clip)) for clip in split("grid-train")]
    for name in voices:
        voice = None
        for clip, real in reals:
            path = _pair_path(clip, name)
            if not path.exists():
                if voice is None:
                    voice = make_voice(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".partial-{os.getpid()}.npz")
                try:
                    mel, phones = warped_features(clip, real, voice)
                    np.savez(partial, mel=mel, phones=phones)
                except ValueError:  # the words said otherwise: no pair, and that is remembered
                    np.savez(partial, skipped=True)
                partial.replace(path)
            with np.load(path) as f:
                if "skipped" not in f:
                    pairs.append(_pair(real, f["mel"], f["phones"]))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voices", nargs="+", default=[STUDIO_VOICE],
                        help=f"{STUDIO_VOICE} (piper's) or espeak-ng voice names")
    args = parser.parse_args()
    for voice in args.voices:
        started = time.time()
        pairs = load((voice,))
        print(f"synthetic, {voice}: {len(pairs)} pairs of {len(split('grid-train'))} grid-train clips, "
              f"{time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
