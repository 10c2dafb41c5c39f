"""The mouth refiner (renderer v3): a small conv net that corrects the warped mouth of one frame.

It works in a square crop around the mouth, aligned by the face frame (eyes levelled, scaled by the
inter-ocular distance), so one network serves every photo size and head pose. Inputs: the warped
crop (renderer v2's output), the photo's own crop (who this is: skin, lips, teeth) and the driven lip
geometry rasterised as two masks (outer lips, lip gap). Output: a residual and a blend mask; the
refined crop is warped + mask x residual, so a mask near 0 leaves the warp as it was.
"""
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from studio.geometry import INNER_MOUTH_POLYGON, LIP_POINTS, MOUTH_INDEX, OUTER_LIP_POLYGON, FaceFrame

GEOMETRY_CHANNELS = 2  # outer lip polygon, lip gap polygon
IN_CHANNELS = 3 + 3 + GEOMETRY_CHANNELS  # warped crop, photo crop, geometry
FEATHER = 0.15  # share of the crop side over which the correction fades out towards its border


@dataclass
class MouthRefinerConfig:
    size: int = 96  # crop side, pixels
    half_side: float = 0.6  # crop half side, face-frame units (inter-ocular distances)
    drop: float = 0.12  # crop centre below the lips' centre, face-frame units: the chin moves too
    channels: tuple[int, int, int] = (12, 24, 32)  # at 1/2, 1/4 and 1/8 of the crop side
    blocks: int = 2  # residual blocks at 1/8
    mask_bias: float = -2.0  # the blend mask starts near 0: at first the refiner changes little

    @classmethod
    def from_dict(cls, values: dict) -> "MouthRefinerConfig":
        return cls(**{**values, "channels": tuple(values["channels"])})


@dataclass(frozen=True)
class MouthCrop:
    """The similarity from image pixels to a refiner crop, for one face frame."""

    matrix: np.ndarray  # (2, 3) image -> crop pixels
    size: int

    @classmethod
    def of(cls, frame: FaceFrame, centre: np.ndarray, config: MouthRefinerConfig) -> "MouthCrop":
        """`centre`: the lips' centre in the face frame (the crop sits `drop` below it)."""
        k = config.size / (2 * config.half_side)  # crop pixels per face unit
        corner = np.asarray(centre, np.float32) + [-config.half_side, config.drop - config.half_side]
        return cls(frame.crop_matrix(corner, k), config.size)

    def cut(self, image: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(image, self.matrix, (self.size, self.size), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REPLICATE)

    def points(self, image_points: np.ndarray) -> np.ndarray:
        return image_points @ self.matrix[:, :2].T + self.matrix[:, 2]

    def image_box(self, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1): the image pixels the crop covers, clipped to the image."""
        corners = np.array([[0, 0], [self.size, 0], [0, self.size], [self.size, self.size]], np.float32)
        inverse = cv2.invertAffineTransform(self.matrix)
        image = corners @ inverse[:, :2].T + inverse[:, 2]
        x0, y0 = np.maximum(np.floor(image.min(axis=0)).astype(int), 0)
        x1, y1 = np.ceil(image.max(axis=0)).astype(int) + 1
        return int(x0), int(y0), int(min(x1, shape[1])), int(min(y1, shape[0]))

    def to_image(self, crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """A crop-sized array (e.g. a correction) resampled onto the image pixels of `box`."""
        x0, y0, x1, y1 = box
        shifted = self.matrix.copy()
        shifted[:, 2] += self.matrix[:, :2] @ np.array([x0, y0], np.float32)
        return cv2.warpAffine(crop, shifted, (x1 - x0, y1 - y0),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)


def lips_centre(mouth: np.ndarray) -> np.ndarray:
    """Centre of the lip points of (K, 2) MOUTH_POINTS, face frame: where the crop is placed."""
    return mouth[[MOUTH_INDEX[p] for p in LIP_POINTS]].mean(axis=0)


def geometry_maps(crop_mouth: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 2) float32 0..1: the outer lip polygon and the lip gap of (K, 2) MOUTH_POINTS
    in crop pixels, anti-aliased."""
    maps = np.zeros((size, size, GEOMETRY_CHANNELS), np.float32)
    for channel, polygon in enumerate((OUTER_LIP_POLYGON, INNER_MOUTH_POLYGON)):
        layer = np.zeros((size, size), np.uint8)
        points = np.round(crop_mouth[[MOUTH_INDEX[p] for p in polygon]] * 16).astype(np.int32)
        cv2.fillPoly(layer, [points], 255, lineType=cv2.LINE_AA, shift=4)
        maps[..., channel] = layer / 255.0
    return maps


def feather(size: int) -> np.ndarray:
    """(size, size) 1 inside, easing to 0 at the crop's border: the correction leaves no seam."""
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / (FEATHER * size), 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)
    return np.outer(ramp, ramp).astype(np.float32)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.LeakyReLU(0.1))


class _Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.body(x), 0.1)


class MouthRefiner(nn.Module):
    """A small U-Net: down to 1/8 of the crop for context (where the mouth is, what the teeth look
    like), back up with skips for detail."""

    def __init__(self, config: MouthRefinerConfig | None = None):
        super().__init__()
        self.config = config = config or MouthRefinerConfig()
        c1, c2, c3 = config.channels
        self.down1, self.down2, self.down3 = _conv(IN_CHANNELS, c1, 2), _conv(c1, c2, 2), _conv(c2, c3, 2)
        self.blocks = nn.Sequential(*[_Block(c3) for _ in range(config.blocks)])
        self.up2, self.up1 = _conv(c3 + c2, c2), _conv(c2 + c1, c1)
        self.out = nn.Conv2d(c1 + IN_CHANNELS, 4, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.copy_(torch.tensor([0.0, 0.0, 0.0, config.mask_bias]))

    def forward(self, warped: torch.Tensor, photo: torch.Tensor,
                geometry: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) crops in 0..1 and (B, 2, S, S) geometry -> refined crops (0..1) and the
        blend mask (B, 1, S, S)."""
        x = torch.cat([warped * 2 - 1, photo * 2 - 1, geometry], dim=1)
        d1 = self.down1(x)
        d2 = self.down2(d1)
        d3 = self.blocks(self.down3(d2))
        u2 = self.up2(torch.cat([F.interpolate(d3, size=d2.shape[-2:], mode="bilinear"), d2], 1))
        u1 = self.up1(torch.cat([F.interpolate(u2, size=d1.shape[-2:], mode="bilinear"), d1], 1))
        out = self.out(torch.cat([F.interpolate(u1, size=x.shape[-2:], mode="bilinear"), x], 1))
        mask = torch.sigmoid(out[:, 3:])
        return (warped + mask * out[:, :3]).clamp(0, 1), mask


def refiner_input(crop: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 RGB crop -> (1, 3, S, S) float 0..1."""
    return torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
