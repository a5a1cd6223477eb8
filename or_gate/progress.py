"""No silent phase: a stage announces each phase and, while it lasts, says it is still at it.

``with phase("train@relu", "drawing initial weights"):`` prints the phase when it starts and
then a line every ``HEARTBEAT_SECONDS`` until it ends, so no phase of a stage (drawing weights,
compiling, training, saving, evaluating) is silent for longer than that, however large the run.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

HEARTBEAT_SECONDS = 10.0


@contextlib.contextmanager
def phase(stage: str, what: str, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    started = time.perf_counter()
    print(f"{stage}: {what}...", flush=True)
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(every):
            elapsed = time.perf_counter() - started
            print(f"{stage}: still {what} ({elapsed:.0f} s)", file=sys.stdout, flush=True)

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        yield
    finally:
        done.set()
        beating.join()
