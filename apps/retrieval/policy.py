"""The PG-Rank ranking policy: a trainable query tower over frozen document embeddings, scoring
each query's first-stage candidates, with rankings drawn from the core's Plackett-Luce.

For a query ``q`` with candidates ``d_1 .. d_n`` the policy's scores are

    s_i = cos(tower(q), e(d_i)) / temperature,

where ``tower`` is a sentence-transformers model being trained (query side only) and ``e(d_i)``
are document embeddings computed once by the untrained model and kept frozen (the first stage's
cache). Rankings follow :class:`~core.distributions.PlackettLuce` over the scores of a padded batch
of queries (``mask`` marks the real candidates). The deterministic ranking sorts by score.

A :class:`CandidateSet` holds the candidate lists of many queries as padded tensors, with the
candidates' graded gains and each query's ideal DCG at :data:`CUTOFF` (from all its judged
gains, so relevant documents the first stage missed still count), ready for batched rewards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from apps.retrieval.data import Collection, Run
from apps.retrieval.first_stage import Candidates
from apps.retrieval.metrics import evaluate as evaluate_run
from apps.retrieval.metrics import ideal_dcg_at_k
from core.distributions import PlackettLuce
from core.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CUTOFF = 10
"""Depth of the nDCG that is the training reward and the dev metric."""
MEASURES = ("ndcg@10", "mrr@10", "recall@100")
"""What :func:`evaluate` reports."""


@dataclass
class CandidateSet:
    """The candidate documents of ``Q`` queries as padded tensors (``N``: longest list).

    Attributes:
        query_ids: the queries, ``[Q]``.
        texts: their texts, ``[Q]``.
        doc_ids: each query's candidate ids in first-stage order (unpadded lists).
        rows: long ``[Q, N]``, each candidate's row in the policy's document embeddings (0 at
            padding).
        mask: bool ``[Q, N]``, True for real candidates.
        gains: float ``[Q, N]``, graded gain of each candidate (0 when unjudged, and at padding).
        ideal_dcg: float ``[Q]``, IDCG@:data:`CUTOFF` from all judged gains of the query.
    """

    query_ids: list[str]
    texts: list[str]
    doc_ids: list[list[str]]
    rows: Tensor
    mask: Tensor
    gains: Tensor
    ideal_dcg: Tensor

    def __len__(self) -> int:
        return len(self.query_ids)

    def select(self, indices: Sequence[int]) -> CandidateSet:
        """The queries at ``indices``, padded only to their own longest list."""
        index = torch.as_tensor(list(indices), dtype=torch.long)
        width = int(self.mask[index].sum(-1).max())
        return CandidateSet(
            [self.query_ids[i] for i in indices],
            [self.texts[i] for i in indices],
            [self.doc_ids[i] for i in indices],
            self.rows[index, :width],
            self.mask[index, :width],
            self.gains[index, :width],
            self.ideal_dcg[index],
        )


def candidate_set(
    collection: Collection, candidates: Candidates, doc_rows: Mapping[str, int]
) -> CandidateSet:
    """Pad the ``candidates`` of the collection's queries into a :class:`CandidateSet`.

    Args:
        collection: supplies the query texts and judgements.
        candidates: query id -> candidate document ids; its queries, in its order, are kept.
        doc_rows: document id -> row of the policy's document embeddings.

    Raises:
        ConfigError: a query has no candidates or no text, or a candidate is not in ``doc_rows``.
    """
    queries = list(candidates)
    if not queries:
        raise ConfigError("no queries to build candidate lists for")
    unknown = [query for query in queries if query not in collection.queries]
    if unknown:
        raise ConfigError(f"candidate queries {unknown[:5]} are not in the collection")
    empty = [query for query in queries if not candidates[query]]
    if empty:
        raise ConfigError(f"queries {empty[:5]} have no candidates")
    missing = {doc for query in queries for doc in candidates[query] if doc not in doc_rows}
    if missing:
        raise ConfigError(f"candidate documents {sorted(missing)[:5]} are not in the corpus")
    width = max(len(candidates[query]) for query in queries)
    rows = torch.zeros(len(queries), width, dtype=torch.long)
    gains = torch.zeros(len(queries), width)
    judged = torch.zeros(len(queries), max(1, *(len(collection.qrels.get(q, {})) for q in queries)))
    for i, query in enumerate(queries):
        docs, qrels = candidates[query], collection.qrels.get(query, {})
        rows[i, : len(docs)] = torch.tensor([doc_rows[doc] for doc in docs])
        gains[i, : len(docs)] = torch.tensor([float(qrels.get(doc, 0)) for doc in docs])
        judged[i, : len(qrels)] = torch.tensor([float(gain) for gain in qrels.values()])
    lengths = torch.tensor([len(candidates[query]) for query in queries])
    return CandidateSet(
        queries,
        [collection.queries[query] for query in queries],
        [list(candidates[query]) for query in queries],
        rows,
        torch.arange(width) < lengths.unsqueeze(-1),
        gains,
        ideal_dcg_at_k(judged, CUTOFF),
    )


class PGRankPolicy(nn.Module):
    """Scores ``s_i = cos(tower(query), doc_embeddings[i]) / temperature`` (see the module doc).

    Args:
        tower: the query encoder, trained; a copy of the model that made ``doc_embeddings``.
        doc_ids: the corpus document ids, in the row order of ``doc_embeddings``.
        doc_embeddings: float ``[num_docs, D]``, unit rows; frozen (a non-persistent buffer, so
            checkpoints hold only the tower).
        temperature: divides the cosine similarities (> 0); smaller makes rankings sharper.
    """

    def __init__(
        self,
        tower: SentenceTransformer,
        doc_ids: Sequence[str],
        doc_embeddings: Tensor,
        temperature: float,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if len(doc_ids) != len(doc_embeddings):
            raise ConfigError(f"{len(doc_ids)} document ids for {len(doc_embeddings)} embeddings")
        self.tower = tower
        self.doc_rows = {doc: row for row, doc in enumerate(doc_ids)}
        self.temperature = temperature
        self.register_buffer("doc_embeddings", doc_embeddings.detach().clone(), persistent=False)

    def encode_queries(self, texts: Sequence[str]) -> Tensor:
        """Unit-norm query embeddings ``[Q, D]``, differentiable with respect to the tower."""
        features = self.tower.preprocess(list(texts))
        device = self.doc_embeddings.device
        features = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in features.items()}
        return F.normalize(self.tower(features)["sentence_embedding"], dim=-1)

    def scores(self, batch: CandidateSet) -> Tensor:
        """Scores ``[B, N]`` of the batch's candidates (padded slots hold garbage; see ``mask``)."""
        queries = self.encode_queries(batch.texts)
        documents = self.doc_embeddings[batch.rows.to(self.doc_embeddings.device)]
        return torch.einsum("bd,bnd->bn", queries, documents) / self.temperature

    def forward(self, batch: CandidateSet) -> PlackettLuce:
        """The Plackett-Luce ranking distribution over each query's candidates, batch ``[B]``."""
        scores = self.scores(batch)
        return PlackettLuce(scores, batch.mask.to(scores.device))


