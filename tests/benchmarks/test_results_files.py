"""Every committed results file is checked against the current code: a couple of its cells are
re-derived (exact references, deterministic schedules, seeded fits), so a table the code no
longer produces fails CI instead of misleading a reader.

Cells that depend on wall time (HDPO within a time budget, speeds) cannot be re-derived; for them
the reference columns of the same rows are (DP optima, closed forms, bounds), together with the
arithmetic that ties a row's gap to its cost and reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
CRANFIELD = ROOT / "../shared/data/cranfield"


def _rows(path: Path, method: str | None = None) -> pd.DataFrame:
    rows = pd.read_csv(path)
    return rows if method is None else rows[rows["method"] == method]


def _lead_penalty(instance: str) -> tuple[int, float]:
    match = re.search(r"L=(\d+) p=([\d.]+)", instance)
    assert match, instance
    return int(match[1]), float(match[2])


def _check_gaps(rows: pd.DataFrame, reference: str) -> None:
    """``gap_pct`` is the cost's excess over the row's reference, in percent."""
    rows = rows.dropna(subset=[reference])
    assert len(rows) > 0
    gap = 100 * (rows["test_cost"] / rows[reference] - 1)
    assert gap.to_numpy() == pytest.approx(rows["gap_pct"].to_numpy(), abs=1e-6)


def _inventory_reference(path: Path, setting: str, column: str, instances: int = 2) -> None:
    from pgsuite.apps.inventory.exact import known_optimum
    from pgsuite.apps.inventory.settings import SettingConfig

    rows = _rows(path).dropna(subset=[column])
    _check_gaps(rows, column)
    checked = 0
    for instance, cells in rows.groupby("instance", sort=False):
        if setting == "transshipment":
            options = {"stores": int(instance.removeprefix("n="))}
        elif setting == "serial":
            options = {}
        else:
            if not instance.startswith(("L=", "lost L=")):
                continue
            lead, penalty = _lead_penalty(instance)
            options = {"lead_time": lead, "penalty": penalty}
        expected = known_optimum(SettingConfig(setting=setting, **options))[column]
        assert cells[column].to_numpy() == pytest.approx(expected, rel=1e-9), instance
        checked += 1
        if checked == instances:
            break
    assert checked > 0


def zipkin(path: Path) -> None:
    from pgsuite.apps.inventory import optimal

    _inventory_reference(path, "one_store_lost", "optimal_cost")
    row = _rows(path).iloc[0]
    lead, penalty = _lead_penalty(row["instance"])
    _, base_stock = optimal.best_base_stock_lost_sales(5.0, lead, 1.0, penalty)
    assert row["base_stock_cost"] == pytest.approx(base_stock, rel=1e-9)


def backlog(path: Path) -> None:
    _inventory_reference(path, "one_store_backlog", "optimal_cost")


def estimators(path: Path) -> None:
    _inventory_reference(path, "one_store_lost", "optimal_cost")


def serial(path: Path) -> None:
    _inventory_reference(path, "serial", "optimal_cost", instances=1)


def transshipment(path: Path) -> None:
    _inventory_reference(path, "transshipment", "lower_bound", instances=1)


def warehouse(path: Path) -> None:
    """No reference is known (lost sales, n stores): the rows are the suite's grid."""
    rows = _rows(path)
    assert set(rows["instance"].str.extract(r"train=(\d+)")[0].astype(int)) <= {16, 256, 8_192}
    assert rows["test_cost"].gt(0).all()


def jobshop(path: Path) -> None:
    """Deterministic rules and the shipped policy's greedy schedule give the recorded makespans."""
    from pgsuite.apps.scheduling.jobshop.instances import load_benchmark
    from pgsuite.apps.scheduling.jobshop.solver import Solver

    rows = _rows(path)
    solver = Solver(seed=int(rows["seed"].iloc[0]))
    instances = list(pd.unique(rows["instance"]))[:2]
    for method in ("spt", "mwkr", "greedy"):
        recorded = rows[rows["method"] == method].set_index("instance")["makespan"]
        for name in instances:
            if name in recorded:
                solution = solver.solve(load_benchmark(name), method)
                assert solution.makespan == recorded[name], (method, name)
    gaps = rows.dropna(subset=["gap_pct", "best_known"])
    expected = 100 * (gaps["makespan"] / gaps["best_known"] - 1)
    assert expected.to_numpy() == pytest.approx(gaps["gap_pct"].to_numpy(), abs=1e-9)


def newsvendor(path: Path) -> None:
    from pgsuite.core.newsvendor import fit_newsvendor, newsvendor_optimum

    rows = _rows(path)
    for _, row in rows.head(2).iterrows():
        holding, penalty = (float(x) for x in re.findall(r"[\d.]+", row["instance"]))
        learned = fit_newsvendor(10.0, 2.0, holding, penalty, seed=int(row["seed"]))
        best, _ = newsvendor_optimum(10.0, 2.0, holding, penalty)
        assert learned - best == pytest.approx(row["order_error"], abs=1e-5)


