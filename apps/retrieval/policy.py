"""The PG-Rank ranking policy: a trainable query tower scoring each query's first-stage
candidates, with rankings drawn from the core's Plackett-Luce.

For a query ``q`` with candidates ``d_1 .. d_n`` the policy's scores are

    s_i = cos(tower(q), e(d_i)) / temperature                  (pure dense, the default)
    s_i = cos(tower(q), e(d_i)) / temperature + w * b_i        (hybrid, ``lexical_weight`` set)

where ``tower`` is a sentence-transformers model being trained. In query-tower mode the document
embeddings ``e(d_i)`` are computed once by the untrained model and kept frozen (the first stage's
cache). In full mode (``doc_texts`` given) the tower is one shared encoder: in training mode it
re-encodes the candidates of every batch with gradient, and :meth:`PGRankPolicy.reencode` writes
its current (no-gradient) embeddings of chosen documents into ``doc_embeddings`` for evaluation.
In the hybrid score, ``b_i`` in [0, 1] is the candidate's BM25 score divided by the largest BM25
score among the query's candidates (0 when no candidate shares a term with the query) and ``w`` is
a learnable scalar in score units (already divided by the temperature). Rankings follow
:class:`~pgsuite.core.distributions.PlackettLuce` over the scores of a padded batch of queries (``mask``
marks the real candidates). The deterministic ranking sorts by score.

A :class:`CandidateSet` holds the candidate lists of many queries as padded tensors, with the
candidates' graded gains, their normalised BM25 scores and each query's ideal DCG at
:data:`CUTOFF` (from all its judged gains, so relevant documents the first stage missed still
count), ready for batched rewards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pgsuite.apps.retrieval.data import Collection, Run
from pgsuite.apps.retrieval.first_stage import Candidates
from pgsuite.apps.retrieval.metrics import ideal_dcg_at_k, ndcg_at_k_of_rankings
from pgsuite.core.distributions import PlackettLuce
from pgsuite.core.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CUTOFF = 10
"""Depth of the nDCG that is the training reward and the dev metric."""
MEASURES = ("ndcg@10", "mrr@10", "recall@100")
"""What :func:`evaluate` reports."""
LEXICAL_GRID = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Values of the lexical weight ``w`` (score units) that :func:`choose_lexical_weight` tries."""


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
        lexical: float ``[Q, N]``, each candidate's BM25 score over the largest among the query's
            candidates, in [0, 1] (0 when none shares a term with the query, at padding, and
            everywhere when the set was built without BM25 scores).
    """

    query_ids: list[str]
    texts: list[str]
    doc_ids: list[list[str]]
    rows: Tensor
    mask: Tensor
    gains: Tensor
    ideal_dcg: Tensor
    lexical: Tensor

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
            self.lexical[index, :width],
        )

    def shortlist(self, size: int) -> CandidateSet:
        """Each query's first ``size`` candidates in first-stage order, except that when none of
        them is relevant (gain > 0) and a later candidate is, the best-placed relevant candidate
        takes the last place: a list that held a relevant document still holds one.

        The ideal DCG is kept (it counts all judged gains) and so is the lexical feature (still
        normalised over the full list).

        Raises:
            ConfigError: ``size`` < 1.
        """
        if size < 1:
            raise ConfigError(f"a shortlist needs size >= 1, got {size}")
        picks = [
            _shortlist_positions(gains[: int(valid.sum())], size)
            for gains, valid in zip(self.gains, self.mask, strict=True)
        ]
        width = max(len(positions) for positions in picks)
        index = torch.zeros(len(self), width, dtype=torch.long)
        mask = torch.zeros(len(self), width, dtype=torch.bool)
        for i, positions in enumerate(picks):
            index[i, : len(positions)] = torch.tensor(positions)
            mask[i, : len(positions)] = True
        return CandidateSet(
            list(self.query_ids),
            list(self.texts),
            [
                [docs[j] for j in positions]
                for docs, positions in zip(self.doc_ids, picks, strict=True)
            ],
            self.rows.gather(1, index).masked_fill(~mask, 0),
            mask,
            self.gains.gather(1, index).masked_fill(~mask, 0.0),
            self.ideal_dcg.clone(),
            self.lexical.gather(1, index).masked_fill(~mask, 0.0),
        )


def _shortlist_positions(gains: Tensor, size: int) -> list[int]:
    """Positions kept by :meth:`CandidateSet.shortlist` from one list's gains ``[n]``."""
    positions = list(range(min(size, len(gains))))
    relevant = (gains > 0).nonzero().flatten().tolist()
    if relevant and relevant[0] >= len(positions):
        positions[-1] = relevant[0]
    return positions


