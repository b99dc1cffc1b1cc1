"""Runs the ```python blocks of a docs page in order, in one fresh interpreter, in the current
directory, as tests/docs/test_docs.py does for docs/*.md: `python sk_run_docs.py PAGE`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

_BLOCK = re.compile(r"(<!-- not run -->\s*\n)?```python\n(.*?)```", re.DOTALL)


def main() -> None:
    page = Path(sys.argv[1])
    blocks = [m.group(2) for m in _BLOCK.finditer(page.read_text()) if not m.group(1)]
    if not blocks:
        raise SystemExit(f"{page} has no python block to run")
    script = "\n".join(f"# --- block {i}\n{block}" for i, block in enumerate(blocks))
    exec(compile(script, str(page), "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    main()
