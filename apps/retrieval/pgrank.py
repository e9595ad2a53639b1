"""Neural PG-Rank (Gao et al. 2023, arXiv 2310.04407): train a dense retriever's query encoder
(query-tower mode) or its one shared encoder of queries and documents (full mode) by REINFORCE on
nDCG@10 of sampled rankings of first-stage candidates.

Per query, the candidates are the union of the BM25 and dense top-``k`` lists (computed once, by
the untrained model). Per training step, for each query of a batch:

1. the policy (:class:`~pgsuite.apps.retrieval.policy.PGRankPolicy`) scores the candidates and
   ``samples`` rankings are drawn from the Plackett-Luce distribution (Gumbel-top-k);
2. each ranking's reward is its nDCG@10 with graded gains (ideal DCG from all judged gains);
3. the advantage is the reward minus the leave-one-out mean of the other rankings' rewards;
4. ``loss = -mean(advantage * log P(top-10 prefix))``, the core's REINFORCE surrogate.

Options (:class:`PGRankConfig`):

- ``lexical``: hybrid scores ``cos / temperature + w * b`` with ``b`` the per-query normalised BM25
  score of each candidate (:mod:`apps.retrieval.policy`). Before training, ``w`` is set by a grid
  search on the training queries (:func:`~pgsuite.apps.retrieval.policy.choose_lexical_weight`, the
  deterministic ranking's nDCG@10); then it trains with the tower, in its own AdamW parameter
  group (``lexical_lr``, no weight decay, the same warm-up).
- ``finetune="full"``: the tower encodes the documents too. Each training query keeps
  ``full_candidates`` candidates (:meth:`~pgsuite.apps.retrieval.policy.CandidateSet.shortlist`: the
  first-stage top ones, a relevant one swapped in when they hold none), re-encoded with gradient
  at every step, truncated to ``max_doc_tokens`` tokens. Dev and test evaluations first
  re-encode the evaluated queries' candidates with the current tower (no gradient).
- ``warm_start="contrastive"``: before anything else, the dense model is fine-tuned on the
  training queries (never the dev ones) by the contrastive baseline
  (:func:`apps.retrieval.contrastive.fine_tune`, multiple-negatives ranking loss), and the
  candidates, the frozen document embeddings and the tower all come from that model: PG-Rank as
  the paper runs it, on top of a contrastively trained retriever.

The log-probability is that of the sampled top-10 prefix (Plackett-Luce top-k), not of the full
permutation: the reward depends only on the prefix, so this is the exact likelihood of the event
that sets the reward; the estimate stays unbiased and drops the noise of the unrewarded tail.

Training runs under :class:`core.trainer.Trainer`: the dev metric is nDCG@10 of the policy's
deterministic ranking (sort by score) of the dev queries' candidates, with early stopping, the
best tower restored and checkpoints in ``trainer.out``.

A trained run is kept in a folder (:func:`save_run`): the query tower as a sentence-transformers
model folder ``tower/`` (weights only, no optimiser state) and ``run.json`` naming the encoder that
makes the first-stage candidates, the one that encodes the documents (the untrained encoder in
query-tower mode, ``tower/`` in full mode), the temperature, the candidate depth and the lexical
weight; with a contrastive warm start the warm-started model is saved too, as ``encoder/``.
:func:`load_run` reads the folder back for evaluation and search.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import pandas as pd
import torch
from torch import Tensor

from pgsuite.apps.retrieval.contrastive import ContrastiveConfig, fine_tune
from pgsuite.apps.retrieval.data import (
    Collection,
    CollectionFormat,
    Document,
    Qrels,
    Run,
    load_collection,
    train_dev_split,
)
from pgsuite.apps.retrieval.first_stage import (
    BM25Retriever,
    Candidates,
    DenseEncoder,
    DenseRetriever,
    candidate_union,
    document_embeddings,
    document_text,
    load_minilm,
)
from pgsuite.apps.retrieval.metrics import evaluate as evaluate_run
from pgsuite.apps.retrieval.metrics import ndcg_at_k_of_rankings
from pgsuite.apps.retrieval.policy import (
    CUTOFF,
    MEASURES,
    CandidateSet,
    PGRankPolicy,
    candidate_set,
    choose_lexical_weight,
    rerank,
)
from pgsuite.core.advantages import leave_one_out_baseline
from pgsuite.core.distributions import PlackettLuce
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.estimators import reinforce_loss
from pgsuite.core.runs import read_json, write_json
from pgsuite.core.schedules import linear_warmup
from pgsuite.core.seeding import derive_seed, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig, TrainResult

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
"""The settings file of a saved run."""
TOWER_FOLDER = "tower"
"""The sentence-transformers folder of a saved run's query tower."""
ENCODER_FOLDER = "encoder"
"""The sentence-transformers folder of a saved run's warm-started dense model."""
FineTune = Literal["query_tower", "full"]
"""What PG-Rank trains: the query tower over frozen documents, or the shared encoder of both."""
WarmStart = Literal["none", "contrastive"]
"""What PG-Rank starts from: the given dense model, or its contrastive fine-tune."""


