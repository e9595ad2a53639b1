"""PG-Rank: the leave-one-out REINFORCE loss matches the exact gradient of the expected nDCG and
learns a known best ranking; a short run on a tiny synthetic corpus improves the reward and the dev
nDCG; runs are deterministic under a seed and resume exactly; the policy starts as the dense
retriever; bad settings are one-line ConfigErrors."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, WordEmbeddings
from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

from pgsuite.apps.retrieval import pgrank
from pgsuite.apps.retrieval.bench import pgrank_run
from pgsuite.apps.retrieval.contrastive import ContrastiveConfig, ContrastiveResult
from pgsuite.apps.retrieval.data import Collection, Document, load_collection, train_dev_split
from pgsuite.apps.retrieval.first_stage import DenseEncoder, DenseRetriever, load_minilm
from pgsuite.apps.retrieval.metrics import ideal_dcg_at_k, ndcg_at_k_of_rankings
from pgsuite.apps.retrieval.pgrank import (
    PGRankConfig,
    PGRankResult,
    build_first_stage,
    evaluate_policy,
    load_run,
    micro_batch_indices,
    pgrank_loss,
    save_run,
    train,
)
from pgsuite.apps.retrieval.policy import (
    LEXICAL_GRID,
    CandidateSet,
    PGRankPolicy,
    candidate_set,
    choose_lexical_weight,
    rerank,
)
from pgsuite.core.distributions import PlackettLuce
from pgsuite.core.errors import ConfigError
from pgsuite.core.trainer import TrainerConfig

# --- the loss on free logits -------------------------------------------------------------------


def _expected_ndcg(scores: torch.Tensor, gains: torch.Tensor, cutoff: int) -> torch.Tensor:
    """E[nDCG@cutoff] of Plackett-Luce(scores ``[1, N]``) by enumerating all N! rankings."""
    perms = torch.tensor(list(itertools.permutations(range(scores.shape[-1]))))  # [P, N]
    probs = PlackettLuce(scores).log_prob(perms.unsqueeze(1)).exp().squeeze(-1)  # [P]
    ideal = ideal_dcg_at_k(gains, cutoff)
    rewards = ndcg_at_k_of_rankings(gains, perms.unsqueeze(0), ideal, cutoff).squeeze(0)
    return (probs * rewards).sum()


@pytest.mark.parametrize("cutoff", [2, 10])
def test_loss_gradient_is_the_exact_gradient_of_expected_ndcg(cutoff: int) -> None:
    torch.manual_seed(0)
    gains = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    scores = torch.tensor([[0.3, -0.2, 0.5, 0.1]], requires_grad=True)
    (exact,) = torch.autograd.grad(_expected_ndcg(scores, gains, cutoff), scores)
    distribution = PlackettLuce(scores)
    loss, _ = pgrank_loss(distribution, gains, ideal_dcg_at_k(gains, cutoff), 20_000, cutoff)
    (estimate,) = torch.autograd.grad(-loss, scores)
    assert torch.allclose(estimate, exact, atol=0.01), (estimate, exact)
    assert exact.abs().max() > 0.05


def test_reinforce_learns_the_best_ranking_of_a_padded_batch() -> None:
    """Free logits over 6 and 4 (padded) items with graded gains: the greedy ranking becomes
    the ideal order and its nDCG@10 reaches 1."""
    torch.manual_seed(0)
    gains = torch.tensor([[3.0, 0.0, 5.0, 1.0, 4.0, 2.0], [0.0, 2.0, 1.0, 3.0, 0.0, 0.0]])
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    ideal = ideal_dcg_at_k(gains, 10)
    logits = torch.zeros(2, 6, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.1)
    for _ in range(400):
        loss, _ = pgrank_loss(PlackettLuce(logits, mask), gains, ideal, samples=16)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    greedy = PlackettLuce(logits.detach(), mask).mode
    assert greedy[0].tolist() == [2, 4, 0, 5, 3, 1]
    assert greedy[1, :4].tolist() == [3, 1, 2, 0]
    assert torch.allclose(
        ndcg_at_k_of_rankings(gains, greedy.unsqueeze(1), ideal, 10), torch.ones(2, 1)
    )


# --- a tiny synthetic collection and encoder -----------------------------------------------------

TOPICS = {  # topic: (words of its documents, words of its queries: none in any document)
    "volcano": (["lava", "magma", "eruption", "crater"], ["volcanic", "fiery", "molten"]),
    "chess": (["rook", "bishop", "gambit", "checkmate"], ["chessboard", "grandmaster", "opening"]),
    "bread": (["dough", "yeast", "oven", "crust"], ["baking", "loaf", "bakery"]),
    "ocean": (["tide", "wave", "reef", "current"], ["marine", "seawater", "coastal"]),
}
FILLER = ["report", "notes", "study", "page"]


def _corpus() -> dict[str, Document]:
    """Three documents per topic: all four topic words, the first two, the last two."""
    corpus = {}
    for topic, (words, _) in TOPICS.items():
        for j, chosen in enumerate([words, words[:2], words[2:]]):
            doc = f"{topic}{j}"
            corpus[doc] = Document(doc, FILLER[j], " ".join([*chosen, FILLER[j + 1]]))
    return corpus


def _queries(lexical: bool = False) -> dict[str, tuple[str, str, str]]:
    """Query id -> (text, topic, split): per topic two train queries and one test query, each
    two of the topic's query words, so queries share no word with the documents; with
    ``lexical``, the k-th query of a topic also holds its topic's document word k + 1 (BM25 finds
    its topic)."""
    queries = {}
    for topic, (doc_words, (a, b, c)) in TOPICS.items():
        splits = (("train", (a, b)), ("train", (b, c)), ("test", (a, c)))
        for k, (split, words) in enumerate(splits):
            words = (*words, doc_words[k + 1]) if lexical else words
            queries[f"q{len(queries)}"] = (" ".join(words), topic, split)
    return queries


def _write_beir(folder: Path, lexical: bool = False) -> Path:
    corpus = _corpus()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    lines = [json.dumps({"_id": d.id, "title": d.title, "text": d.text}) for d in corpus.values()]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    queries = _queries(lexical)
    lines = [json.dumps({"_id": q, "text": text}) for q, (text, _, _) in queries.items()]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n")
    for split in ("train", "test"):
        rows = ["query-id\tcorpus-id\tscore"]
        for query, (_, topic, where) in queries.items():
            if where == split:
                rows += [f"{query}\t{topic}0\t2", f"{query}\t{topic}1\t1", f"{query}\t{topic}2\t1"]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


def _tiny_model(seed: int = 0) -> SentenceTransformer:
    """Random 16-dimensional word embeddings, mean-pooled and normalised."""
    texts = [f"{d.title} {d.text}" for d in _corpus().values()] + [
        t for t, _, _ in _queries().values()
    ]
    vocab = sorted({word for text in texts for word in text.split()})
    weights = torch.randn(len(vocab), 16, generator=torch.Generator().manual_seed(seed))
    tokenizer = WhitespaceTokenizer(vocab, stop_words=(), do_lower_case=True)
    modules = [WordEmbeddings(tokenizer, weights, update_embeddings=True), Pooling(16), Normalize()]
    return SentenceTransformer(modules=modules, device="cpu")


def _config(data: Path, out: Path | None = None, **trainer: object) -> PGRankConfig:
    options = {
        "max_steps": 30,
        "eval_every": 5,
        "metric": "ndcg@10",
        "mode": "max",
        "progress": False,
        "out": out,
        **trainer,
    }
    return PGRankConfig(
        data=data,
        format="beir",
        dev_fraction=0.25,
        samples=8,
        queries_per_batch=2,
        lr=0.05,
        warmup_steps=2,
        trainer=TrainerConfig(**options),
    )


@pytest.fixture(scope="module")
def beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_beir(tmp_path_factory.mktemp("tiny") / "beir")


@pytest.fixture(scope="module")
def lexical_beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny collection with a document word in every query (BM25 scores are informative)."""
    return _write_beir(tmp_path_factory.mktemp("tiny_lexical") / "beir", lexical=True)


