"""IoT tasks on edge and cloud nodes (issue 26): the model so far.

Built: ``cluster`` (nodes, power models, cluster files, the ``small`` / ``large`` presets),
``tasks`` (task arrays, SLA classes and deadlines, task CSV files), ``workloads`` (the Alibaba
2018 trace as an IoT stream, a seeded generator), ``simulator`` (exact event-driven runs,
immediate or batch decisions, energy), ``check`` (the independent checker) and ``schedulers``
(round-robin, least-loaded, OLB, MET, MCT, Min-Min, Max-Min, Sufferage), ``aco`` (ant colony
optimisation of a batch), ``metrics``, ``env`` (the gym env ``pgsuite/CloudScheduling-v0``,
registered on import) and ``cli`` (``pgsuite iot simulate``). ``policy`` / ``train``
(a node-scoring network trained with the core's PPO; ``pgsuite iot train``). The hybrid is
``aco.AntColony`` with the trained policy as its prior (``--scheduler hybrid``). ``ga``: the
DEAP genetic algorithm comparator. ``kernel``: the compiled loop of the immediate heuristics.
To come: the bench, the demo part.
"""

import gymnasium

gymnasium.register(
    id="pgsuite/CloudScheduling-v0",
    entry_point="pgsuite.apps.scheduling.iot.env:CloudSchedulingEnv",
)
