"""Inventory control by HDPO: pathwise gradients through a differentiable inventory simulator.

Modules: ``network`` (topologies and costs), ``demand`` (samplers, CSV traces), ``settings`` (the
benchmark settings), ``sim`` (the batched differentiable simulator), ``policies`` (MLP and
heuristics), ``optimal`` (exact optima), ``hdpo`` (training), ``env`` (gymnasium), ``bench``, ``cli``.
Importing the package registers the gymnasium id ``pgsuite/Inventory-v0``.
"""

import gymnasium

gymnasium.register(id="pgsuite/Inventory-v0", entry_point="apps.inventory.env:InventoryEnv")