def normalise_lexical(scores: Tensor, mask: Tensor) -> Tensor:
    """Per-row BM25 scores over the row's largest real score: float ``[Q, N]`` from ``scores``
    float ``[Q, N]`` and ``mask`` bool ``[Q, N]``; 0 at padding and in rows whose largest real
    score is <= 0 (no candidate shares a term with the query)."""
    scores = scores.masked_fill(~mask, 0.0)
    top = scores.masked_fill(~mask, float("-inf")).amax(-1, keepdim=True)
    return torch.where(top > 0, scores / top.clamp_min(torch.finfo(scores.dtype).tiny), 0.0)


def candidate_set(
    collection: Collection,
    candidates: Candidates,
    doc_rows: Mapping[str, int],
    lexical: Run | None = None,
) -> CandidateSet:
    """Pad the ``candidates`` of the collection's queries into a :class:`CandidateSet`.

    Args:
        collection: supplies the query texts and judgements.
        candidates: query id -> candidate document ids; its queries, in its order, are kept.
        doc_rows: document id -> row of the policy's document embeddings.
        lexical: BM25 scores ``{query: {doc: score}}`` of (at least) the candidates
            (:meth:`~pgsuite.apps.retrieval.first_stage.BM25Retriever.score`); a candidate it does not
            list scores 0. They fill :attr:`CandidateSet.lexical`, normalised per query
            (:func:`normalise_lexical`). None: that field is all zeros.

    Raises:
        ConfigError: a query has no candidates or no text, a candidate is not in ``doc_rows``, or
            ``lexical`` lacks a query.
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
    absent = [] if lexical is None else [query for query in queries if query not in lexical]
    if absent:
        raise ConfigError(f"the BM25 scores lack queries {absent[:5]} ({len(absent)} in all)")
    width = max(len(candidates[query]) for query in queries)
    rows = torch.zeros(len(queries), width, dtype=torch.long)
    gains = torch.zeros(len(queries), width)
    bm25 = torch.zeros(len(queries), width)
    judged = torch.zeros(len(queries), max(1, *(len(collection.qrels.get(q, {})) for q in queries)))
    for i, query in enumerate(queries):
        docs, qrels = candidates[query], collection.qrels.get(query, {})
        rows[i, : len(docs)] = torch.tensor([doc_rows[doc] for doc in docs])
        gains[i, : len(docs)] = torch.tensor([float(qrels.get(doc, 0)) for doc in docs])
        judged[i, : len(qrels)] = torch.tensor([float(gain) for gain in qrels.values()])
        if lexical is not None:
            bm25[i, : len(docs)] = torch.tensor([float(lexical[query].get(d, 0.0)) for d in docs])
    lengths = torch.tensor([len(candidates[query]) for query in queries])
    mask = torch.arange(width) < lengths.unsqueeze(-1)
    return CandidateSet(
        queries,
        [collection.queries[query] for query in queries],
        [list(candidates[query]) for query in queries],
        rows,
        mask,
        gains,
        ideal_dcg_at_k(judged, CUTOFF),
        normalise_lexical(bm25, mask),
    )


class PGRankPolicy(nn.Module):
    """Scores ``s_i = cos(tower(query), e(d_i)) / temperature [+ w * b_i]`` (see the module doc).

    Args:
        tower: the query encoder, trained; a copy of the model that made ``doc_embeddings``. In
            full mode it is the shared encoder of queries and documents.
        doc_ids: the corpus document ids, in the row order of ``doc_embeddings``.
        doc_embeddings: float ``[num_docs, D]``, unit rows; a non-persistent buffer (checkpoints
            hold only the tower and ``w``), frozen in query-tower mode.
        temperature: divides the cosine similarities (> 0); smaller makes rankings sharper.
        lexical_weight: None: pure dense scores. A float: the initial ``w`` of the hybrid score,
            a learnable scalar parameter (score units), applied to :attr:`CandidateSet.lexical`.
        doc_texts: None: query-tower mode. The texts of the documents, in ``doc_ids`` order:
            full mode (the tower encodes the documents too).
    """

    lexical_weight: nn.Parameter | None

    def __init__(
        self,
        tower: SentenceTransformer,
        doc_ids: Sequence[str],
        doc_embeddings: Tensor,
        temperature: float,
        lexical_weight: float | None = None,
        doc_texts: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if len(doc_ids) != len(doc_embeddings):
            raise ConfigError(f"{len(doc_ids)} document ids for {len(doc_embeddings)} embeddings")
        if doc_texts is not None and len(doc_texts) != len(doc_ids):
            raise ConfigError(f"{len(doc_texts)} document texts for {len(doc_ids)} document ids")
        self.tower = tower
        self.doc_rows = {doc: row for row, doc in enumerate(doc_ids)}
        self.temperature = temperature
        self.doc_texts = None if doc_texts is None else list(doc_texts)
        self.register_buffer("doc_embeddings", doc_embeddings.detach().clone(), persistent=False)
        if lexical_weight is None:
            self.register_parameter("lexical_weight", None)
        else:
            self.lexical_weight = nn.Parameter(torch.tensor(float(lexical_weight)))

    @property
    def lexical(self) -> bool:
        """Whether the scores add ``w`` times the normalised BM25 score (hybrid)."""
        return self.lexical_weight is not None

    @property
    def full(self) -> bool:
        """Whether the tower encodes the documents too (full bi-encoder mode)."""
        return self.doc_texts is not None

    def encode_queries(self, texts: Sequence[str]) -> Tensor:
        """Unit-norm embeddings ``[len(texts), D]`` of any texts by the tower, differentiable."""
        features = self.tower.preprocess(list(texts))
        device = self.doc_embeddings.device
        features = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in features.items()}
        return F.normalize(self.tower(features)["sentence_embedding"], dim=-1)

    def encode_documents(self, rows: Tensor, mask: Tensor) -> Tensor:
        """Full mode: the tower's embeddings ``[B, N, D]`` of the documents at ``rows`` (long
        ``[B, N]``), with gradient; each distinct document is encoded once, padding (``mask``
        bool ``[B, N]`` False) gets zeros."""
        if self.doc_texts is None:
            raise ConfigError("only a full-mode policy (doc_texts given) encodes documents")
        unique, inverse = torch.unique(rows[mask], return_inverse=True)
        vectors = self.encode_queries([self.doc_texts[row] for row in unique.tolist()])
        documents = vectors.new_zeros((*rows.shape, vectors.shape[-1]))
        documents[mask] = vectors[inverse]
        return documents

    def reencode(self, candidates: CandidateSet, batch_size: int = 64) -> None:
        """Full mode: overwrite the ``doc_embeddings`` rows of the candidates' documents with
        the current tower's embeddings (eval mode, no gradient, ``batch_size`` texts at once)."""
        if self.doc_texts is None:
            raise ConfigError("only a full-mode policy (doc_texts given) re-encodes documents")
        rows = torch.unique(candidates.rows[candidates.mask]).tolist()
        was_training = self.training
        self.eval()
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                vectors = self.encode_queries([self.doc_texts[row] for row in chunk])
                index = torch.tensor(chunk, device=self.doc_embeddings.device)
                self.doc_embeddings[index] = vectors.to(self.doc_embeddings.dtype)
        self.train(was_training)

    def dense_scores(self, batch: CandidateSet) -> Tensor:
        """``cos(tower(q), e(d_i)) / temperature``, ``[B, N]``; in full mode and training mode
        ``e`` is the tower itself (:meth:`encode_documents`), else ``doc_embeddings``."""
        queries = self.encode_queries(batch.texts)
        rows = batch.rows.to(self.doc_embeddings.device)
        if self.full and self.training:
            documents = self.encode_documents(rows, batch.mask.to(rows.device))
        else:
            documents = self.doc_embeddings[rows]
        return torch.einsum("bd,bnd->bn", queries, documents) / self.temperature

    def scores(self, batch: CandidateSet) -> Tensor:
        """Scores ``[B, N]`` of the batch's candidates (padded slots hold garbage; see ``mask``):
        :meth:`dense_scores`, plus ``w * batch.lexical`` when hybrid."""
        scores = self.dense_scores(batch)
        if self.lexical_weight is None:
            return scores
        return scores + self.lexical_weight * batch.lexical.to(scores.device, scores.dtype)

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


