"""The ``pgsuite`` command line.

Commands are generated from dataclass configs: every field becomes an option whose help text is the
docstring under the field, with its default. Nested dataclass fields (e.g. a ``TrainerConfig`` inside
an app's train config) are flattened into the same option list. Apps plug in through the
``pgsuite.apps`` entry-point group: each entry point names an :class:`App`, whose commands appear as
``pgsuite <app> <command>`` and whose ``demo`` contributes tables to ``pgsuite demo``.

Errors a user can cause (bad options, unreadable files, invalid settings) print one line and exit
with status 2; ``--debug`` (anywhere on the command line) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import json
import logging
import math
import sys
import textwrap
import types
import typing
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from pgsuite.core import __version__
from pgsuite.core.errors import PgsuiteError

log = logging.getLogger("pgsuite")

ENTRY_POINT_GROUP = "pgsuite.apps"


@dataclass
class CommandOutput:
    """What a command returns: tables to print and a machine-readable summary for ``--json``."""

    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    """(title, table) pairs, printed in order."""
    summary: dict[str, Any] = field(default_factory=dict)
    """JSON-serialisable key figures."""


@dataclass(frozen=True)
class Command:
    """One ``pgsuite ... <name>`` command: a dataclass config and the function that runs it."""

    name: str
    help: str
    config: type
    run: Callable[[Any], CommandOutput]
    json_output: bool = False
    """Offer ``--json`` (eval and bench commands)."""


@dataclass(frozen=True)
class App:
    """An application: its commands and, optionally, its part of ``pgsuite demo``."""

    name: str
    help: str
    commands: Sequence[Command] = ()
    demo: Callable[[Any], list[tuple[str, pd.DataFrame]]] | None = None
    """``demo(DemoConfig) -> [(title, table), ...]``: a short real run (a minute or two on 2 cores)."""


# -- dataclass -> argparse ---------------------------------------------------------------------
class _Required:
    """The parsed value of a required option that neither the command line nor a config file
    gave."""

    def __repr__(self) -> str:
        return "required"


REQUIRED = _Required()


def field_docs(cls: type) -> dict[str, str]:
    """Docstrings written under the fields of dataclass ``cls`` (and its dataclass bases)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(inspect.cleandoc(following.value.value).split())
    return docs


