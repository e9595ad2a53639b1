"""Results blocks in doc pages: replacement, unbalanced markers, missing results, the bench hook."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pgsuite.core import doctables
from pgsuite.core.bench import write_results
from pgsuite.core.errors import DataError

PAGE = """# Title

Intro text.

<!-- results:alpha -->
old table
<!-- /results:alpha -->

Between.

<!-- results:beta -->
<!-- /results:beta -->

Tail.
"""


def test_replace_block_swaps_only_its_body() -> None:
    new = doctables.replace_block(PAGE, "alpha", "| a |\n|---|\n| 1 |")
    assert "old table" not in new
    assert "<!-- results:alpha -->\n| a |\n|---|\n| 1 |\n<!-- /results:alpha -->" in new
    # everything outside the block is unchanged
    assert new.replace("| a |\n|---|\n| 1 |\n", "old table\n") == PAGE
    # an empty block gets a body; replacing twice is idempotent
    filled = doctables.replace_block(new, "beta", "B\n")
    assert "<!-- results:beta -->\nB\n<!-- /results:beta -->" in filled
    assert doctables.replace_block(filled, "beta", "B\n") == filled


def test_replace_block_handles_every_block_of_a_name() -> None:
    text = (
        "<!-- results:x -->\n1\n<!-- /results:x -->\nmid\n<!-- results:x -->\n<!-- /results:x -->\n"
    )
    assert doctables.replace_block(text, "x", "2") == (
        "<!-- results:x -->\n2\n<!-- /results:x -->\nmid\n<!-- results:x -->\n2\n<!-- /results:x -->\n"
    )


def test_find_blocks_names_and_lines() -> None:
    blocks = doctables.find_blocks(PAGE)
    assert [(b.name, b.open_line, b.close_line) for b in blocks] == [
        ("alpha", 5, 7),
        ("beta", 11, 12),
    ]


def test_a_block_that_is_absent_is_an_error() -> None:
    with pytest.raises(DataError, match="no results block 'gamma'"):
        doctables.replace_block(PAGE, "gamma", "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\n<!-- results:x -->\nbody\n", r"page:2: results block 'x' is never closed"),
        ("a\n<!-- /results:x -->\n", r"page:2: .* never opened"),
        (
            "<!-- results:x -->\n<!-- results:y -->\n<!-- /results:y -->\n<!-- /results:x -->\n",
            r"page:2: results block 'y' opens inside block 'x'",
        ),
        (
            "<!-- results:x -->\n<!-- /results:y -->\n",
            r"page:2: <!-- /results:y --> closes block 'x' \(opened on line 1\)",
        ),
    ],
)
def test_unbalanced_markers_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        doctables.find_blocks(text)
    with pytest.raises(DataError, match=message):
        doctables.replace_block(text, "x", "new")


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    """A docs/ page next to benchmarks/results/, as in the repository."""
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    page = tmp_path / "docs" / "app.md"
    page.parent.mkdir()
    page.write_text(PAGE, encoding="utf-8")
    return page, results


def test_update_page_reads_the_results_file(tmp_path: Path) -> None:
    page, results = _repo(tmp_path)
    (results / "alpha.md").write_text("# Alpha\n\n| a |\n", encoding="utf-8")
    assert doctables.update_page(page, "alpha")
    assert "<!-- results:alpha -->\n# Alpha\n\n| a |\n<!-- /results:alpha -->" in page.read_text()
    assert not doctables.update_page(page, "alpha")  # unchanged: not rewritten
    assert doctables.update_page(page, "beta", "given markdown")
    assert "given markdown\n<!-- /results:beta -->" in page.read_text()


def test_a_marker_with_no_results_file_is_an_error(tmp_path: Path) -> None:
    page, results = _repo(tmp_path)
    with pytest.raises(DataError, match=r"results block 'alpha' has no results file .*alpha\.md"):
        doctables.update_page(page, "alpha")
    (results / "alpha.md").write_text("x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'beta' has no results file"):
        doctables.stale_blocks(page)
    assert page.read_text() == PAGE  # a failed update leaves the page alone


def test_stale_blocks_and_the_command_line(tmp_path: Path, capsys) -> None:
    page, results = _repo(tmp_path)
    (results / "alpha.md").write_text("A\n", encoding="utf-8")
    (results / "beta.md").write_text("B\n", encoding="utf-8")
    assert doctables.stale_blocks(page) == ["alpha", "beta"]
    assert doctables.main(["--check", str(page)]) == 1
    assert doctables.main([str(page)]) == 0
    assert doctables.stale_blocks(page) == []
    assert doctables.main(["--check", str(page)]) == 0
    page.write_text("<!-- results:alpha -->\n", encoding="utf-8")
    assert doctables.main([str(page)]) == 2
    assert "never closed" in capsys.readouterr().err


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {"method": ["m", "m"], "instance": ["i", "j"], "group": ["g", "g"], "seed": [0, 0]}
        | {"cost": [1.0, 3.0]}
    )


def test_write_results_refreshes_the_pages_of_its_results_folder(tmp_path: Path) -> None:
    page, results = _repo(tmp_path)
    page.write_text(PAGE.replace("alpha", "toy"), encoding="utf-8")
    paths = write_results(_rows(), "toy", ["cost"], results, title="Toy", docs=[page])
    text = page.read_text()
    assert paths["md"].read_text() in text
    assert "old table" not in text
    assert "Tail.\n" in text
    (results / "beta.md").write_text("", encoding="utf-8")
    assert doctables.stale_blocks(page) == []


def test_write_results_leaves_other_pages_alone(tmp_path: Path) -> None:
    page, _ = _repo(tmp_path)
    page.write_text(PAGE.replace("alpha", "toy"), encoding="utf-8")
    before = page.read_text()
    elsewhere = tmp_path / "side_run"
    # another results folder (a test's or a side run's), a page without the block, a missing page
    write_results(_rows(), "toy", ["cost"], elsewhere, docs=[page, tmp_path / "missing.md"])
    assert page.read_text() == before
    write_results(
        _rows(), "other", ["cost"], page.parent / doctables.RESULTS_FROM_DOCS, docs=[page]
    )
    assert page.read_text() == before
