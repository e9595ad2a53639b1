"""Job-shop dispatching environments: a batched one for the core's PPO and ``pgsuite/JobShop-v0``
(gymnasium) for other RL libraries.

An episode schedules one instance: each step picks a job whose next operation is placed at the
earliest time its job and machine allow (see :mod:`~pgsuite.apps.scheduling.jobshop.simulator`). The
action mask holds the jobs with operations left; with ``nondelay=True`` (default) only those whose
next operation could start earliest (Giffler-Thompson non-delay candidates, which is what makes
priority rules strong). Rewards: ``dense`` (default), the decrease of the makespan lower bound
in units of the mean operation duration, so an episode's return is ``-(makespan - initial
bound) / mean duration``; or ``sparse``, ``-makespan / mean duration`` at the last step.

Instances come from a fixed list (``instances``) or a seeded Taillard-style generator (``jobs``,
``machines``), drawn anew at every reset; with ``breakdowns`` every episode also draws random
machine downtimes (:mod:`~pgsuite.apps.scheduling.jobshop.breakdowns`) from the same seeded stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from pgsuite.apps.scheduling.common.generators import InstanceStream
from pgsuite.apps.scheduling.jobshop.breakdowns import Breakdowns
from pgsuite.apps.scheduling.jobshop.features import NUM_FEATURES, operation_features
from pgsuite.apps.scheduling.jobshop.instances import (
    JobShopInstance,
    load_benchmark,
    random_instance,
)
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.core.envs import StepResult
from pgsuite.core.errors import ConfigError

RewardName = Literal["dense", "sparse"]


class InstanceSource(InstanceStream[JobShopInstance]):
    """Batches of same-size job-shop instances (:class:`~pgsuite.apps.scheduling.common.generators.
    InstanceStream`): a fixed list cycled in order, or random ``jobs x machines`` instances
    (durations U[1, 99]) from a seeded stream."""

    def __init__(
        self,
        instances: Sequence[JobShopInstance] | None = None,
        jobs: int = 6,
        machines: int = 6,
    ) -> None:
        if instances is not None:
            if not instances:
                raise ConfigError("instances must not be empty")
            sizes = {i.durations.shape for i in instances}
            if len(sizes) != 1:
                raise ConfigError(f"instances of one size are needed, got {sorted(sizes)}")
            jobs, machines = next(iter(sizes))
        if jobs < 1 or machines < 1:
            raise ConfigError(f"need jobs >= 1 and machines >= 1, got {jobs} x {machines}")
        self.jobs, self.machines = jobs, machines
        generate = None if instances is not None else self._random
        super().__init__(instances, generate)

    def _random(self, seed: int) -> JobShopInstance:
        return random_instance(self.jobs, self.machines, seed)


class JobShopBatchEnv:
    """``num_envs`` dispatching episodes in lock-step (:class:`core.envs.BatchedEnv`).

    Observations: float32 tensors ``[num_envs, n, m, F + 1]``
    (:func:`~pgsuite.apps.scheduling.jobshop.features.operation_features`); actions: job indices
    ``[num_envs]``. All episodes last ``n m`` steps, so they end and restart together.
    """

    def __init__(
        self,
        num_envs: int,
        source: InstanceSource,
        reward: RewardName = "dense",
        insertion: bool = True,
        nondelay: bool = True,
        breakdowns: Breakdowns | None = None,
    ) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, got {num_envs}")
        if reward not in ("dense", "sparse"):
            raise ConfigError(f"reward must be dense or sparse, got {reward!r}")
        self.num_envs, self.source, self.reward_kind = num_envs, source, reward
        self.insertion, self.nondelay, self.breakdowns = insertion, nondelay, breakdowns
        self.sim: JobShopSimulator | None = None

    def _start(self) -> torch.Tensor:
        self.batch = self.source.draw(self.num_envs)
        downtimes = None
        if self.breakdowns is not None:
            downtimes = self.breakdowns.sample_batch(self.batch, self.source.rng)
        self.sim = JobShopSimulator.from_instances(self.batch, self.insertion, downtimes)
        self.unit = np.maximum(self.sim.durations.mean(axis=(1, 2)), 1e-9)
        self.bound = self.sim.makespan_lower_bound()
        return self.observation()

    def observation(self) -> torch.Tensor:
        return torch.from_numpy(operation_features(self.sim))

    def reset(self, seed: int | None = None) -> torch.Tensor:
        if seed is not None:
            self.source.seed(seed)
        return self._start()

    def action_masks(self) -> torch.Tensor:
        return torch.from_numpy(self.sim.valid_jobs(self.nondelay))

    def step(self, action: torch.Tensor) -> StepResult:
        sim = self.sim
        sim.step(np.asarray(action.cpu(), dtype=np.int64))
        bound = sim.makespan_lower_bound()
        if self.reward_kind == "dense":
            reward = (self.bound - bound) / self.unit
        else:
            reward = np.where(sim.done, -bound / self.unit, 0.0)
        self.bound = bound
        done = torch.full((self.num_envs,), sim.done)
        info: dict[str, Any] = {}
        obs = self.observation()
        final_obs = obs
        if sim.done:
            info["makespan"] = sim.result().makespan
            obs = self._start()
        return StepResult(
            obs=obs,
            reward=torch.as_tensor(reward, dtype=torch.float32),
            terminated=done,
            truncated=torch.zeros(self.num_envs, dtype=torch.bool),
            final_obs=final_obs,
            info=info,
        )


class JobShopEnv(gym.Env):
    """``pgsuite/JobShop-v0``: one instance per episode, for SB3 / sb3-contrib.

    Observation: the operation features flattened, float32 ``[n m (F + 1)]`` (machine ids divided
    by ``m``). Action: ``Discrete(n)``, a job; :meth:`action_masks` gives the valid ones
    (MaskablePPO reads it). An invalid action is replaced by the lowest-index valid job and flagged
    in ``info["invalid_action"]``. :meth:`graph_observation` gives the same state as a
    torch-geometric ``Data`` (operation features, conjunctive and disjunctive arcs).

    Args:
        instance: a benchmark name (``"ft06"``) or a :class:`JobShopInstance`; default: a new
            random ``jobs x machines`` instance at every reset.
        jobs, machines: size of random instances.
        reward: ``dense`` or ``sparse``.
        insertion: place operations into idle gaps.
        nondelay: restrict the mask to the non-delay candidates.
        breakdowns: random machine breakdowns, a :class:`Breakdowns` or its fields as a dict
            (e.g. ``{"mtbf": 20, "mttr": 2}``); default none.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self,
        instance: str | JobShopInstance | None = None,
        jobs: int = 6,
        machines: int = 6,
        reward: RewardName = "dense",
        insertion: bool = True,
        nondelay: bool = True,
        breakdowns: Breakdowns | dict | None = None,
    ) -> None:
        if isinstance(instance, str):
            instance = load_benchmark(instance)
        if isinstance(breakdowns, dict):
            breakdowns = Breakdowns(**breakdowns)
        source = InstanceSource([instance] if instance is not None else None, jobs, machines)
        self.env = JobShopBatchEnv(1, source, reward, insertion, nondelay, breakdowns)
        n, m = source.jobs, source.machines
        self.action_space = gym.spaces.Discrete(n)
        size = n * m * (NUM_FEATURES + 1)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)

    def _flat(self, obs: torch.Tensor) -> np.ndarray:
        obs = obs[0].clone()
        obs[..., NUM_FEATURES] /= self.env.source.machines
        return obs.reshape(-1).numpy()

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        obs = self.env.reset(seed=int(self.np_random.integers(2**31 - 1)))
        return self._flat(obs), {"instance": self.env.batch[0].name}

    def action_masks(self) -> np.ndarray:
        return self.env.action_masks()[0].numpy()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        mask = self.action_masks()
        info: dict[str, Any] = {"invalid_action": not bool(mask[int(action)])}
        job = int(action) if mask[int(action)] else int(np.flatnonzero(mask)[0])
        result = self.env.step(torch.tensor([job]))
        terminated = bool(result.terminated[0])
        obs = result.final_obs if terminated else result.obs
        if terminated:
            info["makespan"] = int(result.info["makespan"][0])
        return self._flat(obs), float(result.reward[0]), terminated, False, info

    def graph_observation(self) -> Any:
        """The current state as a torch-geometric ``Data``: ``x [n m, F]``, ``edge_index``
        (conjunctive then disjunctive arcs), ``edge_type`` (0 / 1), ``machine [n m]``."""
        from torch_geometric.data import Data

        from pgsuite.apps.scheduling.jobshop.policy import disjunctive_edge_index

        obs = self.env.observation()[0]
        machines = obs[..., NUM_FEATURES].long()
        conjunctive, disjunctive = disjunctive_edge_index(machines)
        return Data(
            x=obs[..., :NUM_FEATURES].reshape(-1, NUM_FEATURES),
            edge_index=torch.cat([conjunctive, disjunctive], 1),
            edge_type=torch.cat(
                [
                    torch.zeros(conjunctive.shape[1], dtype=torch.long),
                    torch.ones(disjunctive.shape[1], dtype=torch.long),
                ]
            ),
            machine=machines.reshape(-1),
        )
