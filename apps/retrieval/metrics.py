"""Ranking metrics: nDCG@k, MRR@k and Recall@k with trec_eval's conventions, and a batched nDCG@k
of many sampled rankings (the reward of a Plackett-Luce ranking policy).

Conventions (those of trec_eval 9.0 and pytrec_eval, which the tests check against):

- A run ``{query: {doc: score}}`` is ranked by decreasing score, ties by decreasing document id
  (:func:`~pgsuite.apps.retrieval.data.rank_documents`); only the order matters, not the scores.
- The gain of a document is its qrels judgement; unjudged documents have gain 0 and negative
  judgements count as 0. A document is relevant when its gain is > 0 (trec_eval's default
  relevance level 1).
- ``nDCG@k = DCG@k / IDCG@k`` with ``DCG@k = sum_{r=1..k} gain_r / log2(r + 1)`` (linear gain,
  rank ``r`` 1-based): trec_eval's ``ndcg_cut.k``. ``IDCG@k`` is the DCG of all judged gains of
  the query sorted decreasingly, so relevant documents the run misses still count.
- ``MRR@k``: ``1 / r`` for the rank ``r <= k`` of the first relevant document, else 0: trec_eval's
  ``recip_rank`` on the run cut at depth k.
- ``Recall@k``: relevant documents in the top k / all relevant documents: trec_eval's
  ``recall.k``.

Which queries count: per-query values are given for every query of the qrels with at least one
relevant document, and means are taken over exactly those. Such a query missing from the run
scores 0 (as ``trec_eval -c``; plain trec_eval leaves it out). A query with no relevant document
is left out (every measure would be 0/0; trec_eval reports 0 for it and averages that 0 in, so
its mean differs from ours only when the qrels hold such queries). Run queries absent from the
qrels are ignored, as in trec_eval.
"""

from __future__ import annotations

import torch

from pgsuite.apps.retrieval.data import Qrels, Run, rank_documents
from pgsuite.core.errors import ConfigError, DataError


def _discounts(length: int, like: torch.Tensor) -> torch.Tensor:
    """``1 / log2(r + 1)`` for ranks ``r = 1..length``: float ``[length]`` on ``like``'s device."""
    ranks = torch.arange(1, length + 1, dtype=like.dtype, device=like.device)
    return 1.0 / torch.log2(ranks + 1.0)


def dcg_at_k(gains: torch.Tensor, k: int) -> torch.Tensor:
    """DCG@k of gains in rank order.

    Args:
        gains: float ``[..., L]``, the gain at ranks ``1..L``; ranks beyond ``L`` add nothing.
        k: cut-off depth (>= 1).

    Returns:
        float ``[...]``: ``sum_{r <= min(k, L)} gains[..., r - 1] / log2(r + 1)``.
    """
    top = gains[..., :k]
    return (top * _discounts(top.shape[-1], top)).sum(-1)


def ideal_dcg_at_k(judged_gains: torch.Tensor, k: int) -> torch.Tensor:
    """IDCG@k: the DCG@k of the judged gains sorted decreasingly.

    Args:
        judged_gains: float ``[..., M]``, all judged gains of each query, in any order, padded
            with zeros to a common ``M``.
        k: cut-off depth (>= 1).

    Returns:
        float ``[...]``.
    """
    return dcg_at_k(judged_gains.sort(dim=-1, descending=True).values, k)


def ndcg_at_k_of_rankings(
    gains: torch.Tensor, rankings: torch.Tensor, ideal_dcg: torch.Tensor, k: int
) -> torch.Tensor:
    """nDCG@k of many rankings of each query's candidate list, all at once.

    Args:
        gains: float ``[B, N]``, the gain of each of the ``N`` candidates of each of ``B`` queries
            (pad short lists with gain-0 candidates).
        rankings: long ``[B, S, L]``, ``S`` rankings per query; ``rankings[b, s, r]`` is the
            candidate index (in ``0..N-1``) placed at rank ``r + 1``. ``L`` may be ``N`` (full
            permutations) or any length >= ``min(k, N)`` (only the top k is read).
        ideal_dcg: float ``[B]``, IDCG@k from all judged gains of each query
            (:func:`ideal_dcg_at_k`), not only those of the candidates.
        k: cut-off depth (>= 1).

    Returns:
        float ``[B, S]``: DCG@k / IDCG@k, and 0 where IDCG@k is 0 (as trec_eval).
    """
    top = rankings[..., :k]
    ranked_gains = gains.unsqueeze(1).expand(-1, top.shape[1], -1).gather(-1, top)
    dcg = dcg_at_k(ranked_gains, k)
    ideal = ideal_dcg.unsqueeze(-1)
    return torch.where(ideal > 0, dcg / ideal.clamp_min(torch.finfo(dcg.dtype).tiny), 0.0)


