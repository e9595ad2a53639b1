"""Retrieval data: every loader reads valid files, names the file and line of a malformed one, and
reports a missing path; the Cranfield copy has the documented counts and split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgsuite.apps.retrieval.data import (
    Collection,
    Document,
    load_beir,
    load_collection,
    load_smart,
    rank_documents,
    read_trec_qrels,
    read_trec_run,
    train_dev_split,
    write_trec_run,
)
from pgsuite.core.errors import ConfigError, DataError

CRANFIELD = Path(__file__).resolve().parents[3] / "../shared/data/cranfield"

QRELS_HEADER = "query-id\tcorpus-id\tscore\n"


def _jsonl(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _beir(tmp_path: Path, **overrides: str) -> Path:
    """A BEIR folder of three documents and three queries; ``overrides`` replace file texts
    (keys: corpus, queries, test)."""
    files = {
        "corpus": _jsonl(
            {"_id": "d1", "title": "Wings", "text": "lift of wings"},
            {"_id": "d2", "text": "no title here"},
            {"_id": "d3", "title": "Flow", "text": "laminar flow"},
        ),
        "queries": _jsonl(
            {"_id": "q1", "text": "wing lift"},
            {"_id": "q2", "text": "flow"},
            {"_id": "q3", "text": "unjudged in test"},
        ),
        "test": QRELS_HEADER + "q1\td1\t2\nq1\td2\t0\nq2\td3\t1\n",
        "train": QRELS_HEADER + "q3\td2\t1\n",
    } | overrides
    (tmp_path / "qrels").mkdir(parents=True)
    (tmp_path / "corpus.jsonl").write_text(files["corpus"])
    (tmp_path / "queries.jsonl").write_text(files["queries"])
    (tmp_path / "qrels" / "test.tsv").write_text(files["test"])
    (tmp_path / "qrels" / "train.tsv").write_text(files["train"])
    return tmp_path


def test_beir_folder_loads_a_split(tmp_path: Path) -> None:
    collection = load_beir(_beir(tmp_path), "test")
    assert collection.corpus["d2"] == Document("d2", "", "no title here")
    assert collection.corpus["d1"].title == "Wings"
    assert collection.queries == {"q1": "wing lift", "q2": "flow"}
    assert collection.qrels == {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}}
    assert collection.relevant("q1") == {"d1"}
    assert list(load_beir(tmp_path, "train").queries) == ["q3"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"corpus": '{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": \n'},
            r"corpus.jsonl:2: invalid JSON",
        ),
        (
            {"corpus": _jsonl({"_id": "d1", "text": "a"}, {"_id": "d2"})},
            r"corpus.jsonl:2: missing field 'text'",
        ),
        (
            {"corpus": _jsonl({"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"})},
            r"corpus.jsonl:2: duplicate _id 'd1'",
        ),
        ({"queries": "\n" + _jsonl({"text": "no id"})}, r"queries.jsonl:2: missing field '_id'"),
        ({"queries": "[1, 2]\n"}, r"queries.jsonl:1: expected a JSON object"),
        ({"test": "q1\td1\t1\n"}, r"test.tsv:1: expected the header"),
        ({"test": ""}, r"test.tsv: expected the header"),
        (
            {"test": QRELS_HEADER + "q1\td1\t1\nq2\td3\thigh\n"},
            r"test.tsv:3: score must be an integer",
        ),
        ({"test": QRELS_HEADER + "q1\td1\n"}, r"test.tsv:2: expected 'query-id corpus-id score'"),
        ({"test": QRELS_HEADER + "q1\td1\t-1\n"}, r"test.tsv:2: gains must be >= 0"),
        ({"test": QRELS_HEADER + "q9\td1\t1\n"}, r"test.tsv:2: query 'q9' is not in queries.jsonl"),
        (
            {"test": QRELS_HEADER + "q1\td1\t1\nq1\td1\t2\n"},
            r"test.tsv:3: query q1 doc d1 judged 2",
        ),
    ],
)
def test_malformed_beir_files_name_the_line(
    tmp_path: Path, override: dict[str, str], message: str
) -> None:
    with pytest.raises(DataError, match=message) as error:
        load_beir(_beir(tmp_path, **override), "test")
    assert "\n" not in str(error.value)


def test_beir_missing_paths_and_bad_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_beir(tmp_path / "absent", "test")
    with pytest.raises(DataError, match=r"dev.tsv: no such file"):
        load_beir(_beir(tmp_path), "dev")
    with pytest.raises(ConfigError, match="unknown split 'valid'"):
        load_beir(tmp_path, "valid")


def test_beir_keeps_judged_documents_missing_from_the_corpus(tmp_path: Path) -> None:
    folder = _beir(tmp_path, test=QRELS_HEADER + "q1\tgone\t1\nq2\td2\t1\n")
    assert load_beir(folder, "test").qrels == {"q1": {"gone": 1}, "q2": {"d2": 1}}
    folder = _beir(tmp_path / "wrong", test=QRELS_HEADER + "q1\tgone\t1\n")  # refused
    with pytest.raises(DataError, match=r"none of the 1 relevant documents is in corpus\.jsonl"):
        load_beir(folder, "test")


def test_trec_qrels_read_and_malformed(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text("1 0 d1 2\n\n1 0 d2 0\n2 0 d1 1\n")
    assert read_trec_qrels(path) == {"1": {"d1": 2, "d2": 0}, "2": {"d1": 1}}
    for text, message in [
        ("1 0 d1 2\n1 0 d2\n", r"qrels.txt:2: expected 'qid iteration docid rel'"),
        ("1 0 d1 2\n\n1 0 d2 x\n", r"qrels.txt:3: rel must be an integer"),
        ("1 0 d1 -2\n", r"qrels.txt:1: gains must be >= 0"),
    ]:
        path.write_text(text)
        with pytest.raises(DataError, match=message):
            read_trec_qrels(path)
    with pytest.raises(DataError, match=r"absent.txt: no such file"):
        read_trec_qrels(tmp_path / "absent.txt")


def test_trec_run_round_trips_in_trec_eval_order(tmp_path: Path) -> None:
    run = {"q1": {"d1": 0.5, "d2": 2.0, "d3": 0.5, "d4": 1e-7}, "q2": {"x": -1.25}}
    path = tmp_path / "run.txt"
    write_trec_run(run, path, tag="bm25")
    lines = path.read_text().splitlines()
    assert lines[:2] == ["q1 Q0 d2 1 2.0 bm25", "q1 Q0 d3 2 0.5 bm25"]
    assert [line.split()[2] for line in lines] == ["d2", "d3", "d1", "d4", "x"]
    assert read_trec_run(path) == run
    assert rank_documents(run["q1"]) == ["d2", "d3", "d1", "d4"]
    with pytest.raises(ConfigError, match="one word"):
        write_trec_run(run, path, tag="two words")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4\n",
            r"run.txt:2: expected 'qid Q0 docid rank score tag'",
        ),
        ("q1 Q0 d1 first 0.5 t\n", r"run.txt:1: rank must be an integer"),
        ("\nq1 Q0 d1 1 high t\n", r"run.txt:2: score must be a finite number"),
        ("q1 Q0 d1 1 nan t\n", r"run.txt:1: score must be a finite number"),
        ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", r"run.txt:2: document 'd1' listed twice"),
        (b"q1 Q0 d1 1 0.5 t\nq1 Q0 d\xff 2 0.4 t\n", r"run.txt:2: not UTF-8"),
    ],
)
def test_malformed_trec_runs_name_the_line(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = tmp_path / "run.txt"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_trec_run(path)


def test_trec_run_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"run.txt: no such file"):
        read_trec_run(tmp_path / "run.txt")


SMART_DOCS = """.I 1
.T
wings in a
slipstream .
.A
brenckman,m.
.B
j. ae. scs. 25, 1958, 324.
.W
wings in a slipstream .
  an experimental study .
