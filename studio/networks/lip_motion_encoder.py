"""LipMotionEncoder (training only): a short window of real lip geometry -> lip feature v."""
from dataclasses import dataclass

import torch
from torch import nn

from studio.geometry import MOUTH_POINTS


@dataclass
class LipMotionEncoderConfig:
    window: int = 5  # frames (the published 5-frame lip window)
    channels: int = 96
    dim: int = 96


class LipMotionEncoder(nn.Module):
    def __init__(self, config: LipMotionEncoderConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2 * len(MOUTH_POINTS), config.channels, config.window, padding=config.window // 2),
            nn.GELU(), nn.Conv1d(config.channels, config.dim, 1))

    def forward(self, lips: torch.Tensor) -> torch.Tensor:
        """(B, T, 2K) scaled lip offsets -> (B, T, dim)."""
        return self.net(lips.transpose(1, 2)).transpose(1, 2)
