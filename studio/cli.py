"""Command line: the same pipeline as the browser studio.

    python -m studio render --face PHOTO --text "Hello!" --out hello.mp4
"""
import argparse
import os
import sys

from studio.drivers import DRIVERS
from studio.errors import StudioError
from studio.render import INTERIORS


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are bad input too: one line on stderr, not the whole usage text."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _OneLineParser(prog="python -m studio", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render a talking-face video")
    render.add_argument("--face", required=True, help="the face photo")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the script to speak")
    source.add_argument("--text-file", help="a UTF-8 text file with the script")
    source.add_argument("--audio", help="speech to lip-sync (any common audio or video file)")
    render.add_argument("--transcript", help="what the --audio says (improves phone timing)")
    render.add_argument("--out", required=True, help="the MP4 to write")
    render.add_argument("--driver", choices=sorted(DRIVERS), help="lip-motion driver")
    render.add_argument("--size", type=int, help="long side of the video in px (default: the photo's)")
    render.add_argument("--seed", type=int, default=0, help="seed for blinks and head motion")
    render.add_argument("--still", action="store_true", help="keep the head still")
    render.add_argument("--no-blinks", action="store_true", help="keep the eyes open")
    render.add_argument("--rate", type=float, default=1.0, help="speaking rate for scripts")
    render.add_argument("--renderer", choices=INTERIORS, default=INTERIORS[0],
                        help="v3 (default): v2 and the learned mouth refiner; v2: the warp alone; v1")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    user = sys.stderr if os.environ.get("STUDIO_DEBUG") else _silence_native_logs()
    try:
        return render(args, user)
    except StudioError as error:
        print(f"error: {error}", file=user)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug, not bad input: one line, and the way to see more
        print(f"error: unexpected {type(error).__name__}: {error} (STUDIO_DEBUG=1 shows more)",
              file=user)
        return 2


def _silence_native_logs():
    """MediaPipe and TFLite write C++ log lines straight to fd 2; the user's stderr is kept for
    the studio's own messages and everything else goes to /dev/null."""
    user = os.fdopen(os.dup(2), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    return user


def render(args: argparse.Namespace, user) -> int:
    from studio.pipeline import RenderOptions, Studio, load_photo

    if args.transcript and not args.audio:
        raise StudioError("--transcript goes with --audio.")
    if not os.path.isfile(args.face):
        raise StudioError(f"No such photo: {args.face}")
    if args.audio and not os.path.isfile(args.audio):
        raise StudioError(f"No such audio file: {args.audio}")
    if not args.out.lower().endswith(".mp4"):
        raise StudioError("--out must name an .mp4 file.")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise StudioError(f"The output folder does not exist: {out_dir}")
    text = args.text
    if args.text_file:
        try:
            with open(args.text_file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror or "not UTF-8 text"
            raise StudioError(f"Could not read the script file: {reason}") from None
    studio = Studio()
    options = RenderOptions(driver=args.driver, size=args.size, seed=args.seed, still=args.still,
                            blinks=not args.no_blinks, rate=args.rate, renderer=args.renderer)
    result = studio.render(load_photo(args.face, studio.limits), args.out,
                           text=text, audio=args.audio, transcript=args.transcript,
                           options=options)
    for note in result.notes:
        print(note, file=user)
    extra = f" and {result.subtitles}" if result.subtitles else ""
    print(f"wrote {result.video}{extra}: {result.duration:.2f} s, {result.size[0]}x{result.size[1]}, "
          f"driver {result.driver}")
    return 0