def cartpole(path: Path) -> None:
    """Learning cells take minutes (the slow test below re-runs one); here the grid's shape."""
    rows = _rows(path)
    assert set(rows["method"]) == {"pgsuite PPO", "SB3 PPO"}
    assert rows["greedy_return_mean"].between(0, 500).all()


def speed(path: Path) -> None:
    """Speeds are measurements of a machine, not re-derivable: positive figures only."""
    rows = _rows(path)
    numbers = rows.select_dtypes("number")
    assert len(rows) > 0
    assert numbers.gt(0).all().all()


def retrieval(path: Path) -> None:
    if not CRANFIELD.is_dir():
        pytest.skip(f"Cranfield is not at {CRANFIELD} (the shared data folder)")
    from pgsuite.apps.retrieval.data import load_collection
    from pgsuite.apps.retrieval.first_stage import BM25Retriever
    from pgsuite.apps.retrieval.metrics import evaluate

    rows = _rows(path, "BM25")
    if rows.empty:
        pytest.skip(f"{path.name} has no BM25 row")
    test = load_collection(CRANFIELD, "smart", "test")
    metrics = evaluate(BM25Retriever(test.corpus).search(test.queries, 100), test.qrels)
    row = rows.iloc[0]
    for name, value in metrics.items():
        assert row[name] == pytest.approx(value, abs=1e-9), name


def _needs_ds3() -> None:
    from pgsuite.apps.scheduling.soc.ds3 import ds3_folder
    from pgsuite.core.errors import DataError

    try:
        ds3_folder()
    except DataError as error:
        pytest.skip(str(error))


def soc_latency(path: Path) -> None:
    """Two heuristic cells and one cell of the shipped policy re-run to the recorded latency."""
    _needs_ds3()
    from pgsuite.apps.scheduling.soc.bench import SoCBenchConfig, latency_cell

    rows = _rows(path)
    config = SoCBenchConfig()
    for method, instance, seed in [("eft", "scale=100 noise=0.3", 1),
                                   ("heft", "scale=60 noise=0.5", 2),
                                   ("policy", "scale=2000 noise=0", 0)]:  # fmt: skip
        row = rows[(rows.method == method) & (rows.instance == instance) & (rows.seed == seed)]
        if row.empty:
            continue
        cell = latency_cell(config, method, (row.scale_us.iloc[0], row.noise_std.iloc[0]), seed)
        assert cell["mean_latency"] == pytest.approx(row.mean_latency.iloc[0]), (method, instance)


def soc_single(path: Path) -> None:
    """The heuristics' single-job latencies re-run exactly; gaps are to the CP-SAT column, which
    is never below its bound and, where proven, re-solved on the small jobs."""
    _needs_ds3()
    from pgsuite.apps.scheduling.soc.cpsat import optimal_schedule
    from pgsuite.apps.scheduling.soc.ds3 import load_job, load_soc
    from pgsuite.apps.scheduling.soc.platform import Platform
    from pgsuite.apps.scheduling.soc.schedulers import make_heuristic
    from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
    from pgsuite.apps.scheduling.soc.workload import JobInstance

    rows = _rows(path)
    platform = Platform(load_soc("MULTIPLE_BAL"))
    assert (rows["cpsat"] >= rows["cpsat_bound"] - 1e-9).all()
    for _, row in rows.iterrows():
        job = load_job(row["job"])
        mean = platform.execution_times(job)
        for method in ("etf", "heft"):
            result = SoCSimulator(platform, [JobInstance(0, job, 0.0, mean, mean)]).run(
                make_heuristic(method)
            )
            assert result.latency_us[0] == pytest.approx(row[method]), (row["job"], method)
            assert row[f"{method} gap %"] == pytest.approx(100 * (row[method] / row["cpsat"] - 1))
        if row["proven"] and row["tasks"] <= 10:
            assert optimal_schedule(platform, job).makespan == pytest.approx(row["cpsat"])


def imaging(path: Path) -> None:
    """Training cells take minutes, so the rows are checked for what ties them together: metrics
    are probabilities, the time is the two stages', the run's settings are recorded, and (with
    MedMNIST present) the pooled accuracy is the per-source accuracies weighted by the test
    split's images per source."""
    import json

    rows = _rows(path)
    for column in ("accuracy", "balanced_accuracy", "auc"):
        assert rows[column].between(0, 1).all(), column
    total = rows["pretrain_time_s"] + rows["finetune_time_s"]
    assert rows["train_time_s"].to_numpy() == pytest.approx(total.to_numpy())
    settings = [json.loads(c) for c in rows["config"]]
    assert all(c["suite"] == path.stem.removeprefix("imaging_") for c in settings)
    if path.stem != "imaging_pooled":
        return
    from pgsuite.apps.imaging.data import load_split, medmnist_folder
    from pgsuite.core.errors import DataError

    try:
        folder = medmnist_folder()
    except DataError as error:
        pytest.skip(str(error))
    sets = settings[0]["sets"]
    test = load_split(folder, "test", sets)
    counts = [(test.sources == s).sum() for s in range(len(sets))]
    pooled = sum(n * rows[f"accuracy/{name}"] for n, name in zip(counts, sets, strict=True))
    assert rows["accuracy"].to_numpy() == pytest.approx((pooled / sum(counts)).to_numpy())


