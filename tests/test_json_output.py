"""Every ``--json`` document is strict JSON (RFC 8259: no NaN or Infinity tokens).

Each command that offers ``--json`` is run end to end by its app's CLI tests, which parse the
output with :func:`pgsuite.core.cli.loads_strict`; this file checks that no such command is left
out of them, and runs the case that used to print ``"gap_pct": NaN``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgsuite.core import cli
from pgsuite.core.demo import demo_command

TESTS = Path(__file__).parent
STRICT_TESTS = {  # app -> the tests that run its commands with --json and parse them strictly
    "inventory": [TESTS / "apps/inventory/test_cli.py", TESTS / "test_sweeps.py"],
    "jobshop": [
        TESTS / "apps/scheduling/jobshop/test_cli.py",
        TESTS / "test_sweeps.py",
        TESTS / "apps/scheduling/jobshop/test_blocking_env.py",
    ],
    "retrieval": [TESTS / "apps/retrieval/test_cli.py"],
    "soc": [TESTS / "apps/scheduling/soc/test_cli.py"],
    "imaging": [TESTS / "apps/imaging/test_cli.py"],
    "iot": [TESTS / "apps/scheduling/iot/test_cli.py"],
}


def _runs(source: str, app: str, command: str) -> bool:
    """Whether a test source starts ``pgsuite <app> <command>`` (an argv list, or the retrieval
    tests' ``_argv("<command>", ...)`` helper; the sweep tests' ``[app, "sweep", ...]``)."""
    patterns = [
        rf'"{app}",\s*"{command}"',
        rf'_argv\(\s*"{command}"' if app == "retrieval" else None,
        rf'\[app,\s*"{command}"' if command in ("sweep", "train") else None,
    ]
    return any(p and re.search(p, source) for p in patterns)


@pytest.mark.parametrize(
    ("app", "command"),
    [(a.name, c.name) for a in cli.discover_apps() for c in a.commands if c.json_output],
)
def test_every_json_command_is_parsed_strictly_by_a_test(app: str, command: str) -> None:
    assert app in STRICT_TESTS, f"add the CLI tests of app {app!r} to STRICT_TESTS"
    sources = [path.read_text() for path in STRICT_TESTS[app]]
    assert all("loads_strict" in source for source in sources)
    assert any(_runs(source, app, command) for source in sources), (app, command)


def test_the_demo_json_is_parsed_strictly() -> None:
    assert demo_command().json_output
    source = (TESTS / "core/test_cli.py").read_text()
    assert re.search(r'"demo", "--quick", "--json"', source)
    assert "loads_strict(run.stdout)" in source


def test_a_gap_without_a_known_bound_is_null(tmp_path: Path, capsys) -> None:
    instance = tmp_path / "mine.txt"
    instance.write_text("2 3\n5 4 3\n1 2 6\n1 2 3\n3 1 2\n")  # Taillard format, no best known
    argv = ["jobshop", "solve", "--instance-file", str(instance), "--format", "taillard"]
    assert cli.main([*argv, "--method", "greedy", "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text
    summary = cli.loads_strict(text)["summary"]
    assert summary["gap_pct"] is None
    assert summary["makespan"] > 0


def test_loads_strict_refuses_non_finite_tokens() -> None:
    assert cli.loads_strict('{"a": null, "b": 1.5}') == {"a": None, "b": 1.5}
    for token in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not strict JSON"):
            cli.loads_strict(f'{{"a": {token}}}')
