"""Package layout: the repository's `core/` and `apps/` folders install as `pgsuite.core` and
`pgsuite.apps` under one import namespace, `pgsuite` (its own small folder, `pgsuite/`).

Everything else (metadata, dependencies, extras, entry points) is in pyproject.toml; only the
folder-to-package mapping needs code, so that a new app folder is packaged without editing a list.
"""

from setuptools import find_packages, setup

ROOTS = ("core", "apps")

setup(
    packages=[
        "pgsuite",
        *(f"pgsuite.{name}" for name in find_packages(include=[f"{r}*" for r in ROOTS])),
    ],
    package_dir={"pgsuite": "pgsuite", **{f"pgsuite.{root}": root for root in ROOTS}},
)
