"""Evaluation per ../shared/docs/evaluation.md: a real clip's frame 0 is the photo, the clip's own
audio drives it, and the rendered frames are compared with the real ones.

    python -m lab.evaluate                      # all drivers, grid-test and dev-clips
    python -m lab.evaluate --splits dev-clips --drivers viseme,energy --limit 2

Writes reports/evaluation.md and reports/evaluation.json. The head is kept still and blinks off
so runs are comparable; frames are measured as rendered, before video encoding.
"""
import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from lab.dataset import ROOT, Clip, clip_audio, clip_landmarks, split
from lab.measures import aligned_mouths, mouth_box, paired_difference, psnr, ssim, sync_measures
from lab.reports import write_report
from studio.audio import SAMPLE_RATE, frame_count, frame_loudness_db
from studio.drivers import ABLATION_DRIVERS, DEFAULT_SPEECH_DRIVER, DRIVERS, make_driver
from studio.errors import StudioError
from studio.face import FaceMesh, FaceTracker
from studio.geometry import FaceFrame, mouths_in_face_frames
from studio.hub import MODELS
from studio.render import FACE_OVAL, INTERIORS, FramePose, PhotoRenderer
from studio.speech import Speech, time_phones
from studio.video import read_frames

REPORTS = ROOT / "reports"
COLUMNS = ("open_corr", "best_lag", "lmd", "amplitude", "detect", "mouth_psnr", "mouth_ssim",
           "aligned_psnr", "aligned_ssim", "outside_psnr", "outside_diff", "silence_flicker",
           "sync_offset", "sync_distance", "sync_confidence")
SYNCNET = "syncnet.pt"  # the studio's SyncNet (studio/networks/syncnet.py), the LSE-style sync evaluator
PAIRED = ("open_corr", "lmd")  # the default driver against each other one, clip by clip
PER_CLIP_UP_TO = 10  # splits this small also get a per-clip table: one clip can move their mean
REAL = "real"  # the recording itself
REAL_LIPS = "real-lips"  # the renderer driven by the clip's own landmarks
STATIC = "static"  # the photo, unchanged: not rendered
SILENCE_BELOW_PEAK_DB = 35.0  # frames this far under the clip's loud frames count as silence


def clip_speech(clip: Clip, samples: np.ndarray, needs_phones: bool) -> Speech:
    """The clip's audio as the studio would receive it; phones by forced alignment of the known
    transcript (GRID) or by phone recognition (clips without one)."""
    speech = Speech(samples, samples, SAMPLE_RATE)
    if needs_phones:
        time_phones(speech, clip.transcript, needs_phones)
    return speech


def outside_face_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pixels away from the face: outside the face oval grown by a fifth about its centre."""
    oval = landmarks[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    mask = np.ones(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(centre + (oval - centre) * 1.2).astype(np.int32)], 0)
    return mask.astype(bool)


def real_lip_offsets(real_landmarks: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """The clip's own lip motion as driver output, so the renderer alone is judged."""
    return np.nan_to_num(mouths_in_face_frames(real_landmarks) - rest).astype(np.float32)


def silent_frames(samples: np.ndarray, n: int) -> np.ndarray:
    level = frame_loudness_db(samples, n)
    return level < np.percentile(level, 95) - SILENCE_BELOW_PEAK_DB


@dataclass
class ClipTruth:
    """What generated frames of one clip are measured against."""

    frames: list[np.ndarray]
    landmarks: np.ndarray  # (T, 478, 2), NaN where the real clip shows no face
    photo: np.ndarray
    photo_frame: FaceFrame  # where a still-headed render's face is
    outside: np.ndarray  # mask of pixels away from the face
    silent: np.ndarray  # (T,) frames of silence
    samples: np.ndarray  # 16 kHz speech


