"""pgsuite core: the domain-free policy-gradient and differentiable-simulation toolkit every app builds on.

Nothing in ``core`` imports ``apps``. See README.md for the module map.
"""

__version__ = "0.1.0"
