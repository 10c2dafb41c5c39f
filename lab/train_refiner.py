"""Train the mouth refiner (renderer v3) on CPU: `python -m lab.train_refiner [--crossval]`.

Samples are pairs of frames of one real clip: the reference frame is the photo, renderer v2 warps
it to the target frame's own lip landmarks, and the refiner learns to turn that warped mouth into
the target frame's real mouth. Targets come as neighbours (frames t and t+1), so a temporal term
can ask the refined mouth to change from frame to frame as much as the real one does, and no more:
a mouth that shimmers while the lips hold still reads as flicker. GRID's speaker and the other
people take half of each batch each (the other people weighted by person, not by clip), so one
face does not dominate. Augmentation changes what a new photo changes: colour and light, scale
and position, sharpness, JPEG.

    python -m lab.train_refiner             # -> models/mouth_refiner.pt, curves
    python -m lab.train_refiner --crossval  # and by person, 3 folds -> reports/refiner_crossval.md

The shipped refiner trains on grid-train and extra-train and validates on grid-val and extra-val
(people it never sees). The cross-validation trains one refiner per fold of the other people
(lab.crossval's folds) without that fold, and renders the fold's clips through the studio's
evaluation with renderers v3 and v2 beside the still photo.
"""
import argparse
import hashlib
import json
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from lab.crossval import FOLDS, folds_by_frames
from lab.dataset import CACHE, ROOT, Clip, cache_path, clip_landmarks, split
from lab.evaluate import IMAGE, REAL, STATIC, evaluate_clip, real_lip_offsets, renderer_table
from lab.measures import mouth_box
from lab.prepare import HELD_OUT_SPEAKERS, person
from lab.reports import write_report
from lab.train import in_parallel, optimise, write_curves
from studio.errors import StudioError
from studio.face import FaceMesh
from studio.geometry import FaceFrame
from studio.hub import MODELS
from studio.networks.checkpoint import load_model, save_model
from studio.networks.mouth_refiner import MouthRefiner, MouthRefinerConfig, feather
from studio.render import FramePose, PhotoRenderer
from studio.render.refinement import REFINER_FILE, MouthRefinement
from studio.video import read_frames

SAMPLES_VERSION = "2"  # bump when samples are made differently
OUT = CACHE / "refiner"
CURVES = ROOT / "reports" / "training"
REPORT = ROOT / "reports" / "refiner_crossval.md"
GRID_CLIPS = 200  # of grid-train (every other one); each gives GRID_PAIRS
GRID_PAIRS = (2, 10)  # reference frames per clip, targets per reference (in neighbour pairs)
OTHER_PAIRS = (6, 24)  # ... for each clip of another person
VAL_PAIRS = (1, 10)
JPEG_SHARE = 0.5  # references saved as JPEG first, as uploaded photos often are


@dataclass
class RefinerTraining:
    steps: int = 2500
    batch: int = 24
    learning_rate: float = 2e-3
    ssim_weight: float = 0.3
    mouth_weight: float = 3.0  # extra weight inside the evaluation's mouth box
    temporal_weight: float = 1.0  # the refined change between neighbour frames against the real one
    eval_every: int = 200
    seed: int = 1234


TRAINING = RefinerTraining()
CONFIG = MouthRefinerConfig()


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def pairs_of(clip: Clip, validation: bool = False) -> tuple[int, int]:
    """(reference frames, targets per reference) to sample from a clip."""
    return VAL_PAIRS if validation else GRID_PAIRS if clip.name.startswith("grid-s1/") else OTHER_PAIRS


