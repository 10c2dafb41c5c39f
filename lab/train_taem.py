"""Train TAEM against the frozen audio model: `python -m lab.train_taem [run ...]`.

Runs (each reproducible from its fixed seed and step count):
  taem             phonemes + the photo's speaker embedding: the shipped `taem` driver
  taem-no-speaker  the same without the speaker embedding (ablation)

Data: grid-s1 train (validation: grid-val) from `python -m lab.prepare` (real lips, mel) and
`python -m lab.taem_data` (phones timed by forced alignment, speaker embeddings). The audio model
models/audio_lip_memory.pt is loaded frozen; TAEM must be retrained whenever it changes (the
checkpoint records its digest and the driver refuses a mismatch). One thread, CPU.
"""
import argparse
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from lab import prepare, taem_data
from lab.measures import lagged_correlation
from lab.prepare import gap_of
from lab.train import ASSETS, CURVES, lip_losses, masked_mean, optimise, write_curves
from studio.drivers import taem as taem_driver
from studio.networks.checkpoint import face_offsets, load_model
from studio.networks.features import mel_power, model_input
from studio.networks.taem import TAEM, PhoneBatch, TAEMConfig, audio_latents, lips_from_latents, save_taem
from studio.phonemes import Segment

AUDIO_MODEL = ASSETS / taem_driver.AUDIO_MODEL
RUNS = {"taem": TAEMConfig(), "taem-no-speaker": TAEMConfig(speaker_dim=0)}
CHECKPOINTS = {"taem": ASSETS / "taem.pt", "taem-no-speaker": ASSETS / "ablation" / "taem_no_speaker.pt"}


@dataclass
class TAEMTrainConfig:
    steps: int = 1500
    batch: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    latent_weight: float = 1.0  # MSE of latents in units of their per-dimension std
    gap_weight: float = 1.0  # lip losses through the frozen memory and decoder (lab.train)
    velocity_weight: float = 1.0
    spread_weight: float = 1.0
    duration_weight: float = 0.1  # MSE of log seconds
    eval_every: int = 250
    seed: int = 1234


@dataclass
class Utterance:
    name: str
    phones: list[Segment]
    speaker: torch.Tensor  # (SPEAKER_DIM,)
    latents: torch.Tensor  # (T, latent_dim) frozen AudioEncoder on the real audio
    lips: torch.Tensor  # (T, 2K) real lip offsets / offset_scale, 0 where no face
    face: torch.Tensor  # (T,) 1 where the real frame shows a face
    opening: np.ndarray  # (T,) real `open`, for validation
    photo_rest: np.ndarray  # (K, 2) rest mouth of the first face frame


@torch.no_grad()
def utterances(split_name: str, audio_model) -> list[Utterance]:
    text = taem_data.load(split_name)
    out = []
    for clip in prepare.load(split_name):
        mel = model_input(mel_power(torch.from_numpy(clip.mel)[None]), audio_model.config.features)
        lips = clip.offsets.reshape(len(clip.offsets), -1) / audio_model.config.offset_scale
        phones, speaker = text[clip.name]
        latents = audio_latents(audio_model, mel, torch.from_numpy(clip.phones)[None])[0]
        out.append(Utterance(clip.name, phones, torch.from_numpy(speaker), latents,
                             torch.from_numpy(np.nan_to_num(lips)).float(),
                             torch.from_numpy(~np.isnan(lips).any(axis=1)).float(), clip.opening,
                             clip.photo_rest))
    return out


def collate(batch: list[Utterance]) -> tuple[PhoneBatch, torch.Tensor, torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor]:
    """Phones, speakers (B, S), and padded latents (B, T, D), lips (B, T, 2K), face mask and frame
    mask (B, T)."""
    n = max(len(u.latents) for u in batch)
    pad = lambda x: torch.nn.functional.pad(x, (0, 0) * (x.dim() - 1) + (0, n - len(x)))
    frames = torch.stack([pad(torch.ones(len(u.latents))) for u in batch])
    return (PhoneBatch.of([u.phones for u in batch]), torch.stack([u.speaker for u in batch]),
            torch.stack([pad(u.latents) for u in batch]), torch.stack([pad(u.lips) for u in batch]),
            torch.stack([pad(u.face) for u in batch]), frames)


