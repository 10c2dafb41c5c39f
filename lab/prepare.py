"""Training data for the audio-to-lips models: `python -m lab.prepare`.

Per clip: FaceMesh landmarks on the 25 fps timeline (lab.dataset's cache), turned into lip and
jaw offsets in the face frame relative to the clip's own closed mouth, and the log-mel features of
its speech on the same frame-exact timeline, with the phones a recogniser hears in it. Each clip's
result is cached in .cache/features/, keyed by the landmark cache, the audio file and
PREPARE_VERSION, so an interrupted run resumes and a changed input is rebuilt. Never touches
grid-test or dev-clips.
"""
import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lab.dataset import Clip, cache_path, clip_audio, clip_landmarks, split
from studio.audio import frame_loudness_db, log_mel
from studio.geometry import (
    LIP_LOWER_INNER_MID,
    LIP_UPPER_INNER_MID,
    MOUTH_INDEX,
    FaceFrame,
    mouth_opening,
    mouths_in_face_frames,
    rest_mouth,
)
from studio.networks.features import phone_indices
from studio.speech import find_phones

PREPARE_VERSION = "6"  # bump when targets or features change (6: phones heard afresh in every clip)
REST_PERCENTILE = 10  # frames this closed (or more) define the clip's rest mouth
MAX_LAG = 6  # frames searched when measuring a clip's audio-video offset
# Clips whose manifest notes a recording offset of 4-5 frames: their lip targets are shifted by
# the measured lag. Elsewhere loudness is too weak a cue to tell an offset from co-articulation.
KNOWN_OFFSET = ("extra-speakers/Talking-Face_PC-AVS_00473", "extra-speakers/Talking-Face_PC-AVS_517600055",
                "extra-speakers/LivePortrait_d10", "extra-speakers/styletalk_Obama_clip1",
                "extra-speakers/styletalk_Obama_clip3")
# Whole people set apart as a validation split (different voices, rooms and cameras; none has a
# known audio-video offset) for quick looks. The shipped models train on them too (lab.train);
# lab.crossval measures a recipe on people it never saw.
HELD_OUT_SPEAKERS = (
    "extra-speakers/Talking-Face_PC-AVS_00104",  # Robert Downey Jr, interview
    "extra-speakers/Talking-Face_PC-AVS_741400163",  # the same person, other footage
    "extra-speakers/styletalk_KristiNoem",  # press footage
    "extra-speakers/LivePortrait_d12",  # man with glasses, indoor
    "extra-speakers/lip-reading-deeplearning_sample_video",  # archival, older man
    "extra-speakers/Talking-Face_PC-AVS_620900105",  # VoxCeleb2 interview
)
# Clips that show the same person as another clip: a person is on one side of a split only.
SAME_PERSON = {"extra-speakers/Talking-Face_PC-AVS_741400163": "extra-speakers/Talking-Face_PC-AVS_00104",
               "extra-speakers/styletalk_Obama_clip2": "extra-speakers/styletalk_Obama_clip1",
               "extra-speakers/styletalk_Obama_clip3": "extra-speakers/styletalk_Obama_clip1",
               "extra-speakers/styletalk_feifeili_clip2_short": "extra-speakers/styletalk_feifeili_clip1"}
SPLITS = ("extra-train", "extra-val", "grid-val", "grid-train")  # small first: usable early


def heard_phones(samples: np.ndarray, n_frames: int) -> torch.Tensor:
    """16 kHz speech -> (1, n_frames) index of the phone pocketsphinx's multi-speaker acoustic model
    hears at each frame: phonetic evidence that does not depend on whose voice it is."""
    return phone_indices(find_phones(samples, lambda fraction: None), n_frames)


@dataclass
class ClipData:
    name: str
    mel: np.ndarray  # (T * MELS_PER_FRAME, N_MELS) log-mel, raw level
    phones: np.ndarray  # (T,) heard phone indices (heard_phones)
    offsets: np.ndarray  # (T, len(MOUTH_POINTS), 2) mouth minus the clip's rest mouth; NaN: no face
    opening: np.ndarray  # (T,) real inner-lip gap over IOD (the evaluation's `open`); NaN: no face
    photo_rest: np.ndarray  # (K, 2) rest mouth of the first face frame: what the studio animates
    samples: np.ndarray  # 16 kHz speech, for drivers in the self-check
    lag: int  # frames the offsets were shifted to undo a recording offset


def clips(name: str) -> list[Clip]:
    if name.startswith("extra-"):
        held = name == "extra-val"
        return [c for c in split("extra-speakers") if (c.name in HELD_OUT_SPEAKERS) == held]
    if name not in ("grid-train", "grid-val"):
        raise ValueError(f"{name} is not a training or validation split")
    return split(name)


def person(clip_name: str) -> str:
    """The clip that stands for everyone's recordings of this clip's person."""
    return SAME_PERSON.get(clip_name, clip_name)


