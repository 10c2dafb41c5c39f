"""The renderer on a real photo with the real face mesh: geometry goes where it is told, and
nothing outside the head changes."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from studio.drivers.rules import viseme_curves
from studio.face import FaceMesh
from studio.geometry import MOUTH_POINTS, ParametricMouth, mouth_opening, rest_mouth
from studio.phonemes import Segment
from studio.pipeline import load_photo
from studio.render import FramePose, PhotoRenderer, triangle_maps


@pytest.fixture(scope="module")
def face_mesh():
    return FaceMesh()


@pytest.fixture(scope="module")
def renderer(photo_path, face_mesh):
    photo = load_photo(str(photo_path))
    return PhotoRenderer(photo, face_mesh.locate(photo).landmarks)


def rendered_opening(renderer, face_mesh, opening: float) -> float:
    offsets = ParametricMouth(renderer.rest_mouth).offsets(np.array([opening]), np.zeros(1))[0]
    frame = renderer.frame(FramePose(offsets))
    return float(mouth_opening(face_mesh.locate(frame).landmarks))


def test_open_photo_mouth_closes_and_opens_as_driven(renderer, face_mesh):
    # The astronaut smiles with parted lips (open about 0.12); rest closes them.
    assert mouth_opening(renderer.landmarks) > 0.08
    closed = rendered_opening(renderer, face_mesh, 0.0)
    wide = rendered_opening(renderer, face_mesh, 0.14)
    assert closed < 0.04
    assert wide > closed + 0.07


def test_frames_rendered_at_once_come_in_order_and_unchanged(renderer):
    mouth = ParametricMouth(renderer.rest_mouth)
    openings = np.linspace(0, 0.14, 9)
    poses = [FramePose(offsets, blink=k / 8, head=(0.02 * k, 0.0, 0.0))
             for k, offsets in enumerate(mouth.offsets(openings, np.zeros(9)))]
    frames = list(renderer.frames(iter(poses)))
    assert len(frames) == len(poses)
    assert all(np.array_equal(frame, renderer.frame(pose)) for frame, pose in zip(frames, poses))


def test_each_render_thread_runs_torch_on_one_core_and_the_caller_keeps_its_own(renderer):
    import torch

    before = torch.get_num_threads()
    with ThreadPoolExecutor(1, initializer=renderer.refinement.render_thread_setup) as pool:
        assert pool.submit(torch.get_num_threads).result() == 1
    assert torch.get_num_threads() == before


def test_closed_open_photo_mouth_shows_where_the_lips_meet(renderer):
    # The photo's open mouth is trimmed away; the closed lips must still meet at a dark line.
    from studio.geometry import INNER_LOWER, INNER_UPPER, MOUTH_POINTS

    frame = renderer.frame(FramePose(np.zeros((len(MOUTH_POINTS), 2), np.float32)))
    targets = renderer.frame_of_face.to_image(renderer.rest_mouth)
    middle = slice(3, 8)  # the middle columns of the inner lip contours
    seam = (targets[[MOUTH_POINTS.index(p) for p in INNER_UPPER]][middle]
            + targets[[MOUTH_POINTS.index(p) for p in INNER_LOWER]][middle]) / 2
    lip_depth = renderer.frame_of_face.scale * 0.04
    grey = frame.mean(axis=-1)
    level = lambda points: np.mean([grey[int(round(y)), int(round(x))] for x, y in points])
    assert level(seam) < min(level(seam - [0, lip_depth]), level(seam + [0, lip_depth])) - 15


def test_pixels_outside_the_head_never_change(renderer):
    offsets = ParametricMouth(renderer.rest_mouth).offsets(np.array([0.15]), np.array([0.5]))[0]
    frame = renderer.frame(FramePose(offsets, blink=1.0, head=(0.01, 0.01, 0.01)))
    changed = np.any(frame != renderer.photo, axis=-1)
    ys, xs = np.nonzero(changed)
    ring = renderer.ring
    assert changed.any()
    assert xs.min() >= ring[:, 0].min() - 1 and xs.max() <= ring[:, 0].max() + 1
    assert ys.min() >= ring[:, 1].min() - 1 and ys.max() <= ring[:, 1].max() + 1


def test_rest_mouth_has_lips_together(renderer):
    from studio.geometry import MOUTH_INDEX

    mouth = rest_mouth(renderer.landmarks)
    gap = mouth[MOUTH_INDEX[14], 1] - mouth[MOUTH_INDEX[13], 1]
    assert abs(gap) < 0.01


def test_viseme_closes_lips_on_bilabials_and_opens_on_vowels():
    phones = [Segment("sil", 0, 0.2), Segment("B", 0.2, 0.28), Segment("AA", 0.28, 0.45),
              Segment("M", 0.45, 0.53), Segment("sil", 0.53, 1.0)]
    opening, width = viseme_curves(phones, 25)
    frame = lambda t: int(t * 25)
    assert opening[frame(0.24)] < 0.025 and opening[frame(0.49)] < 0.025
    assert opening[frame(0.36)] > 0.08
    assert opening[frame(0.9)] < 0.01 and opening[0] < 0.01
    assert width.shape == (25,)


def _variants(photo: np.ndarray) -> dict[str, np.ndarray]:
    """The astronaut as people really upload photos: tiny in a large frame, dark, tilted."""
    import cv2

    small = cv2.resize(photo, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # face ~55 px
    canvas = np.full((1200, 1600, 3), 90, np.uint8)
    canvas[700:700 + small.shape[0], 300:300 + small.shape[1]] = small
    height, width = photo.shape[:2]
    tilt = cv2.warpAffine(photo, cv2.getRotationMatrix2D((width / 2, height / 2), 20, 1.0),
                          (width, height), borderMode=cv2.BORDER_REFLECT)
    return {"small face in a large photo": canvas, "dark": (photo * 0.3).astype(np.uint8),
            "tilted 20 degrees": tilt}


@pytest.mark.parametrize("variant", ["small face in a large photo", "dark", "tilted 20 degrees"])
def test_hard_photos_still_open_and_close(photo_path, face_mesh, variant):
    photo = _variants(load_photo(str(photo_path)))[variant]
    renderer = PhotoRenderer(photo, face_mesh.locate(photo).landmarks)
    wide = rendered_opening(renderer, face_mesh, 0.14)
    closed = rendered_opening(renderer, face_mesh, 0.0)
    assert wide > closed + 0.06, (variant, closed, wide)


def test_triangle_maps_match_opencv():
    import cv2

    rng = np.random.default_rng(0)
    dst = rng.uniform(0, 100, (50, 3, 2)).astype(np.float32)
    src = rng.uniform(0, 100, (50, 3, 2)).astype(np.float32)
    dst[7] = [[1, 1], [2, 2], [3, 3]]  # collapsed: not drawn
    drawn, maps = triangle_maps(dst, src)
    assert 7 not in drawn and len(drawn) == 49 and not maps[7].any()
    for k in drawn:
        assert np.allclose(maps[k], cv2.getAffineTransform(dst[k], src[k]), rtol=1e-3, atol=1e-2)


def test_mouth_mirror_pairs_points_across_the_face(renderer):
    from studio.geometry import MOUTH_MIRROR, symmetric_motion

    mouth = renderer.rest_mouth  # the astronaut's mouth, frontal, in her face frame
    centre = np.median(mouth[:, 0])
    assert np.abs((mouth[:, 0] - centre) + (mouth[MOUTH_MIRROR, 0] - centre)).max() < 0.1
    assert np.abs(mouth[:, 1] - mouth[MOUTH_MIRROR, 1]).max() < 0.1
    opening = ParametricMouth(mouth).offsets(np.array([0.1]), np.array([0.05]))
    assert np.abs(symmetric_motion(opening) - opening).max() < 1e-3  # speech-like: kept
    sideways = np.zeros_like(opening)
    sideways[..., 0] = 0.02
    assert np.allclose(symmetric_motion(sideways), 0)  # the whole mouth sliding: removed


def test_painted_teeth_stay_put_while_the_lips_spread(photo_path, face_mesh):
    """Teeth belong to the head: widening the lips over them must not move the gaps between them."""
    photo = load_photo(str(photo_path.parent / "grace-hopper.jpg"))  # closed lips: painted teeth
    renderer = PhotoRenderer(photo, face_mesh.locate(photo).landmarks)
    mouth = ParametricMouth(renderer.rest_mouth)

    rest = renderer.frame_of_face.to_image(renderer.rest_mouth)
    (x0, _), (x1, _) = rest[[MOUTH_POINTS.index(78), MOUTH_POINTS.index(308)]]
    columns = slice(int(x0 + 0.2 * (x1 - x0)), int(x1 - 0.2 * (x1 - x0)))  # the middle, corners left out

    def tooth_gaps(width: float) -> np.ndarray:
        offsets = mouth.offsets(np.array([0.25]), np.array([width]))[0]
        upper_lip = renderer.frame_of_face.to_image(renderer.rest_mouth + offsets)[MOUTH_POINTS.index(13)]
        y = int(upper_lip[1]) + 3  # just under the upper lip: the teeth
        row = renderer.frame(FramePose(offsets))[y - 1:y + 2, columns].astype(np.float32).mean(axis=(0, 2))
        gap = (row[1:-1] < row[:-2] - 8) & (row[1:-1] < row[2:] - 8)  # darker than both neighbours
        return np.flatnonzero(gap)

    narrow, wide = tooth_gaps(-0.8), tooth_gaps(0.8)
    assert len(narrow) >= 2 and len(narrow) == len(wide)
    assert np.abs(narrow - wide).max() <= 1
