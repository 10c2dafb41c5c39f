"""Voice and room augmentation on mel power, so the audio side meets more than GRID's one speaker
in one booth: vocal-tract (pitch and formant) warp, tempo, noise, reverberation, microphone colour
and gain. Working on mel power keeps it cheap enough to redo for every batch on one CPU core."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from studio.audio import HOP_LENGTH, MELS_PER_FRAME, SAMPLE_RATE

REVERB_FRAMES = 80  # 0.8 s of reverberation tail, in mel frames


@dataclass
class AugmentConfig:
    warp: float = 0.15  # vocal-tract warp factor range 1 +- warp (pitch and formants together)
    tempo: float = 0.15  # speaking rate range 1 +- tempo (lips are stretched with the audio)
    noise_snr_db: tuple[float, float] = (5.0, 40.0)  # SNR range of added noise, relative to speech
    reverb_rt60: tuple[float, float] = (0.15, 0.8)  # seconds
    colour_db: float = 8.0  # spectral tilt range (microphones and rooms)
    gain_db: float = 0.0  # level change range (matters only without loudness normalisation)
    # Each augmentation is applied to a clip with this probability. 0.25 leaves about a third of
    # the clips clean; at 0.5, memory-off at 1500 steps fell from 0.901 to 0.891 on grid-val and
    # from 0.251 to 0.204 on extra-val.
    probability: float = 0.25


def _uniform(low: float, high: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def _chosen(n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) < p).float()


def warp_vocal_tract(power: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Stretch each clip's mel axis by its factor (>1: a shorter vocal tract, higher voice)."""
    n_mels = power.shape[-1]
    source = torch.arange(n_mels, dtype=power.dtype)[None] / factor[:, None]  # (B, F)
    low = source.floor().clamp(0, n_mels - 1)
    high = (low + 1).clamp(max=n_mels - 1)
    w = (source - low).clamp(0, 1)[:, None]
    take = lambda index: torch.gather(power, 2, index.long()[:, None].expand(-1, power.shape[1], -1))
    return take(low) * (1 - w) + take(high) * w


def reverberate(power: torch.Tensor, rt60: torch.Tensor, wet: torch.Tensor) -> torch.Tensor:
    """Exponentially decaying tail of each band's power (a diffuse room), wet: tail/direct ratio."""
    batch, frames, n_mels = power.shape
    seconds = torch.arange(1, REVERB_FRAMES + 1, dtype=power.dtype) * HOP_LENGTH / SAMPLE_RATE
    tail = torch.exp(-13.8 * seconds[None] / rt60[:, None])  # -60 dB at rt60
    tail = wet[:, None] * tail / tail.sum(dim=1, keepdim=True)
    kernel = torch.cat([torch.zeros(batch, 1), tail], dim=1).flip(1)  # causal: only the past
    signal = F.pad(power.transpose(1, 2).reshape(1, batch * n_mels, frames), (REVERB_FRAMES, 0))
    weight = kernel.repeat_interleave(n_mels, dim=0)[:, None]
    smeared = F.conv1d(signal, weight, groups=batch * n_mels).reshape(batch, n_mels, frames)
    return power + smeared.transpose(1, 2)


def add_noise(power: torch.Tensor, snr_db: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Stationary noise with a random spectral slope, fluctuating from frame to frame."""
    batch, frames, n_mels = power.shape
    level = torch.quantile(power.sum(dim=-1), 0.95, dim=-1)
    slope = _uniform(-1.5, 0.5, batch, generator)[:, None] * torch.linspace(0, 1, n_mels)[None]
    shape = torch.exp(slope)
    shape = shape / shape.sum(dim=1, keepdim=True)
    noise = (level * 10 ** (-snr_db / 10))[:, None, None] * shape[:, None]
    return power + noise * (0.5 + torch.rand(batch, frames, n_mels, generator=generator))


def augment(power: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """(B, M, N_MELS) mel power of clips -> the same clips in other voices and rooms."""
    batch, _, n_mels = power.shape
    p = config.probability
    if config.warp:
        use = _chosen(batch, p, generator)
        power = warp_vocal_tract(power, 1 + use * _uniform(-config.warp, config.warp, batch, generator))
    tilt = _chosen(batch, p, generator) * _uniform(-config.colour_db, config.colour_db, batch, generator)
    gain = _chosen(batch, p, generator) * _uniform(-config.gain_db, config.gain_db, batch, generator)
    db = tilt[:, None] * torch.linspace(-0.5, 0.5, n_mels)[None] + gain[:, None]
    power = power * 10 ** (db[:, None] / 10)
    if config.reverb_rt60[1] > 0:
        wet = _chosen(batch, p, generator) * _uniform(0.2, 1.5, batch, generator)
        power = reverberate(power, _uniform(*config.reverb_rt60, batch, generator), wet)
    if config.noise_snr_db[1] > 0:
        snr = _uniform(*config.noise_snr_db, batch, generator)
        snr = torch.where(_chosen(batch, p, generator) > 0, snr, torch.full_like(snr, 200.0))
        power = add_noise(power, snr, generator)
    return power


def change_tempo(power: torch.Tensor, phones: torch.Tensor, lips: torch.Tensor, mask: torch.Tensor,
                 factor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Speak the whole batch `factor` times faster: audio (B, M, F), phone indices (B, T), lips
    (B, T, D), mask (B, T), resampled together so they stay on the frame-exact timeline
    (M = T * MELS_PER_FRAME)."""
    frames = max(8, round(lips.shape[1] / factor))
    stretch = lambda x, n: F.interpolate(x.transpose(1, 2), size=n, mode="linear",
                                         align_corners=False).transpose(1, 2)
    power = stretch(power, frames * MELS_PER_FRAME)
    phones = F.interpolate(phones[:, None].float(), size=frames, mode="nearest")[:, 0].long()  # labels
    lips = stretch(lips, frames)
    mask = stretch(mask[..., None], frames)[..., 0] > 0.999  # a frame next to a gap stays out
    return power, phones, lips, mask
