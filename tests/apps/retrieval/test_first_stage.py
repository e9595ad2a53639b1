"""First-stage retrieval on a tiny hand-written corpus: BM25 and the dense model find the obvious
documents, the embedding cache is reused and invalidated, RRF equals a hand computation, and the
candidate sets hold what they should."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pgsuite.apps.retrieval.data import Document, Run
from pgsuite.apps.retrieval.first_stage import (
    BM25Config,
    BM25Retriever,
    DenseEncoder,
    DenseRetriever,
    candidate_union,
    reciprocal_rank_fusion,
    top_documents,
)
from pgsuite.core.errors import ConfigError, DataError

TEXTS = {
    "volcano": ("Volcanoes", "Molten lava erupted from the volcano and ash covered the villages."),
    "bike": (
        "Cycling repairs",
        "Patch a punctured inner tube after taking the wheel off the frame.",
    ),
    "bread": ("Baking", "Knead the dough, let it rise overnight and bake it in a hot oven."),
    "chess": ("Board games", "The queen's gambit is a classical chess opening for white."),
    "tides": ("Oceans", "Tides are caused by the gravitational pull of the moon on the seas."),
    "python": ("Programming", "Python lists can be sorted in place with the sort method."),
    "coffee": ("Drinks", "Espresso is brewed by forcing hot water through finely ground beans."),
    "penguin": ("Birds", "Emperor penguins breed during the Antarctic winter on sea ice."),
    "tax": ("Finance", "Income tax returns are filed with the revenue service each April."),
    "guitar": ("Music", "Tune the six strings of the guitar before playing any chords."),
    "mars": ("Space", "The rover drilled into red rocks on the surface of Mars."),
    "garden": ("Gardening", "Water tomato plants at the roots early in the morning."),
}


def _corpus(**changed: str) -> dict[str, Document]:
    """The corpus, with the text of the documents named in ``changed`` replaced."""
    return {
        doc: Document(doc, title, changed.get(doc, text)) for doc, (title, text) in TEXTS.items()
    }


@pytest.fixture(scope="module")
def encoder() -> DenseEncoder:
    torch.set_num_threads(1)
    return DenseEncoder(batch_size=8, show_progress=False)


@pytest.fixture
def encoded_batches(encoder: DenseEncoder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the batches of texts handed to ``encoder.encode``, call by call."""
    sizes: list[int] = []
    encode = encoder.encode

    def spy(texts: list[str]) -> torch.Tensor:
        sizes.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(encoder, "encode", spy)
    return sizes


def _best(run: Run, query: str) -> str:
    return top_documents(run, 1)[query][0]


def test_bm25_ranks_the_obvious_document_first() -> None:
    run = BM25Retriever(_corpus()).search(
        {"q1": "lava from a volcano", "q2": "chess opening", "q3": "income tax"}, k=5
    )
    assert [_best(run, query) for query in ("q1", "q2", "q3")] == ["volcano", "chess", "tax"]
    assert all(len(scores) <= 5 and min(scores.values()) > 0 for scores in run.values())


def test_bm25_stemming_matches_other_word_forms() -> None:
    query = {"q": "eruptions"}  # the corpus only has "erupted"
    assert _best(BM25Retriever(_corpus()).search(query), "q") == "volcano"
    assert BM25Retriever(_corpus(), BM25Config(stemming=False)).search(query) == {"q": {}}


def test_bm25_score_equals_the_search_scores_of_the_same_documents() -> None:
    bm25 = BM25Retriever(_corpus())
    queries = {"q1": "hot water for the morning", "q2": "the sea and the moon", "q3": "the of"}
    found = bm25.search(queries, k=len(TEXTS))
    candidates = {query: [*found[query], "python", "tax"] for query in queries}
    candidates["q1"].reverse()
    scored = bm25.score(queries, candidates)
    assert {query: list(scores) for query, scores in scored.items()} == candidates
    for query, scores in found.items():
        assert {doc: scored[query][doc] for doc in scores} == scores  # exactly, not approximately
        assert scored[query]["python"] == scored[query]["tax"] == 0.0
    assert len(found["q1"]) >= 2
    assert found["q3"] == {}
    assert bm25.score(queries, {}) == {}
    with pytest.raises(ConfigError, match="not in the corpus"):
        bm25.score(queries, {"q1": ["nope"]})
    with pytest.raises(ConfigError, match="have no text"):
        bm25.score(queries, {"q9": ["tax"]})


