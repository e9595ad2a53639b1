"""Results blocks in Markdown pages: a page shows a results file's current content between markers.

A page marks a block with two HTML comments, each on a line of its own::

    <!-- results:NAME -->
    ... the content of <results_dir>/NAME.md, rewritten by the bench command ...
    <!-- /results:NAME -->

:func:`replace_block` swaps a block's body for new Markdown and leaves the rest of the page as it
is; :func:`update_page` does it for every block of one name in a page file, from the results file
or a given string; :func:`stale_blocks` lists the blocks of a page whose body differs from its
results file (a test runs it so that a stale page fails CI). The module knows nothing about the
apps: which page shows which results is written in the page.

Run as ``python -m pgsuite.core.doctables [--check] [--results-dir DIR] PAGE...`` to refresh
(or, with ``--check``, only verify) every block of the pages from the results folder.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pgsuite.core.errors import DataError

#: Where a page's results files live, relative to the page's folder (``docs/`` next to
#: ``benchmarks/``): a bench writing elsewhere (a test's temporary folder, a side run with its own
#: ``--results-dir``) leaves the page alone, see :func:`update_pages`.
RESULTS_FROM_DOCS = Path("..") / "benchmarks" / "results"

_MARKER = re.compile(r"^[ \t]*<!--[ \t]*(/?)results:([^\s>]+)[ \t]*-->[ \t]*$")


@dataclass(frozen=True)
class Block:
    """One marked block: ``name``, the 1-based lines of its markers, and the character span of
    its body (everything between the end of the opening marker's line and the closing marker)."""

    name: str
    open_line: int
    close_line: int
    body_start: int
    body_end: int


def find_blocks(text: str, source: str = "page") -> list[Block]:
    """Every results block of ``text``, in page order.

    Raises:
        DataError: for a closing marker without its opening one, an opening marker never closed,
            or a block opened inside another (``source`` names the page in the message).
    """
    blocks: list[Block] = []
    current: tuple[str, int, int] | None = None  # name, line, body start
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        match = _MARKER.match(line.rstrip("\r\n"))
        if match:
            closing, name = match.group(1) == "/", match.group(2)
            if not closing:
                if current is not None:
                    raise DataError(
                        f"{source}:{number}: results block {name!r} opens inside block "
                        f"{current[0]!r} (opened on line {current[1]}); close it first with "
                        f"<!-- /results:{current[0]} -->"
                    )
                current = (name, number, offset + len(line))
            elif current is None:
                raise DataError(
                    f"{source}:{number}: <!-- /results:{name} --> closes a block that was never "
                    f"opened (add <!-- results:{name} --> above it)"
                )
            elif current[0] != name:
                raise DataError(
                    f"{source}:{number}: <!-- /results:{name} --> closes block {current[0]!r} "
                    f"(opened on line {current[1]}); expected <!-- /results:{current[0]} -->"
                )
            else:
                blocks.append(Block(name, current[1], number, current[2], offset))
                current = None
        offset += len(line)
    if current is not None:
        raise DataError(
            f"{source}:{current[1]}: results block {current[0]!r} is never closed (add "
            f"<!-- /results:{current[0]} --> on a line of its own after its table)"
        )
    return blocks


def _as_body(markdown: str) -> str:
    return markdown if not markdown or markdown.endswith("\n") else markdown + "\n"


def replace_block(text: str, name: str, markdown: str, source: str = "page") -> str:
    """``text`` with the body of every block named ``name`` replaced by ``markdown`` (a final
    newline is added when missing); the markers and everything outside them are kept.

    Raises:
        DataError: unbalanced markers (see :func:`find_blocks`), or no block named ``name``.
    """
    blocks = [b for b in find_blocks(text, source) if b.name == name]
    if not blocks:
        raise DataError(f"{source} has no results block {name!r} (<!-- results:{name} -->)")
    body = _as_body(markdown)
    for block in reversed(blocks):
        text = text[: block.body_start] + body + text[block.body_end :]
    return text


def block_bodies(text: str, source: str = "page") -> dict[str, list[str]]:
    """The bodies of ``text``'s blocks by name (a name may appear more than once)."""
    bodies: dict[str, list[str]] = {}
    for block in find_blocks(text, source):
        bodies.setdefault(block.name, []).append(text[block.body_start : block.body_end])
    return bodies


def results_markdown(name: str, results_dir: str | Path) -> str:
    """The content of ``<results_dir>/<name>.md``.

    Raises:
        DataError: when the file does not exist.
    """
    path = Path(results_dir) / f"{name}.md"
    if not path.is_file():
        raise DataError(
            f"results block {name!r} has no results file {path} (run the bench command that "
            "writes it, or remove the block)"
        )
    return path.read_text(encoding="utf-8")


def results_dir_of(page: str | Path) -> Path:
    """The results folder a page's blocks show: :data:`RESULTS_FROM_DOCS` from the page's folder."""
    return Path(page).parent / RESULTS_FROM_DOCS


def update_page(
    page: str | Path,
    name: str,
    markdown: str | None = None,
    results_dir: str | Path | None = None,
) -> bool:
    """Rewrite the blocks named ``name`` in ``page`` with ``markdown``, by default the content of
    ``<results_dir>/<name>.md`` (``results_dir`` defaults to :func:`results_dir_of` the page).

    Returns:
        Whether the page changed (it is only written then).

    Raises:
        DataError: the page is missing, its markers are unbalanced, it has no such block, or the
            results file is missing.
    """
    page = Path(page)
    if not page.is_file():
        raise DataError(f"doc page {page} does not exist")
    if markdown is None:
        markdown = results_markdown(
            name, results_dir_of(page) if results_dir is None else results_dir
        )
    text = page.read_text(encoding="utf-8")
    new = replace_block(text, name, markdown, str(page))
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


def update_pages(pages: Sequence[str | Path], name: str, results_dir: str | Path) -> list[Path]:
    """After a bench wrote ``<results_dir>/<name>.md``: refresh the blocks named ``name`` in those
    of ``pages`` that show this results folder (:func:`results_dir_of`) and have such a block.

    Pages that do not exist (an installed package run outside the repository), pages of another
    results folder (a test's temporary folder, a side run's ``--results-dir``) and pages without
    the block are skipped, so a bench never fails on its documentation.

    Returns:
        The pages rewritten.

    Raises:
        DataError: a page of this folder has unbalanced markers.
    """
    target = Path(results_dir).resolve()
    changed = []
    for page in map(Path, pages):
        if not page.is_file() or results_dir_of(page).resolve() != target:
            continue
        text = page.read_text(encoding="utf-8")
        if name in block_bodies(text, str(page)) and update_page(page, name, None, target):
            changed.append(page)
    return changed


def stale_blocks(page: str | Path, results_dir: str | Path | None = None) -> list[str]:
    """Names of ``page``'s blocks whose body is not the current content of their results file.

    Raises:
        DataError: unbalanced markers, or a block without a results file.
    """
    page = Path(page)
    folder = results_dir_of(page) if results_dir is None else Path(results_dir)
    stale = []
    for name, bodies in block_bodies(page.read_text(encoding="utf-8"), str(page)).items():
        expected = _as_body(results_markdown(name, folder))
        if any(body != expected for body in bodies):
            stale.append(name)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pgsuite.core.doctables",
        description="Refresh (or check) the results blocks of Markdown pages.",
    )
    parser.add_argument("pages", nargs="+", type=Path, help="Markdown pages, e.g. docs/*.md")
    parser.add_argument("--check", action="store_true", help="only report stale blocks")
    parser.add_argument(
        "--results-dir", type=Path, default=None, help="default: ../benchmarks/results from a page"
    )
    args = parser.parse_args(argv)
    status = 0
    try:
        for page in args.pages:
            names = list(block_bodies(page.read_text(encoding="utf-8"), str(page)))
            if args.check:
                for name in stale_blocks(page, args.results_dir):
                    print(f"{page}: results block {name!r} is stale")
                    status = 1
            elif any([update_page(page, n, None, args.results_dir) for n in names]):
                print(f"updated {page}")
    except (DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
