"""The learned lip models: tiny random networks from a seed, one training step, checkpoints that
rebuild themselves, and the driver's properties (shape, no lag, silence gives a still mouth)."""
import math

import numpy as np
import pytest
import torch

from lab.augment import AugmentConfig, augment, change_tempo
from lab.prepare import heard_phones
from studio.audio import MELS_PER_FRAME, N_MELS, SAMPLE_RATE, decode
from studio.geometry import MOUTH_POINTS
from studio.networks.audio_encoder import AudioEncoderConfig
from studio.networks.audio_lip_memory import AudioLipMemoryConfig
from studio.networks.checkpoint import face_offsets, load_model, predict_offsets, save_model, sync_score
from studio.networks.features import NO_PHONE, FeatureConfig, phone_indices, speech_features
from studio.networks.lip_decoder import LipDecoderConfig
from studio.networks.lip_motion_encoder import LipMotionEncoderConfig
from studio.networks.speech_to_lips import SpeechToLips, SpeechToLipsConfig
from studio.networks.syncnet import SyncNet, SyncNetConfig
from studio.phonemes import PHONE_INDEX, SILENCE

K2 = 2 * len(MOUTH_POINTS)


def tiny_config(use_memory: bool = True) -> SpeechToLipsConfig:
    return SpeechToLipsConfig(
        use_memory=use_memory, audio=AudioEncoderConfig(channels=8, dim=8, phones=True),
        lip=LipMotionEncoderConfig(channels=8, dim=8),
        memory=AudioLipMemoryConfig(slots=4, key_dim=8, value_dim=8, audio_dim=8, lip_dim=8),
        decoder=LipDecoderConfig(input_dim=8, channels=8, dilations=(1, 2)))


def tiny_model(use_memory: bool = True, seed: int = 0) -> SpeechToLips:
    torch.manual_seed(seed)
    return SpeechToLips(tiny_config(use_memory))


@pytest.mark.parametrize("use_memory", [True, False])
def test_training_step_shapes_and_gradients(use_memory):
    model = tiny_model(use_memory)
    mel, phones = torch.randn(2, 10 * MELS_PER_FRAME, N_MELS), torch.randint(NO_PHONE + 1, (2, 10))
    lips, mask = torch.randn(2, 10, K2), torch.ones(2, 10)
    predicted, recalled, losses = model(mel, phones, lips, mask)
    assert predicted.shape == (2, 10, K2)
    assert (recalled is not None) == use_memory and (recalled is None or recalled.shape == predicted.shape)
    assert set(losses) == ({"memory_reconstruction", "memory_alignment"} if use_memory else set())
    total = (predicted - lips).abs().mean() + sum(losses.values())
    if use_memory:
        total = total + (recalled - lips).abs().mean()
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    if use_memory:
        assert losses["memory_alignment"] >= 0  # a KL divergence
        assert model.memory.keys.grad.abs().sum() > 0 and model.memory.values.grad.abs().sum() > 0


def test_audio_addressing_is_a_distribution():
    model = tiny_model()
    log_a = model.memory.audio_addressing(torch.randn(1, 5, 8))
    assert torch.allclose(log_a.exp().sum(-1), torch.ones(1, 5), atol=1e-5)


def test_fusion_hides_the_audio_feature_only_in_training():
    from studio.networks.audio_lip_memory import AudioLipMemory

    torch.manual_seed(0)
    memory = AudioLipMemory(AudioLipMemoryConfig(slots=4, key_dim=8, value_dim=8, audio_dim=8, lip_dim=8,
                                                 audio_dropout=1.0))
    audio = torch.randn(1, 5, 8)
    retrieved = memory.audio_addressing(audio).exp() @ memory.values
    hidden = memory.fuse(torch.cat([torch.zeros_like(audio), retrieved], dim=-1))
    assert torch.allclose(memory.train()(audio)[0], hidden)  # the decoder must read the memory
    assert not torch.allclose(memory.eval()(audio)[0], hidden)  # inference hears everything


def test_slot_entropy_wants_sharp_frames_spread_over_the_slots():
    from studio.networks.audio_lip_memory import slot_entropy

    one_hot = lambda slots: torch.log(torch.eye(4)[slots][None] + 1e-12)
    mask = torch.ones(1, 4)
    assert slot_entropy(one_hot([0, 1, 2, 3]), mask) < 1e-3  # sharp, all slots used
    assert torch.isclose(slot_entropy(one_hot([2, 2, 2, 2]), mask), torch.tensor(math.log(4)))  # collapsed
    assert torch.isclose(slot_entropy(torch.full((1, 4, 4), -math.log(4)), mask), torch.tensor(math.log(4)))
    last_masked = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # three frames on three of the four slots
    assert torch.isclose(slot_entropy(one_hot([0, 1, 2, 2]), last_masked), torch.tensor(math.log(4 / 3)))


