"""The mouth's interior where the lips part: painted (cavity, teeth, tongue in the person's
colours), or, where the photo itself shows an open mouth, taken from the photo (v2 onwards); and
the seam where closed lips meet."""
from dataclasses import dataclass

import cv2
import numpy as np

from studio.geometry import (
    INNER_LOWER,
    INNER_MOUTH_POLYGON,
    INNER_UPPER,
    MOUTH_INDEX,
    MOUTH_POINTS,
    OUTER_LIP_POLYGON,
    OUTER_LOWER,
    OUTER_UPPER,
    mouth_opening,
)

PHOTO_TEETH_OPENING = 0.03  # a photo whose lips part this much (over IOD) shows its own interior
# Share of each lip's thickness, from its inner edge, that an open photo mouth never lends to the
# rendered lips: the wet inner side and the teeth touching it, which closed lips hide.
LIP_EDGE_TRIM = 0.3
TYPICAL_SKIN = np.array([1.25, 0.96, 0.79], np.float32)  # RGB over its mean of skin in white light
TOOTH_ARC = 0.36  # arc angle (rad) of one front tooth: about 8 teeth across a smile
SEAM_WIDTH, SEAM_DARKNESS, SEAM_STRENGTH = 0.012, 0.4, 0.8  # of mouth width; of lip colour; opacity
CONTOUR_STEPS = 4  # spline points per lip-landmark interval


class MouthInterior:
    """The interior of one photo's mouth; `paint` fills a warped frame's lip gap."""

    def __init__(self, photo: np.ndarray, landmarks: np.ndarray, smooth_lips: bool):
        """`smooth_lips` (v2 onwards): spline lip contours and the photo's own teeth."""
        self.photo, self.landmarks, self.smooth_lips = photo, landmarks, smooth_lips
        self.source_image = without_mouth_opening(photo, landmarks)
        self.photo_gap = tuple(_smooth(c) for c in self._lip_contours(landmarks)) if (
            smooth_lips and mouth_opening(landmarks) > PHOTO_TEETH_OPENING) else None
        self.lip_colour, self.skin_level, self.light_tint = self._colours()

    def source_mouth(self) -> np.ndarray:
        """(K, 2) MOUTH_POINTS the warp fetches the lips from: an open photo mouth lends its lips
        without their wet inner edges."""
        mouth = self.landmarks[list(MOUTH_POINTS)]
        return _lip_edges_trimmed(mouth) if self.photo_gap is not None else mouth

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

    @staticmethod
    def _lip_contours(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower inner lip contours (corner to corner) of a face's points in an image."""
        return points[list(INNER_UPPER)], points[list(INNER_LOWER)]

    def paint(self, region: np.ndarray, inner: np.ndarray, arch: np.ndarray) -> np.ndarray:
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


def without_mouth_opening(photo: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
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

