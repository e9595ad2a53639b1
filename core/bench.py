"""Benchmark harness shared by every app: run a method x instance x seed grid, summarise, report.

A *method* is any callable ``method(instance, seed) -> {metric: value}``; the harness times each
call and collects one row per cell. :func:`write_results` turns the rows into a CSV, a Markdown
report and optionally a bar chart under ``benchmarks/results``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgsuite.core.cli import markdown_table
from pgsuite.core.distributed import BackendConfig, CellError, run_local, run_ray
from pgsuite.core.doctables import update_pages
from pgsuite.core.errors import ConfigError, PgsuiteError
from pgsuite.core.progress import progress as progress_report
from pgsuite.core.provenance import PROVENANCE_COLUMNS, provenance

_KEYS = ("method", "instance", "group", "seed")
_TIME = "time_s"


class BenchmarkError(PgsuiteError):
    """A benchmarked method raised; the message names the failing method, instance and seed."""

    exit_code = 1


def _require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(f"results have no column(s) {missing}; available: {list(df.columns)}")


def run_grid(
    methods: Mapping[str, Callable[[Any, int], Mapping[str, float]]],
    instances: Mapping[str, Any],
    seeds: Sequence[int],
    *,
    groups: Mapping[str, str] | None = None,
    progress: bool = True,
    after_each: Callable[[pd.DataFrame], None] | None = None,
    backend: BackendConfig | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """Run every method on every instance with every seed.

    Args:
        methods: name -> ``method(instance, seed)`` returning a mapping of metric name to a scalar
            (anything ``float()`` accepts, e.g. a 0-d tensor).
        instances: name -> instance object passed to the methods.
        seeds: seeds passed to the methods.
        groups: instance name -> group name (e.g. a size class); must cover every instance. When
            ``None`` (default) each instance is its own group.
        progress: show a progress bar over the grid (default ``True``).
        after_each: called with the rows finished so far (in grid order) after every cell, e.g.
            to save the finished cells of a long grid so that an interrupted run loses only the
            cells in progress.
        backend: where the cells run (default: one after another in this process); with
            ``backend="ray"`` each cell is a Ray task (:mod:`pgsuite.core.distributed`; methods
            and instances must then be picklable by cloudpickle), a failed cell is retried once.
        config: the command's effective configuration (a dataclass or mapping); when given,
            every row also records ``commit``, ``date`` and ``config``
            (:func:`pgsuite.core.provenance.provenance`, stamped when its cell finishes).

    Returns:
        One row per (method, instance, seed), in grid order, with columns
        ``method, instance, group, seed, <metrics...>, time_s`` (``time_s``: wall time of the
        call), then the provenance columns when ``config`` is given. A metric a method does
        not report is NaN in its rows.

    Raises:
        ConfigError: on an empty grid, an instance missing from ``groups``, or a method
            returning a reserved column name.
        BenchmarkError: when a method raises (on Ray: twice); chained from the original
            exception.
    """
    if not (methods and instances and seeds):
        raise ConfigError("run_grid needs at least one method, one instance and one seed")
    if groups is None:
        groups = {name: name for name in instances}
    missing = [name for name in instances if name not in groups]
    if missing:
        raise ConfigError(f"groups has no entry for instance(s) {missing}")
    backend = backend or BackendConfig()

    cells = list(itertools.product(methods, instances, seeds))
    if backend.backend == "ray":
        finished = run_ray(methods, instances, cells, backend)
    else:
        finished = run_local(methods, instances, cells)
    rows: dict[int, dict[str, Any]] = {}
    bar = progress_report(total=len(cells), desc="benchmark", disable=not progress)
    try:
        for index, metrics, elapsed in finished:
            method, instance, seed = cells[index]
            reserved = set(metrics) & {*_KEYS, _TIME, *PROVENANCE_COLUMNS}
            if reserved:
                raise ConfigError(f"method {method!r} returned reserved metric name(s) {reserved}")
            keys = dict(zip(_KEYS, (method, instance, groups[instance], seed), strict=True))
            stamp = provenance(config) if config is not None else {}
            rows[index] = {**keys, **metrics, _TIME: elapsed, **stamp}
            bar.update(1)
            if after_each is not None:
                after_each(_frame([rows[i] for i in sorted(rows)]))
    except CellError as error:
        method, instance, seed = error.cell
        raise BenchmarkError(
            f"method {method!r} failed on instance {instance!r} with seed {seed}: {error.detail}"
        ) from error.__cause__
    finally:
        bar.close()
    return _frame([rows[i] for i in sorted(rows)])


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Grid rows as a frame: keys, metrics, the wall time, then the provenance (if any)."""
    df = pd.DataFrame(rows)
    stamp = [c for c in PROVENANCE_COLUMNS if c in df.columns]
    metric_cols = [c for c in df.columns if c not in (*_KEYS, _TIME, *stamp)]
    return df[[*_KEYS, *metric_cols, _TIME, *stamp]]


