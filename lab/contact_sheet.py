"""A contact sheet anyone can look at: rendered frames of each dev-clip (beside the real frames)
and of the bundled example photos speaking a script, through the whole studio (video encoded).

    python -m lab.contact_sheet      # -> reports/contact_sheet.png
"""
import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from lab.dataset import ROOT, clip_landmarks, split
from studio.geometry import mouth_opening
from studio.pipeline import RenderOptions, Studio, load_photo
from studio.ui import EXAMPLES
from studio.video import read_frames

TILE = 160  # px, each frame's square crop around the mouth and chin
FRAMES_PER_ROW = 6
SCRIPT = "Hello! Peter bought a bowl of warm soup, and it was wonderful."


def face_crop(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """A square around the lower face, from the photo's landmarks (the same crop every frame)."""
    centre = landmarks[[13, 14, 1, 152]].mean(axis=0)
    half = int(np.ceil(0.55 * np.ptp(landmarks[:, 1])))
    x0, y0 = centre.astype(int) - half
    padded = cv2.copyMakeBorder(frame, half, half, half, half, cv2.BORDER_CONSTANT)  # faces near edges
    crop = padded[y0 + half:y0 + 3 * half, x0 + half:x0 + 3 * half]
    return cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_AREA)


def pick_frames(openings: np.ndarray) -> list[int]:
    """Frames spread over the range of mouth openings, in time order."""
    order = np.argsort(openings)
    picks = order[np.linspace(0, len(order) - 1, FRAMES_PER_ROW).astype(int)]
    return sorted(set(picks.tolist()))


def label(tile_row: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, tile_row.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, tile_row])


def row_of(frames: list[np.ndarray], picks: list[int], landmarks: np.ndarray) -> np.ndarray:
    tiles = [face_crop(frames[k], landmarks) for k in picks]
    tiles += [np.full((TILE, TILE, 3), 255, np.uint8)] * (FRAMES_PER_ROW - len(tiles))
    return np.concatenate(tiles, axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.contact_sheet",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "reports" / "contact_sheet.png"))
    args = parser.parse_args(argv)
    studio = Studio()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for clip in split("dev-clips"):
            real = list(read_frames(str(clip.video)))
            landmarks = studio.face_mesh.locate(real[0]).landmarks
            result = studio.render(real[0], f"{folder}/clip.mp4", audio=str(clip.video),
                                   options=RenderOptions(still=True, blinks=False))
            rendered = list(read_frames(str(result.video)))
            openings = np.nan_to_num(mouth_opening(clip_landmarks(clip)[:len(rendered)]))
            picks = pick_frames(openings)
            rows.append(label(row_of(real, picks, landmarks), f"{clip.name}: real frames"))
            rows.append(label(row_of(rendered, picks, landmarks),
                              f"{clip.name}: rendered from frame 0 and the clip's audio ({result.driver})"))
        for example in EXAMPLES:
            photo = load_photo(example)
            result = studio.render(photo, f"{folder}/example.mp4", text=SCRIPT)
            rendered = list(read_frames(str(result.video)))
            landmarks = studio.face_mesh.locate(studio.prepare_photo(photo, None)).landmarks
            picks = np.linspace(len(rendered) * 0.1, len(rendered) * 0.9, FRAMES_PER_ROW).astype(int).tolist()
            rows.append(label(row_of(rendered, picks, landmarks),
                              f"{Path(example).name}: scripted ({result.driver})"))
    sheet = np.concatenate(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
