"""Video in and out through the bundled ffmpeg, always with argument lists, never a shell."""
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

from studio.audio import FPS, MIX_DOWN, ffmpeg_exe, frame_samples
from studio.errors import StudioError

CRF = 18  # visually lossless for the face; keeps the unchanged background near the photo


class VideoWriter:
    """Streams RGB frames into an H.264 yuv420p + AAC MP4 (25 fps, faststart) that browsers play.

    Frames go straight to ffmpeg's stdin, so memory does not grow with the video's length. The file
    appears at `path` only when `close()` succeeds; on any failure nothing is left behind.
    """

    def __init__(self, path: str, width: int, height: int, audio: np.ndarray | str, sample_rate: int,
                 n_frames: int):
        """`audio`: mono samples at `sample_rate`, or a sound file that ffmpeg decodes itself (mono,
        at `sample_rate`); either way it is cut or padded with silence to the frames' duration."""
        if width % 2 or height % 2:
            raise ValueError("yuv420p needs even frame sizes")
        self.path = Path(path)
        self.size = (width, height)
        self.n_frames = n_frames
        self.written = 0
        fd, self._partial = tempfile.mkstemp(suffix=".mp4", dir=self.path.parent)
        os.close(fd)
        self._wav = None
        if isinstance(audio, str):
            sound = f"file:{audio}"
        else:
            fd, self._wav = tempfile.mkstemp(suffix=".wav")
            os.close(fd)
            soundfile.write(self._wav, audio, sample_rate, subtype="PCM_16")
            sound = self._wav
        samples = frame_samples(n_frames, sample_rate)
        command = [
            ffmpeg_exe(), "-nostdin", "-y", "-v", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(FPS),
            "-i", "-", "-i", sound,
            "-map", "0:v:0", "-map", "1:a:0",
            "-af", f"aformat=sample_rates={sample_rate}:channel_layouts=mono,"
                   f"atrim=end_sample={samples},apad=whole_len={samples}", *MIX_DOWN,
            "-c:v", "libx264", "-preset", "veryfast", "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
            "-f", "mp4", self._partial,
        ]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match the video size")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            self.abort()
            raise StudioError("Video encoding failed.") from None
        self.written += 1

    def close(self) -> Path:
        self._process.stdin.close()
        error = self._process.stderr.read().decode(errors="replace").strip()
        code = self._process.wait()
        self._remove(self._wav)
        if code != 0 or self.written != self.n_frames:
            self._remove(self._partial)
            raise StudioError(f"Video encoding failed: {error.splitlines()[-1] if error else code}")
        os.replace(self._partial, self.path)
        return self.path

    def abort(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for path in (self._partial, self._wav):
            self._remove(path)

    @staticmethod
    def _remove(path: str | None) -> None:
        if path and os.path.exists(path):
            os.unlink(path)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.abort()


def probe(path: str) -> dict:
    """Streams of a media file as ffmpeg reports them: codec, pixel format, durations, frames.

    Decodes the whole file (ffmpeg's null muxer) so durations and frame counts are exact.
    """
    command = [ffmpeg_exe(), "-nostdin", "-v", "info", "-i", str(path), "-map", "0", "-c", "copy",
               "-f", "null", "-"]
    text = subprocess.run(command, capture_output=True, text=True).stderr
    info = {"video": None, "audio": None}
    for line in text.splitlines():
        match = re.search(r"Stream #0:\d.*?: (Video|Audio): (\w+)", line)
        if match and line.lstrip().startswith("Stream") and "Output" not in line:
            kind = match.group(1).lower()
            if info[kind] is None:
                info[kind] = {"codec": match.group(2), "line": line.strip()}
    if info["video"]:
        size = re.search(r", (\d+)x(\d+)", info["video"]["line"])
        info["video"]["width"], info["video"]["height"] = int(size.group(1)), int(size.group(2))
        info["video"]["pix_fmt"] = "yuv420p" if "yuv420p" in info["video"]["line"] else "other"
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    info["duration"] = (int(duration.group(1)) * 3600 + int(duration.group(2)) * 60
                        + float(duration.group(3))) if duration else None
    return info


def stream_durations(path: str) -> dict:
    """Exact per-stream durations (s) and the video frame count, by decoding the file."""
    exe = ffmpeg_exe()
    out = {}
    for kind, selector in (("video", "0:v:0"), ("audio", "0:a:0")):
        command = [exe, "-nostdin", "-v", "quiet", "-stats_period", "1000", "-progress", "pipe:1",
                   "-i", str(path), "-map", selector, "-f", "null", "-"]
        text = subprocess.run(command, capture_output=True, text=True).stdout
        times = re.findall(r"out_time_us=(\d+)", text)
        out[kind] = int(times[-1]) / 1e6 if times else None
        if kind == "video":
            frames = re.findall(r"frame=(\d+)", text)
            out["frames"] = int(frames[-1]) if frames else 0
    return out


def read_frames(path: str, fps: float = FPS) -> Iterator[np.ndarray]:
    """Decode a video's frames as RGB uint8, resampled to `fps` (the studio's 25 fps timeline)."""
    width, height = video_size(path)
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
               "-vf", f"fps={fps}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    frame_bytes = width * height * 3
    try:
        while True:
            chunk = process.stdout.read(frame_bytes)
            if len(chunk) < frame_bytes:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()


def video_size(path: str) -> tuple[int, int]:
    info = probe(path)
    if not info["video"]:
        raise StudioError(f"{Path(path).name} has no video stream.")
    return info["video"]["width"], info["video"]["height"]

