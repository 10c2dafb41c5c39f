"""The mouth refiner (renderer v3): shapes and paste-back with a tiny random network, and the shipped
network on a real photo with the real face mesh."""
import cv2
import numpy as np
import pytest
import torch

from lab.measures import mouth_box, psnr
from studio.face import FaceMesh
from studio.geometry import LIP_POINTS, MOUTH_INDEX, MOUTH_POINTS, ParametricMouth, mouth_opening
from studio.networks.checkpoint import load_model, save_model
from studio.networks.mouth_refiner import MouthCrop, MouthRefiner, MouthRefinerConfig, feather, geometry_maps
from studio.pipeline import load_photo
from studio.render import FramePose, PhotoRenderer
from studio.render.refinement import shipped_refiner


def tiny_refiner(seed: int = 0) -> MouthRefiner:
    """Random weights everywhere, the output layer included, so it changes what it sees."""
    torch.manual_seed(seed)
    model = MouthRefiner(MouthRefinerConfig(size=32, channels=(4, 4, 4), blocks=1, mask_bias=0.0))
    torch.nn.init.normal_(model.out.weight, std=0.3)
    return model.eval()


@pytest.fixture(scope="module")
def face_mesh():
    return FaceMesh()


@pytest.fixture(scope="module")
def photo(photo_path):
    return load_photo(str(photo_path))


@pytest.fixture(scope="module")
def landmarks(photo, face_mesh):
    return face_mesh.locate(photo).landmarks


def pose(renderer: PhotoRenderer, opening: float, head=(0.0, 0.0, 0.0)) -> FramePose:
    return FramePose(ParametricMouth(renderer.rest_mouth).offsets(np.array([opening]), np.zeros(1))[0],
                     head=head)


def test_refiner_shapes_and_blend():
    model = tiny_refiner()
    warped, photo = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    refined, mask = model(warped, photo, torch.rand(2, 2, 32, 32))
    assert refined.shape == (2, 3, 32, 32) and mask.shape == (2, 1, 32, 32)
    assert refined.min() >= 0 and refined.max() <= 1 and mask.min() > 0 and mask.max() < 1
    untrained = MouthRefiner(MouthRefinerConfig(size=32, channels=(4, 4, 4), blocks=1))
    # It starts as "do nothing".
    assert torch.equal(untrained(warped, photo, torch.rand(2, 2, 32, 32))[0], warped)


def test_checkpoint_rebuilds_the_same_refiner(tmp_path):
    model = tiny_refiner()
    save_model(model, tmp_path / "refiner.pt")
    loaded = load_model(tmp_path / "refiner.pt")
    inputs = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), torch.rand(1, 2, 32, 32)
    assert loaded.config == model.config and torch.equal(loaded(*inputs)[0], model(*inputs)[0])


def test_crop_follows_the_face_and_maps_back(photo, landmarks):
    from studio.geometry import FaceFrame, mouth_in_face_frame

    config = MouthRefinerConfig(size=64)
    mouth = mouth_in_face_frame(landmarks)
    crop = MouthCrop.of(FaceFrame.of(landmarks), mouth[[MOUTH_INDEX[p] for p in LIP_POINTS]].mean(0), config)
    lips = crop.points(landmarks[list(LIP_POINTS)])
    assert np.all((lips > 0) & (lips < 64)) and abs(lips[:, 0].mean() - 32) < 2  # centred across
    geometry = geometry_maps(crop.points(landmarks[list(MOUTH_POINTS)]), 64)
    assert geometry[..., 0].sum() > geometry[..., 1].sum() >= 0  # the lips enclose their gap
    # A change at one crop pixel lands at that pixel's place in the image.
    change = np.zeros((64, 64, 3), np.float32)
    change[40, 20] = 100
    box = crop.image_box(photo.shape)
    back = crop.to_image(change, box)
    y, x = np.unravel_index(np.argmax(back[..., 0]), back.shape[:2])
    assert np.allclose(crop.points(np.array([[x + box[0], y + box[1]]], np.float32))[0], [20, 40], atol=1.5)
    assert feather(64)[0].max() == 0 and feather(64)[32, 32] == 1


