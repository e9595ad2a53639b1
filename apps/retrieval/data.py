"""Retrieval collections: the data model and the BEIR, TREC and SMART (Cranfield) file formats.

A :class:`Collection` holds a corpus, the queries of one split and their graded judgements
(``qrels``: query id -> document id -> gain, an integer >= 0; a document is relevant when its gain
is > 0). Runs (a system's output) are ``{query id: {document id: score}}``, higher scores first.

File formats:

- BEIR folder: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
  ``text``) and ``qrels/{train,dev,test}.tsv`` (header ``query-id<TAB>corpus-id<TAB>score``).
- TREC qrels (``qid iteration docid rel``) and TREC runs (``qid Q0 docid rank score tag``).
- SMART, as Cranfield ships it: a documents file of ``.I id`` records with ``.T`` (title), ``.A``,
  ``.B`` and ``.W`` (text) fields, a queries file of ``.I``/``.W`` records and a judgements file
  of ``query_position doc_id code`` lines. Judgements name a query by its 1-based position in the
  queries file (Cranfield's ``.I`` numbers skip), so query ids are those positions as strings.
  Gains are ``5 - code`` for codes 1..4 and 0 for code -1. The fixed split: ``test`` holds the
  queries whose position is divisible by 3, ``train`` the others, ``all`` every query.

Malformed files raise :class:`~pgsuite.core.errors.DataError` naming the file and the 1-based line.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from pgsuite.core.errors import ConfigError, DataError

log = logging.getLogger(__name__)

Qrels = dict[str, dict[str, int]]
"""Query id -> document id -> graded gain (int >= 0)."""
Run = dict[str, dict[str, float]]
"""Query id -> document id -> score (higher ranks first)."""
CollectionFormat = Literal["beir", "smart"]

BEIR_SPLITS = ("train", "dev", "test")
SMART_SPLITS = ("train", "test", "all")
_BEIR_QRELS_HEADER = ["query-id", "corpus-id", "score"]
_SMART_GAINS = {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}
_SMART_MARKER = re.compile(r"\.([A-Z])(?:\s+(\S+))?\s*")


@dataclass(frozen=True)
class Document:
    """A document of the corpus."""

    id: str
    title: str
    text: str


@dataclass
class Collection:
    """A corpus with the queries of one split and their judgements.

    Attributes:
        corpus: document id -> document (the whole corpus, whatever the split).
        queries: query id -> query text, for the queries of the split.
        qrels: query id -> document id -> gain (int >= 0), for those queries; judged documents may
            have gain 0, and a query may have no judgements at all.
    """

    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: Qrels

    def relevant(self, query_id: str) -> set[str]:
        """Ids of the documents with gain > 0 for ``query_id``."""
        return {doc for doc, gain in self.qrels.get(query_id, {}).items() if gain > 0}

    def queries_with_relevant(self) -> list[str]:
        """Ids of the queries with at least one relevant document (those the metrics average)."""
        return [query for query in self.queries if self.relevant(query)]

    def with_queries(self, query_ids: Sequence[str]) -> Collection:
        """The same corpus restricted to ``query_ids`` (e.g. a dev set from :func:`train_dev_split`)."""
        unknown = [query for query in query_ids if query not in self.queries]
        if unknown:
            raise ConfigError(f"unknown query ids {unknown[:5]} ({len(unknown)} in all)")
        return Collection(
            self.corpus,
            {query: self.queries[query] for query in query_ids},
            {query: self.qrels[query] for query in query_ids if query in self.qrels},
        )


def rank_documents(scores: dict[str, float]) -> list[str]:
    """Document ids by decreasing score, ties by decreasing id: the order trec_eval evaluates."""
    return sorted(scores, key=lambda doc: (scores[doc], doc), reverse=True)


def train_dev_split(
    query_ids: Sequence[str], dev_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Split ``query_ids`` into ``(train, dev)``; ``round(dev_fraction * len)`` ids go to dev.

    The choice depends only on the ids, their order and ``seed``; both parts keep the input order.
    """
    count = round(dev_fraction * len(query_ids))
    if not 0 < count < len(query_ids):
        raise ConfigError(
            f"dev_fraction {dev_fraction} of {len(query_ids)} queries leaves train or dev empty"
        )
    chosen = set(np.random.default_rng(seed).permutation(len(query_ids))[:count].tolist())
    train = [query for i, query in enumerate(query_ids) if i not in chosen]
    dev = [query for i, query in enumerate(query_ids) if i in chosen]
    return train, dev


