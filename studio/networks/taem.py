"""TAEM (Choi et al. 2023): a Text-to-Audio Embedding Module that maps timed phonemes and a visual
speaker embedding into the frozen AudioEncoder's latent space, so the frozen AudioLipMemory and
LipDecoder turn text into lips exactly as they turn speech into lips.

    phones -> embedding -> conv encoder (+ speaker) -> transformer -> duration predictor
           -> length regulator (phone times -> 25 fps frames) -> dilated conv decoder -> latents

Phone times are in seconds, not whole frames: a GRID phone lasts 1-2 video frames, so the length
regulator gives each frame the phones it overlaps, weighted by how long they overlap it.
"""
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from studio.audio import FPS
from studio.hub import file_digest
from studio.networks.lip_decoder import ResidualBlock
from studio.networks.speaker import SPEAKER_DIM
from studio.phonemes import PHONE_INDEX, PHONES, SILENCE, Segment

MIN_PHONE_SECONDS = 0.01  # pocketsphinx's frame: the floor of every duration (and its log)


@dataclass
class TAEMConfig:
    dim: int = 128
    encoder_layers: int = 3  # kernel-5 conv blocks over phones: local context and position
    attention_layers: int = 2  # then whole-utterance context
    heads: int = 2
    speaker_dim: int = SPEAKER_DIM  # 0: no speaker conditioning (the ablation)
    decoder_dilations: tuple[int, ...] = (1, 2, 4, 8)  # kernel 3: +-15 frames = +-0.6 s (CALS)
    latent_dim: int = 96  # the frozen AudioEncoder's feature size
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> "TAEMConfig":
        return cls(**{**d, "decoder_dilations": tuple(d["decoder_dilations"])})


@dataclass
class PhoneBatch:
    """Timed phones of B utterances, padded: ids (B, N), start and end seconds (B, N), mask (B, N)."""

    ids: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def of(cls, utterances: list[list[Segment]]) -> "PhoneBatch":
        n = max(len(u) for u in utterances)
        ids = torch.zeros(len(utterances), n, dtype=torch.long)
        times = torch.zeros(2, len(utterances), n)
        mask = torch.zeros(len(utterances), n, dtype=torch.bool)
        for b, phones in enumerate(utterances):
            ids[b, :len(phones)] = torch.tensor([PHONE_INDEX.get(p.label, PHONE_INDEX[SILENCE])
                                                 for p in phones])
            times[:, b, :len(phones)] = torch.tensor([[p.start for p in phones], [p.end for p in phones]])
            mask[b, :len(phones)] = True
        return cls(ids, times[0], times[1], mask)

    def log_durations(self) -> torch.Tensor:
        return torch.log((self.ends - self.starts).clamp(min=MIN_PHONE_SECONDS))

    def retimed(self, log_durations: torch.Tensor) -> "PhoneBatch":
        """The same phones, end to end from 0 s, lasting exp(log_durations) seconds."""
        durations = torch.exp(log_durations) * self.mask
        ends = torch.cumsum(durations, dim=1)
        return PhoneBatch(self.ids, ends - durations, ends, self.mask)


def frame_weights(phones: PhoneBatch, n_frames: int) -> torch.Tensor:
    """(B, n_frames, N): the share of each video frame that each phone covers."""
    frame_start = torch.arange(n_frames, dtype=torch.float32)[None, :, None] / FPS
    overlap = (torch.minimum(phones.ends[:, None], frame_start + 1 / FPS)
               - torch.maximum(phones.starts[:, None], frame_start)).clamp(min=0)
    return overlap * FPS * phones.mask[:, None]


class ConvBlock(nn.Module):
    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Sequential(nn.Conv1d(dim, dim, 5, padding=2), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x + self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)) * mask[..., None]


