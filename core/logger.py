"""Metric logging: a long-format CSV of every metric, optional TensorBoard, and learning-curve plots.

The CSV has one row per value: ``step, split, metric, value`` (``split`` is e.g. ``train`` or ``dev``),
so new metrics can appear at any step and ``pandas.read_csv(...).pivot_table(...)`` gives a wide view.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

CSV_COLUMNS = ("step", "split", "metric", "value")


class MetricLogger:
    """Append metrics to ``<out_dir>/metrics.csv`` (and TensorBoard when asked).

    Args:
        out_dir: run folder; ``None`` keeps nothing on disk (metrics are still returned by
            :meth:`history`).
        tensorboard: also write TensorBoard event files to ``<out_dir>/tb``.
        resume_step: when resuming from a checkpoint taken after ``resume_step`` steps, rows logged
            at later steps (by the interrupted run, after its last checkpoint) are dropped so the
            log matches the resumed trajectory. Steps count completed steps (the first is 1).
    """

    def __init__(
        self, out_dir: str | Path | None, tensorboard: bool = False, resume_step: int | None = None
    ) -> None:
        self.path = Path(out_dir) / "metrics.csv" if out_dir is not None else None
        self._rows: list[tuple[int, str, str, float]] = []
        self._writer = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resume_step is not None and self.path.exists():
                kept = pd.read_csv(self.path)
                kept = kept[kept["step"] <= resume_step]
                kept.to_csv(self.path, index=False)
                self._rows = [tuple(row) for row in kept.itertuples(index=False)]
            elif self.path.exists():
                self.path.unlink()
            self._file = self.path.open("a", newline="")
            self._csv = csv.writer(self._file)
            if self._file.tell() == 0:
                self._csv.writerow(CSV_COLUMNS)
            if tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.path.parent / "tb"))

    def log(self, step: int, metrics: Mapping[str, float], split: str = "train") -> None:
        """Record ``metrics`` (name -> number) at ``step`` under ``split``."""
        for name, value in metrics.items():
            value = float(value)
            row = (int(step), split, name, value)
            self._rows.append(row)
            if self.path is not None:
                self._csv.writerow(row)
            if self._writer is not None and math.isfinite(value):
                self._writer.add_scalar(f"{split}/{name}", value, step)
        if self.path is not None:
            self._file.flush()

    def history(self) -> pd.DataFrame:
        """All rows logged so far (including those kept from a resumed run), long format."""
        return pd.DataFrame(self._rows, columns=list(CSV_COLUMNS))

    def close(self) -> None:
        if self.path is not None:
            self._file.close()
        if self._writer is not None:
            self._writer.close()


def plot_learning_curves(
    history: pd.DataFrame, path: str | Path, metrics: Sequence[str] | None = None
) -> Path:
    """Save one subplot per metric (x: step, one line per split) to ``path`` (PNG).

    Args:
        history: long-format rows as written by :class:`MetricLogger`.
        metrics: which metrics to draw; default all.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(metrics) if metrics is not None else sorted(history["metric"].unique())
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.4 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        rows = history[history["metric"] == name]
        for split, part in rows.groupby("split"):
            ax.plot(
                part["step"],
                part["value"],
                label=str(split),
                marker="." if len(part) < 50 else None,
            )
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
