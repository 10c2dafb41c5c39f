"""Every report in reports/ is written from its data: `write_report` stores the data as JSON and
the markdown its module renders from that JSON, so the figures in the markdown are the figures
in the data. `python -m lab.reports` renders every report's markdown again from its JSON
(`--check`: change nothing, fail when a markdown file differs)."""
import argparse
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from lab.dataset import ROOT

REPORTS = ROOT / "reports"
# Each report (path under reports/, without suffix) -> the lab module whose markdown() renders it.
RENDERED_BY = {"evaluation": "lab.evaluate", "renderers": "lab.evaluate", "taem-studio": "lab.evaluate",
               "taem": "lab.evaluate_taem", "refiner_crossval": "lab.train_refiner",
               "benchmark": "lab.benchmark", "bad_input": "lab.bad_input",
               "training/selfcheck": "lab.selfcheck", "training/memory_analysis": "lab.memory_analysis",
               "mouth_motion": "lab.mouth_motion", "crossval": "lab.crossval",
               "script_lips": "lab.script_lips", "crossval_synthetic": "lab.crossval",
               "phone_evidence": "lab.phone_evidence", "crossval_voices": "lab.crossval",
               "crossval_phones_kept": "lab.crossval"}


def write_report(path: Path, data, markdown: Callable) -> str:
    """`path`'s .json (the data) and .md (its markdown); returns the markdown."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(data)
    path.with_suffix(".json").write_text(json.dumps(data, indent=1))
    path.with_suffix(".md").write_text(text)
    return text


def rendered(name: str) -> str:
    """A shipped report's markdown, rendered from its JSON."""
    data = json.loads((REPORTS / name).with_suffix(".json").read_text())
    return importlib.import_module(RENDERED_BY[name]).markdown(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.reports", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a markdown file differs")
    args = parser.parse_args(argv)
    differ = []
    for name in RENDERED_BY:
        markdown_file = (REPORTS / name).with_suffix(".md")
        text = rendered(name)
        if markdown_file.read_text() != text:
            differ.append(name)
            if not args.check:
                markdown_file.write_text(text)
    if args.check and differ:
        print(f"reports whose markdown differs from their JSON: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
