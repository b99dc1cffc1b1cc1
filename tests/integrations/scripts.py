"""Running the integrations' docs pages and examples as a user would: in a fresh interpreter,
in a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"(<!-- not run -->\s*\n)?```python\n(.*?)```", re.DOTALL)


def run_python(tmp_path: Path, *args: str, code: str | None = None, timeout: float = 240) -> str:
    """Run a script (or `code`) in tmp_path (also its TMPDIR); its output. Fails on an error."""
    command = [sys.executable, *(("-c", code) if code is not None else args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def doc_code(page: str) -> str:
    """The python blocks of docs/integrations/<page> (but those after a ``<!-- not run -->``
    line), in order, as one script."""
    text = (ROOT / "docs" / "integrations" / page).read_text()
    blocks = [m.group(2) for m in _BLOCK.finditer(text) if not m.group(1)]
    assert blocks, f"docs/integrations/{page} has no python block to run"
    return "\n".join(f"# --- block {i}\n{block}" for i, block in enumerate(blocks))


def example(name: str) -> str:
    """The path of examples/integrations/<name>."""
    return str(ROOT / "examples" / "integrations" / name)
