"""Exact optima and heuristic benchmarks for the inventory settings.

Timing convention (shared with the simulator), each period ``t``, lead time ``L >= 1``:

1. the order placed ``L`` periods ago arrives and is added to on-hand inventory ``x``;
2. the policy observes ``x`` and the pipeline ``q_1..q_{L-1}`` (``q_i`` arrives in ``i`` periods)
   and orders ``a``, which arrives at the start of period ``t + L``;
3. demand ``d`` occurs: with lost sales ``min(x, d)`` is sold and the rest is lost; with backlog
   ``x`` may go negative;
4. cost on end-of-period inventory: ``h (x - d)^+ + p (d - x)^+`` (lost sales: ``p`` per lost unit).

Costs are per period (the long-run average); quantities are in units of the product. The order
placed in period ``t`` first meets demand in period ``t + L``, so it covers ``L + 1`` periods of
demand (``t..t+L``) in the backlog formulas.

* Lost sales, Poisson demand, integer orders: relative value iteration over ``(x, q_1..q_{L-1})``
  (:func:`lost_sales_optimum`), exact costs of fixed policies on the same chain
  (:func:`lost_sales_policy_cost`) and the best (capped) base-stock policies. With the convention
  above this reproduces Zipkin's (2008) optima (Poisson(5), ``h = 1``): 4.40 (``L=2, p=4``),
  7.66 (``L=2, p=19``), 4.73 (``L=4, p=4``), 8.89 (``L=4, p=19``), and Xin's capped base-stock
  cost 4.80 at ``L=4, p=4``.
* Backlog, one stage, i.i.d. Normal demand (not clipped): base-stock is optimal; closed form.
* Serial line, backlog, Normal demand: echelon base-stock (Clark-Scarf) by the Gallego-Zipkin
  recursion on a lattice (:func:`serial_echelon_optimum`).
* Transshipment centre (holds no stock, ships all it receives), backlog, correlated Normal
  demand: a lower bound from the centralised relaxation (:func:`transshipment_lower_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
from scipy import optimize, sparse
from scipy.stats import norm, poisson

from pgsuite.core.errors import ConfigError
from pgsuite.core.newsvendor import expected_newsvendor_cost, newsvendor_optimum

_MAX_TRANSITIONS = 200_000_000  # nonzeros of the (state, order) -> next-state matrix (~6 GB)


def _check_lost_sales(demand_mean: float, lead_time: int, holding: float, penalty: float) -> None:
    if demand_mean <= 0:
        raise ConfigError(f"demand_mean must be > 0, got {demand_mean}")
    _check_lead_time(lead_time)
    if lead_time > 6:
        raise ConfigError(f"lost-sales lead_time must be <= 6, got {lead_time}")
    if holding < 0:
        raise ConfigError(f"holding cost must be >= 0, got {holding}")
    if penalty <= 0:
        raise ConfigError(f"penalty must be > 0, got {penalty}")


def _simplex(dims: int, bound: int) -> np.ndarray:
    """All nonnegative integer vectors of length ``dims`` with sum ``<= bound``, shape (n, dims).

    Rows are sorted by the key ``sum_i v_i (bound + 1)^i``: the first coordinate varies fastest.
    """
    points = np.zeros((1, 0), dtype=np.int64)
    for _ in range(dims):
        counts = bound - points.sum(axis=1) + 1
        starts = np.cumsum(counts) - counts
        first = np.arange(counts.sum()) - np.repeat(starts, counts)
        points = np.column_stack([first, np.repeat(points, counts, axis=0)])
    return points


class _LostSalesChain:
    """The lost-sales Markov decision chain on states ``s = (x, q_1..q_{L-1})`` with position
    ``x + sum q <= bound`` (closed under orders with ``x + sum q + a <= bound``).

    After order ``a`` and demand ``d`` the state moves to ``((x - d)^+ + q_1, q_2..q_{L-1}, a)``
    (``L = 1``: ``(x - d)^+ + a``). ``(x - d)^+ = k`` has probability ``P(D = x - k)`` for
    ``k >= 1`` and ``P(D >= x)`` for ``k = 0``, so each (state, order) row has ``x + 1`` entries,
    and they are consecutive state indices since the first coordinate varies fastest.
    """

    def __init__(
        self, demand_mean: float, lead_time: int, holding: float, penalty: float, bound: int
    ) -> None:
        self.states = _simplex(lead_time, bound)
        self.radix = (bound + 1) ** np.arange(lead_time)
        self.keys = self.states @ self.radix
        self.position = self.states.sum(axis=1)
        x = np.arange(bound + 1)
        # Poisson D: E(D - x)^+ = mu P(D >= x - 1) - x P(D >= x), E(x - D)^+ = x - mu + E(D - x)^+
        shortage = demand_mean * poisson.sf(x - 2, demand_mean) - x * poisson.sf(x - 1, demand_mean)
        per_on_hand = holding * (x - demand_mean + shortage) + penalty * shortage
        self.cost = per_on_hand[self.states[:, 0]]
        self.weight = poisson.pmf(x[:, None] - x[None, :], demand_mean)  # [x, k] = P((x - D)^+ = k)
        self.weight[:, 0] = poisson.sf(x - 1, demand_mean)

    def transitions(self, state: np.ndarray, order: np.ndarray) -> sparse.csr_array:
        """Rows ``P[(s, a), s']`` for state indices ``state`` and orders ``order``."""
        on_hand = self.states[state, 0]
        base = np.searchsorted(
            self.keys, np.column_stack([self.states[state, 1:], order]) @ self.radix
        )
        lengths = on_hand + 1
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        survivors = np.arange(indptr[-1]) - np.repeat(indptr[:-1], lengths)
        return sparse.csr_array(
            (
                self.weight[np.repeat(on_hand, lengths), survivors],
                np.repeat(base, lengths) + survivors,
                indptr,
            ),
            shape=(len(state), len(self.states)),
        )


def _relative_value_iteration(
    cost: np.ndarray,
    continuation: Callable[[np.ndarray], np.ndarray],
    tol: float,
    max_iterations: int,
) -> tuple[np.ndarray, tuple[float, float], int]:
    """Iterate ``V <- c + continuation(V) - (.)[0]`` until ``span(TV - V) < tol``.

    Returns ``(V, (min(TV - V), max(TV - V)), iterations)``; the average cost lies in the bounds.
    """
    value, bounds = np.zeros_like(cost), (-math.inf, math.inf)
    for iteration in range(1, max_iterations + 1):
        updated = cost + continuation(value)
        change = updated - value
        bounds = (float(change.min()), float(change.max()))
        value = updated - updated[0]
        if bounds[1] - bounds[0] < tol:
            return value, bounds, iteration
    raise ConfigError(
        f"value iteration did not converge in {max_iterations} iterations "
        f"(span {bounds[1] - bounds[0]:.1e} > tol {tol:.1e}); raise max_iterations or tol"
    )


@dataclass(eq=False)
class LostSalesSolution:
    """Optimal lost-sales policy: average cost per period and the order in every state.

    ``states`` (n, L) lists ``(on-hand after arrival, q_1..q_{L-1})`` with position
    ``<= max_position``; ``actions[i]`` is the optimal order in ``states[i]``.
    """

    cost: float
    cost_bounds: tuple[float, float]
    iterations: int
    max_position: int
    states: np.ndarray = field(repr=False)
    actions: np.ndarray = field(repr=False)

    @cached_property
    def _radix(self) -> np.ndarray:
        return (self.max_position + 1) ** np.arange(self.states.shape[1])

    @cached_property
    def _keys(self) -> np.ndarray:
        return self.states @ self._radix

    def orders(self, states: np.ndarray) -> np.ndarray:
        """Optimal orders for integer states of shape (..., L): ``(on_hand, q_1..q_{L-1})``."""
        states = np.asarray(states, dtype=np.int64)
        if states.shape[-1:] != self.states.shape[1:]:
            raise ConfigError(
                f"states need {self.states.shape[1]} entries (on-hand, then the pipeline), "
                f"got shape {states.shape}"
            )
        if (states < 0).any() or (states.sum(axis=-1) > self.max_position).any():
            raise ConfigError(
                f"state outside the solved region (nonnegative, on-hand + pipeline <= "
                f"{self.max_position}); solve with a larger max_position"
            )
        return self.actions[np.searchsorted(self._keys, states @ self._radix)]

    def order(self, on_hand: int, pipeline: Sequence[int]) -> int:
        """Optimal order given on-hand (after arrival) and ``q_1..q_{L-1}``."""
        return int(self.orders(np.array([on_hand, *pipeline])))


def _default_bound(demand_mean: float, lead_time: int, holding: float, penalty: float) -> int:
    """Quantile of ``(L+1)``-period demand with tail ``max(h / (h + p), 1e-4) / 100``.

    It lies well above the backlog base-stock level (tail ``h / (h + p)``), which bounds the
    optimal order-up-to position (Morton 1971; checked in the tests), so the bound does not bind.
    """
    tail = max(holding / (holding + penalty), 1e-4) / 100
    return int(poisson.isf(tail, (lead_time + 1) * demand_mean))


def _check_size(lead_time: int, bound: int) -> None:
    # sum over (state, order) of (x + 1) = number of (L + 2)-vectors with sum <= bound
    if math.comb(bound + lead_time + 2, lead_time + 2) > _MAX_TRANSITIONS:
        raise ConfigError(
            f"lost-sales chain too large for lead_time={lead_time}, max_position={bound}; "
            "lower lead_time, demand_mean or max_position"
        )


def lost_sales_optimum(
    demand_mean: float,
    lead_time: int,
    holding: float,
    penalty: float,
    max_position: int | None = None,
    tol: float = 1e-7,
    max_iterations: int = 20_000,
) -> LostSalesSolution:
    """Optimal average cost of the lost-sales system with Poisson(``demand_mean``) demand.

    Timing as in the module docstring: state ``(x, q_1..q_{L-1})`` after the arrival, cost
    ``c(x) = h E(x - D)^+ + p E(D - x)^+`` (closed form) on end-of-period stock and lost units.
    Relative value iteration ``V(s) <- c(x) + min_a E V(s'(s, a, D)) - (.)[0]`` over states with
    ``x + sum q <= U`` and orders with ``x + sum q + a <= U`` (``U = max_position``, default
    :func:`_default_bound`). Stops when ``span(TV - V) < tol`` (cost per period);
    ``min/max(TV - V)`` bound the optimal average cost and ``cost`` is their midpoint. Raising
    ``U`` leaves the answer unchanged (checked in the tests). Size: ``C(U + L + 2, L + 2)``
    transition entries (14 million, about 1.5 s, for ``L = 4``, ``p = 19``, mean 5).
    """
    _check_lost_sales(demand_mean, lead_time, holding, penalty)
    bound = (
        _default_bound(demand_mean, lead_time, holding, penalty)
        if max_position is None
        else max_position
    )
    if bound < 0:
        raise ConfigError(f"max_position must be >= 0, got {max_position}")
    _check_size(lead_time, bound)
    chain = _LostSalesChain(demand_mean, lead_time, holding, penalty, bound)
    room = bound - chain.position + 1  # orders 0..U - position in each state
    starts = np.cumsum(room) - room
    state = np.repeat(np.arange(len(chain.states)), room)
    order = np.arange(len(state)) - starts[state]
    transitions = chain.transitions(state, order)
    value, bounds, iterations = _relative_value_iteration(
        chain.cost,
        lambda v: np.minimum.reduceat(transitions @ v, starts),
        tol,
        max_iterations,
    )
    best = np.lexsort((transitions @ value, state))[starts] - starts  # first minimiser per state
    return LostSalesSolution(
        cost=(bounds[0] + bounds[1]) / 2,
        cost_bounds=bounds,
        iterations=iterations,
        max_position=bound,
        states=chain.states,
        actions=best,
    )


def lost_sales_policy_cost(
    policy: Callable[[np.ndarray], np.ndarray],
    demand_mean: float,
    lead_time: int,
    holding: float,
    penalty: float,
    max_position: int,
    tol: float = 1e-9,
) -> float:
    """Exact average cost per period of a stationary lost-sales policy (Poisson demand).

    ``policy`` maps integer states (n, L) ``(x, q_1..q_{L-1})`` with ``x + sum q <= max_position``
    to orders (n,); they must keep ``x + sum q + a <= max_position``. Relative value iteration of
    ``V <- c + P_policy V`` to ``span < tol``; returns the midpoint of the bounds. Assumes one
    recurrent class (true for the policies here); transient states do not affect the cost.
    """
    _check_lost_sales(demand_mean, lead_time, holding, penalty)
    _check_size(lead_time, max_position)
    chain = _LostSalesChain(demand_mean, lead_time, holding, penalty, max_position)
    order = np.asarray(policy(chain.states), dtype=np.int64)
    if (order < 0).any() or (chain.position + order > max_position).any():
        raise ConfigError(f"policy orders below 0 or beyond max_position={max_position}")
    transitions = chain.transitions(np.arange(len(chain.states)), order)
    _, bounds, _ = _relative_value_iteration(
        chain.cost, lambda v: transitions @ v, tol, max_iterations=1_000_000
    )
    return (bounds[0] + bounds[1]) / 2


def _capped_base_stock_cost(
    demand_mean: float, lead_time: int, holding: float, penalty: float, level: int, cap: int | None
) -> float:
    """Cost of ``a = min((S - x - sum q)^+, cap)`` on the chain bounded by ``S``, which holds its
    recurrent states; ``cap=None`` is the standard base-stock policy."""
    if level < 0 or (cap is not None and cap < 0):
        return math.inf
    return lost_sales_policy_cost(
        lambda s: np.clip(level - s.sum(axis=1), 0, cap),
        demand_mean,
        lead_time,
        holding,
        penalty,
        max_position=level,
    )


def _descend(cost: Callable[[int], float], start: int, rel_tol: float = 1e-6) -> int:
    """Integer local minimum of ``cost`` by unit steps from ``start`` (global if convex); a step
    is taken only if it lowers the cost by more than ``rel_tol`` (flat tails end the walk)."""

    def better(a: int, b: int) -> bool:
        return cost(a) < cost(b) * (1 - rel_tol)

    step = -1 if better(start - 1, start) else 1
    while better(start + step, start):
        start += step
    return start


def _backlog_level(demand_mean: float, lead_time: int, holding: float, penalty: float) -> int:
    """``F^{-1}_{L+1}(p / (p + h))``: the optimal base-stock level were sales backlogged."""
    return int(poisson.ppf(penalty / (penalty + holding), (lead_time + 1) * demand_mean))


def best_base_stock_lost_sales(
    demand_mean: float, lead_time: int, holding: float, penalty: float
) -> tuple[int, float]:
    """Best standard base-stock policy ``a = (S - x - sum q)^+`` for lost sales: ``(S, cost)``.

    Exact costs (:func:`lost_sales_policy_cost`); the cost is convex in ``S`` (Janakiraman and
    Roundy 2004), so a descent from the backlog level finds ``S*``.
    """
    _check_lost_sales(demand_mean, lead_time, holding, penalty)
    cost = cache(
        lambda s: _capped_base_stock_cost(demand_mean, lead_time, holding, penalty, s, None)
    )
    level = _descend(cost, _backlog_level(demand_mean, lead_time, holding, penalty))
    return level, cost(level)


def best_capped_base_stock_lost_sales(
    demand_mean: float, lead_time: int, holding: float, penalty: float
) -> tuple[int, int, float]:
    """Best capped base-stock policy ``a = min((S - x - sum q)^+, r)`` (Xin 2021): ``(S, r, cost)``.

    Exact costs; integer local search: for a cap ``r``, a descent in ``S`` from the backlog level;
    over ``r``, a descent from ``ceil(demand_mean)`` (smaller caps cannot keep up with demand).
    """
    _check_lost_sales(demand_mean, lead_time, holding, penalty)
    cost = cache(
        lambda s, r: _capped_base_stock_cost(demand_mean, lead_time, holding, penalty, s, r)
    )
    start = _backlog_level(demand_mean, lead_time, holding, penalty)
    best_level = cache(lambda r: _descend(lambda s: cost(s, r), start))
    cap = _descend(lambda r: cost(best_level(r), r), max(1, math.ceil(demand_mean)))
    return best_level(cap), cap, cost(best_level(cap), cap)


def _check_normal(mean: float, std: float, penalty: float) -> None:
    if std <= 0:
        raise ConfigError(f"demand std must be > 0, got {std}")
    if penalty <= 0:
        raise ConfigError(f"penalty must be > 0, got {penalty}")
    if not math.isfinite(mean):
        raise ConfigError(f"demand mean must be finite, got {mean}")


def _check_lead_time(lead_time: int) -> None:
    if not isinstance(lead_time, int | np.integer) or lead_time < 1:
        raise ConfigError(f"lead times must be integers >= 1, got {lead_time!r}")


def backlog_base_stock_cost(
    level: float, mean: float, std: float, lead_time: int, holding: float, penalty: float
) -> float:
    """Average cost per period of base-stock level ``S`` with backlog and Normal(mean, std) demand.

    The order placed now meets the demand of ``L + 1`` periods, ``D ~ N((L+1) mu, (L+1) sigma^2)``:
    ``h (S - (L+1) mu) + (h + p) sigma_L G((S - (L+1) mu) / sigma_L)``, ``sigma_L = sqrt(L+1)
    sigma``, ``G(z) = phi(z) - z (1 - Phi(z))`` the normal loss function.
    """
    _check_normal(mean, std, penalty)
    _check_lead_time(lead_time)
    periods = lead_time + 1
    return expected_newsvendor_cost(
        level, periods * mean, math.sqrt(periods) * std, holding, penalty
    )


def backlog_base_stock_optimum(
    mean: float, std: float, lead_time: int, holding: float, penalty: float
) -> tuple[float, float]:
    """Optimal base-stock level and its average cost per period (backlog, Normal demand).

    ``S* = (L+1) mu + z sigma_L``, ``z = Phi^{-1}(p / (p + h))``, cost ``(h + p) sigma_L phi(z)``,
    ``sigma_L = sqrt(L+1) sigma`` (``L + 1`` periods of demand, see the module docstring).
    """
    _check_normal(mean, std, penalty)
    _check_lead_time(lead_time)
    periods = lead_time + 1
    return newsvendor_optimum(periods * mean, math.sqrt(periods) * std, holding, penalty)


@dataclass(frozen=True)
class SerialSolution:
    """Optimal echelon base-stock levels (store first) and the simulator's average cost."""

    levels: list[float]
    cost: float


def _argmin(values: np.ndarray) -> tuple[float, float]:
    """Interior minimiser (fractional index) and minimum of a sampled convex function, refined
    by a parabola through the lowest sample and its neighbours."""
    i = int(np.argmin(values))
    if not 0 < i < len(values) - 1:
        raise ConfigError(
            "echelon optimum at the edge of the lattice; demand parameters too extreme"
        )
    left, mid, right = values[i - 1 : i + 2]
    shift = (left - right) / (2 * (left - 2 * mid + right))
    return i + shift, mid - (left - right) * shift / 4


def serial_echelon_optimum(
    mean: float,
    std: float,
    lead_times: Sequence[int],
    holding: Sequence[float],
    penalty: float,
    grid: int = 128,
) -> SerialSolution:
    """Clark-Scarf optimum of a serial line with backlog and i.i.d. Normal(mean, std) demand.

    Stage 0 is the store (facing demand, penalty ``p`` per unit backlogged at the end of a
    period), stage ``k`` supplies stage ``k - 1`` after ``L_k`` periods, the last stage orders
    from an ample supplier. ``holding[k] = h_k`` is charged per unit on hand at stage ``k`` at the
    end of a period (store: on positive stock); echelon holding costs ``e_k = h_k - h_{k+1}``
    (``h_K = 0``) must be ``>= 0``. Demand is not clipped (orders may then be negative).

    With ``IN_k`` the end-of-period echelon net inventory (stock at stages ``<= k`` and in transit
    to stages ``< k``, less the store backlog ``B``) and ``T_j`` the stock in transit to stage
    ``j``, the simulator's cost is ``sum_k e_k IN_k + (h_0 + p) B - sum_{j<K-1} h_{j+1} T_j``.
    Recursion (``D_n``: ``n``-period demand, Normal): ``C_0(y) = E[e_0 (y - D_{L_0+1}) +
    (h_0 + p)(D_{L_0+1} - y)^+]``, ``C_k(y) = E[e_k (y - D_{L_k} - mu) + C_{k-1}(min(S_{k-1},
    y - D_{L_k}))]``, ``S_k = argmin C_k``. In-transit stock is not charged: its mean
    ``mu L_j`` per link is subtracted, so ``cost = C_{K-1}(S_{K-1}) - mu sum_{j<K-1} h_{j+1} L_j``
    is what a simulator charging on-hand holding and store backlog measures.

    ``C_k`` are sampled on the lattice ``{i sigma / grid}``; the ``n``-period demand is the
    normal density sampled on the lattice within 8 standard deviations, normalised.
    """
    _check_normal(mean, std, penalty)
    if len(lead_times) != len(holding) or not lead_times:
        raise ConfigError("lead_times and holding need one entry per stage (at least one)")
    for lead_time in lead_times:
        _check_lead_time(lead_time)
    installation = np.asarray(holding, dtype=float)
    echelon = installation - np.append(installation[1:], 0.0)
    if (echelon < 0).any():
        raise ConfigError(f"holding costs must be >= 0 and not increase upstream, got {holding}")
    if grid < 2:
        raise ConfigError(f"grid must be >= 2 lattice points per std, got {grid}")
    step = std / grid
    kernels, offsets = [], []  # L_k-period demand on lattice indices offset .. offset + len - 1
    for lead_time in lead_times:
        first = math.floor((lead_time * mean - 8 * std * math.sqrt(lead_time)) / step)
        last = math.ceil((lead_time * mean + 8 * std * math.sqrt(lead_time)) / step)
        weights = norm.pdf(
            np.arange(first, last + 1) * step, lead_time * mean, std * math.sqrt(lead_time)
        )
        kernels.append(weights / weights.sum())
        offsets.append(first)
    # lattice range of C_k: the top stage's around its echelon demand, widened downwards by kernels
    periods = sum(lead_times) + 1
    low = math.floor((periods * mean - 8 * std * math.sqrt(periods)) / step)
    high = math.ceil((periods * mean + 8 * std * math.sqrt(periods)) / step)
    ranges = [(low, high)]
    for k in range(len(lead_times) - 1, 0, -1):
        low, high = low - (offsets[k] + len(kernels[k]) - 1), high - offsets[k]
        ranges.insert(0, (low, high))
    low, high = ranges[0]
    sigma = std * math.sqrt(lead_times[0] + 1)
    y = np.arange(low, high + 1) * step - (lead_times[0] + 1) * mean
    values = echelon[0] * y + (holding[0] + penalty) * sigma * (
        norm.pdf(y / sigma) - y / sigma * norm.sf(y / sigma)
    )
    levels = []
    for k in range(len(lead_times)):
        index, minimum = _argmin(values)
        levels.append(float((ranges[k][0] + index) * step))
        if k + 1 == len(lead_times):
            break
        x = np.arange(ranges[k][0], ranges[k][1] + 1) * step
        induced = np.where(x < levels[-1], values, minimum)
        values = np.convolve(echelon[k + 1] * (x - mean) + induced, kernels[k + 1], mode="valid")
    pipeline = mean * sum(h * lead for h, lead in zip(holding[1:], lead_times[:-1], strict=True))
    return SerialSolution(levels=levels, cost=float(minimum - pipeline))


def transshipment_lower_bound(
    means: Sequence[float],
    stds: Sequence[float],
    correlation: float,
    store_lead_time: int,
    centre_lead_time: int,
    holding: float,
    penalty: float,
    quadrature_points: int = 64,
) -> tuple[float, float]:
    """Lower bound on the average cost of a transshipment system: ``(system level, cost)``.

    A centre with lead time ``L_c`` ships everything it receives to ``n`` stores with lead time
    ``l`` (same ``h`` and ``p`` everywhere; backlog; demand Normal per period, correlated across
    stores, independent over time). Relaxation: when a centre shipment arrives, the stores' whole
    inventory positions may be re-split at will (negative transfers allowed). The best split
    equalises the stores' critical fractiles, ``y_s = (l+1) mu_s + z sqrt(l+1) sigma_s``, so the
    stores cost as one newsvendor with mean ``(l+1) sum mu`` and std ``sqrt(l+1) sum sigma`` at the
    system position ``Y``; the relaxed system is a single location with lead time ``L_c`` and that
    convex cost, for which base-stock on the system position is optimal:
    ``min_S E[G(S - D_Lc)]``, ``D_Lc ~ N(L_c sum mu, L_c 1' Sigma 1)``, evaluated by Gauss-Hermite
    quadrature. With one store the relaxation is exact (single store with lead time ``L_c + l``).
    """
    mean, std = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if mean.shape != std.shape or mean.ndim != 1 or len(mean) == 0:
        raise ConfigError("means and stds must be equal-length non-empty sequences")
    if (std <= 0).any() or penalty <= 0 or holding < 0 or not -1.0 < correlation < 1.0:
        raise ConfigError("need std > 0, penalty > 0, holding >= 0 and correlation in (-1, 1)")
    _check_lead_time(store_lead_time)
    _check_lead_time(centre_lead_time)
    covariance = correlation * np.outer(std, std)
    np.fill_diagonal(covariance, std**2)
    centre_std = math.sqrt(centre_lead_time * covariance.sum())
    store_periods = store_lead_time + 1
    pooled_mean, pooled_std = store_periods * mean.sum(), math.sqrt(store_periods) * std.sum()
    nodes, weights = np.polynomial.hermite_e.hermegauss(quadrature_points)
    weights = weights / weights.sum()
    before = centre_lead_time * mean.sum() + centre_std * nodes

    def cost(level: float) -> float:
        return sum(
            w * expected_newsvendor_cost(level - d, pooled_mean, pooled_std, holding, penalty)
            for w, d in zip(weights, before, strict=True)
        )

    guess = newsvendor_optimum(
        pooled_mean + centre_lead_time * mean.sum(),
        math.hypot(pooled_std, centre_std),
        holding,
        penalty,
    )[0]
    spread = 10 * (pooled_std + centre_std)
    result = optimize.minimize_scalar(
        cost, bounds=(guess - spread, guess + spread), method="bounded", options={"xatol": 1e-6}
    )
    return float(result.x), float(result.fun)
