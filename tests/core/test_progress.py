"""Progress reports: a tqdm bar on a terminal; on anything else (a log, a pipe) plain lines, no
carriage return, at most one per 10% and per interval, nothing for a short loop; the trainer's and
the benchmark grid's bars follow the same rule."""

from __future__ import annotations

import io

import pytest
import torch
from tqdm.auto import tqdm

from pgsuite.core import progress as progress_module
from pgsuite.core.bench import run_grid
from pgsuite.core.progress import LogProgress, is_terminal, progress
from pgsuite.core.trainer import Trainer, TrainerConfig


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A fake ``time.monotonic`` that advances ``step`` seconds per call."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(step=1.0)
    monkeypatch.setattr(progress_module.time, "monotonic", fake)
    return fake


def test_a_terminal_gets_a_tqdm_bar() -> None:
    stream = Terminal()
    bar = progress(range(3), desc="work", file=stream)
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]
    assert "\r" in stream.getvalue()


def test_a_closed_or_plain_stream_is_not_a_terminal() -> None:
    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError
    assert not is_terminal(closed)
    assert not is_terminal(io.StringIO())
    assert not is_terminal(object())


def test_a_log_gets_at_most_one_line_per_tenth_without_carriage_returns(clock: Clock) -> None:
    stream = io.StringIO()
    report = progress(range(1000), desc="work", file=stream)
    assert isinstance(report, LogProgress)
    assert sum(1 for _ in report) == 1000
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert text.endswith("\n")
    assert 9 <= len(lines) <= 11, lines  # one per 10% (the clock passes 1 s per update)
    assert lines[0].startswith("work: 100/1000 (10%) ")
    assert lines[-1].startswith("work: 1000/1000 (100%) ")


def test_a_log_gets_at_most_one_line_per_interval(clock: Clock) -> None:
    stream = io.StringIO()
    clock.step = 0.1  # 100 updates per 10 s interval: 30 lines if only 10% marks counted
    report = progress(total=300, desc="fast", file=stream)
    for _ in range(300):
        report.update(1)
    report.set_postfix(loss="0.5")
    report.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[-1].startswith("fast: 300/300 (100%)")
    assert lines[-1].endswith("loss=0.5")


def test_unknown_total_writes_per_interval(clock: Clock) -> None:
    stream = io.StringIO()
    clock.step = 2.5
    list(progress(iter(range(20)), desc="stream", file=stream))
    lines = stream.getvalue().splitlines()
    assert 4 <= len(lines) <= 6, lines
    assert all(line.startswith("stream: ") and "%" not in line for line in lines)


def test_a_short_loop_or_a_disabled_report_writes_nothing() -> None:
    stream = io.StringIO()
    list(progress(range(50), desc="quick", file=stream))
    list(progress(range(50), desc="off", file=stream, disable=True))
    assert stream.getvalue() == ""


def test_trainer_and_grid_write_no_carriage_returns_to_a_log(
    clock: Clock, capsys: pytest.CaptureFixture
) -> None:
    model = torch.nn.Linear(1, 1)

    def step(_: int) -> dict[str, float]:
        return {"loss": 1.0}

    Trainer(TrainerConfig(max_steps=200, eval_every=1000), step, model).fit()
    run_grid({"m": lambda _, seed: {"x": seed}}, {"i": None}, list(range(40)))
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert any(line.startswith("train: ") for line in lines)
    assert any(line.startswith("benchmark: ") for line in lines)
    assert len(lines) <= 2 * 11, lines
