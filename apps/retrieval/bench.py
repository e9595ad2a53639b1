"""``pgsuite retrieval bench``: every method on one test split (by default Cranfield's 75 test
queries), written to ``benchmarks/results/retrieval_cranfield.{csv,md}``.

Methods (all over the same corpus; the dense model is all-MiniLM-L6-v2 unless ``--encoder``):

- ``BM25``: bm25s with stemming and stop words.
- ``dense``: the warm-start dense model, exhaustive cosine search.
- ``BM25>dense``: BM25's top 100 re-ranked by the dense model.
- ``RRF``: reciprocal rank fusion (k = 60) of the BM25 and dense top 100.
- ``contrastive``: the dense model fine-tuned on the training queries with the multiple-negatives
  ranking loss (:mod:`apps.retrieval.contrastive`), then exhaustive search.
- ``PG-Rank``: the query tower trained by PG-Rank (:mod:`apps.retrieval.pgrank`), ranking the
  union of the BM25 and dense top-100 lists (:func:`pgrank_run`).
- ``PG-Rank hybrid``: the same with ``lexical=True``: scores add a learnt weight times each
  candidate's BM25 score normalised per query.
- ``PG-Rank (full)``, ``PG-Rank hybrid (full)``: the same two with ``finetune="full"``: one shared
  encoder of queries and documents is trained (the candidates re-encoded with gradient).
- ``PG-Rank hybrid (contrastive start)``: the hybrid with ``warm_start="contrastive"``: the dense
  model is first fine-tuned as the contrastive baseline, on PG-Rank's training queries only
  (not its dev ones), and PG-Rank starts from it; the test candidates come from that model too.

Columns: nDCG@10, MRR@10 and Recall@100 (means over the test queries with a relevant document),
``train_time_s`` (wall time of the training call; 0 for the untrained methods) and
``queries_per_s`` (test queries over the wall time of producing their rankings, with the corpus
already indexed and encoded, by the tuned encoder in full mode) and, for the PG-Rank methods,
``dev_ndcg@10``: nDCG@10 on the dev queries held out of the training split (the best dev figure
of training, whose policy is the one tested), where query-tower and full fine-tuning compare on
queries neither trained on (:func:`tower_vs_full` pairs the two modes by seed, on dev and on
test). The trained methods run once per seed; the others, deterministic, once. Rows accumulate in the CSV per (method, seed): a command that runs some methods or seeds
replaces those cells and keeps the rest (:func:`core.bench.merge_rows`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pgsuite.apps.retrieval.contrastive import ContrastiveConfig, fine_tune
from pgsuite.apps.retrieval.data import Collection, CollectionFormat, Run, load_collection
from pgsuite.apps.retrieval.first_stage import (
    DenseEncoder,
    DenseRetriever,
    reciprocal_rank_fusion,
    top_documents,
)
from pgsuite.apps.retrieval.metrics import evaluate as evaluate_run
from pgsuite.apps.retrieval.pgrank import (
    FineTune,
    FirstStage,
    PGRankConfig,
    WarmStart,
    build_first_stage,
    load_encoder,
    method_name,
    policy_candidates,
    policy_run,
    train,
)
from pgsuite.apps.retrieval.policy import MEASURES, PGRankPolicy
from pgsuite.core.bench import run_bench, summarize
from pgsuite.core.cli import CommandOutput, markdown_table
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.doctables import update_pages
from pgsuite.core.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DOCS = ("docs/retrieval.md",)
"""The doc page whose results blocks the bench refreshes (see :mod:`pgsuite.core.doctables`)."""
DEPTH = 100
"""Depth of every run (Recall@100) and of the BM25 list the dense model re-ranks."""
BASELINES = ("BM25", "dense", "BM25>dense", "RRF")
"""The untrained methods, in table order."""
PGRANK_VARIANTS: tuple[tuple[bool, FineTune, WarmStart], ...] = (
    (False, "query_tower", "none"),
    (True, "query_tower", "none"),
    (False, "full", "none"),
    (True, "full", "none"),
    (True, "query_tower", "contrastive"),
)
"""The PG-Rank rows, as (lexical, finetune, warm_start) of
:class:`~pgsuite.apps.retrieval.pgrank.PGRankConfig`."""
PGRANK_METHODS = {method_name(*variant): variant for variant in PGRANK_VARIANTS}
"""The PG-Rank rows by name (:func:`~pgsuite.apps.retrieval.pgrank.method_name`)."""
TRAINED = ("contrastive", *PGRANK_METHODS)
"""The trained methods, in table order."""
METRICS = (*MEASURES, "train_time_s", "queries_per_s", "dev_ndcg@10")
"""The reported columns."""
CRANFIELD = Path("../shared/data/cranfield")
"""Where the Cranfield collection lies, from the repository root."""
DEFAULT_CACHE = Path("runs/cache/retrieval")
"""Default folder of the document-embedding cache."""


def baseline_run(method: str, first_stage: FirstStage, queries: Mapping[str, str]) -> Run:
    """The top-:data:`DEPTH` run of the untrained ``method`` (one of :data:`BASELINES`)."""
    if method == "BM25":
        return first_stage.bm25.search(queries, DEPTH)
    if method == "dense":
        return first_stage.dense.search(queries, DEPTH)
    if method == "BM25>dense":
        candidates = top_documents(first_stage.bm25.search(queries, DEPTH), DEPTH)
        return first_stage.dense.score(queries, candidates)
    if method == "RRF":
        runs = [first_stage.bm25.search(queries, DEPTH), first_stage.dense.search(queries, DEPTH)]
        return reciprocal_rank_fusion(runs, depth=DEPTH)
    raise ConfigError(f"unknown method {method!r}; use {', '.join(BASELINES)}")


def pgrank_run(
    policy: PGRankPolicy,
    first_stage: FirstStage,
    collection: Collection,
    candidates: int,
) -> Run:
    """The policy's scores of the union of the BM25 and dense top-``candidates`` lists of each of
    ``collection``'s queries (``first_stage`` must be over the policy's corpus; a hybrid policy
    gets the candidates' BM25 scores). A full-mode policy reads its ``doc_embeddings`` as they
    are: re-encode the candidates after training (:meth:`PGRankPolicy.reencode`)."""
    union = first_stage.candidates(collection.queries, candidates)
    return policy_run(policy, policy_candidates(policy, first_stage, collection, union))


def timed_figures(collection: Collection, search: Callable[[], Run]) -> dict[str, float]:
    """:data:`MEASURES` of the run ``search()`` returns for ``collection``, and ``queries_per_s``
    (the collection's queries over the wall time of ``search``)."""
    start = time.perf_counter()
    run = search()
    seconds = time.perf_counter() - start
    figures = evaluate_run(run, collection.qrels, MEASURES)
    return figures | {"queries_per_s": len(collection.queries) / max(seconds, 1e-9)}


@dataclass
class RetrievalBenchConfig:
    """pgsuite retrieval bench: every method on a test split (benchmarks/results/<name>.*)."""

    data: Path = CRANFIELD
    """The collection folder."""
    format: CollectionFormat = "smart"
    """Collection format: smart (Cranfield-style files) or beir."""
    train_split: str = "train"
    """Split the trained methods learn from (PG-Rank takes its dev part out of it)."""
    test_split: str = "test"
    """Split every method is measured on."""
    encoder: Path | None = None
    """Dense model folder (a sentence-transformers model; None: all-MiniLM-L6-v2, offline)."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Seeds of the trained methods (mean and std over them)."""
    methods: tuple[str, ...] = (*BASELINES, *TRAINED)
    """Methods to run: BM25, dense, BM25>dense (BM25's top 100 re-ranked by the dense model), RRF,
    contrastive, PG-Rank, "PG-Rank hybrid" (PG-Rank with BM25 scores added, --lexical), both
    with full fine-tuning: "PG-Rank (full)", "PG-Rank hybrid (full)", and the hybrid started from
    a contrastive fine-tune: "PG-Rank hybrid (contrastive start)"."""
    pgrank_max_steps: int = 300
    """PG-Rank budget: optimiser steps at most (early stopping on dev nDCG@10 may end sooner)."""
    pgrank_time_s: float | None = None
    """PG-Rank budget: training wall time in seconds (None: no limit)."""
    pgrank_eval_every: int = 10
    """PG-Rank: optimiser steps between dev evaluations (early stopping after 10 without gain;
    in full mode each evaluation re-encodes the dev candidates)."""
    contrastive_epochs: int = 3
    """Contrastive budget: passes over the (query, relevant document) pairs (also of the
    contrastive warm start)."""
    contrastive_time_s: float | None = None
    """Contrastive budget: training wall time in seconds (None: no limit)."""
    contrastive_hard_negatives: int = 0
    """BM25 hard negatives per contrastive pair (0: in-batch negatives only)."""
    cache_dir: Path | None = DEFAULT_CACHE
    """Folder caching document embeddings (None: encode the corpus every time)."""
    results_dir: Path = Path("benchmarks/results")
    """Folder for the CSV / Markdown results."""
    name: str = "retrieval_cranfield"
    """File stem of the results."""
    progress: bool = True
    """Show progress bars."""
    backend: BackendConfig = field(default_factory=BackendConfig)

    def __post_init__(self) -> None:
        unknown = [method for method in self.methods if method not in (*BASELINES, *TRAINED)]
        if unknown or not self.methods:
            raise ConfigError(
                f"unknown methods {unknown}; choose from {', '.join((*BASELINES, *TRAINED))}"
            )
        if not self.seeds:
            raise ConfigError("give at least one seed")
        if self.pgrank_max_steps < 1:
            raise ConfigError(f"pgrank_max_steps must be >= 1, got {self.pgrank_max_steps}")
        if self.pgrank_eval_every < 1:
            raise ConfigError(f"pgrank_eval_every must be >= 1, got {self.pgrank_eval_every}")
        self.data = Path(self.data)


@dataclass
class _Instance:
    """What every method reads: the splits, the untrained first stage and its model."""

    train: Collection
    test: Collection
    first_stage: FirstStage
    config: RetrievalBenchConfig

    @property
    def base_model(self) -> SentenceTransformer:
        """The untrained dense model."""
        return self.first_stage.dense.encoder.model


def _baseline(method: str) -> Callable[[_Instance, int], dict[str, float]]:
    def run(instance: _Instance, seed: int) -> dict[str, float]:
        queries = instance.test.queries
        figures = timed_figures(
            instance.test, lambda: baseline_run(method, instance.first_stage, queries)
        )
        return figures | {"train_time_s": 0.0, "dev_ndcg@10": math.nan}

    return run


def _contrastive(instance: _Instance, seed: int) -> dict[str, float]:
    config = instance.config
    settings = ContrastiveConfig(
        seed=seed,
        epochs=config.contrastive_epochs,
        hard_negatives=config.contrastive_hard_negatives,
        max_time_s=config.contrastive_time_s,
        progress=config.progress,
    )
    start = time.perf_counter()
    result = fine_tune(settings, instance.train, instance.base_model)
    train_time = time.perf_counter() - start
    retriever = _test_retriever(instance, result.model)
    figures = timed_figures(instance.test, lambda: retriever.search(instance.test.queries, DEPTH))
    return figures | {"train_time_s": train_time, "dev_ndcg@10": math.nan}


def _test_retriever(instance: _Instance, model: SentenceTransformer) -> DenseRetriever:
    """Exhaustive dense search of the test corpus by a trained ``model`` (embeddings cached)."""
    encoder = DenseEncoder(model, show_progress=instance.config.progress)
    return DenseRetriever(encoder, instance.test.corpus, instance.config.cache_dir)


def _pgrank(method: str) -> Callable[[_Instance, int], dict[str, float]]:
    lexical, finetune, warm_start = PGRANK_METHODS[method]
    return functools.partial(
        _train_pgrank, lexical=lexical, finetune=finetune, warm_start=warm_start
    )


def _train_pgrank(
    instance: _Instance, seed: int, lexical: bool, finetune: FineTune, warm_start: WarmStart
) -> dict[str, float]:
    config = instance.config
    defaults = PGRankConfig()
    settings = PGRankConfig(
        data=config.data,
        format=config.format,
        train_split=config.train_split,
        test_split=None,
        seed=seed,
        lexical=lexical,
        finetune=finetune,
        warm_start=warm_start,
        warm_start_epochs=config.contrastive_epochs,
        cache_dir=config.cache_dir,
        trainer=dataclasses.replace(
            defaults.trainer,
            max_steps=config.pgrank_max_steps,
            max_time_s=config.pgrank_time_s,
            eval_every=config.pgrank_eval_every,
            progress=config.progress,
        ),
    )
    start = time.perf_counter()
    result = train(settings, instance.base_model)
    train_time = time.perf_counter() - start
    test, first_stage, policy = instance.test, instance.first_stage, result.policy
    if warm_start != "none":  # candidates and document embeddings of the warm-started model
        first_stage = dataclasses.replace(
            first_stage, dense=_test_retriever(instance, result.encoder)
        )
    if policy.full:  # encode the documents with the tuned encoder before the clock starts
        union = first_stage.candidates(test.queries, settings.candidates)
        policy.reencode(policy_candidates(policy, first_stage, test, union))
    figures = timed_figures(
        test, lambda: pgrank_run(policy, first_stage, test, settings.candidates)
    )
    dev = math.nan if result.fit.best_value is None else result.fit.best_value
    return figures | {"train_time_s": train_time, "dev_ndcg@10": dev}


def _prepare(config: RetrievalBenchConfig) -> _Instance:
    train_split = load_collection(config.data, config.format, config.train_split)
    test = load_collection(config.data, config.format, config.test_split)
    test = test.with_queries(test.queries_with_relevant())
    if not test.queries:
        raise ConfigError(f"the {config.test_split} split has no query with a relevant document")
    model = load_encoder(config.encoder)
    first_stage = build_first_stage(test, model, config.cache_dir, config.progress)
    return _Instance(train_split, test, first_stage, config)


def bench(config: RetrievalBenchConfig) -> CommandOutput:
    """Run the methods, write ``<results_dir>/<name>.{csv,md}`` and return the summary table."""
    instance = _prepare(config)
    label = f"{config.data.name} {config.test_split}"
    trained = {"contrastive": _contrastive} | {m: _pgrank(m) for m in PGRANK_METHODS}
    title = (
        f"Retrieval, {label} ({len(instance.test.queries)} queries): nDCG@10, MRR@10, Recall@100, "
        "training time and search speed"
    )
    grid = {
        "name": config.name,
        "metrics": list(METRICS),
        "results_dir": config.results_dir,
        "title": title,
        "progress": config.progress,
        "backend": config.backend,
        "config": config,
    }
    # the untrained baselines are deterministic: one seed; the trained methods every seed
    baselines = {m: _baseline(m) for m in BASELINES if m in config.methods}
    chosen = {m: trained[m] for m in TRAINED if m in config.methods}
    for methods, seeds in ((baselines, config.seeds[:1]), (chosen, config.seeds)):
        if methods:
            rows, paths = run_bench(methods, {label: instance}, seeds, **grid)
    comparison = tower_vs_full(rows)
    with paths["md"].open("a", encoding="utf-8") as file:
        file.write(_setup_note(config, len(instance.test.queries), rows))
        if not comparison.empty:
            table = markdown_table(comparison, floatfmt=".4f")
            file.write(f"\n{COMPARISON_TITLE}\n\n{table}\n")
    update_pages(DOCS, config.name, config.results_dir)  # after the notes appended to the .md
    summary_table = summarize(rows, list(METRICS))
    summary = {
        "csv": str(paths["csv"]),
        "md": str(paths["md"]),
        "ndcg@10": dict(zip(summary_table["method"], summary_table["ndcg@10_mean"], strict=True)),
    }
    tables = [("retrieval methods (mean and std over seeds)", summary_table)]
    if not comparison.empty:
        tables.append((COMPARISON_TITLE, comparison))
    return CommandOutput(tables, summary)


COMPARISON_TITLE = (
    "Query tower vs full fine-tuning, paired by seed (the same dev split): nDCG@10 on the dev "
    "queries held out of the training split and on the test queries; loss = tower - full. Each "
    "row has the budgets of the commands that made it."
)
"""The heading of :func:`tower_vs_full`'s table."""


def tower_vs_full(rows: pd.DataFrame) -> pd.DataFrame:
    """What switching a PG-Rank variant from query-tower to full fine-tuning costs on held-out
    queries, from bench ``rows`` (the CSV's columns) holding both ``X`` and its full variant.

    Returns:
        One row per (variant, seed) run both ways, then one ``mean`` row per variant: columns
        ``method`` (the query-tower name), ``seed``, ``dev_tower``, ``dev_full``, ``dev_loss``,
        ``test_tower``, ``test_full``, ``test_loss`` (nDCG@10; loss = tower - full, > 0 when the
        full mode does worse). Empty when no variant was run both ways on a common seed.
    """
    columns = ["method", "seed"] + [
        f"{split}_{kind}" for split in ("dev", "test") for kind in ("tower", "full", "loss")
    ]
    parts = []
    for method, (lexical, finetune, warm_start) in PGRANK_METHODS.items():
        if finetune != "query_tower":
            continue
        full = method_name(lexical, "full", warm_start)
        pair = (
            rows[rows["method"] == method]
            .merge(rows[rows["method"] == full], on="seed", suffixes=("_tower", "_full"))
            .sort_values("seed", ignore_index=True)
        )
        if pair.empty:
            continue
        table = pd.DataFrame({"method": method, "seed": pair["seed"].astype(int).astype(str)})
        for split, column in (("dev", "dev_ndcg@10"), ("test", "ndcg@10")):
            table[f"{split}_tower"] = pair[f"{column}_tower"]
            table[f"{split}_full"] = pair[f"{column}_full"]
            table[f"{split}_loss"] = table[f"{split}_tower"] - table[f"{split}_full"]
        mean = table.drop(columns=["method", "seed"]).mean().to_frame().T
        mean.insert(0, "seed", "mean")
        mean.insert(0, "method", method)
        parts += [table, mean]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _setup_note(config: RetrievalBenchConfig, queries: int, rows: pd.DataFrame) -> str:
    """The paragraph under the table; the seeds per trained method are read from ``rows`` (which
    accumulate over invocations), the budgets are only this invocation's, said to be so."""

    def limit(seconds: float | None) -> str:
        return "no time limit" if seconds is None else f"at most {seconds:g} s"

    trained = rows[rows["method"].isin(TRAINED)]
    seeds = "; ".join(
        f"{method} {sorted(group['seed'].astype(int).tolist())}"
        for method, group in trained.groupby("method", sort=False)
    )
    encoder = config.encoder or "all-MiniLM-L6-v2"
    return (
        f"\nSetup: {queries} test queries with a relevant document ({config.test_split} split of "
        f"{config.data}), dense model {encoder}; the trained methods learn from the "
        f"{config.train_split} split, seeds: {seeds or 'none'}. PG-Rank: pgsuite retrieval "
        "train's defaults but for the budgets; PG-Rank hybrid: the same with --lexical (w "
        "warm-started by a grid search on the training queries, then learnt); (full): with "
        "--finetune full; (contrastive start): with --warm-start contrastive (the contrastive "
        "fine-tune, on PG-Rank's training queries only). dev_ndcg@10: the training split's "
        "held-out dev queries (best dev figure). train_time_s: wall time of the training call; "
        "queries_per_s: test queries over the time to rank them, the corpus already indexed "
        "and encoded. Rows accumulate over commands with their own budgets; the last command "
        f"ran {', '.join(config.methods)} with PG-Rank at most {config.pgrank_max_steps} steps, "
        f"{limit(config.pgrank_time_s)}, a dev evaluation every {config.pgrank_eval_every} "
        f"steps, and contrastive epochs {config.contrastive_epochs}, hard negatives "
        f"{config.contrastive_hard_negatives}, {limit(config.contrastive_time_s)}.\n"
    )
