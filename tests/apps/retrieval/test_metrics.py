"""Retrieval metrics: per-query nDCG@k, MRR@k and Recall@k equal pytrec_eval (trec_eval) on random
graded fixtures, the means follow the documented convention, and the batched nDCG of sampled
rankings equals the per-query function."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytrec_eval
import torch

from pgsuite.apps.retrieval.data import Qrels, Run, rank_documents
from pgsuite.apps.retrieval.metrics import (
    evaluate,
    ideal_dcg_at_k,
    mrr_at_k,
    ndcg_at_k,
    ndcg_at_k_of_rankings,
    recall_at_k,
)
from pgsuite.core.errors import ConfigError, DataError

DEPTHS = (1, 3, 5, 10, 20, 100)


def _fixture(seed: int, num_queries: int = 60, num_docs: int = 150) -> tuple[Run, Qrels]:
    """Graded qrels (gains 0..4, some queries without relevant documents, some without any
    judgement) and a run with distinct scores (some queries missing, some of varying depth)."""
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(num_docs)]
    qrels: Qrels = {}
    run: Run = {}
    for q in range(num_queries):
        query = f"q{q}"
        judged = rng.choice(docs, size=rng.integers(1, 40), replace=False)
        top_gain = 0 if q % 10 == 0 else 4
        qrels[query] = {str(doc): int(rng.integers(0, top_gain + 1)) for doc in judged}
        if q % 7 == 3:
            continue
        retrieved = rng.choice(docs, size=rng.integers(1, num_docs), replace=False)
        scores = rng.permutation(len(retrieved)) + rng.random()
        run[query] = {str(doc): float(score) for doc, score in zip(retrieved, scores, strict=True)}
    run["only-in-run"] = {"d1": 1.0}
    return run, qrels


def _cut(run: Run, k: int) -> Run:
    return {
        query: {doc: scores[doc] for doc in rank_documents(scores)[:k]}
        for query, scores in run.items()
    }


def _reference(run: Run, qrels: Qrels, measure: str) -> dict[str, float]:
    """pytrec_eval's per-query values of one trec_eval measure, e.g. ``ndcg_cut.10``."""
    results = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(run)
    return {query: values[measure.replace(".", "_")] for query, values in results.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", DEPTHS)
def test_per_query_values_equal_pytrec_eval(seed: int, k: int) -> None:
    run, qrels = _fixture(seed)
    with_relevant = {q for q, judged in qrels.items() if any(g > 0 for g in judged.values())}
    references = {
        "ndcg": _reference(run, qrels, f"ndcg_cut.{k}"),
        "recall": _reference(run, qrels, f"recall.{k}"),
        "mrr": _reference(_cut(run, k), qrels, "recip_rank"),
    }
    for name, ours in [
        ("ndcg", ndcg_at_k(run, qrels, k)),
        ("recall", recall_at_k(run, qrels, k)),
        ("mrr", mrr_at_k(run, qrels, k)),
    ]:
        assert set(ours) == with_relevant
        reference = references[name]
        # trec_eval scores a query without relevant documents 0; we leave it out
        assert all(reference[q] == 0.0 for q in reference if q not in with_relevant)
        for query, value in ours.items():
            # a query the run lacks scores 0 (trec_eval -c); pytrec_eval leaves it out
            expected = reference.get(query, 0.0)
            assert value == pytest.approx(expected, abs=1e-12), (name, k, query)
        assert any(query not in run for query in ours)


def test_ties_are_broken_by_decreasing_document_id_as_trec_eval() -> None:
    run = {"q": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.5}}
    for relevant in "abc":
        qrels = {"q": {relevant: 1}}
        assert mrr_at_k(run, qrels, 10)["q"] == _reference(run, qrels, "recip_rank")["q"]
        assert ndcg_at_k(run, qrels, 2)["q"] == pytest.approx(
            _reference(run, qrels, "ndcg_cut.2")["q"], abs=1e-12
        )