def _losses(history: pd.DataFrame) -> list[float]:
    rows = history[(history.split == "train") & (history.metric == "loss")]
    return rows.value.tolist()


def test_training_raises_the_reward_and_the_dev_ndcg(beir: Path) -> None:
    result = train(_config(beir, max_steps=60), _tiny_model())
    history = result.history
    rewards = history[(history.split == "train") & (history.metric == "reward")].value
    dev = history[(history.split == "dev") & (history.metric == "ndcg@10")]
    assert rewards.iloc[-5:].mean() > rewards.iloc[:5].mean() + 0.1
    assert result.fit.best_value > dev.value.iloc[0] + 0.1
    assert result.metrics["test_ndcg@10"] > result.metrics["initial_test_ndcg@10"]
    assert set(result.metrics) == {
        f"{when}test_{m}" for when in ("initial_", "") for m in ("ndcg@10", "mrr@10", "recall@100")
    }


def test_same_seed_same_losses_and_exact_resume(beir: Path, tmp_path: Path) -> None:
    first = train(_config(beir, max_steps=8, eval_every=4), _tiny_model())
    second = train(_config(beir, max_steps=8, eval_every=4), _tiny_model())
    assert _losses(first.history) == _losses(second.history)
    assert len(set(_losses(first.history))) > 1
    out = tmp_path / "run"
    train(_config(beir, out, max_steps=4, eval_every=4), _tiny_model())
    resumed = train(_config(beir, out, max_steps=8, eval_every=4, resume=True), _tiny_model())
    assert (out / "checkpoint.pt").is_file()
    assert (out / "best.pt").is_file()
    assert _losses(resumed.history) == _losses(first.history)
    for name, tensor in first.policy.state_dict().items():
        assert torch.equal(tensor, resumed.policy.state_dict()[name]), name


