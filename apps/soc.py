"""``pgsuite.apps.soc``: the SoC app under its short name; the same module object as
``pgsuite.apps.scheduling.soc`` (its public API is documented there)."""

import sys

from pgsuite.apps.scheduling import soc

sys.modules[__name__] = soc