def test_bad_options_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown BM25 method"):
        BM25Config(method="okapi")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be >= 1"):
        BM25Retriever(_corpus()).search({"q": "tides"}, k=0)
    with pytest.raises(ConfigError, match="RRF constant"):
        reciprocal_rank_fusion([{}], k=-1)
    with pytest.raises(DataError, match="empty corpus"):
        BM25Retriever({})


def test_dense_search_finds_the_paraphrase(encoder: DenseEncoder) -> None:
    run = DenseRetriever(encoder, _corpus()).search(
        {"flat": "How do I fix a flat bicycle tyre?", "coast": "why does sea level rise and fall"},
        k=3,
    )
    assert _best(run, "flat") == "bike"
    assert _best(run, "coast") == "tides"
    assert all(-1.0 <= score <= 1.0 for scores in run.values() for score in scores.values())


def test_embedding_cache_is_reused_and_invalidated(
    encoder: DenseEncoder, encoded_batches: list[int], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = DenseRetriever(encoder, _corpus(), cache).embeddings
    again = DenseRetriever(encoder, _corpus(), cache).embeddings
    assert encoded_batches == [len(TEXTS)]
    torch.testing.assert_close(again, first, rtol=0, atol=0)

    DenseRetriever(encoder, _corpus(garden="Prune the roses in late winter."), cache)
    assert encoded_batches == [len(TEXTS)] * 2

    weight = next(encoder.model.parameters())
    saved = weight.detach().clone()
    with torch.no_grad():
        weight.add_(0.01)
    try:
        DenseRetriever(encoder, _corpus(), cache)
    finally:
        with torch.no_grad():
            weight.copy_(saved)
    assert encoded_batches == [len(TEXTS)] * 3
    assert sum(1 for _ in cache.rglob("*.pt")) == 3


def test_rrf_equals_a_hand_computation() -> None:
    first = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    second = {"q": {"c": 0.9, "d": 0.5}, "r": {"a": 1.0}}
    fused = reciprocal_rank_fusion([first, second], k=60)
    expected = {
        "q": {"a": 1 / 61, "b": 1 / 62, "c": 1 / 63 + 1 / 61, "d": 1 / 62},
        "r": {"a": 1 / 61},
    }
    assert fused.keys() == expected.keys()
    for query, scores in expected.items():
        assert fused[query] == pytest.approx(scores, abs=1e-15)
    assert reciprocal_rank_fusion([first, second], k=60, depth=1)["q"] == pytest.approx(
        {"a": 1 / 61, "c": 1 / 61}
    )


def test_candidate_union_holds_both_top_lists() -> None:
    first = {"q": {f"d{i}": 10.0 - i for i in range(6)}}
    second = {"q": {f"d{i}": float(i) for i in range(3, 9)}}
    union = candidate_union(first, second, k=3)["q"]
    assert sorted(union) == sorted({"d0", "d1", "d2", "d8", "d7", "d6"})
    assert len(union) == len(set(union))
    assert union[0] in {"d0", "d8"}


def test_reranking_keeps_exactly_the_bm25_candidates(encoder: DenseEncoder) -> None:
    queries = {"q": "hot water and beans for a morning drink", "p": "the red planet"}
    corpus = _corpus()
    candidates = top_documents(BM25Retriever(corpus).search(queries, k=4), 4)
    dense = DenseRetriever(encoder, corpus)
    reranked = dense.score(queries, candidates)
    assert {query: set(docs) for query, docs in candidates.items()} == {
        query: set(scores) for query, scores in reranked.items()
    }
    assert _best(reranked, "q") == "coffee"
    with pytest.raises(ConfigError, match="not in the corpus"):
        dense.score(queries, {"q": ["nope"]})
