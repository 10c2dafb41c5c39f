"""TAEM: tiny random models from a seed, timed phones, the frozen audio path, the driver."""
import numpy as np
import pytest
import torch

from studio.audio import FPS
from studio.geometry import MOUTH_POINTS
from studio.hub import file_digest
from studio.networks.audio_encoder import AudioEncoderConfig
from studio.networks.audio_lip_memory import AudioLipMemoryConfig
from studio.networks.lip_decoder import LipDecoderConfig
from studio.networks.lip_motion_encoder import LipMotionEncoderConfig
from studio.networks.speech_to_lips import SpeechToLips, SpeechToLipsConfig
from studio.networks.taem import (
    TAEM,
    PhoneBatch,
    TAEMConfig,
    frame_weights,
    lips_from_latents,
    load_taem,
    save_taem,
)
from studio.phonemes import SILENCE, Segment

PHONES = [Segment(SILENCE, 0.0, 0.5), Segment("B", 0.5, 0.55), Segment("IH", 0.55, 0.63),
          Segment("N", 0.63, 0.75), Segment(SILENCE, 0.75, 1.2)]
N_FRAMES = 30  # 1.2 s


def tiny_taem(speaker_dim: int = 8) -> TAEM:
    torch.manual_seed(0)
    return TAEM(TAEMConfig(dim=16, encoder_layers=1, attention_layers=1, heads=2, speaker_dim=speaker_dim,
                           decoder_dilations=(1, 2), latent_dim=12)).eval()


def tiny_audio_model(use_memory: bool = True) -> SpeechToLips:
    torch.manual_seed(1)
    config = SpeechToLipsConfig(use_memory=use_memory,
                                audio=AudioEncoderConfig(channels=12, dim=12, phones=True),
                                lip=LipMotionEncoderConfig(channels=12, dim=12),
                                memory=AudioLipMemoryConfig(slots=4, key_dim=12, value_dim=12, audio_dim=12,
                                                            lip_dim=12),
                                decoder=LipDecoderConfig(input_dim=12, channels=12, dilations=(1,)))
    return SpeechToLips(config).eval().requires_grad_(False)


def test_frame_weights_share_each_frame_among_the_phones_that_cover_it():
    weights = frame_weights(PhoneBatch.of([PHONES]), N_FRAMES + 2)[0]
    assert torch.allclose(weights[:N_FRAMES].sum(dim=1), torch.ones(N_FRAMES), atol=1e-5)
    assert weights[N_FRAMES:].sum() == 0  # beyond the speech: nothing
    # Frame 12 (0.48-0.52 s): half silence, half B; a 50 ms phone still reaches the frames.
    assert weights[12, 0] == pytest.approx(0.5, abs=1e-4) and weights[12, 1] == pytest.approx(0.5, abs=1e-4)


def test_padding_and_retiming():
    batch = PhoneBatch.of([PHONES, PHONES[:2]])
    assert batch.mask.sum(dim=1).tolist() == [5, 2]
    retimed = batch.retimed(torch.log(torch.full((2, 5), 0.1)))
    assert retimed.starts[0, 0] == 0 and torch.allclose(retimed.ends[0, -1], torch.tensor(0.5))
    assert torch.allclose(retimed.ends[1, 1], torch.tensor(0.2))  # padding lasts nothing


@pytest.mark.parametrize("speaker_dim", [8, 0])
def test_taem_maps_timed_phones_to_latents_and_durations(speaker_dim):
    model = tiny_taem(speaker_dim)
    speaker = torch.randn(2, 8) if speaker_dim else None
    latents, log_durations = model(PhoneBatch.of([PHONES, PHONES[:3]]), N_FRAMES, speaker)
    assert latents.shape == (2, N_FRAMES, 12) and log_durations.shape == (2, 5)
    assert torch.isfinite(latents).all()
    timed = model.predicted_timing(PhoneBatch.of([PHONES]))  # no speaker: the mean embedding
    assert torch.all(timed.ends[0] >= timed.starts[0])
    assert torch.allclose(timed.starts[0, 1:], timed.ends[0, :-1])


@pytest.mark.parametrize("use_memory", [True, False])
def test_lips_through_the_frozen_audio_path(use_memory):
    lips = lips_from_latents(tiny_audio_model(use_memory), torch.randn(2, N_FRAMES, 12))
    assert lips.shape == (2, N_FRAMES, 2 * len(MOUTH_POINTS))