def _optional_inner(tp: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, else ``(tp, False)``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _converter(tp: Any, optional: bool) -> Callable[[str], Any]:
    base = {int: int, float: float, str: str, Path: Path}.get(tp)
    if base is None:
        raise TypeError(f"unsupported option type {tp!r}")

    def convert(text: str) -> Any:
        if optional and text.lower() == "none":
            return None
        return base(text)

    convert.__name__ = getattr(base, "__name__", "value")  # argparse names it in errors
    return convert


def _flat_fields(
    cls: type, seen: dict[str, str], defaults: Any = None
) -> list[tuple[dataclasses.Field, Any, str, Any]]:
    """(field, resolved type, doc, default) of ``cls``, recursing into dataclass-typed fields.

    ``defaults`` is an instance whose values override the field defaults: a nested config built
    by its parent's ``default_factory`` (e.g. a ``TrainerConfig`` with app-specific settings).
    """
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        default = getattr(defaults, f.name) if defaults is not None else _default(f)
        if dataclasses.is_dataclass(tp):
            nested = default if default is not dataclasses.MISSING else None
            out += _flat_fields(tp, seen, nested)
            continue
        if f.name in seen:
            raise TypeError(f"option --{f.name} defined by both {seen[f.name]} and {cls.__name__}")
        seen[f.name] = cls.__name__
        out.append((f, tp, docs.get(f.name, ""), default))
    return out


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--option`` per (flattened) field of dataclass ``cls`` to ``parser``."""
    for f, tp, doc, default in _flat_fields(cls, {}):
        flag = "--" + f.name.replace("_", "-")
        # argparse %-formats help texts: a literal "%" in a docstring must reach it as "%%"
        kwargs: dict[str, Any] = {"dest": f.name, "help": (doc or " ").replace("%", "%%")}
        if default is dataclasses.MISSING:
            kwargs["default"] = REQUIRED  # checked after --config FILE: it may give the value
            kwargs["help"] += " (required)"
        else:
            kwargs["default"] = default
        inner, optional = _optional_inner(tp)
        origin = typing.get_origin(inner)
        if inner is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is Literal:
            choices = typing.get_args(inner)
            kwargs["choices"] = list(choices)
            kwargs["type"] = type(choices[0])
            kwargs["metavar"] = "{" + ",".join(map(str, choices)) + "}"
        elif origin in (tuple, list):
            args = typing.get_args(inner)
            element = args[0]
            fixed = origin is tuple and len(args) > 1 and args[1] is not Ellipsis
            kwargs["nargs"] = len(args) if fixed else "*"
            kwargs["type"] = _converter(element, False)
            kwargs["metavar"] = element.__name__.upper()
        else:
            kwargs["type"] = _converter(inner, optional)
            kwargs["metavar"] = inner.__name__.upper() + ("|none" if optional else "")
        parser.add_argument(flag, **kwargs)


def flat_config(config: Any) -> dict[str, Any]:
    """``{option name: value}`` of a (nested) dataclass config: the inverse of
    :func:`config_from_args`, e.g. to write a config a command can read back with ``--config``."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            values.update(flat_config(value))
        else:
            values[f.name] = value
    return values


def read_mapping_file(
    path: Path,
    what: str = "config file",
    expected: str = "a mapping of option names to values",
    error_type: type[PgsuiteError] | None = None,
) -> dict[Any, Any]:
    """The mapping in a JSON or YAML (``.yaml`` / ``.yml``) file.

    Args:
        path: the file.
        what: what the file is, first in every message (``"config file"``, ``"job file"``).
        expected: what the document should be, for the message when it is not a mapping.
        error_type: the error raised (default :class:`~pgsuite.core.errors.ConfigError`; data
            files raise :class:`~pgsuite.core.errors.DataError`).

    Raises:
        ConfigError: (or ``error_type``) the file is missing, unreadable, or not a mapping.
    """
    import yaml  # JSON is YAML, but JSON files get JSON's error messages

    from pgsuite.core.errors import ConfigError

    error_type = error_type or ConfigError
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise error_type(f"{what} {path}: {_one_line(error)}") from None
    if not isinstance(document, dict):
        raise error_type(f"{what} {path}: expected {expected}")
    return document


def read_option_file(path: Path) -> dict[str, Any]:
    """The ``{option name: value}`` mapping in a JSON or YAML file; nested objects are flattened,
    so a run folder's ``config.json`` works too. Option names may use dashes or underscores.

    Raises:
        ConfigError: the file is missing, unreadable, not a mapping, or names an option twice.
    """
    from pgsuite.core.errors import ConfigError

    values: dict[str, Any] = {}

    def collect(mapping: dict[Any, Any]) -> None:
        for key, value in mapping.items():
            if isinstance(value, dict):
                collect(value)
                continue
            name = option_name(key)
            if name in values:
                raise ConfigError(f"config file {path}: option {name!r} given twice")
            values[name] = value

    collect(read_mapping_file(path))
    return values


def option_name(key: Any) -> str:
    """A config field name from an option name as users write it (``--max-steps``, ``max-steps``,
    ``max_steps``)."""
    return str(key).removeprefix("--").replace("-", "_")


def _convert_option(action: argparse.Action, value: Any) -> Any:
    """``value`` (from a file: a string, number, bool, None or list) as ``action`` would parse it."""
    if isinstance(action, argparse.BooleanOptionalAction):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if action.nargs is not None:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        if isinstance(action.nargs, int) and len(value) != action.nargs:
            raise ValueError(f"expected {action.nargs} values, got {len(value)}")
        items = [_convert_scalar(action, item) for item in value]
        return tuple(items) if isinstance(action.default, tuple) else items
    return _convert_scalar(action, value)


def _convert_scalar(action: argparse.Action, value: Any) -> Any:
    if isinstance(value, (list, dict)):
        raise ValueError(f"expected one value, got {value!r}")
    if isinstance(value, bool) and action.type is not str:
        raise ValueError(f"expected {action.metavar or 'a value'}, got {value}")
    text = "none" if value is None else str(value)
    converted = action.type(text) if action.type is not None else text
    if action.choices is not None and converted not in action.choices:
        raise ValueError(f"{converted!r} is not one of {list(action.choices)}")
    return converted


def option_defaults_from_file(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """The values of ``path`` (see :func:`read_option_file`) converted and checked as ``parser``'s
    options would be: the defaults that ``--config FILE`` gives a command.

    Raises:
        ConfigError: the file is unreadable, names an option the command does not have, or holds
            a value the option does not accept.
    """
    from pgsuite.core.errors import ConfigError

    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest[0] != "_"}
    converted = {}
    for name, value in read_option_file(path).items():
        if name not in actions:
            raise ConfigError(
                f"config file {path}: this command has no option --{name.replace('_', '-')}"
            )
        try:
            converted[name] = _convert_option(actions[name], value)
        except (TypeError, ValueError) as error:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"config file {path}: {flag}: {_one_line(error)}") from None
    return converted