def test_entropy_term_is_a_memory_loss_only_with_its_weight():
    from studio.networks.audio_lip_memory import AudioLipMemory

    sizes = dict(slots=4, key_dim=8, value_dim=8, audio_dim=8, lip_dim=8)
    audio, lip, mask = torch.randn(2, 6, 8), torch.randn(2, 6, 8), torch.ones(2, 6)
    losses = lambda config: AudioLipMemory(config)(audio, lip, mask)[2]
    assert "memory_entropy" not in losses(AudioLipMemoryConfig(**sizes))
    assert losses(AudioLipMemoryConfig(**sizes, entropy_weight=1.0))["memory_entropy"] >= 0


def test_checkpoint_rebuilds_the_same_model(tmp_path):
    model = tiny_model().eval()
    save_model(model, tmp_path / "m.pt", run="test")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config == model.config
    mel, phones = torch.randn(1, 8 * MELS_PER_FRAME, N_MELS), torch.randint(NO_PHONE + 1, (1, 8))
    assert torch.equal(loaded(mel, phones)[0], model(mel, phones)[0])


def test_syncnet_trains_and_scores(tmp_path):
    torch.manual_seed(0)
    syncnet = SyncNet(SyncNetConfig(dim=8, channels=8, max_offset=2))
    mel, lips, mask = torch.randn(2, 12 * MELS_PER_FRAME, N_MELS), torch.randn(2, 12, K2), torch.ones(2, 12)
    loss = syncnet.contrastive_loss(mel, lips, mask)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    save_model(syncnet, tmp_path / "s.pt")
    rng = np.random.default_rng(0)
    sync = sync_score(load_model(tmp_path / "s.pt"), rng.normal(0, 0.1, 12 * 640).astype(np.float32),
                      rng.normal(0, 0.02, (12, len(MOUTH_POINTS), 2)))
    assert -2 <= sync.offset <= 2 and sync.confidence >= 0


def test_augmentation_keeps_the_timeline():
    generator = torch.Generator().manual_seed(0)
    power = torch.rand(3, 40, N_MELS)
    out = augment(power, AugmentConfig(probability=1.0, gain_db=6.0), generator)
    assert out.shape == power.shape and (out >= 0).all() and not torch.equal(out, power)
    phones = torch.arange(10).repeat(3, 1)
    power, phones, lips, mask = change_tempo(power, phones, torch.zeros(3, 10, K2), torch.ones(3, 10), 1.25)
    assert power.shape[1] == lips.shape[1] * MELS_PER_FRAME == mask.shape[1] * MELS_PER_FRAME
    assert phones.shape == mask.shape and phones.dtype == torch.int64
    assert (phones.diff(dim=1) >= 0).all() and set(phones[0].tolist()) < set(range(10))  # order kept


def test_heard_phones_follow_the_speech(grid_clip):
    samples = decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE)
    silence = np.zeros(SAMPLE_RATE, np.float32)
    phones = heard_phones(np.concatenate([silence, samples]), 100)[0]
    assert phones.shape == (100,)
    assert (phones[:20] == PHONE_INDEX[SILENCE]).all()  # the second of silence
    assert len(set(phones[30:90].tolist()) - {PHONE_INDEX[SILENCE]}) >= 8  # "bin blue at f two now"


def test_a_recording_is_heard_once_for_every_driver(grid_clip):
    """The viseme driver's phones (no transcript) and the learned drivers' phone input are one
    recognition of the recording, and the same as hearing it afresh."""
    from studio.speech import Speech, recognised_phones, time_phones

    samples = decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE)
    speech = Speech(samples, samples, SAMPLE_RATE)
    time_phones(speech, None, needs_phones=True)
    assert speech.phones is speech.heard and recognised_phones(speech) is speech.heard
    assert torch.equal(phone_indices(speech.heard, speech.n_frames), heard_phones(samples, speech.n_frames))


def test_spread_loss_measures_how_far_the_lips_open():
    from lab.train import TrainConfig, lip_losses

    real = torch.randn(2, 20, K2)
    mask = torch.ones(2, 20)
    assert lip_losses(real, real, mask, TrainConfig())["spread"] == 0
    assert lip_losses(0.5 * real, real, mask, TrainConfig())["spread"] > 0


def test_features_ignore_the_recording_level(grid_clip):
    samples = decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE)
    loud, quiet = (speech_features(samples * g, 75, FeatureConfig()) for g in (1.0, 0.05))
    assert torch.allclose(loud, quiet, atol=0.02)


@pytest.fixture
def tiny_driver(tmp_path, monkeypatch):
    from studio import hub
    from studio.drivers import memory

    for seed, run in enumerate(memory.MemoryDriver.runs):
        save_model(tiny_model(seed=seed), tmp_path / memory.NETWORK_FILES[run])
    monkeypatch.setattr(hub, "MODELS", tmp_path)
    memory._model.cache_clear()
    yield memory.MemoryDriver()
    memory._model.cache_clear()


def speech_of(samples):
    from studio.speech import Speech

    return Speech(samples.astype(np.float32), samples, SAMPLE_RATE)


