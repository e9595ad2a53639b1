"""Run folders: the JSON files every app writes beside its checkpoints.

A run folder (``--out``) holds ``config.json`` (what is needed to rebuild the trained model) and
``results.json`` (the command's summary), next to the trainer's ``checkpoint.pt`` / ``best.pt`` /
``metrics.csv``. Files are written atomically (a crash never leaves half a file) as strict JSON
(:func:`pgsuite.core.cli.strict_jsonable`: NaN and infinities become ``null``; dataclasses become
objects, paths strings, tuples lists). Reads accept any JSON object, including the ``NaN`` tokens
of files written before, and raise :class:`~pgsuite.core.errors.DataError` naming the file.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pgsuite.core.checkpoint import atomic_write
from pgsuite.core.cli import strict_jsonable
from pgsuite.core.errors import DataError

CONFIG_NAME = "config.json"
RESULTS_NAME = "results.json"


def _plain(value: Any) -> Any:
    """Dataclasses (recursively, also inside dicts and sequences) as dicts of their fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def jsonable(document: Any) -> Any:
    """``document`` as :func:`write_json` stores it and :func:`read_json` reads it back (dicts,
    lists, strings, numbers, None), e.g. to compare a configuration with a saved one."""
    return json.loads(json.dumps(strict_jsonable(_plain(document)), allow_nan=False))


def write_json(path: str | Path, document: Any) -> Path:
    """Write ``document`` to ``path`` atomically as strict, indented JSON; returns the path.

    Parent folders are created. ``document`` may hold dataclasses, NumPy / torch values, paths.
    """
    text = json.dumps(strict_jsonable(_plain(document)), indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def read_json(path: str | Path, what: str = "a run file") -> dict[str, Any]:
    """The JSON object in ``path``.

    Args:
        path: the file.
        what: what the file should be, for the error message (e.g. ``"a job-shop policy"``).

    Raises:
        DataError: the file is missing, unreadable, not JSON, or not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found: not {what}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: unreadable JSON ({error}); not {what}") from None
    if not isinstance(document, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


def save_config(folder: str | Path, config: Any) -> Path:
    """Write ``<folder>/config.json`` (a dataclass or a dict); returns its path."""
    return write_json(Path(folder) / CONFIG_NAME, config)


def load_config(folder: str | Path, what: str = "a run folder") -> dict[str, Any]:
    """``<folder>/config.json`` as a dict.

    Raises:
        DataError: ``folder`` has no readable ``config.json`` (the message says it is not
            ``what``).
    """
    folder = Path(folder)
    if not (folder / CONFIG_NAME).is_file():
        raise DataError(f"{folder} has no {CONFIG_NAME}: not {what}")
    return read_json(folder / CONFIG_NAME, what)


def save_results(folder: str | Path, results: Any) -> Path:
    """Write ``<folder>/results.json`` (a command's summary); returns its path."""
    return write_json(Path(folder) / RESULTS_NAME, results)


def load_results(folder: str | Path) -> dict[str, Any]:
    """``<folder>/results.json`` as a dict.

    Raises:
        DataError: missing or unreadable.
    """
    return read_json(Path(folder) / RESULTS_NAME, "a run's results")


def trained_model(
    path: str | Path, section: str, config_type: type, what: str = "a trained model"
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """What a trained model's run folder holds: ``config_type(**config.json[section])``, the
    saved parameters, and the whole ``config.json``.

    ``path`` is a run folder (``best.pt``, else ``checkpoint.pt``) or a ``.pt`` file with its
    ``config.json`` beside it.

    Raises:
        DataError: no ``config.json``, no valid ``section`` in it, or no weights file.
    """
    from pgsuite.core.checkpoint import load_checkpoint

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    raw = load_config(folder, what)
    try:
        model_config = config_type(**raw[section])
    except (KeyError, TypeError) as error:
        raise DataError(
            f"{folder}/{CONFIG_NAME}: no valid {section} settings ({error!r})"
        ) from None
    if path.is_dir():
        path = path / "best.pt" if (path / "best.pt").exists() else path / "checkpoint.pt"
    if not path.is_file():
        raise DataError(f"no model weights at {path}")
    return model_config, load_checkpoint(path)["model"], raw