def test_training_step_moves_taem_only():
    from lab.train_taem import TAEMTrainConfig, Utterance, losses

    model, audio_model = tiny_taem().train(), tiny_audio_model()
    frozen = {k: v.clone() for k, v in audio_model.state_dict().items()}
    rng = np.random.default_rng(0)
    batch = [Utterance(f"u{i}", PHONES, torch.randn(8), torch.randn(N_FRAMES, 12),
                       torch.randn(N_FRAMES, 2 * len(MOUTH_POINTS)), torch.ones(N_FRAMES),
                       rng.random(N_FRAMES), np.zeros((len(MOUTH_POINTS), 2))) for i in range(2)]
    optimiser = torch.optim.Adam(model.parameters(), 1e-2)
    totals = []
    for _ in range(2):
        result, _ = losses(model, audio_model, batch, torch.ones(12), TAEMTrainConfig())
        assert set(result) == {"latent", "l1", "gap", "velocity", "spread", "duration"}
        totals.append(sum(result.values()))
        optimiser.zero_grad()
        totals[-1].backward()
        optimiser.step()
    assert totals[1] < totals[0]
    assert all(torch.equal(v, audio_model.state_dict()[k]) for k, v in frozen.items())


def test_checkpoint_round_trip_records_the_audio_model(tmp_path):
    model = tiny_taem()
    audio = tmp_path / "audio.pt"
    audio.write_bytes(b"frozen weights")
    save_taem(model, tmp_path / "taem.pt", audio, run="test")
    loaded, trained_against = load_taem(tmp_path / "taem.pt")
    assert trained_against == {"file": "audio.pt", "digest": file_digest(audio)}
    phones = PhoneBatch.of([PHONES])
    assert torch.equal(loaded(phones, N_FRAMES)[0], model(phones, N_FRAMES)[0])


def test_driver_follows_the_phone_timing_and_rests_in_silence(monkeypatch):
    import studio.drivers.taem as taem_driver
    from studio.drivers import make_driver
    from studio.speech import Speech

    monkeypatch.setattr(taem_driver, "_models", lambda checkpoint: (tiny_taem(), tiny_audio_model()))
    speech = Speech(np.zeros(int(1.2 * 16000), np.float32), np.zeros(1), 16000, PHONES)
    driver = make_driver("taem")
    assert driver.needs_phones
    offsets = driver.lip_offsets(speech, np.zeros((len(MOUTH_POINTS), 2)))
    assert offsets.shape == (N_FRAMES, len(MOUTH_POINTS), 2)
    assert np.abs(offsets[:5]).max() == 0 and np.abs(offsets[int(0.6 * FPS)]).max() > 0
    assert np.abs(offsets[-3:]).max() < 1e-3  # still and closed in the trailing silence


def test_speaker_embedding_of_a_real_photo(photo_path):
    from studio.networks.speaker import SPEAKER_DIM, SpeakerEncoder
    from studio.pipeline import load_photo

    photo = load_photo(str(photo_path))
    encoder = SpeakerEncoder()
    embedding = encoder(photo)
    assert embedding.shape == (SPEAKER_DIM,) and np.isfinite(embedding).all()
    assert encoder(np.zeros((200, 200, 3), np.uint8)) is None


def test_dtw_and_time_warp_leave_matching_timelines_alone():
    from lab.evaluate_taem import dtw_warp
    from lab.measures import warp

    rng = np.random.default_rng(0)
    offsets = rng.normal(size=(20, len(MOUTH_POINTS), 2)).astype(np.float32)
    rest = np.zeros((len(MOUTH_POINTS), 2), np.float32)
    assert np.allclose(dtw_warp(rest + offsets, offsets, rest), offsets)
    assert np.allclose(warp(offsets, (np.arange(20) + 0.5) / FPS), offsets)


def test_lips_meet_on_every_bilabial():
    from studio.drivers.taem import bilabial_closure
    from studio.phonemes import Segment

    phones = [Segment("sil", 0, 0.2), Segment("B", 0.2, 0.26), Segment("AA", 0.26, 0.4),
              Segment("M", 0.4, 0.43), Segment("P", 0.98, 1.0)]
    closure = bilabial_closure(phones, 25)
    assert closure[5] == closure[6] == 1  # all of B, whose frame centres are 0.22 and 0.26 s
    assert closure[9] == closure[10] == 1  # M, shorter than a frame: the two around its middle
    assert closure[24] == 1  # P, on the clip's last frame
    assert closure[4] == closure[7] == closure[8] == closure[11] == closure[23] == 0.5 and closure[12] == 0
