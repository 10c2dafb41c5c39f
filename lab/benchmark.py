"""Speed and memory: wall time per stage, real-time factor and peak memory for speech and a long
script at two sizes, each also through the `static` driver on the same input in the same run, a
10-minute recording to show memory stays flat, and the studio's cold start.

    python -m lab.benchmark           # the issue's matrix (about half an hour on 2 cores)
    python -m lab.benchmark --quick   # 10 s of speech at 512 px, no long run, no cold start

Writes reports/benchmark.md. Each case runs in a fresh process, warmed up first (models loaded,
a short render), so its peak memory is its own: ru_maxrss of the studio process, and apart from
it the resident memory of the encoder (ffmpeg) and of the phone helper (studio.phone_helper),
sampled. The speech is real GRID recordings joined end to end. The renderer's budget case runs
REPEATS times (the machine's own spread is about 10%), the budget judged on the slowest run.
"""
import argparse
import multiprocessing
import os
import platform
import queue
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile

from lab.dataset import ROOT, clip_audio, split
from lab.reports import write_report
from studio.audio import FPS, SAMPLE_RATE
from studio.drivers import DEFAULT_SPEECH_DRIVER, DEFAULT_TEXT_DRIVER
from studio.pipeline import STAGES, Limits, RenderOptions, Studio, load_photo
from studio.render import INTERIORS

PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"
SPEECH_SECONDS = (10, 60)
SIZES = (512, 1024)
SCRIPT_CHARS = 2000
LONG_SECONDS = 600  # the memory check: a 10-minute recording
FLAT_REFERENCE_SECONDS, FLAT_MEMORY = 60, 0.10  # ... peaks within 10% of a 1-minute one
LONG_SIZE = 512
TARGETS = {512: 0.5, 1024: 1.0}  # real-time factor each size must stay under
COLD_START_TARGET = 20.0
REFINED = "v3"  # the renderer with the learned mouth refiner (the default) ...
REFINED_CASE, REFINED_TARGET = (60, 512), 0.25  # ... stays under this real-time factor here
PLAIN = "v2"  # the warp without the refiner, timed beside it at REFINED_CASE
REPEATS = 3  # runs of each REFINED_CASE case
SHORT_SCRIPT = "Hello there, and welcome to the studio."  # warm-up and cold start
PARAGRAPH = ("Good morning, everyone, and welcome back to the studio. Today we will look at how a "
             "single photo can learn to speak. Dr. Smith paid $5.50 at 3:15pm on 2/3/2025, and "
             "she kept the receipt. The first step finds the face and its landmarks. The second "
             "step turns the script into speech, with the timing of every sound kept for the "
             "lips. Then the mouth moves, frame by frame, and the video goes to the encoder. ")


