"""How the scripts in `benchmarks/` end on a user's mistake: one line on stderr and exit 2, as the `jaxgan` command.

Every script that imports jaxgan ends with `sys.exit(run_main(main, "SCRIPT"))`; `benchmarks/` is on the import path
when a script in it runs, so they import this module by its name (tests/test_benchmark_errors.py checks all of them).
"""
from __future__ import annotations

import sys
from typing import Callable

from jaxgan.cli import EXIT_USER_ERROR
from jaxgan.errors import UserError


def run_main(main: Callable[[], int | None], prog: str) -> int:
    """Runs a script's entry point as the `jaxgan` command runs its subcommands: a `UserError` becomes one line.

    Anything else still raises with its traceback: that is a bug to report, not a mistake to fix.

    Args:
      main: the script's entry point, called with no arguments; it returns None or an exit status.
      prog: the name the error line starts with: the script's file name without `.py`.

    Returns:
      The status to pass to `sys.exit`: `main`'s own (0 when it returns None), or `EXIT_USER_ERROR` (2) after
      printing `PROG: error: MESSAGE` to stderr.

    Example:
      >>> import contextlib, io
      >>> def main():
      ...     raise UserError("--n must be at least 1, got 0")
      >>> with contextlib.redirect_stderr(io.StringIO()) as err:
      ...     status = run_main(main, "sample")
      >>> status, err.getvalue()
      (2, 'sample: error: --n must be at least 1, got 0\\n')
      >>> run_main(lambda: None, "sample")
      0
    """
    try:
        status = main()
    except UserError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0 if status is None else int(status)
