"""The studio's one pipeline: photo + script or speech -> lip-synced MP4. Serves the UI, the CLI,
the evaluation and the tests; it knows nothing of Gradio.

    >>> studio = Studio()
    >>> result = studio.render(load_photo("assets/examples/astronaut.jpg"), "out.mp4",
    ...                        text="Hello there!")  # doctest: +SKIP
"""
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from studio.animation import blink_curve, head_motion
from studio.audio import SILENCE_DB, minutes
from studio.drivers import DEFAULT_SPEECH_DRIVER, DEFAULT_TEXT_DRIVER, make_driver
from studio.errors import StudioError
from studio.face import FaceMesh
from studio.geometry import FaceFrame
from studio.render import INTERIORS, FramePose, PhotoRenderer
from studio.speech import Speech, speech_from_audio, speech_from_tracks, time_phones
from studio.text import check_script
from studio.video import VideoWriter

STAGES = ("face", "voice", "lip motion", "rendering", "encoding")
Progress = Callable[[float, str], None]
UPSCALE_NOTE = 1.5  # a video this many times the photo's size looks soft: say so
VOICE_PIECE_CHARS = 300  # the voice speaks long scripts in pieces of a few sentences


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; each can be set from the environment (STUDIO_MAX_...)."""

    max_speech_seconds: float = 300.0
    max_script_chars: int = 4000
    max_photo_pixels: int = 80_000_000
    max_output_side: int = 1024
    min_output_side: int = 64
    max_upload_mb: int = 200  # any one file: checked before it is read, and by the web server

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            max_speech_seconds=float(os.environ.get("STUDIO_MAX_SECONDS", cls.max_speech_seconds)),
            max_script_chars=int(os.environ.get("STUDIO_MAX_CHARS", cls.max_script_chars)),
            max_photo_pixels=int(os.environ.get("STUDIO_MAX_PIXELS", cls.max_photo_pixels)),
            max_output_side=int(os.environ.get("STUDIO_MAX_SIDE", cls.max_output_side)),
            max_upload_mb=int(os.environ.get("STUDIO_MAX_UPLOAD_MB", cls.max_upload_mb)),
        )

    def check_file(self, path: str, what: str) -> None:
        """Refuse a file over max_upload_mb before any of it is read."""
        megabytes = os.path.getsize(path) / 1e6 if os.path.isfile(path) else 0
        if megabytes > self.max_upload_mb:
            raise StudioError(f"The {what} file is {megabytes:,.0f} MB; the limit is "
                              f"{self.max_upload_mb} MB: use a smaller or shorter file.")

    def describe(self) -> str:
        return (f"Limits: speech up to {minutes(self.max_speech_seconds)}, scripts up to "
                f"{self.max_script_chars:,} characters, photos up to "
                f"{self.max_photo_pixels // 1_000_000} megapixels, video up to "
                f"{self.max_output_side} px on the long side, files up to {self.max_upload_mb} MB.")


@dataclass
class RenderOptions:
    driver: str | None = None  # None: the default for the kind of input
    size: int | None = None  # long side in px; None: the photo's own, capped by the limits
    seed: int = 0
    still: bool = False  # keep the head fixed
    blinks: bool = True
    rate: float = 1.0  # speaking rate of the voice, for scripts
    renderer: str = INTERIORS[0]  # v3: v2 and the learned mouth refiner; v2: the warp alone; v1


@dataclass
class RenderResult:
    video: Path
    subtitles: Path | None
    n_frames: int
    duration: float
    size: tuple[int, int]
    driver: str
    notes: list[str] = field(default_factory=list)  # things the user should know, e.g. face choice
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """What the user is told beside the video."""
        return "\n\n".join([f"{self.duration:.1f} s at {self.size[0]}x{self.size[1]}, lips by "
                            f"the `{self.driver}` driver.", *self.notes])


def load_photo(path: str, limits: Limits = Limits()) -> np.ndarray:
    """Any common image file -> RGB uint8 (EXIF rotation applied; alpha, 16-bit, grey, CMYK handled).

    The size is read from the header first, so an oversized photo is refused before it is decoded.
    """
    limits.check_file(path, "photo")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        raise StudioError("Could not open the photo file.") from None
    if data.size == 0:
        raise StudioError("The photo file is empty.")
    width, height, has_alpha = _image_header(data.tobytes())
    if width * height > limits.max_photo_pixels:
        raise StudioError(f"The photo has {width}x{height} pixels; the limit is "
                          f"{limits.max_photo_pixels // 1_000_000} megapixels. Use a smaller copy.")
    # IMREAD_COLOR applies the EXIF orientation and brings grey, 16-bit and CMYK to 8-bit BGR.
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED if has_alpha else cv2.IMREAD_COLOR)
    if image is None:
        raise StudioError("The photo file is damaged or incomplete: save or export it again.")
    if has_alpha and image.ndim == 3 and image.shape[2] == 4:
        scale = 65535 if image.dtype == np.uint16 else 255
        alpha = image[..., 3:].astype(np.float32) / scale  # transparency shows as white, as viewers do
        image = np.round((image[..., :3] * alpha + scale * (1 - alpha)) * (255 / scale))
        image = image.astype(np.uint8)
    elif image.dtype != np.uint8 or image.ndim == 2 or image.shape[2] != 3:  # alpha was a palette
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def _image_header(data: bytes) -> tuple[int, int, bool]:
    """(width, height, has alpha) from an image's header, without decoding its pixels."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():  # size limits are ours to apply, below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                has_alpha = "A" in image.getbands() or "transparency" in image.info
    except Image.DecompressionBombError:
        raise StudioError("The photo is far too large (hundreds of megapixels): use a smaller "
                          "copy.") from None
    except Exception:  # PIL raises many types for data it cannot parse
        raise StudioError("Could not read the photo: it is not an image file (JPEG, PNG, WebP, "
                          "...).") from None
    return width, height, has_alpha


