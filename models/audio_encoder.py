"""AudioEncoder: a window of log-mel frames around each video frame -> audio feature q."""
from dataclasses import dataclass

import torch
from torch import nn

from studio.audio import MELS_PER_FRAME, N_MELS


@dataclass
class AudioEncoderConfig:
    channels: int = 96
    dim: int = 96  # audio feature size
    frame_layers: int = 2  # kernel-3 layers at frame rate: each widens the window by +-1 frame
    dropout: float = 0.1


class AudioEncoder(nn.Module):
    """Fully convolutional: two stride-2 layers bring the 4 mel frames per video frame to one
    feature per frame, so each frame sees about +-(frame_layers + 1) frames of mel."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        assert MELS_PER_FRAME == 4, "two stride-2 layers reach frame rate"
        c = config.channels
        layers = [nn.Conv1d(N_MELS, c, 3, padding=1), nn.GELU(),
                  nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU(),
                  nn.Conv1d(c, c, 4, stride=2, padding=1), nn.GELU()]
        for _ in range(config.frame_layers):
            layers += [nn.Dropout(config.dropout), nn.Conv1d(c, c, 3, padding=1), nn.GELU()]
        layers.append(nn.Conv1d(c, config.dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, T * MELS_PER_FRAME, N_MELS) model input -> (B, T, dim)."""
        return self.net(mel.transpose(1, 2)).transpose(1, 2)
