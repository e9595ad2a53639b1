"""PG-Rank: a Plackett-Luce ranking policy over a text encoder, trained by policy gradient on nDCG.

Public API::

    from pgsuite.apps.retrieval import load_collection, BM25Retriever, evaluate
    collection = load_collection(Path("../shared/data/cranfield"), "smart", "test")

``load_collection``, ``Collection``, ``evaluate``, ``ndcg_at_k``, ``BM25Retriever``,
``DenseRetriever``, ``reciprocal_rank_fusion``, ``PGRankConfig``, ``train``, ``save_run`` and
``load_run``.

Modules:

- ``data``: the collection model (corpus, queries, graded qrels) and the BEIR, TREC (qrels and
  runs) and SMART (Cranfield) loaders, with the fixed Cranfield split and a seeded dev split.
- ``metrics``: nDCG@k, MRR@k and Recall@k with trec_eval's conventions, and a batched nDCG@k of
  many sampled rankings (the policy's reward).
- ``first_stage``: BM25 (bm25s, optional stemming), dense retrieval with all-MiniLM-L6-v2 (offline,
  document embeddings cached on disk and invalidated when the model or corpus changes), candidate
  sets, re-ranking and reciprocal rank fusion.
- ``policy``: padded candidate sets per query and the PG-Rank policy (a trainable query tower
  scoring frozen document embeddings, a Plackett-Luce distribution over the candidates).
- ``pgrank``: the leave-one-out REINFORCE loss on nDCG@10 and training under the core's trainer.
"""

from pgsuite.core.exports import lazy_exports

_API = {
    "load_collection": ".data",
    "Collection": ".data",
    "evaluate": ".metrics",
    "ndcg_at_k": ".metrics",
    "BM25Retriever": ".first_stage",
    "DenseRetriever": ".first_stage",
    "reciprocal_rank_fusion": ".first_stage",
    "PGRankConfig": ".pgrank",
    "train": ".pgrank",
    "save_run": ".pgrank",
    "load_run": ".pgrank",
}
__all__ = sorted(_API)
__getattr__, __dir__ = lazy_exports(__name__, _API)
