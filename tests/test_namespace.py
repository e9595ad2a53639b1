"""The installed layout: one import namespace (``pgsuite.core``, ``pgsuite.apps``), a public API
per app, and a wheel that works without the repository."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("core", "apps", "tests", "benchmarks", "pgsuite")
APIS = ("pgsuite.apps.inventory", "pgsuite.apps.jobshop", "pgsuite.apps.retrieval")


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_module_imports_the_bare_top_level_names():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for folder in SOURCE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.split(".")[0] in ("core", "apps")
    ]
    assert offenders == []


def test_core_never_imports_apps():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.startswith("pgsuite.apps")
    ]
    assert offenders == []


@pytest.mark.parametrize("package", APIS)
def test_every_public_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__, package
    for name in module.__all__:
        value = getattr(module, name)
        assert not isinstance(value, type(sys)), f"{package}.{name} is a module, not the API"
    assert sorted(dir(module)) == sorted(module.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_jobshop_short_name_is_the_scheduling_package():
    import pgsuite.apps.jobshop
    import pgsuite.apps.scheduling.jobshop

    assert pgsuite.apps.jobshop is pgsuite.apps.scheduling.jobshop


def test_jobshop_api_solves_a_classic_instance_to_its_rule_makespan():
    from pgsuite.apps.jobshop import load_instance, solve
    from pgsuite.apps.scheduling.jobshop.rules import dispatch_instance

    instance = load_instance("ft06")
    assert instance.best_known == 55
    solution = solve(instance, "spt")
    assert solution.makespan == int(dispatch_instance(instance, "spt").end[0].max())
    assert solution.gap_pct == pytest.approx(100 * (solution.makespan / 55 - 1))


def test_jobshop_api_reads_a_file(tmp_path):
    from pgsuite.apps.jobshop import load_instance

    path = tmp_path / "two.txt"
    path.write_text("2 2\n0 3 1 2\n1 4 0 1\n")
    instance = load_instance(path)
    assert (instance.num_jobs, instance.num_machines) == (2, 2)


def test_inventory_api_simulates_the_optimal_base_stock_cost():
    import torch

    from pgsuite.apps.inventory import BaseStockPolicy, make_setting, optimum, simulate

    setting = make_setting("one_store_backlog", lead_time=4)
    best = optimum(setting)
    policy = BaseStockPolicy(torch.tensor([best["optimal_level"]]))
    with torch.no_grad():
        costs = simulate(setting, policy, samples=4_096, periods=60)
    assert costs.shape == (4_096, 60)
    # after the initial state washes out, the closed-form optimum within sampling noise
    assert float(costs[:, 20:].mean()) == pytest.approx(best["optimal_cost"], rel=0.03)


def test_inventory_api_rejects_an_unknown_option():
    from pgsuite.apps.inventory import make_setting

    with pytest.raises(TypeError, match="lead_tim"):
        make_setting("one_store_lost", lead_tim=3)


def test_gym_ids_are_unchanged():
    import pgsuite.apps.inventory
    import pgsuite.apps.scheduling.jobshop  # noqa: F401

    assert {"pgsuite/Inventory-v0", "pgsuite/JobShop-v0"} <= set(gymnasium.registry)


def test_the_wheel_installs_as_one_namespace_and_runs_without_the_repository(tmp_path):
    """Build a normal (non-editable) wheel, install it into a folder and run it from elsewhere:
    the dependencies come from this environment, pgsuite only from the wheel."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("pgsuite-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"pgsuite"}
    assert (
        "pgsuite/apps/scheduling/jobshop/checkpoints/best.pt" in zipfile.ZipFile(wheel).namelist()
    )
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = (
        "import pgsuite, pgsuite.core.cli as cli\n"
        "from pgsuite.apps.jobshop import load_instance, solve\n"
        f"assert pgsuite.__file__.startswith({str(target)!r}), pgsuite.__file__\n"
        "print(solve(load_instance('ft06'), 'greedy').makespan)\n"
        "raise SystemExit(cli.main(['jobshop', 'solve', '--instance', 'ft06', '--method', 'spt']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0].isdigit()
    assert "spt" in done.stdout