def evaluate_clip(clip: Clip, drivers: dict, renderers: list[str], face_mesh: FaceMesh,
                  syncnet, refiner=None) -> dict[str, dict[str, float]]:
    """Measures of each driver (and the real lips) through each renderer; `refiner`: v3's
    network, if not the shipped one."""
    real_frames = list(read_frames(str(clip.video)))
    real_landmarks = clip_landmarks(clip)
    samples = clip_audio(clip)
    n = min(len(real_frames), len(real_landmarks), frame_count(len(samples)))
    real_landmarks = real_landmarks[:n]
    # Frame 0 is the photo; a few GRID recordings open on blank frames, and there the first frame
    # with a face is (measures skip frames where the real clip shows no face).
    photo = real_frames[int(np.argmax(np.isfinite(real_landmarks[:, 0, 0])))]
    photo_landmarks = face_mesh.locate(photo).landmarks
    truth = ClipTruth(real_frames[:n], real_landmarks, photo, FaceFrame.of(photo_landmarks),
                      outside_face_mask(photo_landmarks, photo.shape), silent_frames(samples, n), samples)
    speech = clip_speech(clip, samples, any(d.needs_phones for d in drivers.values()))
    results = {REAL: measure(iter(truth.frames), truth, syncnet, is_real=True)}
    if STATIC in drivers:  # the protocol's lower bound: the photo, unchanged
        results[STATIC] = measure((photo for _ in range(n)), truth, syncnet)
    for renderer_name in renderers:
        renderer = PhotoRenderer(photo, photo_landmarks, renderer_name, refiner)
        bound = {name: driver.for_photo(photo, photo_landmarks) if hasattr(driver, "for_photo") else driver
                 for name, driver in drivers.items() if name != STATIC}
        motions = {name: driver.lip_offsets(speech, renderer.rest_mouth) for name, driver in bound.items()}
        motions[REAL_LIPS] = real_lip_offsets(real_landmarks, renderer.rest_mouth)
        for name, offsets in motions.items():
            frames = renderer.frames(FramePose(offsets[k]) for k in range(n))
            row = name if len(renderers) == 1 else f"{name} ({renderer_name})"
            results[row] = measure(frames, truth, syncnet)
    return results


