"""Do typed scripts open the mouth on vowels and close it on p, b, m? Measured on the videos the
studio renders: `python -m lab.script_lips [--limit N]` writes reports/script_lips.{md,json}.

Each script is rendered by the studio as a user would get it (piper voice, the default text driver,
head motion and blinks) on each example photo. The video's own audio is then force-aligned to the
script (studio.alignment), and FaceMesh reads the mouth of every rendered frame:

  an open vowel (OPEN_VOWELS) opens   when the inner-lip gap reaches OPEN_GAP at its middle frame
  a bilabial (P, B, M) closes         when the gap falls to CLOSED_GAP in a frame it overlaps
  amplitude                           the mean gap on open vowels over the real speakers' mean
                                      gap on the same phones (1.0 is right)

The same tests on real people calibrate them: GRID's speaker at the force-aligned phones of its
transcripts, and the other people of ../shared/data at the phones recognised in their audio (no
transcripts there; recognition is rough, so that row is a floor).
"""
import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lab.dataset import ROOT, clip_audio, clip_landmarks, split, video_landmarks
from lab.measures import lip_gap, phone_frames, phone_middle_frame
from lab.reports import write_report
from lab.taem_data import clip_phones
from studio.audio import SAMPLE_RATE, decode
from studio.geometry import mouths_in_face_frames
from studio.phonemes import BILABIALS, OPEN_VOWELS, Segment

REPORT = ROOT / "reports" / "script_lips"
EXAMPLES = ROOT / "assets" / "examples"
PHOTOS = ("astronaut.jpg", "grace-hopper.jpg", "grid-speaker.jpg")
SIZE = 256  # px, long side: the mouth still spans about 20 px
# Face-frame units (inter-ocular distance). Real lips (GRID test, aligned phones): 95% of open
# vowels open past 0.064 somewhere and 95% of bilabials fall below 0.005.
OPEN_GAP, CLOSED_GAP = 0.05, 0.02
# Varied scripts: greetings, questions, numbers, dates and money, lists, and one long sentence.
SCRIPTS = (
    "Good morning, class. Today we learn about the moon.",
    "How are you doing today? I hope the weather is kind to you.",
    "The meeting starts at 9:30 on March 3rd, in room 42.",
    "Can you pass me the map, please?",
    "Our sales grew by 15 percent last year, and we plan to double that by 2030.",
    "Water boils at one hundred degrees at sea level.",
    "Why do cats always land on their feet?",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who told "
    "stories to anyone who would listen, about storms, lost boats, and a golden fish that could talk.",
    "Please bring your homework, a pencil, and a calculator on Monday.",
    "Hello! My name is Ava, and I will be your guide through the museum.",
    "Is it true that an octopus has three hearts and blue blood?",
    "Add 27 and 48, then divide the total by 5. What do you get?",
)


def phone_tests(phones: list[Segment], gap: np.ndarray) -> dict[str, list]:
    """Per open vowel its label and gap at its middle frame, per bilabial its lowest gap in `gap`."""
    vowels, bilabials = [], []
    for phone in phones:
        frames = gap[phone_frames(phone, len(gap))]
        if not np.isfinite(frames).any():
            continue  # no face in those frames: counted by detect, not here
        middle = gap[phone_middle_frame(phone, len(gap))]
        if phone.label in OPEN_VOWELS and np.isfinite(middle):  # the jaw is down there, not in passing
            vowels.append((phone.label, float(middle)))
        elif phone.label in BILABIALS:
            bilabials.append(float(np.nanmin(frames)))
    return {"vowels": vowels, "bilabials": bilabials}


def render_script(studio, photo: np.ndarray, script: str, folder: Path) -> dict:
    """Render, align the video's own audio to the script, and test the rendered mouth."""
    from studio.alignment import force_align
    from studio.pipeline import RenderOptions

    video = folder / "script.mp4"
    result = studio.render(photo, str(video), text=script, options=RenderOptions(size=SIZE))
    _, phones = force_align(decode(str(video), SAMPLE_RATE), script)
    gap = lip_gap(mouths_in_face_frames(video_landmarks(video)))
    return {"driver": result.driver, "seconds": result.duration,
            "detect": float(np.isfinite(gap).mean()), **phone_tests(phones, gap)}


def real_speakers(grid_limit: int | None) -> dict[str, dict]:
    """The same tests on real lips: GRID at aligned phones, other people at the phones the studio
    hears in a recording without a transcript."""
    from studio.speech import find_phones

    others = split("dev-clips") + split("extra-speakers")
    people = {"grid-s1 (aligned phones)": [(c, clip_phones(c)) for c in split("grid-test")[:grid_limit]],
              "other people (recognised phones)": [
                  (c, find_phones(clip_audio(c), lambda _: None)) for c in others]}
    return {group: merge([phone_tests(phones, lip_gap(mouths_in_face_frames(clip_landmarks(clip))))
                          for clip, phones in clips])
            for group, clips in people.items()}


