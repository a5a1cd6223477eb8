"""How a stage fails: one clear line on stderr and a non-zero exit, never a traceback.

Every stage's ``__main__`` block calls :func:`run`. Errors the user can fix (bad params, bad
data, a missing input file) are :class:`StageError`; they print as ``<prog>: error: <message>``
and exit with status 2. Anything else is a bug and exits 1 with a one-line summary.
Set ``OR_GATE_DEBUG=1`` (or pass ``--debug``) to see the full traceback instead.

A failure inside ``dvc repro`` or ``dvc exp run`` can leave the workspace changed (DVC deletes
a stage's outputs before running it; a failed ``dvc exp run`` keeps its ``-S`` values), so a
failing stage adds one line that says how to get back (:data:`RECOVERY_HINT`) when DVC runs it
(DVC sets ``DVC_STAGE`` for every stage command).

:func:`run` also checks that the numerics are pinned (``or_gate/numerics.py``) before and
after the stage's work.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

from or_gate import numerics

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
        numerics.check_pinned()
        main(argv)
        numerics.check_pinned()  # again, now that TensorFlow may be loaded
        numerics.report(prog)
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
