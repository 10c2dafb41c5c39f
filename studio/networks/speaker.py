"""Visual speaker embedding: a face identity vector from the photo (dlib's 128-d descriptor, whose
weights ship in the face-recognition-models wheel).

One embedding space per TAEM checkpoint: its speaker projection is trained on these vectors, so a
different identity network (insightface, when its model pack is present) would need its own
checkpoint; it is not installed here, so only dlib is offered.
"""
import threading
import warnings

import numpy as np

SPEAKER_DIM = 128  # dlib_face_recognition_resnet_model_v1
DETECT_LONG_SIDE = 640  # HOG detection on a smaller copy: faces in photos are large enough
CHIP_JITTERS = 1  # descriptor samples; more is slower for a steadier vector


class SpeakerEncoder:
    """Photo -> (SPEAKER_DIM,) identity vector of its largest face. Loaded on first use, shared,
    calls serialised (dlib objects are not thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._parts = None

    def _load(self):
        if self._parts is None:
            import dlib
            with warnings.catch_warnings():  # face_recognition_models imports pkg_resources
                warnings.simplefilter("ignore")
                import face_recognition_models as files
            self._parts = (dlib.get_frontal_face_detector(),
                           dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
                           dlib.face_recognition_model_v1(files.face_recognition_model_location()))
        return self._parts

    def __call__(self, photo: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray | None:
        """RGB uint8 photo -> identity vector, or None when no face is found. `landmarks` (FaceMesh,
        pixels) give the face box when dlib's detector misses the face the studio animates."""
        import dlib

        with self._lock:
            detector, shapes, descriptor = self._load()
            photo = np.ascontiguousarray(photo[..., :3])
            scale = min(1.0, DETECT_LONG_SIDE / max(photo.shape[:2]))
            small = photo if scale == 1.0 else _resize(photo, scale)
            boxes = sorted(detector(small, 1), key=lambda r: r.area(), reverse=True)
            if boxes:
                box = boxes[0]
                corners = (box.left(), box.top(), box.right(), box.bottom())
                box = dlib.rectangle(*(round(v / scale) for v in corners))
            elif landmarks is not None:
                (x0, y0), (x1, y1) = np.nanmin(landmarks, axis=0), np.nanmax(landmarks, axis=0)
                box = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
            else:
                return None
            face = shapes(photo, box)
            return np.asarray(descriptor.compute_face_descriptor(photo, face, CHIP_JITTERS), np.float32)


def _resize(photo: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    return cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)
