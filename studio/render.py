"""The renderer: warps the photo's lips, jaw and eyelids to the driven geometry at the photo's own
resolution, fills the opened mouth's interior, and leaves every pixel outside the head untouched.

One triangle mesh covers the face: moving points (mouth, jaw, eyelids), fixed anchors (nose,
cheeks, brows) and a fixed ring around the head. Each output pixel is fetched from the photo
through its triangle's affine map (piecewise linear, so no seams); the ring pins the border, so
everything beyond it is the photo itself. The interior is painted (cavity, teeth, tongue in the
person's colours) or, where the photo itself shows an open mouth, taken from the photo (v2, the
default). v3, experimental, then hands the mouth to a learned refiner (models/mouth_refiner.py)
that corrects it towards real mouths, with the photo's own mouth as reference. v2 and v1 stay
selectable so the evaluation can compare them.
"""
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from studio.geometry import (
    INNER_LOWER,
    INNER_MOUTH_POLYGON,
    INNER_UPPER,
    MOUTH_INDEX,
    MOUTH_POINTS,
    OUTER_LIP_POLYGON,
    OUTER_LOWER,
    OUTER_UPPER,
    FaceFrame,
    ParametricMouth,
    mouth_opening,
    rest_mouth,
)

# Eyelids (MediaPipe indices), corner to corner, upper lid then lower lid, per eye.
UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))
LOWER_LIDS = ((7, 163, 144, 145, 153, 154, 155), (249, 390, 373, 374, 380, 381, 382))
LID_CREASES = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))
FIXED_POINTS = (1, 4, 5, 195, 197, 6, 168, 98, 327, 2, 164, 33, 133, 263, 362,
                50, 280, 205, 425, 123, 352, 116, 345, 187, 411, 70, 63, 105, 66, 107,
                336, 296, 334, 293, 300, 10, 151, 9)
RING_POINTS = 28
# v3: v2 and the learned mouth refiner; v2: smooth lip contours and the photo's own teeth; v1: the first
INTERIORS = ("v2", "v3", "v1")  # the first is the default
PHOTO_TEETH_OPENING = 0.03  # a photo whose lips part this much (over IOD) shows its own interior
# Share of each lip's thickness, from its inner edge, that an open photo mouth never lends to the
# rendered lips: the wet inner side and the teeth touching it, which closed lips hide.
LIP_EDGE_TRIM = 0.3
TYPICAL_SKIN = np.array([1.25, 0.96, 0.79], np.float32)  # RGB over its mean of skin in white light
TOOTH_ARC = 0.36  # arc angle (rad) of one front tooth: about 8 teeth across a smile
SEAM_WIDTH, SEAM_DARKNESS, SEAM_STRENGTH = 0.012, 0.4, 0.8  # of mouth width; of lip colour; opacity
CONTOUR_STEPS = 4  # spline points per lip-landmark interval
RING_SCALE = 1.45  # the ring's radii over the face oval's, about the face centre
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass
class FramePose:
    """What one output frame asks of the face, on top of the photo."""

    mouth_offsets: np.ndarray  # (K, 2) MOUTH_POINTS offsets, face frame, relative to the rest mouth
    blink: float = 0.0  # 0 open .. 1 closed
    head: tuple[float, float, float] = (0.0, 0.0, 0.0)  # rotation (rad), shift x, y (face units)