def clip_samples(clip: Clip, pairs: tuple[int, int]) -> Path:
    """Make (once; cached) `pairs` = (references, targets each) samples of one clip; their path.
    Targets are drawn as neighbours, t then t+1, so samples 2i and 2i+1 share a reference. The
    clip's name seeds the draw, so every training that uses the clip sees the same samples."""
    key = json.dumps([SAMPLES_VERSION, asdict(CONFIG), pairs])
    path = cache_path("refiner-samples", clip, (clip.video,), key, ".npz")
    if path.exists():
        return path
    rng = np.random.default_rng(zlib.crc32(clip.name.encode()))
    frames = list(read_frames(str(clip.video)))
    landmarks = clip_landmarks(clip)[:len(frames)]
    faces = np.flatnonzero(np.isfinite(landmarks[:, 0, 0]))
    starts = faces[np.isin(faces + 1, faces)]  # frames whose next frame has a face too
    mesh, untrained = FaceMesh(), MouthRefiner(CONFIG)
    samples = {"warped": [], "photo": [], "geometry": [], "target": [], "box": [], "frame": []}
    for reference in rng.choice(faces, min(pairs[0], len(faces)), replace=False):
        photo = frames[reference]
        if rng.random() < JPEG_SHARE:
            photo = jpeg(photo, int(rng.integers(30, 90)))
        try:
            renderer = PhotoRenderer(photo, mesh.locate(photo).landmarks, "v2")
        except StudioError:
            continue
        refinement = MouthRefinement(renderer.mesh, photo, untrained)
        photo_crop = refinement.crop(renderer.frame_of_face).cut(photo)
        for target in (rng.choice(starts, pairs[1] // 2)[:, None] + [0, 1]).ravel():
            pose = FramePose(real_lip_offsets(landmarks[target:target + 1], renderer.rest_mouth)[0])
            _, warped, geometry = refinement.inputs(renderer.frame(pose), pose)
            truth = refinement.crop(FaceFrame.of(landmarks[target]))
            samples["warped"].append(warped)
            samples["photo"].append(photo_crop)
            samples["geometry"].append(np.round(geometry * 255).astype(np.uint8))
            samples["target"].append(truth.cut(frames[target]))
            samples["box"].append(mouth_box(truth.points(landmarks[target]), (CONFIG.size, CONFIG.size)))
            samples["frame"].append(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **{k: np.stack(v) for k, v in samples.items()})
    partial.replace(path)
    return path


@dataclass
class Samples:
    warped: torch.Tensor  # (N, 3, S, S) uint8
    photo: torch.Tensor
    geometry: torch.Tensor  # (N, 2, S, S) uint8
    target: torch.Tensor
    weight: torch.Tensor  # (N, 1, S, S) float: the loss weight per pixel
    group: np.ndarray  # (N,) who: the person of each sample, for balanced batches

    @classmethod
    def of(cls, clips: list[Clip], validation: bool = False) -> "Samples":
        parts = [dict(np.load(clip_samples(c, pairs_of(c, validation)))) for c in clips]
        def image(key: str) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([p[key] for p in parts])).permute(0, 3, 1, 2).contiguous()

        boxes = np.concatenate([p["box"] for p in parts])
        weight = torch.ones(len(boxes), 1, CONFIG.size, CONFIG.size)
        for w, (x0, y0, x1, y1) in zip(weight, boxes):
            w[:, y0:y1, x0:x1] += TRAINING.mouth_weight
        group = np.concatenate([[person(c.name)] * len(p["box"]) for c, p in zip(clips, parts)])
        return cls(image("warped"), image("photo"), image("geometry"), image("target"), weight, group)

    def __len__(self) -> int:
        return len(self.group)

    def take(self, index: np.ndarray) -> tuple[torch.Tensor, ...]:
        index = torch.from_numpy(index)
        return (self.warped[index].float() / 255, self.photo[index].float() / 255,
                self.geometry[index].float() / 255, self.target[index].float() / 255, self.weight[index])


def balanced_batches(samples: Samples, batch: int, rng: np.random.Generator):
    """Indices of endless batches of neighbour pairs (2i, 2i+1): half GRID's speaker, half the
    other people, each person alike."""
    first = np.arange(0, len(samples), 2)
    group = samples.group[first]
    is_grid = np.char.startswith(group.astype(str), "grid-s1/")
    grid = first[is_grid]
    people = [first[group == p] for p in sorted(set(group[~is_grid]))]
    pairs = batch // 2
    while True:
        half = pairs // 2
        others = [rng.choice(people[i]) for i in rng.integers(len(people), size=pairs - half)]
        starts = np.concatenate([rng.choice(grid, half), np.array(others, int)])
        yield (starts[:, None] + [0, 1]).ravel()


def augment(batch: tuple[torch.Tensor, ...], generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """The same random change of a new photo applied to every image of a neighbour pair: flip,
    scale, shift and tilt; colour, light and contrast; a softer image (a smaller or blurrier photo)."""
    warped, photo, geometry, target, weight = batch
    n, size = len(warped), warped.shape[-1]
    u = lambda *shape: torch.rand(shape[0] // 2, *shape[1:], generator=generator).repeat_interleave(2, 0)
    scale = 0.85 + 0.3 * u(n)
    angle = (u(n) - 0.5) * 0.2
    flip = torch.where(u(n) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = flip * torch.cos(angle) / scale, -torch.sin(angle) / scale
    theta[:, 1, 0], theta[:, 1, 1] = flip * torch.sin(angle) / scale, torch.cos(angle) / scale
    theta[:, :, 2] = (u(n, 2) - 0.5) * 0.12
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    move = lambda x: F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped, photo, geometry, target, weight = (move(x) for x in (warped, photo, geometry, target, weight))
    gain = (0.75 + 0.5 * u(n, 3, 1, 1)) * (0.8 + 0.4 * u(n, 1, 1, 1))
    gamma = 0.7 + 0.7 * u(n, 1, 1, 1)
    colour = lambda x: (x.clamp(1e-4, 1) ** gamma * gain).clamp(0, 1)
    warped, photo, target = colour(warped), colour(photo), colour(target)
    soft = u(n) < 0.35
    if soft.any():
        factor = float(0.35 + 0.45 * torch.rand(1, generator=generator))
        small = int(size * factor)
        blur = lambda x: F.interpolate(F.interpolate(x, size=small, mode="area"), size=size, mode="bilinear")
        warped[soft], photo[soft], target[soft] = blur(warped[soft]), blur(photo[soft]), blur(target[soft])
    return warped, photo, geometry, target, weight


def _gaussian(x: torch.Tensor) -> torch.Tensor:
    k = torch.exp(-0.5 * (torch.arange(11.0) - 5) ** 2 / 1.5 ** 2)
    k = (k / k.sum()).repeat(x.shape[1], 1, 1, 1)  # (C, 1, 1, 11): one row filter per channel
    x = F.conv2d(F.pad(x, (5, 5, 0, 0), mode="replicate"), k, groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, 5, 5), mode="replicate"), k.transpose(2, 3), groups=x.shape[1])


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM of luminance (Gaussian window, sigma 1.5), as lab.measures.ssim."""
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    x, y = (a * luma).sum(1, keepdim=True), (b * luma).sum(1, keepdim=True)
    mx, my = _gaussian(x), _gaussian(y)
    vx, vy, cxy = _gaussian(x * x) - mx ** 2, _gaussian(y * y) - my ** 2, _gaussian(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))


def blended(model: MouthRefiner, warped, photo, geometry, window: torch.Tensor) -> torch.Tensor:
    """What the studio pastes: the refined crop faded into the warp towards the crop's border."""
    refined, _ = model(warped, photo, geometry)
    return warped + window * (refined - warped)


def change(x: torch.Tensor) -> torch.Tensor:
    """From each neighbour pair's first frame to its second."""
    return x[1::2] - x[0::2]


def losses(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> dict[str, torch.Tensor]:
    total, first = weight.sum(), weight[0::2]
    return {"l1": ((output - target).abs() * weight).sum() / (3 * total),
            "ssim": TRAINING.ssim_weight * ((1 - ssim_map(output, target)) * weight).sum() / total,
            "temporal": TRAINING.temporal_weight
            * ((change(output) - change(target)).abs() * first).sum() / (3 * first.sum())}


@torch.no_grad()
def validate(model: MouthRefiner, samples: Samples, window: torch.Tensor) -> dict[str, float]:
    """On validation samples, in the mouth box: mean PSNR of the photo as it is (static), the warp
    (v2) and the refined warp (v3); and the mean absolute error of the change between neighbour
    frames (grey levels) of v2 and v3."""
    model.eval()
    sums = {f"val_{m}_{n}": 0.0 for m, n in [("psnr", "static"), ("psnr", "v2"), ("psnr", "v3"),
                                                ("change", "v2"), ("change", "v3")]}
    for start in range(0, len(samples), 64):  # even: pairs stay whole
        index = np.arange(start, min(start + 64, len(samples)))
        warped, photo, geometry, target, weight = samples.take(index)
        box = weight > 1
        output = blended(model, warped, photo, geometry, window)
        for name, image in (("static", photo), ("v2", warped), ("v3", output)):
            error = ((image - target) ** 2 * box).sum(dim=(1, 2, 3)) / (3 * box.sum(dim=(1, 2, 3)))
            sums[f"val_psnr_{name}"] += float((10 * torch.log10(1 / error.clamp(min=1e-10))).sum())
            if name != "static":
                first = box[0::2]
                error = ((change(image) - change(target)).abs() * first).sum(dim=(1, 2, 3))
                sums[f"val_change_{name}"] += 2 * 255 * float((error / (3 * first.sum(dim=(1, 2, 3)))).sum())
    model.train()
    return {k: round(v / len(samples), 3) for k, v in sums.items()}


def train(name: str, train_clips: list[Clip], val_clips: list[Clip], checkpoint: Path, curves: Path) -> Path:
    """One refiner from its fixed seed on `train_clips`, validated on `val_clips`, unless its
    checkpoint exists; curves go to <curves>/<name>.csv and .png."""
    if checkpoint.exists():
        return checkpoint
    torch.set_num_threads(1)
    torch.manual_seed(TRAINING.seed)
    rng = np.random.default_rng(TRAINING.seed)
    generator = torch.Generator().manual_seed(TRAINING.seed)
    data, val = Samples.of(train_clips), Samples.of(val_clips, validation=True)
    model = MouthRefiner(CONFIG)
    optimiser = torch.optim.AdamW(model.parameters(), TRAINING.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, TRAINING.learning_rate,
                                                   total_steps=TRAINING.steps, pct_start=0.05)
    window = torch.from_numpy(feather(CONFIG.size))[None, None]
    batches = balanced_batches(data, TRAINING.batch, rng)
    rows, running, logged, started = [], {}, 0, time.time()
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {len(data)} samples "
          f"({len(set(data.group))} people), {len(val)} validation samples", flush=True)
    for step in range(1, TRAINING.steps + 1):
        warped, photo, geometry, target, weight = augment(data.take(next(batches)), generator)
        terms = losses(blended(model, warped, photo, geometry, window), target, weight)
        optimise(model, optimiser, schedule, terms, running, 1)  # sums; divided when logged
        if step % TRAINING.eval_every == 0 or step == TRAINING.steps:
            rows.append({"step": step, "seconds": round(time.time() - started, 1),
                         **{k: round(v / (step - logged), 5) for k, v in running.items()},
                         **validate(model, val, window)})
            running, logged = {}, step
            print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    write_curves(name, rows, curves)
    save_model(model.eval(), checkpoint, run=name, steps=TRAINING.steps, seconds=round(time.time() - started),
               training=asdict(TRAINING), final=rows[-1])
    print(f"{name}: saved {checkpoint} ({checkpoint.stat().st_size / 1e6:.2f} MB)", flush=True)
    return checkpoint


def grid_clips(name: str) -> list[Clip]:
    return split(name)[::2][:GRID_CLIPS] if name == "grid-train" else split(name)[:20]


def other_people() -> list[Clip]:
    return split("extra-speakers")


def fold_of() -> dict[str, int]:
    """Person -> fold, as lab.crossval splits the other people."""
    frames = {c.name: len(clip_landmarks(c)) for c in other_people()}
    return folds_by_frames(frames)


def shipped_clips() -> tuple[list[Clip], list[Clip]]:
    others = other_people()
    return (grid_clips("grid-train") + [c for c in others if c.name not in HELD_OUT_SPEAKERS],
            grid_clips("grid-val") + [c for c in others if c.name in HELD_OUT_SPEAKERS])


def train_shipped() -> Path:
    return train("mouth_refiner", *shipped_clips(), MODELS / REFINER_FILE, CURVES)


def fold_checkpoint(fold: int, held: list[str]) -> Path:
    key = json.dumps([SAMPLES_VERSION, asdict(CONFIG), asdict(TRAINING), sorted(held)])
    return OUT / f"fold{fold}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.pt"


def train_fold(fold: int) -> Path:
    folds = fold_of()
    held = [c for c in other_people() if folds[person(c.name)] == fold]
    kept = [c for c in other_people() if c not in held]
    return train(f"refiner-fold{fold}", grid_clips("grid-train") + kept, held,
                 fold_checkpoint(fold, [c.name for c in held]), OUT)


def train_task(task: str | int) -> Path:
    """'shipped' or a fold: the cross-validation trains the shipped refiner beside its folds."""
    return train_shipped() if task == "shipped" else train_fold(task)


def make_samples(jobs: int) -> None:
    """Every sample any training here uses, `jobs` clips at a time (cached)."""
    training, validation = shipped_clips()
    tasks = [(c, pairs_of(c)) for c in training]
    tasks += [(c, pairs_of(c, validation=True)) for c in validation]
    tasks += [(c, pairs_of(c)) for c in other_people() if c.name in HELD_OUT_SPEAKERS]  # folds train on them
    tasks += [(c, pairs_of(c, validation=True)) for c in other_people() if c.name not in HELD_OUT_SPEAKERS]
    in_parallel(clip_samples, tasks, jobs)


def markdown(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """reports/refiner_crossval.md: mouth PSNR / SSIM of each driver through v3 and v2 on the
    held-out clips, and the paired differences with 95% bootstrap intervals over clips."""
    folds = fold_of()
    names = [n for n in next(iter(rows.values())) if n != REAL]
    columns = IMAGE + ("outside_diff", "silence_flicker", "detect", "open_corr", "lmd")
    mean = {n: {c: float(np.nanmean([r[n][c] for r in rows.values()])) for c in columns} for n in names}
    lines = ["# Mouth refiner cross-validated by person", "",
             f"The {len(rows)} clips of other people, split by person into {FOLDS} folds as lab.crossval "
             "splits them; one refiner trained per fold on grid-train and the other folds' people, then each "
             "held-out clip rendered through the studio's evaluation (frame 0 the photo, head still) with "
             "renderer v3 (that fold's refiner) and v2. `real-lips` drives the renderer with the clip's own "
             "landmarks; `hybrid` is the shipped default driver and `memory` its Audio-Lip Memory alone "
             "(their networks trained on these people's audio and lips, not on these refiners' "
             "held-out pixels); `static` is "
             "the photo, unchanged. aligned_psnr / aligned_ssim cut each frame's mouth box in its "
             "own face frame, so the real head's motion is not counted as mouth error "
             "(lab.measures.aligned_mouths).", "",
             "Command: `python -m lab.train_refiner --crossval`", "",
             "| row | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {n} | " + " | ".join(f"{mean[n][c]:.3f}" for c in columns) + " |" for n in names]
    lines += [""] + renderer_table(rows, ["v3", "v2"])
    drivers = sorted({n.split(" (")[0] for n in names} - {STATIC})
    lines += ["", "Per clip, aligned mouth PSNR: v3 / v2 (static):", "",
              "| clip | fold | " + " | ".join(drivers) + " |", "|---|---|" + "---|" * len(drivers)]
    for clip, r in rows.items():
        lines.append(f"| {clip.split('/')[-1]} | {folds[person(clip)]} | " + " | ".join(
            f"{r[f'{d} (v3)']['aligned_psnr']:.2f} / {r[f'{d} (v2)']['aligned_psnr']:.2f} "
            f"({r[STATIC]['aligned_psnr']:.2f})" for d in drivers) + " |")
    return "\n".join(lines) + "\n"


def crossval(jobs: int) -> None:
    from studio.drivers import DEFAULT_SPEECH_DRIVER, make_driver

    checkpoints = in_parallel(train_task, [("shipped",)] + [(fold,) for fold in range(FOLDS)], jobs)[1:]
    folds = fold_of()
    drivers = {name: make_driver(name) for name in (STATIC, DEFAULT_SPEECH_DRIVER, "memory")}
    mesh, rows = FaceMesh(), {}
    for clip in other_people():
        refiner = load_model(checkpoints[folds[person(clip.name)]])
        rows[clip.name] = evaluate_clip(clip, drivers, ["v3", "v2"], mesh, None, refiner)
        print(clip.name, " ".join(f"{n}={m['aligned_psnr']:.2f}" for n, m in rows[clip.name].items()),
              flush=True)
    write_report(REPORT, rows, markdown)
    print(f"wrote {REPORT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crossval", action="store_true",
                        help="also train a refiner per fold of people and measure it on the fold's people")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (one thread each)")
    args = parser.parse_args()
    make_samples(args.jobs)
    if args.crossval:
        crossval(args.jobs)
    else:
        train_shipped()


if __name__ == "__main__":
    main()
