"""Train the studio's learned lip drivers on CPU: `python -m lab.train [run ...]`.

Runs (all by default; each is reproducible from its fixed seed and step count):
  syncnet         SyncNet on real audio/lip pairs (the sync loss and the sync evaluator)
  memory          SpeechToLips with the Audio-Lip Memory: the shipped `memory` driver
  memory-2        the same from another seed: the `memory` driver averages the two
  memory-off      the same network and budget without the memory (ablation)
  memory-off-2    ... from another seed, averaged with it as `memory` is
  conv-reference  the plain 0.3M 1D-conv reference of issue 3 (grid-s1 only)

Data comes from `python -m lab.prepare` (cached). Curves go to reports/training/<run>.csv and
.png, checkpoints to models/. SyncNet first, then two trainings at a time, one thread each
(each is the same whether it runs alone or beside another).
"""
import argparse
import csv
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from lab import prepare
from lab.augment import AugmentConfig, augment, change_tempo
from lab.dataset import ROOT
from lab.measures import opening_measures
from lab.prepare import ClipData, gap_of
from studio.audio import MELS_PER_FRAME
from studio.drivers.memory import NETWORK_FILES, ConvReferenceDriver, MemoryDriver, MemoryOffDriver
from studio.geometry import LIP_LOWER_INNER_MID, LIP_UPPER_INNER_MID, MOUTH_INDEX, MOUTH_POINTS
from studio.hub import MODELS
from studio.networks.checkpoint import load_model, predict_offsets, save_model, sync_score
from studio.networks.conv_reference import ConvReference, ConvReferenceConfig
from studio.networks.features import NO_PHONE, mel_power, model_input
from studio.networks.speech_to_lips import SpeechToLips, SpeechToLipsConfig
from studio.networks.syncnet import SyncNet, SyncNetConfig

ASSETS = MODELS  # checkpoints are written where the studio reads shipped models
CHECKPOINTS = {"syncnet": ASSETS / "syncnet.pt"} | {run: ASSETS / name for run, name in NETWORK_FILES.items()}
CURVES = ROOT / "reports" / "training"
CHUNK_FRAMES = 75  # 3 s: one GRID utterance


@dataclass
class TrainConfig:
    steps: int = 1500  # the lip models' budget (why: RUN_TRAINING)
    batch: int = 24
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    extra_share: float = 0.25  # share of each batch from extra speakers (0: grid-s1 only)
    synthetic_share: float = 0.0  # share of each batch from lab.synthetic's pairs (another voice)
    synthetic_voices: tuple[str, ...] = ("joe",)  # whose pairs (lab.synthetic's voices), pooled
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    gap_weight: float = 1.0  # the inner-lip gap is what `open` measures
    spread_weight: float = 1.0  # how far the lips open over a chunk: unsure models shrink it
    phone_dropout: float = 0.2  # share of chunks whose heard phones are hidden: the mel must carry too
    velocity_weight: float = 1.0  # lip speed: keeps motion crisp instead of averaged
    memory_weight: float = 0.1
    sync_weight: float = 0.02  # each of audio-visual and visual-visual (published 0.2 vs L1 10)
    eval_every: int = 200
    seed: int = 1234
    ema_decay: float = 0.0  # > 0: validate and save a moving average of the weights, not the last step