def _ranked_gains(run: Run, qrels: Qrels, k: int) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """The queries with a relevant document, the gains of their top-k documents and all judged
    gains.

    Returns:
        ``(queries, top, judged)``: ``top`` float64 ``[Q, k]`` (0-padded past the run's end),
        ``judged`` float64 ``[Q, M]`` (0-padded).
    """
    if k < 1:
        raise ConfigError(f"the cut-off k must be >= 1, got {k}")
    queries = [query for query, judged in qrels.items() if any(g > 0 for g in judged.values())]
    top = torch.zeros(len(queries), k, dtype=torch.float64)
    width = max((len(qrels[query]) for query in queries), default=0)
    judged = torch.zeros(len(queries), width, dtype=torch.float64)
    for i, query in enumerate(queries):
        ranking = rank_documents(run.get(query, {}))[:k]
        top[i, : len(ranking)] = torch.tensor(
            [qrels[query].get(doc, 0) for doc in ranking], dtype=torch.float64
        )
        judged[i, : len(qrels[query])] = torch.tensor(
            list(qrels[query].values()), dtype=torch.float64
        )
    return queries, top.clamp_min(0.0), judged.clamp_min(0.0)


def ndcg_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query nDCG@k (trec_eval's ``ndcg_cut.k``) for the queries with a relevant document."""
    queries, top, judged = _ranked_gains(run, qrels, k)
    values = dcg_at_k(top, k) / ideal_dcg_at_k(judged, k)
    return dict(zip(queries, values.tolist(), strict=True))


def mrr_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query reciprocal rank of the first relevant document within the top k (0 if none)."""
    queries, top, _ = _ranked_gains(run, qrels, k)
    hits = top > 0
    first = hits.to(top.dtype).argmax(-1).to(top.dtype)
    values = torch.where(hits.any(-1), 1.0 / (first + 1.0), 0.0)
    return dict(zip(queries, values.tolist(), strict=True))


def recall_at_k(run: Run, qrels: Qrels, k: int) -> dict[str, float]:
    """Per-query fraction of the relevant documents found in the top k (trec_eval's ``recall.k``)."""
    queries, top, judged = _ranked_gains(run, qrels, k)
    values = (top > 0).to(top.dtype).sum(-1) / (judged > 0).to(top.dtype).sum(-1)
    return dict(zip(queries, values.tolist(), strict=True))


_PER_QUERY = {"ndcg": ndcg_at_k, "mrr": mrr_at_k, "recall": recall_at_k}


def evaluate(
    run: Run, qrels: Qrels, measures: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@100")
) -> dict[str, float]:
    """Means over the queries with a relevant document, e.g. ``{"ndcg@10": 0.41, ...}``.

    Args:
        measures: names ``<measure>@<k>`` with measure one of ndcg, mrr, recall.

    Raises:
        ConfigError: a malformed measure name.
        DataError: no query of ``qrels`` has a relevant document.
    """
    means = {}
    for name in measures:
        measure, _, depth = name.partition("@")
        if measure not in _PER_QUERY or not depth.isdigit():
            raise ConfigError(f"unknown measure {name!r}; use e.g. ndcg@10, mrr@10, recall@100")
        values = _PER_QUERY[measure](run, qrels, int(depth))
        if not values:
            raise DataError("no query in the qrels has a relevant document; nothing to average")
        means[name] = sum(values.values()) / len(values)
    return means