def summarize(
    df: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = ("method",)
) -> pd.DataFrame:
    """Mean and standard deviation of each metric per group of rows.

    Args:
        df: rows as returned by :func:`run_grid` (any frame holding ``metrics`` and ``by``).
        metrics: metric columns to summarise.
        by: columns to group by (default ``("method",)``); groups keep first-appearance order.

    Returns:
        One row per group: the ``by`` columns, then ``<m>_mean`` and ``<m>_std`` for each metric
        (sample std, ``ddof=1``, so NaN for a group of one row; NaN metric values are skipped),
        then ``n``, the number of rows in the group.

    Raises:
        ConfigError: when a metric or ``by`` column is missing.
    """
    _require_columns(df, [*by, *metrics])
    grouped = df.groupby(list(by), sort=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out["n"] = grouped.size()
    return out.reset_index()


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """Format ``mean ± std`` with ``digits`` decimals (default 3); just the mean if std is NaN;
    a dash if the mean is NaN (a metric the method does not have)."""
    if math.isnan(mean):
        return "–"
    if math.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _cells(summary: pd.DataFrame, metric: str) -> pd.Series:
    return pd.Series(
        [
            format_mean_std(m, s)
            for m, s in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"], strict=True)
        ],
        index=summary.index,
    )


def _markdown(df: pd.DataFrame, metrics: Sequence[str], title: str, group_col: str) -> str:
    overall = summarize(df, metrics)
    table = overall[["method"]].assign(**{m: _cells(overall, m) for m in metrics})
    table["n"] = overall["n"]
    parts = [f"# {title}", "## Overall (mean ± std over instances and seeds)"]
    parts.append(markdown_table(table, disable_numparse=True))

    group_order = list(pd.unique(df[group_col]))
    if len(group_order) > 1:
        per_group = summarize(df, metrics, by=("method", group_col))
        for metric in metrics:
            pivot = (
                per_group.assign(cell=_cells(per_group, metric))
                .pivot(index="method", columns=group_col, values="cell")
                .reindex(index=list(pd.unique(df["method"])), columns=group_order)
                .reset_index()
            )
            pivot.columns = ["method", *map(str, group_order)]
            parts.append(f"## Per {group_col}: {metric} (mean ± std over instances and seeds)")
            parts.append(markdown_table(pivot, disable_numparse=True))
    return "\n\n".join(parts) + "\n"


def _plot(df: pd.DataFrame, metrics: Sequence[str], title: str, path: Path) -> None:
    summary = summarize(df, metrics)
    fig = Figure(figsize=(4.0 * len(metrics), 3.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        errors = np.nan_to_num(summary[f"{metric}_std"].to_numpy())
        ax.bar(summary["method"], summary[f"{metric}_mean"], yerr=errors, capsize=4)
        ax.set_title(metric)
        ax.tick_params(axis="x", labelrotation=30)
    fig.suptitle(title)
    fig.savefig(path, dpi=120)


def merge_rows(
    new: pd.DataFrame, path: str | Path, keys: Sequence[str] = ("instance", "method", "seed")
) -> pd.DataFrame:
    """``new`` rows plus the rows of the CSV at ``path`` (if any) whose ``keys`` ``new`` lacks.

    Lets a long benchmark run in pieces (a few instances or methods per command) while its result
    files always hold every cell measured so far; a re-measured cell replaces the old one.
    """
    path = Path(path)
    if not path.is_file():
        return new
    old = pd.read_csv(path)
    missing = [key for key in keys if key not in old.columns]
    if missing:
        raise ConfigError(f"{path} lacks the column(s) {missing}; move it away to start afresh")
    ran = set(new[list(keys)].itertuples(index=False, name=None))
    keep = [row not in ran for row in old[list(keys)].itertuples(index=False, name=None)]
    return pd.concat([old[keep], new], ignore_index=True)


def write_results(
    df: pd.DataFrame,
    name: str,
    metrics: Sequence[str],
    results_dir: str | Path = "benchmarks/results",
    group_col: str = "group",
    plot: bool = False,
    title: str | None = None,
    docs: Sequence[str | Path] = (),
) -> dict[str, Path]:
    """Write a benchmark's rows and report files, and refresh the doc pages that show them.

    Files, in ``results_dir`` (created if needed):
        ``<name>.csv``: every row of ``df``.
        ``<name>.md``: a title, an overall table by method with ``mean ± std`` of each metric and
        ``n`` rows, and, when ``df[group_col]`` holds more than one group, one method x group
        table per metric.
        ``<name>.png`` (only with ``plot=True``): one bar chart per metric of its mean by method,
        with std error bars.

    Args:
        df: rows as returned by :func:`run_grid`.
        name: file stem.
        metrics: metric columns to report.
        results_dir: output folder (default ``"benchmarks/results"``).
        group_col: column defining the per-group tables (default ``"group"``).
        plot: also write the bar chart (default ``False``).
        title: Markdown/plot title; defaults to ``name``.
        docs: doc pages (e.g. ``["docs/inventory.md"]``) whose ``<!-- results:<name> -->``
            blocks get the new ``<name>.md`` (:func:`pgsuite.core.doctables.update_pages`: only
            pages that exist, show this ``results_dir`` and hold such a block are rewritten).

    Returns:
        Written paths keyed by kind: ``"csv"``, ``"md"`` and, with ``plot``, ``"png"``.

    Raises:
        ConfigError: when ``metrics`` is empty or a needed column is missing.
    """
    if not metrics:
        raise ConfigError("write_results needs at least one metric")
    _require_columns(df, ["method", group_col, *metrics])
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = title or name
    paths = {"csv": out_dir / f"{name}.csv", "md": out_dir / f"{name}.md"}
    df.to_csv(paths["csv"], index=False)
    paths["md"].write_text(_markdown(df, metrics, title, group_col), encoding="utf-8")
    update_pages(docs, name, out_dir)
    if plot:
        paths["png"] = out_dir / f"{name}.png"
        _plot(df, metrics, title, paths["png"])
    return paths


def run_bench(
    methods: Mapping[str, Callable[[Any, int], Mapping[str, float]]],
    instances: Mapping[str, Any],
    seeds: Sequence[int],
    *,
    name: str,
    metrics: Sequence[str],
    results_dir: str | Path = "benchmarks/results",
    title: str | None = None,
    docs: Sequence[str | Path] = (),
    groups: Mapping[str, str] | None = None,
    keys: Sequence[str] = ("instance", "method", "seed"),
    order: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    backend: BackendConfig | None = None,
    config: Any = None,
    progress: bool = True,
    plot: bool = False,
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """A benchmark table from start to end, the way every app's bench writes it:
    :func:`run_grid`, each finished cell saved at once into ``<results_dir>/<name>.csv`` next to
    the cells measured before (:func:`merge_rows` on ``keys``; an interrupted run keeps every
    finished cell), then :func:`write_results` (CSV, Markdown, optional plot, doc blocks).

    Args:
        methods, instances, seeds, groups, backend, config, progress: as :func:`run_grid`.
        name, metrics, results_dir, title, docs, plot: as :func:`write_results`.
        keys: the columns that identify a cell across runs (a re-measured cell replaces the old).
        order: optional ``rows -> rows`` giving the report order of the merged rows.

    Returns:
        (every row of the table, new and kept; the written paths as :func:`write_results`).
    """
    csv_path = Path(results_dir) / f"{name}.csv"

    def with_saved(new: pd.DataFrame) -> pd.DataFrame:
        rows = merge_rows(new, csv_path, keys)
        return order(rows) if order is not None else rows

    def save_finished(new: pd.DataFrame) -> None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with_saved(new).to_csv(csv_path, index=False)

    new = run_grid(
        methods,
        instances,
        seeds,
        groups=groups,
        progress=progress,
        after_each=save_finished,
        backend=backend,
        config=config,
    )
    rows = with_saved(new)
    paths = write_results(rows, name, metrics, results_dir, title=title, docs=docs, plot=plot)
    return rows, paths


def write_table(
    table: pd.DataFrame,
    name: str,
    title: str,
    results_dir: str | Path = "benchmarks/results",
    *,
    note: str = "",
    docs: Sequence[str | Path] = (),
    csv: bool = False,
    floatfmt: str = ".4g",
) -> Path:
    """Write a finished table (a wide summary, a speed table) as ``<results_dir>/<name>.md``
    (title, ``note`` paragraph, the table; missing cells as "–"), also as ``<name>.csv`` with
    ``csv=True``, and refresh the ``<!-- results:<name> -->`` blocks of ``docs``. Returns the
    Markdown path."""
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if csv:
        table.to_csv(out_dir / f"{name}.csv", index=False)
    path = out_dir / f"{name}.md"
    body = markdown_table(table, floatfmt=floatfmt)
    path.write_text(f"# {title}\n\n" + (f"{note}\n\n" if note else "") + body + "\n")
    update_pages(docs, name, out_dir)
    return path
