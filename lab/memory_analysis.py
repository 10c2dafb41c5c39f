"""What the Audio-Lip Memory learned, as SyncTalkFace analyses it: `python -m lab.memory_analysis`.

Of the memory driver's networks it analyses the first, the one TAEM reprograms into, on grid-val
(never the test split), and the same recipe on people it never heard: each cross-validation fold's
network (lab.crossval, trained there unless cached) on that fold's held-out people. For each: the
entropy of the audio addressing (low: each frame picks a few slots), that of the real lips' own
addressing and how often audio picks the same top slot (whether the memory recalls the lip motion
that the real lips would have addressed), what the decoder reads (open_corr with the audio feature
hidden, or with the memory replaced by its mean) and how often each slot is the most addressed one.
On grid-val also which phones (forced alignment of the GRID transcript) each frequently used slot
answers to. Writes reports/training/memory_analysis.md.
"""
from collections import Counter

import numpy as np
import torch

from lab import crossval, prepare
from lab.dataset import ROOT
from lab.measures import opening_measures
from lab.prepare import ClipData, gap_of
from lab.reports import write_report
from studio.alignment import force_align
from studio.drivers.memory import NETWORK_FILES
from studio.hub import model_file
from studio.networks.checkpoint import face_offsets, load_model
from studio.networks.features import speech_features
from studio.phonemes import frame_phones

REPORT = ROOT / "reports" / "training" / "memory_analysis"
RUN = "memory"
TOP_SLOTS = 16
TOP_PHONES = 4


def entropy_of(addressing: np.ndarray) -> np.ndarray:
    """(T, slots) probabilities -> (T,) entropy in nats."""
    return -(addressing * np.log(addressing + 1e-12)).sum(axis=1)


def reliance_inputs(memory, audio: torch.Tensor, retrieved: torch.Tensor) -> dict[str, torch.Tensor]:
    """The fused decoder input as the model makes it, with the audio feature hidden (what training's
    audio dropout shows the decoder), and with the retrieved lip feature replaced by the values'
    mean (what is left of the audio without the memory)."""
    return {"as made": memory.fused(audio, retrieved),
            "audio feature hidden": memory.fused(torch.zeros_like(audio), retrieved),
            "memory replaced by its mean": memory.fused(audio, memory.values.mean(0).expand_as(retrieved))}


@torch.no_grad()
def clip_addressing(model, data: ClipData) -> dict:
    """One clip through one network: per frame its audio addressing's entropy and top slot, and
    where a face is, the lips' own addressing's entropy and whether audio picks the lips' top slot;
    the clip's open_corr for each of reliance_inputs."""
    n_frames = len(data.opening)
    audio = model.audio_encoder(speech_features(data.samples, n_frames, model.config.features),
                                torch.from_numpy(data.phones)[None])
    weights = model.memory.audio_addressing(audio).exp()
    addressing = weights[0].numpy()
    best = addressing.argmax(axis=1)
    face = ~np.isnan(data.offsets).any(axis=(1, 2))
    lips = torch.from_numpy(np.nan_to_num(data.offsets).reshape(n_frames, -1) / model.config.offset_scale)
    lip_addressing = model.memory.lip_addressing(model.lip_encoder(lips[None].float()))[0].exp().numpy()[face]
    reliance = {}
    for name, hidden in reliance_inputs(model.memory, audio, weights @ model.memory.values).items():
        opening = gap_of(data.photo_rest + face_offsets(model, model.decoder(hidden)[0]))
        reliance[name] = opening_measures(data.opening, opening)["open_corr"]
    return {"entropy": entropy_of(addressing), "best": best, "lip_entropy": entropy_of(lip_addressing),
            "lip_best": lip_addressing.argmax(axis=1), "face_best": best[face], "reliance": reliance}


def summary(results: list[dict], slots: int) -> dict:
    """The clips' per-frame figures pooled, their open_corr averaged over clips. Chance agreement:
    what it would be if the audio's top slot were drawn apart from the lips', each as often as it is."""
    entropy = np.concatenate([r["entropy"] for r in results])
    usage = np.bincount(np.concatenate([r["best"] for r in results]), minlength=slots)
    audio_top, lip_top = (np.concatenate([r[key] for r in results]) for key in ("face_best", "lip_best"))
    chance = np.bincount(audio_top, minlength=slots) @ np.bincount(lip_top, minlength=slots)
    return {"clips": len(results), "entropy_mean": float(entropy.mean()),
            "entropy_median": float(np.median(entropy)),
            "lip_entropy_mean": float(np.concatenate([r["lip_entropy"] for r in results]).mean()),
            "agreement": float(np.mean(audio_top == lip_top)),
            "chance_agreement": float(chance / len(lip_top) ** 2),
            "reliance": {name: float(np.mean([r["reliance"][name] for r in results]))
                         for name in results[0]["reliance"]},
            "slots_used": int((usage > 0).sum()), "usage": usage.tolist()}