def test_micro_batches_cover_each_epoch_once() -> None:
    batches = [micro_batch_indices(i, 3, 7, seed=1) for i in range(7)]
    flat = [index for batch in batches for index in batch]
    assert sorted(flat[:7]) == list(range(7))
    assert sorted(flat[7:14]) == list(range(7))
    assert flat[:7] != flat[7:14]
    assert micro_batch_indices(5, 3, 7, seed=1) == batches[5]


# --- the policy ----------------------------------------------------------------------------------


def _policy_and_dense(
    model: SentenceTransformer,
) -> tuple[PGRankPolicy, DenseRetriever, Collection]:
    corpus = _corpus()
    dense = DenseRetriever(DenseEncoder(model, show_progress=False), corpus)
    queries = {q: text for q, (text, _, _) in _queries().items()}
    qrels = {q: {f"{topic}0": 2, f"{topic}1": 1} for q, (_, topic, _) in _queries().items()}
    policy = PGRankPolicy(model, dense.doc_ids, dense.embeddings, temperature=0.05)
    return policy, dense, Collection(corpus, queries, qrels)


def test_untrained_policy_scores_are_dense_cosines_over_temperature() -> None:
    torch.manual_seed(0)
    policy, dense, collection = _policy_and_dense(load_minilm())
    candidates = {"q1": ["volcano0", "chess1", "bread2"], "q4": list(collection.corpus)}
    run = rerank(policy, candidate_set(collection, candidates, policy.doc_rows))
    cosines = dense.score(collection.queries, candidates)
    for query, docs in candidates.items():
        got = torch.tensor([run[query][doc] for doc in docs]) * 0.05
        assert torch.allclose(got, torch.tensor([cosines[query][d] for d in docs]), atol=1e-5)
    judged = collection.with_queries(list(candidates))
    figures = evaluate_policy(
        policy, candidate_set(judged, candidates, policy.doc_rows), judged.qrels
    )
    assert figures["recall@100"] == pytest.approx((1 / 2 + 1) / 2)  # q1 misses volcano1


def test_candidate_set_pads_and_computes_the_ideal_dcg() -> None:
    policy, _, collection = _policy_and_dense(_tiny_model())
    batch = candidate_set(
        collection, {"q1": ["chess0", "volcano1"], "q3": ["chess0"]}, policy.doc_rows
    )
    assert batch.mask.tolist() == [[True, True], [True, False]]
    assert batch.gains.tolist() == [[0.0, 1.0], [2.0, 0.0]]
    assert batch.ideal_dcg.tolist() == pytest.approx(
        [2 + 1 / torch.log2(torch.tensor(3.0)).item()] * 2
    )
    assert batch.select([1]).rows.shape == (1, 1)


