"""TAEM's measurements, written to reports/taem.md and reports/taem.json:
`python -m lab.evaluate_taem [--limit N]`.

Motion level on grid-s1 test: each driver's lip offsets are put on the photo (the clip's first frame
with a face: its landmarks, its closed mouth) and the studio's own measures (lab.measures) compare
the result with the real clip's landmarks. The renderer and the face detector are left out here;
`python -m lab.evaluate --drivers memory,viseme,taem` judges them too.

  aligned timing    phones timed by forced alignment of the real audio (the text path's best case)
  cascade           piper speaks the transcript, `memory` lips from that audio, time-warped onto
                    the real clip through the forced-alignment phone (or word) times of both
  predicted timing  TAEM's own durations, no audio at all; compared after DTW on lip shape, beside
                    the aligned-timing drivers after the same DTW (what DTW alone adds)
  studio scripts    piper voice -> `taem` on the voice's phone timing vs `memory` on that voice;
                    every bilabial (P, B, M) of the voice's timing should close the lips
"""
import argparse
import sys
import time
from datetime import UTC, datetime

import numpy as np

from lab.dataset import ROOT, Clip, clip_audio, clip_landmarks, split
from lab.measures import anchor_times, lip_gap, mapped_time, phone_frames, sync_measures, warp
from lab.reports import write_report
from lab.taem_data import clip_phones, clip_speaker
from studio.audio import FPS, SAMPLE_RATE, frame_count
from studio.drivers.memory import MemoryDriver
from studio.drivers.rules import VisemeDriver
from studio.drivers.taem import TaemNoSpeakerDriver, predicted_phones, text_lip_offsets
from studio.geometry import (
    MOUTH_POINTS,
    FaceFrame,
    mouths_in_face_frames,
    rest_mouth,
)
from studio.networks.speaker import SpeakerEncoder
from studio.phonemes import BILABIALS, SILENCE, Segment
from studio.speech import Speech, speech_from_tracks

REPORT = ROOT / "reports" / "taem"
MEASURES = ("open_corr", "best_lag", "lmd", "amplitude")
CLOSED_SHARE = 0.25  # lips count as closed below this share of the utterance's 95th-percentile gap
EXAMPLE_PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"
# Studio scripts beyond GRID's vocabulary, rich in bilabials.
SCRIPTS = ("Maybe my mother bought a bigger boat.", "Please pass the map before the meeting.",
           "People build bridges over rivers and bays.", "My brother paints pictures of palm trees.",
           "Bob will meet them at the museum by the bank.", "A bump in the road spilled my coffee.")


