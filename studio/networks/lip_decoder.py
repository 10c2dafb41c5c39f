"""LipDecoder: fused feature over +-0.6 s of phonetic context (CALS) -> per-frame lip offsets."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from studio.geometry import MOUTH_POINTS


@dataclass
class LipDecoderConfig:
    input_dim: int = 96
    channels: int = 96
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # kernel 3: +-15 frames = +-0.6 s at 25 fps
    dropout: float = 0.1


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, dilation: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout),
                                 nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
                                 nn.GELU(), nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class LipDecoder(nn.Module):
    """Non-causal on purpose: the whole recording is known, and lips move ahead of the sound."""

    def __init__(self, config: LipDecoderConfig):
        super().__init__()
        c = config.channels
        self.inp = nn.Conv1d(config.input_dim, c, 1)
        self.blocks = nn.Sequential(*[ResidualBlock(c, d, config.dropout) for d in config.dilations])
        self.out = nn.Conv1d(c, 2 * len(MOUTH_POINTS), 1)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        """(B, T, input_dim) -> (B, T, 2K) scaled lip offsets."""
        return self.out(F.gelu(self.blocks(self.inp(feature.transpose(1, 2))))).transpose(1, 2)
