"""The docs: README.md stays a landing page, links resolve, and results blocks are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgsuite.core import doctables

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
RESULTS = ROOT / "benchmarks" / "results"
README_LIMIT = 12_288
OPTIONAL: set[Path] = set()
"""Pages another change adds; a link to one is skipped while it is absent."""

# [text](target) and <a href="target">, minus code spans and fenced blocks (read below)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<a\s+href=\"([^\"]+)\"")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")


def relative_links(page: Path) -> list[str]:
    """The relative link targets of ``page`` (no URL, no mailto, no pure #anchor)."""
    text = _CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    targets = [a or b for a, b in _LINK.findall(text)]
    return [
        t
        for t in targets
        if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) and not t.startswith("#")
    ]


def test_readme_is_a_landing_page() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, (
        f"README.md is {size} bytes; move detail to docs/ (< {README_LIMIT})"
    )


def test_the_doc_pages_exist() -> None:
    names = {p.name for p in PAGES}
    assert {"core.md", "inventory.md", "jobshop.md", "retrieval.md", "soc.md", "imaging.md",
            "iot.md"} <= names  # fmt: skip


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_point_to_existing_files(page: Path) -> None:
    missing = []
    for target in relative_links(page):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.exists() and path not in OPTIONAL:
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_link_reader_finds_markdown_and_html_links(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        '[a](x.md) [b](https://e.org) [c](#top) <a href="y/z.md">d</a> `[e](no.md)`\n'
        "```\n[f](no.md)\n```\n[g](w.md#part)\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["x.md", "y/z.md", "w.md#part"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_results_blocks_equal_the_results_files(page: Path) -> None:
    assert doctables.results_dir_of(page).resolve() == RESULTS.resolve()
    stale = doctables.stale_blocks(page)
    assert not stale, (
        f"{page.name}: results blocks {stale} differ from benchmarks/results/<name>.md; refresh "
        f"them with `python -m pgsuite.core.doctables {page.relative_to(ROOT)}`"
    )


def test_every_app_page_shows_results_blocks() -> None:
    for name in ("core", "inventory", "jobshop", "retrieval", "soc", "imaging", "iot"):
        text = (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8")
        assert doctables.block_bodies(text), f"docs/{name}.md has no results block"