def long_script(chars: int = SCRIPT_CHARS) -> str:
    """A script of about `chars` characters: the paragraph repeated, cut at a sentence end."""
    text = PARAGRAPH * (chars // len(PARAGRAPH) + 1)
    return text[:text.rindex(". ", 0, chars + 1) + 1]


def speech_file(seconds: float, folder: str) -> str:
    """A WAV of `seconds` of real speech: GRID clips (validation first) joined end to end."""
    pieces, total = [], 0
    for clip in split("grid-val") + split("grid-train"):
        pieces.append(clip_audio(clip))
        total += len(pieces[-1])
        if total >= seconds * SAMPLE_RATE:
            break
    path = os.path.join(folder, f"speech-{seconds:g}s.wav")
    soundfile.write(path, np.concatenate(pieces)[:int(seconds * SAMPLE_RATE)], SAMPLE_RATE)
    return path


@dataclass
class Case:
    source: str  # "speech" or "script"
    seconds: float  # of speech; for scripts, known after the render
    size: int
    driver: str
    audio: str | None = None
    text: str | None = None
    renderer: str = INTERIORS[0]
    repeat: int = 0  # a REFINED_CASE case's run after the first

    @property
    def label(self) -> str:
        return (f"{self.seconds:g} s of speech" if self.source == "speech"
                else f"{len(self.text):,}-character script")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


class _ChildMemory(threading.Thread):
    """Samples the resident memory of this process's children every 0.1 s, the phone helper apart
    from the rest (the encoder); their ru_maxrss would count the studio's own pages, which a child
    holds between fork and exec."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_mb = {"encoder": 0.0, "helper": 0.0}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            total = dict.fromkeys(self.peak_mb, 0)
            for pid in self._children():
                try:
                    with open(f"/proc/{pid}/status") as status:
                        found = re.search(r"VmRSS:\s+(\d+)", status.read())
                    with open(f"/proc/{pid}/cmdline", "rb") as command:
                        helper = b"studio.phone_helper" in command.read()
                except OSError:  # it just ended
                    continue
                total["helper" if helper else "encoder"] += int(found[1]) if found else 0
            self.peak_mb = {kind: max(mb, total[kind] / 1024) for kind, mb in self.peak_mb.items()}

    @staticmethod
    def _children() -> list[str]:
        """The process ids of this process's children, started by any of its threads."""
        pids = []
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/children") as listed:
                    pids += listed.read().split()
            except OSError:  # the thread just ended
                continue
        return pids

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join()
        return self.peak_mb


def _run(case: Case, folder: str, results) -> None:
    """In a fresh process: warm up, then render the case once and report."""
    studio = Studio(limits=Limits(max_speech_seconds=LONG_SECONDS + 1))
    photo = load_photo(str(PHOTO))
    options = RenderOptions(size=case.size, driver=case.driver, renderer=case.renderer)
    warm = RenderOptions(size=256, driver=case.driver, renderer=case.renderer)
    if case.source == "speech":
        studio.render(photo, os.path.join(folder, "warm.mp4"), audio=speech_file(1, folder),
                      options=warm)
    else:
        studio.render(photo, os.path.join(folder, "warm.mp4"), text=SHORT_SCRIPT, options=warm)
    warm_mb = _peak_mb()
    children = _ChildMemory()
    children.start()
    started = time.perf_counter()
    result = studio.render(photo, os.path.join(folder, "out.mp4"), audio=case.audio,
                           text=case.text, options=options)
    total = time.perf_counter() - started
    children_mb = children.stop()
    results.put(dict(stages=result.stage_seconds, total=total, duration=result.duration,
                     warm_mb=warm_mb, peak_mb=_peak_mb(), encoder_mb=children_mb["encoder"],
                     helper_mb=children_mb["helper"]))


def measure(case: Case, folder: str) -> dict:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_run, args=(case, folder, results))
    process.start()
    while True:
        try:
            row = results.get(timeout=5)
            break
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"the {case.label} case failed (exit {process.exitcode})") from None
    process.join()
    return row


def cold_start(timeout: float = 180.0) -> tuple[float, float]:
    """Seconds from launching `python app.py` to the page answering, and to a first result
    (a short script at 256 px through gradio_client)."""
    import httpx
    from gradio_client import Client, handle_file

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None or time.perf_counter() - started > timeout:
                raise RuntimeError("the studio did not start")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        page = time.perf_counter() - started
        Client(url, verbose=False).predict(handle_file(str(PHOTO)), SHORT_SCRIPT, 1.0, "256",
                                           True, True, "default", api_name="/speak_script")
        return page, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()


def cases(folder: str, quick: bool) -> list[Case]:
    listed = []
    for seconds in SPEECH_SECONDS[:1] if quick else SPEECH_SECONDS:
        audio = speech_file(seconds, folder)
        for size in SIZES[:1] if quick else SIZES:
            for driver in (DEFAULT_SPEECH_DRIVER, "static"):
                listed.append(Case("speech", seconds, size, driver, audio=audio))
            if (seconds, size) == REFINED_CASE:
                listed.append(Case("speech", seconds, size, DEFAULT_SPEECH_DRIVER, audio=audio,
                                   renderer=PLAIN))
    if quick:
        return listed
    listed += [replace(case, repeat=k) for k in range(1, REPEATS) for case in listed
               if (case.seconds, case.size) == REFINED_CASE]
    for size in SIZES:
        for driver in (DEFAULT_TEXT_DRIVER, "static"):
            listed.append(Case("script", 0, size, driver, text=long_script()))
    listed.append(Case("speech", LONG_SECONDS, LONG_SIZE, DEFAULT_SPEECH_DRIVER,
                       audio=speech_file(LONG_SECONDS, folder)))
    return listed