def method_name(lexical: bool, finetune: FineTune, warm_start: WarmStart) -> str:
    """A PG-Rank variant's name in result tables: ``PG-Rank`` or ``PG-Rank hybrid``, tagged
    ``(full)``, ``(contrastive start)`` or ``(full, contrastive start)``."""
    tags = ["full"] if finetune == "full" else []
    tags += ["contrastive start"] if warm_start == "contrastive" else []
    name = "PG-Rank hybrid" if lexical else "PG-Rank"
    return f"{name} ({', '.join(tags)})" if tags else name


def _default_trainer() -> TrainerConfig:
    return TrainerConfig(
        max_steps=300,
        eval_every=10,
        patience=10,
        metric="ndcg@10",
        mode="max",
        checkpoint_every=50,
    )


@dataclass
class PGRankConfig:
    """pgsuite retrieval train: PG-Rank fine-tuning of the dense query encoder."""

    data: Path | None = None
    """The collection folder (required)."""
    format: CollectionFormat = "smart"
    """Collection format: smart (Cranfield-style files) or beir (corpus.jsonl, queries.jsonl,
    qrels/)."""
    train_split: str = "train"
    """Split whose queries are trained on (a dev part is taken out of them)."""
    test_split: str | None = "test"
    """Split evaluated before and after training (None: no test evaluation)."""
    dev_fraction: float = 0.2
    """Fraction of the training queries (those with a relevant document) held out as dev."""
    seed: int = 0
    """Seed of the dev split, the batch order and the sampled rankings."""
    candidates: int = 100
    """k: each query's candidates are the union of the BM25 and dense top-k lists."""
    temperature: float = 0.05
    """Scores are cosine similarity / temperature; smaller gives sharper rankings."""
    samples: int = 16
    """Rankings sampled per query per step (>= 2, for the leave-one-out baseline)."""
    queries_per_batch: int = 8
    """Queries per forward pass (a micro-batch)."""
    grad_accumulation: int = 1
    """Micro-batches whose gradients are summed into one optimiser step."""
    lr: float = 2e-5
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_steps: int = 20
    """Steps of linear learning-rate warm-up up to lr (then constant)."""
    max_epochs: float | None = None
    """Stop after this many passes over the training queries (overrides max_steps; None: use
    max_steps)."""
    lexical: bool = False
    """Hybrid scores: add w times each candidate's BM25 score over the largest of its query's
    candidates; w is learnt, warm-started by a grid search on the training queries."""
    lexical_lr: float = 1e-2
    """AdamW learning rate of the lexical weight w (no weight decay on it)."""
    finetune: FineTune = "query_tower"
    """query_tower: train the query encoder over frozen document embeddings; full: train one
    shared encoder of queries and documents, re-encoding the candidates with gradient each step."""
    full_candidates: int = 32
    """Full mode: candidates per training query re-encoded each step (the first-stage top ones; if
    none of those is relevant, the best-placed relevant one replaces the last)."""
    max_doc_tokens: int = 128
    """Full mode: the shared encoder's max_seq_length (longer texts are truncated)."""
    warm_start: WarmStart = "none"
    """none: start from the given dense model; contrastive: first fine-tune it on the training
    queries (not the dev ones) with the multiple-negatives ranking loss, then take the candidates,
    the document embeddings and the tower from the fine-tuned model."""
    warm_start_epochs: int = 3
    """Contrastive warm start: passes over the training queries' (query, relevant document)
    pairs."""
    cache_dir: Path | None = None
    """Folder caching the frozen document embeddings (None: encode the corpus every run)."""
    trainer: TrainerConfig = field(default_factory=_default_trainer)

    def __post_init__(self) -> None:
        checks = {
            "temperature must be > 0": self.temperature > 0,
            "samples must be >= 2": self.samples >= 2,
            "queries_per_batch must be >= 1": self.queries_per_batch >= 1,
            "grad_accumulation must be >= 1": self.grad_accumulation >= 1,
            "candidates must be >= 1": self.candidates >= 1,
            "lr must be > 0": self.lr > 0,
            "weight_decay must be >= 0": self.weight_decay >= 0,
            "warmup_steps must be >= 0": self.warmup_steps >= 0,
            "dev_fraction must lie in (0, 1)": 0 < self.dev_fraction < 1,
            "max_epochs must be > 0 or None": self.max_epochs is None or self.max_epochs > 0,
            "lexical_lr must be > 0": self.lexical_lr > 0,
            "finetune must be query_tower or full": self.finetune in get_args(FineTune),
            "full_candidates must be >= 1": self.full_candidates >= 1,
            "max_doc_tokens must be >= 1": self.max_doc_tokens >= 1,
            "warm_start must be none or contrastive": self.warm_start in get_args(WarmStart),
            "warm_start_epochs must be >= 1": self.warm_start_epochs >= 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ConfigError(f"{failed[0]} (PG-Rank settings)")
        if self.trainer.metric not in MEASURES or self.trainer.mode != "max":
            raise ConfigError(
                f"the dev metric must be one of {', '.join(MEASURES)} with mode max, "
                f"got {self.trainer.metric!r} ({self.trainer.mode})"
            )
        if self.data is not None:
            self.data = Path(self.data)


# --- the loss ------------------------------------------------------------------------------------


def pgrank_loss(
    ranking: PlackettLuce, gains: Tensor, ideal_dcg: Tensor, samples: int, cutoff: int = CUTOFF
) -> tuple[Tensor, Tensor]:
    """Leave-one-out REINFORCE loss on nDCG@cutoff of ``samples`` sampled rankings per query.

    Args:
        ranking: Plackett-Luce over the candidates of ``B`` queries (``N`` slots each).
        gains: float ``[B, N]``, graded gain of each candidate (0 at padding).
        ideal_dcg: float ``[B]``, IDCG@cutoff from all judged gains of each query.
        samples: ``S >= 2`` rankings per query.
        cutoff: nDCG depth; the log-probability is of the top-``min(cutoff, N)`` prefix.

    Returns:
        ``(loss, rewards)``: the scalar surrogate ``-mean((r - b) * log P(prefix))`` with the
        leave-one-out baseline ``b``, and the rewards float ``[B, S]``.
    """
    prefixes = ranking.sample((samples,))[..., : min(cutoff, gains.shape[-1])]  # [S, B, K]
    log_probs = ranking.log_prob(prefixes).transpose(0, 1)  # [B, S]
    rewards = ndcg_at_k_of_rankings(
        gains.to(log_probs.dtype), prefixes.transpose(0, 1), ideal_dcg.to(log_probs.dtype), cutoff
    )
    return reinforce_loss(log_probs, rewards, leave_one_out_baseline(rewards)), rewards


# --- data and first stage ------------------------------------------------------------------------


@dataclass
class FirstStage:
    """BM25 and the untrained dense retriever over one corpus; their candidate union per query."""

    bm25: BM25Retriever
    dense: DenseRetriever
    corpus: Mapping[str, Document]
    """The corpus both index, in the dense retriever's row order."""
    cache_dir: Path | None = None
    """Folder of the document-embedding cache (None: no cache)."""

    def candidates(self, queries: Mapping[str, str], k: int) -> Candidates:
        """Union of the BM25 and dense top-``k`` of each query (:func:`candidate_union`)."""
        return candidate_union(self.bm25.search(queries, k), self.dense.search(queries, k), k)


def build_first_stage(
    collection: Collection,
    model: SentenceTransformer,
    cache_dir: Path | None,
    show_progress: bool = False,
) -> FirstStage:
    """Index the collection's corpus with BM25 and encode it with ``model`` (cached); with
    ``show_progress``, a progress bar follows the encoding."""
    encoder = DenseEncoder(model, show_progress=show_progress)
    corpus = collection.corpus
    return FirstStage(
        BM25Retriever(corpus), DenseRetriever(encoder, corpus, cache_dir), corpus, cache_dir
    )


def make_policy(first_stage: FirstStage, config: PGRankConfig) -> PGRankPolicy:
    """A policy whose tower is a trainable copy of the first stage's dense model; hybrid with
    ``w = 0`` when ``config.lexical`` (:func:`train` warm-starts it); in full mode the tower also
    encodes the documents, its max_seq_length capped at ``config.max_doc_tokens``."""
    dense = first_stage.dense
    tower = copy.deepcopy(dense.encoder.model)
    doc_texts = None
    if config.finetune == "full":
        limit = tower.max_seq_length
        tower.max_seq_length = (
            config.max_doc_tokens if limit is None else min(limit, config.max_doc_tokens)
        )
        doc_texts = [document_text(document) for document in first_stage.corpus.values()]
    lexical_weight = 0.0 if config.lexical else None
    return PGRankPolicy(
        tower, dense.doc_ids, dense.embeddings, config.temperature, lexical_weight, doc_texts
    )


def policy_candidates(
    policy: PGRankPolicy, first_stage: FirstStage, collection: Collection, candidates: Candidates
) -> CandidateSet:
    """:func:`~pgsuite.apps.retrieval.policy.candidate_set` of ``candidates``, with their BM25 scores
    (:meth:`BM25Retriever.score`) when the policy is hybrid."""
    lexical = first_stage.bm25.score(collection.queries, candidates) if policy.lexical else None
    return candidate_set(collection, candidates, policy.doc_rows, lexical)


def policy_run(policy: PGRankPolicy, candidates: CandidateSet, reencode: bool = False) -> Run:
    """The policy's scores of the candidates (:func:`~pgsuite.apps.retrieval.policy.rerank`); with
    ``reencode``, a full-mode policy first re-encodes the candidates' documents with its current
    tower (needed after training steps; a policy from :meth:`SavedRun.policy` is up to date)."""
    if reencode and policy.full:
        policy.reencode(candidates)
    return rerank(policy, candidates)


def evaluate_policy(
    policy: PGRankPolicy, candidates: CandidateSet, qrels: Qrels
) -> dict[str, float]:
    """nDCG@10, MRR@10 and Recall@100 (:data:`MEASURES`, means over the queries with a relevant
    document) of the policy's ranking of ``candidates`` (re-encoded first in full mode)."""
    return evaluate_run(policy_run(policy, candidates, reencode=True), qrels, MEASURES)


def _query_order(count: int, seed: int, epoch: int) -> list[int]:
    """The order of the training queries in ``epoch``: a permutation fixed by seed and epoch."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "query-order", epoch))
    return torch.randperm(count, generator=generator).tolist()


def micro_batch_indices(micro_batch: int, size: int, count: int, seed: int) -> list[int]:
    """Query indices of micro-batch number ``micro_batch`` (0-based) over the training queries.

    The queries are read epoch after epoch, each in a fresh seeded order; a batch may span two
    epochs. Depending only on its arguments, the order needs no state to resume exactly.
    """
    positions = range(micro_batch * size, (micro_batch + 1) * size)
    return [_query_order(count, seed, pos // count)[pos % count] for pos in positions]


# --- training ------------------------------------------------------------------------------------


@dataclass
class PGRankResult:
    """What :func:`train` returns."""

    policy: PGRankPolicy
    """The trained policy (best dev tower restored when the trainer is so set)."""
    fit: TrainResult
    """Steps, stop reason, best dev value and step, wall time."""
    history: pd.DataFrame
    """Every logged metric: columns step, split (train / dev), metric, value."""
    metrics: dict[str, float]
    """Test figures before (``initial_test_<measure>``) and after (``test_<measure>``) training,
    when a test split is set; when hybrid, also the lexical weight after the warm start
    (``initial_lexical_weight``) and after training (``lexical_weight``); with a contrastive warm
    start, its wall time (``warm_start_time_s``)."""
    encoder: SentenceTransformer
    """The dense model behind the candidates and the frozen document embeddings: the one given
    to :func:`train`, or its contrastive fine-tune (``warm_start="contrastive"``)."""


def _training_step(
    config: PGRankConfig,
    policy: PGRankPolicy,
    train_set: CandidateSet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
) -> dict[str, float]:
    """One optimiser update over ``grad_accumulation`` micro-batches; returns its metrics."""
    losses, rewards = [], []
    for micro in range(config.grad_accumulation):
        number = step * config.grad_accumulation + micro
        batch = train_set.select(
            micro_batch_indices(number, config.queries_per_batch, len(train_set), config.seed)
        )
        loss, reward = pgrank_loss(policy(batch), batch.gains, batch.ideal_dcg, config.samples)
        (loss / config.grad_accumulation).backward()
        losses.append(loss.item())
        rewards.append(reward.mean().item())
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    metrics = {"loss": sum(losses) / len(losses), "reward": sum(rewards) / len(rewards), "lr": lr}
    if policy.lexical_weight is not None:
        metrics["lexical_weight"] = policy.lexical_weight.item()
    return metrics


def _optimizer(config: PGRankConfig, policy: PGRankPolicy) -> torch.optim.AdamW:
    """AdamW over the tower (lr, weight_decay) and, when hybrid, over ``w`` in its own group
    (lexical_lr, no weight decay)."""
    groups: list[dict] = [
        {"params": list(policy.tower.parameters()), "weight_decay": config.weight_decay}
    ]
    if policy.lexical_weight is not None:
        groups.append(
            {"params": [policy.lexical_weight], "lr": config.lexical_lr, "weight_decay": 0.0}
        )
    return torch.optim.AdamW(groups, lr=config.lr)


def _warm_start(policy: PGRankPolicy, train_set: CandidateSet) -> dict[str, float]:
    """Set a hybrid policy's ``w`` by the grid search on the training queries; returns
    ``{"initial_lexical_weight": w}``."""
    if policy.full:
        policy.reencode(train_set)
    means = choose_lexical_weight(policy, train_set)
    assert policy.lexical_weight is not None
    weight = policy.lexical_weight.item()
    grid = ", ".join(f"{w:g}: {ndcg:.4f}" for w, ndcg in means.items())
    log.info("lexical weight warm start: w = %g (training nDCG@10 by w: %s)", weight, grid)
    return {"initial_lexical_weight": weight}


def _max_steps(config: PGRankConfig, train_queries: int) -> int:
    if config.max_epochs is None:
        return config.trainer.max_steps
    per_step = config.queries_per_batch * config.grad_accumulation
    return max(1, math.ceil(config.max_epochs * train_queries / per_step))


def _test_set(
    config: PGRankConfig, first_stage: FirstStage, policy: PGRankPolicy
) -> tuple[CandidateSet, Qrels] | None:
    """The test queries' candidates and judgements (None without a test split), built once and
    evaluated before and after training."""
    if config.test_split is None:
        return None
    assert config.data is not None
    test = load_collection(config.data, config.format, config.test_split)
    test = test.with_queries(test.queries_with_relevant())
    candidates = first_stage.candidates(test.queries, config.candidates)
    return policy_candidates(policy, first_stage, test, candidates), test.qrels


def _test_metrics(
    policy: PGRankPolicy, test: tuple[CandidateSet, Qrels] | None, prefix: str
) -> dict[str, float]:
    if test is None:
        return {}
    figures = evaluate_policy(policy, *test)
    return {f"{prefix}{name}": value for name, value in figures.items()}


def train(config: PGRankConfig, model: SentenceTransformer | None = None) -> PGRankResult:
    """Fine-tune the query tower (or, in full mode, the shared encoder) with PG-Rank under
    :class:`core.trainer.Trainer`.

    Args:
        config: the settings; ``config.data`` is required.
        model: the dense model that encodes the documents and starts the query tower (it is left
            unchanged); None loads all-MiniLM-L6-v2.

    Raises:
        ConfigError: no data folder, or settings the data cannot satisfy.
        DataError: unreadable collection files.
    """
    if config.data is None:
        raise ConfigError("give the collection folder (--data)")
    seed_everything(config.seed)
    collection = load_collection(config.data, config.format, config.train_split)
    train_ids, dev_ids = train_dev_split(
        collection.queries_with_relevant(), config.dev_fraction, config.seed
    )
    model = model if model is not None else load_minilm()
    initial: dict[str, float] = {}
    if config.warm_start == "contrastive":
        model, initial["warm_start_time_s"] = _contrastive_warm_start(
            config, collection.with_queries(train_ids), model
        )
    first_stage = build_first_stage(collection, model, config.cache_dir, config.trainer.progress)
    policy = make_policy(first_stage, config)
    train_set = _training_set(config, first_stage, collection, train_ids, policy)
    dev_collection = collection.with_queries(dev_ids)
    dev_set = policy_candidates(
        policy,
        first_stage,
        dev_collection,
        first_stage.candidates(dev_collection.queries, config.candidates),
    )
    if policy.lexical:
        initial |= _warm_start(policy, train_set)
    test = _test_set(config, first_stage, policy)
    initial |= _test_metrics(policy, test, "initial_test_")

    optimizer = _optimizer(config, policy)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_warmup(step, config.warmup_steps)
    )
    trainer_config = dataclasses.replace(
        config.trainer, max_steps=_max_steps(config, len(train_set))
    )
    policy.train()
    trainer = Trainer(
        trainer_config,
        lambda step: _training_step(config, policy, train_set, optimizer, scheduler, step),
        model=policy,
        optimizer=optimizer,
        evaluate_fn=lambda: evaluate_policy(policy, dev_set, dev_collection.qrels),
        stateful={"scheduler": scheduler},
    )
    fit = trainer.fit()
    policy.eval()
    assert trainer.logger is not None
    final = _test_metrics(policy, test, "test_")
    if policy.lexical_weight is not None:
        final["lexical_weight"] = policy.lexical_weight.item()
    return PGRankResult(policy, fit, trainer.logger.history(), initial | final, model)


def _contrastive_warm_start(
    config: PGRankConfig, training: Collection, model: SentenceTransformer
) -> tuple[SentenceTransformer, float]:
    """``model`` fine-tuned by the contrastive baseline on ``training`` (the training queries,
    without the dev ones), seeded by ``config.seed``; and the wall time it took (s)."""
    settings = ContrastiveConfig(
        seed=config.seed, epochs=config.warm_start_epochs, progress=config.trainer.progress
    )
    result = fine_tune(settings, training, model)
    log.info(
        "contrastive warm start: %d pairs, %d steps, %.0f s",
        result.pairs,
        result.fit.steps,
        result.fit.wall_time_s,
    )
    return result.model, result.fit.wall_time_s


def _training_set(
    config: PGRankConfig,
    first_stage: FirstStage,
    collection: Collection,
    train_ids: list[str],
    policy: PGRankPolicy,
) -> CandidateSet:
    """The training queries whose candidates hold a relevant document (on the others every
    sampled ranking scores 0, so they carry no gradient); in full mode, each query's
    ``full_candidates`` shortlist (:meth:`CandidateSet.shortlist`)."""
    queries = {query: collection.queries[query] for query in train_ids}
    candidates = first_stage.candidates(queries, config.candidates)
    useful = {
        query: docs
        for query, docs in candidates.items()
        if not collection.relevant(query).isdisjoint(docs)
    }
    if not useful:
        raise ConfigError("no training query has a relevant document among its candidates")
    if len(useful) < len(candidates):
        log.info("%d training queries lack a relevant candidate", len(candidates) - len(useful))
    train_set = policy_candidates(policy, first_stage, collection, useful)
    return train_set.shortlist(config.full_candidates) if policy.full else train_set


# --- saved runs ----------------------------------------------------------------------------------


def load_encoder(folder: Path | None) -> SentenceTransformer:
    """The sentence-transformers model saved in ``folder``; None loads all-MiniLM-L6-v2 (offline).

    Raises:
        DataError: ``folder`` is missing or holds no loadable sentence-transformers model.
    """
    if folder is None:
        return load_minilm()
    from sentence_transformers import SentenceTransformer

    folder = Path(folder)
    if not (folder / "modules.json").is_file():
        raise DataError(f"{folder}: not a sentence-transformers model folder (no modules.json)")
    try:
        return SentenceTransformer(str(folder), device="cpu")
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder}: cannot load the model ({exc})") from None


@dataclass(frozen=True)
class SavedRun:
    """A run folder written by :func:`save_run`."""

    folder: Path
    encoder: Path | None
    """Model folder of the dense model PG-Rank started from (the given one, or ``encoder/`` after
    a contrastive warm start): the first stage's candidates, and in query-tower mode the frozen
    document embeddings (None: all-MiniLM-L6-v2)."""
    temperature: float
    """The policy's temperature."""
    candidates: int
    """k of the BM25 and dense top-k lists whose union the policy ranks."""
    lexical_weight: float | None = None
    """The trained hybrid weight ``w`` (None: pure dense scores; also for runs from before the
    option)."""
    finetune: FineTune = "query_tower"
    """query_tower, or full: the documents are encoded by the saved tower too."""
    warm_start: WarmStart = "none"
    """none, or contrastive: :attr:`encoder` is the contrastively fine-tuned model."""

    @property
    def method(self) -> str:
        """The run's name in result tables (:func:`method_name`)."""
        return method_name(self.lexical_weight is not None, self.finetune, self.warm_start)

    @property
    def document_encoder(self) -> Path | None:
        """Model folder that encodes the documents: ``tower/`` in full mode, else :attr:`encoder`."""
        return self.folder / TOWER_FOLDER if self.finetune == "full" else self.encoder

    def policy(self, first_stage: FirstStage) -> PGRankPolicy:
        """The trained policy over ``first_stage``'s documents, whose dense retriever must have
        been built with :attr:`encoder`. In full mode the corpus is encoded by the tower (through
        the first stage's embedding cache, keyed by the tower's weights)."""
        tower = load_encoder(self.folder / TOWER_FOLDER)
        dense = first_stage.dense
        if self.finetune != "full":
            return PGRankPolicy(
                tower, dense.doc_ids, dense.embeddings, self.temperature, self.lexical_weight
            )
        encoder = DenseEncoder(tower, show_progress=dense.encoder.show_progress)
        embeddings = document_embeddings(encoder, first_stage.corpus, first_stage.cache_dir)
        texts = [document_text(document) for document in first_stage.corpus.values()]
        return PGRankPolicy(
            tower, dense.doc_ids, embeddings, self.temperature, self.lexical_weight, texts
        )


def save_run(
    folder: Path,
    policy: PGRankPolicy,
    config: PGRankConfig,
    encoder: Path | None,
    warm_started: SentenceTransformer | None = None,
) -> Path:
    """Write ``<folder>/tower`` (the query tower) and ``<folder>/run.json``; returns the folder.

    ``run.json`` records ``lexical`` and the trained ``lexical_weight`` (null when pure dense),
    ``finetune``, ``warm_start`` and ``document_encoder`` (``tower``, relative to the folder, in
    full mode).

    Args:
        folder: the run folder (created if needed).
        policy: the trained policy.
        config: the settings it was trained with.
        encoder: the model folder it started from (None: all-MiniLM-L6-v2); stored absolute (as
            ``base_encoder`` when warm-started).
        warm_started: the contrastively warm-started model (:attr:`PGRankResult.encoder`),
            required when ``config.warm_start`` is contrastive: saved as ``<folder>/encoder``,
            the run's encoder (relative to the folder).

    Raises:
        ConfigError: ``warm_started`` given without a warm start in ``config``, or missing with.
    """
    if (warm_started is not None) != (config.warm_start != "none"):
        raise ConfigError(
            f"a run with warm_start {config.warm_start!r} needs its warm-started model exactly "
            "when it was warm-started"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    policy.tower.save(str(folder / TOWER_FOLDER))
    base_name = None if encoder is None else str(Path(encoder).resolve())
    encoder_name = base_name
    if warm_started is not None:
        warm_started.save(str(folder / ENCODER_FOLDER))
        encoder_name = ENCODER_FOLDER
    weight = policy.lexical_weight
    settings = {
        "method": "pgrank",
        "encoder": encoder_name,
        "base_encoder": base_name,
        "warm_start": config.warm_start,
        "document_encoder": TOWER_FOLDER if policy.full else encoder_name,
        "finetune": "full" if policy.full else "query_tower",
        "temperature": config.temperature,
        "candidates": config.candidates,
        "lexical": weight is not None,
        "lexical_weight": None if weight is None else weight.item(),
        "data": None if config.data is None else str(config.data),
        "format": config.format,
    }
    write_json(folder / RUN_FILE, settings)
    return folder


def load_run(folder: Path) -> SavedRun:
    """Read a run folder written by :func:`save_run`; one without the ``lexical``,
    ``finetune`` and ``warm_start`` keys (older) is a pure dense query-tower run from the given
    model. A relative ``encoder`` lies inside the folder.

    Raises:
        DataError: no ``run.json`` or ``tower/`` there, or an unreadable ``run.json``.
    """
    folder = Path(folder)
    path = folder / RUN_FILE
    if not path.is_file() or not (folder / TOWER_FOLDER).is_dir():
        raise DataError(
            f"{folder}: not a PG-Rank run folder (no {RUN_FILE} and {TOWER_FOLDER}/; "
            "write one with pgsuite retrieval train --out)"
        )
    settings = read_json(path, "a PG-Rank run folder")
    try:
        encoder = settings["encoder"]
        lexical = bool(settings.get("lexical", False))
        finetune = settings.get("finetune", "query_tower")
        if finetune not in get_args(FineTune):
            raise ValueError(f"finetune {finetune!r}")
        warm_start = settings.get("warm_start", "none")
        if warm_start not in get_args(WarmStart):
            raise ValueError(f"warm_start {warm_start!r}")
        return SavedRun(
            folder,
            None if encoder is None else folder / encoder,  # an absolute path stays as it is
            float(settings["temperature"]),
            int(settings["candidates"]),
            float(settings["lexical_weight"]) if lexical else None,
            finetune,
            warm_start,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: unreadable run settings ({exc!r})") from None
