"""The supervised contrastive baseline: fine-tune the dense encoder on the training queries with
sentence-transformers' multiple-negatives ranking loss (InfoNCE with in-batch negatives).

Every judged pair ``(query, document)`` with gain > 0 is one example (graded gains are not used
beyond that). For a batch of ``B`` examples, each with ``H`` optional BM25 hard negatives, the
loss is

    -mean_i log softmax_j(scale * cos(e(q_i), e(d_j)))[i]

over the ``B * (1 + H)`` documents of the batch (``d_i``: the positive of example ``i``). Query and
documents share the encoder, which is trained whole, so after training the corpus must be encoded
again (:class:`~pgsuite.apps.retrieval.first_stage.DenseRetriever` with the returned model).

A batch never holds the same query or the same document twice (as sentence-transformers'
``NO_DUPLICATES`` sampler), so no in-batch negative is a positive of its own query. Hard
negatives are drawn per epoch from the non-relevant documents of the query's BM25 top
``negative_depth`` (topped up with random non-relevant documents when BM25 finds too few).
Training runs under :class:`core.trainer.Trainer` (progress bar, time limit, NaN checks) with
AdamW, linear warm-up and linear decay, as sentence-transformers' own ``fit``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import torch

from pgsuite.apps.retrieval.data import Collection, rank_documents
from pgsuite.apps.retrieval.first_stage import BM25Retriever, document_text, load_minilm
from pgsuite.core.errors import ConfigError
from pgsuite.core.schedules import linear_warmup
from pgsuite.core.seeding import derive_seed, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig, TrainResult

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass
class ContrastiveConfig:
    """Supervised contrastive fine-tuning of the dense encoder (multiple-negatives ranking loss)."""

    seed: int = 0
    """Seed of the batch order, the hard negatives and dropout."""
    epochs: int = 3
    """Passes over the (query, relevant document) pairs."""
    lr: float = 2e-5
    """Peak learning rate of AdamW."""
    batch_size: int = 32
    """Pairs per step; the other pairs' documents are each query's in-batch negatives."""
    scale: float = 20.0
    """Cosine similarities are multiplied by this (1 / temperature) inside the softmax."""
    hard_negatives: int = 0
    """BM25 hard negatives per pair (0: in-batch negatives only)."""
    negative_depth: int = 30
    """Hard negatives are drawn from the non-relevant documents of the query's BM25 top this."""
    warmup_fraction: float = 0.1
    """Fraction of the steps of linear learning-rate warm-up (then linear decay to 0)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradient-norm clipping threshold."""
    max_time_s: float | None = None
    """Stop after this much training wall time in seconds (None: run every epoch)."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        checks = {
            "epochs must be >= 1": self.epochs >= 1,
            "lr must be > 0": self.lr > 0,
            "batch_size must be >= 1": self.batch_size >= 1,
            "scale must be > 0": self.scale > 0,
            "hard_negatives must be >= 0": self.hard_negatives >= 0,
            "negative_depth must be >= 1": self.negative_depth >= 1,
            "warmup_fraction must lie in [0, 1)": 0 <= self.warmup_fraction < 1,
            "weight_decay must be >= 0": self.weight_decay >= 0,
            "max_grad_norm must be > 0": self.max_grad_norm > 0,
            "max_time_s must be > 0 or None": self.max_time_s is None or self.max_time_s > 0,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ConfigError(f"{failed[0]} (contrastive settings)")


@dataclass(frozen=True)
class Example:
    """One training example: a query, one of its relevant documents and its hard negatives."""

    query: str
    positive: str
    negatives: tuple[str, ...] = ()

    def ids(self) -> set[str]:
        """The document ids it puts into a batch."""
        return {self.positive, *self.negatives}


def training_pairs(collection: Collection) -> list[tuple[str, str]]:
    """``(query id, document id)`` for every judged document with gain > 0 that is in the corpus,
    query by query in collection order."""
    return [
        (query, doc)
        for query in collection.queries
        for doc, gain in collection.qrels.get(query, {}).items()
        if gain > 0 and doc in collection.corpus
    ]


def negative_pools(
    collection: Collection, queries: Sequence[str], size: int, depth: int, seed: int
) -> dict[str, list[str]]:
    """Per query, its non-relevant documents among the BM25 top ``depth`` in rank order, topped up
    with random non-relevant documents (seeded) to ``size`` when BM25 finds fewer.

    Raises:
        ConfigError: the corpus has fewer than ``size`` documents not relevant to a query.
    """
    run = BM25Retriever(collection.corpus).search(
        {query: collection.queries[query] for query in queries}, depth
    )
    order = torch.randperm(len(collection.corpus), generator=torch.Generator().manual_seed(seed))
    shuffled = [list(collection.corpus)[i] for i in order.tolist()]
    pools = {}
    for query in queries:
        relevant = collection.relevant(query)
        pool = [doc for doc in rank_documents(run.get(query, {})) if doc not in relevant]
        if len(pool) < size:
            taken = relevant | set(pool)
            pool += [doc for doc in shuffled if doc not in taken][: size - len(pool)]
        if len(pool) < size:
            raise ConfigError(
                f"query {query} has {len(pool)} non-relevant documents, fewer than "
                f"hard_negatives={size}"
            )
        pools[query] = pool
    return pools


def no_duplicate_batches(examples: Sequence[Example], batch_size: int) -> list[list[Example]]:
    """Cut ``examples`` into batches of at most ``batch_size`` in which no query and no document
    id occurs twice; an example that would repeat one waits for the next batch (order kept)."""
    batches, waiting = [], list(examples)
    while waiting:
        batch, queries, docs, later = [], set(), set(), []
        for example in waiting:
            ids = example.ids()
            if len(batch) < batch_size and example.query not in queries and docs.isdisjoint(ids):
                batch.append(example)
                queries.add(example.query)
                docs |= ids
            else:
                later.append(example)
        batches.append(batch)
        waiting = later
    return batches


def epoch_batches(
    pairs: Sequence[tuple[str, str]],
    pools: dict[str, list[str]],
    config: ContrastiveConfig,
    epoch: int,
) -> list[list[Example]]:
    """The batches of ``epoch``: pairs in a seeded order, each with ``config.hard_negatives``
    negatives drawn from its query's pool (``pools``), cut by :func:`no_duplicate_batches`."""
    generator = torch.Generator().manual_seed(derive_seed(config.seed, "batch-order", epoch))
    examples = []
    for index in torch.randperm(len(pairs), generator=generator).tolist():
        query, positive = pairs[index]
        negatives: tuple[str, ...] = ()
        if config.hard_negatives:
            pool = pools[query]
            picks = torch.randperm(len(pool), generator=generator)[: config.hard_negatives]
            negatives = tuple(pool[i] for i in picks.tolist())
        examples.append(Example(query, positive, negatives))
    return no_duplicate_batches(examples, config.batch_size)


