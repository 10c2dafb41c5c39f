"""Cross-validation over the other people: `python -m lab.crossval [--drivers memory+memory-2 ...]`.

Six validation clips of other people cannot tell two designs apart: seed-to-seed spread is as large
as the effects. Here the 22 extra-speaker clips are split by person into FOLDS folds of similar
length; each run is trained once per fold, with its own recipe (lab.train), on grid-train and the
other folds' people, then measured on the held-out fold's clips at motion level, as lab.selfcheck
does. Every clip of another person is validation exactly once. Rule-based drivers are measured on the
same clips. Never touches grid-test or dev-clips. A driver is a run, or runs joined by '+' whose
networks it averages, as the studio's learned drivers do; prefixed 'hybrid:', its lips are
averaged with viseme's, as the studio's hybrid driver does.

Writes reports/crossval.md: per-clip open_corr / LMD, means, and the first driver minus each other
driver, clip by clip, with a 95% bootstrap interval. Checkpoints and curves go to .cache/crossval/,
keyed by recipe, so only what changed is retrained. Two trainings run at a time, one thread each.
"""
import argparse
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from lab import prepare, train
from lab.dataset import CACHE, ROOT, Clip
from lab.evaluate import paired_table
from lab.prepare import ClipData
from lab.reports import write_report
from lab.selfcheck import clip_measures
from studio.drivers import make_driver
from studio.drivers.memory import HybridDriver, LearnedDriver, MemoryDriver, MemoryOffDriver
from studio.networks.checkpoint import load_model

FOLDS = 3
OUT = CACHE / "crossval"
REPORT = ROOT / "reports" / "crossval"
DEFAULT_OUT = str(REPORT.relative_to(ROOT))


def other_people() -> list[tuple[Clip, ClipData]]:
    """(clip, data) for every extra-speaker clip, in the order of the extra splits."""
    return [(clip, data) for name in ("extra-train", "extra-val")
            for clip, data in zip(prepare.clips(name), prepare.load(name))]


def folds(people: list[tuple[Clip, ClipData]]) -> dict[str, int]:
    return folds_by_frames({clip.name: len(data.opening) for clip, data in people})


def folds_by_frames(clip_frames: dict[str, int], n_folds: int = FOLDS) -> dict[str, int]:
    """Person -> fold, from each clip's frame count: whole people, longest first, each to the fold
    with the fewest frames so far."""
    frames: dict[str, int] = {}
    for name, count in clip_frames.items():
        frames[prepare.person(name)] = frames.get(prepare.person(name), 0) + count
    totals, fold_of = [0] * n_folds, {}
    for person in sorted(frames, key=lambda p: (-frames[p], p)):
        fold_of[person] = int(np.argmin(totals))
        totals[fold_of[person]] += frames[person]
    return fold_of


def recipe_key(config: train.TrainConfig) -> dict:
    """The recipe's fields that differ from TrainConfig's defaults: a field added later keeps,
    at its default, every recipe's key and so its cached checkpoints."""
    defaults = asdict(train.TrainConfig())
    return {name: value for name, value in asdict(config).items() if value != defaults[name]}


def fold_checkpoint(run: str, fold: int, fold_of: dict[str, int]) -> Path:
    """Where `run` trained without `fold` is kept: keyed by the recipe and the held-out people, so
    a changed recipe retrains and an interrupted cross-validation resumes."""
    held = sorted(person for person, f in fold_of.items() if f == fold)
    key = json.dumps([recipe_key(train.RUN_TRAINING[run]), held, prepare.PREPARE_VERSION], sort_keys=True)
    return OUT / f"{run}-fold{fold}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.pt"


def train_fold(run: str, fold: int) -> Path:
    """Train `run` with `fold`'s people held out, unless already done; returns the checkpoint."""
    people = other_people()
    fold_of = folds(people)
    checkpoint = fold_checkpoint(run, fold, fold_of)
    if checkpoint.exists():
        return checkpoint
    torch.set_num_threads(1)
    held = {clip.name for clip, _ in people if fold_of[prepare.person(clip.name)] == fold}
    splits = {"grid-train": prepare.load("grid-train"), "grid-val": prepare.load("grid-val"),
              "extra-train": [d for clip, d in people if clip.name not in held],
              "extra-val": [d for clip, d in people if clip.name in held]}
    offset_scale = round(train.target_scale(splits["grid-train"]), 4)
    return train.train(run, splits, offset_scale, checkpoint, OUT / f"fold{fold}")


class CheckpointDriver(LearnedDriver):
    """A learned driver on checkpoints of this cross-validation instead of shipped ones."""

    def __init__(self, paths: list[Path]):
        self.models = [load_model(path) for path in paths]

    def networks(self):
        return self.models


HYBRID = "hybrid:"  # a learned driver named with this prefix is averaged with viseme (HybridDriver)


def runs_of(driver: str) -> list[str]:
    """'memory+memory-2' -> ['memory', 'memory-2']: the runs whose networks the driver averages
    ('hybrid:memory+memory-2' too)."""
    return driver.removeprefix(HYBRID).split("+")


