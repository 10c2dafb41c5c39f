"""The served studio used as many people use it at once, on a real server on localhost: clients
asking at the same time, one who cancels, one who closes the tab, uploads over the limit, and
the cache emptying on schedule. Each scenario returns a row: what was tried, what happened and
whether that is right; tests/test_concurrency.py asserts on it and `python -m lab.bad_input`
reports it.
"""
import contextlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from lab.dataset import ROOT
from studio.pipeline import Limits, Studio
from studio.ui import CONCURRENT_RENDERS, OUTPUT_NAME, StudioHandlers, serve
from studio.video import stream_durations

EXAMPLES = ROOT / "assets" / "examples"
OPTIONS = ("256", False, True, "default")  # size, head motion, blinks, driver
LONG_SCRIPT = " ".join(["The quick brown fox jumps over the lazy dog near the river bank."] * 20)
LONG_OPTIONS = ("512", True, True, "default")  # 40 s of video: still rendering when abandoned
STOP_SECONDS = 10  # an abandoned render stops within this (it would take minutes to finish)
BRIEF = {"STUDIO_KEEP_SECONDS": "3", "STUDIO_MAX_UPLOAD_MB": "1"}  # a server that forgets fast


class CountingStudio(Studio):
    """The real studio, counting its renders and how many run at the same time (limits from the
    environment, as app.py's studio has them)."""

    def __init__(self, studio: Studio):
        super().__init__(studio.face_mesh, studio.voice, Limits.from_env())
        self._lock = threading.Lock()
        self.running = self.most_at_once = self.calls = 0

    def render(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().render(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


def encoders_running() -> list[int]:
    """ffmpeg processes started by this process (the studio's encoder and decoders)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:  # the process ended while being read
            continue
        if int(fields.get("PPid", 0)) == os.getpid() and "ffmpeg" in fields.get("Name", ""):
            found.append(int(status.parent.name))
    return found


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def leftovers(work: Path) -> list[str]:
    """Working files and folders the studio left (Gradio's server and client leave empty folders
    of their own, which are not the studio's)."""
    return [str(p) for p in work.rglob("*") if p.is_file() or p.name.startswith("studio-")]


@contextlib.contextmanager
def serving(studio: Studio, folder: Path, **environment: str):
    """The studio served on localhost with `environment` set (STUDIO_... limits), its working
    files in folder/work and Gradio's cache in folder/gradio. Yields (url, counting studio)."""
    saved = {name: os.environ.get(name) for name in [*environment, "GRADIO_TEMP_DIR"]}
    os.environ.update(environment, GRADIO_TEMP_DIR=str(folder / "gradio"))
    (folder / "work").mkdir(parents=True)
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(folder / "work")
    counting = CountingStudio(studio)
    demo, (_, url, _) = serve(StudioHandlers(counting), prevent_thread_lock=True,
                              server_name="127.0.0.1", quiet=True)
    try:
        yield url, counting
    finally:
        demo.close()
        tempfile.tempdir = saved_tempdir
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _subtitled(files: list[str]) -> str:
    subtitles = next(Path(f).read_text() for f in files if f.endswith(".srt"))
    return " ".join(line for line in subtitles.splitlines()
                    if line.strip() and not line.isdigit() and "-->" not in line)


def simultaneous_users(url: str, counting: CountingStudio, folder: Path, speech: Path) -> dict:
    """Five clients at once, each its own gradio_client session with its own input: three
    scripts (one photo with a hostile file name), one recording of `speech` (3 s) and one file
    that is not a photo. Right when each gets its own result (its own words, its photo's size)
    or message, renders take turns, and no working file is left."""
    from gradio_client import Client, handle_file

    odd = folder / "..;$(touch x) talking-face.mp4.jpg"  # an upload's name never picks a path
    shutil.copy(EXAMPLES / "grid-speaker.jpg", odd)
    user = lambda: Client(url, verbose=False)  # a session of its own, as each browser has
    asked = [(EXAMPLES / "astronaut.jpg", "Hi.", "256x256"),
             (odd, "Good morning, class. Today we learn about the moon.", "256x204"),
             (EXAMPLES / "grace-hopper.jpg", "Seven ravens sat on the old fence.", "218x256")]
    jobs = [user().submit(handle_file(str(photo)), script, 1.0, *OPTIONS, api_name="/speak_script")
            for photo, script, _ in asked]
    recording = user().submit(handle_file(str(EXAMPLES / "astronaut.jpg")), handle_file(str(speech)),
                              "", *OPTIONS, api_name="/lip_sync_audio")
    not_a_photo = user().submit(handle_file(str(ROOT / "README.md")), "Hello.", 1.0, *OPTIONS,
                                api_name="/speak_script")
    own = 0
    for (_, script, size), job in zip(asked, jobs):
        video, files, status = job.result(timeout=600)
        own += (_subtitled(files) == script and f"at {size}," in status
                and Path(video).name == OUTPUT_NAME)
    recorded = stream_durations(recording.result(timeout=600)[0])["video"]
    try:
        not_a_photo.result(timeout=600)
        refused = "rendered"
    except Exception as error:  # the client raises the studio's message as an AppError
        refused = str(error)
    left = leftovers(Path(tempfile.gettempdir()))
    return {"input": "5 clients at once: 3 scripts (one photo named `..;$(touch x) "
                     "talking-face.mp4.jpg`), a 3 s recording, a text file as the photo",
            "outcome": f"{own} of 3 scripts came back with their own words and photo size; the "
                       f"recording gave {recorded:.2f} s of video; the text file: {refused} "
                       f"At most {counting.most_at_once} render ran at a time; "
                       f"{len(left)} working files left.",
            "as_expected": (own == 3 and abs(recorded - 3.0) < 0.05 and "not an image file" in refused
                            and counting.most_at_once == CONCURRENT_RENDERS and not left)}


def abandon(url: str, how: str) -> dict:
    """A user starts a long render and, once it reaches the encoder, cancels ("cancel", through
    gradio_client) or closes the tab ("disconnect": the event stream's connection drops with no
    cancel request). Right when the render stops at once and leaves no ffmpeg and no file."""
    import httpx
    from gradio_client import Client, handle_file

    work = Path(tempfile.gettempdir())
    photo = EXAMPLES / "astronaut.jpg"
    if how == "cancel":
        job = Client(url, verbose=False).submit(handle_file(str(photo)), LONG_SCRIPT, 1.0,
                                                *LONG_OPTIONS, api_name="/speak_script")
        reached = wait_for(encoders_running, 120)
        started = time.monotonic()
        job.cancel()
    else:
        config = httpx.get(url + "config").json()
        speak = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "speak_script")
        with httpx.Client(base_url=url + "gradio_api/", timeout=60) as http:
            with open(photo, "rb") as file:
                [uploaded] = http.post("upload", files={"files": file}).json()
            data = [{"path": uploaded, "meta": {"_type": "gradio.FileData"}}, LONG_SCRIPT, 1.0,
                    *LONG_OPTIONS]
            http.post("queue/join", json={"data": data, "fn_index": speak,
                                          "session_hash": "closing-tab"}).raise_for_status()
            with http.stream("GET", "queue/data", params={"session_hash": "closing-tab"}):
                reached = wait_for(encoders_running, 120)
            started = time.monotonic()  # the connection closed as the block ended
    stopped = wait_for(lambda: not encoders_running() and not any(work.glob("studio-*")),
                       STOP_SECONDS)
    seconds, ffmpeg, left = time.monotonic() - started, len(encoders_running()), leftovers(work)
    what = {"cancel": "a user cancels a 40 s render while it encodes (gradio_client's cancel)",
            "disconnect": "a user closes the tab while a 40 s render encodes (the event stream "
                          "drops, no cancel request)"}[how]
    return {"input": what,
            "outcome": (f"stopped {seconds:.1f} s later" if stopped else
                        f"still running {seconds:.0f} s later") + (
                f"; {ffmpeg} ffmpeg processes and {len(left)} working files left."
                if reached else " (the render never reached the encoder)"),
            "as_expected": reached and stopped and not ffmpeg and not left}


def oversized_upload(url: str, counting: CountingStudio, folder: Path) -> dict:
    """A 2 MB photo file on a server with a 1 MB limit (BRIEF), through gradio_client (which
    checks the limit the server states before sending) and straight to the server's upload
    route. Right when both refuse it, naming the limit, and no render starts."""
    import httpx
    from gradio_client import Client, handle_file

    big = folder / "big.jpg"
    with open(big, "wb") as file:
        file.truncate(2_000_000)
    renders = counting.calls
    try:
        Client(url, verbose=False).predict(handle_file(str(big)), "Hi.", 1.0, *OPTIONS,
                                           api_name="/speak_script")
        client = "accepted"
    except Exception as error:
        client = str(error).replace(str(big), big.name)
    with open(big, "rb") as file:
        answer = httpx.post(url + "gradio_api/upload", files={"files": file}, timeout=60)
    limit = "1048576 bytes"
    return {"input": "a 2 MB photo file with the upload limit at 1 MB",
            "outcome": f"gradio_client: {client} The server's upload route: {answer.status_code} "
                       f"{answer.text} Renders started: {counting.calls - renders}.",
            "as_expected": (limit in client and answer.status_code == 413 and limit in answer.text
                            and counting.calls == renders)}


def cache_lifetime(url: str, folder: Path) -> dict:
    """A user's photo and its result on a server that keeps files 3 s (BRIEF). Right when the
    result is served from Gradio's cache and then both are gone within 15 s."""
    from gradio_client import Client, handle_file

    upload = folder / "me.jpg"  # a user's own photo (the bundled examples stay cached)
    shutil.copy(EXAMPLES / "grace-hopper.jpg", upload)
    Client(url, verbose=False).predict(handle_file(str(upload)), "Hi.", 1.0, *OPTIONS,
                                       api_name="/speak_script")
    cache = Path(os.environ["GRADIO_TEMP_DIR"])
    names = {"me.jpg", OUTPUT_NAME, Path(OUTPUT_NAME).with_suffix(".srt").name}
    cached = lambda: [p.name for p in cache.rglob("*") if p.name in names]
    served = OUTPUT_NAME in cached()
    returned = time.monotonic()
    gone = wait_for(lambda: not cached(), 15)
    return {"input": "an upload and its result with STUDIO_KEEP_SECONDS=3",
            "outcome": ("the result was served from the cache" if served else
                        "the result was not in the cache") + "; "
                       + (f"both were gone {time.monotonic() - returned:.1f} s after it came back."
                          if gone else "they were still there 15 s later."),
            "as_expected": served and gone}


def served_rows(studio: Studio, speech: Path) -> list[dict]:
    """Every scenario, on two servers: one as app.py serves, one that forgets fast (BRIEF)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        with serving(studio, folder / "default") as (url, counting):
            rows = [simultaneous_users(url, counting, folder, speech),
                    abandon(url, "cancel"), abandon(url, "disconnect")]
        with serving(studio, folder / "brief", **BRIEF) as (url, counting):
            rows += [cache_lifetime(url, folder), oversized_upload(url, counting, folder)]
    return rows
