"""IoT task assignment as reinforcement learning: the gymnasium env
``pgsuite/CloudScheduling-v0``.

An episode is one task stream from the seeded generator (or a fixed :class:`TaskSet`) on a
cluster; a step assigns the next arriving task (immediate decisions) to the node the action
names. ``action_masks()`` marks the nodes that hold the task's memory; an invalid action is
replaced by the first valid node and flagged in ``info``. Reward of a step: minus the task's
response time in ``response_scale_s``, minus ``deadline_penalty`` if it misses its deadline,
minus ``energy_weight`` x its dynamic energy in kJ (its run time x the node's power rise per busy
core, ``(P_max - P_idle) / cores``). Every finished episode passes the checker; its figures are
in ``info``.

Observation (flat, float32, ``6 M + 3``): per node, whether it holds the task, when its first
core frees (after now), its unfinished tasks per core, the task's upload, run and back-by time
there (after now; times in ``response_scale_s``); then the task's length (log10 MI), its
deadline after now and its SLA class (index / classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from pgsuite.apps.scheduling.iot.cluster import load_cluster
from pgsuite.apps.scheduling.iot.metrics import run_metrics
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.tasks import TaskSet
from pgsuite.apps.scheduling.iot.workloads import GeneratorConfig, generated_tasks
from pgsuite.core.errors import ConfigError

NODE_FEATURES = 6
TASK_FEATURES = 3


@dataclass(frozen=True)
class IoTEnvConfig:
    """What every episode is drawn from, and the reward's weights."""

    cluster: str = "small"
    generator: GeneratorConfig = field(
        default_factory=lambda: GeneratorConfig(duration_s=120.0, peak_rate=1.0, offpeak_rate=0.3)
    )
    response_scale_s: float = 60.0
    deadline_penalty: float = 1.0
    energy_weight: float = 0.0

    def __post_init__(self) -> None:
        if not self.response_scale_s > 0:
            raise ConfigError("response_scale_s must be > 0")
        if self.deadline_penalty < 0 or self.energy_weight < 0:
            raise ConfigError("deadline_penalty and energy_weight must be >= 0")


def observation(sim: IoTSimulator, task: int, scale_s: float) -> np.ndarray:
    """The flat observation of assigning ``task`` now (see the module docstring), float32
    ``[6 M + 3]``; times in ``scale_s``."""
    now = sim.now
    back = sim.completion(task)
    nodes = np.stack([
        sim.feasible(task).astype(float),
        np.maximum(sim.earliest_free - now, 0.0) / scale_s,
        (sim.assigned - sim.completed) / sim.cores,
        sim.upload_s(task) / scale_s,
        sim.execution_s(task) / scale_s,
        np.where(np.isfinite(back), back - now, 0.0) / scale_s,
    ], axis=1)  # fmt: skip
    tasks = sim.tasks
    features = [np.log10(tasks.length_mi[task]), (tasks.deadline_s[task] - now) / scale_s,
                tasks.sla[task] / max(len(tasks.sla_names), 1)]  # fmt: skip
    return np.concatenate([nodes.ravel(), features]).astype(np.float32)


class CloudSchedulingEnv(gym.Env):
    """See the module docstring; ``tasks`` fixes the stream (else each reset draws one from
    the generator with the reset's seed)."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, tasks: TaskSet | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = IoTEnvConfig(**kwargs)
        self.cluster = load_cluster(self.config.cluster)
        self.fixed_tasks = tasks
        nodes = self.cluster.size
        size = NODE_FEATURES * nodes + TASK_FEATURES
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(nodes)
        cores = self.cluster.column("cores")
        peak = np.asarray([n.power_table_w[-1] - n.power_table_w[0] for n in self.cluster.nodes])
        self._dynamic_w = peak / cores
        self.sim: IoTSimulator | None = None
        self.task = -1

    def _next_task(self) -> bool:
        pending = self.sim.next_decision()
        if pending is None:
            return False
        self.task = int(pending[0])
        return True

    def _observation(self) -> np.ndarray:
        return observation(self.sim, self.task, self.config.response_scale_s)

    def action_masks(self) -> np.ndarray:
        """bool ``[M]``: the nodes that can hold the current task."""
        return self.sim.feasible(self.task).copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.fixed_tasks is not None:
            tasks = self.fixed_tasks
        else:
            draw = int(self.np_random.integers(2**31 - 1))
            tasks = generated_tasks(self.cluster, self.config.generator, seed=draw)
        self.sim = IoTSimulator(self.cluster, tasks)
        self._next_task()
        return self._observation(), {}

    def step(self, action: int):
        mask = self.action_masks()
        invalid = not (0 <= int(action) < len(mask) and mask[int(action)])
        node = int(np.flatnonzero(mask)[0]) if invalid else int(action)
        sim, task, config = self.sim, self.task, self.config
        sim.assign(task, node)
        response = sim.back[task] - sim.tasks.arrival_s[task]
        missed = sim.back[task] > sim.tasks.deadline_s[task]
        energy_kj = sim.execution_s(task)[node] * self._dynamic_w[node] / 1000.0
        reward = (-response / config.response_scale_s - config.deadline_penalty * missed
                  - config.energy_weight * energy_kj)  # fmt: skip
        info: dict[str, Any] = {"invalid_action": invalid}
        if self._next_task():
            return self._observation(), float(reward), False, False, info
        result = sim.result()
        info.update(run_metrics(self.cluster, sim.tasks, result).as_dict())
        return np.zeros(self.observation_space.shape, np.float32), float(reward), True, False, info
