"""Metric logging: long-format CSV, resume truncation, learning-curve plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pgsuite.core.logger import MetricLogger, plot_learning_curves


def test_csv_rows_and_resume_truncation(tmp_path: Path) -> None:
    logger = MetricLogger(tmp_path)
    for step in range(1, 6):
        logger.log(step, {"loss": 1.0 / step, "lr": 0.1})
    logger.log(5, {"loss": 0.5}, split="dev")
    logger.close()
    rows = pd.read_csv(tmp_path / "metrics.csv")
    assert len(rows) == 11
    assert rows.query("split == 'train' and metric == 'loss'")["value"].tolist() == [
        1.0 / s for s in range(1, 6)
    ]

    resumed = MetricLogger(tmp_path, resume_step=3)  # steps 4-5 were logged after the checkpoint
    resumed.log(4, {"loss": 0.3})
    resumed.close()
    rows = pd.read_csv(tmp_path / "metrics.csv")
    assert rows["step"].tolist() == [1, 1, 2, 2, 3, 3, 4]
    assert resumed.history()["step"].tolist() == [1, 1, 2, 2, 3, 3, 4]


def test_fresh_run_replaces_old_log(tmp_path: Path) -> None:
    MetricLogger(tmp_path).log(1, {"loss": 1.0})
    logger = MetricLogger(tmp_path)
    logger.log(1, {"loss": 2.0})
    logger.close()
    assert pd.read_csv(tmp_path / "metrics.csv")["value"].tolist() == [2.0]


def test_learning_curve_plot(tmp_path: Path) -> None:
    logger = MetricLogger(None)
    for step in range(1, 20):
        logger.log(step, {"loss": 1.0 / step})
        if step % 5 == 0:
            logger.log(step, {"loss": 1.2 / step}, split="dev")
    path = plot_learning_curves(logger.history(), tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