def rerank(policy: PGRankPolicy, candidates: CandidateSet, batch_size: int = 64) -> Run:
    """Score every candidate with the policy in eval mode: ``{query: {doc: score}}``.

    Ranking a query's documents by these scores is the policy's deterministic ranking.
    """
    was_training = policy.training
    policy.eval()
    run: Run = {}
    with torch.no_grad():
        for start in range(0, len(candidates), batch_size):
            batch = candidates.select(range(start, min(start + batch_size, len(candidates))))
            for query, docs, row in zip(
                batch.query_ids, batch.doc_ids, policy.scores(batch).cpu(), strict=True
            ):
                run[query] = dict(zip(docs, row[: len(docs)].tolist(), strict=True))
    policy.train(was_training)
    return run


def evaluate(
    policy: PGRankPolicy, collection: Collection, candidates: Candidates
) -> dict[str, float]:
    """nDCG@10, MRR@10 and Recall@100 of the policy's ranking of each query's candidates.

    Args:
        policy: the ranking policy.
        collection: the split's queries and judgements.
        candidates: query id -> first-stage candidate ids, for the collection's queries; Recall@100
            is over the top 100 of these candidates as ranked by the policy.

    Returns:
        ``{"ndcg@10": ..., "mrr@10": ..., "recall@100": ...}``, means over the queries with a
        relevant document (:func:`apps.retrieval.metrics.evaluate`).
    """
    run = rerank(policy, candidate_set(collection, candidates, policy.doc_rows))
    return evaluate_run(run, collection.qrels, MEASURES)