RUN_TRAINING = {
    "syncnet": TrainConfig(steps=1000, learning_rate=1e-3, phone_dropout=0.0),
    # A moving average of the weights over about the last 500 steps. Cross-validated on the other
    # people (lab.crossval), it gained open_corr +0.012 [+0.005, +0.019] and LMD -0.31 over the
    # last step's weights, for -0.001 on grid-val.
    # 1500 steps, not 3000: past about step 1400 the networks fit GRID's one speaker (grid-val rose
    # 0.88 -> 0.91) while held-out people's open_corr fell (0.31 -> 0.15 in one fold). Cross-
    # validated, the two-network driver gained open_corr +0.032 [-0.004, +0.070] and LMD -0.79
    # [-1.07, -0.50] over 3000 steps; the folds' grid-val fell from 0.91 to 0.88.
    # A quarter of each batch is lab.synthetic's pairs: the bundled voice saying grid-train's
    # words, warped onto their timing, with the real lips. Cross-validated over three seed pairs
    # (reports/crossval_synthetic.md and the note of 2026-12-08) every pairing gained open_corr,
    # +0.025 [-0.002, +0.054] on average, for 0.006 to 0.013 lower grid-val open_corr in the fold
    # trainings (0.003 to 0.006 in the shipped ones); half the batch did worse.
    "memory": TrainConfig(ema_decay=0.998, synthetic_share=0.25),
    "memory-off": TrainConfig(ema_decay=0.998, synthetic_share=0.25),
    # As issue 3 measured it: grid-s1 only, mel only, speed, gain and noise augmentation.
    "conv-reference": TrainConfig(steps=1200, extra_share=0.0, sync_weight=0.0, spread_weight=0.0,
                                  phone_dropout=0.0,
                                  augment=AugmentConfig(warp=0.0, reverb_rt60=(0.0, 0.0), colour_db=0.0,
                                                        gain_db=20.0, probability=0.5)),
}
# Further members of a learned driver's ensemble: its first run's recipe, each from the next seed.
# Networks trained alike still err differently on a voice they never heard, and their mean errs
# less (lab.crossval).
LEARNED_DRIVERS = (MemoryDriver, MemoryOffDriver, ConvReferenceDriver)
ENSEMBLE_MEMBERS = {member: driver.runs[0] for driver in LEARNED_DRIVERS for member in driver.runs[1:]}
RUN_TRAINING.update({member: replace(RUN_TRAINING[driver.runs[0]], seed=RUN_TRAINING[driver.runs[0]].seed + k)
                     for driver in LEARNED_DRIVERS for k, member in enumerate(driver.runs[1:], 1)})
# Trials: a shipped run's network under another recipe, measured by lab.crossval, not shipped.
# Each changes memory's recipe, and is trained from both of its seeds (the trial and trial-2).
TRIAL_CHANGES = {
    "memory-no-synthetic": {"synthetic_share": 0.0},  # without lab.synthetic's pairs
    # pairs from two espeak-ng voices beside piper's, pooled in the same quarter
    "memory-voices": {"synthetic_voices": ("joe", "en-us+f3", "en-gb+m3")},
    "memory-phones-kept": {"phone_dropout": 0.0},  # the heard phones never hidden
}
# trial -> the run it varies; its recipe is in RUN_TRAINING.
TRIALS = {trial + suffix: "memory" + suffix for trial in TRIAL_CHANGES for suffix in ("", "-2")}
RUN_TRAINING.update({trial: replace(RUN_TRAINING[run], **TRIAL_CHANGES[trial.removesuffix("-2")])
                     for trial, run in TRIALS.items()})


class ChunkBank:
    """Clips cut into CHUNK_FRAMES-frame chunks, held as tensors: mel power (N, 4L, F), heard
    phones (N, L), scaled lip offsets (N, L, 2K) with 0 where no face, and the face mask (N, L)."""

    def __init__(self, clips: list[ClipData], offset_scale: float, stride: int):
        power, phones, lips, mask = [], [], [], []
        for clip in clips:
            for start in range(0, len(clip.opening) - CHUNK_FRAMES + 1, stride):
                frames = slice(start, start + CHUNK_FRAMES)
                offsets = clip.offsets[frames].reshape(CHUNK_FRAMES, -1) / offset_scale
                power.append(clip.mel[start * MELS_PER_FRAME:(start + CHUNK_FRAMES) * MELS_PER_FRAME])
                phones.append(clip.phones[frames])
                mask.append(~np.isnan(offsets).any(axis=1))
                lips.append(np.nan_to_num(offsets))
        self.power = mel_power(torch.from_numpy(np.stack(power)))
        self.phones = torch.from_numpy(np.stack(phones))
        self.lips = torch.from_numpy(np.stack(lips)).float()
        self.mask = torch.from_numpy(np.stack(mask))

    def __len__(self) -> int:
        return len(self.mask)


