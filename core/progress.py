"""Progress reporting that reads well both in a terminal and in a log.

On a terminal, :func:`progress` returns a tqdm bar, as ``tqdm.auto`` draws it. Anywhere else (a CI
log, ``| tee``, a file) a bar's carriage returns would pile up into one long line, so it writes plain
newline-terminated lines instead, e.g. ``train: 120/400 (30%) 00:12 loss=0.1234``: at most one per
10% of the total and per ``min_interval_s`` seconds (only the latter when the total is unknown),
and a last one when it closes if it wrote any before. A loop shorter than ``min_interval_s``
writes nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from tqdm.auto import tqdm

LOG_INTERVAL_S = 10.0
"""Smallest gap in seconds between two lines of a progress report written to a non-terminal."""


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an open terminal (what a carriage-return bar needs)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


class LogProgress:
    """The non-terminal progress report: the part of tqdm's interface the project uses
    (iteration, ``update``, ``set_postfix``, ``close``, ``with``), written as plain lines.

    Args:
        iterable: items to yield (optional: else call :meth:`update`).
        total: expected number of updates (default: ``len(iterable)`` when it has one).
        desc: label at the start of each line.
        initial: updates already done (a resumed run).
        disable: write nothing.
        file: where the lines go.
        min_interval_s: smallest gap in seconds between two lines.
    """

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        initial: int = 0,
        disable: bool = False,
        file: TextIO,
        min_interval_s: float = LOG_INTERVAL_S,
    ) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.n = iterable, total, desc, initial
        self.disable, self.file, self.min_interval_s = disable, file, min_interval_s
        self.postfix = ""
        self.lines = 0
        self._last_n = initial
        self._closed = False
        self._start = self._last_time = time.monotonic()
        self._last_tenth = self._tenth()

    def _tenth(self) -> int:
        return 10 * self.n // self.total if self.total else 0

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("this progress report has no iterable")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def update(self, n: int = 1) -> None:
        """Record ``n`` more updates; write a line when a 10% mark and the interval have passed."""
        self.n += n
        if self.disable:
            return
        now = time.monotonic()
        if now - self._last_time < self.min_interval_s:
            return
        if self.total and self._tenth() <= self._last_tenth:
            return
        self._write(now)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Figures to append to the following lines, e.g. ``loss=0.1234``."""
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = " ".join(f"{key}={value}" for key, value in items.items())

    def _write(self, now: float) -> None:
        count = (
            f"{self.n}/{self.total} ({100 * self.n // self.total}%)" if self.total else f"{self.n}"
        )
        parts = [
            f"{self.desc}:" if self.desc else "",
            count,
            tqdm.format_interval(now - self._start),
        ]
        line = " ".join(part for part in [*parts, self.postfix] if part)
        self.file.write(line + "\n")
        self.file.flush()
        self.lines += 1
        self._last_time, self._last_tenth, self._last_n = now, self._tenth(), self.n

    def close(self) -> None:
        """End the report: a last line if any was written before (and progress was made since)."""
        if self._closed:
            return
        self._closed = True
        if not self.disable and self.lines and self.n != self._last_n:
            self._write(time.monotonic())

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    initial: int = 0,
    disable: bool = False,
    leave: bool = True,
    file: TextIO | None = None,
) -> tqdm | LogProgress:
    """A progress report over ``iterable`` (or driven by ``update``) written to ``file``
    (default: standard error): a tqdm bar on a terminal, else a :class:`LogProgress`.

    ``leave`` (keep the finished bar on screen) applies to the terminal bar only.
    """
    stream = sys.stderr if file is None else file
    if is_terminal(stream):
        return tqdm(
            iterable,
            total=total,
            desc=desc,
            initial=initial,
            disable=disable,
            leave=leave,
            file=stream,
        )
    return LogProgress(
        iterable, total=total, desc=desc, initial=initial, disable=disable, file=stream
    )
