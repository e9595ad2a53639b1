"""SoC scheduling (DeepSoCS-style): DAG jobs on a heterogeneous system-on-chip. So far: the DS3
job and SoC readers (``ds3``); the simulator, schedulers and commands follow (issue 24)."""
