"""Renderer v3's last step: the learned mouth refiner (studio/networks/mouth_refiner.py) on a
rendered frame."""
from functools import cache

import cv2
import numpy as np
import torch

from studio.geometry import FaceFrame
from studio.hub import model_file
from studio.networks.mouth_refiner import (
    MouthCrop,
    MouthRefiner,
    feather,
    geometry_maps,
    lips_centre,
    refiner_input,
)
from studio.render.mesh import FACE_OVAL, FramePose, WarpMesh

REFINER_FILE = "mouth_refiner.pt"


@cache
def shipped_refiner() -> MouthRefiner:
    from studio.networks.checkpoint import load_model

    # Channels-last weights: CPU convolutions on a small crop run faster, and the crops, made from
    # (S, S, C) arrays by refiner_input's permute, already come in that layout.
    return load_model(model_file(REFINER_FILE)).to(memory_format=torch.channels_last)


class MouthRefinement:
    """Renderer v3's last step: the learned refiner corrects the mouth crop of a rendered frame,
    and the correction is pasted back, feathered, at the photo's own resolution; it stays inside
    the face oval (moved with the head), so neck and background are left as the warp left them."""

    def __init__(self, mesh: WarpMesh, photo: np.ndarray, refiner: MouthRefiner):
        self.mesh = mesh
        self.refiner = refiner
        self.centre = lips_centre(mesh.rest_mouth)
        self.photo_crop = refiner_input(self.crop(mesh.frame_of_face).cut(photo))
        self.feather = feather(refiner.config.size)[..., None]
        self.oval = mesh.landmarks[list(FACE_OVAL)]

    def crop(self, frame: FaceFrame) -> MouthCrop:
        return MouthCrop.of(frame, self.centre, self.refiner.config)

    def inside_face(self, box: tuple[int, int, int, int], pose: FramePose) -> np.ndarray:
        """(h, w, 1) float 0..1 over the image pixels of `box`: inside the face oval, moved with the
        head, where the correction applies."""
        x0, y0, x1, y1 = box
        oval = self.mesh.head_motion(self.oval, pose.head) - np.array([x0, y0], np.float32)
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round(oval * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
        return (inside / np.float32(255))[..., None]

    def inputs(self, image: np.ndarray, pose: FramePose) -> tuple[MouthCrop, np.ndarray, np.ndarray]:
        """The crop of a rendered frame, its warped pixels (uint8) and the pose's lip geometry."""
        crop = self.crop(self.mesh.moved_frame(pose.head))
        geometry = geometry_maps(crop.points(self.mesh.driven_mouth(pose)), crop.size)
        return crop, crop.cut(image), geometry

    @staticmethod
    def render_thread_setup() -> None:
        """For a thread that renders frames beside others: torch's own threads on top oversubscribe
        the cores (measured: a minute of video at 512 px took 9.4 s of CPU with them, 6.8 s without)."""
        torch.set_num_threads(1)  # OpenMP: this thread's setting only

    @torch.no_grad()
    def __call__(self, image: np.ndarray, pose: FramePose) -> None:
        """Refine `image`'s mouth in place."""
        crop, warped, geometry = self.inputs(image, pose)
        refined, _ = self.refiner(refiner_input(warped), self.photo_crop,
                                  torch.from_numpy(geometry).permute(2, 0, 1)[None])
        change = (refined[0].permute(1, 2, 0).numpy() * 255 - warped) * self.feather
        x0, y0, x1, y1 = box = crop.image_box(image.shape)
        change = crop.to_image(change, box) * self.inside_face(box, pose)
        image[y0:y1, x0:x1] = np.clip(image[y0:y1, x0:x1] + np.round(change), 0, 255).astype(np.uint8)
