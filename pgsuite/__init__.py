"""pgsuite: decision-making applications on one shared policy-gradient and differentiable-simulation
core.

Subpackages:
    ``pgsuite.core``: the domain-free toolkit (distributions, estimators, trainer, bench harness, CLI).
    ``pgsuite.apps``: the applications, each with a small public API in its package, e.g.
    ``from pgsuite.apps.jobshop import load_instance, solve`` or
    ``from pgsuite.apps.inventory import make_setting, simulate``.

In the repository the two subpackages are the top-level folders ``core/`` and ``apps/``; the
installed distribution maps them under this package (see ``setup.py``).
"""

from pgsuite.core import __version__

__all__ = ["__version__"]
