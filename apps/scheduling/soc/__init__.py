"""SoC scheduling (DeepSoCS-style): streams of DAG jobs on a heterogeneous system-on-chip.

Public API (also importable as ``pgsuite.apps.soc``)::

    from pgsuite.apps.soc import Platform, WorkloadConfig, generate_workload, load_soc, simulate
    platform = Platform(load_soc("MULTIPLE_BAL"))
    jobs = generate_workload(platform, WorkloadConfig(scale_us=100, noise_std=0.3))
    result = simulate(platform, jobs, "heft")  # checked RunResult: latency_us per job

Modules: ``ds3`` (DS3 and compact readers of jobs and SoCs), ``generators`` (random layered
jobs), ``platform`` (PEs and the transfer-time model), ``workload`` (arrivals and noisy times),
``simulator`` (exact discrete-event simulation), ``check`` (the independent schedule checker),
``heft`` (upward ranks, the insertion plan), ``schedulers`` (MET, EFT, ETF, STF, HEFT, HEFT-RT,
random), ``cpsat`` (the single-job optimum), ``metrics``, ``features`` / ``policy`` / ``env`` /
``train`` / ``inference`` (the learned scheduler), ``bench`` and ``cli``. Importing the package
registers ``pgsuite/SoC-v0``.
"""

import gymnasium

from pgsuite.core.exports import lazy_exports

gymnasium.register(id="pgsuite/SoC-v0", entry_point="pgsuite.apps.scheduling.soc.env:SoCEnv")

__all__ = [
    "Platform",
    "SoCSimulator",
    "WorkloadConfig",
    "generate_workload",
    "heft_schedule",
    "load_job",
    "load_soc",
    "make_heuristic",
    "optimal_schedule",
    "run_metrics",
    "simulate",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Platform": ".platform",
        "SoCSimulator": ".simulator",
        "WorkloadConfig": ".workload",
        "generate_workload": ".workload",
        "heft_schedule": ".heft",
        "load_job": ".ds3",
        "load_soc": ".ds3",
        "make_heuristic": ".schedulers",
        "optimal_schedule": ".cpsat",
        "run_metrics": ".metrics",
        "simulate": ".api",
    },
)
