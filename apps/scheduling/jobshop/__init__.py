"""Job-shop scheduling: learned dispatching against priority rules and CP-SAT.

Modules: ``instances`` (data model, file formats, the classic set, random instances), ``simulator``
(batched exact dispatching, L2D semantics), ``schedule`` (feasibility of job-shop schedules),
``rules`` (priority dispatching rules), ``cpsat`` (OR-Tools CP-SAT, optionally warm-started),
``features`` (operation features), ``policy`` (graph actor-critic), ``env`` (batched env for the
core's PPO and the gymnasium env). Importing the package registers ``pgsuite/JobShop-v0``.
"""

import gymnasium

gymnasium.register(id="pgsuite/JobShop-v0", entry_point="apps.scheduling.jobshop.env:JobShopEnv")
