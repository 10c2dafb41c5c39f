"""AudioEncoder: a window of log-mel frames around each video frame, and optionally the phones a
recogniser heard there, -> audio feature q."""
from dataclasses import dataclass

import torch
from torch import nn

from studio.audio import MELS_PER_FRAME, N_MELS
from studio.networks.features import NO_PHONE

FRAME_RATE_LAYERS = 6  # the layers up to the second stride-2 convolution and its activation


@dataclass
class AudioEncoderConfig:
    channels: int = 96
    dim: int = 96  # audio feature size
    frame_layers: int = 2  # kernel-3 layers at frame rate: each widens the window by +-1 frame
    dropout: float = 0.1
    phones: bool = False  # also read heard phones (lab.prepare.heard_phones in training)


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

    def forward(self, mel: torch.Tensor, phones: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T * MELS_PER_FRAME, N_MELS) model input and, if the config reads phones, (B, T)
        phone indices -> (B, T, dim)."""
        if not self.config.phones:
            return self.net(mel.transpose(1, 2)).transpose(1, 2)
        frames = self.net[:FRAME_RATE_LAYERS](mel.transpose(1, 2))
        frames = frames + self.phone_embedding(phones).transpose(1, 2)
        return self.net[FRAME_RATE_LAYERS:](frames).transpose(1, 2)
