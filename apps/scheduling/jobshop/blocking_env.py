"""The blocking job shop as reinforcement learning: a dynamic disjunctive graph observation, a
batched env for the core's PPO and ``pgsuite/BlockingJobShop-v0`` (gymnasium) for other RL
libraries.

An episode schedules one instance (:mod:`~pgsuite.apps.scheduling.jobshop.blocking`); a step
executes the move of a job (alone or its swap cycle); the mask holds the jobs that can move now.
Instances: random ``jobs x machines`` (durations U[1, 99]); interruptions: each episode draws its
shutdown probability from ``shutdown_probabilities`` (so one policy learns over the range), the
shutdowns from its own seed. Reward ``dense``: the decrease of a makespan lower bound (each
job's current end, or now, plus its remaining nominal work) in mean operation durations, so a
return is ``-(makespan - initial bound) / mean duration``; ``sparse``: ``-makespan / mean
duration`` at the end.

The graph (:func:`blocking_graph`) holds the operations still on the shop floor (not departed):
nodes vanish as jobs leave machines, and its edges change with the state: job arcs between a
job's remaining operations (type 0), machine arcs between remaining operations that share a
machine (type 1), and wait-for arcs from the operation that holds a machine to the next
operation of each job waiting for it (type 2: the blocking relation, which appears and vanishes
as jobs block and move). Node features (:data:`NODE_FEATURES`) are what the dispatcher may know:
nominal durations, and shutdowns only once they happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
import torch
from torch_geometric.data import Batch, Data

from pgsuite.apps.scheduling.jobshop.blocking import BlockingJobShop, Interruptions
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance, random_instance
from pgsuite.core.envs import StepResult
from pgsuite.core.errors import ConfigError

NODE_FEATURES = (
    "duration",
    "started",
    "running_left",
    "down_now",
    "blocked",
    "candidate",
    "waited",
    "job_work_left",
    "machine_work_left",
)
"""Per operation, times in mean operation durations: its nominal duration; started; nominal
processing left if it runs (0 otherwise); its machine is down now (a revealed shutdown); its job
is blocked on it (done, waiting for the next machine); it is its job's next operation and can
move now; how long its job has waited for it (next operations only); its job's nominal work left
(from this operation); the nominal work left of all remaining operations on its machine."""


@dataclass(frozen=True)
class BlockingEnvConfig:
    """What episodes are drawn from (random instances; a shutdown probability per episode)."""

    jobs: int = 10
    machines: int = 5
    shutdown_probabilities: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.04)
    """Each episode draws one: per time unit of processing (or per operation)."""
    shutdown_per: Literal["time", "operation"] = "time"
    shutdown_mttr: float = 1.0
    """Mean repair time, in mean operation durations."""
    after_shutdown: Literal["resume", "restart"] = "resume"
    """The interrupted operation keeps its work (resume) or loses it (restart)."""
    swaps: bool = True
    allow_wait: bool = False
    """Offer a wait action (index ``jobs``: no move now, time advances to the next end of an
    operation) besides the non-delay moves."""
    reward: Literal["dense", "sparse"] = "dense"

    def __post_init__(self) -> None:
        if self.jobs < 1 or self.machines < 1:
            raise ConfigError(f"need jobs, machines >= 1, got {self.jobs} x {self.machines}")
        if not self.shutdown_probabilities:
            raise ConfigError("give at least one shutdown probability")
        if self.reward not in ("dense", "sparse"):
            raise ConfigError(f"reward must be dense or sparse, got {self.reward!r}")
        for p in self.shutdown_probabilities:
            self.interruptions(p)  # validates

    def interruptions(self, probability: float) -> Interruptions:
        return Interruptions(probability, self.shutdown_per, self.shutdown_mttr,
                             self.after_shutdown)  # fmt: skip

    def episode(self, seed: int, instance: JobShopInstance | None = None) -> BlockingEpisode:
        """A new episode from ``seed`` (the instance, unless given, and the shutdowns)."""
        rng = np.random.default_rng(seed)
        if instance is None:
            instance = random_instance(self.jobs, self.machines, int(rng.integers(2**31 - 1)))
        probability = float(rng.choice(self.shutdown_probabilities))
        plan = self.interruptions(probability).sample(instance, int(rng.integers(2**31 - 1)))
        shop = BlockingJobShop(instance, plan, self.swaps)
        return BlockingEpisode(shop, self.reward, self.allow_wait)


class BlockingEpisode:
    """One shop and its reward bookkeeping."""

    def __init__(self, shop: BlockingJobShop, reward: str = "dense",
                 allow_wait: bool = False) -> None:  # fmt: skip
        self.shop, self.reward, self.allow_wait = shop, reward, allow_wait
        self.unit = max(float(shop.instance.durations.mean()), 1e-9)
        self.bound = self._bound()

    def _bound(self) -> float:
        """Lower bound on the makespan: each job's current end (or now) plus its nominal work
        after the current operation; the last departure once everything is done."""
        shop = self.shop
        if shop.done:
            return float(shop.departure.max())
        return float((np.maximum(shop.ready_since(), shop.time) + shop.work_left()).max())

    def mask(self) -> np.ndarray:
        """bool ``[n]`` (``[n + 1]`` with the wait action last): the jobs that can move now."""
        jobs = self.shop.instance.num_jobs
        mask = np.zeros(jobs + self.allow_wait, dtype=bool)
        mask[list(self.shop.candidates())] = True
        if self.allow_wait:
            mask[jobs] = self.shop.can_wait()
        return mask

    def step(self, job: int) -> tuple[float, bool]:
        if job == self.shop.instance.num_jobs:
            self.shop.wait()
        else:
            self.shop.step(job)
        bound = self._bound()
        if self.reward == "dense":
            reward = (self.bound - bound) / self.unit
        else:
            reward = -bound / self.unit if self.shop.done else 0.0
        self.bound = bound
        return float(reward), self.shop.done


def operation_features(shop: BlockingJobShop) -> np.ndarray:
    """float32 ``[n, m, len(NODE_FEATURES)]`` every operation's features (module docstring)."""
    instance, time = shop.instance, shop.time
    n, m = instance.durations.shape
    unit = max(float(instance.durations.mean()), 1e-9)
    durations = instance.durations.astype(float)
    ops = np.arange(m)[None, :]
    holding, started = shop.held(), shop.started()
    downs = np.zeros((n, m), dtype=bool)
    processed = np.zeros((n, m))
    for j in np.flatnonzero(shop.on >= 0):
        k = int(shop.next_op[j] - 1)
        if shop.done_at[j] > time:
            windows = shop.plan.downs(j, k, int(shop.start[j, k]))
            downs[j, k] = any(a <= time < b for a, b in windows)
            down_time = sum(max(0, min(b, time) - a) for a, b in windows if a <= time)
            processed[j, k] = time - shop.start[j, k] - down_time
    running = holding & (shop.done_at[:, None] > time)
    blocked = holding & ~running
    candidate = np.zeros((n, m), dtype=bool)
    movable = list(shop.candidates())
    candidate[movable, shop.next_op[movable]] = True
    is_next = ops == shop.next_op[:, None]
    waited = np.where(is_next, np.maximum(time - shop.ready_since(), 0)[:, None], 0.0)
    running_left = np.where(running, np.maximum(durations - processed, 0.0), 0.0)
    remaining = np.where(holding, running_left, np.where(started, 0.0, durations))
    job_left = np.cumsum(remaining[:, ::-1], axis=1)[:, ::-1]
    machine_left = np.zeros(m)
    np.add.at(machine_left, instance.machines.ravel(), remaining.ravel())
    features = np.stack([
        durations / unit,
        started.astype(float),
        running_left / unit,
        downs.astype(float),
        blocked.astype(float),
        candidate.astype(float),
        waited / unit,
        job_left / unit,
        machine_left[instance.machines] / unit,
    ], axis=-1)  # fmt: skip
    return features.astype(np.float32)


