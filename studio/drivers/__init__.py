"""Lip-motion drivers: speech in, per-frame mouth geometry out (never pixels).

Each driver maps a `Speech` and the face's rest mouth (MOUTH_POINTS in its face frame) to
(n_frames, len(MOUTH_POINTS), 2) offsets in the face frame. Learned drivers register here too.
"""
from studio.drivers.memory import ConvReferenceDriver, MemoryDriver, MemoryOffDriver
from studio.drivers.rules import EnergyDriver, StaticDriver, VisemeDriver
from studio.drivers.taem import TaemDriver, TaemNoSpeakerDriver

DRIVERS = {driver.name: driver for driver in (StaticDriver, EnergyDriver, VisemeDriver, MemoryDriver, TaemDriver)}
# Evaluation-only variants (ablations, references): measured beside DRIVERS, not offered to users.
ABLATION_DRIVERS = {driver.name: driver for driver in (MemoryOffDriver, ConvReferenceDriver, TaemNoSpeakerDriver)}
DEFAULT_SPEECH_DRIVER = "memory"  # beat viseme on grid-val and held-out speakers (models.selfcheck)
DEFAULT_TEXT_DRIVER = "viseme"


def make_driver(name: str):
    from studio.errors import StudioError

    if name not in DRIVERS:
        raise StudioError(f"Unknown driver '{name}'; choose one of: {', '.join(DRIVERS)}.")
    return DRIVERS[name]()