def load_collection(path: Path, format: CollectionFormat, split: str) -> Collection:
    """Load a BEIR folder (:func:`load_beir`) or a SMART folder (:func:`load_smart`)."""
    if format == "beir":
        return load_beir(path, split)
    if format == "smart":
        return load_smart(path, split)
    raise ConfigError(f"unknown collection format {format!r}; use beir or smart")


# --- reading lines -----------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """UTF-8 lines of ``path`` without their line ending, as ``(1-based line number, line)``."""
    try:
        with path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{number}: not UTF-8 text ({exc.reason})") from None
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _folder(folder: Path, expected: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected {expected})")
    return folder


def _integer(path: Path, number: int, token: str, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise DataError(f"{path}:{number}: {what} must be an integer, got {token!r}") from None


def _add_judgement(qrels: Qrels, query: str, doc: str, gain: int, where: str) -> None:
    """Record a judgement; ``where`` is ``"path:line"``. Repeats must agree."""
    if gain < 0:
        raise DataError(f"{where}: gains must be >= 0, got {gain}")
    previous = qrels.setdefault(query, {}).setdefault(doc, gain)
    if previous != gain:
        raise DataError(f"{where}: query {query} doc {doc} judged {gain} here, {previous} before")


def _check_split(split: str, splits: tuple[str, ...], kind: str) -> None:
    if split not in splits:
        raise ConfigError(f"unknown split {split!r} for {kind} data; use {', '.join(splits)}")


# --- BEIR ----------------------------------------------------------------------------------------


def _jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """Objects of a JSON-lines file that have the ``required`` keys, with their line numbers."""
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
        missing = [key for key in required if key not in record]
        if missing:
            raise DataError(f"{path}:{number}: missing field {missing[0]!r}")
        yield number, record


def _by_id(path: Path, records: Iterator[tuple[int, dict]]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for number, record in records:
        key = str(record["_id"])
        if key in table:
            raise DataError(f"{path}:{number}: duplicate _id {key!r}")
        table[key] = record
    return table


def _beir_qrels(path: Path, queries: dict[str, str]) -> Qrels:
    qrels: Qrels = {}
    lines = ((number, line.split()) for number, line in _lines(path) if line.strip())
    first = next(lines, None)
    if first is None or first[1] != _BEIR_QRELS_HEADER:
        where = f"{path}:{first[0]}" if first else str(path)
        raise DataError(f"{where}: expected the header 'query-id<TAB>corpus-id<TAB>score'")
    for number, tokens in lines:
        if len(tokens) != 3:
            raise DataError(f"{path}:{number}: expected 'query-id corpus-id score', got {tokens}")
        query, doc, score = tokens
        if query not in queries:
            raise DataError(f"{path}:{number}: query {query!r} is not in queries.jsonl")
        gain = _integer(path, number, score, "score")
        _add_judgement(qrels, query, doc, gain, f"{path}:{number}")
    return qrels


def load_beir(folder: Path, split: str) -> Collection:
    """Load a BEIR folder; the split's queries are those its ``qrels/{split}.tsv`` judges.

    Judged documents missing from the corpus are kept (they count in the ideal DCG and in recall,
    as trec_eval counts them) and logged as a warning.

    Raises:
        ConfigError: ``split`` is not train, dev or test.
        DataError: missing folder or file, malformed line (message names the file and line), no
            relevant document of the split in the corpus.
    """
    _check_split(split, BEIR_SPLITS, "BEIR")
    folder = _folder(folder, "corpus.jsonl, queries.jsonl and qrels/")
    corpus_path, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    corpus = {
        key: Document(key, str(record.get("title") or ""), str(record["text"]))
        for key, record in _by_id(corpus_path, _jsonl(corpus_path, ("_id", "text"))).items()
    }
    all_queries = {
        key: str(record["text"])
        for key, record in _by_id(queries_path, _jsonl(queries_path, ("_id", "text"))).items()
    }
    qrels = _beir_qrels(folder / "qrels" / f"{split}.tsv", all_queries)
    missing = {doc for judged in qrels.values() for doc in judged if doc not in corpus}
    if missing:
        log.warning("%s: %d judged documents are not in the corpus", folder, len(missing))
    relevant = {doc for judged in qrels.values() for doc, gain in judged.items() if gain > 0}
    if relevant and relevant <= missing:
        raise DataError(
            f"{folder / 'qrels' / f'{split}.tsv'}: none of the {len(relevant)} relevant documents "
            f"is in {corpus_path.name} (wrong corpus for these qrels?)"
        )
    queries = {query: text for query, text in all_queries.items() if query in qrels}
    return Collection(corpus, queries, qrels)


# --- TREC ----------------------------------------------------------------------------------------


def read_trec_qrels(path: Path) -> Qrels:
    """Read TREC qrels, lines ``qid iteration docid rel`` (the iteration column is ignored).

    Raises:
        DataError: missing file, wrong column count, non-integer or negative ``rel``, or a
            pair judged twice with different gains; the message names the file and line.
    """
    path = Path(path)
    qrels: Qrels = {}
    for number, line in _lines(path):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 4:
            raise DataError(f"{path}:{number}: expected 'qid iteration docid rel', got {tokens}")
        query, _, doc, rel = tokens
        _add_judgement(qrels, query, doc, _integer(path, number, rel, "rel"), f"{path}:{number}")
    return qrels


def read_trec_run(path: Path) -> Run:
    """Read a TREC run, lines ``qid Q0 docid rank score tag``, as ``{qid: {docid: score}}``.

    The ``rank`` column is checked to be an integer but not used: trec_eval ranks by score.

    Raises:
        DataError: missing file, wrong column count, non-integer rank, non-finite score or a
            document listed twice for a query; the message names the file and line.
    """
    path = Path(path)
    run: Run = {}
    for number, line in _lines(path):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 6:
            raise DataError(
                f"{path}:{number}: expected 'qid Q0 docid rank score tag', got {len(tokens)} columns"
            )
        query, _, doc, rank, score, _ = tokens
        _integer(path, number, rank, "rank")
        try:
            value = float(score)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"{path}:{number}: score must be a finite number, got {score!r}")
        scores = run.setdefault(query, {})
        if doc in scores:
            raise DataError(f"{path}:{number}: document {doc!r} listed twice for query {query!r}")
        scores[doc] = value
    return run


def write_trec_run(run: Run, path: Path, tag: str = "pgsuite") -> None:
    """Write ``run`` as a TREC run file, each query's documents in :func:`rank_documents` order."""
    if not tag or len(tag.split()) != 1:
        raise ConfigError(f"the run tag must be one word without spaces, got {tag!r}")
    lines = [
        f"{query} Q0 {doc} {rank} {float(scores[doc])!r} {tag}"
        for query, scores in run.items()
        for rank, doc in enumerate(rank_documents(scores), start=1)
    ]
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# --- SMART (Cranfield) ---------------------------------------------------------------------------


@dataclass
class _SmartRecord:
    line: int
    id: str
    fields: dict[str, list[str]]

    def field(self, letter: str) -> str:
        """The field's lines joined by spaces ('' when absent)."""
        return " ".join(" ".join(self.fields.get(letter, [])).split())


def _smart_records(path: Path) -> list[_SmartRecord]:
    """The ``.I`` records of a SMART file, in file order.

    A marker of a field the record already has is a stray line and is dropped: the current field
    goes on (the Cranfield documents file has stray ``.A``/``.B``/``.W`` lines inside the texts of
    documents 240, 576 and 578).
    """
    records: list[_SmartRecord] = []
    field: list[str] | None = None
    for number, line in _lines(path):
        marker = _SMART_MARKER.fullmatch(line)
        if marker and marker[1] == "I":
            if marker[2] is None:
                raise DataError(f"{path}:{number}: '.I' needs an id")
            records.append(_SmartRecord(number, marker[2], {}))
            field = None
        elif marker and marker[2] is None:
            if not records:
                raise DataError(f"{path}:{number}: field {line.strip()!r} before the first '.I'")
            if marker[1] not in records[-1].fields:
                field = records[-1].fields[marker[1]] = []
        elif field is not None:
            field.append(line)
        elif line.strip():
            raise DataError(f"{path}:{number}: text outside a field (expected '.I id' or '.W')")
    return records


def _smart_corpus(path: Path) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for record in _smart_records(path):
        if record.id in corpus:
            raise DataError(f"{path}:{record.line}: duplicate document id {record.id!r}")
        corpus[record.id] = Document(record.id, record.field("T"), record.field("W"))
    return corpus


def _smart_queries(path: Path) -> dict[str, str]:
    """Query position (1-based, as a string) -> text."""
    queries: dict[str, str] = {}
    for position, record in enumerate(_smart_records(path), start=1):
        text = record.field("W")
        if not text:
            raise DataError(f"{path}:{record.line}: query .I {record.id} has no '.W' text")
        queries[str(position)] = text
    return queries


def _smart_qrels(path: Path, num_queries: int, corpus: dict[str, Document]) -> Qrels:
    qrels: Qrels = {}
    for number, line in _lines(path):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 3:
            raise DataError(f"{path}:{number}: expected 'query_position doc_id code', got {tokens}")
        position = _integer(path, number, tokens[0], "query_position")
        if not 1 <= position <= num_queries:
            raise DataError(
                f"{path}:{number}: query position {position} is outside 1..{num_queries}"
            )
        if tokens[1] not in corpus:
            raise DataError(f"{path}:{number}: document {tokens[1]!r} is not in the corpus")
        code = _integer(path, number, tokens[2], "code")
        if code not in _SMART_GAINS:
            raise DataError(f"{path}:{number}: relevance code must be 1, 2, 3, 4 or -1, got {code}")
        _add_judgement(qrels, str(position), tokens[1], _SMART_GAINS[code], f"{path}:{number}")
    return qrels


def smart_split_of(position: int) -> Literal["train", "test"]:
    """The fixed split of the query at 1-based ``position``: test when divisible by 3."""
    return "test" if position % 3 == 0 else "train"


def load_smart(
    folder: Path,
    split: str,
    documents: str = "cran.all.1400",
    queries: str = "cran.qry",
    judgements: str = "cranqrel",
) -> Collection:
    """Load a SMART collection (Cranfield by default); query ids are 1-based positions.

    Args:
        folder: the folder holding the three files.
        split: ``train``, ``test`` (positions divisible by 3) or ``all``.
        documents, queries, judgements: file names inside ``folder``.

    Raises:
        ConfigError: unknown split.
        DataError: missing folder or file, malformed line (message names the file and line).
    """
    _check_split(split, SMART_SPLITS, "SMART")
    folder = _folder(folder, f"{documents}, {queries} and {judgements}")
    corpus = _smart_corpus(folder / documents)
    all_queries = _smart_queries(folder / queries)
    qrels = _smart_qrels(folder / judgements, len(all_queries), corpus)
    chosen = [q for q in all_queries if split == "all" or smart_split_of(int(q)) == split]
    return Collection(corpus, all_queries, qrels).with_queries(chosen)