def blocking_graph(shop: BlockingJobShop) -> Data:
    """The current state as a torch-geometric ``Data`` (module docstring): ``x [N, F]`` of the
    operations on the floor, ``edge_index [2, E]`` and ``edge_type [E]`` (0 job, 1 machine,
    2 wait-for), ``job [N]`` and ``is_next [N]`` (the job's next operation: the one its action
    moves), ``num_jobs`` (the action space)."""
    instance = shop.instance
    n, m = instance.durations.shape
    features = operation_features(shop)
    alive = ~(shop.started() & ~shop.held())  # not departed
    node_of = np.full((n, m), -1, dtype=np.int64)
    node_of[alive] = np.arange(int(alive.sum()))
    jobs, steps = np.nonzero(alive)
    machine = instance.machines[jobs, steps]
    follow = (node_of[:, :-1] >= 0) & (node_of[:, 1:] >= 0)
    a, b = node_of[:, :-1][follow], node_of[:, 1:][follow]
    job_edges = np.stack([np.concatenate([a, b]), np.concatenate([b, a])])
    same = (machine[:, None] == machine[None, :]) & ~np.eye(len(machine), dtype=bool)
    machine_edges = np.stack(np.nonzero(same))
    wait = []
    for j in np.flatnonzero(shop.next_op < m):
        target = int(instance.machines[j, shop.next_op[j]])
        holder = int(shop.holder[target])
        if holder >= 0 and holder != j:
            wait.append((node_of[holder, shop.next_op[holder] - 1], node_of[j, shop.next_op[j]]))
    wait_edges = np.asarray(wait, dtype=np.int64).reshape(-1, 2).T
    edges = [job_edges, machine_edges, wait_edges]
    return Data(
        x=torch.from_numpy(features[alive]),
        edge_index=torch.from_numpy(np.concatenate(edges, axis=1).astype(np.int64)),
        edge_type=torch.cat(
            [torch.full((e.shape[1],), t, dtype=torch.long) for t, e in enumerate(edges)]
        ),
        job=torch.from_numpy(jobs.astype(np.int64)),
        is_next=torch.from_numpy(steps == shop.next_op[jobs]),
        num_jobs=n,
    )


