"""Schedulers: PPO job-shop dispatching (``jobshop``), later SoC DAG and IoT/cloud scheduling.

Planned (see the project's issues).
"""
