"""The bad-input matrix: every awkward photo, recording and script the studio must survive, made
at run time from the bundled photos and real speech, and what the studio does with each.

    python -m lab.bad_input        # writes reports/bad_input.md

tests/test_bad_input.py sends the same inputs through the browser handlers and the CLI. The
report ends with the served studio under several users (lab/served.py).
"""
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from lab.dataset import ROOT, shared_data
from lab.reports import write_report
from studio.audio import SAMPLE_RATE, ffmpeg_exe
from studio.pipeline import Limits

EXAMPLES = ROOT / "assets" / "examples"
FACE = EXAMPLES / "astronaut.jpg"
WIDE_FACE = EXAMPLES / "grid-speaker.jpg"  # 360x288: shows whether EXIF rotation is applied
SPEECH_CLIP = "bbaf2n"  # "bin blue at f two now", 3 s
SCRIPT = "Hello there, how are you today?"
SIZE = 256  # every case renders small: the matrix is about input handling, not speed


@dataclass(frozen=True)
class BadInput:
    """One row of the matrix. `make(folder)` writes the input and returns its path (photo,
    audio) or the text (script). `expect` is a regular expression found in the result's status
    when `renders` (a video is the right answer), else in the error message."""

    name: str
    kind: str  # "photo", "audio" or "script"
    make: Callable[[Path], str]
    renders: bool
    expect: str
    transcript: str | None = None  # given with a recording


def speech_path() -> Path:
    return shared_data() / "grid-s1" / f"{SPEECH_CLIP}.flac"


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True)


def _audio(name: str, *args: str, source: Path | None = None) -> Callable[[Path], str]:
    """The real speech clip converted by ffmpeg with `args` into `name`."""
    def make(folder: Path) -> str:
        _ffmpeg("-i", str(source or speech_path()), *args, str(folder / name))
        return str(folder / name)
    return make


def _bytes(name: str, data: Callable[[], bytes]) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(data())
        return str(folder / name)
    return make


def _image(name: str, pixels: Callable[[], np.ndarray]) -> Callable[[Path], str]:
    """An image from `pixels` (BGR, as OpenCV writes it) saved as `name`."""
    def make(folder: Path) -> str:
        cv2.imwrite(str(folder / name), pixels())
        return str(folder / name)
    return make


def _pil_image(name: str, convert: Callable) -> Callable[[Path], str]:
    """A file written by Pillow: `convert(image)` -> (image, save keyword arguments)."""
    def make(folder: Path) -> str:
        from PIL import Image

        image, options = convert(Image.open(WIDE_FACE if "exif" in name else FACE))
        image.save(folder / name, **options)
        return str(folder / name)
    return make


def _oversized(name: str) -> Callable[[Path], str]:
    """A file just over the default upload limit (sparse: it takes no disk space)."""
    def make(folder: Path) -> str:
        with open(folder / name, "wb") as file:
            file.truncate((Limits.max_upload_mb + 1) * 1_000_000)
        return str(folder / name)
    return make


def _face() -> np.ndarray:
    return cv2.imread(str(FACE))


def _with_alpha() -> np.ndarray:
    """The photo with a transparent background outside a circle around the face."""
    face = _face()
    alpha = np.zeros(face.shape[:2], np.uint8)
    cv2.circle(alpha, (256, 220), 200, 255, -1)
    return np.dstack([face, alpha])


def _several_faces() -> np.ndarray:
    face = _face()
    small = cv2.resize(face, None, fx=0.6, fy=0.6)
    group = np.full((512, 900, 3), 200, np.uint8)
    group[:, :512] = face
    group[100:100 + small.shape[0], 560:560 + small.shape[1]] = small
    return group


def _cartoon() -> np.ndarray:
    """A drawn face: flat skin, round eyes, a smile."""
    image = np.full((512, 512, 3), (235, 206, 135), np.uint8)  # sky blue (BGR)
    cv2.ellipse(image, (256, 270), (150, 190), 0, 0, 360, (150, 190, 240), -1)
    for x in (196, 316):
        cv2.ellipse(image, (x, 230), (30, 20), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, (x, 232), 11, (60, 40, 20), -1)
        cv2.line(image, (x - 35, 190), (x + 35, 185), (40, 60, 90), 8)
    cv2.line(image, (256, 250), (244, 320), (110, 150, 210), 5)
    cv2.ellipse(image, (256, 360), (60, 25), 0, 0, 180, (70, 70, 200), 12)
    return image


