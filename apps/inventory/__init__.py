"""Inventory control by HDPO: pathwise gradients through a differentiable inventory simulator.

Public API::

    from pgsuite.apps.inventory import make_setting, simulate, optimum
    setting = make_setting("one_store_lost", lead_time=2, penalty=4.0)

``make_setting``, ``simulate``, ``optimum``, ``evaluate_cost``, ``Setting``, ``SettingConfig``,
``InventorySimulator``, ``BaseStockPolicy``, ``VanillaPolicy``, ``GNNPolicy``, ``HDPOConfig``,
``TrainConfig``, ``HDPORun`` and ``load_run``.

Modules: ``network`` (topologies and costs), ``demand`` (samplers, CSV traces), ``settings`` (the
benchmark settings), ``sim`` (the batched differentiable simulator), ``policies`` (MLP and
heuristics), ``optimal`` (exact optima), ``hdpo`` (training), ``env`` (gymnasium), ``bench``, ``cli``.
Importing the package registers the gymnasium id ``pgsuite/Inventory-v0``.
"""

import gymnasium

from pgsuite.core.exports import lazy_exports

gymnasium.register(id="pgsuite/Inventory-v0", entry_point="pgsuite.apps.inventory.env:InventoryEnv")

_API = {
    "make_setting": ".api",
    "simulate": ".api",
    "optimum": ".api",
    "Setting": ".settings",
    "SettingConfig": ".settings",
    "InventorySimulator": ".sim",
    "BaseStockPolicy": ".policies",
    "VanillaPolicy": ".policies",
    "GNNPolicy": ".policies",
    "HDPOConfig": ".hdpo",
    "TrainConfig": ".hdpo",
    "HDPORun": ".hdpo",
    "evaluate_cost": ".hdpo",
    "load_run": ".hdpo",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_exports(__name__, _API)
