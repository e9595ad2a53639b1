"""Inventory control by HDPO: pathwise gradients through a differentiable inventory simulator.

Planned (see the project's issues): simulator, settings, MLP/GNN policies, exact optima and heuristics.
"""
