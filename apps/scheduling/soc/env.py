"""SoC scheduling as reinforcement learning: a batched env for the core's PPO / REINFORCE and
the gymnasium env ``pgsuite/SoC-v0``.

An episode is one workload (``num_jobs`` jobs on the SoC). A step is one decision epoch's choice:
the action picks a ready slot (:mod:`~pgsuite.apps.scheduling.soc.features`), the task goes to its
earliest-finish PE (or, in the gym env with ``choose_pe``, to the chosen PE), and the simulator
runs to the next decision. The reward is minus the growth of the jobs-in-system integral since
the last decision, in ``time_unit_us`` (so an episode's return is minus the sum of its job
latencies over ``time_unit_us``: maximising it minimises the mean latency, Little's law). Every
finished episode's schedule passes the checker; its mean latency is in ``info``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch_geometric.data import Batch

from pgsuite.apps.scheduling.soc.ds3 import load_soc
from pgsuite.apps.scheduling.soc.features import NODE_FEATURES, FeatureBuilder, Observation
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload
from pgsuite.core.envs import StepResult
from pgsuite.core.errors import ConfigError


@dataclass(frozen=True)
class SoCEnvConfig:
    """What every episode of a SoC env is drawn from."""

    soc: str = "MULTIPLE_BAL"
    """A DS3 SoC name or a SoC file."""
    jobs: tuple[str, ...] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2")
    """Job mix NAME:PROBABILITY."""
    scales_us: tuple[float, ...] = (100.0,)
    """Mean inter-arrival times; each episode draws one uniformly (a load curriculum)."""
    noise_stds: tuple[float, ...] = (0.3,)
    """Execution-time noise levels; each episode draws one uniformly."""
    num_jobs: int = 50
    switching_delay_us: float = 0.0
    max_ready: int = 64
    """Ready slots offered (the first ready tasks, oldest job first)."""
    time_unit_us: float = 100.0
    """µs per unit of the time features and the reward."""

    def __post_init__(self) -> None:
        if not self.scales_us or not self.noise_stds:
            raise ConfigError("give at least one scale and one noise level")
        if self.max_ready < 1 or self.num_jobs < 1 or not self.time_unit_us > 0:
            raise ConfigError("max_ready and num_jobs must be >= 1 and time_unit_us > 0")
        for scale in self.scales_us:
            WorkloadConfig(jobs=self.jobs, scale_us=scale)  # validates the mix and the scale
        for noise in self.noise_stds:
            WorkloadConfig(jobs=self.jobs, noise_std=noise)

    def platform(self) -> Platform:
        return Platform(load_soc(self.soc), self.switching_delay_us)

    def workload(self, platform: Platform, seed: int) -> list:
        """The jobs of the episode seeded ``seed``: its scale and noise are drawn from it too."""
        rng = np.random.default_rng([seed, 1])
        scale = self.scales_us[int(rng.integers(len(self.scales_us)))]
        noise = self.noise_stds[int(rng.integers(len(self.noise_stds)))]
        config = WorkloadConfig(
            jobs=self.jobs, scale_us=scale, num_jobs=self.num_jobs, noise_std=noise, seed=seed
        )
        return generate_workload(platform, config)


class Episode:
    """One running workload: the simulator, its feature builder and the current ready tasks."""

    def __init__(self, config: SoCEnvConfig, platform: Platform, jobs: Sequence) -> None:
        self.config = config
        self.sim = SoCSimulator(platform, jobs)
        self.features = FeatureBuilder(self.sim, config.max_ready, config.time_unit_us)
        self.ready = self.sim.next_epoch()
        self.integral = 0.0

    def observe(self) -> Observation:
        return self.features.observe()

    def mask(self) -> np.ndarray:
        mask = np.zeros(self.config.max_ready, dtype=bool)
        mask[: min(len(self.ready), self.config.max_ready)] = True
        return mask

    def step(self, slot: int, pe: int | None = None) -> tuple[float, bool]:
        """Dispatch ready slot ``slot`` (to ``pe``, default its earliest-finish PE) and run to the
        next decision; returns (reward, done)."""
        task = int(self.ready[slot])
        if pe is None:
            pe = self.sim.earliest_finish_pe(task)
        self.sim.dispatch(task, pe)
        self.ready = self.sim.next_epoch()
        before, self.integral = self.integral, self.sim.latency_integral_us
        return -(self.integral - before) / self.config.time_unit_us, self.ready is None

    def mean_latency(self) -> float:
        """The checked run's mean latency (µs), once done."""
        return float(self.sim.result().latency_us.mean())


