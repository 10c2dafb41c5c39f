"""Lip-motion drivers: speech in, per-frame mouth geometry out (never pixels).

Each driver maps a `Speech` and the face's rest mouth (MOUTH_POINTS in its face frame) to
(n_frames, len(MOUTH_POINTS), 2) offsets in the face frame. A driver that depends on the photo
(taem: the speaker embedding) has `for_photo(photo, landmarks)`, returning a driver bound to it.
Classes are imported on first use, so listing the drivers (the UI, the CLI) never loads torch.
"""
import importlib

from studio.errors import StudioError

_OFFERED = {"static": ("rules", "StaticDriver"), "energy": ("rules", "EnergyDriver"),
            "viseme": ("rules", "VisemeDriver"), "memory": ("memory", "MemoryDriver"),
            "hybrid": ("memory", "HybridDriver"), "taem": ("taem", "TaemDriver")}
# Evaluation-only variants (ablations, references): measured beside the others, not offered.
_ABLATIONS = {"memory-off": ("memory", "MemoryOffDriver"),
              "conv-reference": ("memory", "ConvReferenceDriver"),
              "taem-no-speaker": ("taem", "TaemNoSpeakerDriver")}
DRIVERS = tuple(_OFFERED)
ABLATION_DRIVERS = tuple(_ABLATIONS)
# On people the models never heard (cross-validated by person) the hybrid follows the real lips
# closer than memory, viseme or the still photo; on GRID's own speaker memory alone is better
# (reports/crossval.md, reports/evaluation.md). The studio is for people in general.
DEFAULT_SPEECH_DRIVER = "hybrid"
DEFAULT_TEXT_DRIVER = "taem"  # the voice's own phone timing drives the frozen audio model's lips


def make_driver(name: str, include_ablations: bool = False):
    known = {**_OFFERED, **(_ABLATIONS if include_ablations else {})}
    if name not in known:
        raise StudioError(f"Unknown driver '{name}'; choose one of: {', '.join(known)}.")
    module, cls = known[name]
    return getattr(importlib.import_module(f"studio.drivers.{module}"), cls)()
