"""Training and cross-validation plumbing, on a real GRID clip and a tiny network."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_models import tiny_model

from lab import crossval, prepare, train
from lab.dataset import grid_clip as dataset_grid_clip
from studio.networks.checkpoint import load_model


@pytest.fixture(scope="module")
def clip_data(shared_data):
    return prepare.build(dataset_grid_clip("bbaf2n"))


def train_tiny(monkeypatch, tmp_path, clip_data, ema_decay):
    config = train.TrainConfig(steps=4, batch=2, eval_every=4, sync_weight=0.0, ema_decay=ema_decay)
    monkeypatch.setitem(train.RUN_TRAINING, "memory", config)
    monkeypatch.setattr(train, "build", lambda run, offset_scale: tiny_model())
    # As the shipped models train: every other person in extra-train, no extra-val.
    data = {split: [clip_data] for split in ("grid-train", "grid-val", "extra-train")}
    out = tmp_path / f"ema{ema_decay}"
    checkpoint = train.train("memory", data, 0.02, out / "memory.pt", out)
    assert (out / "memory.png").stat().st_size > 0
    return load_model(checkpoint), (out / "memory.csv").read_text().splitlines()


def test_moving_average_is_what_is_validated_and_saved(monkeypatch, tmp_path, clip_data):
    last, _ = train_tiny(monkeypatch, tmp_path, clip_data, 0.0)
    averaged, curve = train_tiny(monkeypatch, tmp_path, clip_data, 0.5)
    assert len(curve) == 2  # header and the one validation row
    pairs = zip(last.state_dict().values(), averaged.state_dict().values())
    assert any(not torch.equal(a, b) for a, b in pairs)
    header, row = curve[0].split(","), curve[1].split(",")
    assert "grid_val_open_corr" in header and not any(k.startswith("extra_val") for k in header)
    logged = float(row[header.index("grid_val_open_corr")])
    assert logged == pytest.approx(train.validate(averaged, [clip_data])[0], abs=1e-4)


def fake_clip(name, frames):
    return SimpleNamespace(name=f"extra-speakers/{name}"), SimpleNamespace(opening=np.zeros(frames))


def test_folds_keep_each_person_whole_and_balance_length():
    people = [fake_clip("styletalk_Obama_clip1", 500), fake_clip("styletalk_Obama_clip2", 750),
              fake_clip("styletalk_Obama_clip3", 500), fake_clip("a", 900), fake_clip("b", 800),
              fake_clip("c", 400), fake_clip("d", 300), fake_clip("e", 200)]
    fold_of = crossval.folds(people)
    obama = {fold_of[prepare.person(clip.name)] for clip, _ in people[:3]}
    assert len(obama) == 1
    totals = np.zeros(crossval.FOLDS)
    for clip, data in people:
        totals[fold_of[prepare.person(clip.name)]] += len(data.opening)
    assert (totals > 0).all()
    assert totals.max() - totals.min() <= 900  # within the largest person's share


def test_validation_holds_out_whole_people():
    for clip, stands_for in prepare.SAME_PERSON.items():
        assert (clip in prepare.HELD_OUT_SPEAKERS) == (stands_for in prepare.HELD_OUT_SPEAKERS)


def test_batches_draw_each_source_by_its_share(clip_data):
    grid, extra, synthetic = (train.ChunkBank([clip_data], 0.02, train.CHUNK_FRAMES) for _ in range(3))
    for source, bank in enumerate((grid, extra, synthetic)):
        bank.phones[:] = source  # tell the sources apart by their phones
    config = train.TrainConfig(batch=8, extra_share=0.25, synthetic_share=0.25, phone_dropout=0.0,
                               augment=train.AugmentConfig(tempo=0.0))
    batches = train.Batches(grid, extra, config, torch.Generator().manual_seed(0), synthetic)
    power, phones, lips, mask = batches.next()
    assert power.shape[0] == lips.shape[0] == mask.shape[0] == 8
    assert torch.bincount(phones[:, 0], minlength=3).tolist() == [4, 2, 2]


def test_trials_vary_a_shipped_run_and_never_train_into_models():
    for trial, run in train.TRIALS.items():
        assert run in train.CHECKPOINTS and trial not in train.CHECKPOINTS
        assert train.RUN_TRAINING[trial] != train.RUN_TRAINING[run]
        assert type(train.build(trial, 0.02)) is type(train.build(run, 0.02))
        assert train.build(trial, 0.02).config == train.build(run, 0.02).config


def test_a_recipes_cache_key_holds_only_what_differs_from_the_defaults():
    from dataclasses import replace

    from lab.crossval import recipe_key

    assert recipe_key(train.TrainConfig()) == {}
    assert recipe_key(replace(train.TrainConfig(), seed=7, synthetic_voices=("joe", "en-us+f3"))) == {
        "seed": 7, "synthetic_voices": ("joe", "en-us+f3")}