def collect(rows: list[tuple[Case, dict]], start: tuple[float, float] | None, command: str) -> dict:
    """The report's data, as reports/benchmark.json stores it."""
    return {"command": command, "generated": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
            "cores": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "load": os.getloadavg()[0], "photo": PHOTO.name, "cold_start": start,
            "rows": [{"label": c.label, "source": c.source, "seconds": c.seconds, "size": c.size,
                      "driver": c.driver, "renderer": c.renderer, "repeat": c.repeat, **row}
                     for c, row in rows]}


def renderer_of(row: dict) -> str:
    return row.get("renderer", "v2")  # reports from before v3 was timed name none: v2 was the default


def shown(row: dict) -> str:
    """The driver, and the renderer where it is not the default."""
    renderer = renderer_of(row)
    return row["driver"] if renderer == INTERIORS[0] else f"{row['driver']} ({renderer})"


def first_runs(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r.get("repeat")]


def repeats_table(rows: list[dict]) -> list[str]:
    """The REFINED_CASE cases' runs: each run's total, and each driver's over static's in that run."""
    runs = [r for r in rows if (r["seconds"], r["size"]) == REFINED_CASE]
    static = {r.get("repeat", 0): r["total"] for r in runs if r["driver"] == "static"}
    lines = ["| input | size | driver | " + " | ".join(f"run {k + 1}" for k in sorted(static))
             + " | RTF, slowest run |", "|---|---|---|" + "---|" * (len(static) + 1)]
    for shown_as in dict.fromkeys(shown(r) for r in runs):
        own = sorted((r for r in runs if shown(r) == shown_as), key=lambda r: r.get("repeat", 0))
        cells = [f"{r['total']:.1f} s" + ("" if r["driver"] == "static"
                                          else f" (x{r['total'] / static[r.get('repeat', 0)]:.2f})")
                 for r in own]
        lines.append(f"| {own[0]['label']} | {own[0]['size']} px | {shown_as} | " + " | ".join(cells)
                     + f" | {max(r['total'] / r['duration'] for r in own):.2f} |")
    return lines


