"""How every command of the project runs: its entry point, arguments, progress and failures.

* :func:`run` is the ``__main__`` of every stage and tool. Errors the user can fix (bad params,
  bad data, a missing file) are :class:`StageError`; they print as ``<prog>: error: <message>``
  and exit with status 2. Anything else is a bug and exits 1 with a one-line summary. Set
  ``OR_GATE_DEBUG=1`` (or pass ``--debug``) to see the full traceback instead. A failure inside
  ``dvc repro`` or ``dvc exp run`` can leave the workspace changed (DVC deletes a stage's
  outputs before running it; a failed ``dvc exp run`` keeps its ``-S`` values), so a failing
  stage adds one line that says how to get back (:data:`RECOVERY_HINT`) when DVC runs it (DVC
  sets ``DVC_STAGE`` for every stage command). Before the command's work, :func:`run`
  refuses to run another checkout's code or other versions than the pinned ones, and checks
  that the numerics are pinned, again after it (``or_gate/environment.py``).
* :func:`stage_arguments`: the command line every stage shares, ``--params`` and its paths.
  Every path a stage reads or writes reaches it as an argument (``dvc.yaml`` is the wiring
  diagram).
* :func:`phase`: no silent phase. A stage announces each phase and, while it lasts, says every
  ``HEARTBEAT_SECONDS`` that it is still at it, however large the run.
* :func:`load_tensorflow`: TensorFlow without its start-up noise. On a CPU-only machine,
  importing it prints about six lines to stderr (absl's "All log messages before
  absl::InitializeLog()", "Could not find cuda drivers", "failed call to cuInit ... (303)",
  CPU-feature notices) that bury a stage's one line; every other line it prints is passed on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from or_gate import environment

RECOVERY_HINT = (
    "to undo what the failed run changed, run the commands under "
    "'Recovering from a failed run' in docs/recovery.md"
)


class StageError(Exception):
    """A problem with the user's inputs, described in one line."""


class ParamsError(StageError):
    """params.yaml breaks its contract."""


class DataError(StageError):
    """A data file breaks its contract."""


class ResourceError(StageError):
    """The run needs more memory than the machine has; the message names the sizes."""


def run(main: Callable[[list[str]], None], argv: list[str] | None = None) -> None:
    """Run a stage's ``main(argv)`` and turn failures into one line and an exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("OR_GATE_DEBUG", "") not in ("", "0")
    if "--debug" in argv:
        argv.remove("--debug")
        debug = True
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "stage"
    prog = prog.removesuffix(".py")
    under_dvc = os.environ.get("DVC_STAGE") is not None

    def fail(line: str, status: int) -> NoReturn:
        print(f"{prog}: {line}", file=sys.stderr)
        if under_dvc:
            print(f"{prog}: {RECOVERY_HINT}", file=sys.stderr)
        sys.exit(status)

    try:
        problem = environment.check_checkout() or environment.check_versions(
            environment.library_checkout()
        )
        if problem:
            raise StageError(problem)
        note = environment.overridden_note()
        if note:
            print(f"{prog}: {note}", file=sys.stderr)
        environment.check_pinned()
        main(argv)
        environment.check_pinned()  # again, now that TensorFlow may be loaded
        environment.report(prog)
    except StageError as error:
        if debug:
            traceback.print_exc()
        fail(f"error: {error}", 2)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except MemoryError as error:  # Python's own: the sizes are the stage's numbers above
        fail(f"error: out of memory ({error or 'MemoryError'}); see the stage's plan above", 2)
    except Exception as error:  # a bug: still one line unless debugging
        if debug:
            traceback.print_exc()
        first_line = str(error).strip().split("\n", 1)[0]
        if type(error).__name__ == "ResourceExhaustedError":  # TensorFlow's out of memory
            fail(f"error: TensorFlow ran out of memory ({first_line}); see the plan above", 2)
        fail(
            f"internal error: {type(error).__name__}: {first_line} "
            "(rerun with OR_GATE_DEBUG=1 for the traceback)",
            1,
        )


def stage_arguments(
    argv: list[str], module: str, doc: str | None, paths: tuple[str, ...], *, variant=False
) -> argparse.Namespace:
    """Parse ``argv`` of the stage ``module`` (``stages.train``): ``--params`` (default
    params.yaml), ``--variant`` if asked for, and one required ``--<name>`` path per entry of
    ``paths`` (``args.<name_with_underscores>``)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    if variant:
        parser.add_argument("--variant", required=True)
    for name in paths:
        parser.add_argument(f"--{name}", type=Path, required=True)
    return parser.parse_args(argv)


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


# Notices TensorFlow prints at start-up on a machine without a GPU; nothing else is dropped.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    r"|cuda_platform\.cc:\d+\] failed call to cuInit"
    r"|cuda_executor\.cc:\d+\]"
    r"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
)


def load_tensorflow() -> None:
    """Import TensorFlow and Keras (once per process) without their start-up noise."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO and WARNING logs of the C++ side
    sys.stderr.flush()
    real_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
            import tensorflow as tf

            tf.config.list_physical_devices()  # where the CUDA probe and its error happen
            # ~/.keras/keras.json can set another float type or epsilon (binary cross-entropy
            # clips by it): the defaults, whatever that file says (checked by check_pinned)
            keras.config.set_floatx(environment.KERAS_FLOATX)
            keras.config.set_epsilon(environment.KERAS_EPSILON)
        finally:
            os.dup2(real_stderr, 2)
            os.close(real_stderr)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not START_UP_NOISE.search(line):
                    print(line, file=sys.stderr)
