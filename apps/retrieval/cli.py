"""``pgsuite retrieval index|train|eval|search|bench``: the retrieval app's commands and its demo.

A trained run folder (``train --out``) holds the PG-Rank query tower and ``run.json``
(:func:`apps.retrieval.pgrank.save_run`); ``eval`` and ``search`` read it with ``--model``. The
query of ``search`` is the ``--query`` option: the core's command line has no positional options.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pgsuite.apps.retrieval.bench import (
    BASELINES,
    CRANFIELD,
    DEFAULT_CACHE,
    RetrievalBenchConfig,
    baseline_run,
    bench,
    pgrank_run,
    timed_figures,
)
from pgsuite.apps.retrieval.data import (
    Collection,
    CollectionFormat,
    load_collection,
    load_smart,
    rank_documents,
)
from pgsuite.apps.retrieval.first_stage import (
    BM25Retriever,
    DenseEncoder,
    corpus_fingerprint,
    document_embeddings,
    load_minilm,
)
from pgsuite.apps.retrieval.pgrank import (
    FirstStage,
    PGRankConfig,
    SavedRun,
    build_first_stage,
    load_encoder,
    load_run,
    save_run,
    train,
)
from pgsuite.apps.retrieval.policy import MEASURES
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.runs import save_results


@dataclass
class CollectionOptions:
    """Which collection to read."""

    data: Path
    """Collection folder: SMART files as Cranfield ships them, or a BEIR folder."""
    format: CollectionFormat = "smart"
    """Collection format: smart (cran.all.1400, cran.qry, cranqrel) or beir (corpus.jsonl,
    queries.jsonl, qrels/)."""
    split: str = "test"
    """Split to read (smart: train, test or all; beir: train, dev or test); index and search use
    only its corpus."""
    cache_dir: Path | None = DEFAULT_CACHE
    """Folder caching document embeddings (None: encode the corpus every run)."""

    def load(self) -> Collection:
        """The split's collection."""
        return load_collection(self.data, self.format, self.split)


def _first_stage(
    options: CollectionOptions, model: Path | None, encoder: Path | None
) -> tuple[SavedRun | None, Collection, FirstStage]:
    """The run of ``model`` (if any), the collection, and BM25 with the dense retriever of the
    run's encoder (or of ``encoder``) over its corpus."""
    if model is not None and encoder is not None:
        raise ConfigError("give --model or --encoder, not both: a run names its own encoder")
    saved = load_run(model) if model is not None else None
    collection = options.load()
    dense_model = load_encoder(saved.encoder if saved is not None else encoder)
    first_stage = build_first_stage(collection, dense_model, options.cache_dir, show_progress=True)
    return saved, collection, first_stage


# --- index ---------------------------------------------------------------------------------------


@dataclass
class IndexConfig:
    """Build the BM25 index and encode the corpus into the embedding cache, which train, eval,
    search and bench then read. BM25 indexes Cranfield in about a second, so each command
    rebuilds it instead of reading it from disk."""

    collection: CollectionOptions
    encoder: Path | None = None
    """Dense model folder (a sentence-transformers model; None: all-MiniLM-L6-v2, offline)."""


def index_command(config: IndexConfig) -> CommandOutput:
    cache_dir = config.collection.cache_dir
    if cache_dir is None:
        raise ConfigError("index needs --cache-dir, the folder to cache the embeddings in")
    corpus = config.collection.load().corpus
    start = time.perf_counter()
    BM25Retriever(corpus)
    bm25_seconds = time.perf_counter() - start
    encoder = DenseEncoder(load_encoder(config.encoder))
    path = cache_dir / corpus_fingerprint(corpus) / f"{encoder.fingerprint()}.pt"
    cached = path.is_file()
    start = time.perf_counter()
    embeddings = document_embeddings(encoder, corpus, cache_dir)
    summary = {
        "documents": len(corpus),
        "bm25_index_s": bm25_seconds,
        "embeddings": str(path),
        "embedding_dim": embeddings.shape[1],
        "already_cached": cached,
        "encode_s": time.perf_counter() - start,
    }
    return CommandOutput([("retrieval index", pd.DataFrame([summary]))], summary)


# --- train ---------------------------------------------------------------------------------------