def iot_streams(path: Path) -> None:
    """Two rule cells on generated streams re-run to the recorded figures (the trace cell too
    where ../shared/data/cloud is present)."""
    from pgsuite.apps.scheduling.iot.bench import IoTBenchConfig, stream_cell
    from pgsuite.apps.scheduling.iot.workloads import TRACE_FILE

    rows = _rows(path)
    config = IoTBenchConfig()
    cells = [("mct", "small/load=0.5", 1), ("min-min", "small/load=0.3", 0)]
    if TRACE_FILE.is_file():
        cells.append(("olb", "small/trace", 2))
    for method, instance, seed in cells:
        row = rows[(rows.method == method) & (rows.instance == instance) & (rows.seed == seed)]
        if row.empty:
            continue
        cell = stream_cell(config, method, instance, seed)
        for metric in ("mean_response_s", "energy_kwh", "sla_compliance"):
            assert cell[metric] == pytest.approx(row[metric].iloc[0]), (method, instance, metric)


def jobshop_blocking(path: Path) -> None:
    """A rule cell with and one without shutdowns and a cell of the shipped policy re-run to the
    recorded makespans; CP-SAT, started from the best rule's schedule, is never above any rule of
    its cell."""
    from pgsuite.apps.scheduling.jobshop.blocking_bench import (
        SHIPPED_BLOCKING_POLICY,
        BlockingBenchOptions,
        blocking_cell,
    )
    from pgsuite.apps.scheduling.jobshop.blocking_train import load_blocking_policy

    rows = _rows(path)
    probability = rows["instance"].str.rsplit("=", n=1).str[1].astype(float)
    picks = [rows[(rows.method == "spt") & (probability == 0)].iloc[:1],
             rows[(rows.method == "mwkr") & (probability > 0)].iloc[-1:],
             rows[(rows.method == "policy") & (probability > 0)].iloc[:1]]  # fmt: skip
    agent = load_blocking_policy(SHIPPED_BLOCKING_POLICY)
    for row in (p.iloc[0] for p in picks if not p.empty):
        name, level = row["instance"].rsplit("@p=", 1)
        cell = blocking_cell(BlockingBenchOptions(), row["method"], (name, float(level)),
                             int(row["seed"]), agent)  # fmt: skip
        assert cell["makespan"] == row["makespan"], (row["method"], row["instance"])
    exact = rows[(rows.method == "cpsat") & rows["makespan"].notna()].set_index(
        ["instance", "seed"]
    )
    rules = rows[rows.method.isin(["fifo", "spt", "lpt", "mor", "mwkr"])]
    best = rules.groupby(["instance", "seed"])["makespan"].min()
    assert (exact["makespan"] <= best.loc[exact.index]).all()


CHECKS: dict[str, Callable[[Path], None]] = {
    "core_cartpole": cartpole,
    "core_newsvendor": newsvendor,
    "imaging_pooled": imaging,
    "imaging_transfer": imaging,
    "inventory_backlog": backlog,
    "iot_streams": iot_streams,
    "inventory_estimators": estimators,
    "inventory_serial": serial,
    "inventory_speed": speed,
    "inventory_transshipment": transshipment,
    "inventory_warehouse": warehouse,
    "inventory_zipkin": zipkin,
    "jobshop_blocking": jobshop_blocking,
    "jobshop_blocking_exact": jobshop_blocking,
    "jobshop_classic": jobshop,
    "jobshop_speed": speed,
    "jobshop_taillard": jobshop,
    "retrieval_cranfield": retrieval,
    "retrieval_cranfield_matched": retrieval,
    "soc_latency": soc_latency,
    "soc_single": soc_single,
}
FILES = sorted(RESULTS.rglob("*.csv"))


def test_every_results_file_has_a_check():
    assert FILES
    assert sorted({p.stem for p in FILES} - set(CHECKS)) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_results_file_matches_the_current_code(path: Path):
    CHECKS[path.stem](path)


@pytest.mark.slow
def test_cartpole_cell_reproduces():
    from pgsuite.core.demo import CARTPOLE_PPO, ppo_cartpole

    row = _rows(RESULTS / "core_cartpole.csv", "pgsuite PPO").iloc[0]
    result = ppo_cartpole(int(row["seed"]), CARTPOLE_PPO.total_timesteps)
    assert result["greedy_return_mean"] == pytest.approx(row["greedy_return_mean"])