class SoCBatchEnv:
    """``num_envs`` episodes for the core's trainers (:class:`~pgsuite.core.envs.BatchedEnv`),
    observations as torch-geometric batches, PEs by earliest finish.

    Args:
        config: the episodes' distribution.
        num_envs: episodes side by side.
        shared_workload: every env runs the same workload (the same arrivals and noise), as
            Decima's input-dependent baseline needs.
    """

    def __init__(self, config: SoCEnvConfig, num_envs: int, shared_workload: bool = False) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, got {num_envs}")
        self.config, self.num_envs, self.shared = config, num_envs, shared_workload
        self.platform = config.platform()
        self.episodes: list[Episode] = []
        self.rng = np.random.default_rng(0)

    def _new_seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def _observe(self) -> Batch:
        return Batch.from_data_list([e.observe().to_data() for e in self.episodes])

    def reset(self, seed: int | None = None) -> Batch:
        self.rng = np.random.default_rng(seed)
        if self.shared:
            jobs = self.config.workload(self.platform, self._new_seed())
            self.episodes = [
                Episode(self.config, self.platform, jobs) for _ in range(self.num_envs)
            ]
        else:
            self.episodes = [
                Episode(self.config, self.platform, self.config.workload(self.platform, s))
                for s in (self._new_seed() for _ in range(self.num_envs))
            ]
        return self._observe()

    def action_masks(self) -> torch.Tensor:
        return torch.as_tensor(np.stack([e.mask() for e in self.episodes]))

    def step(self, action: torch.Tensor) -> StepResult:
        rewards, done = np.zeros(self.num_envs, dtype=np.float32), np.zeros(self.num_envs, bool)
        latencies: list[float] = []
        for i, (episode, slot) in enumerate(zip(self.episodes, action.tolist(), strict=True)):
            rewards[i], done[i] = episode.step(int(slot))
            if done[i]:
                latencies.append(episode.mean_latency())
                jobs = self.config.workload(self.platform, self._new_seed())
                self.episodes[i] = Episode(self.config, self.platform, jobs)
        done_tensor = torch.as_tensor(done)
        return StepResult(
            obs=self._observe(),
            reward=torch.as_tensor(rewards),
            terminated=done_tensor,
            truncated=torch.zeros_like(done_tensor),
            info={"mean_latency_us": latencies},
        )