.I 2
.T
.A
.B
.W
.I 3
.T
flow
.A
.B
.W
laminar
.A
stray marker line of the Cranfield kind
.W
flow .
"""
SMART_QUERIES = """.I 001
.W
wing lift
.I 004
.W
laminar
flow .
.I 005
.W
empty document
"""
SMART_QRELS = "1 1 1 \n1 2 -1\n2 3 2\n3 2 4\n3 3 3\n"


def _smart(tmp_path: Path, **overrides: str) -> Path:
    files = {"docs": SMART_DOCS, "queries": SMART_QUERIES, "qrels": SMART_QRELS} | overrides
    # Cranfield's files have CRLF line ends
    (tmp_path / "cran.all.1400").write_text(files["docs"], newline="\r\n")
    (tmp_path / "cran.qry").write_text(files["queries"], newline="\r\n")
    (tmp_path / "cranqrel").write_text(files["qrels"])
    return tmp_path


def test_smart_files_load_with_positions_as_query_ids(tmp_path: Path) -> None:
    collection = load_smart(_smart(tmp_path), "all")
    assert collection.corpus["1"] == Document(
        "1", "wings in a slipstream .", "wings in a slipstream . an experimental study ."
    )
    assert collection.corpus["2"] == Document("2", "", "")
    assert collection.corpus["3"].text == "laminar stray marker line of the Cranfield kind flow ."
    assert collection.queries == {"1": "wing lift", "2": "laminar flow .", "3": "empty document"}
    assert collection.qrels == {"1": {"1": 4, "2": 0}, "2": {"3": 3}, "3": {"2": 1, "3": 2}}
    assert list(load_smart(tmp_path, "test").queries) == ["3"]
    train = load_smart(tmp_path, "train")
    assert list(train.queries) == ["1", "2"]
    assert set(train.qrels) == {"1", "2"}


def test_smart_file_names_are_parameters(tmp_path: Path) -> None:
    for old, new in [("cran.all.1400", "d"), ("cran.qry", "q"), ("cranqrel", "r")]:
        (_smart(tmp_path) / old).rename(tmp_path / new)
    collection = load_smart(tmp_path, "all", documents="d", queries="q", judgements="r")
    assert len(collection.corpus) == 3


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"docs": "\nstray text\n.I 1\n.W\nx\n"}, r"cran.all.1400:2: text outside a field"),
        ({"docs": ".W\nx\n"}, r"cran.all.1400:1: field '.W' before the first '.I'"),
        ({"docs": ".I 1\n.W\nx\n.I\n.W\ny\n"}, r"cran.all.1400:4: '.I' needs an id"),
        ({"docs": ".I 1\n.W\nx\n.I 1\n.W\ny\n"}, r"cran.all.1400:4: duplicate document id '1'"),
        (
            {"queries": ".I 001\n.W\nx\n.I 002\n.T\ntitle only\n"},
            r"cran.qry:4: query .I 002 has no '.W' text",
        ),
        ({"qrels": "1 1 1\n4 1 2\n"}, r"cranqrel:2: query position 4 is outside 1..3"),
        ({"qrels": "1 1 1\n2 9 2\n"}, r"cranqrel:2: document '9' is not in the corpus"),
        (
            {"qrels": "1 1 1\n\n2 1 5\n"},
            r"cranqrel:3: relevance code must be 1, 2, 3, 4 or -1, got 5",
        ),
        ({"qrels": "1 1\n"}, r"cranqrel:1: expected 'query_position doc_id code'"),
        ({"qrels": "one 1 1\n"}, r"cranqrel:1: query_position must be an integer"),
    ],
)
def test_malformed_smart_files_name_the_line(
    tmp_path: Path, override: dict[str, str], message: str
) -> None:
    with pytest.raises(DataError, match=message) as error:
        load_smart(_smart(tmp_path, **override), "all")
    assert "\n" not in str(error.value)


def test_smart_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_smart(tmp_path / "absent", "test")
    (_smart(tmp_path) / "cranqrel").unlink()
    with pytest.raises(DataError, match=r"cranqrel: no such file"):
        load_smart(tmp_path, "test")


def test_load_collection_dispatches_and_rejects_unknown_names(tmp_path: Path) -> None:
    smart, beir = tmp_path / "smart", tmp_path / "beir"
    smart.mkdir()
    beir.mkdir()
    assert load_collection(_smart(smart), "smart", "test").queries == {"3": "empty document"}
    assert set(load_collection(_beir(beir), "beir", "test").queries) == {"q1", "q2"}
    with pytest.raises(ConfigError, match="unknown collection format 'trec'"):
        load_collection(smart, "trec", "test")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown split 'dev' for SMART"):
        load_collection(smart, "smart", "dev")


def test_train_dev_split_is_seeded_disjoint_and_complete() -> None:
    ids = [str(i) for i in range(1, 151)]
    train, dev = train_dev_split(ids, 0.2, seed=7)
    assert len(dev) == 30
    assert sorted(train + dev, key=int) == ids
    assert train == sorted(train, key=int)
    assert train_dev_split(ids, 0.2, seed=7) == (train, dev)
    assert train_dev_split(ids, 0.2, seed=8)[1] != dev
    for fraction in (0.0, 1.0, 0.001):
        with pytest.raises(ConfigError, match="leaves train or dev empty"):
            train_dev_split(ids, fraction, seed=0)


def test_with_queries_restricts_queries_and_qrels() -> None:
    collection = Collection(
        {"d": Document("d", "", "x")}, {"a": "qa", "b": "qb"}, {"a": {"d": 1}, "b": {"d": 0}}
    )
    part = collection.with_queries(["b"])
    assert (part.queries, part.qrels, part.queries_with_relevant()) == (
        {"b": "qb"},
        {"b": {"d": 0}},
        [],
    )
    assert collection.queries_with_relevant() == ["a"]
    with pytest.raises(ConfigError, match="unknown query ids"):
        collection.with_queries(["z"])


@pytest.mark.skipif(not CRANFIELD.exists(), reason=f"Cranfield data not found at {CRANFIELD}")
def test_cranfield_counts_and_fixed_split() -> None:
    everything = load_smart(CRANFIELD, "all")
    test, train = load_smart(CRANFIELD, "test"), load_smart(CRANFIELD, "train")
    assert len(everything.corpus) == 1400
    assert list(everything.queries) == [str(i) for i in range(1, 226)]
    assert len(test.queries) == 75
    assert len(train.queries) == 150
    assert all(int(query) % 3 == 0 for query in test.queries)
    assert sum(len(judged) for judged in everything.qrels.values()) == 1837
    assert {gain for judged in everything.qrels.values() for gain in judged.values()} == {
        0,
        1,
        2,
        3,
        4,
    }
    assert len(test.queries_with_relevant()) == 75
    assert len(train.queries_with_relevant()) == 150
    assert everything.queries["2"].startswith("what are the structural and aeroelastic problems")
    assert everything.corpus["240"].text.endswith("heat transfer in a laminar separated flow .")