def choose_lexical_weight(
    policy: PGRankPolicy,
    candidates: CandidateSet,
    grid: Sequence[float] = LEXICAL_GRID,
    batch_size: int = 64,
) -> dict[float, float]:
    """Set a hybrid policy's ``w`` to the ``grid`` value (score units) whose deterministic ranking
    of ``candidates`` has the highest mean nDCG@:data:`CUTOFF` (ties: the earlier value).

    The dense part is computed once (eval mode, no gradient); in full mode it reads
    ``doc_embeddings``, so :meth:`PGRankPolicy.reencode` the candidates first.

    Returns:
        ``{w: mean nDCG@10}`` for every grid value.

    Raises:
        ConfigError: a pure dense policy, or an empty grid.
    """
    if policy.lexical_weight is None:
        raise ConfigError("only a hybrid policy (lexical_weight set) has a lexical weight")
    if not grid:
        raise ConfigError("the lexical-weight grid is empty")
    totals = dict.fromkeys(map(float, grid), 0.0)
    was_training = policy.training
    policy.eval()
    with torch.no_grad():
        for start in range(0, len(candidates), batch_size):
            batch = candidates.select(range(start, min(start + batch_size, len(candidates))))
            dense = policy.dense_scores(batch).cpu()
            for weight in totals:
                mode = PlackettLuce(dense + weight * batch.lexical, batch.mask).mode
                ndcg = ndcg_at_k_of_rankings(
                    batch.gains, mode.unsqueeze(1), batch.ideal_dcg, CUTOFF
                )
                totals[weight] += float(ndcg.sum())
        means = {weight: total / len(candidates) for weight, total in totals.items()}
        best = max(means, key=means.__getitem__)  # the first of equal maxima
        policy.lexical_weight.fill_(best)
    policy.train(was_training)
    return means
