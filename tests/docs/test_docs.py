"""Every ```python block in docs/*.md runs, page by page, as a reader would paste it.

The blocks of one page run in order in one fresh interpreter (a later block may use what an
earlier one defined), in an empty temporary directory, so relative storage paths land there.
A block right after a `<!-- not run -->` line is shown but not run (it needs a cluster, say).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"(<!-- not run -->\s*\n)?```python\n(.*?)```", re.DOTALL)
# Pages whose snippets need more than this machine has; their owners may mark blocks instead.
NOT_RUN = {"cluster.md": "needs a Dask cluster"}


def blocks(page: Path) -> list[str]:
    return [m.group(2) for m in _BLOCK.finditer(page.read_text()) if not m.group(1)]


PAGES = sorted(p for p in DOCS.glob("*.md") if p.name not in NOT_RUN and blocks(p))
"""Pages with snippets to run (a page of prose and diagrams only, such as architecture.md,
has none)."""


def test_every_concept_has_a_page() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    for page in ("trials.md", "schedulers.md", "searchers.md", "checkpoints.md", "storage.md",
                 "experiment_state.md", "restore.md", "analysis.md", "index.md",
                 "architecture.md", "simulation.md", "testing.md", "migrating.md"):
        assert page in names


def test_the_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text()
    unlinked = [p.name for p in sorted(DOCS.glob("*.md"))
                if p.name != "index.md" and f"({p.name})" not in index]
    assert unlinked == []


def test_the_integrations_index_links_every_integration_page() -> None:
    folder = DOCS / "integrations"
    index = (folder / "index.md").read_text()
    unlinked = [p.name for p in sorted(folder.glob("*.md"))
                if p.name != "index.md" and f"({p.name})" not in index]
    assert unlinked == []
    assert "(integrations/index.md)" in (DOCS / "index.md").read_text()


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_snippets_run(page: Path, tmp_path: Path) -> None:
    code = blocks(page)
    script = "\n".join(f"# --- block {i}\n{block}" for i, block in enumerate(code))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, f"{page.name}:\n{done.stdout}\n{done.stderr}"
