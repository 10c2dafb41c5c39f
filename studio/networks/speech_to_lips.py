"""SpeechToLips: the audio path of the studio, AudioEncoder -> AudioLipMemory -> LipDecoder.

With `use_memory=False` the audio feature goes straight to the decoder: the ablation that shows
what the memory adds. The LipMotionEncoder is part of the model only to train the memory.
"""
from dataclasses import dataclass, field

import torch
from torch import nn

from studio.networks.audio_encoder import AudioEncoder, AudioEncoderConfig
from studio.networks.audio_lip_memory import AudioLipMemory, AudioLipMemoryConfig
from studio.networks.features import FeatureConfig
from studio.networks.lip_decoder import LipDecoder, LipDecoderConfig
from studio.networks.lip_motion_encoder import LipMotionEncoder, LipMotionEncoderConfig


@dataclass
class SpeechToLipsConfig:
    use_memory: bool = True
    offset_scale: float = 0.02  # face-frame units per output unit (set from the training targets)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    audio: AudioEncoderConfig = field(default_factory=lambda: AudioEncoderConfig(phones=True))
    lip: LipMotionEncoderConfig = field(default_factory=LipMotionEncoderConfig)
    memory: AudioLipMemoryConfig = field(default_factory=lambda: AudioLipMemoryConfig(audio_dropout=0.5,
                                                                                   entropy_weight=1.0))
    decoder: LipDecoderConfig = field(default_factory=LipDecoderConfig)

    @classmethod
    def from_dict(cls, d: dict) -> "SpeechToLipsConfig":
        parts = {"features": FeatureConfig, "audio": AudioEncoderConfig, "lip": LipMotionEncoderConfig,
                 "memory": AudioLipMemoryConfig, "decoder": LipDecoderConfig}
        return cls(**{k: parts[k](**v) if k in parts else v for k, v in d.items()})


class SpeechToLips(nn.Module):
    def __init__(self, config: SpeechToLipsConfig):
        super().__init__()
        self.config = config
        self.audio_encoder = AudioEncoder(config.audio)
        if config.use_memory:
            self.lip_encoder = LipMotionEncoder(config.lip)
            self.memory = AudioLipMemory(config.memory)
        self.decoder = LipDecoder(config.decoder)

    def forward(self, mel: torch.Tensor, phones: torch.Tensor | None = None, lips: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """(B, 4T, N_MELS) model input and (B, T) heard phones -> (B, T, 2K) scaled lip offsets.
        Given the real lips and their frame mask (training, with the memory): also the offsets
        decoded from the lip-retrieved memory feature, and the memory losses."""
        feature = self.audio_encoder(mel, phones)
        if not self.config.use_memory:
            return self.decoder(feature), None, {}
        lip_feature = None if lips is None else self.lip_encoder(lips)
        fused, fused_lip, losses = self.memory(feature, lip_feature, mask)
        return self.decoder(fused), None if fused_lip is None else self.decoder(fused_lip), losses
