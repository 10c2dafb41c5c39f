"""SyncNet: embeddings of an audio window and a lip-geometry window that agree when in sync.

Trained contrastively: each audio window must pick its own lip window among the same clip's lip
windows shifted by up to +-max_offset frames. Serves as the audio-visual and visual-visual sync
losses, and as an LSE-style sync evaluator (offset, distance and confidence).
"""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from studio.geometry import MOUTH_POINTS
from studio.networks.audio_encoder import AudioEncoder, AudioEncoderConfig
from studio.networks.features import FeatureConfig


@dataclass
class SyncNetConfig:
    dim: int = 64
    channels: int = 96
    window: int = 5  # frames of lips (and about as much audio) per embedding
    max_offset: int = 7  # frames: the LSE search range
    temperature: float = 0.1
    offset_scale: float = 0.02  # face-frame units per lip input unit
    features: FeatureConfig = field(default_factory=FeatureConfig)

    @classmethod
    def from_dict(cls, d: dict) -> "SyncNetConfig":
        return cls(**{**d, "features": FeatureConfig(**d["features"])})


@dataclass
class Sync:
    offset: int  # frames the lips are shifted against the audio (0: in sync)
    distance: float  # embedding distance at that offset (LSE-D)
    confidence: float  # median minus minimum distance over offsets (LSE-C)


class SyncNet(nn.Module):
    def __init__(self, config: SyncNetConfig):
        super().__init__()
        self.config = config
        self.audio = AudioEncoder(AudioEncoderConfig(config.channels, config.dim,
                                                     frame_layers=config.window // 2, dropout=0.0))
        pad = config.window // 2
        self.lips = nn.Sequential(
            nn.Conv1d(2 * len(MOUTH_POINTS), config.channels, config.window, padding=pad), nn.GELU(),
            nn.Conv1d(config.channels, config.channels, 1), nn.GELU(),
            nn.Conv1d(config.channels, config.dim, 1))

    def forward(self, mel: torch.Tensor, lips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 4T, N_MELS) model input, (B, T, 2K) scaled offsets -> unit embeddings (B, T, dim)."""
        audio = F.normalize(self.audio(mel), dim=-1)
        return audio, self.lip_embedding(lips)

    def lip_embedding(self, lips: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.lips(lips.transpose(1, 2)).transpose(1, 2), dim=-1)

    def shifted_similarity(self, audio: torch.Tensor, lips: torch.Tensor) -> torch.Tensor:
        """(B, T', 2S+1) cosine of audio frame t with lip frame t + s, s = -S..S, for the frames
        t = S..T-S-1 where every shift exists."""
        s, frames = self.config.max_offset, audio.shape[1]
        return torch.stack([(audio[:, s:frames - s] * lips[:, s + k:frames - s + k]).sum(-1)
                            for k in range(-s, s + 1)], dim=-1)

    def contrastive_loss(self, mel: torch.Tensor, lips: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """In-sync pair against the shifted ones; frames without a face (mask 0) left out."""
        s = self.config.max_offset
        similarity = self.shifted_similarity(*self(mel, lips)) / self.config.temperature
        target = torch.full(similarity.shape[:2], s, dtype=torch.long)
        loss = F.cross_entropy(similarity.transpose(1, 2), target, reduction="none")
        valid = mask[:, s:mask.shape[1] - s].float()
        return (loss * valid).sum() / valid.sum().clamp(min=1)

    @torch.no_grad()
    def sync(self, mel: torch.Tensor, lips: torch.Tensor) -> Sync:
        """LSE-style sync of one clip: (1, 4T, N_MELS) model input, (1, T, 2K) scaled offsets."""
        audio, lip = self(mel, lips)
        distance = torch.sqrt((2 - 2 * self.shifted_similarity(audio, lip)).clamp(min=0))
        mean = distance[0].mean(dim=0)  # per offset
        best = int(mean.argmin())
        return Sync(best - self.config.max_offset, float(mean[best]), float(mean.median() - mean[best]))
