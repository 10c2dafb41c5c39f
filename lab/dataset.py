"""The real recordings in ../shared/data, read in place: clips, the fixed splits of
../shared/docs/evaluation.md, and a landmark cache (an ignored folder, rebuilt when a clip changes).
"""
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.audio import SAMPLE_RATE, decode
from studio.hub import file_digest
from studio.phonemes import Segment

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("STUDIO_CACHE", ROOT / ".cache"))
GRID_TIME_UNIT = 25000  # .align times are in 1/25000 s
GRID_SILENCES = ("sil", "sp")
LANDMARK_CACHE_VERSION = "1"  # bump when the way landmarks are computed changes


def shared_data() -> Path:
    return Path(os.environ.get("STUDIO_SHARED_DATA", ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    audio: Path  # the GRID .flac, or the clip itself (its speech track)
    words: tuple[Segment, ...] = ()  # known word timings (GRID), else empty

    @property
    def transcript(self) -> str | None:
        return " ".join(w.label for w in self.words) or None


def grid_ids() -> list[str]:
    return sorted(p.stem for p in (shared_data() / "grid-s1").glob("*.mp4"))


def grid_clip(clip_id: str) -> Clip:
    folder = shared_data() / "grid-s1"
    words = []
    for line in (folder / f"{clip_id}.align").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 3 and parts[2] not in GRID_SILENCES:
            words.append(Segment(parts[2], int(parts[0]) / GRID_TIME_UNIT, int(parts[1]) / GRID_TIME_UNIT))
    return Clip(f"grid-s1/{clip_id}", folder / f"{clip_id}.mp4", folder / f"{clip_id}.flac", tuple(words))


def split(name: str) -> list[Clip]:
    """'grid-test' (every 10th sorted id: never train or tune on it), 'grid-val' (ids at
    position 5 mod 10), 'grid-train' (the rest), 'dev-clips', 'extra-speakers'."""
    if name.startswith("grid-"):
        position = {"grid-test": lambda i: i % 10 == 0, "grid-val": lambda i: i % 10 == 5,
                    "grid-train": lambda i: i % 10 not in (0, 5)}[name]
        return [grid_clip(c) for i, c in enumerate(grid_ids()) if position(i)]
    folder = shared_data() / name
    if name not in ("dev-clips", "extra-speakers") or not folder.is_dir():
        raise ValueError(f"unknown split {name}")
    return [Clip(f"{name}/{p.stem}", p, p) for p in sorted(folder.glob("*.mp4"))]


def clip_audio(clip: Clip) -> np.ndarray:
    return decode(str(clip.audio), SAMPLE_RATE)


def cache_path(kind: str, clip: Clip, sources: tuple[Path, ...], version: str, suffix: str) -> Path:
    """Where a result computed from `sources` by code at `version` is cached."""
    key = hashlib.sha1(":".join([file_digest(p) for p in sources] + [version]).encode()).hexdigest()[:12]
    return CACHE / kind / f"{clip.name.replace('/', '__')}-{key}{suffix}"


def clip_landmarks(clip: Clip) -> np.ndarray:
    """(T, 478, 2) FaceMesh landmarks of every frame on the 25 fps timeline, in pixels; NaN where
    no face was found. Cached."""
    path = cache_path("landmarks", clip, (clip.video,), LANDMARK_CACHE_VERSION, ".npy")
    if path.exists():
        return np.load(path)
    landmarks = video_landmarks(clip.video)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, landmarks)
    return landmarks


def video_landmarks(video: Path) -> np.ndarray:
    """(T, 478, 2) FaceMesh landmarks of a video's frames on the 25 fps timeline; NaN without a face."""
    from studio.face import FaceTracker
    from studio.video import read_frames

    rows = []
    with FaceTracker() as tracker:
        for frame in read_frames(str(video)):
            points = tracker(frame)
            rows.append(np.full((478, 2), np.nan, np.float32) if points is None else points)
    return np.stack(rows).astype(np.float32)


@lru_cache(maxsize=4)
def first_frame(video: Path) -> np.ndarray:
    from studio.video import read_frames

    return next(iter(read_frames(str(video))))