def test_driver_shapes_and_silence(tiny_driver, grid_clip):
    samples = decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE)
    rest = np.zeros((len(MOUTH_POINTS), 2), np.float32)
    silence = np.zeros(SAMPLE_RATE, np.float32)
    speech = speech_of(np.concatenate([silence, samples, silence]))
    offsets = tiny_driver.lip_offsets(speech, rest)
    assert offsets.shape == (speech.n_frames, len(MOUTH_POINTS), 2)
    assert np.all(offsets[:20] == 0) and np.all(offsets[-20:] == 0)  # still and closed in silence
    assert np.abs(offsets[30:90]).max() > 0
    assert np.all(tiny_driver.lip_offsets(speech_of(silence), rest) == 0)


def test_a_driver_averages_its_networks(tiny_driver, grid_clip):
    from studio.drivers.memory import LearnedDriver

    speech = speech_of(decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE))
    rest = np.zeros((len(MOUTH_POINTS), 2), np.float32)
    alone = []
    for run in tiny_driver.runs:
        single = LearnedDriver()
        single.runs = (run,)
        alone.append(single.lip_offsets(speech, rest))
    assert not np.allclose(alone[0], alone[1])  # two networks, each its own random weights
    np.testing.assert_allclose(tiny_driver.lip_offsets(speech, rest), np.mean(alone, axis=0), atol=1e-6)


def test_the_hybrid_driver_is_the_mean_of_its_learned_lips_and_visemes(tiny_driver, grid_clip):
    from studio.drivers.memory import HybridDriver
    from studio.drivers.rules import VisemeDriver

    silence = np.zeros(SAMPLE_RATE, np.float32)
    speech = speech_of(np.concatenate([silence, decode(str(grid_clip.with_suffix(".flac")), SAMPLE_RATE)]))
    angle = np.linspace(0, 2 * np.pi, len(MOUTH_POINTS), endpoint=False)  # a mouth with a width
    rest = (0.25 * np.stack([np.cos(angle), np.sin(angle)], axis=1)).astype(np.float32)
    hybrid = HybridDriver(tiny_driver).lip_offsets(speech, rest)
    learned, rules = tiny_driver.lip_offsets(speech, rest), VisemeDriver().lip_offsets(speech, rest)
    assert np.isfinite(hybrid).all() and not np.allclose(learned, rules)
    np.testing.assert_allclose(hybrid, (learned + rules) / 2, atol=1e-6)
    assert np.abs(hybrid[:20]).max() < 1e-6  # still and closed in the leading silence


def test_smoothing_does_not_lag():
    from studio.drivers.memory import smooth

    impulse = np.zeros(21, np.float32)
    impulse[10] = 1
    smoothed = smooth(impulse)
    assert np.argmax(smoothed) == 10 and np.allclose(smoothed[:10], smoothed[11:][::-1])
    assert np.isclose(smoothed.sum(), 1.0)


def test_predict_offsets_units():
    model = tiny_model()
    offsets = predict_offsets([model], np.zeros(8 * 640, np.float32), 8, torch.full((1, 8), NO_PHONE))
    assert offsets.shape == (8, len(MOUTH_POINTS), 2) and offsets.dtype == np.float32


def test_long_speech_is_read_a_window_at_a_time_as_if_whole(grid_clip):
    """Windowed inference (memory flat in the length) gives the frames of one whole pass, for the
    shipped pair of networks, over more than two windows of real speech."""
    from studio.drivers.memory import MOTION_BLOCK, NETWORK_FILES, face_motion, smooth
    from studio.geometry import symmetric_motion
    from studio.hub import model_file
    from studio.networks.features import WINDOW_FRAMES

    clip = decode(str(grid_clip.with_suffix(".flac")))
    repeats = 2 * WINDOW_FRAMES * 640 // len(clip) + 2
    samples = np.concatenate([clip * (0.5 + 0.1 * k) for k in range(repeats)])  # levels differ
    n_frames = len(samples) // 640
    models = [load_model(model_file(NETWORK_FILES[run])) for run in ("memory", "memory-2")]
    phones = torch.randint(NO_PHONE + 1, (1, n_frames))
    with torch.no_grad():
        whole = np.mean([face_offsets(model, model(speech_features(samples, n_frames, model.config.features),
                                                   phones)[0][0]) for model in models], axis=0)
    windowed = predict_offsets(models, samples, n_frames, phones)
    assert n_frames > 2 * WINDOW_FRAMES and np.allclose(windowed, whole, atol=1e-6)
    assert n_frames > MOTION_BLOCK and np.array_equal(face_motion(whole), smooth(symmetric_motion(whole)))


def test_quiet_stretches_lower_every_other_stretch_by_the_depth():
    from lab.selfcheck import QUIET_PERIOD, quiet_stretches

    samples = np.ones(4 * int(QUIET_PERIOD * SAMPLE_RATE), np.float32)
    quiet = quiet_stretches(samples, 20.0)
    middle = lambda k: quiet[int((k + 0.5) * QUIET_PERIOD * SAMPLE_RATE)]
    assert np.isclose(middle(0), 1.0) and np.isclose(middle(2), 1.0)
    assert np.isclose(middle(1), 0.1, atol=1e-4) and np.isclose(middle(3), 0.1, atol=1e-4)  # -20 dB
    assert np.all(np.abs(np.diff(quiet)) < 1e-3)  # smooth steps, no clicks
