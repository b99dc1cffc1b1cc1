"""`RunConfig(log_to_file=...)`: what a trial prints goes to files in its directory.

In a worker process the file descriptors 1 and 2 are pointed at the files for the trial's run
(so output of C extensions and subprocesses lands there too) and restored afterwards; on a
thread of the driver (`InProcessExecutor`) only `sys.stdout` / `sys.stderr` can be redirected.
Files are opened for appending: a resumed trial adds to what it printed before.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def output_to_files(files: tuple[str, str] | None, *, process_wide: bool) -> Iterator[None]:
    """Redirect stdout and stderr to `files` (the same path twice: one file) while in the block."""
    if files is None:
        yield
        return
    out_path, err_path = files
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(out_path, "a", encoding="utf-8", buffering=1))
        err = out if err_path == out_path else stack.enter_context(
            open(err_path, "a", encoding="utf-8", buffering=1)
        )
        if not process_wide:
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(err))
            yield
            return
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
