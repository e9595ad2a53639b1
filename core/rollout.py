"""On-policy rollout storage for batched environments.

:class:`RolloutBuffer` holds ``num_steps`` transitions of ``num_envs`` environments, computes GAE
advantages, and yields shuffled minibatches over the flattened ``num_steps * num_envs`` samples.
Observations are tensors (stored as one ``[T, B, *obs_shape]`` tensor) or torch-geometric batches
(stored as their graphs and re-batched per minibatch with ``Batch.from_data_list``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from pgsuite.core.advantages import gae
from pgsuite.core.envs import Observation


@dataclass
class Minibatch:
    """One minibatch of flattened rollout samples; tensors are ``[M, ...]``."""

    obs: Observation
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    action_masks: torch.Tensor | None


class RolloutBuffer:
    """Fixed-size buffer of ``num_steps`` x ``num_envs`` transitions.

    Call :meth:`add` once per environment step, then :meth:`compute_advantages`, then iterate
    :meth:`minibatches`; :meth:`reset` empties it for the next rollout.
    """

    def __init__(self, num_steps: int, num_envs: int, device: str | torch.device = "cpu") -> None:
        self.num_steps, self.num_envs, self.device = num_steps, num_envs, torch.device(device)
        shape = (num_steps, num_envs)
        self.log_probs = torch.zeros(shape, device=self.device)
        self.values = torch.zeros(shape, device=self.device)
        self.rewards = torch.zeros(shape, device=self.device)
        self.dones = torch.zeros(shape, device=self.device)
        self.obs: torch.Tensor | list[list[object]] | None = None
        self.actions: torch.Tensor | None = None
        self.action_masks: torch.Tensor | None = None
        self.advantages: torch.Tensor | None = None
        self.returns: torch.Tensor | None = None
        self.pos = 0

    def reset(self) -> None:
        self.pos = 0
        self.advantages = self.returns = None

    @property
    def full(self) -> bool:
        return self.pos == self.num_steps

    def _needs_storage(self, storage: torch.Tensor | None, item: torch.Tensor) -> bool:
        """Whether ``storage`` must be (re)allocated for ``item``: at the first step, or when a
        new rollout brings another shape (e.g. a curriculum over instance sizes)."""
        if storage is None or storage.shape[1:] == item.shape:
            return storage is None
        if self.pos != 0:
            raise ValueError(
                f"shape changed within a rollout: {tuple(storage.shape[1:])} -> {tuple(item.shape)}"
            )
        return True

    def add(
        self,
        obs: Observation,
        action: torch.Tensor,
        log_prob: torch.Tensor,
        value: torch.Tensor,
        reward: torch.Tensor,
        done: torch.Tensor,
        action_mask: torch.Tensor | None = None,
    ) -> None:
        """Store one step. Shapes: ``action [B, ...]``; ``log_prob, value, reward, done [B]``;
        ``action_mask [B, num_actions]``; ``done`` is 1 where the episode ended at this step."""
        if self.full:
            raise RuntimeError("rollout buffer is full; call reset() first")
        t = self.pos
        if isinstance(obs, torch.Tensor):
            if self._needs_storage(self.obs, obs):
                self.obs = torch.zeros(
                    (self.num_steps, *obs.shape), dtype=obs.dtype, device=self.device
                )
            self.obs[t] = obs
        else:
            if self.obs is None or t == 0:
                self.obs = []
            self.obs.append(obs.to_data_list())
        if self._needs_storage(self.actions, action):
            self.actions = torch.zeros(
                (self.num_steps, *action.shape), dtype=action.dtype, device=self.device
            )
        self.actions[t] = action
        if action_mask is not None:
            if self._needs_storage(self.action_masks, action_mask):
                self.action_masks = torch.zeros(
                    (self.num_steps, *action_mask.shape), dtype=torch.bool, device=self.device
                )
            self.action_masks[t] = action_mask
        self.log_probs[t] = log_prob.detach()
        self.values[t] = value.detach()
        self.rewards[t] = reward
        self.dones[t] = done.float()
        self.pos += 1

    def compute_advantages(self, last_value: torch.Tensor, gamma: float, lam: float) -> None:
        """GAE(gamma, lambda) over the full buffer; ``last_value [B]`` is V(s_T) of the next obs."""
        if not self.full:
            raise RuntimeError(f"buffer holds {self.pos} of {self.num_steps} steps")
        self.advantages, self.returns = gae(
            self.rewards, self.values, self.dones, last_value.detach(), gamma, lam
        )

    def _gather_obs(self, index: torch.Tensor) -> Observation:
        if isinstance(self.obs, torch.Tensor):
            return self.obs.flatten(0, 1)[index]
        from torch_geometric.data import Batch

        graphs = [graph for step in self.obs for graph in step]
        return Batch.from_data_list([graphs[i] for i in index.tolist()])

    def minibatches(
        self, num_minibatches: int, generator: torch.Generator | None = None
    ) -> Iterator[Minibatch]:
        """Yield ``num_minibatches`` shuffled minibatches covering every sample once."""
        if self.advantages is None or self.returns is None:
            raise RuntimeError("call compute_advantages() before minibatches()")
        total = self.num_steps * self.num_envs
        if not 1 <= num_minibatches <= total:
            raise ValueError(f"num_minibatches must be in [1, {total}], got {num_minibatches}")
        order = torch.randperm(total, generator=generator).to(self.device)
        actions = self.actions.flatten(0, 1)
        masks = self.action_masks.flatten(0, 1) if self.action_masks is not None else None
        for index in order.tensor_split(num_minibatches):
            yield Minibatch(
                obs=self._gather_obs(index),
                actions=actions[index],
                log_probs=self.log_probs.flatten()[index],
                values=self.values.flatten()[index],
                advantages=self.advantages.flatten()[index],
                returns=self.returns.flatten()[index],
                action_masks=masks[index] if masks is not None else None,
            )