def fold_driver(driver: str, checkpoints: list[Path]):
    learned = CheckpointDriver(checkpoints)
    return HybridDriver(learned) if driver.startswith(HYBRID) else learned


def markdown(report: dict) -> str:
    learned, rows, fold_of = report["learned"], report["rows"], report["fold_of"]
    drivers = learned + report["baselines"]
    lines = ["# Cross-validation over the other people (motion level, before rendering)", "",
             (f"The {len(rows)} extra-speaker clips, split by person into {FOLDS} folds; each run trained "
              "once per fold with the fold's people held out (grid-train and the other folds' people), "
              "with its recipe in lab.train; a driver named a+b averages the networks of runs a and b, "
              f"and {HYBRID}a+b averages those lips with viseme's (the studio's hybrid driver). "
              "The baselines are measured on the same clips."), "",
             "Command: `python -m lab.crossval --drivers " + " ".join(learned)
             + (f" --out {report['out']}" if report.get("out", DEFAULT_OUT) != DEFAULT_OUT else "") + "`", "",
             "| fold | people |", "|---|---|"]
    clips_of = {person: sum(prepare.person(r["clip"]) == person for r in rows) for person in fold_of}
    for fold in range(FOLDS):
        people = [p.split("/")[-1] + (f" ({clips_of[p]} clips)" if clips_of[p] > 1 else "")
                  for p in sorted(fold_of) if fold_of[p] == fold]
        lines.append(f"| {fold} | {', '.join(people)} |")
    lines += ["", "open_corr / LMD per clip:", "",
              "| clip | fold | " + " | ".join(drivers) + " |", "|---|---|" + "---|" * len(drivers)]
    for row in rows:
        lines.append(f"| {row['clip'].split('/')[-1]} | {row['fold']} | "
                     + " | ".join(f"{row[d]['open_corr']:.2f} / {row[d]['lmd']:.1f}" for d in drivers) + " |")
    mean = {d: {k: float(np.nanmean([r[d][k] for r in rows])) for k in ("open_corr", "lmd", "best_lag",
                                                                        "amplitude")} for d in drivers}
    abs_lag = {d: float(np.nanmean([abs(r[d]["best_lag"]) for r in rows])) for d in drivers}
    lines.append("| **mean** | | " + " | ".join(f"**{mean[d]['open_corr']:.3f} / {mean[d]['lmd']:.2f}**"
                                                for d in drivers) + " |")
    lines += ["", "best_lag: the lag in frames (within +-5) of the best correlation, per clip; the issue's "
              "measure is its mean size.", "",
              "| driver | mean best_lag | mean abs(best_lag) | amplitude |", "|---|---|---|---|"]
    lines += [f"| {d} | {mean[d]['best_lag']:+.2f} | {abs_lag[d]:.2f} | {mean[d]['amplitude']:.2f} |"
              for d in drivers]
    per_clip = {row["clip"]: {d: row[d] for d in drivers} for row in rows}
    lines += [""] + paired_table(per_clip, learned[0])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ensemble, ablation = "+".join(MemoryDriver.runs), "+".join(MemoryOffDriver.runs)  # without the memory
    drivers = [HYBRID + ensemble, ensemble, *MemoryDriver.runs, ablation, HYBRID + ablation]
    parser.add_argument("--drivers", nargs="+", default=drivers,
                        help="learned drivers, each a run or runs joined by '+' (averaged), "
                             f"prefixed '{HYBRID}' to be averaged with viseme; "
                             "the first is compared with every other driver")
    parser.add_argument("--baselines", nargs="*", default=["viseme", "energy", "static"])
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (one thread each)")
    parser.add_argument("--out", type=Path, default=REPORT, help="report path without suffix")
    args = parser.parse_args()
    runs = list(dict.fromkeys(run for driver in args.drivers for run in runs_of(driver)))
    unknown = [run for run in runs if run not in train.RUN_TRAINING or run == "syncnet"]
    if unknown:
        parser.error(f"unknown lip runs: {', '.join(unknown)}")
    train.build_missing(runs)
    tasks = [(run, fold) for run in runs for fold in range(FOLDS)]
    checkpoints = dict(zip(tasks, train.in_parallel(train_fold, tasks, args.jobs)))
    people = other_people()
    fold_of = folds(people)
    baselines = {name: make_driver(name) for name in args.baselines}
    rows = []
    for clip, data in people:
        fold = fold_of[prepare.person(clip.name)]
        drivers = {driver: fold_driver(driver, [checkpoints[run, fold] for run in runs_of(driver)])
                   for driver in args.drivers} | baselines
        rows.append({"clip": clip.name, "fold": fold, **clip_measures(drivers, clip, data)})
        print(clip.name, " ".join(f"{d}={m['open_corr']:.2f}/{m['lmd']:.1f}" for d, m in rows[-1].items()
                                  if isinstance(m, dict)), flush=True)
    out = args.out.resolve()
    write_report(out, {"learned": args.drivers, "baselines": args.baselines, "fold_of": fold_of, "rows": rows,
                       "out": str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out)}, markdown)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
