"""Finding the face and its 478 MediaPipe FaceMesh landmarks (weights ship inside the wheel).

A photo goes through the full-range face detector first, so small faces in large photos and
several faces are handled; the mesh then runs on a crop around the chosen face, which gives it
enough pixels whatever the photo's size.
"""
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from studio.errors import StudioError

MESH_INPUT = 384  # long side of the face crop the mesh sees
DETECT_LONG_SIDE = 1280  # the detector's own input is 192 px: larger photos only cost time
TILE_MIN = 256  # smallest tile worth searching for small faces


@dataclass(frozen=True)
class Face:
    landmarks: np.ndarray  # (478, 2) float32 pixel coordinates in the image
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the detected face
    faces_found: int  # faces seen in the image; the largest is the one animated


class FaceMesh:
    """Detector and mesh, built on first use and shared by every request (calls are serialised)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._detector = None
        self._mesh = None

    def _load(self):
        if self._mesh is None:
            import mediapipe as mp

            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=0.5)
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True,
                min_detection_confidence=0.3)

    def face_boxes(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Boxes of the faces in an RGB image, largest first.

        The detector sees a 192 px version of what it is given, so a small face in a large photo
        vanishes: when the whole view finds nothing, overlapping tiles are searched too.
        """
        boxes = self._detect(image, 0, 0)
        height, width = image.shape[:2]
        tile = min(height, width) // 2
        if not boxes and tile >= TILE_MIN:
            for y in range(0, height - tile + 1, tile // 2):
                for x in range(0, width - tile + 1, tile // 2):
                    boxes += self._detect(image[y:y + tile, x:x + tile], x, y)
        return _distinct(sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True))

    def _detect(self, image: np.ndarray, x_offset: int, y_offset: int) -> list[tuple[int, int, int, int]]:
        height, width = image.shape[:2]
        scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
            if scale < 1 else image
        with self._lock:
            self._load()
            found = self._detector.process(np.ascontiguousarray(small)).detections or []
        boxes = []
        for detection in found:
            rel = detection.location_data.relative_bounding_box
            x0, y0 = max(0, int(rel.xmin * width)), max(0, int(rel.ymin * height))
            x1 = min(width, int((rel.xmin + rel.width) * width))
            y1 = min(height, int((rel.ymin + rel.height) * height))
            if x1 - x0 > 4 and y1 - y0 > 4:
                boxes.append((x0 + x_offset, y0 + y_offset, x1 + x_offset, y1 + y_offset))
        return boxes

    def mesh(self, image: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """(478, 2) landmarks of the face in `box` (or of the one face in the image), or None."""
        height, width = image.shape[:2]
        if box is None:
            x0, y0, x1, y1 = 0, 0, width, height
        else:  # a generous crop: the detector's box is tight and the mesh wants context
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            half = 0.9 * max(box[2] - box[0], box[3] - box[1])
            x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
            x1, y1 = int(min(width, cx + half)), int(min(height, cy + half))
        crop = image[y0:y1, x0:x1]
        scale = MESH_INPUT / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        with self._lock:
            self._load()
            result = self._mesh.process(np.ascontiguousarray(crop)).multi_face_landmarks
        if not result:
            return None
        points = np.array([(p.x, p.y) for p in result[0].landmark], np.float32)
        points *= np.array([crop.shape[1], crop.shape[0]], np.float32)
        return points / scale + np.array([x0, y0], np.float32)

    def locate(self, image: np.ndarray) -> Face:
        """The largest face of a photo, or a StudioError that says why there is none."""
        boxes = self.face_boxes(image)
        for box in boxes:
            landmarks = self.mesh(image, box)
            if landmarks is not None:
                return Face(landmarks, box, len(boxes))
        landmarks = self.mesh(image)
        if landmarks is None:
            raise StudioError("No face was found in the photo: use a clear, front-facing photo "
                              "of one person.")
        x0, y0 = landmarks.min(axis=0).astype(int)
        x1, y1 = landmarks.max(axis=0).astype(int)
        return Face(landmarks, (x0, y0, x1, y1), max(1, len(boxes)))


def _distinct(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Drop boxes that mostly overlap a larger one already kept (the same face seen twice)."""
    kept = []
    for box in boxes:
        area = (box[2] - box[0]) * (box[3] - box[1])
        if all(_overlap(box, other) < 0.5 * area for other in kept):
            kept.append(box)
    return kept


def _overlap(a, b) -> float:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


class FaceTracker:
    """Landmarks through a video, frame after frame (MediaPipe's tracking mode, for evaluation)."""

    def __init__(self):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=0.3, min_tracking_confidence=0.5)

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        result = self._mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
        if not result:
            return None
        height, width = frame.shape[:2]
        points = np.array([(p.x, p.y) for p in result[0].landmark], np.float32)
        return points * np.array([width, height], np.float32)

    def close(self):
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
