"""The warp: one triangle mesh over the face moves the photo's pixels to the driven geometry.

Moving points (mouth, jaw, eyelids), fixed anchors (nose, cheeks, brows) and a fixed ring around
the head. Each output pixel is fetched from the photo through its triangle's affine map (piecewise
linear, so no seams); the ring pins the border, so everything beyond it is the photo itself.
"""
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from studio.geometry import INNER_LOWER, INNER_UPPER, MOUTH_POINTS, FaceFrame, ParametricMouth
from studio.render.eyes import EYE_POINTS, blink

FIXED_POINTS = (1, 4, 5, 195, 197, 6, 168, 98, 327, 2, 164, 33, 133, 263, 362,
                50, 280, 205, 425, 123, 352, 116, 345, 187, 411, 70, 63, 105, 66, 107,
                336, 296, 334, 293, 300, 10, 151, 9)
RING_POINTS = 28
RING_SCALE = 1.45  # the ring's radii over the face oval's, about the face centre
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
OPEN_TOPOLOGY = 0.35  # the mouth opening (over IOD) whose triangulation every frame uses


@dataclass
class FramePose:
    """What one output frame asks of the face, on top of the photo."""

    mouth_offsets: np.ndarray  # (K, 2) MOUTH_POINTS offsets, face frame, relative to the rest mouth
    blink: float = 0.0  # 0 open .. 1 closed
    head: tuple[float, float, float] = (0.0, 0.0, 0.0)  # rotation (rad), shift x, y (face units)