def grid_val() -> dict:
    """The shipped network on grid-val, with the phones each much-used slot answers to."""
    model = load_model(model_file(NETWORK_FILES[RUN]))
    results, phones_of = [], {}
    for clip, data in zip(prepare.clips("grid-val"), prepare.load("grid-val")):
        results.append(clip_addressing(model, data))
        _, phones = force_align(data.samples, clip.transcript)
        for slot, phone in zip(results[-1]["best"], frame_phones(phones, len(data.opening))):
            phones_of.setdefault(int(slot), Counter())[phone] += 1
    report = summary(results, model.config.memory.slots)
    usage = np.array(report["usage"])
    top = [int(s) for s in np.argsort(usage)[::-1][:TOP_SLOTS] if usage[s]]
    report["top_slots"] = [{"slot": s, "frames": int(usage[s]), "total": sum(phones_of[s].values()),
                            "phones": phones_of[s].most_common(TOP_PHONES)} for s in top]
    return report


def never_heard() -> list[dict]:
    """Each cross-validation fold's network on that fold's held-out people."""
    people = crossval.other_people()
    fold_of = crossval.folds(people)
    rows = []
    for fold in range(crossval.FOLDS):
        model = load_model(crossval.train_fold(RUN, fold))
        held = [data for clip, data in people if fold_of[prepare.person(clip.name)] == fold]
        rows.append({"fold": fold, **summary([clip_addressing(model, data) for data in held],
                                             model.config.memory.slots)})
    return rows


def main() -> None:
    torch.set_num_threads(2)
    print(write_report(REPORT, {"grid-val": grid_val(), "never heard": never_heard()}, markdown))


def markdown(report: dict) -> str:
    grid, folds = report["grid-val"], report["never heard"]
    slots, usage = len(grid["usage"]), np.array(grid["usage"])
    names = list(grid["reliance"])
    lines = [f"# Audio-Lip Memory analysis (`{RUN}`: audio addressing of {slots} slots)", "",
             "The shipped network on grid-val, and each cross-validation fold's network (lab.crossval, "
             "the same recipe) on the people its training never heard. Entropy in nats (uniform would "
             f"be {np.log(slots):.2f}); agreement: frames where the audio addresses the slot that the "
             "real lips themselves address most, the lip motion training filled the values from (chance: "
             "were the two drawn apart, each slot as often as it is); "
             "open_corr of the network's own output as made, with the audio feature hidden (the "
             "decoder reads the memory alone) and with the memory replaced by its mean (the decoder "
             "reads the audio alone).", "",
             "| network | clips | entropy (audio) | entropy (lips) | agreement (chance) | open_corr | "
             + " | ".join(names[1:]) + " | slots used |",
             "|---|---|---|---|---|---|" + "---|" * (len(names[1:]) + 1)]
    for label, row in [("shipped, grid-val", grid)] + [(f"fold {f['fold']}, its held-out people", f)
                                                        for f in folds]:
        lines.append(f"| {label} | {row['clips']} | {row['entropy_mean']:.2f} "
                     f"| {row['lip_entropy_mean']:.2f} | {row['agreement']:.0%} "
                     f"({row['chance_agreement']:.0%}) | "
                     + " | ".join(f"{row['reliance'][n]:.3f}" for n in names)
                     + f" | {row['slots_used']} |")
    lines += ["", f"On grid-val, the {TOP_SLOTS} slots most often addressed first cover "
              f"{np.sort(usage)[::-1][:TOP_SLOTS].sum() / usage.sum():.0%} of frames; the phones they "
              "answer to:", "", "| slot | frames | phones (share of the slot's frames) |", "|---|---|---|"]
    for row in grid["top_slots"]:
        top = ", ".join(f"{p} {n / row['total']:.0%}" for p, n in row["phones"])
        lines.append(f"| {row['slot']} | {row['frames']} | {top} |")
    return "\n".join(lines) + "\n\nCommand: `python -m lab.memory_analysis`\n"


if __name__ == "__main__":
    main()
