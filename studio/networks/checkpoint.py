"""Checkpoints that rebuild their own model (the config travels with the weights), and the one
inference path every learned driver uses."""
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from studio.geometry import MOUTH_POINTS
from studio.networks.conv_reference import ConvReference, ConvReferenceConfig
from studio.networks.features import model_input, speech_features, speech_windows, windowed_level
from studio.networks.mouth_refiner import MouthRefiner, MouthRefinerConfig
from studio.networks.speech_to_lips import SpeechToLips, SpeechToLipsConfig
from studio.networks.syncnet import Sync, SyncNet, SyncNetConfig

NETWORKS = {"SpeechToLips": (SpeechToLips, SpeechToLipsConfig.from_dict),
            "ConvReference": (ConvReference, ConvReferenceConfig.from_dict),
            "SyncNet": (SyncNet, SyncNetConfig.from_dict),
            "MouthRefiner": (MouthRefiner, MouthRefinerConfig.from_dict)}


def save_model(model: torch.nn.Module, path: Path, **notes) -> None:
    """Weights in float32, config as plain data, and notes (training facts) beside them. Written
    whole or not at all, so a file that exists is a finished checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save({"network": type(model).__name__, "config": asdict(model.config),
                "state": model.state_dict(), "notes": notes}, partial)
    partial.replace(path)


def load_model(path: Path) -> torch.nn.Module:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    network, config = NETWORKS[checkpoint["network"]]
    model = network(config(checkpoint["config"]))
    model.load_state_dict(checkpoint["state"])
    return model.eval()


@torch.no_grad()
def predict_offsets(models: list[torch.nn.Module], samples: np.ndarray, n_frames: int,
                    phones: torch.Tensor | None = None) -> np.ndarray:
    """16 kHz speech -> (n_frames, len(MOUTH_POINTS), 2) lip offsets in face-frame units, the mean
    of `models`' (one window of the speech at a time, into one array, so memory stays flat in its
    length). A model that reads phones takes them as (1, n_frames) indices of what was heard in
    `samples` (studio.networks.features.phone_indices of studio.speech.recognised_phones)."""
    level = windowed_level(samples, n_frames)
    offsets = np.zeros((n_frames, len(MOUTH_POINTS), 2), np.float32)
    for frames, kept, power in speech_windows(samples, n_frames):
        window = offsets[frames.start + kept.start:frames.start + kept.stop]
        for model in models:
            scaled, _, _ = model(model_input(power, model.config.features, level),
                                 None if phones is None else phones[:, frames])
            window += face_offsets(model, scaled[0, kept])
    offsets /= len(models)
    return offsets


def face_offsets(model: torch.nn.Module, scaled: torch.Tensor) -> np.ndarray:
    """A lip model's (T, 2K) output for one clip, in its scaled units -> (T, len(MOUTH_POINTS), 2)
    lip offsets in face-frame units."""
    return (scaled.numpy() * model.config.offset_scale).reshape(len(scaled), len(MOUTH_POINTS), 2)


def sync_score(syncnet: SyncNet, samples: np.ndarray, offsets: np.ndarray) -> Sync:
    """LSE-style sync of lip offsets (T, K, 2), real or generated, against 16 kHz speech."""
    mel = speech_features(samples, len(offsets), syncnet.config.features)
    lips = torch.from_numpy(offsets.reshape(len(offsets), -1).astype(np.float32))[None]
    return syncnet.sync(mel, lips / syncnet.config.offset_scale)
