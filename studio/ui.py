"""The browser studio: thin Gradio handlers around one shared `Studio` pipeline."""
import contextlib
import os
import tempfile
import threading
import time
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
KEEP_SECONDS = 3600  # results and uploads stay in Gradio's cache this long (STUDIO_KEEP_SECONDS)
OUTPUT_NAME = "talking-face.mp4"
POLL_SECONDS = 0.2  # how often a running render reports progress and can be cancelled


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
        from studio.pipeline import Limits

        self._studio = studio
        self.limits = studio.limits if studio else Limits.from_env()  # the page states these

    @property
    def studio(self):
        if self._studio is None:
            from studio.pipeline import Studio

            self._studio = Studio(limits=self.limits)
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
        into its own cache (served for KEEP_SECONDS) before it resumes the generator. A
        cancelled or abandoned request stops its render within a progress step (about 1% of the
        frames), and it and a failed one remove the folder too. Output names are fixed here, so
        an uploaded file's name never chooses where anything is written."""
        from studio.pipeline import RenderOptions, load_photo

        if not photo:
            raise gr.Error("Add a face photo first: upload one, use the webcam or pick an example.")
        options = RenderOptions(
            driver=None if driver in (None, DEFAULT_DRIVER) else driver,
            size=None if size in (None, SIZES[0]) else int(size),
            still=not head_motion, blinks=bool(blinks), rate=float(rate))
        with tempfile.TemporaryDirectory(prefix="studio-") as folder:
            render = BackgroundRender(lambda report: self.studio.render(
                load_photo(photo, self.studio.limits),
                os.path.join(folder, OUTPUT_NAME), text=text, audio=audio,
                transcript=transcript, options=options, progress=report))
            try:
                while not render.finished.wait(POLL_SECONDS):
                    progress(render.fraction, desc=render.stage)
                    yield gr.skip(), gr.skip(), gr.skip()  # a moment for Gradio to cancel us
            finally:  # GeneratorExit when the user cancels or leaves: stop the render, then clean up
                render.stop()
            try:
                result = render.result()
            except StudioError as error:
                raise gr.Error(str(error)) from None
            files = [str(result.video)] + ([str(result.subtitles)] if result.subtitles else [])
            yield str(result.video), files, result.summary()


class RenderCancelled(Exception):
    """Raised inside a render whose request was cancelled: the writer aborts, nothing is left."""


class BackgroundRender:
    """A render on its own thread, so the handler can keep yielding to Gradio (which can only
    cancel a generator between yields) and stop the render at its next progress report."""

    def __init__(self, work):
        self.fraction, self.stage = 0.0, "starting"
        self.finished = threading.Event()
        self._stopping = threading.Event()
        self._result = self._error = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _report(self, fraction: float, stage: str) -> None:
        if self._stopping.is_set():
            raise RenderCancelled
        self.fraction, self.stage = fraction, stage

    def _run(self, work) -> None:
        try:
            self._result = work(self._report)
        except BaseException as error:  # handed to the handler's thread by result()
            self._error = error
        finally:
            self.finished.set()

    def stop(self) -> None:
        """Cancel if still running, and wait until the render has let go of its files."""
        self._stopping.set()
        self._thread.join()

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result


def build_ui(handlers: StudioHandlers | None = None) -> gr.Blocks:
    handlers = handlers or StudioHandlers()
    limits = handlers.limits
    with gr.Blocks(title="Talking Face Studio") as demo:
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


def serve(handlers: StudioHandlers | None = None, **launch_options):
    """Build the studio and serve it; the web server refuses uploads over the file limit before
    they are stored. Returns the built Blocks and what `launch` returns."""
    handlers = handlers or StudioHandlers()
    demo = build_ui(handlers)
    launched = demo.launch(show_error=True, max_file_size=f"{handlers.limits.max_upload_mb}mb",
                           **launch_options)
    CacheSweeper(demo, int(os.environ.get("STUDIO_KEEP_SECONDS", KEEP_SECONDS))).start()
    return demo, launched


class CacheSweeper(threading.Thread):
    """Removes uploads and results from Gradio's cache once they are `keep` seconds old (the
    example photos stay). Gradio's own delete_cache misses both: it tracks neither uploads nor
    what handlers return. Stops when the server closes."""

    def __init__(self, demo: gr.Blocks, keep: int):
        super().__init__(daemon=True, name="cache-sweeper")
        self.demo, self.keep = demo, keep

    def run(self) -> None:
        while self.demo.is_running:  # until demo.close()
            time.sleep(max(self.keep / 4, 0.5))
            self.sweep()

    def sweep(self) -> None:
        kept = set(self.demo.keep_in_cache).union(
            *(getattr(block, "keep_in_cache", ()) for block in self.demo.blocks.values()))
        cutoff = time.time() - self.keep
        for folder, _, names in os.walk(self.demo.GRADIO_CACHE):  # walk skips what vanishes
            for name in names:
                path = os.path.join(folder, name)
                try:
                    if path not in kept and os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                except OSError:  # taken by another request's cleanup: nothing to do
                    continue
            if folder != self.demo.GRADIO_CACHE:
                with contextlib.suppress(OSError):  # removed only once empty
                    os.rmdir(folder)