# --- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"samples": 1}, "samples"),
        ({"queries_per_batch": 0}, "queries_per_batch"),
        ({"grad_accumulation": 0}, "grad_accumulation"),
        ({"dev_fraction": 1.0}, "dev_fraction"),
        ({"candidates": 0}, "candidates"),
        ({"lr": -1.0}, "lr"),
        ({"max_epochs": 0.0}, "max_epochs"),
        ({"lexical_lr": 0.0}, "lexical_lr"),
        ({"finetune": "both"}, "finetune"),
        ({"full_candidates": 0}, "full_candidates"),
        ({"max_doc_tokens": 0}, "max_doc_tokens"),
        ({"warm_start": "bm25"}, "warm_start"),
        ({"warm_start_epochs": 0}, "warm_start_epochs"),
        ({"trainer": TrainerConfig(metric="loss")}, "dev metric"),
        ({"trainer": TrainerConfig(metric="ndcg@10", mode="min")}, "mode max"),
    ],
)
def test_bad_settings_are_one_line_config_errors(options: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as error:
        PGRankConfig(**options)
    assert "\n" not in str(error.value)


def test_missing_data_folder_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--data"):
        train(PGRankConfig(), _tiny_model())


# --- hybrid lexical scores -----------------------------------------------------------------------


def test_lexical_feature_is_normalised_per_query() -> None:
    policy, _, collection = _policy_and_dense(_tiny_model())
    candidates = {
        "q0": ["volcano0", "volcano1", "chess0"],
        "q3": ["chess0", "chess1"],
        "q6": ["bread0"],
    }
    lexical = {
        "q0": {"volcano0": 3.0, "volcano1": 6.0},  # chess0 unlisted: 0
        "q3": {"chess0": 0.0, "chess1": 0.0},  # no candidate shares a term
        "q6": {"bread0": 2.5, "ocean0": 9.0},  # scores of non-candidates are ignored
    }
    batch = candidate_set(collection, candidates, policy.doc_rows, lexical)
    assert batch.lexical.tolist() == [[0.5, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert batch.select([2, 1]).lexical.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    plain = candidate_set(collection, candidates, policy.doc_rows)
    assert torch.equal(plain.lexical, torch.zeros(3, 3))
    with pytest.raises(ConfigError, match=r"BM25 scores lack queries \['q6'\]"):
        candidate_set(collection, candidates, policy.doc_rows, {"q0": {}, "q3": {}})


def _hybrid_batch(policy: PGRankPolicy, collection: Collection) -> CandidateSet:
    candidates = {"q0": ["volcano0", "chess1", "bread2"], "q4": ["ocean0", "volcano2"]}
    lexical = {"q0": {"volcano0": 4.0, "bread2": 1.0}, "q4": {"ocean0": 2.0, "volcano2": 3.0}}
    return candidate_set(collection, candidates, policy.doc_rows, lexical)


def test_pure_dense_policy_scores_exactly_as_before() -> None:
    policy, _, collection = _policy_and_dense(_tiny_model())
    batch = _hybrid_batch(policy, collection)
    assert batch.lexical.abs().sum() > 0
    with torch.no_grad():
        queries = policy.encode_queries(batch.texts)
        before = torch.einsum("bd,bnd->bn", queries, policy.doc_embeddings[batch.rows]) / 0.05
        assert torch.equal(policy.scores(batch), before)
    assert policy.lexical_weight is None
    assert not policy.lexical
    assert "lexical_weight" not in policy.state_dict()


def test_hybrid_scores_add_w_times_the_lexical_feature_and_w_gets_a_gradient() -> None:
    model = _tiny_model()
    corpus_dense = DenseRetriever(DenseEncoder(model, show_progress=False), _corpus())
    _, _, collection = _policy_and_dense(model)
    dense = PGRankPolicy(model, corpus_dense.doc_ids, corpus_dense.embeddings, 0.05)
    hybrid = PGRankPolicy(
        model, corpus_dense.doc_ids, corpus_dense.embeddings, 0.05, lexical_weight=2.5
    )
    batch = _hybrid_batch(hybrid, collection)
    scores = hybrid.scores(batch)
    expected = dense.scores(batch) + 2.5 * batch.lexical
    assert torch.allclose(scores, expected, atol=1e-6)
    assert isinstance(hybrid.lexical_weight, torch.nn.Parameter)
    assert "lexical_weight" in hybrid.state_dict()
    (scores * batch.mask).sum().backward()
    assert hybrid.lexical_weight.grad is not None
    assert hybrid.lexical_weight.grad.item() == pytest.approx(batch.lexical.sum().item())
    assert hybrid.lexical_weight.grad.item() > 0


def _unit_with_cosine(direction: torch.Tensor, cosine: float, seed: int) -> torch.Tensor:
    """A unit vector whose cosine with the unit vector ``direction`` is ``cosine``."""
    other = torch.randn(direction.shape, generator=torch.Generator().manual_seed(seed))
    other = torch.nn.functional.normalize(other - (other @ direction) * direction, dim=-1)
    return cosine * direction + (1 - cosine**2) ** 0.5 * other


def test_lexical_weight_grid_picks_the_known_best_value() -> None:
    """Temperature 0.25, so dense scores are 4 cos. Query a: an unrelated document at dense 3 and
    BM25 0 above the relevant one at dense 0 and BM25 1 (needs w > 3). Query b: the relevant
    document at dense 3, BM25 0, above an unrelated one at dense -2, BM25 1 (needs w < 5). Only
    w = 4 of the grid ranks both relevant documents first."""
    model = _tiny_model()
    texts = {"qa": "volcanic fiery", "qb": "baking loaf"}
    with torch.no_grad():
        probe = PGRankPolicy(model, ["x"], torch.zeros(1, 16), 1.0)
        qa, qb = probe.encode_queries(list(texts.values()))
    embeddings = torch.stack(
        [
            _unit_with_cosine(qa, 0.75, 1),
            _unit_with_cosine(qa, 0.0, 2),
            _unit_with_cosine(qb, 0.75, 3),
            _unit_with_cosine(qb, -0.5, 4),
        ]
    )
    docs = ["a_other", "a_relevant", "b_relevant", "b_other"]
    policy = PGRankPolicy(model, docs, embeddings, 0.25, lexical_weight=0.0)
    corpus = {doc: Document(doc, "", doc) for doc in docs}
    collection = Collection(corpus, texts, {"qa": {"a_relevant": 1}, "qb": {"b_relevant": 1}})
    lexical = {"qa": {"a_relevant": 3.0}, "qb": {"b_other": 7.0}}
    batch = candidate_set(collection, {"qa": docs[:2], "qb": docs[2:]}, policy.doc_rows, lexical)
    with torch.no_grad():
        expected = torch.tensor([[3.0, 0.0], [3.0, -2.0]])
        assert torch.allclose(policy.dense_scores(batch), expected, atol=1e-5)
    means = choose_lexical_weight(policy, batch)
    assert means[4.0] == pytest.approx(1.0)
    assert all(value < 1.0 for weight, value in means.items() if weight != 4.0)
    assert policy.lexical_weight is not None
    assert policy.lexical_weight.item() == 4.0
    with pytest.raises(ConfigError, match="hybrid"):
        choose_lexical_weight(PGRankPolicy(model, docs, embeddings, 0.25), batch)


def test_hybrid_training_warm_starts_w_on_training_queries_and_learns_it(
    lexical_beir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[list[str]] = []

    def spy(policy: PGRankPolicy, candidates: CandidateSet) -> dict[float, float]:
        seen.append(list(candidates.query_ids))
        return choose_lexical_weight(policy, candidates)

    monkeypatch.setattr(pgrank, "choose_lexical_weight", spy)
    config = dataclasses.replace(
        _config(lexical_beir, max_steps=6, restore_best=False), lexical=True, lexical_lr=0.5
    )
    with caplog.at_level(logging.INFO, logger="pgsuite.apps.retrieval.pgrank"):
        result = train(config, _tiny_model())
    train_queries = {q for q, (_, _, split) in _queries().items() if split == "train"}
    (warm,) = seen
    relevant = load_collection(lexical_beir, "beir", "train").queries_with_relevant()
    assert set(relevant) == train_queries
    train_ids, dev_ids = train_dev_split(relevant, config.dev_fraction, config.seed)
    assert sorted(warm) == sorted(train_ids)  # not the dev queries, nor the test ones
    assert len(warm) == 6
    assert set(dev_ids).isdisjoint(warm)
    assert result.metrics["initial_lexical_weight"] in LEXICAL_GRID
    assert "lexical weight warm start: w = " in caplog.text
    assert result.metrics["lexical_weight"] != result.metrics["initial_lexical_weight"]
    assert result.policy.lexical_weight is not None
    assert result.metrics["lexical_weight"] == result.policy.lexical_weight.item()
    history = result.history
    assert (history.metric == "lexical_weight").any()


def test_saved_hybrid_run_restores_w_and_old_runs_load_as_dense(
    lexical_beir: Path, tmp_path: Path
) -> None:
    beir = lexical_beir
    config = dataclasses.replace(_config(beir, max_steps=3, restore_best=False), lexical=True)
    result = train(config, _tiny_model())
    folder = save_run(tmp_path / "run", result.policy, config, None)
    settings = json.loads((folder / "run.json").read_text())
    assert settings["lexical"] is True
    assert result.policy.lexical_weight is not None
    assert settings["lexical_weight"] == result.policy.lexical_weight.item()
    saved = load_run(folder)
    assert saved.lexical_weight == result.policy.lexical_weight.item()
    assert saved.method == "PG-Rank hybrid"
    collection = load_collection(beir, "beir", "test")
    first_stage = build_first_stage(collection, _tiny_model(), None)
    restored = saved.policy(first_stage)
    assert restored.lexical_weight is not None
    assert restored.lexical_weight.item() == result.policy.lexical_weight.item()
    expected = pgrank_run(result.policy, first_stage, collection, config.candidates)
    got = pgrank_run(restored, first_stage, collection, config.candidates)
    assert got.keys() == expected.keys()
    for query, scores in expected.items():
        assert got[query] == pytest.approx(scores, abs=1e-5)

    for key in ("lexical", "lexical_weight", "finetune", "document_encoder"):
        del settings[key]
    (folder / "run.json").write_text(json.dumps(settings))
    old = load_run(folder)
    assert old.lexical_weight is None
    assert old.finetune == "query_tower"
    assert old.policy(first_stage).lexical_weight is None


# --- full bi-encoder fine-tuning -----------------------------------------------------------------


def test_shortlist_keeps_a_relevant_document() -> None:
    policy, _, collection = _policy_and_dense(_tiny_model())
    lists = {
        "q0": ["chess0", "bread0", "ocean0", "chess1", "volcano1", "volcano0"],  # relevant: 4, 5
        "q3": ["chess0", "bread0", "chess1", "ocean0"],  # relevant: 0, 2
        "q6": ["bread0", "ocean1"],
        "q9": ["volcano0", "chess2", "bread1", "ocean2"],  # nothing relevant
    }
    lexical = {
        query: {doc: float(i + 1) for i, doc in enumerate(docs)} for query, docs in lists.items()
    }
    batch = candidate_set(collection, lists, policy.doc_rows, lexical)
    short = batch.shortlist(3)
    assert short.doc_ids == [
        ["chess0", "bread0", "volcano1"],
        ["chess0", "bread0", "chess1"],
        ["bread0", "ocean1"],
        ["volcano0", "chess2", "bread1"],
    ]
    assert short.mask.tolist() == [[True] * 3, [True] * 3, [True, True, False], [True] * 3]
    assert short.gains.tolist() == [[0, 0, 1], [2, 0, 1], [2, 0, 0], [0, 0, 0]]
    assert short.rows[0].tolist() == [policy.doc_rows[d] for d in short.doc_ids[0]]
    assert short.lexical[0].tolist() == pytest.approx([1 / 6, 2 / 6, 5 / 6])
    assert torch.equal(short.ideal_dcg, batch.ideal_dcg)
    assert short.rows[2, 2] == 0
    assert short.lexical[2, 2] == 0
    assert batch.shortlist(1).doc_ids[0] == ["volcano1"]
    with pytest.raises(ConfigError, match="size >= 1"):
        batch.shortlist(0)


def _word_rows(model: SentenceTransformer, words: list[str]) -> torch.Tensor:
    """Rows of the tiny model's word-embedding table for ``words``, ``[len(words), 16]``."""
    module = model[0]
    index = torch.tensor([module.tokenizer.word2idx[word] for word in words])
    return module.emb_layer.weight.detach()[index].clone()


DOCUMENT_WORDS = [word for words, _ in TOPICS.values() for word in words]
"""Words only documents hold (no query uses them)."""


@pytest.mark.parametrize("full", [True, False])
def test_gradient_reaches_the_encoder_through_the_documents_only_in_full_mode(
    full: bool,
) -> None:
    model = _tiny_model()
    dense = DenseRetriever(DenseEncoder(model, show_progress=False), _corpus())
    texts = [f"{d.title} {d.text}" for d in _corpus().values()] if full else None
    policy = PGRankPolicy(model, dense.doc_ids, dense.embeddings, 0.05, doc_texts=texts)
    _, _, collection = _policy_and_dense(model)
    batch = _hybrid_batch(policy, collection)
    with torch.no_grad():
        encoded = policy.train().dense_scores(batch) * batch.mask
        cached = policy.eval().dense_scores(batch) * batch.mask
    assert torch.allclose(encoded, cached, atol=1e-5)
    policy.train()
    (policy.scores(batch) * batch.mask).sum().backward()
    module = model[0]
    index = torch.tensor([module.tokenizer.word2idx[word] for word in DOCUMENT_WORDS])
    grad = module.emb_layer.weight.grad[index]
    assert (grad.abs().sum() > 0) == full


def _fine_tune(beir: Path, finetune: str) -> tuple[SentenceTransformer, PGRankResult]:
    model = _tiny_model()
    config = dataclasses.replace(
        _config(beir, max_steps=3, eval_every=3, restore_best=False),
        finetune=finetune,
        full_candidates=4,
        weight_decay=0.0,
    )
    return model, train(config, model)


def test_full_mode_training_changes_the_document_embeddings(beir: Path) -> None:
    model, result = _fine_tune(beir, "full")
    policy = result.policy
    assert policy.full
    assert not torch.equal(
        _word_rows(policy.tower, DOCUMENT_WORDS), _word_rows(model, DOCUMENT_WORDS)
    )
    texts = [f"{d.title} {d.text}" for d in _corpus().values()]
    before = DenseEncoder(model, show_progress=False).encode(texts)
    with torch.no_grad():
        after = policy.eval().encode_queries(texts)
    assert (after - before).abs().max() > 1e-3
    assert policy.tower.max_seq_length == 128


def test_query_tower_mode_leaves_the_document_embeddings_frozen(beir: Path) -> None:
    model, result = _fine_tune(beir, "query_tower")
    policy = result.policy
    assert not policy.full
    texts = [f"{d.title} {d.text}" for d in _corpus().values()]
    assert torch.equal(
        policy.doc_embeddings, DenseEncoder(model, show_progress=False).encode(texts)
    )
    assert torch.equal(_word_rows(policy.tower, DOCUMENT_WORDS), _word_rows(model, DOCUMENT_WORDS))
    query_words = [word for _, words in TOPICS.values() for word in words]
    assert not torch.equal(_word_rows(policy.tower, query_words), _word_rows(model, query_words))


def test_saved_full_run_encodes_the_corpus_with_the_tuned_encoder(
    beir: Path, tmp_path: Path
) -> None:
    model, result = _fine_tune(beir, "full")
    config = dataclasses.replace(PGRankConfig(data=beir, format="beir"), finetune="full")
    folder = save_run(tmp_path / "run", result.policy, config, None)
    saved = load_run(folder)
    assert saved.finetune == "full"
    assert saved.method == "PG-Rank (full)"
    assert saved.document_encoder == folder / "tower"
    assert json.loads((folder / "run.json").read_text())["document_encoder"] == "tower"
    collection = load_collection(beir, "beir", "test")
    cache = tmp_path / "cache"
    first_stage = build_first_stage(collection, model, cache)
    restored = saved.policy(first_stage)
    assert restored.full
    assert len(list(cache.rglob("*.pt"))) == 2  # the untrained model's and the tuned encoder's
    texts = [f"{d.title} {d.text}" for d in _corpus().values()]
    with torch.no_grad():
        tuned = result.policy.eval().encode_queries(texts)
    assert torch.allclose(restored.doc_embeddings, tuned, atol=1e-5)
    assert not torch.allclose(restored.doc_embeddings, first_stage.dense.embeddings, atol=1e-3)
    union = first_stage.candidates(collection.queries, 100)
    candidates = pgrank.policy_candidates(result.policy, first_stage, collection, union)
    expected = pgrank.policy_run(result.policy, candidates, reencode=True)
    got = pgrank_run(restored, first_stage, collection, 100)
    for query, scores in expected.items():
        assert got[query] == pytest.approx(scores, abs=1e-4)


# --- contrastive warm start ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "name"),
    [
        ((False, "query_tower", "none"), "PG-Rank"),
        ((True, "query_tower", "none"), "PG-Rank hybrid"),
        ((False, "full", "none"), "PG-Rank (full)"),
        ((True, "query_tower", "contrastive"), "PG-Rank hybrid (contrastive start)"),
        ((True, "full", "contrastive"), "PG-Rank hybrid (full, contrastive start)"),
    ],
)
def test_method_names(variant: tuple, name: str) -> None:
    assert pgrank.method_name(*variant) == name


def _warm_started(
    beir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[SentenceTransformer, PGRankConfig, PGRankResult, list[list[str]]]:
    """A 3-step hybrid run with a 2-epoch contrastive warm start, and the query ids the warm
    start trained on (one list per call)."""
    seen: list[list[str]] = []
    original = pgrank.fine_tune

    def spy(
        settings: ContrastiveConfig, collection: Collection, model: SentenceTransformer
    ) -> ContrastiveResult:
        seen.append(list(collection.queries))
        return original(dataclasses.replace(settings, lr=0.05, batch_size=4), collection, model)

    monkeypatch.setattr(pgrank, "fine_tune", spy)
    model = _tiny_model()
    config = dataclasses.replace(
        _config(beir, max_steps=3, eval_every=3, restore_best=False),
        lexical=True,
        warm_start="contrastive",
        warm_start_epochs=2,
    )
    return model, config, train(config, model), seen


def test_contrastive_warm_start_trains_on_the_training_queries_and_starts_pgrank_there(
    lexical_beir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, config, result, seen = _warm_started(lexical_beir, monkeypatch)
    relevant = load_collection(lexical_beir, "beir", "train").queries_with_relevant()
    train_ids, dev_ids = train_dev_split(relevant, config.dev_fraction, config.seed)
    assert seen == [train_ids]  # once, on the training queries: never the dev or test ones
    assert set(dev_ids).isdisjoint(seen[0])
    texts = [f"{d.title} {d.text}" for d in _corpus().values()]
    given = model.encode(texts, convert_to_tensor=True)
    warm = result.encoder.encode(texts, convert_to_tensor=True)
    assert not torch.allclose(given, warm, atol=1e-3)  # the warm start changed the model
    assert torch.allclose(result.policy.doc_embeddings, warm, atol=1e-5)  # documents from it
    assert result.metrics["warm_start_time_s"] > 0
    assert {"initial_lexical_weight", "test_ndcg@10"} <= set(result.metrics)


def test_saved_warm_started_run_keeps_its_encoder(
    lexical_beir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, config, result, _ = _warm_started(lexical_beir, monkeypatch)
    with pytest.raises(ConfigError, match="warm-started model"):
        save_run(tmp_path / "bad", result.policy, config, None)
    folder = save_run(tmp_path / "run", result.policy, config, None, result.encoder)
    settings = json.loads((folder / "run.json").read_text())
    assert (settings["encoder"], settings["base_encoder"]) == ("encoder", None)
    assert settings["warm_start"] == "contrastive"
    saved = load_run(folder)
    assert saved.encoder == folder / "encoder"
    assert saved.document_encoder == folder / "encoder"
    assert saved.method == "PG-Rank hybrid (contrastive start)"
    collection = load_collection(lexical_beir, "beir", "test")
    expected_stage = build_first_stage(collection, result.encoder, None)
    saved_stage = build_first_stage(collection, pgrank.load_encoder(saved.encoder), None)
    expected = pgrank_run(result.policy, expected_stage, collection, config.candidates)
    got = pgrank_run(saved.policy(saved_stage), saved_stage, collection, config.candidates)
    assert got.keys() == expected.keys()
    for query, scores in expected.items():
        assert got[query] == pytest.approx(scores, abs=1e-5)