class TAEM(nn.Module):
    def __init__(self, config: TAEMConfig):
        super().__init__()
        self.config = config
        d = config.dim
        self.embedding = nn.Embedding(len(PHONES), d)
        self.encoder = nn.ModuleList(ConvBlock(d, config.dropout) for _ in range(config.encoder_layers))
        if config.speaker_dim:
            self.speaker = nn.Linear(config.speaker_dim, d)
            # The training speakers' mean embedding: the speaker when no photo is given.
            self.register_buffer("speaker_mean", torch.zeros(config.speaker_dim))
        layer = nn.TransformerEncoderLayer(d, config.heads, 2 * d, config.dropout, batch_first=True,
                                           norm_first=True)
        self.context = nn.TransformerEncoder(layer, config.attention_layers, enable_nested_tensor=False)
        self.duration = nn.Sequential(nn.Conv1d(d, d, 3, padding=1), nn.GELU(), nn.Dropout(config.dropout),
                                      nn.Conv1d(d, 1, 1))
        self.decoder = nn.Sequential(*[ResidualBlock(d, k, config.dropout) for k in config.decoder_dilations])
        self.out = nn.Conv1d(d, config.latent_dim, 1)

    def encode(self, phones: PhoneBatch, speaker: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Phone encodings (B, N, dim) and predicted log durations in seconds (B, N)."""
        x = self.embedding(phones.ids)
        for block in self.encoder:
            x = block(x, phones.mask)
        if self.config.speaker_dim:
            if speaker is None:
                speaker = self.speaker_mean.expand(len(x), -1)
            x = x + self.speaker(speaker)[:, None]
        x = self.context(x, src_key_padding_mask=~phones.mask)
        log_durations = self.duration(x.transpose(1, 2))[:, 0]
        return x, log_durations

    def forward(self, phones: PhoneBatch, n_frames: int, speaker: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, n_frames, latent_dim) audio latents on the phones' own timing, and the predicted
        log durations (B, N) (the duration loss; inference without timing uses them)."""
        encoded, log_durations = self.encode(phones, speaker)
        frames = frame_weights(phones, n_frames) @ encoded
        latents = self.out(torch.nn.functional.gelu(self.decoder(frames.transpose(1, 2))))
        return latents.transpose(1, 2), log_durations

    @torch.no_grad()
    def predicted_timing(self, phones: PhoneBatch, speaker: torch.Tensor | None = None) -> PhoneBatch:
        """The phones timed by the duration predictor alone (no audio)."""
        return phones.retimed(self.encode(phones, speaker)[1])


# --- the frozen audio path, split at its latent (public submodules of SpeechToLips) ----------

def audio_latents(audio_model: nn.Module, model_input: torch.Tensor, phones: torch.Tensor) -> torch.Tensor:
    """(B, 4T, N_MELS) model input and (B, T) heard phones -> (B, T, dim) AudioEncoder latents:
    TAEM's target."""
    return audio_model.audio_encoder(model_input, phones)


def lips_from_latents(audio_model: nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """(B, T, dim) latents -> (B, T, 2K) scaled lip offsets through the memory and decoder."""
    if audio_model.config.use_memory:
        latents, _, _ = audio_model.memory(latents)
    return audio_model.decoder(latents)


def save_taem(model: TAEM, path: Path, audio_model_path: Path, **notes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"network": "TAEM", "config": asdict(model.config), "state": model.state_dict(),
                "audio_model": {"file": audio_model_path.name, "digest": file_digest(audio_model_path)},
                "notes": notes}, path)


def load_taem(path: Path) -> tuple[TAEM, dict]:
    """The model (eval mode) and the audio model it was trained against ({"file", "digest"})."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = TAEM(TAEMConfig.from_dict(checkpoint["config"]))
    model.load_state_dict(checkpoint["state"])
    return model.eval(), checkpoint["audio_model"]


def speaker_tensor(embedding: np.ndarray | None) -> torch.Tensor | None:
    return None if embedding is None else torch.from_numpy(np.asarray(embedding, np.float32))[None]
