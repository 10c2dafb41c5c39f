"""TAEM's text-side data for grid-s1: `python -m lab.taem_data`.

Per clip: the phones of its transcript (the .align words) timed by pocketsphinx forced alignment of
the real audio, and the speaker embedding of its first frame with a face. Cached in .cache/taem/,
keyed by the source file and TAEM_DATA_VERSIONS, so an interrupted run resumes. Covers grid-test
too: the evaluation needs its phone timings (never used for training).
"""
import argparse
import json
import time
from itertools import islice
from pathlib import Path

import numpy as np

from lab.dataset import Clip, cache_path, clip_audio, clip_landmarks, split
from studio.networks.speaker import SpeakerEncoder
from studio.phonemes import Segment

# Bump a kind's version when the way it is computed changes (phones 2: every decode starts afresh).
TAEM_DATA_VERSIONS = {"phones": "2", "speaker": "1"}
SPLITS = ("grid-train", "grid-val", "grid-test")


def _cache_path(kind: str, clip: Clip, source: Path, suffix: str) -> Path:
    return cache_path(f"taem/{kind}", clip, (source,), TAEM_DATA_VERSIONS[kind], suffix)


def clip_phones(clip: Clip) -> list[Segment]:
    """The transcript's phones, timed in the real audio by forced alignment (cached)."""
    path = _cache_path("phones", clip, clip.audio, ".json")
    if path.exists():
        return [Segment(*row) for row in json.loads(path.read_text())]
    from studio.alignment import force_align

    _, phones = force_align(clip_audio(clip), clip.transcript)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([(p.label, p.start, p.end) for p in phones]))
    return phones


def clip_speaker(clip: Clip, encoder: SpeakerEncoder) -> np.ndarray:
    """Speaker embedding of the clip's first frame with a face: the photo the evaluation animates."""
    path = _cache_path("speaker", clip, clip.video, ".npy")
    if path.exists():
        return np.load(path)
    from studio.video import read_frames

    landmarks = clip_landmarks(clip)
    first = int(np.argmax(np.isfinite(landmarks[:, 0, 0])))
    frame = next(islice(read_frames(str(clip.video)), first, None))
    embedding = encoder(frame, landmarks[first])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, embedding)
    return embedding


def load(split_name: str, encoder: SpeakerEncoder | None = None
         ) -> dict[str, tuple[list[Segment], np.ndarray]]:
    """Clip name -> (timed phones, speaker embedding) for a grid split."""
    encoder = encoder or SpeakerEncoder()
    return {clip.name: (clip_phones(clip), clip_speaker(clip, encoder)) for clip in split(split_name)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="*", default=list(SPLITS))
    args = parser.parse_args()
    encoder = SpeakerEncoder()
    for name in args.splits:
        started = time.time()
        data = load(name, encoder)
        speakers = np.stack([s for _, s in data.values()])
        spread = np.linalg.norm(speakers - speakers.mean(axis=0), axis=1)
        print(f"{name}: {len(data)} clips, {sum(len(p) for p, _ in data.values())} phones, "
              f"speaker embedding distance to its mean {spread.mean():.3f} (max {spread.max():.3f}), "
              f"{time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
