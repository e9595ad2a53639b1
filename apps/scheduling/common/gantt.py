"""Gantt charts of schedules (matplotlib, written to PNG/SVG/PDF)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_gantt(
    start: np.ndarray,
    end: np.ndarray,
    resource: np.ndarray,
    group: np.ndarray,
    path: Path,
    title: str = "",
    resource_label: str = "machine",
    group_label: str = "job",
    blocked: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    resource_names: Sequence[str] | None = None,
    window: tuple[float, float] | None = None,
) -> Path:
    """Draw one bar per operation on its resource's row, coloured by group (e.g. the job).

    Args:
        start, end: ``[O]`` times of each operation.
        resource: int ``[O]`` row of each operation.
        group: int ``[O]`` colour group of each operation (labelled inside long bars).
        path: output file; the suffix picks the format.
        title: chart title.
        blocked: optional ``(resource [K], start [K], end [K])`` intervals when a resource is
            unavailable (e.g. machine breakdowns), drawn hatched grey.
        resource_names: row labels (default ``"<resource_label> <row>"``).
        window: the time range shown (default ``0`` to the last end).

    Returns:
        ``path``.
    """
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    resource, group = np.asarray(resource), np.asarray(group)
    rows = len(resource_names) if resource_names is not None else int(resource.max()) + 1
    figure = Figure(figsize=(12, max(2.5, 0.35 * rows + 1.2)))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    palette = colormaps["tab20"]
    left, right = window if window is not None else (0.0, max(float(end.max()), 1.0))
    span = right - left
    if blocked is not None:
        for r, s, e in zip(*blocked, strict=True):
            if s < right:
                ax.barh(r, min(e, right) - s, left=s, height=0.8, color="0.85", hatch="///", lw=0)
    for s, e, r, g in zip(start, end, resource, group, strict=True):
        ax.barh(r, e - s, left=s, height=0.8, color=palette(int(g) % 20), edgecolor="black", lw=0.3)
        if (e - s) > span / 40:
            ax.text((s + e) / 2, r, str(int(g)), ha="center", va="center", fontsize=6)
    labels = resource_names or [f"{resource_label} {r}" for r in range(rows)]
    ax.set_yticks(range(rows), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time")
    ax.set_xlim(left, right)
    ax.set_title(title or f"makespan {right:g} (labels: {group_label})")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=130)
    return path
