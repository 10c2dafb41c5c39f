"""Quick check of lip drivers on motion alone, before the full evaluation renders anything:
`python -m lab.selfcheck [--splits grid-val] [--drivers memory viseme ...]`.

For each validation clip, the driver's offsets are applied to the rest mouth of the clip's first
face (as the studio does with a photo) and the inner-lip gap is compared with the real one:
open_corr at lag 0, the best lag within +-5 frames, amplitude (std ratio), and LMD on the lip
points in the face frame (the evaluation's LMD before rendering). Validation splits
only (lab.prepare): never grid-test or dev-clips. Writes reports/training/selfcheck.md. The
shipped models train on every clip of other people, extra-val included: lab.crossval measures
them on people they did not see.
`--quiet-stretches 20` repeats the check with every other 1.5 s of the audio 20 dB quieter: how a
driver copes with speech whose level changes.
"""
import argparse

import numpy as np

from lab import prepare
from lab.dataset import ROOT, Clip
from lab.evaluate import clip_speech
from lab.measures import dynamic_distance, opening_measures
from lab.prepare import ClipData, gap_of
from lab.reports import write_report
from studio.audio import SAMPLE_RATE, fit_to_frames
from studio.drivers import make_driver
from studio.geometry import LIP_POINTS

DEFAULT_DRIVERS = ("memory", "memory-off", "conv-reference", "energy", "viseme")
REPORT = ROOT / "reports" / "training" / "selfcheck"
LIPS = slice(len(LIP_POINTS))  # MOUTH_POINTS start with the 40 lip points that LMD measures
QUIET_PERIOD, QUIET_STEP = 1.5, 0.2  # seconds: --quiet-stretches alternates this often, this smoothly


def quiet_stretches(samples: np.ndarray, depth_db: float) -> np.ndarray:
    """Every other QUIET_PERIOD seconds `depth_db` quieter, with smooth steps: a speaker who leans
    back from the microphone or trails off, which GRID's evenly read sentences never do."""
    seconds = np.arange(len(samples)) / SAMPLE_RATE
    quiet = (np.floor(seconds / QUIET_PERIOD) % 2 == 1).astype(np.float32)
    step = int(QUIET_STEP * SAMPLE_RATE)
    quiet = np.convolve(quiet, np.ones(step) / step, mode="same")
    return (samples * 10 ** (-depth_db * quiet / 20)).astype(np.float32)


def clip_measures(drivers: dict, clip: Clip, data: ClipData, quiet_db: float = 0.0) -> dict[str, dict]:
    """Each driver's motion measures on one clip: open_corr, best_lag, amplitude and LMD."""
    samples = fit_to_frames(data.samples, len(data.opening), SAMPLE_RATE)  # one timeline
    if quiet_db:
        samples = quiet_stretches(samples, quiet_db)
    speech = clip_speech(clip, samples, any(d.needs_phones for d in drivers.values()))
    measures = {}
    for name, driver in drivers.items():
        offsets = driver.lip_offsets(speech, data.photo_rest)
        measures[name] = {**opening_measures(data.opening, gap_of(data.photo_rest + offsets)),
                          "lmd": dynamic_distance(data.offsets[:, LIPS], offsets[:, LIPS])}
    return measures


def check(split_name: str, driver_names: list[str], limit: int | None,
          quiet_db: float = 0.0) -> dict[str, dict[str, float]]:
    drivers = {name: make_driver(name, include_ablations=True) for name in driver_names}
    rows = [clip_measures(drivers, clip, data, quiet_db)
            for clip, data in list(zip(prepare.clips(split_name), prepare.load(split_name)))[:limit]]
    return {name: {k: float(np.mean([r[name][k] for r in rows])) for k in rows[0][name]} for name in drivers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="*", default=["grid-val"])
    parser.add_argument("--drivers", nargs="*", default=list(DEFAULT_DRIVERS))
    parser.add_argument("--limit", type=int, help="clips per split (quick looks)")
    parser.add_argument("--quiet-stretches", type=float, default=0.0, metavar="DB",
                        help=f"stress test: every other {QUIET_PERIOD:g} s of the audio DB quieter "
                             "(report not written)")
    args = parser.parse_args()
    rows = []
    for split_name in args.splits:
        for name, m in check(split_name, args.drivers, args.limit, args.quiet_stretches).items():
            rows.append({"split": split_name, "driver": name, **m})
            print(rows[-1], flush=True)
    if args.limit is None and not args.quiet_stretches:
        print(write_report(REPORT, rows, markdown))


def markdown(rows: list[dict]) -> str:
    lines = ["# Motion self-check (validation splits; offsets on the first frame's rest mouth)", "",
             "| split | driver | open_corr | best_lag | amplitude | LMD |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['split']} | {r['driver']} | {r['open_corr']:.3f} | {r['best_lag']:+.2f} "
              f"| {r['amplitude']:.2f} | {r['lmd']:.2f} |" for r in rows]
    return "\n".join(lines) + "\n\nCommand: `python -m lab.selfcheck`\n"


if __name__ == "__main__":
    main()