def _train_defaults() -> PGRankConfig:
    return PGRankConfig(cache_dir=DEFAULT_CACHE)


@dataclass
class TrainConfig:
    """Fine-tune the dense model's query tower with PG-Rank (REINFORCE on nDCG@10 of sampled
    rankings of BM25 + dense candidates); with --out, the run folder keeps the trained tower for
    eval and search."""

    pgrank: PGRankConfig = field(default_factory=_train_defaults)
    encoder: Path | None = None
    """Dense model folder to start from (a sentence-transformers model; None: all-MiniLM-L6-v2,
    offline)."""


def train_command(config: TrainConfig) -> CommandOutput:
    pgrank = config.pgrank
    if pgrank.data is None:
        raise ConfigError("give the collection folder (--data)")
    load_collection(pgrank.data, pgrank.format, pgrank.train_split)  # fail before loading a model
    result = train(pgrank, load_encoder(config.encoder))
    summary: dict = {
        "steps": result.fit.steps,
        "stop_reason": result.fit.stop_reason,
        "best_dev_ndcg@10": result.fit.best_value,
        "best_step": result.fit.best_step,
        "train_time_s": result.fit.wall_time_s,
        **result.metrics,
    }
    out = pgrank.trainer.out
    if out is not None:
        warm_started = result.encoder if pgrank.warm_start != "none" else None
        save_run(out, result.policy, pgrank, config.encoder, warm_started)
        summary["run"] = str(out)
        save_results(out, summary)
    return CommandOutput([("PG-Rank training", pd.DataFrame([summary]))], summary)


# --- eval ----------------------------------------------------------------------------------------


@dataclass
class EvalConfig:
    """nDCG@10, MRR@10, Recall@100 and queries/s of a trained PG-Rank run (or, without --model, of
    the dense model) on a split, next to BM25, BM25>dense (BM25's top 100 re-ranked by the dense
    model) and RRF; means over the split's queries with a relevant document."""

    collection: CollectionOptions
    model: Path | None = None
    """Run folder written by pgsuite retrieval train --out (None: the untrained dense model)."""
    encoder: Path | None = None
    """Dense model folder (a sentence-transformers model; None: all-MiniLM-L6-v2, offline); a run
    given by --model names its own."""


def _method_rows(
    first_stage: FirstStage, collection: Collection, saved: SavedRun | None = None
) -> list[dict]:
    """One row per untrained method: its figures on ``collection`` (:func:`timed_figures`),
    named by :func:`_baseline_name`."""
    return [
        {
            "method": _baseline_name(method, saved),
            **timed_figures(
                collection, lambda m=method: baseline_run(m, first_stage, collection.queries)
            ),
        }
        for method in BASELINES
    ]


def _baseline_name(method: str, saved: SavedRun | None) -> str:
    """``method``'s row name; next to a run with a warm start, the baselines that use the dense
    model run the run's warm-started encoder, and their names say so: ``dense (contrastive
    start)``."""
    if saved is None or saved.warm_start == "none" or method == "BM25":
        return method
    return f"{method} ({saved.warm_start} start)"


def evaluate_command(config: EvalConfig) -> CommandOutput:
    saved, collection, first_stage = _first_stage(config.collection, config.model, config.encoder)
    split = config.collection.split
    test = collection.with_queries(collection.queries_with_relevant())
    if not test.queries:
        raise DataError(f"the {split} split has no query with a relevant document")
    rows = _method_rows(first_stage, test, saved)
    if saved is None:
        main = next(row for row in rows if row["method"] == "dense")
    else:
        policy, candidates = saved.policy(first_stage), saved.candidates
        main = {
            "method": saved.method,
            **timed_figures(test, lambda: pgrank_run(policy, first_stage, test, candidates)),
        }
        rows.append(main)
    summary = {
        "method": main["method"],
        "split": split,
        "queries": len(test.queries),
        **{measure: main[measure] for measure in MEASURES},
    }
    return CommandOutput(
        [(f"retrieval on {config.collection.data} {split}", pd.DataFrame(rows))], summary
    )


# --- search --------------------------------------------------------------------------------------


