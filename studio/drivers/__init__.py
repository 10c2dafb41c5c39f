"""Lip-motion drivers: speech in, per-frame mouth geometry out (never pixels).

Each driver maps a `Speech` and the face's rest mouth (MOUTH_POINTS in its face frame) to
(n_frames, len(MOUTH_POINTS), 2) offsets in the face frame. Learned drivers register here too.
"""
from studio.drivers.memory import ConvReferenceDriver, MemoryDriver, MemoryOffDriver
from studio.drivers.rules import EnergyDriver, StaticDriver, VisemeDriver

DRIVERS = {driver.name: driver for driver in (StaticDriver, EnergyDriver, VisemeDriver, MemoryDriver)}
# Evaluation-only variants (ablations, references): measured beside DRIVERS, not offered to users.
ABLATION_DRIVERS = {driver.name: driver for driver in (MemoryOffDriver, ConvReferenceDriver)}
DEFAULT_SPEECH_DRIVER = "viseme"
DEFAULT_TEXT_DRIVER = "viseme"


def make_driver(name: str):
    from studio.errors import StudioError

    if name not in DRIVERS:
        raise StudioError(f"Unknown driver '{name}'; choose one of: {', '.join(DRIVERS)}.")
    return DRIVERS[name]()
