"""PG-Rank: the leave-one-out REINFORCE loss matches the exact gradient of the expected nDCG and
learns a known best ranking; a short run on a tiny synthetic corpus improves the reward and the dev
nDCG; runs are deterministic under a seed and resume exactly; the policy starts as the dense
retriever; bad settings are one-line ConfigErrors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, WordEmbeddings
from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

from apps.retrieval.data import Collection, Document
from apps.retrieval.first_stage import DenseEncoder, DenseRetriever, load_minilm
from apps.retrieval.metrics import ideal_dcg_at_k, ndcg_at_k_of_rankings
from apps.retrieval.pgrank import (
    PGRankConfig,
    micro_batch_indices,
    pgrank_loss,
    train,
)
from apps.retrieval.policy import PGRankPolicy, candidate_set, evaluate, rerank
from core.distributions import PlackettLuce
from core.errors import ConfigError
from core.trainer import TrainerConfig

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


def _queries() -> dict[str, tuple[str, str, str]]:
    """Query id -> (text, topic, split): per topic two train queries and one test query, each
    two of the topic's query words, so queries share no word with the documents."""
    queries = {}
    for topic, (_, (a, b, c)) in TOPICS.items():
        for split, words in (("train", (a, b)), ("train", (b, c)), ("test", (a, c))):
            queries[f"q{len(queries)}"] = (" ".join(words), topic, split)
    return queries


def _write_beir(folder: Path) -> Path:
    corpus = _corpus()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    lines = [json.dumps({"_id": d.id, "title": d.title, "text": d.text}) for d in corpus.values()]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    queries = _queries()
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
    figures = evaluate(policy, collection.with_queries(list(candidates)), candidates)
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