@dataclass
class SearchConfig:
    """Print the best documents of one query, with their titles: PG-Rank's ranking of the BM25 +
    dense candidates with --model, else the dense model's."""

    collection: CollectionOptions
    query: str
    """The query text."""
    model: Path | None = None
    """Run folder written by pgsuite retrieval train --out (None: the untrained dense model)."""
    encoder: Path | None = None
    """Dense model folder (a sentence-transformers model; None: all-MiniLM-L6-v2, offline); a run
    given by --model names its own."""
    top: int = 10
    """Documents to show."""

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ConfigError("--query is empty")
        if self.top < 1:
            raise ConfigError(f"--top must be >= 1, got {self.top}")


def search_command(config: SearchConfig) -> CommandOutput:
    saved, collection, first_stage = _first_stage(config.collection, config.model, config.encoder)
    queries = {"query": config.query}
    if saved is not None:
        one = Collection(collection.corpus, queries, {})
        run = pgrank_run(saved.policy(first_stage), first_stage, one, saved.candidates)
    else:
        run = first_stage.dense.search(queries, config.top)
    scores = run["query"]
    ranked = rank_documents(scores)[: config.top]
    table = pd.DataFrame(
        {
            "rank": range(1, len(ranked) + 1),
            "id": ranked,
            "score": [scores[doc] for doc in ranked],
            "title": [collection.corpus[doc].title for doc in ranked],
        }
    )
    method = saved.method if saved is not None else "dense"
    summary = {"query": config.query, "method": method, "results": ranked}
    return CommandOutput([(f"top {len(ranked)} ({method}) for {config.query!r}", table)], summary)


# --- demo ----------------------------------------------------------------------------------------


def _quick_subset(collection: Collection, queries: int = 5, depth: int = 20) -> Collection:
    """The first ``queries`` queries over a corpus of their BM25 top ``depth`` documents."""
    chosen = {query: collection.queries[query] for query in list(collection.queries)[:queries]}
    run = BM25Retriever(collection.corpus).search(chosen, depth)
    keep = {doc for scores in run.values() for doc in scores}
    corpus = {doc: document for doc, document in collection.corpus.items() if doc in keep}
    return Collection(corpus, chosen, {query: collection.qrels[query] for query in chosen})


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """BM25, the dense model (all-MiniLM-L6-v2), BM25>dense and RRF on Cranfield's test split;
    ``quick``: 5 queries over a corpus of their BM25 top-20 documents. Skipped, with the reason as
    its table, when ``../shared/data/cranfield`` is absent."""
    if not CRANFIELD.is_dir():
        reason = f"no Cranfield collection at {CRANFIELD} (from {Path.cwd()}); part skipped"
        return [("retrieval: skipped", pd.DataFrame([{"reason": reason}]))]
    test = load_smart(CRANFIELD, "test")
    test = test.with_queries(test.queries_with_relevant())
    if demo_config.quick:
        test = _quick_subset(test)
    scope = "quick: " if demo_config.quick else ""
    title = (
        f"retrieval: Cranfield test split ({scope}{len(test.queries)} queries, "
        f"{len(test.corpus):,} documents)"
    )
    first_stage = build_first_stage(test, load_minilm(), DEFAULT_CACHE, show_progress=True)
    return [(title, pd.DataFrame(_method_rows(first_stage, test)))]


APP = App(
    "retrieval",
    "neural retrieval: PG-Rank (policy-gradient learning to rank) against BM25, dense, fusion "
    "and contrastive baselines",
    commands=[
        Command(
            "index",
            "build the BM25 index and cache the document embeddings",
            IndexConfig,
            index_command,
            json_output=True,
        ),
        Command(
            "train",
            "fine-tune the query tower with PG-Rank",
            TrainConfig,
            train_command,
            json_output=True,
        ),
        Command(
            "eval",
            "nDCG@10, MRR@10, Recall@100 of a run and the baselines",
            EvalConfig,
            evaluate_command,
            json_output=True,
        ),
        Command(
            "search",
            "the top documents of one query (--query), with titles",
            SearchConfig,
            search_command,
            json_output=True,
        ),
        Command(
            "bench",
            "regenerate benchmarks/results/retrieval_cranfield.*",
            RetrievalBenchConfig,
            bench,
            json_output=True,
        ),
    ],
    demo=demo,
)