class BlockingBatchEnv:
    """``num_envs`` episodes for the core's PPO (:class:`~pgsuite.core.envs.BatchedEnv`):
    observations are torch-geometric batches of :func:`blocking_graph`, actions jobs ``[B]``;
    an episode that ends restarts at once (episodes have different lengths: a swap is one
    decision)."""

    def __init__(self, config: BlockingEnvConfig, num_envs: int) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, got {num_envs}")
        self.config, self.num_envs = config, num_envs
        self.rng = np.random.default_rng(0)
        self.episodes: list[BlockingEpisode] = []

    def _new(self) -> BlockingEpisode:
        return self.config.episode(int(self.rng.integers(2**31 - 1)))

    def _observe(self) -> Batch:
        return Batch.from_data_list([blocking_graph(e.shop) for e in self.episodes])

    def reset(self, seed: int | None = None) -> Batch:
        self.rng = np.random.default_rng(seed)
        self.episodes = [self._new() for _ in range(self.num_envs)]
        return self._observe()

    def action_masks(self) -> torch.Tensor:
        return torch.as_tensor(np.stack([e.mask() for e in self.episodes]))

    def step(self, action: torch.Tensor) -> StepResult:
        rewards, done = np.zeros(self.num_envs, dtype=np.float32), np.zeros(self.num_envs, bool)
        makespans: list[int] = []
        for i, (episode, job) in enumerate(zip(self.episodes, action.tolist(), strict=True)):
            rewards[i], done[i] = episode.step(int(job))
            if done[i]:
                makespans.append(episode.shop.result().makespan)
                self.episodes[i] = self._new()
        done_tensor = torch.as_tensor(done)
        return StepResult(obs=self._observe(), reward=torch.as_tensor(rewards),
                          terminated=done_tensor, truncated=torch.zeros_like(done_tensor),
                          info={"makespan": makespans})  # fmt: skip


class BlockingJobShopEnv(gym.Env):
    """``pgsuite/BlockingJobShop-v0``: one blocking instance per episode, for SB3 / sb3-contrib.

    Observation: every operation's features flattened, float32 ``[n m F]`` (departed operations
    read as started and done); :meth:`graph_observation` gives the dynamic graph. Action:
    ``Discrete(n)``, a job (``Discrete(n + 1)`` with ``allow_wait``: the last action waits);
    :meth:`action_masks` the jobs that can move now (MaskablePPO reads it). An invalid action is replaced by the lowest valid job and flagged in
    ``info["invalid_action"]``. Keyword arguments: the fields of :class:`BlockingEnvConfig`, and
    ``instance`` to fix the instance.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, instance: JobShopInstance | None = None, **kwargs: Any) -> None:
        super().__init__()
        if "shutdown_probabilities" in kwargs:
            kwargs["shutdown_probabilities"] = tuple(kwargs["shutdown_probabilities"])
        self.config = BlockingEnvConfig(**kwargs)
        self.instance = instance
        n, m = instance.durations.shape if instance is not None else (self.config.jobs,
                                                                       self.config.machines)  # fmt: skip
        self.action_space = gym.spaces.Discrete(n + self.config.allow_wait)
        size = n * m * len(NODE_FEATURES)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        self.episode: BlockingEpisode | None = None

    def _obs(self) -> np.ndarray:
        return operation_features(self.episode.shop).reshape(-1)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.episode = self.config.episode(int(self.np_random.integers(2**31 - 1)), self.instance)
        return self._obs(), {"instance": self.episode.shop.instance.name}

    def action_masks(self) -> np.ndarray:
        return self.episode.mask()

    def graph_observation(self) -> Data:
        return blocking_graph(self.episode.shop)

    def step(self, action: int):
        mask = self.action_masks()
        invalid = not (0 <= int(action) < len(mask) and mask[int(action)])
        job = int(np.flatnonzero(mask)[0]) if invalid else int(action)
        reward, done = self.episode.step(job)
        info: dict[str, Any] = {"invalid_action": invalid}
        if done:
            schedule = self.episode.shop.result()
            info.update(makespan=schedule.makespan, swaps=schedule.swaps)
        return self._obs(), reward, done, False, info