def test_hand_computed_values() -> None:
    run = {"q": {"a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0}}
    qrels = {"q": {"a": 0, "b": 2, "d": 1, "e": 3}}
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(run, qrels, 4)["q"] == pytest.approx(dcg / ideal)
    assert mrr_at_k(run, qrels, 4)["q"] == 0.5
    assert mrr_at_k(run, qrels, 1)["q"] == 0.0
    assert recall_at_k(run, qrels, 3)["q"] == pytest.approx(1 / 3)


def test_evaluate_averages_over_queries_with_a_relevant_document() -> None:
    run, qrels = _fixture(5)
    means = evaluate(run, qrels, ("ndcg@10", "mrr@5", "recall@100"))
    per_query = ndcg_at_k(run, qrels, 10)
    assert means["ndcg@10"] == pytest.approx(sum(per_query.values()) / len(per_query))
    # equals trec_eval -c restricted to the queries with a relevant document
    kept = {q: qrels[q] for q in per_query}
    reference = _reference(run, kept, "recall.100")
    total = sum(reference.values())
    assert means["recall@100"] == pytest.approx(total / len(kept))
    assert set(means) == {"ndcg@10", "mrr@5", "recall@100"}


@pytest.mark.parametrize("name", ["ndcg", "ndcg@", "map@10", "ndcg@ten"])
def test_evaluate_rejects_malformed_measure_names(name: str) -> None:
    run, qrels = _fixture(0, num_queries=3)
    with pytest.raises(ConfigError, match="unknown measure"):
        evaluate(run, qrels, (name,))


def test_bad_depth_and_no_relevant_query() -> None:
    with pytest.raises(ConfigError, match="k must be >= 1"):
        ndcg_at_k({}, {"q": {"d": 1}}, 0)
    with pytest.raises(DataError, match="no query in the qrels has a relevant document"):
        evaluate({"q": {"d": 1.0}}, {"q": {"d": 0}})


@pytest.mark.parametrize("k", [1, 4, 10, 30])
def test_batched_ndcg_of_rankings_equals_the_per_query_function(k: int) -> None:
    generator = torch.Generator().manual_seed(k)
    B, S, N, extra = 6, 8, 25, 5
    gains = torch.randint(0, 5, (B, N), generator=generator).double()
    gains[0] = 0.0  # a candidate list without relevant documents: nDCG 0, not NaN
    outside = torch.randint(
        0, 5, (B, extra), generator=generator
    ).double()  # judged, not candidates
    ideal = ideal_dcg_at_k(torch.cat([gains, outside], dim=1), k)
    rankings = torch.rand(B, S, N, generator=generator).argsort(-1)
    batched = ndcg_at_k_of_rankings(gains, rankings, ideal, k)
    assert batched.shape == (B, S)
    top_only = ndcg_at_k_of_rankings(gains, rankings[..., : min(k, N)], ideal, k)
    torch.testing.assert_close(top_only, batched)
    for b in range(B):
        qrels = {"q": {f"c{i}": int(g) for i, g in enumerate(gains[b])}}
        qrels["q"] |= {f"x{i}": int(g) for i, g in enumerate(outside[b])}
        for s in range(S):
            order = rankings[b, s].tolist()
            run = {"q": {f"c{i}": float(N - rank) for rank, i in enumerate(order)}}
            expected = ndcg_at_k(run, qrels, k).get("q", 0.0)
            assert batched[b, s].item() == pytest.approx(expected, abs=1e-12)


def test_batched_ndcg_keeps_dtype_and_is_zero_without_relevant_documents() -> None:
    gains = torch.zeros(2, 3)
    rankings = torch.tensor([[[0, 1, 2]], [[2, 1, 0]]])
    values = ndcg_at_k_of_rankings(gains, rankings, torch.zeros(2), 2)
    assert values.dtype == torch.float32
    assert torch.equal(values, torch.zeros(2, 1))