def losses(model: TAEM, audio_model, batch: list[Utterance], latent_std: torch.Tensor,
           config: TAEMTrainConfig) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    phones, speaker, latents, lips, face, frames = collate(batch)
    predicted, log_durations = model(phones, latents.shape[1], speaker)
    lip_prediction = lips_from_latents(audio_model, predicted)
    result = {"latent": config.latent_weight * masked_mean(((predicted - latents) / latent_std) ** 2, frames)}
    result.update(lip_losses(lip_prediction, lips, face, config))
    result["duration"] = config.duration_weight * masked_mean(
        ((log_durations - phones.log_durations()) ** 2)[..., None], phones.mask.float())
    return result, lip_prediction


@torch.no_grad()
def validate(model: TAEM, audio_model, data: list[Utterance], latent_std: torch.Tensor,
             config: TAEMTrainConfig) -> dict[str, float]:
    """grid-val with its aligned phone timings: open_corr of whole clips and the latent loss."""
    model.eval()
    correlations, latent = [], []
    for start in range(0, len(data), config.batch):
        batch = data[start:start + config.batch]
        result, lips = losses(model, audio_model, batch, latent_std, config)
        latent.append(result["latent"].item())
        for u, scaled in zip(batch, lips):
            offsets = face_offsets(audio_model, scaled[:len(u.opening)])
            correlations.append(lagged_correlation(u.opening, gap_of(u.photo_rest + offsets), 0))
    model.train()
    return {"grid_val_open_corr": float(np.mean(correlations)), "grid_val_latent": float(np.mean(latent))}


def train(run: str, data: dict[str, list[Utterance]], audio_model, config: TAEMTrainConfig) -> None:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = TAEM(RUNS[run])
    train_set = data["grid-train"]
    latent_std = torch.cat([u.latents for u in train_set]).std(dim=0)
    if model.config.speaker_dim:
        model.speaker_mean.copy_(torch.stack([u.speaker for u in train_set]).mean(dim=0))
    optimiser = torch.optim.AdamW(model.parameters(), config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.steps,
                                                   pct_start=0.05)
    print(f"{run}: {sum(p.numel() for p in model.parameters())} parameters, {len(train_set)} clips",
          flush=True)
    rows, running, started = [], {}, time.time()
    model.train()
    for step in range(1, config.steps + 1):
        picks = torch.randint(len(train_set), (config.batch,), generator=generator)
        result, _ = losses(model, audio_model, [train_set[i] for i in picks], latent_std, config)
        optimise(model, optimiser, schedule, result, running, config.eval_every)
        if step % config.eval_every == 0 or step == config.steps:
            row = {"step": step, "seconds": round(time.time() - started, 1),
                   **{k: round(v, 5) for k, v in running.items()},
                   **validate(model, audio_model, data["grid-val"], latent_std, config)}
            rows.append(row)
            running = {}
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  flush=True)
    write_curves(run, rows, CURVES)
    save_taem(model, CHECKPOINTS[run], AUDIO_MODEL, run=run, seconds=round(time.time() - started),
              training=asdict(config), final=rows[-1])
    print(f"{run}: saved {CHECKPOINTS[run]} ({CHECKPOINTS[run].stat().st_size / 1e6:.1f} MB) "
          f"after {time.time() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", help=f"any of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--steps", type=int, default=TAEMTrainConfig.steps)
    args = parser.parse_args()
    if set(args.runs) - set(RUNS):
        parser.error(f"unknown runs: {', '.join(sorted(set(args.runs) - set(RUNS)))}")
    torch.set_num_threads(1)
    audio_model = load_model(AUDIO_MODEL).requires_grad_(False)  # eval mode: no dropout in the target
    data = {name: utterances(name, audio_model) for name in ("grid-train", "grid-val")}
    for run in args.runs or RUNS:
        train(run, data, audio_model, TAEMTrainConfig(steps=args.steps))


if __name__ == "__main__":
    main()
