"""CLI: options from dataclass docstrings, one-line errors with exit 2, app plug-ins, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest

from pgsuite.core import cli
from pgsuite.core.cli import App, Command, CommandOutput, field_docs
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.trainer import TrainerConfig


@dataclass
class ToyTrainConfig:
    """Options of the toy app's train command."""

    instance: Path = Path("instance.txt")
    """Instance file to read."""
    policy: Literal["mlp", "gnn"] = "mlp"
    """Policy architecture."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths."""
    lr: float | None = None
    """Learning rate (none: the policy's default)."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """Loop options, flattened into this command's options."""

    def __post_init__(self) -> None:
        if self.lr is not None and self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")


def _toy_run(config: ToyTrainConfig) -> CommandOutput:
    if not config.instance.exists():
        raise DataError(f"instance file not found: {config.instance}")
    table = pd.DataFrame([{"policy": config.policy, "hidden": str(config.hidden), "lr": config.lr}])
    return CommandOutput(tables=[("toy", table)], summary={"max_steps": config.trainer.max_steps})


TOY = App(
    "toy",
    "a toy app for testing the plug-in mechanism",
    commands=[Command("train", "train the toy policy", ToyTrainConfig, _toy_run, json_output=True)],
)


@pytest.fixture
def toy_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "discover_apps", lambda: [TOY])


def test_field_docs_reads_docstrings_under_fields() -> None:
    docs = field_docs(ToyTrainConfig)
    assert docs["policy"] == "Policy architecture."
    assert docs["trainer"].startswith("Loop options")


def test_app_command_parses_every_kind_of_option(toy_app, tmp_path, capsys) -> None:
    instance = tmp_path / "i.txt"
    instance.write_text("x")
    argv = ["toy", "train", "--instance", str(instance), "--policy", "gnn", "--hidden", "8", "4"]
    argv += ["--lr", "0.01", "--max-steps", "7", "--no-progress", "--patience", "none", "--json"]
    assert cli.main(argv) == 0
    document = cli.loads_strict(capsys.readouterr().out)
    assert document["summary"] == {"max_steps": 7}
    assert document["tables"]["toy"] == [{"policy": "gnn", "hidden": "(8, 4)", "lr": 0.01}]


def test_help_describes_every_option(toy_app, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["toy", "train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, doc in {**field_docs(ToyTrainConfig), **field_docs(TrainerConfig)}.items():
        if name == "trainer":
            continue
        assert "--" + name.replace("_", "-") in text
        assert doc in text, name
    assert "(default: mlp)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["toy", "train", "--policy", "cnn"], "invalid choice: 'cnn'"),
        (["toy", "train", "--max-steps", "ten"], "invalid int value: 'ten'"),
        (["toy", "train", "--bogus"], "unrecognized arguments: --bogus"),
        (["nosuchapp"], "invalid choice: 'nosuchapp'"),
        (["toy", "train", "--threads", "0"], "--threads must be >= 1"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(toy_app, capsys, argv, message) -> None:
    if "--threads" in argv:
        argv = ["--threads", "0", *argv[:2]]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["toy", "train", "--lr", "-1"], "lr must be positive"),
        (["toy", "train", "--instance", "/no/such/file"], "instance file not found"),
        (["toy", "train", "--max-steps", "0"], "max_steps must be >= 1"),
    ],
)
def test_bad_settings_and_files_give_one_line_and_exit_2(toy_app, capsys, argv, message) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"pgsuite: error: {message}" + err.split(message, 1)[1].strip()
    ]
    assert "Traceback" not in err


def test_debug_shows_the_traceback(toy_app) -> None:
    with pytest.raises(ConfigError, match="lr must be positive"):
        cli.main(["--debug", "toy", "train", "--lr", "-1"])


