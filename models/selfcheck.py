"""Quick check of lip drivers on motion alone, before the full evaluation renders anything:
`python -m models.selfcheck [--splits grid-val extra-val] [--drivers memory viseme ...]`.

For each validation clip, the driver's offsets are applied to the rest mouth of the clip's first
face (as the studio does with a photo) and the inner-lip gap is compared with the real one:
open_corr at lag 0, the best lag within +-5 frames, amplitude (std ratio), and LMD on the lip
points in the face frame (the evaluation's LMD before rendering). Validation splits
only (models.prepare): never grid-test or dev-clips. Writes reports/training/selfcheck.md.
"""
import argparse

import numpy as np

from models import prepare
from models.prepare import gap_of
from studio.audio import SAMPLE_RATE, fit_to_frames
from studio.dataset import ROOT
from studio.drivers import make_driver
from studio.evaluate import clip_speech
from studio.geometry import LIP_POINTS
from studio.measures import dynamic_distance, opening_measures

DEFAULT_DRIVERS = ("memory", "memory-off", "conv-reference", "energy", "viseme")
REPORT = ROOT / "reports" / "training" / "selfcheck.md"
LIPS = slice(len(LIP_POINTS))  # MOUTH_POINTS start with the 40 lip points that LMD measures


def check(split_name: str, driver_names: list[str], limit: int | None) -> dict[str, dict[str, float]]:
    drivers = {name: make_driver(name, include_ablations=True) for name in driver_names}
    per_driver = {name: [] for name in drivers}
    for clip, data in list(zip(prepare.clips(split_name), prepare.load(split_name)))[:limit]:
        samples = fit_to_frames(data.samples, len(data.opening), SAMPLE_RATE)  # one timeline
        speech = clip_speech(clip, samples, any(d.needs_phones for d in drivers.values()))
        for name, driver in drivers.items():
            offsets = driver.lip_offsets(speech, data.photo_rest)
            per_driver[name].append({**opening_measures(data.opening, gap_of(data.photo_rest + offsets)),
                                     "lmd": dynamic_distance(data.offsets[:, LIPS], offsets[:, LIPS])})
    return {name: {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            for name, rows in per_driver.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", nargs="*", default=["grid-val", "extra-val"])
    parser.add_argument("--drivers", nargs="*", default=list(DEFAULT_DRIVERS))
    parser.add_argument("--limit", type=int, help="clips per split (quick looks)")
    args = parser.parse_args()
    lines = ["# Motion self-check (validation splits; offsets on the first frame's rest mouth)", "",
             "| split | driver | open_corr | best_lag | amplitude | LMD |", "|---|---|---|---|---|---|"]
    for split_name in args.splits:
        for name, m in check(split_name, args.drivers, args.limit).items():
            lines.append(f"| {split_name} | {name} | {m['open_corr']:.3f} | {m['best_lag']:+.2f} "
                         f"| {m['amplitude']:.2f} | {m['lmd']:.2f} |")
            print(lines[-1], flush=True)
    if args.limit is None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text("\n".join(lines) + "\n\nCommand: `python -m models.selfcheck`\n")


if __name__ == "__main__":
    main()
