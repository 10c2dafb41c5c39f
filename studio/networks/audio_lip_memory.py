"""AudioLipMemory (SyncTalkFace): key slots addressed by audio, value slots holding lip motion.

Training fills the values with lip features (lip addressing + reconstruction), keeps the lip
addressing to few slots per frame and many over all frames (`slot_entropy`), and pulls the audio
addressing onto the lip addressing (KL), so at inference audio alone retrieves the lip slot.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AudioLipMemoryConfig:
    slots: int = 64
    key_dim: int = 96
    value_dim: int = 96
    audio_dim: int = 96  # AudioEncoder feature size
    lip_dim: int = 96  # LipMotionEncoder feature size
    sharpness: float = 16.0  # r in softmax(r * cos): the published value
    # Share of training frames whose audio feature is hidden from the fusion, so the decoder must
    # read the retrieved lip feature instead of bypassing the memory (0 in checkpoints before it).
    audio_dropout: float = 0.0
    # Weight of `slot_entropy` on the lip addressing: without it the addressing stays near uniform
    # and the memory is a soft code, not a set of lip slots (0 in checkpoints before it).
    entropy_weight: float = 0.0


class AudioLipMemory(nn.Module):
    def __init__(self, config: AudioLipMemoryConfig):
        super().__init__()
        self.config = config
        self.keys = nn.Parameter(torch.randn(config.slots, config.key_dim))
        self.values = nn.Parameter(torch.randn(config.slots, config.value_dim))
        self.query = nn.Linear(config.audio_dim, config.key_dim)  # W_q
        self.lip_query = nn.Linear(config.lip_dim, config.value_dim)  # W_v
        self.fuse = nn.Linear(config.audio_dim + config.value_dim, config.audio_dim)

    def _address(self, query: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        cosine = F.normalize(query, dim=-1) @ F.normalize(slots, dim=-1).T
        return torch.log_softmax(self.config.sharpness * cosine, dim=-1)

    def audio_addressing(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, T, audio_dim) -> (B, T, slots) log-probabilities over the key slots."""
        return self._address(self.query(audio), self.keys)

    def lip_addressing(self, lip: torch.Tensor) -> torch.Tensor:
        """(B, T, lip_dim) -> (B, T, slots) log-probabilities over the value slots."""
        return self._address(self.lip_query(lip), self.values)

    def fused(self, audio: torch.Tensor, retrieved: torch.Tensor) -> torch.Tensor:
        """The decoder's input: the audio feature and a retrieved lip feature, fused."""
        return self.fuse(torch.cat([audio, retrieved], dim=-1))

    def forward(self, audio: torch.Tensor, lip: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """Fused feature (B, T, audio_dim) from the audio-retrieved lip feature. Given a lip
        feature and frame mask (training), also the fused feature from the lip-retrieved one and
        the memory losses; decoding both keeps the values informative: with the audio path alone
        the memory collapses to one slot, which reconstructs and aligns perfectly and says nothing."""
        log_a_k = self.audio_addressing(audio)
        if self.training and self.config.audio_dropout:
            kept = torch.rand(*audio.shape[:2], 1, device=audio.device) >= self.config.audio_dropout
            audio = audio * kept
        fused = self.fused(audio, log_a_k.exp() @ self.values)
        if lip is None:
            return fused, None, {}
        target = self.lip_query(lip)
        log_a_v = self._address(target, self.values)  # lip_addressing, reusing the query it needs
        recalled = log_a_v.exp() @ self.values
        reconstruction = ((recalled - target) ** 2).mean(dim=-1)
        kl = (log_a_v.exp() * (log_a_v - log_a_k)).sum(dim=-1)  # KL(a_v || a_k)
        mean = lambda x: (x * mask).sum() / mask.sum().clamp(min=1)
        fused_lip = self.fused(audio, recalled)
        losses = {"memory_reconstruction": mean(reconstruction), "memory_alignment": mean(kl)}
        if self.config.entropy_weight:
            losses["memory_entropy"] = self.config.entropy_weight * slot_entropy(log_a_v, mask)
        return fused, fused_lip, losses


def slot_entropy(log_a: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, slots) log-addressing -> the mean entropy of each frame's addressing plus how far the
    frames' joint slot usage falls short of uniform (both >= 0). Zero when each frame picks one
    slot and the frames spread evenly over all; the first part alone sends every frame to one slot."""
    a = log_a.exp()
    weight = mask[..., None] / mask.sum().clamp(min=1)
    per_frame = -(a * log_a * weight).sum()
    usage = (a * weight).sum(dim=(0, 1))
    return per_frame + math.log(log_a.shape[-1]) + (usage * torch.log(usage + 1e-9)).sum()
