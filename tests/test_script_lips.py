"""Typed scripts open the rendered mouth on open vowels and close it on p, b, m (lab.script_lips
on two of its scripts, numbers and a question among them, read back from the rendered video)."""
import numpy as np

from lab.script_lips import CLOSED_GAP, EXAMPLES, OPEN_GAP, SCRIPTS, merge, render_script
from studio.pipeline import load_photo

CHECKED = [s for s in SCRIPTS if s.startswith(("Add 27", "Please bring"))]


def test_typed_scripts_open_on_vowels_and_close_on_bilabials(studio, tmp_path):
    photos = [load_photo(str(EXAMPLES / name)) for name in ("astronaut.jpg", "grace-hopper.jpg")]
    tests = merge([render_script(studio, photo, script, tmp_path)
                   for photo in photos for script in CHECKED])
    opened = np.mean([gap >= OPEN_GAP for _, gap in tests["vowels"]])
    assert len(tests["vowels"]) >= 40 and opened >= 0.8, opened
    assert len(tests["bilabials"]) >= 10 and max(tests["bilabials"]) <= CLOSED_GAP