def test_demo_help_describes_every_option(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in fields(DemoConfig):
        assert "--" + f.name in text
        assert field_docs(DemoConfig)[f.name] in text


def test_unknown_demo_part_is_a_config_error(capsys) -> None:
    assert cli.main(["demo", "--only", "nosuch"]) == 2
    assert "unknown demo part" in capsys.readouterr().err


def test_top_level_help_lists_demo_and_apps() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pgsuite.core.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "demo" in out
    assert "--debug" in out
    assert "--threads" in out


def test_quick_demo_end_to_end_json() -> None:
    """Smoke test of `pgsuite demo` with tiny budgets (the real figures come from `make run`)."""
    run = subprocess.run(
        [sys.executable, "-m", "pgsuite.core.cli", "demo", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    document = cli.loads_strict(run.stdout)
    titles = list(document["tables"])
    assert any("CartPole" in t for t in titles)
    assert any("newsvendor" in t for t in titles)
    newsvendor = next(v for k, v in document["tables"].items() if "newsvendor" in k)
    assert {"q_learned", "q_optimal", "gap_%"} <= set(newsvendor[0])


def test_every_installed_command_formats_its_help(capsys) -> None:
    """argparse %-formats help texts, so a docstring with a literal "%" once crashed --help."""
    apps = cli.discover_apps()
    assert apps, "no app registered under the pgsuite.apps entry points"
    for app in apps:
        for command in app.commands:
            with pytest.raises(SystemExit) as exit_info:
                cli.main([app.name, command.name, "--help"])
            assert exit_info.value.code == 0, (app.name, command.name)
    assert "(by 0.01%)" in " ".join(capsys.readouterr().out.split())


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_config_file_gives_defaults_that_the_command_line_overrides(toy_app, tmp_path, capsys):
    instance = _write(tmp_path / "i.txt", "x")
    yaml_file = _write(
        tmp_path / "c.yaml",
        f"instance: {instance}\npolicy: gnn\nhidden: [8, 4]\nlr: 0.5\nmax-steps: 9\n"
        "progress: false\npatience: null\n",
    )
    assert cli.main(["toy", "train", "--config", str(yaml_file), "--lr", "0.25", "--json"]) == 0
    document = cli.loads_strict(capsys.readouterr().out)
    assert document["summary"] == {"max_steps": 9}
    assert document["tables"]["toy"] == [{"policy": "gnn", "hidden": "(8, 4)", "lr": 0.25}]
    # a nested JSON object (a run's config.json) is flattened; flat config round-trips
    nested = {"instance": str(instance), "trainer": {"max_steps": 3}}
    json_file = _write(tmp_path / "c.json", json.dumps(nested))
    assert cli.main(["toy", "train", "--config", str(json_file), "--json"]) == 0
    assert cli.loads_strict(capsys.readouterr().out)["summary"] == {"max_steps": 3}
    flat = cli.flat_config(ToyTrainConfig(hidden=(3,), trainer=TrainerConfig(max_steps=5)))
    assert flat["hidden"] == (3,)
    assert flat["max_steps"] == 5
    assert "trainer" not in flat


def test_config_file_may_give_a_required_option(tmp_path, monkeypatch, capsys) -> None:
    @dataclass
    class Required:
        size: int
        """Required size."""

    app = App(
        "req",
        "",
        [Command("run", "", Required, lambda c: CommandOutput(summary={"size": c.size}), True)],
    )
    monkeypatch.setattr(cli, "discover_apps", lambda: [app])
    config = _write(tmp_path / "c.json", '{"size": 4}')
    assert cli.main(["req", "run", "--config", str(config), "--json"]) == 0
    assert cli.loads_strict(capsys.readouterr().out)["summary"] == {"size": 4}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: 1\n", "this command has no option --bogus"),
        ("max_steps: ten\n", "--max-steps: invalid literal for int()"),
        ("max_steps: true\n", "--max-steps: expected INT, got True"),
        ("policy: cnn\n", "--policy: 'cnn' is not one of ['mlp', 'gnn']"),
        ("hidden: 8\n", "--hidden: expected a list, got 8"),
        ("max_steps: 0\n", "max_steps must be >= 1"),
        ("- 1\n- 2\n", "expected a mapping of option names to values"),
        ("max_steps: [1\n", "config file"),
        ("max_steps: 1\ntrainer: {max_steps: 2}\n", "option 'max_steps' given twice"),
    ],
)
def test_bad_config_files_give_one_line_and_exit_2(toy_app, tmp_path, capsys, text, message):
    config = _write(tmp_path / "c.yaml", text)
    assert cli.main(["toy", "train", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]


def test_missing_config_file_is_a_one_line_error(toy_app, tmp_path, capsys) -> None:
    assert cli.main(["toy", "train", "--config", str(tmp_path / "none.json")]) == 2
    assert "No such file" in capsys.readouterr().err