def test_refined_frames_change_only_the_mouth_crop(photo, landmarks):
    refined = PhotoRenderer(photo, landmarks, "v3", tiny_refiner())
    plain = PhotoRenderer(photo, landmarks, "v2")
    for head in ((0.0, 0.0, 0.0), (0.05, 0.02, -0.01)):
        frame_pose = pose(refined, 0.1, head)
        a, b = refined.frame(frame_pose), plain.frame(frame_pose)
        assert a.shape == photo.shape and a.dtype == np.uint8
        changed = np.any(a != b, axis=-1)
        assert changed.any()
        crop = refined.refinement.crop(refined.mesh.moved_frame(head))
        x0, y0, x1, y1 = crop.image_box(photo.shape)
        outside = np.ones_like(changed)
        outside[y0:y1, x0:x1] = False
        assert not changed[outside].any()
        face = np.zeros(photo.shape[:2], np.uint8)
        oval = refined.mesh.head_motion(refined.refinement.oval, head)
        cv2.fillPoly(face, [np.round(oval).astype(np.int32)], 1)
        assert not changed[cv2.dilate(face, np.ones((5, 5), np.uint8)) == 0].any()


def test_shipped_refiner_keeps_a_real_face_readable_and_driven(photo, landmarks, face_mesh):
    renderer = PhotoRenderer(photo, landmarks, "v3")
    assert renderer.refinement.refiner is shipped_refiner()
    openings = []
    for opening in (0.0, 0.14):
        frame = renderer.frame(pose(renderer, opening))
        openings.append(float(mouth_opening(face_mesh.locate(frame).landmarks)))
    assert openings[1] > openings[0] + 0.06, openings
    # At rest the refined mouth stays close to v2's: a correction, not a new face.
    plain = PhotoRenderer(photo, landmarks, "v2").frame(pose(renderer, 0.0))
    x0, y0, x1, y1 = mouth_box(landmarks, photo.shape)
    assert psnr(renderer.frame(pose(renderer, 0.0))[y0:y1, x0:x1], plain[y0:y1, x0:x1]) > 25


def test_training_samples_pair_a_warped_reference_with_the_real_target(shared_data, monkeypatch, tmp_path):
    """lab.train_refiner's samples from a real GRID clip: the v2 warp of a reference frame to a
    target frame's lips, the photo's crop and the real target crop, all the refiner's size; the
    targets in neighbour pairs, for the temporal term."""
    from lab import dataset, train_refiner

    monkeypatch.setattr(dataset, "CACHE", tmp_path)
    path = train_refiner.clip_samples(dataset.grid_clip("bbaf2n"), (1, 4))
    samples = np.load(path)
    size = train_refiner.CONFIG.size
    assert samples["warped"].shape == samples["photo"].shape == samples["target"].shape == (4, size, size, 3)
    assert samples["geometry"].shape == (4, size, size, 2) and samples["geometry"].max() == 255
    x0, y0, x1, y1 = samples["box"].T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= size).all() and (y1 <= size).all()
    assert (x0 < x1).all() and (y0 < y1).all()
    assert not np.array_equal(samples["warped"], samples["target"])
    assert (samples["frame"][1::2] == samples["frame"][0::2] + 1).all()


def test_training_batches_keep_neighbour_pairs_whole_and_people_balanced():
    """lab.train_refiner's batches: whole neighbour pairs (2i, 2i+1), half of them GRID's speaker,
    and one random change of the photo shared by both frames of a pair, for the temporal term."""
    from lab.train_refiner import Samples, augment, balanced_batches

    group = np.array(["grid-s1/a"] * 6 + ["p1"] * 4 + ["p2"] * 2)
    samples = Samples(*[None] * 5, group=group)
    batch = next(balanced_batches(samples, 8, np.random.default_rng(0)))
    assert (batch[0::2] % 2 == 0).all() and (batch[1::2] == batch[0::2] + 1).all()
    assert (group[batch[:4]] == "grid-s1/a").all() and not np.isin(group[batch[4:]], "grid-s1/a").any()
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(2, 3, 16, 16, generator=generator).repeat_interleave(2, 0) for _ in range(4)]
    weight = torch.ones(4, 1, 16, 16)
    warped, photo, geometry, target, _ = augment((*images, weight), generator)
    for changed, original in zip((warped, photo, geometry, target), images):
        assert torch.equal(changed[0], changed[1]) and torch.equal(changed[2], changed[3])
        assert not torch.equal(changed[0], changed[2])
        assert not torch.allclose(changed, original)
