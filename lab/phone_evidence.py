"""Which phone evidence tells the lips on people never heard: `python -m lab.phone_evidence`.

Issue 21's first lever is phone posteriors (a lattice) instead of the 1-best phones the lip
models read. Before building them into the networks, the cheapest question: fit a linear
per-phone opening table on grid-train clips (opening standardised within each clip), and ask how
well each kind of evidence, through its table, follows the real opening of the 22 clips of other
people (correlation at lag 0, smoothed as the drivers smooth).

- `allphone`: studio.alignment.recognize_phones, what the lip models read (lab.prepare's phones);
- `phone-lm`: the 1-best of pocketsphinx's n-gram search over a dictionary of phones, with the
  same phone language model (allphone search keeps no lattice; this search does);
- `posteriors`: that search's lattice, each frame's phones weighted by the posteriors of the arcs
  over it.
"""
import re
import tempfile
import time
from functools import cache
from pathlib import Path

import numpy as np

from lab.crossval import other_people
from lab.dataset import ROOT
from lab.measures import lagged_correlation, paired_difference
from lab.prepare import load
from lab.reports import write_report
from studio.alignment import (
    FRAMES_PER_SECOND,
    contiguous_phones,
    decode_utterance,
    phone_label,
    recognize_phones,
    to_int16,
)
from studio.audio import FPS, SAMPLE_RATE
from studio.drivers.memory import smooth
from studio.networks.features import phone_indices
from studio.phonemes import PHONE_INDEX, PHONES, SILENCE

REPORT = ROOT / "reports" / "phone_evidence"
FIT_EVERY = 4  # the tables are fitted on every 4th grid-train clip (200 clips)
KINDS = ("allphone", "phone-lm", "posteriors")
_LATTICE_STEP = FRAMES_PER_SECOND // FPS  # lattice frames per video frame


@cache
def _phone_decoder():
    """pocketsphinx's n-gram search with each phone a word pronounced as itself."""
    import pocketsphinx

    dictionary = ROOT / ".cache" / "phone_evidence" / "phones.dict"
    dictionary.parent.mkdir(parents=True, exist_ok=True)
    spelled = ["SIL" if p == SILENCE else p for p in PHONES]
    dictionary.write_text("".join(f"{p} {p}\n" for p in spelled))
    return pocketsphinx.Decoder(lm=pocketsphinx.get_model_path("en-us/en-us-phone.lm.bin"),
                                dict=str(dictionary), bestpath=True, loglevel="FATAL")


def _lattice_arcs(decoder) -> list[tuple[str, float, float, float]]:
    """(phone, start, end in seconds, posterior) of every arc of the decoder's last lattice, read
    from its HTK form (the only way the Python binding gives the arcs)."""
    with tempfile.NamedTemporaryFile(suffix=".htk") as file:
        decoder.get_lattice().write_htk(file.name)
        text = Path(file.name).read_text()
    lines = [dict(field.split("=", 1) for field in line.split()) for line in text.splitlines()
             if line[:2] in ("I=", "J=")]
    nodes = {line["I"]: (float(line["t"]), line["W"]) for line in lines if "I" in line}
    arcs = []
    for line in lines:
        if "J" in line:  # a node's word starts at its time and lasts until its successor's
            (start, word), (end, _) = nodes[line["S"]], nodes[line["E"]]
            arcs.append((phone_label(word), start, end, float(line["p"])))
    return arcs


