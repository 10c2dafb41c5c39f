"""The renderer: warps the photo's lips, jaw and eyelids to the driven geometry at the photo's own
resolution, fills the opened mouth's interior, and leaves every pixel outside the head untouched.

Each frame is four steps: the mesh warp (`mesh.py`, with the eyelids of `eyes.py`), the mouth
interior (`interior.py`), the paste-back into the photo, and for v3 the learned mouth refiner
(`refinement.py`). v2 paints the interior or takes it from the photo where the photo shows an open
mouth; v3 (the default) then hands the mouth to the refiner (studio/networks/mouth_refiner.py),
with the photo's own mouth as reference. v2 and v1 stay selectable so the evaluation can compare
them.
"""
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from studio.geometry import INNER_MOUTH_POLYGON, INNER_UPPER, MOUTH_POINTS, FaceFrame, rest_mouth
from studio.render.interior import MouthInterior
from studio.render.mesh import FACE_OVAL, FramePose, WarpMesh, triangle_maps

__all__ = ["FACE_OVAL", "INTERIORS", "FramePose", "PhotoRenderer", "triangle_maps"]

# v3: v2 and the learned mouth refiner; v2: smooth lip contours and the photo's own teeth; v1: the first
INTERIORS = ("v3", "v2", "v1")  # the first is the default
# Frames rendered at once: the warp (OpenCV) and the refiner (torch) release the GIL, so each core
# renders a frame while the encoder runs beside them; the frames are the parallelism, so each render
# thread's torch runs on one core.
RENDER_THREADS = min(2, os.cpu_count() or 1)
INNER_CORNERS = [MOUTH_POINTS.index(INNER_UPPER[0]), MOUTH_POINTS.index(INNER_UPPER[-1])]
INNER_POLYGON = [MOUTH_POINTS.index(p) for p in INNER_MOUTH_POLYGON]


class PhotoRenderer:
    """Renders frames of one photo; build once per photo, then call `frame(pose)` per frame."""

    def __init__(self, photo: np.ndarray, landmarks: np.ndarray, interior: str = INTERIORS[0],
                 refiner=None):
        """`refiner`: v3's MouthRefiner network (default: the shipped one)."""
        if interior not in INTERIORS:
            raise ValueError(f"interior must be one of {INTERIORS}")
        self.photo = photo
        self.landmarks = landmarks.astype(np.float32)
        self.rest_mouth = rest_mouth(self.landmarks)
        self.mouth = MouthInterior(photo, self.landmarks, smooth_lips=interior != "v1")
        self.mesh = WarpMesh(self.landmarks, self.mouth.source_mouth(), self.rest_mouth, photo.shape)
        self.rest_corners = self.mesh.frame_of_face.to_image(self.rest_mouth[INNER_CORNERS])
        self.refinement = None
        if interior == "v3":  # torch only for the renderer that needs it
            from studio.render.refinement import MouthRefinement, shipped_refiner

            self.refinement = MouthRefinement(self.mesh, photo, refiner or shipped_refiner())

    @property
    def frame_of_face(self) -> FaceFrame:
        """The photo's face frame."""
        return self.mesh.frame_of_face

    @property
    def ring(self) -> np.ndarray:
        """The fixed polygon around the head: no pixel outside it ever changes."""
        return self.mesh.ring

    def frame(self, pose: FramePose) -> np.ndarray:
        """One RGB frame at the photo's resolution."""
        targets = self.mesh.targets(pose)
        region = self.mesh.warp(self.mouth.source_image, targets)
        x0, y0, x1, y1 = self.mesh.box
        local = targets - np.array([x0, y0], np.float32)
        region = self.mouth.paint(region, local[INNER_POLYGON], self._dental_arch(pose) - x0)
        out = self.photo.copy()
        out[y0:y1, x0:x1] = region
        if self.refinement is not None:
            self.refinement(out, pose)
        return out

    def frames(self, poses: Iterable[FramePose]) -> Iterator[np.ndarray]:
        """`frame` of each pose, in order, RENDER_THREADS at a time; only a few frames are held."""
        setup = self.refinement.render_thread_setup if self.refinement is not None else None
        with ThreadPoolExecutor(RENDER_THREADS, initializer=setup) as pool:
            pending = deque()
            for pose in poses:
                pending.append(pool.submit(self.frame, pose))
                if len(pending) > RENDER_THREADS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _dental_arch(self, pose: FramePose) -> np.ndarray:
        """Image x of the rest mouth's corners under the pose's head motion: the teeth are fixed to
        the head, so they stay put while the lips spread or round over them."""
        return self.mesh.head_motion(self.rest_corners, pose.head)[:, 0]
