"""Text-driven lips (TAEM): the timed phones and the photo's speaker embedding are mapped into the
frozen audio model's latent space, and its own memory and decoder give the lips.

Timing comes from `speech.phones`, so the lips follow the voice the viewer hears: the voice's phone
timings for scripts, forced alignment for a recording with its transcript. The photo reaches the
driver through `for_photo`, which returns a driver bound to that face's embedding (the shared,
unbound driver uses the training speakers' mean embedding):

    driver = make_driver("taem")
    if hasattr(driver, "for_photo"):
        driver = driver.for_photo(photo, face.landmarks)   # per request; the model stays shared
    offsets = driver.lip_offsets(speech, renderer.rest_mouth)
"""
from functools import cache, lru_cache

import numpy as np
import torch

from studio.audio import FPS
from studio.drivers.memory import NETWORK_FILES, ONSET_FRAMES, face_motion, smooth
from studio.errors import StudioError
from studio.hub import model_file
from studio.phonemes import BILABIALS, SILENCE, Segment
from studio.speech import Speech

AUDIO_MODEL = NETWORK_FILES["memory"]  # TAEM reprograms the first of the memory driver's networks


@cache
def _models(checkpoint: str):
    """(TAEM, the frozen audio model it was trained against), loaded once."""
    from studio.hub import file_digest
    from studio.networks.checkpoint import load_model
    from studio.networks.taem import load_taem

    path, audio_path = model_file(checkpoint), model_file(AUDIO_MODEL)
    taem, trained_against = load_taem(path)
    if trained_against["digest"] != file_digest(audio_path):
        raise StudioError(f"{checkpoint} was trained against another {AUDIO_MODEL}: "
                          "run `python -m lab.train_taem` again.")
    return taem, load_model(audio_path)


@lru_cache(maxsize=1)
def _speaker_encoder():
    from studio.networks.speaker import SpeakerEncoder

    return SpeakerEncoder()


def phone_gate(phones: list[Segment], n_frames: int) -> np.ndarray:
    """(n_frames,) 1 while phones are said (with ONSET_FRAMES either side), 0 in silence, soft."""
    speaking = np.zeros(n_frames, np.float32)
    for phone in phones:
        if phone.label != SILENCE:
            first = max(int(phone.start * FPS) - ONSET_FRAMES, 0)
            speaking[first:int(np.ceil(phone.end * FPS)) + ONSET_FRAMES] = 1
    return np.clip(smooth(speaking), 0, 1)


@torch.no_grad()
def text_lip_offsets(phones: list[Segment], n_frames: int, speaker: np.ndarray | None = None,
                     checkpoint: str = "taem.pt") -> np.ndarray:
    """Timed phones -> (n_frames, len(MOUTH_POINTS), 2) lip offsets in face-frame units."""
    from studio.networks.checkpoint import face_offsets
    from studio.networks.taem import PhoneBatch, lips_from_latents, speaker_tensor

    taem, audio_model = _models(checkpoint)
    if not taem.config.speaker_dim:
        speaker = None
    latents, _ = taem(PhoneBatch.of([phones]), n_frames, speaker_tensor(speaker))
    offsets = face_offsets(audio_model, lips_from_latents(audio_model, latents)[0])
    open_share = phone_gate(phones, n_frames) * (1 - bilabial_closure(phones, n_frames))
    return face_motion(offsets) * open_share[:, None, None]


def bilabial_closure(phones: list[Segment], n_frames: int) -> np.ndarray:
    """(n_frames,) 1 on the frames a P, B or M holds, half on the frame either side: the learned
    lips pass through these closures too smoothly to always meet, and a viewer sees it. Held at
    least over the two frames around the phone's middle (real lips stay shut about 80 ms), the
    closure survives a frame of timing error and shows in a 25 fps video."""
    closure = np.zeros(n_frames + 2, np.float32)  # one frame of padding either side
    for phone in phones:
        if phone.label in BILABIALS:
            before_middle = int(np.floor((phone.start + phone.end) / 2 * FPS - 0.5))
            # the frames whose centre lies inside the phone, and the two around its middle
            first = min(int(np.ceil(phone.start * FPS - 0.5)), before_middle)
            last = max(int(np.floor(phone.end * FPS - 0.5)), before_middle + 1)
            first, last = np.clip([first, last], 0, n_frames - 1) + 1
            closure[first - 1] = max(closure[first - 1], 0.5)
            closure[last + 1] = max(closure[last + 1], 0.5)
            closure[first:last + 1] = 1
    return closure[1:-1]


@torch.no_grad()
def predicted_phones(text: str, speaker: np.ndarray | None = None,
                     checkpoint: str = "taem.pt") -> list[Segment]:
    """The text's phones (g2p), between silences as in speech, timed by TAEM's duration predictor
    alone: lips for text with no voice at all."""
    from studio.networks.taem import PhoneBatch, speaker_tensor
    from studio.text import words_to_phonemes

    taem, _ = _models(checkpoint)
    labels = [SILENCE] + [p for _, phones in words_to_phonemes(text) for p in phones] + [SILENCE]
    untimed = PhoneBatch.of([[Segment(label, 0.0, 0.0) for label in labels]])
    timed = taem.predicted_timing(untimed, speaker_tensor(speaker) if taem.config.speaker_dim else None)
    return [Segment(label, float(s), float(e)) for label, s, e in zip(labels, timed.starts[0], timed.ends[0])]


class TaemDriver:
    """Lips from the text, timed to the voice; optionally bound to a photo's speaker embedding."""

    name = "taem"
    checkpoint = "taem.pt"
    needs_phones = True

    def __init__(self, speaker: np.ndarray | None = None):
        self.speaker = speaker

    def for_photo(self, photo: np.ndarray, landmarks: np.ndarray | None = None) -> "TaemDriver":
        """This driver bound to the photo's speaker embedding (computed here, about 0.5 s)."""
        return type(self)(_speaker_encoder()(photo, landmarks))

    def lip_offsets(self, speech: Speech, rest_mouth: np.ndarray) -> np.ndarray:
        if not speech.phones:
            raise StudioError("The text lip driver needs the phones of the speech and their timing.")
        return text_lip_offsets(speech.phones, speech.n_frames, self.speaker, self.checkpoint)


class TaemNoSpeakerDriver(TaemDriver):
    """Ablation: the same TAEM and training without the speaker embedding."""

    name = "taem-no-speaker"
    checkpoint = "ablation/taem_no_speaker.pt"
