"""SoC scheduling (DeepSoCS-style): DAG jobs on a heterogeneous system-on-chip. Built so far: the
DS3 and compact readers (``ds3``), random layered jobs (``generators``), the PEs and their time
model (``platform``), workloads of arriving jobs with noisy times (``workload``) and the
independent schedule checker (``check``); the simulator, schedulers and commands follow (issue 24).
"""
