"""Job-shop scheduling: learned dispatching against priority rules and CP-SAT.

Public API (also importable as ``pgsuite.apps.jobshop``)::

    from pgsuite.apps.jobshop import load_instance, solve
    solution = solve(load_instance("ta01"), "bisample:32")

``load_instance``, ``solve``, ``random_instance``, ``benchmark_names``, ``verified_makespan``,
``JobShopInstance``, ``Solution``, ``Solver`` and ``JobShopTrainConfig``.

Modules: ``instances`` (data model, file formats, the classic set, random instances), ``simulator``
(batched exact dispatching, L2D semantics), ``schedule`` (feasibility of job-shop schedules),
``rules`` (priority dispatching rules), ``cpsat`` (OR-Tools CP-SAT, optionally warm-started),
``features`` (operation features), ``policy`` (graph actor-critic), ``env`` (batched env for the
core's PPO and the gymnasium env); the blocking job shop with swaps and interruptions:
``blocking`` (simulator, interruptions, checker), ``blocking_rules``, ``blocking_env`` (dynamic
graph observation, batched and gymnasium envs), ``blocking_policy``. Importing the package
registers ``pgsuite/JobShop-v0`` and ``pgsuite/BlockingJobShop-v0``.
"""

import gymnasium

from pgsuite.core.exports import lazy_exports

gymnasium.register(
    id="pgsuite/JobShop-v0", entry_point="pgsuite.apps.scheduling.jobshop.env:JobShopEnv"
)
gymnasium.register(
    id="pgsuite/BlockingJobShop-v0",
    entry_point="pgsuite.apps.scheduling.jobshop.blocking_env:BlockingJobShopEnv",
)

__all__ = [
    "JobShopInstance",
    "JobShopTrainConfig",
    "Solution",
    "Solver",
    "benchmark_names",
    "load_instance",
    "random_instance",
    "solve",
    "verified_makespan",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "load_instance": ".api",
        "solve": ".api",
        "JobShopInstance": ".instances",
        "benchmark_names": ".instances",
        "random_instance": ".instances",
        "Solution": ".solver",
        "Solver": ".solver",
        "verified_makespan": ".schedule",
        "JobShopTrainConfig": ".train",
    },
)