def clip_rest_mouth(landmarks: np.ndarray) -> np.ndarray:
    """The clip's closed mouth: the median face-frame shape of its most closed frames, with any gap
    left closed the way the studio closes a photo's mouth (studio.geometry.rest_mouth)."""
    faces = np.stack([FaceFrame.of(face_points).to_face(face_points) for face_points in landmarks])
    opening = mouth_opening(faces)
    closed = faces[opening <= np.percentile(opening, REST_PERCENTILE)]
    return rest_mouth(np.median(closed, axis=0))


def audio_video_lag(opening: np.ndarray, loudness: np.ndarray) -> int:
    """Lag (frames) at which mouth opening best follows loudness; positive: video late."""
    valid = ~np.isnan(opening)
    best, best_r = 0, -np.inf
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        a = opening[max(lag, 0):len(opening) + min(lag, 0)]
        b = loudness[max(-lag, 0):len(loudness) + min(-lag, 0)]
        ok = valid[max(lag, 0):len(opening) + min(lag, 0)]
        r = np.corrcoef(a[ok], b[ok])[0, 1]
        if r > best_r:
            best, best_r = lag, r
    return best


def shift(series: np.ndarray, lag: int) -> np.ndarray:
    """series[t + lag] at t, NaN beyond the ends."""
    out = np.full_like(series, np.nan)
    if lag >= 0:
        out[:len(series) - lag] = series[lag:]
    else:
        out[-lag:] = series[:lag]
    return out


def landmark_offsets(landmarks: np.ndarray) -> np.ndarray:
    """(T, 478, 2) landmarks of a video, real or generated -> (T, K, 2) lip offsets from its own
    closed mouth, NaN where no face: what the drivers predict and SyncNet reads."""
    rest = clip_rest_mouth(landmarks[~np.isnan(landmarks).any(axis=(1, 2))])
    return (mouths_in_face_frames(landmarks) - rest).astype(np.float32)


def build(clip: Clip) -> ClipData:
    landmarks = clip_landmarks(clip)
    samples = clip_audio(clip)
    n_frames = len(landmarks)
    face = ~np.isnan(landmarks).any(axis=(1, 2))
    offsets = landmark_offsets(landmarks)
    opening = np.full(n_frames, np.nan, np.float32)
    opening[face] = mouth_opening(landmarks[face])
    lag = 0
    if clip.name in KNOWN_OFFSET:
        lag = audio_video_lag(opening, frame_loudness_db(samples, n_frames))
        offsets, opening = shift(offsets, lag), shift(opening, lag)
    return ClipData(clip.name, log_mel(samples, n_frames), heard_phones(samples, n_frames)[0].numpy(),
                    offsets, opening,
                    rest_mouth(landmarks[np.argmax(face)]), samples, lag)


def _feature_path(clip: Clip) -> Path:
    return cache_path("features", clip, (clip.video, clip.audio), PREPARE_VERSION, ".npz")


def clip_data(clip: Clip) -> ClipData:
    path = _feature_path(clip)
    if path.exists():
        with np.load(path) as f:
            return ClipData(clip.name, f["mel"], f["phones"], f["offsets"], f["opening"], f["photo_rest"],
                            f["samples"], int(f["lag"]))
    data = build(clip)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}.npz")  # two commands may build the same clip
    np.savez(partial, mel=data.mel, phones=data.phones, offsets=data.offsets, opening=data.opening,
             photo_rest=data.photo_rest, samples=data.samples, lag=data.lag)
    partial.replace(path)
    return data


def load(name: str) -> list[ClipData]:
    return [clip_data(c) for c in clips(name)]


def build_missing(names: tuple[str, ...] = SPLITS) -> None:
    """Build every clip of these splits not yet cached, here and once, so that trainings running
    in parallel only read the cache instead of each building the same clips."""
    for name in names:
        for clip in clips(name):
            if not _feature_path(clip).exists():
                clip_data(clip)


def gap_of(mouth: np.ndarray) -> np.ndarray:
    """Inner-lip gap of (..., K, 2) mouths in the face frame: the evaluation's `open`."""
    return np.linalg.norm(mouth[..., MOUTH_INDEX[LIP_LOWER_INNER_MID], :]
                          - mouth[..., MOUTH_INDEX[LIP_UPPER_INNER_MID], :], axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="*", default=list(SPLITS))
    args = parser.parse_args()
    for name in args.splits:
        started = time.time()
        data = load(name)
        frames = sum(len(d.opening) for d in data)
        shifted = {d.name: d.lag for d in data if d.lag}
        print(f"{name}: {len(data)} clips, {frames} frames, {time.time() - started:.0f} s"
              + (f"; shifted by recording offset: {shifted}" if shifted else ""), flush=True)


if __name__ == "__main__":
    main()