def photo_face(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks of the clip's first frame with a face: the photo the studio animates."""
    return landmarks[int(np.argmax(np.isfinite(landmarks[:, 0, 0])))]


def placed(photo: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(T, 478, 2) landmarks: the photo's, with its closed mouth moved by the offsets."""
    out = np.repeat(photo[None], len(offsets), axis=0)
    out[:, list(MOUTH_POINTS)] = FaceFrame.of(photo).to_image(rest_mouth(photo) + offsets)
    return out


def time_map(real: list[Segment], other: list[Segment], real_words, other_words
             ) -> tuple[tuple[np.ndarray, np.ndarray], str]:
    """Matching (real, other) anchor times (lab.measures.anchor_times), at phone level when the
    two alignments have the same phones, else at word level; a pause of the real speaker's that
    the other timing lacks maps onto the instant between its two segments."""
    spoken = lambda phones: [p for p in phones if p.label != SILENCE]
    a, b = spoken(real), spoken(other)
    level = "phones" if [p.label for p in a] == [p.label for p in b] else "words"
    if level == "words":
        a, b = real_words, other_words
    return anchor_times(a, b, b_may_pause=True), level


def dtw_warp(real_mouth: np.ndarray, offsets: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Offsets warped onto the real clip's frames by DTW on mean-removed mouth shape."""
    a = real_mouth - np.nanmean(real_mouth, axis=0)
    a = np.where(np.isnan(a), 0, a).reshape(len(a), -1)
    b = (rest + offsets) - (rest + offsets).mean(axis=0)
    b = b.reshape(len(b), -1)
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    total = np.full((len(a) + 1, len(b) + 1), np.inf)
    total[0, 0] = 0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            total[i, j] = cost[i - 1, j - 1] + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
    matched = [[] for _ in a]
    i, j = len(a), len(b)
    while i > 0 and j > 0:
        matched[i - 1].append(j - 1)
        step = np.argmin([total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]])
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return np.stack([offsets[m].mean(axis=0) for m in matched])


def evaluate_clip(clip: Clip, voice, encoder: SpeakerEncoder, other_speaker: np.ndarray) -> dict:
    from studio.alignment import force_align

    landmarks, samples = clip_landmarks(clip), clip_audio(clip)
    n = min(len(landmarks), frame_count(len(samples)))
    landmarks = landmarks[:n]
    photo = photo_face(landmarks)
    rest = rest_mouth(photo)
    phones, speaker = clip_phones(clip), clip_speaker(clip, encoder)
    speech = Speech(samples, samples, SAMPLE_RATE, phones)
    motions = {
        "memory": MemoryDriver().lip_offsets(speech, rest),
        "viseme": VisemeDriver().lip_offsets(speech, rest),
        "taem": text_lip_offsets(phones, speech.n_frames, speaker),
        "taem-no-speaker": text_lip_offsets(phones, speech.n_frames, None, TaemNoSpeakerDriver.checkpoint),
        "taem, another face's embedding": text_lip_offsets(phones, speech.n_frames, other_speaker),
    }
    # The cascade: TTS audio -> memory, time-warped; and TAEM on the same TTS timing and warp.
    tts = speech_from_tracks([voice.synthesize(clip.transcript)], 0.0)
    tts_words, tts_aligned = force_align(tts.samples, clip.transcript)
    real_words, _ = force_align(samples, clip.transcript)
    anchors, level = time_map(phones, tts_aligned, real_words, tts_words)
    source_times = mapped_time((np.arange(n) + 0.5) / FPS, anchors)
    motions["cascade: TTS -> memory, warped"] = warp(MemoryDriver().lip_offsets(tts, rest), source_times)
    motions["taem on TTS timing, warped"] = warp(text_lip_offsets(tts.phones, tts.n_frames, speaker),
                                                 source_times)
    rows = {name: sync_measures(landmarks, placed(photo, offsets[:n])) for name, offsets in motions.items()}
    # Without audio: TAEM's own durations, then DTW; the aligned drivers after the same DTW.
    real_mouth = mouths_in_face_frames(landmarks)
    timed = predicted_phones(clip.transcript, speaker)
    free = text_lip_offsets(timed, frame_count(int(timed[-1].end * SAMPLE_RATE)), speaker)
    for name, offsets in (("taem, predicted timing, DTW", free),
                          ("taem, aligned timing, DTW", motions["taem"][:n]),
                          ("memory, DTW", motions["memory"][:n])):
        rows[name] = sync_measures(landmarks, placed(photo, dtw_warp(real_mouth, offsets, rest)))
    return {"rows": rows, "warp_level": level,
            "speech_seconds": (spoken_seconds(phones), spoken_seconds(timed))}


def spoken_seconds(phones: list[Segment]) -> float:
    """From the first spoken phone's start to the last one's end."""
    spoken = [p for p in phones if p.label != SILENCE]
    return spoken[-1].end - spoken[0].start


def bilabial_closures(phones: list[Segment], gap: np.ndarray) -> list[bool]:
    """For each bilabial phone: do the lips close (gap under CLOSED_SHARE of the utterance's
    95th-percentile gap) in some frame it overlaps?"""
    threshold = CLOSED_SHARE * np.nanpercentile(gap, 95)
    closed = []
    for p in phones:
        if p.label in BILABIALS:
            closed.append(bool(np.nanmin(gap[phone_frames(p, len(gap))]) <= threshold))
    return closed


def studio_scripts(scripts: list[str], voice, photo_landmarks: np.ndarray, speaker: np.ndarray) -> dict:
    """The voice speaks each script; taem on the voice's phone timing against memory on the voice."""
    from lab.measures import lagged_correlation

    rest = rest_mouth(photo_landmarks)
    correlations, closures = [], {"taem": [], "memory": []}
    for script in scripts:
        speech = speech_from_tracks([voice.synthesize(script)], 0.0)
        gaps = {"taem": lip_gap(rest + text_lip_offsets(speech.phones, speech.n_frames, speaker)),
                "memory": lip_gap(rest + MemoryDriver().lip_offsets(speech, rest))}
        correlations.append(lagged_correlation(gaps["memory"], gaps["taem"], 0))
        for name, gap in gaps.items():
            closures[name] += bilabial_closures(speech.phones, gap)
    return {"scripts": len(scripts), "open_corr_taem_vs_memory": float(np.mean(correlations)),
            "bilabials": len(closures["taem"]),
            **{f"closed_{name}": float(np.mean(c)) for name, c in closures.items()}}


def real_bilabials(clips: list[Clip]) -> float:
    """The same closure test on the real lips of GRID clips at their aligned bilabials (calibration)."""
    closed = []
    for clip in clips:
        closed += bilabial_closures(clip_phones(clip), lip_gap(mouths_in_face_frames(clip_landmarks(clip))))
    return float(np.mean(closed))


def speaker_spread(grid: list[np.ndarray], example: np.ndarray) -> dict[str, float]:
    mean = np.mean(grid, axis=0)
    return {"grid_spread": float(np.mean([np.linalg.norm(g - mean) for g in grid])),
            "example_distance": float(np.linalg.norm(example - mean))}


def training_notes() -> dict[str, dict]:
    """What each shipped TAEM checkpoint says of its training."""
    import torch

    from lab.train_taem import CHECKPOINTS

    notes = {}
    for run, path in CHECKPOINTS.items():
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        notes[run] = {**checkpoint["notes"], "audio_model": f"{checkpoint['audio_model']['file']} "
                      f"({checkpoint['audio_model']['digest']})"}
    return notes


def mean_rows(per_clip: list[dict]) -> dict[str, dict[str, float]]:
    names = per_clip[0]["rows"].keys()
    return {name: {m: float(np.nanmean([c["rows"][name][m] for c in per_clip])) for m in MEASURES}
            for name in names}


def markdown(report: dict) -> str:
    s = report["scripts"]
    lines = ["# TAEM: text-driven lips through the frozen audio-lip model", "",
             f"Generated by `{report['command']}` on {report['date']} ({report['seconds']:.0f} s); "
             "training: `python -m lab.taem_data && python -m lab.train_taem`.", "",
             f"## grid-s1 test ({report['clips']} clips), motion level", "",
             "Lip offsets placed on the photo's landmarks (first frame with a face) and measured with "
             "lab.measures against the real clip (renderer and detector left out). open_corr at lag 0, "
             "LMD x1000 (lower is better), amplitude 1.0 is right. Through the studio (renderer and "
             "FaceMesh on the rendered frames; the unbound `taem` uses the training speakers' mean "
             "embedding): reports/taem-studio.md, from `python -m lab.evaluate --splits grid-test "
             "--drivers memory,viseme,taem --out reports/taem-studio`.", "",
             "| driver | " + " | ".join(MEASURES) + " |", "|---|" + "---|" * len(MEASURES)]
    for name, row in report["grid_test"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[m]:.3f}" if m != "lmd" else f"{row[m]:.2f}"
                                                  for m in MEASURES) + " |")
    levels = report["warp_levels"]
    lines += ["", f"Cascade time warp anchored on phones in {levels['phones']} clips, on words in "
              f"{levels['words']}. Predicted speech duration {report['predicted_seconds']:.2f} s vs "
              f"{report['real_seconds']:.2f} s real (mean, first to last spoken phone).", "",
              f"## Studio scripts ({s['scripts']} scripts, piper voice, the example photo)", "",
              f"- open_corr of `taem` (voice's phone timing) against `memory` on the same voice: "
              f"{s['open_corr_taem_vs_memory']:.3f}",
              f"- lips closed on bilabials (P, B, M; {s['bilabials']} in the voice's timing): "
              f"taem {s['closed_taem']:.1%}, memory {s['closed_memory']:.1%}; the real GRID lips "
              f"pass the same test on {report['real_bilabials_closed']:.1%} of their aligned bilabials "
              f"(closed: gap under {CLOSED_SHARE:.0%} of the utterance's 95th-percentile gap).", "",
              "## Speaker embedding", "",
              f"dlib descriptors of the test clips' photos lie {report['speaker']['grid_spread']:.3f} "
              "(mean L2) from their mean; the example photo's lies "
              f"{report['speaker']['example_distance']:.3f} from it (dlib's "
              "same-person threshold is 0.6). grid-s1 is one speaker, so the embedding varies only with pose "
              "and light: TAEM can learn no speaker trait from it, only to ignore it or to treat it as "
              "noise. The ablation rows above (`taem-no-speaker`, and `taem` fed another face's embedding) "
              "show what it "
              "does to the lips.", "", "## Training", ""]
    for run, notes in report["training"].items():
        final = notes["final"]
        lines.append(f"- `{run}`: {notes['training']['steps']} steps, {notes['seconds']} s; "
                     "grid-val open_corr "
                     f"{final['grid_val_open_corr']:.3f} (aligned timing, motion only), latent MSE "
                     f"{final['grid_val_latent']:.3f} (per-dimension std units); curves "
                     f"reports/training/{run}.csv and .png; trained against {notes['audio_model']}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import torch

    from studio.face import FaceMesh
    from studio.pipeline import load_photo
    from studio.voice import make_voice

    parser = argparse.ArgumentParser(prog="python -m lab.evaluate_taem",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N grid-test clips (and scripts)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.time()
    voice, encoder = make_voice(), SpeakerEncoder()
    example = load_photo(str(EXAMPLE_PHOTO))
    example_landmarks = FaceMesh().locate(example).landmarks
    example_speaker = encoder(example, example_landmarks)
    clips = split("grid-test")[:args.limit]
    per_clip = []
    for i, clip in enumerate(clips, 1):
        per_clip.append(evaluate_clip(clip, voice, encoder, example_speaker))
        print(f"[{i}/{len(clips)}] {clip.name} " + " ".join(
            f"{k.split(',')[0]}={v['open_corr']:.2f}" for k, v in list(per_clip[-1]["rows"].items())[:4]),
            flush=True)
    scripts = [c.transcript for c in clips] + list(SCRIPTS)
    arguments = argv if argv is not None else sys.argv[1:]
    report = {"command": ("python -m lab.evaluate_taem " + " ".join(arguments)).strip(),
              "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "clips": len(clips),
              "grid_test": mean_rows(per_clip),
              "warp_levels": {lv: sum(c["warp_level"] == lv for c in per_clip) for lv in ("phones", "words")},
              "real_seconds": float(np.mean([c["speech_seconds"][0] for c in per_clip])),
              "predicted_seconds": float(np.mean([c["speech_seconds"][1] for c in per_clip])),
              "scripts": studio_scripts(scripts, voice, example_landmarks, example_speaker),
              "real_bilabials_closed": real_bilabials(clips),
              "speaker": speaker_spread([clip_speaker(c, encoder) for c in clips], example_speaker),
              "training": training_notes()}
    report["seconds"] = time.time() - started
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    write_report(REPORT, report, markdown)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