class Studio:
    """Loads the heavy parts once (face mesh, voice, models) and renders requests with them."""

    def __init__(self, face_mesh: FaceMesh | None = None, voice=None, limits: Limits | None = None):
        self.face_mesh = face_mesh or FaceMesh()
        self._voice = voice
        self.limits = limits or Limits.from_env()
        self._drivers = {}

    @property
    def voice(self):
        if self._voice is None:
            from studio.voice import make_voice

            self._voice = make_voice()
        return self._voice

    def driver(self, name: str):
        if name not in self._drivers:
            self._drivers[name] = make_driver(name)
        return self._drivers[name]

    def prepare_photo(self, photo: np.ndarray, size: int | None) -> np.ndarray:
        """Scale to the output size (long side, capped) with even sides, as H.264 needs."""
        height, width = photo.shape[:2]
        long_side = min(size or max(height, width), self.limits.max_output_side)
        if long_side < self.limits.min_output_side:
            raise StudioError(f"The photo is too small ({width}x{height}): use one at least "
                              f"{self.limits.min_output_side} px on its long side.")
        scale = long_side / max(height, width)
        if abs(scale - 1) > 1e-6:
            photo = cv2.resize(photo, (round(width * scale), round(height * scale)),
                               interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        height, width = photo.shape[:2]
        return np.ascontiguousarray(photo[:height - height % 2, :width - width % 2])

    def check_request(self, text: str | None, audio: str | None, transcript: str | None
                      ) -> tuple[str | None, Speech | None, str | None]:
        """(script, recording, transcript), each checked (and normalised or decoded) before any
        slow work starts, so bad input fails at once."""
        if (text is None) == (audio is None):
            raise StudioError("Give either a script or a recording, not both.")
        if text is not None:
            return check_script(text, self.limits.max_script_chars), None, None
        self.limits.check_file(audio, "audio")
        speech = speech_from_audio(audio, self.limits.max_speech_seconds)
        if transcript and transcript.strip():
            return None, speech, check_script(transcript, self.limits.max_script_chars)
        return None, speech, None

    def speak(self, script: str, rate: float, progress: Callable[[float], None]) -> Speech:
        """The voice speaks the script a few sentences at a time, so progress moves on long
        scripts; the pieces join with the voice's own pause between sentences, so no seam."""
        from studio.voice import SENTENCE_PAUSE, clamp_rate, split_sentences

        pieces = [""]
        for sentence in split_sentences(script):
            if pieces[-1] and len(pieces[-1]) + len(sentence) > VOICE_PIECE_CHARS:
                pieces.append("")
            pieces[-1] = f"{pieces[-1]} {sentence}".strip()
        pieces = [piece for piece in pieces if any(c.isalpha() for c in piece)]
        tracks = []
        for k, piece in enumerate(pieces):
            tracks.append(self.voice.synthesize(piece, rate=rate))
            progress((k + 1) / len(pieces))
        return speech_from_tracks(tracks, SENTENCE_PAUSE / clamp_rate(rate))

    def render(self, photo: np.ndarray, out_path: str, *, text: str | None = None,
               audio: str | None = None, transcript: str | None = None,
               options: RenderOptions | None = None, progress: Progress | None = None) -> RenderResult:
        """Render one request to `out_path` (an MP4; an .srt beside it for scripts)."""
        options = options or RenderOptions()
        progress = progress or (lambda fraction, stage: None)
        driver = self.driver(options.driver or (DEFAULT_TEXT_DRIVER if text is not None
                                                else DEFAULT_SPEECH_DRIVER))
        clock = _StageClock()
        progress(0.0, "voice")
        script, speech, transcript = self.check_request(text, audio, transcript)
        clock.lap("voice")

        progress(0.02, "face")
        notes = []
        source_height, source_width = photo.shape[:2]
        photo = self.prepare_photo(photo, options.size)
        if max(photo.shape[:2]) > UPSCALE_NOTE * max(source_height, source_width):
            notes.append(f"The photo is only {source_width}x{source_height} px, so the video is "
                         "scaled up from it and looks soft: a larger photo gives a sharper video.")
        face = self.face_mesh.locate(photo)
        if face.faces_found > 1:
            notes.append(f"{face.faces_found} faces were found; the largest one is animated.")
        iod = FaceFrame.of(face.landmarks).scale
        if iod < 12:
            raise StudioError("The face is too small in the photo: crop closer or use a larger photo.")
        renderer = PhotoRenderer(photo, face.landmarks, options.renderer)
        if hasattr(driver, "for_photo"):  # taem: this face's speaker embedding, for this request
            driver = driver.for_photo(photo, face.landmarks)
        clock.lap("face")

        voice_progress = _span(progress, 0.05, 0.25, "voice")
        voice_progress(0.0)
        if script is not None:
            speech = self.speak(script, options.rate, voice_progress)
        else:
            note = time_phones(speech, transcript, driver.needs_phones, voice_progress)
            notes += [note] if note else []
        clock.lap("voice")

        progress(0.25, "lip motion")
        offsets = driver.lip_offsets(speech, renderer.rest_mouth)
        rng = np.random.default_rng(options.seed)
        n_frames = speech.n_frames
        blinks = blink_curve(n_frames, rng) if options.blinks else np.zeros(n_frames)
        speaking = speech.loudness_db > SILENCE_DB + 15
        head = np.zeros((n_frames, 3)) if options.still else head_motion(n_frames, speaking, rng)
        clock.lap("lip motion")

        height, width = photo.shape[:2]
        out_path = Path(out_path)
        render_progress = _span(progress, 0.3, 0.95, "rendering")
        with VideoWriter(str(out_path), width, height, speech.playback, speech.playback_rate,
                         n_frames) as writer:
            step = max(1, n_frames // 100)
            poses = (FramePose(offsets[k], float(blinks[k]), tuple(head[k])) for k in range(n_frames))
            # each frame goes to the encoder at once: memory stays flat
            for k, frame in enumerate(renderer.frames(poses)):
                clock.lap("rendering")
                writer.write(frame)  # blocks while the encoder is behind: encoding time
                clock.lap("encoding")
                if k % step == 0:
                    render_progress(k / n_frames)
            progress(0.96, "encoding")
            writer.close()
        clock.lap("encoding")

        subtitles = None
        if speech.sentences:
            from studio.subtitles import subtitle_cues, write_srt, written_words

            subtitles = out_path.with_suffix(".srt")
            words = (text is not None and written_words(text, speech.words)) or speech.words
            write_srt(subtitle_cues(speech.sentences, words), subtitles)
        progress(1.0, "done")
        return RenderResult(out_path, subtitles, n_frames, speech.duration, (width, height),
                            driver.name, notes, clock.seconds)


def _span(progress: Progress, start: float, end: float, stage: str) -> Callable[[float], None]:
    """A stage's own 0..1 progress, mapped onto its share of the whole bar."""
    return lambda fraction: progress(start + (end - start) * fraction, stage)


class _StageClock:
    def __init__(self):
        self.seconds = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now