class Batches:
    """Random batches mixing GRID and extra speakers, augmented afresh every time."""

    def __init__(self, grid: ChunkBank, extra: ChunkBank | None, config: TrainConfig,
                 generator: torch.Generator, synthetic: ChunkBank | None = None):
        self.grid, self.extra, self.synthetic, self.config = grid, extra, synthetic, config
        self.generator = generator

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mel power (B, 4T, F), heard phones (B, T), scaled lips (B, T, 2K), mask (B, T)."""
        n_extra = round(self.config.batch * self.config.extra_share) if self.extra else 0
        n_synthetic = round(self.config.batch * self.config.synthetic_share) if self.synthetic else 0
        parts = [(self.grid, self.config.batch - n_extra - n_synthetic), (self.extra, n_extra),
                 (self.synthetic, n_synthetic)]
        picks = [(bank, torch.randint(len(bank), (n,), generator=self.generator))
                 for bank, n in parts if n]
        power, phones, lips, mask = (torch.cat([getattr(bank, name)[index] for bank, index in picks])
                                     for name in ("power", "phones", "lips", "mask"))
        tempo = self.config.augment.tempo
        if tempo:
            factor = 1 + tempo * (2 * float(torch.rand(1, generator=self.generator)) - 1)
            power, phones, lips, mask = change_tempo(power, phones, lips, mask.float(), factor)
        power = augment(power, self.config.augment, self.generator)
        if self.config.phone_dropout:
            hidden = torch.rand(len(phones), generator=self.generator) < self.config.phone_dropout
            phones = torch.where(hidden[:, None], NO_PHONE, phones)
        return power, phones, lips, mask.float()


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over frames where mask is 1; values (B, T, ...) reduced over trailing dims first."""
    per_frame = values.reshape(*mask.shape, -1).mean(dim=-1)
    return (per_frame * mask).sum() / mask.sum().clamp(min=1)


def inner_gap(lips: torch.Tensor) -> torch.Tensor:
    """(B, T, 2K) -> (B, T, 2): lower minus upper inner-lip midpoint (the offsets of `open`)."""
    points = lips.reshape(*lips.shape[:2], len(MOUTH_POINTS), 2)
    return points[:, :, MOUTH_INDEX[LIP_LOWER_INNER_MID]] - points[:, :, MOUTH_INDEX[LIP_UPPER_INNER_MID]]


