"""A second phone recogniser in a process of its own, so long speech is recognised on both cores:
pocketsphinx holds the GIL while it decodes, so threads cannot share the work (measured: two
decoders on two threads took as long as one after the other).

The helper is `python -m studio.phone_helper`: it reads a pickled list of 16 kHz pieces on stdin
and writes back the list of their phones, until stdin closes (so it ends with the studio). It
imports only the recogniser: 67 MB and 0.4 s to start, not the studio's models or the web
server. It starts on first use and is kept; one request at a time uses it, and a request that
finds it busy, or finds it gone, recognises everything itself.
"""
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from studio.phonemes import Segment

_ROOT = Path(__file__).resolve().parent.parent  # where `studio` is imported from
_process: subprocess.Popen | None = None
_lock = threading.Lock()  # held by the request using the helper


class Helped:
    """Phones of some pieces, recognised by the helper while this process does other work:
    `with Helped(pieces) as helped: ...; helped.phones()`. Without the helper (busy, or failed),
    `phones()` recognises the pieces here."""

    def __init__(self, pieces: list[np.ndarray]):
        self.pieces = pieces
        self._sent = False

    def __enter__(self) -> "Helped":
        if self.pieces and _lock.acquire(blocking=False):
            try:
                pickle.dump(self.pieces, _started().stdin, protocol=pickle.HIGHEST_PROTOCOL)
                _process.stdin.flush()
                self._sent = True
            except OSError:  # it could not start, or it died: this process does the work
                _stop()
                _lock.release()
        return self

    def phones(self) -> list[list[Segment]]:
        if self._sent:
            self._sent = False
            try:
                return pickle.load(_process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError):
                _stop()
            finally:
                _lock.release()
        from studio.alignment import recognize_phones

        return [recognize_phones(piece) for piece in self.pieces]

    def __exit__(self, *error) -> None:
        if self._sent:  # the request failed before it read its answer: the helper's pipe holds it
            self._sent = False
            _stop()
            _lock.release()


def _started() -> subprocess.Popen:
    global _process
    if _process is None or _process.poll() is not None:
        _process = subprocess.Popen([sys.executable, "-m", "studio.phone_helper"], cwd=_ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return _process


def _stop() -> None:
    global _process
    if _process is not None:
        _process.kill()
        _process.wait()
        _process = None


def main() -> None:
    from studio.alignment import recognize_phones

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            pieces = pickle.load(requests)
        except (EOFError, pickle.UnpicklingError):  # the studio ended
            return
        pickle.dump([recognize_phones(piece) for piece in pieces], answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    main()
