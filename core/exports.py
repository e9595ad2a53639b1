"""Lazy public APIs for packages: names resolve to their defining module on first use.

An app's ``__init__`` lists its public names once; importing the package stays cheap (no torch,
OR-Tools or sentence-transformers until a name is used), and ``dir()`` / tab completion show the
API. PEP 562 module ``__getattr__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exposing ``names``.

    Args:
        package: the package's ``__name__``.
        names: public name -> module defining it, relative to ``package`` (e.g. ``".api"``).

    Example:
        ``__getattr__, __dir__ = lazy_exports(__name__, {"solve": ".api"})``
    """

    def module_getattr(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name], package), name)

    def module_dir() -> list[str]:
        return sorted(names)

    return module_getattr, module_dir