def measure(frames, truth: ClipTruth, syncnet, is_real: bool = False) -> dict[str, float]:
    """All measures of one generated frame sequence against the real clip."""
    tracked, outside_psnr, outside_diff, flicker = [], [], [], []
    mouth_psnr, mouth_ssim, aligned_psnr, aligned_ssim = [], [], [], []
    previous = None
    with FaceTracker() as tracker:
        for k, frame in enumerate(frames):
            points = tracker(frame)
            tracked.append(np.full((478, 2), np.nan, np.float32) if points is None else points)
            if np.isfinite(truth.landmarks[k, 0, 0]):
                x0, y0, x1, y1 = mouth_box(truth.landmarks[k], frame.shape)
                mouth, real = frame[y0:y1, x0:x1], truth.frames[k][y0:y1, x0:x1]
                mouth_psnr.append(psnr(mouth, real))
                mouth_ssim.append(ssim(mouth, real))
                own_frame = FaceFrame.of(truth.landmarks[k]) if is_real else truth.photo_frame
                ours, theirs = aligned_mouths(frame, own_frame, truth.frames[k], truth.landmarks[k])
                aligned_psnr.append(psnr(ours, theirs))
                aligned_ssim.append(ssim(ours, theirs))
                if previous is not None and truth.silent[k]:
                    flicker.append(np.abs(mouth.astype(np.float32) - previous[y0:y1, x0:x1]).mean())
            if not is_real:
                outside, photo = frame[truth.outside], truth.photo[truth.outside]
                outside_psnr.append(psnr(outside, photo))
                outside_diff.append(np.abs(outside.astype(np.float32) - photo).mean())
            previous = frame.astype(np.float32)
    tracked = np.stack(tracked)
    row = sync_measures(truth.landmarks, tracked)
    row.update(mouth_psnr=_mean(mouth_psnr), mouth_ssim=_mean(mouth_ssim),
               aligned_psnr=_mean(aligned_psnr), aligned_ssim=_mean(aligned_ssim),
               outside_psnr=_mean(outside_psnr), outside_diff=_mean(outside_diff),
               silence_flicker=_mean(flicker))
    if syncnet is not None:
        from lab.prepare import landmark_offsets
        from studio.networks.checkpoint import sync_score

        sync = sync_score(syncnet, truth.samples, np.nan_to_num(landmark_offsets(tracked)))
        row.update(sync_offset=float(sync.offset), sync_distance=sync.distance,
                   sync_confidence=sync.confidence)
    return row


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def summarise(per_clip: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    drivers = next(iter(per_clip.values())).keys()
    return {d: {c: _mean([v for clip in per_clip.values() if np.isfinite(v := clip[d].get(c, np.nan))])
                for c in COLUMNS} for d in drivers}


def markdown(report: dict) -> str:
    # Reports from before the aligned measures rendered `static` through the renderer at rest.
    aligned = "aligned_psnr" in next(iter(next(iter(report["splits"].values())).values()))
    lines = ["# Lip-sync evaluation", "",
             f"Generated by `{report['command']}` on {report['date']} "
             f"({report['seconds']:.0f} s). Protocol: ../shared/docs/evaluation.md; frame 0 of each "
             "real clip is the photo, its own audio drives it; head still, no blinks; frames "
             "measured as rendered. `real` is the recording itself (upper bound)"
             + ("; `static` the photo, unchanged (lower bound)." if aligned else "."), "",
             "open_corr: correlation of mouth opening with the real clip at lag 0 (higher is "
             "better); best_lag: lag in frames with the best correlation; LMD: lip landmark "
             "distance x1000 (lower is better); amplitude: std ratio of opening (1.0 is right); "
             "detect: frames with a face found; mouth PSNR/SSIM vs the real frames"
             + (", in the box around the real lips; aligned PSNR/SSIM: the same box with each frame "
                "cut in its own face frame (LMD's alignment), so the real head's motion, which no "
                "still-headed render follows, is not counted as mouth error" if aligned else "")
             + "; outside PSNR: pixels away from the face vs the photo (100 = identical); "
             "outside_diff: their mean absolute difference (grey levels); silence_flicker: mean "
             "absolute change of the mouth region between frames during silence (grey levels); "
             "sync_offset / sync_distance / sync_confidence: the studio's SyncNet on the tracked lip "
             "landmarks against the audio, LSE-style (offset in frames at the smallest distance, "
             "that distance, and median minus minimum distance over offsets -7..7). "
             f"`{REAL_LIPS}`: the renderer driven by the clip's own landmarks, so the renderer "
             "alone is judged.", ""]
    for split_name, summary in report["splits"].items():
        columns = [c for c in COLUMNS if c in next(iter(summary.values()))]  # older reports had fewer
        lines += [f"## {split_name} ({report['clips'][split_name]} clips)", "",
                  "| driver | " + " | ".join(columns) + " |",
                  "|---|" + "---|" * len(columns)]
        for driver, row in summary.items():
            lines.append(f"| {driver} | " + " | ".join(
                f"{row[c]:.3f}" if c in ("open_corr", "amplitude", "detect", "mouth_ssim", "aligned_ssim",
                                          "sync_confidence")
                else f"{row[c]:.2f}" for c in columns) + " |")
        lines.append("")
        per_clip = report["per_clip"][split_name]
        if report["reference"] in summary and len(per_clip) > 1:
            lines += paired_table(per_clip, report["reference"])
        if len(report["renderers"]) > 1:
            lines += renderer_table(per_clip, report["renderers"])
        if len(per_clip) <= PER_CLIP_UP_TO:
            lines += per_clip_table(per_clip)
    return "\n".join(lines)


def clip_by_clip(per_clip: dict[str, dict[str, dict[str, float]]], a: str, b: str,
                 measure: str) -> tuple[float, float, float]:
    """Row `a` minus row `b` on `measure`, clip by clip: mean and 95% bootstrap interval."""
    pairs = np.array([(rows[a][measure], rows[b][measure]) for rows in per_clip.values()])
    pairs = pairs[np.isfinite(pairs).all(axis=1)]  # a clip where either found no face
    return paired_difference(pairs[:, 0], pairs[:, 1])


IMAGE = ("mouth_psnr", "mouth_ssim", "aligned_psnr", "aligned_ssim")  # what a renderer changes
LOWER_IS_BETTER = ("silence_flicker", "lmd")
# ... and what it may cost: a mouth that shimmers in pauses, lips FaceMesh reads less truly
RENDERER_MEASURES = IMAGE + LOWER_IS_BETTER + ("open_corr",)


def renderer_table(per_clip: dict[str, dict[str, dict[str, float]]], renderers: list[str]) -> list[str]:
    """Markdown lines: each driver through the first renderer minus itself through the others, and
    minus the still photo, on the renderer measures, per clip, averaged, with a 95% bootstrap
    interval over clips."""
    rows = next(iter(per_clip.values()))
    first, others = renderers[0], renderers[1:]
    drivers = [d.rsplit(" (", 1)[0] for d in rows if d.endswith(f" ({first})")]
    measured = rows[f"{drivers[0]} ({first})"]
    measures = [m for m in RENDERER_MEASURES if m in measured]  # older reports had fewer
    lines = [f"Renderer `{first}` minus the others, clip by clip: mean [95% bootstrap interval over "
             f"clips] (above 0 is better; for {' and '.join(LOWER_IS_BETTER)}, below 0 is):", "",
             "| comparison | " + " | ".join(measures) + " |", "|---|" + "---|" * len(measures)]
    for driver in drivers:
        for a, b in [(f"{driver} ({first})", f"{driver} ({r})") for r in others] + [
                (f"{driver} ({r})", STATIC) for r in renderers if STATIC in rows]:
            cells = []
            for measure in measures:
                mean, low, high = clip_by_clip(per_clip, a, b, measure)
                cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
            lines.append(f"| {a} - {b} | " + " | ".join(cells) + " |")
    return lines + [""]


def paired_table(per_clip: dict[str, dict[str, dict[str, float]]], reference: str) -> list[str]:
    """Markdown lines: `reference` minus each other driver (clip -> driver -> measures), per clip,
    averaged, with a 95% bootstrap interval over clips."""
    drivers = [d for d in next(iter(per_clip.values())) if d not in (REAL, REAL_LIPS, reference)]
    lines = [f"`{reference}` minus each driver, clip by clip: mean [95% bootstrap interval over "
             "clips] (open_corr: above 0 is better; LMD: below 0 is better):", "",
             "| driver | " + " | ".join(PAIRED) + " |", "|---|" + "---|" * len(PAIRED)]
    for driver in drivers:
        cells = []
        for measure in PAIRED:
            mean, low, high = clip_by_clip(per_clip, reference, driver, measure)
            cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]" if measure == "open_corr"
                         else f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]")
        lines.append(f"| {driver} | " + " | ".join(cells) + " |")
    return lines + [""]