def merge(tests: list[dict]) -> dict[str, list]:
    return {key: [item for test in tests for item in test[key]] for key in ("vowels", "bilabials")}


def summary(tests: dict, reference: dict[str, float]) -> dict[str, float]:
    """Shares opened and closed, and amplitude against the reference gap per vowel."""
    gaps = np.array([gap for _, gap in tests["vowels"]])
    expected = np.array([reference[label] for label, _ in tests["vowels"]])
    return {"vowels": len(gaps), "opened": float((gaps >= OPEN_GAP).mean()),
            "bilabials": len(tests["bilabials"]),
            "closed": float((np.array(tests["bilabials"]) <= CLOSED_GAP).mean()),
            "amplitude": float(gaps.mean() / expected.mean())}


def reference_gaps(real: dict[str, dict]) -> dict[str, float]:
    """Each open vowel's mean gap, the groups of real speakers weighted equally (so GRID's one
    speaker does not stand for everyone)."""
    means = {}
    for label in OPEN_VOWELS:
        per_group = [np.mean(gaps) for tests in real.values()
                     if (gaps := [gap for lv, gap in tests["vowels"] if lv == label])]
        if per_group:
            means[label] = float(np.mean(per_group))
    return means


def share(value: float) -> str:
    """A share as a percentage; a dash where there was nothing to count (no bilabials)."""
    return "–" if np.isnan(value) else f"{value:.1%}"


def markdown(report: dict) -> str:
    lines = ["# Typed scripts: do the lips open on vowels and close on p, b, m?", "",
             f"Generated by `{report['command']}` on {report['date']} ({report['seconds']:.0f} s). "
             f"{report['scripts']} scripts, each rendered by the studio at {SIZE} px on "
             f"{', '.join(report['photos'])} (piper voice, driver `{report['driver']}`, head motion "
             "and blinks on). The video's own audio is force-aligned to the script and FaceMesh "
             "reads the mouth of the rendered frames. An open vowel "
             f"({', '.join(OPEN_VOWELS)}) opens when the inner-lip gap reaches {OPEN_GAP} "
             f"inter-ocular distances at its middle frame; a bilabial (P, B, M) closes when the "
             f"gap falls to {CLOSED_GAP} in a frame it overlaps. Amplitude: mean gap on open vowels "
             "over real speakers' mean for the same vowels (GRID and the other people weighted equally; 1.0 "
             "is right). Real rows apply the same tests to recorded lips (calibration).", "",
             "| lips | open vowels | opened | bilabials | closed | amplitude |", "|---|---|---|---|---|---|"]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | {row['vowels']} | {row['opened']:.1%} | {row['bilabials']} | "
                     f"{share(row['closed'])} | {row['amplitude']:.2f} |")
    lines += ["", "Per script (all photos):", "", "| script | seconds | opened | closed | amplitude |",
              "|---|---|---|---|---|"]
    for script, row in report["per_script"].items():
        lines.append(f"| {script} | {row['seconds']:.1f} | {row['opened']:.1%} | {share(row['closed'])} "
                     f"| {row['amplitude']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from studio.pipeline import Studio, load_photo

    parser = argparse.ArgumentParser(prog="python -m lab.script_lips", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N scripts (and 10N GRID clips)")
    args = parser.parse_args(argv)
    started = time.time()
    scripts = SCRIPTS[:args.limit]
    real = real_speakers(args.limit and 10 * args.limit)
    reference = reference_gaps(real)
    studio = Studio()
    rendered, per_script = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for photo_name in PHOTOS:
            photo = load_photo(str(EXAMPLES / photo_name))
            for script in scripts:
                rendered[(photo_name, script)] = render_script(studio, photo, script, Path(folder))
                print(f"{photo_name}: {script[:40]}: " + str(summary(rendered[(photo_name, script)],
                                                                     reference)), flush=True)
    for script in scripts:
        runs = [rendered[(photo, script)] for photo in PHOTOS]
        per_script[script] = {"seconds": runs[0]["seconds"], **summary(merge(runs), reference)}
    everything = merge(list(rendered.values()))
    rows = {"studio (rendered)": summary(everything, reference),
            **{f"real: {group}": summary(tests, reference) for group, tests in real.items()}}
    arguments = argv if argv is not None else sys.argv[1:]
    report = {"command": ("python -m lab.script_lips " + " ".join(arguments)).strip(),
              "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "seconds": time.time() - started, "scripts": len(scripts), "photos": list(PHOTOS),
              "driver": next(iter(rendered.values()))["driver"],
              "detect": float(np.mean([r["detect"] for r in rendered.values()])),
              "reference_gaps": reference, "rows": rows, "per_script": per_script}
    print(write_report(REPORT, report, markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
