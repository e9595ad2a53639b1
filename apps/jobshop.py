"""``pgsuite.apps.jobshop``: the job-shop app under its short name; the same module object as
``pgsuite.apps.scheduling.jobshop`` (its public API is documented there)."""

import sys

from pgsuite.apps.scheduling import jobshop

sys.modules[__name__] = jobshop