def per_clip_table(per_clip: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Markdown lines: open_corr / LMD of every driver on every clip."""
    drivers = [d for d in next(iter(per_clip.values())) if d != REAL]
    lines = ["open_corr / LMD per clip:", "", "| clip | " + " | ".join(drivers) + " |",
             "|---|" + "---|" * len(drivers)]
    for clip, rows in per_clip.items():
        lines.append(f"| {clip} | " + " | ".join(
            f"{rows[d]['open_corr']:.2f} / {rows[d]['lmd']:.1f}" for d in drivers) + " |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    args_parser = argparse.ArgumentParser(prog="python -m lab.evaluate",
                                          description=__doc__.splitlines()[0])
    args_parser.add_argument("--splits", default="grid-test,dev-clips")
    args_parser.add_argument("--drivers", default=",".join(DRIVERS),
                             help=f"from: {', '.join(list(DRIVERS) + list(ABLATION_DRIVERS))}")
    args_parser.add_argument("--renderers", default=INTERIORS[0],
                             help=f"renderer versions to compare, from: {', '.join(INTERIORS)}")
    args_parser.add_argument("--limit", type=int, help="only the first N clips of each split")
    args_parser.add_argument("--out", default=str(REPORTS / "evaluation"),
                             help="report path without suffix (.md and .json are written)")
    args = args_parser.parse_args(argv)
    names = [d for d in args.drivers.split(",") if d]
    unknown = [d for d in names if d not in DRIVERS + ABLATION_DRIVERS]
    renderers = args.renderers.split(",")
    unknown_renderers = [r for r in renderers if r not in INTERIORS]
    if unknown or unknown_renderers:
        print(f"error: unknown driver(s) {', '.join(unknown)}" if unknown
              else f"error: unknown renderer(s) {', '.join(unknown_renderers)}", file=sys.stderr)
        return 2
    try:
        splits = {name: split(name)[:args.limit] for name in args.splits.split(",")}
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        command = "python -m lab.evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
        report = evaluate(splits, {name: make_driver(name, include_ablations=True) for name in names},
                          renderers, command)
    except StudioError as error:  # e.g. a model that must be retrained first: nothing is written
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(out, report, markdown)
    print(markdown(report))
    return 0


def evaluate(splits: dict[str, list[Clip]], drivers: dict, renderers: list[str], command: str) -> dict:
    """Every clip of each split through each driver and renderer: the report's data."""
    face_mesh = FaceMesh()
    syncnet = None
    if (MODELS / SYNCNET).is_file():
        from studio.networks.checkpoint import load_model

        syncnet = load_model(MODELS / SYNCNET)
    started = time.time()
    # The default driver from speech is the reference every other driver is compared with.
    report = {"command": command, "renderers": renderers, "reference": DEFAULT_SPEECH_DRIVER,
              "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "splits": {}, "clips": {}, "per_clip": {}}
    for split_name, clips in splits.items():
        per_clip = {}
        for i, clip in enumerate(clips, 1):
            per_clip[clip.name] = evaluate_clip(clip, drivers, renderers, face_mesh, syncnet)
            print(f"[{split_name} {i}/{len(clips)}] {clip.name} "
                  + " ".join(f"{d}={r['open_corr']:.2f}" for d, r in per_clip[clip.name].items()),
                  flush=True)
        report["splits"][split_name] = summarise(per_clip)
        report["clips"][split_name] = len(clips)
        report["per_clip"][split_name] = per_clip
    report["seconds"] = time.time() - started
    return report


if __name__ == "__main__":
    raise SystemExit(main())