class SoCEnv(gym.Env):
    """``pgsuite/SoC-v0``: one workload per episode, for SB3 / sb3-contrib.

    Observation ``"flat"``: float32 ``[max_ready * F + G]``, the node features of the ready slots
    (zeros for empty slots) and the global features. ``"graph"``: a ``Dict`` of the padded graph,
    ``x`` ``[max_nodes, F]``, ``edge_index`` ``[2, max_edges]`` (-1 padding), ``job``
    ``[max_nodes]`` (-1 padding), ``ready_node`` ``[max_ready]`` (-1 padding) and ``u`` ``[G]``;
    nodes and edges beyond the caps are dropped (the oldest jobs are kept). Action:
    ``Discrete(max_ready)`` (a slot; the PE by earliest finish) or, with ``choose_pe``,
    ``Discrete(max_ready * P)`` (slot ``a // P`` on PE ``a % P``). :meth:`action_masks` gives the
    valid ones; an invalid action is replaced by the first valid one and flagged in
    ``info["invalid_action"]``.

    Args:
        soc, jobs, scale_us, noise_std, num_jobs, switching_delay_us, max_ready, time_unit_us:
            the episode (see :class:`SoCEnvConfig`).
        observation: ``"flat"`` or ``"graph"``.
        choose_pe: the action picks the PE too.
        max_nodes, max_edges: caps of the graph observation.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self,
        soc: str = "MULTIPLE_BAL",
        jobs: Sequence[str] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2"),
        scale_us: float = 100.0,
        noise_std: float = 0.3,
        num_jobs: int = 20,
        switching_delay_us: float = 0.0,
        max_ready: int = 16,
        time_unit_us: float = 100.0,
        observation: str = "flat",
        choose_pe: bool = False,
        max_nodes: int = 256,
        max_edges: int = 512,
    ) -> None:
        if observation not in ("flat", "graph"):
            raise ConfigError(f"observation must be 'flat' or 'graph', got {observation!r}")
        self.config = SoCEnvConfig(soc, tuple(jobs), (float(scale_us),), (float(noise_std),),
                                   num_jobs, switching_delay_us, max_ready, time_unit_us)  # fmt: skip
        self.platform = self.config.platform()
        self.observation, self.choose_pe = observation, choose_pe
        self.max_nodes, self.max_edges = max_nodes, max_edges
        features = len(NODE_FEATURES)
        globals_ = 2 + len(np.unique(self.platform.cluster))
        pes = self.platform.num_pes
        self.action_space = gym.spaces.Discrete(max_ready * (pes if choose_pe else 1))
        if observation == "flat":
            size = max_ready * features + globals_
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        else:
            box = gym.spaces.Box
            self.observation_space = gym.spaces.Dict({
                "x": box(-np.inf, np.inf, (max_nodes, features), dtype=np.float32),
                "edge_index": box(-1, max_nodes, (2, max_edges), dtype=np.int64),
                "job": box(-1, max_nodes, (max_nodes,), dtype=np.int64),
                "ready_node": box(-1, max_nodes, (max_ready,), dtype=np.int64),
                "u": box(-np.inf, np.inf, (globals_,), dtype=np.float32),
            })  # fmt: skip
        self.episode: Episode | None = None

    def _obs(self) -> Any:
        assert self.episode is not None
        obs = self.episode.observe()
        if self.observation == "flat":
            slots = np.zeros((self.config.max_ready, len(NODE_FEATURES)), dtype=np.float32)
            slots[: len(obs.ready_node)] = obs.x[obs.ready_node]
            return np.concatenate([slots.reshape(-1), obs.u])
        n = min(len(obs.x), self.max_nodes)
        x = np.zeros((self.max_nodes, len(NODE_FEATURES)), dtype=np.float32)
        x[:n] = obs.x[:n]
        job = np.full(self.max_nodes, -1, dtype=np.int64)
        job[:n] = obs.job[:n]
        kept = obs.edge_index[:, (obs.edge_index < n).all(axis=0)][:, : self.max_edges]
        edges = np.full((2, self.max_edges), -1, dtype=np.int64)
        edges[:, : kept.shape[1]] = kept
        ready = np.full(self.config.max_ready, -1, dtype=np.int64)
        shown = obs.ready_node[obs.ready_node < n]
        ready[: len(shown)] = shown
        return {"x": x, "edge_index": edges, "job": job, "ready_node": ready, "u": obs.u}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        jobs = self.config.workload(self.platform, int(self.np_random.integers(2**31 - 1)))
        self.episode = Episode(self.config, self.platform, jobs)
        return self._obs(), {}

    def action_masks(self) -> np.ndarray:
        assert self.episode is not None
        slots = self.episode.mask()
        if not self.choose_pe:
            return slots
        runs = np.zeros((self.config.max_ready, self.platform.num_pes), dtype=bool)
        for slot in np.flatnonzero(slots):
            runs[slot] = np.isfinite(self.episode.sim.mean_time[self.episode.ready[slot]])
        return runs.reshape(-1)

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict]:
        assert self.episode is not None
        mask = self.action_masks()
        info: dict[str, Any] = {"invalid_action": not bool(mask[int(action)])}
        if info["invalid_action"]:
            action = int(np.flatnonzero(mask)[0])
        if self.choose_pe:
            slot, pe = divmod(int(action), self.platform.num_pes)
            reward, done = self.episode.step(slot, pe)
        else:
            reward, done = self.episode.step(int(action))
        if done:
            info["mean_latency_us"] = self.episode.mean_latency()
            return self._terminal_obs(), reward, True, False, info
        return self._obs(), reward, False, False, info

    def _terminal_obs(self) -> Any:
        """The observation after the last decision: empty (every job is done)."""
        if self.observation == "flat":
            return np.zeros(self.observation_space.shape, np.float32)
        return {key: np.full(space.shape, -1 if space.dtype == np.int64 else 0, space.dtype)
                for key, space in self.observation_space.spaces.items()}  # fmt: skip