def markdown(report: dict) -> str:
    rows = first_runs(report["rows"])
    static = {(r["label"], r["size"]): r["total"] for r in rows if r["driver"] == "static"}
    lines = [
        "# Speed and memory", "",
        f"Generated by `{report['command']}` on {report['generated']}, "
        f"{report['cores']} CPU cores ({report['processor']}), "
        f"load average {report['load']:.1f} at the end. Photo: {report['photo']} (512x512, scaled "
        "to the size); speech: real GRID recordings; script: the same paragraph repeated; head "
        "motion and blinks on. Each case ran in a fresh, warmed-up process.", "",
        "Real-time factor (RTF) = wall time / speech duration (below 1 is faster than real "
        "time); x static = this driver's total over the `static` driver's on the same input. "
        "Peak memory: the studio process's peak RSS (after warm-up -> end of the case), and apart "
        "the peaks of the encoder (ffmpeg) and of the phone helper (a second phone recogniser, "
        "for speech of more than one 30 s piece).", "",
        "| input | size | driver | " + " | ".join(STAGES)
        + " | total | RTF | x static | peak RSS | encoder | helper |",
        "|---|---|---|" + "---|" * len(STAGES) + "---|---|---|---|---|---|"]
    for row in rows:
        baseline = static.get((row["label"], row["size"]))
        ratio = row["total"] / baseline if baseline else None
        lines.append(
            f"| {row['label']} ({row['duration']:.0f} s) | {row['size']} px | {shown(row)} | "
            + " | ".join(f"{row['stages'].get(s, 0):.1f} s" for s in STAGES)
            + f" | {row['total']:.1f} s | {row['total'] / row['duration']:.2f} | "
            + (f"{ratio:.2f}" if ratio else "-")
            + f" | {row['warm_mb']:.0f} -> {row['peak_mb']:.0f} MB | {row['encoder_mb']:.0f} MB"
            + f" | {row.get('helper_mb', 0):.0f} MB |")
    lines += ["", "## Rendering per frame", "",
              "The renderer's own time (mesh warp and mouth interior, per output frame) and its share "
              "of the case's total wall time.", "",
              "| input | size | driver | frames | rendering per frame | share of total |",
              "|---|---|---|---|---|---|"]
    for row in rows:
        frames = round(row["duration"] * FPS)
        rendering = row["stages"].get("rendering", 0.0)
        lines.append(f"| {row['label']} | {row['size']} px | {shown(row)} | {frames:,} | "
                     f"{1000 * rendering / frames:.1f} ms | {rendering / row['total']:.0%} |")
    if len(rows) < len(report["rows"]):
        lines += ["", "## Repeated runs", "", "The renderer's budget case, each run in a fresh process "
                  "(x: over static's total in the same run).", ""] + repeats_table(report["rows"])
    lines += ["", "## Targets (2 CPU cores)", ""]
    for size, target in TARGETS.items():
        worst = max((r["total"] / r["duration"] for r in rows
                     if r["size"] == size and r["source"] == "speech" and r["driver"] != "static"),
                    default=None)
        if worst is not None:
            lines.append(f"- Speech at {size} px under {target}x real time: worst RTF "
                         f"{worst:.2f}, {'met' if worst < target else 'missed'}.")
    refined = [r["total"] / r["duration"] for r in report["rows"] if renderer_of(r) == REFINED
               and (r["seconds"], r["size"]) == REFINED_CASE and r["driver"] != "static"]
    if refined:
        seconds, size = REFINED_CASE
        lines.append(f"- Renderer {REFINED} (with the learned mouth refiner), {seconds} s of speech at "
                     f"{size} px, under {REFINED_TARGET}x real time: RTF {max(refined):.2f} in the "
                     f"slowest of {len(refined)} runs, "
                     f"{'met' if max(refined) < REFINED_TARGET else 'missed'}.")
    peaks = sorted((r["seconds"], r["peak_mb"]) for r in rows
                   if r["source"] == "speech" and r["size"] == LONG_SIZE and r["driver"] != "static"
                   and renderer_of(r) == INTERIORS[0])
    if len(peaks) > 1:
        reference = dict(peaks).get(FLAT_REFERENCE_SECONDS)
        growth = peaks[-1][1] / reference - 1 if reference else None
        lines.append(f"- Memory flat in the input's length (peak RSS for {peaks[-1][0]:g} s within "
                     f"{FLAT_MEMORY:.0%} of {FLAT_REFERENCE_SECONDS:g} s): at {LONG_SIZE} px "
                     + ", ".join(f"{mb:.0f} MB for {s:g} s" for s, mb in peaks)
                     + (f", {growth:+.1%}, {'met' if growth <= FLAT_MEMORY else 'missed'}." if reference
                        else "."))
    start = report["cold_start"]
    if start:
        lines.append(f"- Cold start under {COLD_START_TARGET:g} s (`python app.py` launched to "
                     f"the page answering: {start[0]:.1f} s; to the first result, a short script "
                     f"at 256 px through gradio_client: {start[1]:.1f} s): "
                     f"{'met' if start[1] < COLD_START_TARGET else 'missed'}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.benchmark",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s at 512 px only")
    parser.add_argument("--out", default=str(ROOT / "reports" / "benchmark.md"))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in cases(folder, args.quick):
            row = measure(case, folder)
            rows.append((case, row))
            print(f"{case.label} at {case.size} px, {case.driver} ({case.renderer}): {row['total']:.1f} s "
                  f"(RTF {row['total'] / row['duration']:.2f}), peak {row['peak_mb']:.0f} MB",
                  flush=True)
    start = None if args.quick else cold_start()
    command = "python -m lab.benchmark" + (" --quick" if args.quick else "")
    print(write_report(Path(args.out), collect(rows, start, command), markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