class PhotoRenderer:
    """Renders frames of one photo; build once per photo, then call `frame(pose)` per frame."""

    def __init__(self, photo: np.ndarray, landmarks: np.ndarray, interior: str = INTERIORS[0],
                 refiner=None):
        """`refiner`: v3's MouthRefiner network (default: the shipped one)."""
        if interior not in INTERIORS:
            raise ValueError(f"interior must be one of {INTERIORS}")
        self.interior = interior
        self.smooth_lips = interior != "v1"  # v2 onwards: spline lip contours, the photo's own teeth
        self.photo = photo
        self.landmarks = landmarks.astype(np.float32)
        self.source_image = self._without_mouth_opening(photo, self.landmarks)
        self.frame_of_face = FaceFrame.of(self.landmarks)
        self.rest_mouth = rest_mouth(self.landmarks)
        self.rest_corners = self.frame_of_face.to_image(  # the inner mouth corners, at rest
            self.rest_mouth[[MOUTH_POINTS.index(INNER_UPPER[0]), MOUTH_POINTS.index(INNER_UPPER[-1])]])
        height, width = photo.shape[:2]
        self.photo_gap = tuple(_smooth(c) for c in self._lip_contours(self.landmarks)) if (
            self.smooth_lips and mouth_opening(self.landmarks) > PHOTO_TEETH_OPENING) else None

        ring = self._ring(width, height)
        self.eye_points = [p for lid in UPPER_LIDS + LOWER_LIDS + LID_CREASES for p in lid]
        anchor_ids = [p for p in FIXED_POINTS if p not in MOUTH_POINTS and p not in self.eye_points]
        self.ids = list(MOUTH_POINTS) + self.eye_points + anchor_ids
        source = self.landmarks[self.ids]
        if self.photo_gap is not None:
            source[:len(MOUTH_POINTS)] = _lip_edges_trimmed(source[:len(MOUTH_POINTS)])
        self.source = np.concatenate([source, ring]).astype(np.float32)
        self.n_ring = len(ring)

        x0, y0 = np.floor(self.source.min(axis=0)).astype(int)
        x1, y1 = np.ceil(self.source.max(axis=0)).astype(int) + 1
        self.box = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))

        # Topology from a wide-open mouth, so the lips never form degenerate triangles.
        opened = self._targets(FramePose(ParametricMouth(self.rest_mouth).offsets(
            np.array([0.35]), np.zeros(1))[0]))
        self.triangles = Delaunay(opened).simplices.astype(np.int32)
        inner = {MOUTH_POINTS.index(p) for p in INNER_UPPER + INNER_LOWER}
        self.triangles = self.triangles[[not set(t) <= inner for t in self.triangles]]

        self.lip_colour, self.skin_level, self.light_tint = self._colours()
        x0, y0, x1, y1 = self.box
        self.grid = np.stack(np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                                         np.arange(y0, y1, dtype=np.float32)), axis=-1)
        self.refinement = None
        if interior == "v3":  # torch only for the renderer that needs it
            from studio.refinement import MouthRefinement, shipped_refiner

            self.refinement = MouthRefinement(self, refiner or shipped_refiner())

    @property
    def ring(self) -> np.ndarray:
        """The fixed polygon around the head: no pixel outside it ever changes."""
        return self.source[-self.n_ring:]

    def _ring(self, width: int, height: int) -> np.ndarray:
        oval = self.landmarks[list(FACE_OVAL)]
        centre = oval.mean(axis=0)
        radii = np.abs(oval - centre).max(axis=0) * RING_SCALE
        angles = np.linspace(0, 2 * np.pi, RING_POINTS, endpoint=False)
        ring = centre + np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii
        return np.clip(ring, 0, [width - 1, height - 1])

    @staticmethod
    def _without_mouth_opening(photo: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The photo with its own lip gap (teeth, cavity) filled from the lips around it, so a
        mouth that closes never drags the old opening's dark pixels along; the renderer paints
        its own interior whenever the lips part."""
        inner = np.round(landmarks[list(INNER_MOUTH_POLYGON)]).astype(np.int32)
        mask = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(mask, [inner], 255)
        if mask.sum() == 0:
            return photo
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        return cv2.inpaint(photo, mask, 3, cv2.INPAINT_TELEA)

    def _colours(self) -> tuple[np.ndarray, float, np.ndarray]:
        """Mean lip colour, the face's brightness and the colour of the light on it (RGB gains
        near 1), so the mouth interior matches the person and the photo."""
        colour = lip_colour(self.photo, self.landmarks)
        cheeks = self.landmarks[[50, 280, 205, 425]].astype(int)
        skin = np.array([self.photo[y, x] for x, y in cheeks], np.float32).mean(axis=0)
        cast = skin / max(float(skin.mean()), 1.0) / TYPICAL_SKIN
        return (colour if colour is not None else np.array([170, 90, 90], np.float32),
                float(np.clip(skin.mean() / 170.0, 0.35, 1.2)),
                np.clip(1 + 0.5 * (cast - 1), 0.85, 1.15).astype(np.float32))

    def _targets(self, pose: FramePose) -> np.ndarray:
        """Image positions of all mesh points for a pose."""
        frame = self.frame_of_face
        mouth = frame.to_image(self.rest_mouth + pose.mouth_offsets)
        points = np.concatenate([mouth, self.landmarks[self.ids[len(MOUTH_POINTS):]]])
        if pose.blink > 0:
            points = self._blink(points, pose.blink)
        return np.concatenate([self._head_motion(points, pose.head), self.ring]).astype(np.float32)

    def _head_motion(self, points: np.ndarray, head: tuple[float, float, float]) -> np.ndarray:
        """Image points moved with the head: rotated about the face origin, then shifted."""
        if not any(head):
            return points
        angle, dx, dy = head
        frame = self.frame_of_face
        c, s = np.cos(angle), np.sin(angle)
        rotation = np.array([[c, -s], [s, c]], np.float32)
        shift = (frame.to_image(np.array([[dx, dy]], np.float32))[0]
                 - frame.to_image(np.zeros((1, 2), np.float32))[0])
        return (points - frame.origin) @ rotation.T + frame.origin + shift

    def _blink(self, points: np.ndarray, amount: float) -> np.ndarray:
        points = points.copy()
        index = {p: i + len(MOUTH_POINTS) for i, p in enumerate(self.eye_points)}
        for upper, lower, crease in zip(UPPER_LIDS, LOWER_LIDS, LID_CREASES):
            for lid, below, fold in zip(upper[1:-1], lower[1:-1], crease[1:-1]):
                travel = (points[index[below]] - points[index[lid]]) * 0.9 * amount
                points[index[lid]] += travel
                points[index[fold]] += travel * 0.35
        return points

    def frame(self, pose: FramePose) -> np.ndarray:
        """One RGB frame at the photo's resolution."""
        targets = self._targets(pose)
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
        region = cv2.remap(self.source_image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        region = self._paint_mouth(region, local[[MOUTH_POINTS.index(p) for p in INNER_MOUTH_POLYGON]],
                                   self._dental_arch(pose) - x0)
        out = self.photo.copy()
        out[y0:y1, x0:x1] = region
        if self.refinement is not None:
            self.refinement(out, pose)
        return out

    def moved_frame(self, head: tuple[float, float, float]) -> FaceFrame:
        """The photo's face frame carried along by `_head_motion`."""
        frame = self.frame_of_face
        if not any(head):
            return frame
        angle, _, _ = head
        c, s = np.cos(angle), np.sin(angle)
        rotation = np.array([[c, -s], [s, c]], np.float32)
        origin = self._head_motion(frame.origin[None], head)[0]
        return FaceFrame(origin, (frame.rotation @ rotation.T).astype(np.float32), frame.scale)

    def driven_mouth(self, pose: FramePose) -> np.ndarray:
        """(K, 2) image points of the mouth a pose asks for."""
        return self.moved_frame(pose.head).to_image(self.rest_mouth + pose.mouth_offsets)

    def _dental_arch(self, pose: FramePose) -> np.ndarray:
        """Image x of the rest mouth's corners under the pose's head motion: the teeth are fixed to
        the head, so they stay put while the lips spread or round over them."""
        return self._head_motion(self.rest_corners, pose.head)[:, 0]

    @staticmethod
    def _lip_contours(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower inner lip contours (corner to corner) of a face's points in an image."""
        return points[list(INNER_UPPER)], points[list(INNER_LOWER)]

    def _paint_mouth(self, region: np.ndarray, inner: np.ndarray, arch: np.ndarray) -> np.ndarray:
        """Fill the lip gap (inner lip polygon, region coordinates) with the mouth's interior; `arch`
        is the x of the rest mouth's corners (region coordinates), where the teeth span."""
        n = len(INNER_UPPER)
        upper, lower = inner[:n], np.concatenate([inner[:1], inner[n:][::-1], inner[n - 1:n]])
        if self.smooth_lips:  # smooth curves instead of straight runs between landmarks
            upper, lower = _smooth(upper), _smooth(lower)
        gap = float(np.max(lower[:, 1] - upper[:, 1]))
        if gap < 0.6:
            return self._lip_seam(region, (upper + lower) / 2) if self.photo_gap is not None else region
        polygon = np.concatenate([upper, lower[-2:0:-1]])
        x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, region.shape[1]), min(y1, region.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2 or np.any(np.diff(upper[:, 0]) <= 0):
            return region
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        top = np.interp(xs, upper[:, 0], upper[:, 1])
        bottom = np.interp(xs, lower[:, 0], lower[:, 1])
        cells = MouthGap(
            u=np.interp(xs, upper[:, 0], np.linspace(0, 1, len(upper))),  # corner to corner
            arch=np.clip((xs - arch[0]) / max(float(arch[1] - arch[0]), 1e-3), 0, 1),
            arch_width=float(arch[1] - arch[0]),
            depth=np.clip((ys - top) / np.maximum(bottom - top, 1e-3), 0, 1),  # upper 0 .. lower 1
            rows_below_lip=ys - top, rows_above_lip=bottom - ys,
            gap=gap, width=float(upper[-1, 0] - upper[0, 0]) + 1e-3)
        interior = self._painted_interior(cells)
        if self.photo_gap is not None:
            interior = self._photo_interior(cells, interior)
        alpha = _polygon_mask((y1 - y0, x1 - x0), polygon - np.array([x0, y0], np.float32))[..., None]
        patch = region[y0:y1, x0:x1].astype(np.float32)
        region[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + interior * alpha, 0, 255).astype(np.uint8)
        return region

    def _lip_seam(self, region: np.ndarray, line: np.ndarray) -> np.ndarray:
        """The dark line where closed lips meet. A closed photo mouth has its own; an open one
        lost it with the trimmed lip edges."""
        width = float(line[-1, 0] - line[0, 0])
        seam = np.zeros(region.shape[:2], np.uint8)
        cv2.polylines(seam, [np.round(line * 16).astype(np.int32)], False, 255,
                      max(1, round(SEAM_WIDTH * width)), cv2.LINE_AA, shift=4)
        alpha = seam[..., None].astype(np.float32) / 255 * SEAM_STRENGTH
        colour = self.lip_colour * SEAM_DARKNESS
        return (region * (1 - alpha) + colour * alpha).astype(np.uint8)

    def _photo_interior(self, cells: "MouthGap", painted: np.ndarray) -> np.ndarray:
        """The photo's own teeth and mouth, where the photo shows them: the upper part hangs from
        the upper lip and the lower part rests on the lower lip, pixel for pixel, as real teeth
        do; what the photo never showed (a wider opening) stays painted."""
        upper, lower = self.photo_gap
        steps = np.linspace(0, 1, len(upper))
        photo_top = np.stack([np.interp(cells.u, steps, upper[:, i]) for i in (0, 1)], -1)
        photo_bottom = np.stack([np.interp(cells.u, steps, lower[:, i]) for i in (0, 1)], -1)
        photo_gap = photo_bottom[..., 1] - photo_top[..., 1]
        from_top = cells.depth < 0.5
        # Anti-aliased edge pixels just beyond a lip count as touching it.
        below, above = np.maximum(cells.rows_below_lip, 0), np.maximum(cells.rows_above_lip, 0)
        rows = np.where(from_top, below, photo_gap - above)
        inside = np.where(from_top, below, above) <= photo_gap
        source_x = np.where(from_top, photo_top[..., 0], photo_bottom[..., 0])
        source_y = photo_top[..., 1] + rows
        sample = cv2.remap(self.photo, source_x.astype(np.float32), source_y.astype(np.float32),
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        return np.where(inside[..., None], sample, painted)

    def _painted_interior(self, cells: "MouthGap") -> np.ndarray:
        """Renderer v1: a shaded cavity, upper teeth and, wide open, lower teeth and tongue."""
        u, depth, gap, width = cells.u, cells.depth, cells.gap, cells.width
        light = self.skin_level
        cavity = (self.lip_colour * 0.28 * light).astype(np.float32)
        shade = 1 - 0.55 * np.sin(np.pi * u) * np.sin(np.pi * depth)  # darkest deep in the middle
        interior = cavity[None, None] * shade[..., None]

        teeth_colour = np.array([212, 204, 188], np.float32) * min(1.0, 0.85 * light + 0.15)
        # v1 laid the teeth out between the moving lip corners, so they slid as the lips spread.
        along_teeth = cells.arch if self.smooth_lips else u
        side_fade = np.clip((np.sin(np.pi * along_teeth) - 0.3) * 2.5, 0, 1)  # the corners show no teeth
        upper_height = min(0.42 * gap, 0.16 * width)
        upper_teeth = (np.clip((upper_height * side_fade - cells.rows_below_lip) / 1.2, 0, 1)
                       * (side_fade > 0.05))
        lower_height = max(0.0, 0.2 * (gap - 0.3 * width))
        lower_teeth = (np.clip((lower_height * side_fade - cells.rows_above_lip) / 1.2, 0, 1)
                       * (lower_height > 0.5))
        tongue = np.clip(1 - ((u - 0.5) / 0.32) ** 2 - ((1 - depth) / 0.35) ** 2, 0, 1) * (gap > 0.2 * width)
        tongue_colour = self.lip_colour * 0.75 * light
        interior = interior * (1 - tongue[..., None]) + tongue_colour * tongue[..., None]
        teeth = np.maximum(upper_teeth, lower_teeth)[..., None]
        # Enamel catches less light at the corners, towards the biting edge and under the lip.
        edge = np.clip(cells.rows_below_lip / max(upper_height, 1.0), 0, 1)
        lip_shadow = np.clip(cells.rows_below_lip / max(0.15 * upper_height, 1.0), 0, 1)
        teeth_shade = ((0.72 + 0.28 * side_fade) * (1 - 0.22 * edge * upper_teeth)
                       * (0.7 + 0.3 * lip_shadow))[..., None]
        if self.smooth_lips:
            teeth_shade = teeth_shade * _tooth_relief(cells.arch, cells.arch_width)[..., None]
            teeth_colour = teeth_colour * self.light_tint
        return interior * (1 - teeth) + teeth_colour * teeth_shade * teeth


@dataclass
class MouthGap:
    """Per-pixel coordinates of the region between the lips, for painting its interior."""

    u: np.ndarray  # 0 at one corner .. 1 at the other
    arch: np.ndarray  # the same between the rest mouth's corners (where the teeth are), 0 or 1 beyond
    arch_width: float  # rest mouth corner to corner, pixels
    depth: np.ndarray  # 0 at the upper lip .. 1 at the lower lip
    rows_below_lip: np.ndarray  # pixels below the upper lip
    rows_above_lip: np.ndarray  # pixels above the lower lip
    gap: float  # largest lip gap, pixels
    width: float  # corner to corner, pixels


def _tooth_relief(u: np.ndarray, mouth_width: float) -> np.ndarray:
    """Brightness of single teeth across the mouth (u: 0..1 corner to corner): each tooth rounded,
    with a thin dark gap between neighbours. Seen from the front the dental arch foreshortens,
    so teeth narrow towards the corners (equal steps of arc angle)."""
    angle = np.arcsin(np.clip(2 * u - 1, -1, 1)) / TOOTH_ARC  # in teeth from the centre line
    phase = angle - np.round(angle)  # -0.5..0.5 within a tooth, 0 at its middle
    gap_width = max(0.03, 0.5 / max(mouth_width * TOOTH_ARC / 2, 1.0))  # about half a pixel, in teeth
    gap = np.exp(-0.5 * ((np.abs(phase) - 0.5) / gap_width) ** 2)
    return (1 - 0.1 * (2 * phase) ** 2) * (1 - 0.22 * gap)


def _lip_edges_trimmed(mouth: np.ndarray) -> np.ndarray:
    """(K, 2) MOUTH_POINTS of an open photo mouth with each inner lip point moved LIP_EDGE_TRIM of
    the way to the outer lip point of its column (corners stay)."""
    trimmed = mouth.copy()
    for inner, outer in ((INNER_UPPER, OUTER_UPPER), (INNER_LOWER, OUTER_LOWER)):
        i = [MOUTH_INDEX[p] for p in inner[1:-1]]
        o = [MOUTH_INDEX[p] for p in outer[1:-1]]
        trimmed[i] += LIP_EDGE_TRIM * (mouth[o] - mouth[i])
    return trimmed


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


def lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Mean RGB of the lips (the outer lip polygon less the lip gap), or None if not visible."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(OUTER_LIP_POLYGON)]).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(landmarks[list(INNER_MOUTH_POLYGON)]).astype(np.int32)], 0)
    pixels = image[mask > 0]
    return pixels.reshape(-1, 3).astype(np.float32).mean(axis=0) if len(pixels) else None


def _smooth(contour: np.ndarray) -> np.ndarray:
    """Catmull-Rom spline through a lip contour's landmarks (end points kept)."""
    padded = np.concatenate([contour[:1], contour, contour[-1:]])
    n = len(padded) - 3  # segments, each from p1 to p2 of four neighbouring points
    p0, p1, p2, p3 = (padded[i:i + n, None] for i in range(4))
    t = np.linspace(0, 1, CONTOUR_STEPS, endpoint=False)[None, :, None]
    pieces = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                    + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3)
    return np.concatenate([pieces.reshape(-1, 2), contour[-1:]]).astype(np.float32)


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Anti-aliased 0..1 mask of a polygon (sub-pixel vertices)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0