class WarpMesh:
    """The mesh of one photo: `targets(pose)` places its points, `warp` moves the pixels."""

    def __init__(self, landmarks: np.ndarray, source_mouth: np.ndarray, rest: np.ndarray,
                 shape: tuple[int, ...]):
        """`source_mouth`: the (K, 2) MOUTH_POINTS the photo's lip pixels are fetched from;
        `rest`: the rest mouth in the face frame, which the poses' offsets are relative to."""
        self.landmarks, self.rest_mouth = landmarks, rest
        self.frame_of_face = FaceFrame.of(landmarks)
        height, width = shape[:2]
        ring = face_ring(landmarks, width, height)
        anchor_ids = [p for p in FIXED_POINTS if p not in MOUTH_POINTS and p not in EYE_POINTS]
        self.ids = list(MOUTH_POINTS) + EYE_POINTS + anchor_ids
        self.eye_index = {p: i + len(MOUTH_POINTS) for i, p in enumerate(EYE_POINTS)}
        source = landmarks[self.ids]
        source[:len(MOUTH_POINTS)] = source_mouth
        self.source = np.concatenate([source, ring]).astype(np.float32)
        self.n_ring = len(ring)

        x0, y0 = np.floor(self.source.min(axis=0)).astype(int)
        x1, y1 = np.ceil(self.source.max(axis=0)).astype(int) + 1
        self.box = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))

        # Topology from a wide-open mouth, so the lips never form degenerate triangles.
        opened = self.targets(FramePose(ParametricMouth(rest).offsets(
            np.array([OPEN_TOPOLOGY]), np.zeros(1))[0]))
        self.triangles = Delaunay(opened).simplices.astype(np.int32)
        inner = {MOUTH_POINTS.index(p) for p in INNER_UPPER + INNER_LOWER}
        self.triangles = self.triangles[[not set(t) <= inner for t in self.triangles]]
        x0, y0, x1, y1 = self.box
        self.grid = np.stack(np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                                         np.arange(y0, y1, dtype=np.float32)), axis=-1)

    @property
    def ring(self) -> np.ndarray:
        """The fixed polygon around the head: no pixel outside it ever changes."""
        return self.source[-self.n_ring:]

    def driven_mouth(self, pose: FramePose) -> np.ndarray:
        """(K, 2) image points of the mouth a pose asks for."""
        return self.moved_frame(pose.head).to_image(self.rest_mouth + pose.mouth_offsets)

    def targets(self, pose: FramePose) -> np.ndarray:
        """Image positions of all mesh points for a pose."""
        mouth = self.frame_of_face.to_image(self.rest_mouth + pose.mouth_offsets)
        points = np.concatenate([mouth, self.landmarks[self.ids[len(MOUTH_POINTS):]]])
        if pose.blink > 0:
            points = blink(points, self.eye_index, pose.blink)
        return np.concatenate([self.head_motion(points, pose.head), self.ring]).astype(np.float32)

    def head_motion(self, points: np.ndarray, head: tuple[float, float, float]) -> np.ndarray:
        """Image points moved with the head: rotated about the face origin, then shifted."""
        if not any(head):
            return points
        rotation, shift = self._head_transform(head)
        origin = self.frame_of_face.origin
        return (points - origin) @ rotation.T + origin + shift

    def moved_frame(self, head: tuple[float, float, float]) -> FaceFrame:
        """The photo's face frame carried along by `head_motion`."""
        frame = self.frame_of_face
        if not any(head):
            return frame
        rotation, shift = self._head_transform(head)
        return FaceFrame(frame.origin + shift, (frame.rotation @ rotation.T).astype(np.float32), frame.scale)

    def _head_transform(self, head: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        """The image rotation (about the face origin) and shift of a head pose."""
        angle, dx, dy = head
        frame = self.frame_of_face
        c, s = np.cos(angle), np.sin(angle)
        shift = (frame.to_image(np.array([[dx, dy]], np.float32))[0]
                 - frame.to_image(np.zeros((1, 2), np.float32))[0])
        return np.array([[c, -s], [s, c]], np.float32), shift

    def warp(self, image: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The mesh box of `image` with every triangle's pixels moved from the source points to
        `targets`."""
        x0, y0, x1, y1 = self.box
        local = targets - np.array([x0, y0], np.float32)
        owner = np.zeros((y1 - y0, x1 - x0), np.int32)
        to_source = np.zeros((len(self.triangles) + 1, 2, 3), np.float32)
        to_source[0] = [[1, 0, 0], [0, 1, 0]]  # pixels outside the mesh stay where they are
        drawn, to_source[1:] = triangle_maps(targets[self.triangles], self.source[self.triangles])
        polygons = np.round(local[self.triangles] * 16).astype(np.int32)
        for k in drawn:
            cv2.fillConvexPoly(owner, polygons[k], int(k) + 1, lineType=cv2.LINE_8, shift=4)
        affine = to_source[owner]
        x, y = self.grid[..., 0], self.grid[..., 1]
        map_x = affine[..., 0, 0] * x + affine[..., 0, 1] * y + affine[..., 0, 2]
        map_y = affine[..., 1, 0] * x + affine[..., 1, 1] * y + affine[..., 1, 2]
        identity = owner == 0
        map_x[identity], map_y[identity] = x[identity], y[identity]
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def face_ring(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """RING_POINTS on an ellipse around the face oval, inside the image."""
    oval = landmarks[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    radii = np.abs(oval - centre).max(axis=0) * RING_SCALE
    angles = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
    ring = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii
    return np.clip(ring, 0, [width - 1, height - 1])


def triangle_maps(dst: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Affine maps (N, 2, 3) taking each triangle of `dst` (N, 3, 2) onto the same one of `src`,
    all at once (a per-triangle loop costs several times more), and the indices of the triangles
    that have an area (a closed mouth's inner triangles collapse; their maps stay zero)."""
    edges = dst[:, 1:] - dst[:, :1]  # (N, 2 edges, xy)
    area = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    drawn = np.flatnonzero(np.abs(area) >= 1e-3)
    e, det = edges[drawn], area[drawn, None, None]
    # The linear part maps dst's edge vectors onto src's: src_edges @ inverse(dst_edges).
    inverse = np.stack([np.stack([e[:, 1, 1], -e[:, 1, 0]], 1),
                        np.stack([-e[:, 0, 1], e[:, 0, 0]], 1)], 1) / det
    linear = (src[drawn, 1:] - src[drawn, :1]).transpose(0, 2, 1) @ inverse
    maps = np.zeros((len(dst), 2, 3), np.float32)
    maps[drawn, :, :2] = linear
    maps[drawn, :, 2] = src[drawn, 0] - (linear @ dst[drawn, 0, :, None])[..., 0]
    return drawn, maps
