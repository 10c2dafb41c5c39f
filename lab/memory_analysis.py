"""What the Audio-Lip Memory learned, as SyncTalkFace analyses it: `python -m lab.memory_analysis`.

On grid-val (never the test split): the entropy of the audio addressing (low: each frame picks a
few slots), that of the real lips' own addressing and how often audio picks the same top slot,
what the decoder reads (open_corr with the audio feature hidden, or with the memory replaced by its
mean), how often each slot is the most addressed one, and which phones (forced alignment of the
GRID transcript) each frequently used slot answers to. Of the memory driver's networks it analyses
the first, the one TAEM reprograms into. Writes reports/training/memory_analysis.md.
"""
from collections import Counter

import numpy as np
import torch

from lab import prepare
from lab.dataset import ROOT
from lab.measures import opening_measures
from lab.prepare import gap_of
from lab.reports import write_report
from studio.alignment import force_align
from studio.drivers.memory import NETWORK_FILES
from studio.hub import model_file
from studio.networks.checkpoint import face_offsets, load_model
from studio.networks.features import speech_features
from studio.phonemes import frame_phones

REPORT = ROOT / "reports" / "training" / "memory_analysis"
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
def main() -> None:
    model = load_model(model_file(NETWORK_FILES["memory"]))
    slots = model.config.memory.slots
    entropies, winners, phones_of, lip_entropies, agreements, reliance = [], [], {}, [], [], {}
    for clip, data in zip(prepare.clips("grid-val"), prepare.load("grid-val")):
        n_frames = len(data.opening)
        mel = speech_features(data.samples, n_frames, model.config.features)
        audio = model.audio_encoder(mel, torch.from_numpy(data.phones)[None])
        weights = model.memory.audio_addressing(audio).exp()
        addressing = weights[0].numpy()
        entropies.append(entropy_of(addressing))
        best = addressing.argmax(axis=1)
        winners.append(best)
        face = ~np.isnan(data.offsets).any(axis=(1, 2))
        lips = torch.from_numpy(np.nan_to_num(data.offsets).reshape(n_frames, -1) / model.config.offset_scale)
        lip_feature = model.lip_encoder(lips[None].float())
        lip_addressing = model.memory.lip_addressing(lip_feature)[0].exp().numpy()[face]
        lip_entropies.append(entropy_of(lip_addressing))
        agreements.append(lip_addressing.argmax(axis=1) == best[face])
        for name, hidden in reliance_inputs(model.memory, audio, weights @ model.memory.values).items():
            opening = gap_of(data.photo_rest + face_offsets(model, model.decoder(hidden)[0]))
            reliance.setdefault(name, []).append(opening_measures(data.opening, opening)["open_corr"])
        _, phones = force_align(data.samples, clip.transcript)
        for slot, phone in zip(best, frame_phones(phones, n_frames)):
            phones_of.setdefault(int(slot), Counter())[phone] += 1
    entropy = np.concatenate(entropies)
    usage = np.bincount(np.concatenate(winners), minlength=slots)
    top = [int(s) for s in np.argsort(usage)[::-1][:TOP_SLOTS] if usage[s]]
    print(write_report(REPORT, {
        "slots": slots, "entropy_mean": float(entropy.mean()), "entropy_median": float(np.median(entropy)),
        "lip_entropy_mean": float(np.concatenate(lip_entropies).mean()),
        "agreement": float(np.concatenate(agreements).mean()),
        "reliance": {name: float(np.mean(r)) for name, r in reliance.items()},
        "slots_used": int((usage > 0).sum()), "usage": usage.tolist(),
        "top_slots": [{"slot": s, "frames": int(usage[s]), "phones": phones_of[s].most_common(TOP_PHONES),
                       "total": sum(phones_of[s].values())} for s in top]}, markdown))


def markdown(report: dict) -> str:
    slots, usage = report["slots"], np.array(report["usage"])
    lines = ["# Audio-Lip Memory analysis (grid-val, audio addressing)", "",
             f"- slots: {slots}; addressing entropy: mean {report['entropy_mean']:.2f} nats, median "
             f"{report['entropy_median']:.2f} (uniform would be {np.log(slots):.2f})",
             f"- lip addressing (the real lips' own slots, what training fills the values from): entropy "
             f"mean {report['lip_entropy_mean']:.2f} nats; the audio picks the lips' own top "
             f"slot in {report['agreement']:.0%} of frames",
             "- what the decoder reads: open_corr of the network's own output "
             + ", ".join(f"{name} {r:.3f}" for name, r in report["reliance"].items()),
             f"- slots ever most addressed: {report['slots_used']} of {slots}; the {TOP_SLOTS} most used "
             f"cover {np.sort(usage)[::-1][:TOP_SLOTS].sum() / usage.sum():.0%} of frames", "",
             "| slot | frames | phones (share of the slot's frames) |", "|---|---|---|"]
    for row in report["top_slots"]:
        top = ", ".join(f"{p} {n / row['total']:.0%}" for p, n in row["phones"])
        lines.append(f"| {row['slot']} | {row['frames']} | {top} |")
    return "\n".join(lines) + "\n\nCommand: `python -m lab.memory_analysis`\n"


if __name__ == "__main__":
    main()