def spread(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) -> (B, D) standard deviation over the frames where mask (B, T) is 1."""
    weight = mask[..., None] / mask.sum(dim=1).clamp(min=1)[:, None, None]
    mean = (values * weight).sum(dim=1, keepdim=True)
    return (((values - mean) ** 2 * weight).sum(dim=1) + 1e-8).sqrt()


def lip_losses(predicted: torch.Tensor, real: torch.Tensor, mask: torch.Tensor,
               config) -> dict[str, torch.Tensor]:
    """Shared by every lip training (lab.train, lab.train_taem); `config` gives the weights."""
    both = mask[:, 1:] * mask[:, :-1]
    predicted_gap, real_gap = inner_gap(predicted), inner_gap(real)
    return {
        "l1": masked_mean((predicted - real).abs(), mask),
        "gap": config.gap_weight * masked_mean((predicted_gap - real_gap).abs(), mask),
        "velocity": config.velocity_weight * masked_mean(
            (predicted.diff(dim=1) - real.diff(dim=1)).abs(), both),
        "spread": config.spread_weight * (spread(predicted_gap, mask) - spread(real_gap, mask)).abs().mean(),
    }


def sync_losses(syncnet: SyncNet, mel: torch.Tensor, predicted: torch.Tensor, real: torch.Tensor,
                mask: torch.Tensor, weight: float) -> dict[str, torch.Tensor]:
    """SyncTalkFace's two sync losses through the frozen SyncNet: generated lips against the
    audio, and against the real lips."""
    audio, generated = syncnet(mel, predicted)
    real_embedding = syncnet.lip_embedding(real)
    return {"sync_av": weight * masked_mean(1 - (audio * generated).sum(-1), mask),
            "sync_vv": weight * masked_mean(1 - (real_embedding * generated).sum(-1), mask)}


@torch.no_grad()
def validate(model, clips: list[ClipData]) -> tuple[float, float, float]:
    """Mean open_corr, L1 (face-frame units x 1000) and amplitude (std ratio of `open`) of whole
    clips."""
    model.eval()
    measures, errors = [], []
    for clip in clips:
        phones = torch.from_numpy(clip.phones)[None]
        offsets = predict_offsets([model], clip.samples, len(clip.offsets), phones)
        measures.append(opening_measures(clip.opening, gap_of(clip.photo_rest + offsets)))
        errors.append(np.nanmean(np.abs(offsets - clip.offsets)) * 1000)
    model.train()
    mean = lambda key: float(np.mean([m[key] for m in measures]))
    return mean("open_corr"), float(np.mean(errors)), mean("amplitude")


@torch.no_grad()
def validate_sync(syncnet: SyncNet, clips: list[ClipData]) -> tuple[float, float]:
    """Share of clips whose real lips SyncNet finds in sync, and their mean confidence."""
    syncnet.eval()
    results = [sync_score(syncnet, clip.samples, np.nan_to_num(clip.offsets)) for clip in clips]
    syncnet.train()
    return float(np.mean([r.offset == 0 for r in results])), float(np.mean([r.confidence for r in results]))


def build(run: str, offset_scale: float):
    if run == "syncnet":
        return SyncNet(SyncNetConfig(offset_scale=offset_scale))
    if run == "conv-reference":
        return ConvReference(ConvReferenceConfig(offset_scale=offset_scale))
    run = TRIALS.get(run, run)
    use_memory = ENSEMBLE_MEMBERS.get(run, run) == "memory"
    return SpeechToLips(SpeechToLipsConfig(use_memory=use_memory, offset_scale=offset_scale))


def optimise(model, optimiser, schedule, losses: dict, running: dict, every: int) -> None:
    """One step on the summed losses (gradients clipped at norm 1), adding to their running means
    over `every` steps."""
    optimiser.zero_grad()
    sum(losses.values()).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimiser.step()
    schedule.step()
    for k, v in losses.items():
        running[k] = running.get(k, 0.0) + v.item() / every


def train(run: str, data: dict[str, list[ClipData]], offset_scale: float, checkpoint: Path | None = None,
          curves: Path = CURVES) -> Path:
    """Train `run` with its recipe on data's grid-train and extra-train, validating on grid-val and
    on extra-val when data has it; returns the checkpoint (CHECKPOINTS[run] unless given)."""
    config = RUN_TRAINING[run]
    checkpoint = checkpoint or CHECKPOINTS[run]
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build(run, offset_scale)
    averaged = None
    if config.ema_decay:
        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))
    kept = averaged.module if averaged else model  # what is validated and saved
    grid = ChunkBank(data["grid-train"], offset_scale, CHUNK_FRAMES)
    extra = ChunkBank(data["extra-train"], offset_scale, CHUNK_FRAMES // 3) if config.extra_share else None
    synthetic = None
    if config.synthetic_share:
        from lab import synthetic as synthetic_pairs

        synthetic = ChunkBank(synthetic_pairs.load(config.synthetic_voices), offset_scale, CHUNK_FRAMES)
    batches = Batches(grid, extra, config, generator, synthetic)
    syncnet = None
    if run != "syncnet" and config.sync_weight:
        syncnet = load_model(CHECKPOINTS["syncnet"]).requires_grad_(False)
    optimiser = torch.optim.AdamW(model.parameters(), config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.steps,
                                                   pct_start=0.05)
    rows, running, started = [], {}, time.time()
    print(f"{run}: {sum(p.numel() for p in model.parameters())} parameters, {len(grid)} grid chunks"
          + (f", {len(extra)} extra-speaker chunks" if extra else "")
          + (f", {len(synthetic)} synthetic chunks" if synthetic else ""), flush=True)
    model.train()
    for step in range(1, config.steps + 1):
        power, phones, lips, mask = batches.next()
        mel = model_input(power, model.config.features)
        if run == "syncnet":
            losses = {"contrastive": model.contrastive_loss(mel, lips, mask)}
        else:
            predicted, recalled, losses = model(mel, phones, lips, mask)
            losses = {k: config.memory_weight * v for k, v in losses.items()}
            losses.update(lip_losses(predicted, lips, mask, config))
            if recalled is not None:
                recall = lip_losses(recalled, lips, mask, config)
                losses.update({f"recalled_{k}": v for k, v in recall.items()})
            if syncnet is not None:
                losses.update(sync_losses(syncnet, model_input(power, syncnet.config.features),
                                          predicted, lips, mask, config.sync_weight))
        optimise(model, optimiser, schedule, losses, running, config.eval_every)
        if averaged:
            averaged.update_parameters(model)
        if step % config.eval_every == 0 or step == config.steps:
            row = {"step": step, "seconds": round(time.time() - started, 1),
                   **{k: round(v, 5) for k, v in running.items()}}
            if run == "syncnet":
                row["grid_val_in_sync"], row["grid_val_confidence"] = validate_sync(kept, data["grid-val"])
            else:
                for split_name in [s for s in ("grid-val", "extra-val") if s in data]:
                    prefix = split_name.replace("-", "_")
                    (row[f"{prefix}_open_corr"], row[f"{prefix}_l1"],
                     row[f"{prefix}_amplitude"]) = validate(kept, data[split_name])
            rows.append(row)
            running = {}
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  flush=True)
    write_curves(run, rows, curves)
    save_model(kept, checkpoint, run=run, steps=config.steps, seconds=round(time.time() - started),
               training=asdict(config), final=rows[-1])
    print(f"{run}: saved {checkpoint} ({checkpoint.stat().st_size / 1e6:.1f} MB) "
          f"after {time.time() - started:.0f} s", flush=True)
    return checkpoint


def write_curves(run: str, rows: list[dict], curves: Path) -> None:
    """A training's logged rows as <curves>/<run>.csv and a plot of them as <run>.png."""
    curves.mkdir(parents=True, exist_ok=True)
    with open(curves / f"{run}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot_curves(run, rows, curves)


def plot_curves(run: str, rows: list[dict], curves: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    losses = [k for k in rows[0] if k not in ("step", "seconds") and "val" not in k]
    checks = [k for k in rows[0] if "val" in k]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for k in losses:
        left.plot(steps, [r[k] for r in rows], label=k)
    for k in checks:
        right.plot(steps, [r[k] for r in rows], label=k)
    left.set(title=f"{run}: training losses", xlabel="step", yscale="log")
    right.set(title="validation", xlabel="step")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(curves / f"{run}.png", dpi=90)
    plt.close(figure)


def target_scale(clips: list[ClipData]) -> float:
    """Standard deviation of the lip offsets: the models' output unit."""
    return float(np.nanstd(np.concatenate([c.offsets.ravel() for c in clips])))


def shipped_data() -> tuple[dict[str, list[ClipData]], float]:
    """The shipped models' training data, and their output unit (lab.prepare caches it)."""
    data = {name: prepare.load(name) for name in ("grid-train", "grid-val")}
    # The shipped models learn from every clip of other people: with half of them, lips were
    # clearly further from the real ones (cross-validated LMD -0.92 [-1.49, -0.33] for all against
    # half), and lab.crossval measures the recipe on people it never saw.
    data["extra-train"] = prepare.load("extra-train") + prepare.load("extra-val")
    return data, round(target_scale(data["grid-train"]), 4)


def train_shipped(run: str) -> Path:
    """Train `run` into its shipped checkpoint, on one thread."""
    torch.set_num_threads(1)
    return train(run, *shipped_data())


def build_missing(runs: list[str]) -> None:
    """Build every cache that `runs` read and that is missing (clip features, synthetic pairs),
    here and once, so that trainings running in parallel only read them."""
    prepare.build_missing()
    voices = {voice for run in runs if RUN_TRAINING[run].synthetic_share
              for voice in RUN_TRAINING[run].synthetic_voices}
    if voices:
        from lab import synthetic

        synthetic.load(tuple(sorted(voices)))


def in_parallel(function, tasks: list[tuple], jobs: int) -> list:
    """function(*task) for every task, `jobs` at a time, each worker a fresh process (spawned, not
    forked: a fork of a process that has run torch's thread pool can hang)."""
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(function, *zip(*tasks)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shipped = [run for run in RUN_TRAINING if run in CHECKPOINTS]  # trials train in lab.crossval only
    parser.add_argument("runs", nargs="*", help=f"any of {', '.join(shipped)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (one thread each)")
    args = parser.parse_args()
    if set(args.runs) - set(shipped):
        parser.error(f"unknown runs: {', '.join(sorted(set(args.runs) - set(shipped)))}")
    runs = args.runs or shipped
    build_missing(runs)
    if "syncnet" in runs:  # first: the other runs' sync loss reads it
        train_shipped("syncnet")
    in_parallel(train_shipped, [(run,) for run in runs if run != "syncnet"], args.jobs)


if __name__ == "__main__":
    main()