def _apply_config_file(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> argparse.Namespace:
    """``args`` re-parsed with the command's ``--config FILE`` values as defaults (the command
    line still wins); ``args`` itself when no file was given."""
    path = getattr(args, "_config_file", None)
    if path is None:
        return args
    command_parser: argparse.ArgumentParser = args._parser
    command_parser.set_defaults(**option_defaults_from_file(command_parser, path))
    return parser.parse_args(argv)


def _check_required(args: argparse.Namespace) -> None:
    """Exit 2 naming the required options that neither the command line nor ``--config`` gave."""
    command_parser: argparse.ArgumentParser = args._parser
    missing = [
        "/".join(a.option_strings)
        for a in command_parser._actions
        if a.default is REQUIRED and getattr(args, a.dest, None) is REQUIRED
    ]
    if missing:
        command_parser.error(f"the following arguments are required: {', '.join(missing)}")


def config_from_args(cls: type, args: argparse.Namespace) -> Any:
    """Build dataclass ``cls`` (with nested dataclasses) from parsed options."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            values[f.name] = config_from_args(tp, args)
        else:
            value = getattr(args, f.name)
            if typing.get_origin(_optional_inner(tp)[0]) is tuple and value is not None:
                value = tuple(value)
            values[f.name] = value
    return cls(**values)


# -- parser, apps and output -------------------------------------------------------------------
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is REQUIRED:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``pgsuite ...: error: ... (see --help)``."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def discover_apps() -> list[App]:
    """Apps registered under the ``pgsuite.apps`` entry points (skipping any that fail to load)."""
    apps = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            app = entry.load()
        except ImportError as error:
            log.warning(
                "app %r unavailable (%s); install its extra: pip install -e '.[%s]'",
                entry.name,
                error,
                entry.name,
            )
            continue
        apps.append(app)
    return apps


def _add_command(subparsers: Any, command: Command) -> None:
    doc = inspect.getdoc(command.config) or ""
    sub = subparsers.add_parser(
        command.name,
        help=command.help,
        description=command.help + ("\n\n" + doc if doc else ""),
        formatter_class=_HelpFormatter,
    )
    add_dataclass_options(sub, command.config)
    if command.json_output:
        sub.add_argument(
            "--json", action="store_true", help="print a machine-readable JSON summary"
        )
    sub.add_argument(
        "--config",
        dest="_config_file",
        type=Path,
        metavar="FILE",
        help="read option values from a JSON or YAML file whose keys are option names (e.g. a "
        "sweep's best_config.json; nested objects such as a run's config.json are flattened); "
        "options given on the command line override it",
    )
    sub.set_defaults(_command=command, _parser=sub)


def build_parser(
    apps: Sequence[App], extra_commands: Sequence[Command] = ()
) -> argparse.ArgumentParser:
    """The top-level parser: ``extra_commands`` (e.g. ``demo``) and one sub-parser per app."""
    parser = _Parser(
        prog="pgsuite",
        description="Decision-making applications on one policy-gradient core.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pgsuite {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="INT",
        help="torch intra-op threads; 1 is fastest for the small networks of RL on CPU, raise it "
        "for large models",
    )
    names = [c.name for c in extra_commands] + [a.name for a in apps]
    commands = parser.add_subparsers(
        title="commands", dest="_top", metavar="{" + ",".join(names) + "}", required=True
    )
    for command in extra_commands:
        _add_command(commands, command)
    for app in apps:
        app_parser = commands.add_parser(app.name, help=app.help, description=app.help)
        app_commands = app_parser.add_subparsers(title="commands", dest="_sub", required=True)
        for command in app.commands:
            _add_command(app_commands, command)
    return parser


def strict_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and +-infinity become ``None`` (``null``), NumPy / torch
    scalars and arrays become Python numbers and lists, DataFrames a list of row records, paths
    strings; anything else unknown its ``str``. The result passes ``json.dumps(allow_nan=False)``."""
    if isinstance(value, pd.DataFrame):
        return [strict_jsonable(row) for row in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): strict_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [strict_jsonable(v) for v in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return strict_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return strict_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def strict_json(document: Any) -> str:
    """``document`` as strict JSON text (RFC 8259: no NaN / Infinity tokens), indented."""
    return json.dumps(strict_jsonable(document), indent=2, allow_nan=False)


def loads_strict(text: str) -> Any:
    """Parse a document that ``--json`` printed, as a strict RFC 8259 parser would: ``NaN`` and
    ``Infinity`` tokens (which Python's ``json`` accepts by default) raise ``ValueError``."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


MISSING = "–"
"""What a table or summary line shows for a missing or undefined figure (NaN, None): e.g. the
standard deviation of a single seed."""


def markdown_table(table: pd.DataFrame, **options: Any) -> str:
    """``table`` as Markdown (``DataFrame.to_markdown(index=False, **options)``) with every NaN,
    None or NA cell shown as :data:`MISSING`, never ``nan``."""
    cells = table.astype(object).where(table.notna(), None)
    return cells.to_markdown(index=False, missingval=MISSING, **options)


def _summary_value(value: Any) -> Any:
    missing = value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))
    return MISSING if missing else value


def emit(output: CommandOutput, as_json: bool) -> None:
    """Print a command's output: tables for people, or one JSON document with ``--json``."""
    if as_json:
        print(strict_json({"summary": output.summary, "tables": dict(output.tables)}))
        return
    for title, table in output.tables:
        print(f"\n## {title}\n")
        print(markdown_table(table, floatfmt=".4g"))
    for key, value in output.summary.items():
        if not isinstance(value, (dict, list, pd.DataFrame)):
            print(f"{key}: {_summary_value(value)}")


def silence_known_warnings() -> None:
    """Hide warnings that every run would print and no user can act on (in the CLI process and
    in Ray workers)."""
    # torch-geometric still calls torch.jit.script, which warns on every start with torch >= 2.10
    warnings.filterwarnings(
        "ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pgsuite``; returns the process exit status."""
    silence_known_warnings()
    from pgsuite.core.demo import demo_command

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        parser = build_parser(discover_apps(), [demo_command()])
    except TypeError as error:  # an app's config cannot become options: a bug in that app
        if debug:
            raise
        print(f"pgsuite: internal error: {_one_line(error)}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    command: Command = args._command
    try:
        args = _apply_config_file(parser, args, argv)
        _check_required(args)
        config = config_from_args(command.config, args)
        output = command.run(config)
        emit(output, as_json=getattr(args, "json", False))
    except PgsuiteError as error:
        if debug:
            raise
        print(f"pgsuite: error: {_one_line(error)}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        if debug:
            raise
        print(f"pgsuite: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pgsuite: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        print(
            f"pgsuite: internal error: {type(error).__name__}: {_one_line(error)} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
