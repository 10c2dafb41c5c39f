"""The browser studio: thin Gradio handlers around one shared `Studio` pipeline."""
import os
import tempfile
from pathlib import Path

import gradio as gr

from studio.drivers import DRIVERS
from studio.errors import StudioError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EXAMPLES = sorted(str(p) for p in (ASSETS / "examples").glob("*.jpg"))
SIZES = ["photo's own", "256", "512", "768", "1024"]
DEFAULT_DRIVER = "default"
RENDER_QUEUE = "render"  # both generate buttons share one concurrency limit
CONCURRENT_RENDERS = 1  # two CPU cores: one render at a time keeps each one fast
QUEUE_SIZE = 32  # requests waiting beyond this are turned away with a "queue is full" message
DOWNLOAD_SECONDS = 3600  # results and uploads stay in Gradio's cache this long, then go
OUTPUT_NAME = "talking-face.mp4"


class PhotoUpload(gr.Image):
    """A gr.Image that hands the uploaded file over untouched. Gradio's own preprocessing would
    re-save it through Pillow as RGB (dropping 16-bit depth and turning transparency black) and
    fail on a damaged file with a generic error; the studio's decoder handles those layouts and
    says what is wrong with a file."""

    is_template = True  # the browser draws it as the gr.Image it is

    def preprocess(self, payload):
        return payload.path if payload is not None else None


class StudioHandlers:
    """Gradio event handlers. The pipeline loads its heavy parts on the first request."""

    def __init__(self, studio=None):
        self._studio = studio

    @property
    def studio(self):
        if self._studio is None:
            from studio.pipeline import Studio

            self._studio = Studio()
        return self._studio

    def speak_script(self, photo, script, rate, size, head_motion, blinks, driver,
                     progress=gr.Progress()):
        yield from self._render(photo, size, head_motion, blinks, driver, progress,
                                text=script or "", rate=rate)

    def speak_audio(self, photo, audio, transcript, size, head_motion, blinks, driver,
                    progress=gr.Progress()):
        if not audio:
            raise gr.Error("Upload or record some speech first.")
        yield from self._render(photo, size, head_motion, blinks, driver, progress,
                                audio=audio, transcript=transcript or None)

    def _render(self, photo, size, head_motion, blinks, driver, progress, *, text=None,
                audio=None, transcript=None, rate=1.0):
        """Yields the one result, then removes its working folder: Gradio copies yielded files
        into its own cache (served for DOWNLOAD_SECONDS) before it resumes the generator, and
        a failed or abandoned request removes the folder too. Output names are fixed here, so
        an uploaded file's name never chooses where anything is written."""
        from studio.pipeline import RenderOptions, load_photo

        if not photo:
            raise gr.Error("Add a face photo first: upload one, use the webcam or pick an example.")
        options = RenderOptions(
            driver=None if driver in (None, DEFAULT_DRIVER) else driver,
            size=None if size in (None, SIZES[0]) else int(size),
            still=not head_motion, blinks=bool(blinks), rate=float(rate))
        with tempfile.TemporaryDirectory(prefix="studio-") as folder:
            try:
                result = self.studio.render(
                    load_photo(photo, self.studio.limits.max_photo_pixels),
                    os.path.join(folder, OUTPUT_NAME), text=text, audio=audio,
                    transcript=transcript, options=options,
                    progress=lambda fraction, stage: progress(fraction, desc=stage))
            except StudioError as error:
                raise gr.Error(str(error)) from None
            files = [str(result.video)] + ([str(result.subtitles)] if result.subtitles else [])
            yield str(result.video), files, result.summary()


def build_ui(handlers: StudioHandlers | None = None) -> gr.Blocks:
    from studio.pipeline import Limits

    handlers = handlers or StudioHandlers()
    limits = Limits.from_env()
    with gr.Blocks(title="Talking Face Studio",
                   delete_cache=(DOWNLOAD_SECONDS // 4, DOWNLOAD_SECONDS)) as demo:
        gr.Markdown("# Talking Face Studio\nOne face photo, then a script or a recording: "
                    "get a video of that face speaking it, lips in sync.")
        with gr.Row():
            with gr.Column():
                photo = PhotoUpload(label="Face photo", type="filepath",
                                    sources=["upload", "webcam", "clipboard"], height=360)
                gr.Examples(EXAMPLES, inputs=photo, label="Example photos")
                with gr.Tabs():
                    with gr.Tab("Type a script"):
                        script = gr.Textbox(label="Script", lines=5,
                                            placeholder="Hello! Type what the face should say.",
                                            max_length=limits.max_script_chars)
                        rate = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speaking rate")
                        speak_script = gr.Button("Generate", variant="primary")
                    with gr.Tab("Use speech"):
                        audio = gr.Audio(label="Speech", type="filepath",
                                         sources=["upload", "microphone"])
                        transcript = gr.Textbox(label="Transcript (optional: sharper lip timing)",
                                                lines=2)
                        speak_audio = gr.Button("Generate", variant="primary")
                with gr.Accordion("Options", open=False):
                    size = gr.Dropdown(SIZES, value=SIZES[0], label="Video size (long side, px)")
                    head_motion = gr.Checkbox(value=True, label="Gentle head motion")
                    blinks = gr.Checkbox(value=True, label="Eye blinks")
                    driver = gr.Dropdown([DEFAULT_DRIVER] + sorted(DRIVERS), value=DEFAULT_DRIVER,
                                         label="Lip-motion driver")
                gr.Markdown(limits.describe())
            with gr.Column():
                video = gr.Video(label="Result", autoplay=False, buttons=["download"])
                downloads = gr.File(label="Downloads (video, subtitles)", file_count="multiple")
                status = gr.Markdown()
        options = [size, head_motion, blinks, driver]
        outputs = [video, downloads, status]
        speak_script.click(handlers.speak_script, [photo, script, rate] + options, outputs,
                           api_name="speak_script", concurrency_id=RENDER_QUEUE,
                           concurrency_limit=CONCURRENT_RENDERS)
        speak_audio.click(handlers.speak_audio, [photo, audio, transcript] + options, outputs,
                          api_name="lip_sync_audio", concurrency_id=RENDER_QUEUE,
                          concurrency_limit=CONCURRENT_RENDERS)
    demo.queue(max_size=QUEUE_SIZE)
    return demo