@dataclass
class ContrastiveResult:
    """What :func:`fine_tune` returns."""

    model: SentenceTransformer
    """The fine-tuned encoder (a copy; in eval mode)."""
    fit: TrainResult
    """Steps, stop reason and wall time of the training loop."""
    history: pd.DataFrame
    """Per-step loss and learning rate: columns step, split, metric, value."""
    pairs: int
    """Training pairs (query, relevant document) per epoch."""


def _linear_schedule(warmup: int, total: int) -> Callable[[int], float]:
    """The learning-rate factor of step ``step``: linear warm-up over ``warmup`` steps, then
    linear decay to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return linear_warmup(step, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def fine_tune(
    config: ContrastiveConfig,
    collection: Collection,
    model: SentenceTransformer | None = None,
) -> ContrastiveResult:
    """Fine-tune a copy of ``model`` on the judged pairs of ``collection``'s queries.

    Args:
        config: the settings.
        collection: the training queries, their judgements and the corpus.
        model: the encoder to start from (left unchanged); None loads all-MiniLM-L6-v2.

    Raises:
        ConfigError: no query has a relevant document in the corpus, or too few documents for
            the hard negatives.
    """
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    seed_everything(config.seed)
    pairs = training_pairs(collection)
    if not pairs:
        raise ConfigError("no training query has a relevant document in the corpus")
    queries = list(dict.fromkeys(query for query, _ in pairs))
    pools = {}
    if config.hard_negatives:
        pools = negative_pools(
            collection, queries, config.hard_negatives, config.negative_depth, config.seed
        )
    schedule = [
        batch
        for epoch in range(config.epochs)
        for batch in epoch_batches(pairs, pools, config, epoch)
    ]
    encoder = copy.deepcopy(model if model is not None else load_minilm())
    encoder.train()
    loss_fn = MultipleNegativesRankingLoss(encoder, scale=config.scale)
    optimizer = torch.optim.AdamW(
        encoder.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    warmup = math.ceil(config.warmup_fraction * len(schedule))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _linear_schedule(warmup, len(schedule))
    )

    def features(texts: list[str]) -> dict:
        batch = encoder.preprocess(texts)
        return {k: v.to(encoder.device) if torch.is_tensor(v) else v for k, v in batch.items()}

    def step(number: int) -> dict[str, float]:
        batch = schedule[number]
        columns = [
            [collection.queries[example.query] for example in batch],
            [document_text(collection.corpus[example.positive]) for example in batch],
            *(
                [document_text(collection.corpus[example.negatives[j]]) for example in batch]
                for j in range(config.hard_negatives)
            ),
        ]
        loss = loss_fn([features(column) for column in columns], None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), config.max_grad_norm)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": loss.item(), "lr": lr, "batch_size": len(batch)}

    trainer = Trainer(
        TrainerConfig(
            max_steps=len(schedule),
            max_time_s=config.max_time_s,
            eval_every=len(schedule),
            checkpoint_every=len(schedule),
            progress=config.progress,
        ),
        step,
        model=encoder,
        optimizer=optimizer,
    )
    fit = trainer.fit()
    encoder.eval()
    assert trainer.logger is not None
    return ContrastiveResult(encoder, fit, trainer.logger.history(), len(pairs))
