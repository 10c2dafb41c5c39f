"""Property-based tests (hypothesis): text normalisation and decoding of photos and audio hold up
for any input, with the real normaliser, OpenCV/Pillow and the bundled ffmpeg."""
import re
import string

import cv2
import numpy as np
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.audio import SAMPLE_RATE, decode
from studio.errors import StudioError
from studio.pipeline import load_photo
from studio.speech import pause_cuts
from studio.text import check_script, normalize_text

# Scripts: free text mixed with what people type that needs spelling out.
TOKENS = st.one_of(
    st.text(max_size=8),
    st.text(string.ascii_letters + string.digits + " .,!?$£€%:/-&'\"", max_size=12),
    st.integers(-10**12, 10**12).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.builds(lambda h, m, ap: f"{h}:{m:02d}{ap}", st.integers(0, 23), st.integers(0, 59),
              st.sampled_from(["", "am", " p.m.", "PM"])),
    st.builds(lambda m, d, y: f"{m}/{d}/{y}", st.integers(0, 13), st.integers(0, 32),
              st.integers(0, 2100)),
    st.builds(lambda s, x: f"{s}{x}", st.sampled_from("$£€"), st.decimals(0, 10**7, places=2)),
    st.sampled_from(["Dr.", "Mr.", "St.", "etc.", "e.g.", "vs.", "1990s", "21st", "50%", "😀",
                     "你好", "Привет", "café", "--", "...", "\n", "555-1234"]),
)
SCRIPTS = st.lists(TOKENS, max_size=12).map(" ".join)
SPEAKABLE = re.compile(r"[\x20-\x7e£€]|[^\W\d_]")  # ASCII, currency signs, letters


@settings(max_examples=300, deadline=None)
@given(SCRIPTS)
def test_normalised_text_is_spelled_out_and_stable(text):
    said = normalize_text(text)
    assert normalize_text(said) == said  # idempotent: every stage may normalise again
    assert not re.search(r"\d", said)  # every number is words
    assert said == said.strip() and "  " not in said
    assert all(SPEAKABLE.fullmatch(c) for c in said)


@settings(max_examples=200, deadline=None)
@given(SCRIPTS)
def test_a_script_is_accepted_or_refused_with_a_message(text):
    try:
        script = check_script(text, max_chars=200)
    except StudioError as error:
        assert str(error).startswith("The script")
    else:
        assert any(c.isalpha() for c in script) and len(text.strip()) <= 200


IMAGE_HEADERS = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a",
                                 b"RIFF\x00\x00\x00\x00WEBP", b"BM"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(IMAGE_HEADERS, st.binary(max_size=3000))
def test_any_bytes_are_a_photo_or_a_message(tmp_path, header, body):
    path = tmp_path / "photo.jpg"
    path.write_bytes(header + body)
    try:
        photo = load_photo(str(path))
    except StudioError as error:
        assert str(error).startswith(("The photo", "Could not"))
    else:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4]),
       st.sampled_from([np.uint8, np.uint16]), st.sampled_from([".png", ".tiff", ".bmp", ".webp"]),
       st.integers(0, 2**32 - 1))
def test_every_image_layout_decodes_to_the_same_rgb(tmp_path, height, width, channels, dtype,
                                                     suffix, seed):
    if suffix in (".bmp", ".webp") and dtype == np.uint16:
        return  # these formats have no 16-bit samples
    if suffix == ".webp" and channels == 1:
        return
    top = 65535 if dtype == np.uint16 else 255
    pixels = np.random.default_rng(seed).integers(0, top + 1, (height, width, channels)).astype(dtype)
    if channels == 4:
        pixels[..., 3] = top  # opaque: the colours must come through unchanged
    path = tmp_path / f"photo{suffix}"
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else []  # 101: lossless
    assert cv2.imwrite(str(path), pixels[..., 0] if channels == 1 else pixels, params)
    photo = load_photo(str(path))
    bgr = np.repeat(pixels, 3, axis=2) if channels == 1 else pixels[..., :3]
    expected = np.round(bgr[..., ::-1] / (257 if dtype == np.uint16 else 1))
    assert photo.shape == (height, width, 3) and photo.dtype == np.uint8
    assert np.abs(photo.astype(int) - expected).max() <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"", b"RIFF", b"ID3", b"OggS", b"\x1aE\xdf\xa3", b"fLaC"]),
       st.binary(min_size=1, max_size=2000))
def test_any_bytes_are_audio_or_a_message(tmp_path, header, body):
    path = tmp_path / "speech.wav"
    path.write_bytes(header + body)
    try:
        samples = decode(str(path))
    except StudioError as error:
        assert str(error).startswith(("Could not read the audio", "The file has no sound"))
    else:
        assert samples.dtype == np.float32 and np.abs(samples).max(initial=0) <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]), st.integers(1, 2),
       st.floats(0.05, 2.0), st.floats(0.05, 0.9), st.sampled_from(["PCM_16", "FLOAT", "PCM_24"]))
def test_any_wav_decodes_to_16k_mono_of_the_same_length_and_level(tmp_path, rate, channels,
                                                                   seconds, level, subtype):
    n = int(rate * seconds)
    tone = level * np.sin(2 * np.pi * 220 * np.arange(n) / rate)
    path = tmp_path / "tone.wav"
    soundfile.write(path, np.repeat(tone[:, None], channels, axis=1), rate, subtype=subtype)
    samples = decode(str(path))
    assert abs(len(samples) - n * SAMPLE_RATE / rate) <= 2
    assert abs(np.abs(samples).max() - level) < 0.02


@settings(max_examples=50, deadline=None)
@given(st.floats(0.5, 200), st.floats(2, 40), st.integers(0, 2**32 - 1))
def test_long_audio_is_cut_into_short_pieces_at_pauses(seconds, piece_seconds, seed):
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, 0.1, int(seconds * SAMPLE_RATE)).astype(np.float32)
    cuts = pause_cuts(samples, piece_seconds)
    bounds = [0, *cuts, len(samples)]
    assert all(0 < b - a <= piece_seconds * SAMPLE_RATE for a, b in zip(bounds, bounds[1:]))
    if cuts:  # a silent gap inside the allowed window is where the cut goes
        gap = int((piece_seconds * 0.85) * SAMPLE_RATE)
        samples[gap - SAMPLE_RATE // 4:gap + SAMPLE_RATE // 4] = 0
        assert abs(pause_cuts(samples, piece_seconds)[0] - gap) < SAMPLE_RATE // 4