def _truncated_jpeg() -> bytes:
    data = FACE.read_bytes()
    return data[:len(data) // 2]


def _corrupt_jpeg() -> bytes:
    """The header kept, the compressed pixels overwritten with noise."""
    data = bytearray(FACE.read_bytes())
    start = data.index(b"\xff\xda")  # start of scan
    data[start + 20:] = np.random.default_rng(0).integers(0, 256, len(data) - start - 20,
                                                           dtype=np.uint8).tobytes()
    return bytes(data)


def _exif_rotated(image):
    """Pixels stored on their side with orientation 6 (rotate 90 degrees clockwise to view), as
    phones save portraits."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    return image.transpose(Image.Transpose.ROTATE_90), {"exif": exif.tobytes(), "quality": 92}


def _noise_wav() -> bytes:
    return b"RIFF" + np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()


def _twenty_minutes(folder: Path) -> str:
    _ffmpeg("-stream_loop", "-1", "-i", str(speech_path()), "-t", "1200", str(folder / "long.flac"))
    return str(folder / "long.flac")


_SPEAKS = rf"{SIZE}x{SIZE}"  # a square video at the requested size: the astronaut spoke

CASES = [
    # photos (each speaks SCRIPT)
    BadInput("truncated JPEG (first half of the file)", "photo",
             _bytes("cut.jpg", _truncated_jpeg), False, "damaged or incomplete"),
    BadInput("corrupt JPEG (compressed data replaced by noise)", "photo",
             _bytes("noise.jpg", _corrupt_jpeg), False, "damaged or incomplete|No face was found"),
    BadInput("a text file named photo.jpg", "photo",
             _bytes("photo.jpg", lambda: b"This is not a picture.\n" * 20), False,
             "not an image file"),
    BadInput("8000x8000 JPEG", "photo",
             _image("huge.jpg", lambda: cv2.resize(_face(), (8000, 8000))), True,
             _SPEAKS),
    BadInput("64x64 JPEG", "photo", _image("tiny.jpg", lambda: cv2.resize(_face(), (64, 64))),
             True, "64x64 px, so the video is scaled up"),
    BadInput("greyscale JPEG", "photo",
             _image("grey.jpg", lambda: cv2.cvtColor(_face(), cv2.COLOR_BGR2GRAY)), True, _SPEAKS),
    BadInput("CMYK JPEG", "photo",
             _pil_image("cmyk.jpg", lambda image: (image.convert("CMYK"), {})), True, _SPEAKS),
    BadInput("16-bit PNG", "photo",
             _image("deep.png", lambda: _face().astype(np.uint16) * 257), True, _SPEAKS),
    BadInput("PNG with alpha (transparent background)", "photo",
             _image("alpha.png", _with_alpha), True, _SPEAKS),
    BadInput("EXIF-rotated JPEG (stored on its side, orientation 6)", "photo",
             _pil_image("exif-rotated.jpg", _exif_rotated), True, rf"{SIZE}x204"),
    BadInput("a photo file over the upload limit", "photo", _oversized("big.jpg"), False,
             "The photo file is 201 MB; the limit is 200 MB"),
    BadInput("no face (a plain wall)", "photo",
             _image("wall.png", lambda: np.full((300, 400, 3), 180, np.uint8)), False,
             "No face was found"),
    BadInput("a cartoon face (drawn)", "photo", _image("cartoon.png", _cartoon), True, _SPEAKS),
    BadInput("several faces", "photo", _image("group.jpg", _several_faces), True,
             "2 faces were found; the largest one is animated"),
    # recordings (the astronaut speaks them)
    BadInput("empty audio file (0 bytes)", "audio", _bytes("empty.wav", lambda: b""), False,
             "The audio file is empty"),
    BadInput("silence (3 s)", "audio",
             _audio("silence.wav", "-af", "volume=0", "-ar", str(SAMPLE_RATE)), False, "silent"),
    BadInput("0.1 s of speech", "audio", _audio("short.wav", "-ss", "0.8", "-t", "0.1"), False,
             "too short"),
    BadInput("20 minutes of speech", "audio", _twenty_minutes, False,
             "lasts 20 min 0 s; the limit is"),
    BadInput("an audio file over the upload limit", "audio", _oversized("big.wav"), False,
             "The audio file is 201 MB; the limit is 200 MB"),
    BadInput("a transcript that is not what is said", "audio", _audio("speech.wav"), True,
             "Could not match the transcript.*heard in the speech instead",
             transcript="the quick brown fox jumps over the lazy dog"),
    BadInput("corrupt audio (noise in a .wav)", "audio", _bytes("noise.wav", _noise_wav), False,
             "Could not read the audio"),
    BadInput("a photo given as the audio", "audio", _bytes("photo.mp3", lambda: FACE.read_bytes()),
             False, "Could not read the audio|no sound track"),
    BadInput("stereo 48 kHz WAV", "audio", _audio("stereo.wav", "-ac", "2", "-ar", "48000"),
             True, r"3\.0 s"),
    BadInput("MP3", "audio", _audio("speech.mp3", "-c:a", "libmp3lame", "-b:a", "64k"), True,
             r"3\.0 s"),
    BadInput("OGG Vorbis", "audio", _audio("speech.ogg", "-c:a", "libvorbis"), True, r"3\.0 s"),
    BadInput("WebM Opus (as Chrome records)", "audio",
             _audio("speech.webm", "-c:a", "libopus", "-b:a", "32k"), True, r"3\.0 s"),
    BadInput("M4A AAC (as Safari records)", "audio", _audio("speech.m4a", "-c:a", "aac"), True,
             r"3\.0 s"),
    # scripts (the astronaut speaks them)
    BadInput("empty script", "script", lambda folder: "", False, "The script is empty"),
    BadInput("whitespace only", "script", lambda folder: " \n\t  ", False, "The script is empty"),
    BadInput("50,000 characters", "script", lambda folder: ("Hello there! " * 3847)[:50_000],
             False, "50,000 characters; the limit is"),
    BadInput("emoji only", "script", lambda folder: "😀🎉👍", False, "only English text"),
    BadInput("French (Latin letters: the English voice reads it)", "script",
             lambda folder: "Bonjour, je m'appelle Eileen et j'aime les étoiles.", True, _SPEAKS),
    BadInput("Russian (Cyrillic)", "script", lambda folder: "Привет, как дела?", False,
             "only English text"),
    BadInput("Chinese", "script", lambda folder: "你好，世界。", False, "only English text"),
    BadInput("Dr. Smith paid $5.50 at 3:15pm on 2/3/2025", "script",
             lambda folder: "Dr. Smith paid $5.50 at 3:15pm on 2/3/2025", True, _SPEAKS),
]


def request(case: BadInput, folder: Path) -> dict:
    """The case's input made in `folder`, as a render request: photo, and text or audio."""
    value = case.make(folder)
    return {"photo": value if case.kind == "photo" else str(FACE),
            "text": value if case.kind == "script" else SCRIPT if case.kind == "photo" else None,
            "audio": value if case.kind == "audio" else None, "transcript": case.transcript}


def outcome(studio, case: BadInput, folder: Path) -> tuple[bool, str]:
    """(rendered, the result's summary or the error message) of one case through the pipeline."""
    from studio.errors import StudioError
    from studio.pipeline import RenderOptions, load_photo

    asked = request(case, folder)
    try:
        photo = load_photo(asked["photo"], studio.limits)
        result = studio.render(photo, str(folder / "out.mp4"), text=asked["text"],
                               audio=asked["audio"], transcript=asked["transcript"],
                               options=RenderOptions(size=SIZE))
    except StudioError as error:
        return False, str(error)
    return True, result.summary()


def markdown(report: dict) -> str:
    lines = ["# Bad input", "",
             f"Generated by `python -m lab.bad_input` on {report['date']}. "
             f"Each input is made at run time (from {report['face']}, {report['wide_face']} and the GRID "
             f"clip {report['speech_clip']}) and goes through the studio's pipeline at {report['size']} px: "
             f"photos speak \"{report['script']}\"; recordings and scripts drive {report['face']}. The "
             "browser shows the same message (gr.Error) and the CLI prints it as one line and exits "
             "non-zero (tests/test_bad_input.py). " + report["limits"], "",
             "| input | outcome |", "|---|---|"]
    for row in report["rows"]:
        lines.append(_row(row["input"], ("video: " if row["rendered"] else "message: ")
                          + row["outcome"], row["as_expected"]))
    lines += ["", "## The served studio", "",
              "The same studio served on localhost (studio.ui.serve, as app.py runs it) and used by "
              "several clients at once, gradio_client and plain HTTP (lab/served.py; "
              "tests/test_concurrency.py asserts the same).", "",
              "| what happens | outcome |", "|---|---|"]
    lines += [_row(row["input"], row["outcome"], row["as_expected"]) for row in report["served"]]
    return "\n".join(lines) + "\n"


def _row(what: str, outcome: str, as_expected: bool) -> str:
    shown = outcome.replace("\n\n", " ").replace("|", "\\|")
    return f"| {what} | {shown}{'' if as_expected else ' **(not as expected)**'} |"


def main() -> int:
    import re

    from lab.served import served_rows
    from studio.pipeline import Studio

    studio = Studio()
    rows = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as folder:
            rendered, text = outcome(studio, case, Path(folder))
        rows.append({"input": case.name, "rendered": rendered, "outcome": text,
                     "as_expected": bool(rendered == case.renders and re.search(case.expect, text))})
        print(rows[-1], flush=True)
    served = served_rows(studio, speech_path())
    print(*served, sep="\n", flush=True)
    write_report(ROOT / "reports" / "bad_input", {
        "date": f"{datetime.now(UTC):%Y-%m-%d}", "face": FACE.name, "wide_face": WIDE_FACE.name,
        "speech_clip": SPEECH_CLIP, "size": SIZE, "script": SCRIPT, "limits": studio.limits.describe(),
        "rows": rows, "served": served}, markdown)
    return 0 if all(row["as_expected"] for row in rows + served) else 1


if __name__ == "__main__":
    raise SystemExit(main())
