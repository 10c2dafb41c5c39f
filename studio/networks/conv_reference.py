"""The plain reference of issue 3: a 0.3M-parameter 1D-conv from log-mel (about +-0.2 s of
context) straight to lip offsets, no memory, no long context."""
from dataclasses import dataclass, field

import torch
from torch import nn

from studio.networks.audio_encoder import AudioEncoder, AudioEncoderConfig
from studio.networks.features import FeatureConfig


@dataclass
class ConvReferenceConfig:
    offset_scale: float = 0.02
    # The reference reads the raw log-mel and learns loudness from gain augmentation.
    features: FeatureConfig = field(default_factory=lambda: FeatureConfig(normalise_loudness=False))
    # Kernel-3 layers at frame rate: +-(4 + 1) frames, about +-0.2 s.
    audio: AudioEncoderConfig = field(default_factory=lambda: AudioEncoderConfig(
        channels=112, dim=130, frame_layers=4, dropout=0.0))

    @classmethod
    def from_dict(cls, d: dict) -> "ConvReferenceConfig":
        return cls(d["offset_scale"], FeatureConfig(**d["features"]), AudioEncoderConfig(**d["audio"]))


class ConvReference(nn.Module):
    def __init__(self, config: ConvReferenceConfig):
        super().__init__()
        self.config = config
        self.net = AudioEncoder(config.audio)  # its last layer already maps to the 2K offsets

    def forward(self, mel: torch.Tensor, phones=None, lips=None,
                mask=None) -> tuple[torch.Tensor, None, dict]:
        return self.net(mel), None, {}
