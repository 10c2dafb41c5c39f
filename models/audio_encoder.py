"""AudioEncoder: a window of log-mel frames around each video frame, and optionally the phones a
recogniser heard there, -> audio feature q. Optionally, in training, the mel alone also predicts the
heard phones: an auxiliary target that keeps the mel path phonetic rather than tuned to one voice."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.features import NO_PHONE
from studio.audio import MELS_PER_FRAME, N_MELS


FRAME_RATE_LAYERS = 6  # the layers up to the second stride-2 convolution and its activation


@dataclass
class AudioEncoderConfig:
    channels: int = 96
    dim: int = 96  # audio feature size
    frame_layers: int = 2  # kernel-3 layers at frame rate: each widens the window by +-1 frame
    dropout: float = 0.1
    phones: bool = False  # also read heard phones (models.features.heard_phones)
    # Train the mel alone, at frame rate, to predict the heard phones (False in checkpoints before it).
    phone_target: bool = False


class AudioEncoder(nn.Module):
    """Fully convolutional: two stride-2 layers bring the 4 mel frames per video frame to one
    feature per frame, so each frame sees about +-(frame_layers + 1) frames of mel."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.config = config
        assert MELS_PER_FRAME == 4, "two stride-2 layers reach frame rate"
        c = config.channels
        layers = [nn.Conv1d(N_MELS, c, 3, padding=1), nn.GELU(),
                  nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU(),
                  nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU()]
        for _ in range(config.frame_layers):
            layers += [nn.Dropout(config.dropout), nn.Conv1d(c, c, 3, padding=1), nn.GELU()]
        layers.append(nn.Conv1d(c, config.dim, 1))
        self.net = nn.Sequential(*layers)
        if config.phones:  # added where the mel reaches frame rate, before the frame context
            self.phone_embedding = nn.Embedding(NO_PHONE + 1, c)
        if config.phone_target:
            self.phone_head = nn.Conv1d(c, NO_PHONE, 1)

    def forward(self, mel: torch.Tensor, phones: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T * MELS_PER_FRAME, N_MELS) model input and, if the config reads phones, (B, T)
        phone indices -> (B, T, dim)."""
        return self.encode(mel, phones)[0]

    def encode(self, mel: torch.Tensor, phones: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """As forward, and also the mel alone at frame rate (B, channels, T), before any phones join."""
        mel_frames = self.net[:FRAME_RATE_LAYERS](mel.transpose(1, 2))
        frames = mel_frames + self.phone_embedding(phones).transpose(1, 2) if self.config.phones else mel_frames
        return self.net[FRAME_RATE_LAYERS:](frames).transpose(1, 2), mel_frames

    def phone_target_loss(self, mel_frames: torch.Tensor, heard: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the phones predicted from the mel alone against the (B, T) heard ones;
        frames whose phones were hidden (NO_PHONE) do not count."""
        heard = heard.long()
        total = F.cross_entropy(self.phone_head(mel_frames), heard, ignore_index=NO_PHONE, reduction="sum")
        return total / (heard != NO_PHONE).sum().clamp(min=1)
