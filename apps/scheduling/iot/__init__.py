"""IoT tasks on edge and cloud nodes (issue 26): the model so far.

Built: ``cluster`` (nodes, power models, cluster files, the ``small`` / ``large`` presets),
``tasks`` (task arrays, SLA classes and deadlines, task CSV files), ``workloads`` (the Alibaba
2018 trace as an IoT stream, a seeded generator), ``simulator`` (exact event-driven runs,
immediate or batch decisions, energy), ``check`` (the independent checker) and ``schedulers``
(round-robin, least-loaded, OLB, MET, MCT, Min-Min, Max-Min, Sufferage). To come: ACO, PSO/GA,
the policy-gradient agent and the hybrid, the gym environment, the CLI, the bench, the compiled
fast path.
"""