def lattice_evidence(samples: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """16 kHz speech -> the phone-LM search's (n_frames,) 1-best phone indices and
    (n_frames, len(PHONES)) phone posteriors."""
    decoder = _phone_decoder()
    decode_utterance(decoder, to_int16(samples))
    best = contiguous_phones([(phone_label(s.word), s.start_frame) for s in decoder.seg()],
                             len(samples) / SAMPLE_RATE)
    fine = np.zeros((n_frames * _LATTICE_STEP, len(PHONES)))
    for phone, start, end, posterior in _lattice_arcs(decoder):
        fine[round(start * FRAMES_PER_SECOND):round(end * FRAMES_PER_SECOND), PHONE_INDEX[phone]] += posterior
    posteriors = fine.reshape(n_frames, _LATTICE_STEP, -1).sum(axis=1)
    total = posteriors.sum(axis=1, keepdims=True)
    silence = np.eye(len(PHONES))[PHONE_INDEX[SILENCE]]
    posteriors = np.where(total > 0, posteriors / np.maximum(total, 1e-12), silence)
    return phone_indices(best, n_frames)[0].numpy(), posteriors


def evidence(data) -> dict[str, np.ndarray]:
    """Each kind of evidence of a prepared clip, as (n_frames, len(PHONES)) phone weights."""
    n = len(data.opening)
    best, posteriors = lattice_evidence(data.samples, n)
    one_hot = np.eye(len(PHONES))
    return {"allphone": one_hot[data.phones[:n]], "phone-lm": one_hot[best], "posteriors": posteriors}


def standardised(series: np.ndarray) -> np.ndarray:
    return (series - np.nanmean(series)) / (np.nanstd(series) + 1e-9)


def fit_tables(clips) -> dict[str, np.ndarray]:
    """Per kind, the least-squares (phone weight, bias) -> standardised opening table."""
    features, targets = {kind: [] for kind in KINDS}, []
    for data in clips:
        for kind, weights in evidence(data).items():
            features[kind].append(weights)
        targets.append(standardised(data.opening))
    target = np.concatenate(targets)
    known = np.isfinite(target)
    return {kind: np.linalg.lstsq(_with_bias(np.concatenate(rows))[known], target[known], rcond=None)[0]
            for kind, rows in features.items()}


def _with_bias(weights: np.ndarray) -> np.ndarray:
    return np.c_[weights, np.ones(len(weights))]


def timed(function, *args) -> tuple[object, float]:
    started = time.perf_counter()
    return function(*args), time.perf_counter() - started


def measure() -> dict:
    fit = load("grid-train")[::FIT_EVERY]
    tables = fit_tables(fit)
    rows, seconds = [], {"allphone": 0.0, "phone-lm": 0.0, "audio": 0.0}
    for clip, data in other_people():
        weights, lattice_seconds = timed(evidence, data)
        rows.append({"clip": clip.name, **{kind: lagged_correlation(
            data.opening, smooth(_with_bias(weights[kind]) @ tables[kind]), 0) for kind in KINDS}})
        seconds["allphone"] += timed(recognize_phones, data.samples)[1]
        seconds["phone-lm"] += lattice_seconds
        seconds["audio"] += len(data.samples) / SAMPLE_RATE
    gains = {kind: paired_difference([r[kind] for r in rows], [r["allphone"] for r in rows])
             for kind in KINDS[1:]}
    return {"fit_clips": len(fit), "rows": rows, "gains": gains, "seconds": seconds}


def described() -> str:
    """This module's docstring after its first line, as markdown paragraphs and list items."""
    paragraphs = __doc__.split("\n\n")[1:]
    return "\n\n".join(re.sub(r"\n(?!- )\s*", " ", paragraph.strip()) for paragraph in paragraphs)


def markdown(report: dict) -> str:
    rows, seconds = report["rows"], report["seconds"]
    lines = ["# Phone evidence: which kind follows the lips of people never heard", "",
             described(), "",
             f"Command: `python -m lab.phone_evidence`. Tables fitted on {report['fit_clips']} grid-train "
             "clips; measured on the 22 clips of other people.", "",
             "| clip | " + " | ".join(KINDS) + " |", "|---|" + "---|" * len(KINDS)]
    lines += [f"| {r['clip']} | " + " | ".join(f"{r[k]:+.3f}" for k in KINDS) + " |" for r in rows]
    lines += ["| **mean** | " + " | ".join(f"**{np.mean([r[k] for r in rows]):+.3f}**" for k in KINDS) + " |",
              "", "Against `allphone`, mean per-clip difference [95% bootstrap interval over clips]:", ""]
    lines += [f"- `{kind}`: {mean:+.3f} [{low:+.3f}, {high:+.3f}]"
              for kind, (mean, low, high) in report["gains"].items()]
    lines += ["", f"Decoding the {seconds['audio']:.0f} s of those clips: "
              f"allphone {seconds['allphone']:.1f} s, "
              f"the phone-LM search with its lattice {seconds['phone-lm']:.1f} s "
              f"(x{seconds['phone-lm'] / seconds['allphone']:.2f})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    print(write_report(REPORT, measure(), markdown))


if __name__ == "__main__":
    main()
