"""The retrieval commands end to end on a synthetic BEIR folder and a tiny random-embedding encoder:
index caches the embeddings, train saves a run that eval and search read back (eval reproduces the
test figures train reported), search prints the top 10 with titles, bench writes every method
and column, the demo runs on a SMART folder or says why it skips, and bad input is one line with
exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, WordEmbeddings
from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

from pgsuite.apps.retrieval import cli as retrieval_cli
from pgsuite.apps.retrieval.bench import (
    BASELINES,
    COMPARISON_TITLE,
    METRICS,
    PGRANK_METHODS,
    TRAINED,
)
from pgsuite.core import cli
from pgsuite.core.demo import DemoConfig

TOPICS = {  # topic: (words of its documents, words of its queries)
    "volcano": ["lava", "magma", "eruption", "crater", "ash", "volcanic"],
    "chess": ["rook", "bishop", "gambit", "checkmate", "pawn", "grandmaster"],
    "bread": ["dough", "yeast", "oven", "crust", "flour", "baking"],
    "ocean": ["tide", "wave", "reef", "current", "salt", "marine"],
}
QUERY = "molten lava and ash"


def _documents() -> dict[str, tuple[str, str]]:
    """Four documents per topic: id -> (title, text)."""
    return {
        f"{topic}{j}": (f"{topic.title()} notes {j}", " ".join(words[j : j + 3]))
        for topic, words in TOPICS.items()
        for j in range(4)
    }


def _queries() -> dict[str, tuple[str, str, str]]:
    """Query id -> (text, topic, split): three train queries and one test query per topic."""
    queries = {}
    for topic, words in TOPICS.items():
        for k, split in enumerate(("train", "train", "train", "test")):
            text = f"{words[5]} {words[k]} question"
            queries[f"q{len(queries)}"] = (text, topic, split)
    return queries


def _write_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    lines = [json.dumps({"_id": d, "title": t, "text": x}) for d, (t, x) in _documents().items()]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    queries = _queries()
    lines = [json.dumps({"_id": q, "text": text}) for q, (text, _, _) in queries.items()]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n")
    for split in ("train", "test"):
        rows = ["query-id\tcorpus-id\tscore"]
        for query, (_, topic, where) in queries.items():
            if where == split:
                rows += [f"{query}\t{topic}{j}\t{2 if j == 0 else 1}" for j in range(3)]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


def _write_smart(folder: Path) -> Path:
    """The same documents and queries as Cranfield-style SMART files (query positions 3, 6, ...
    form the test split)."""
    folder.mkdir(parents=True)
    documents, queries = _documents(), _queries()
    numbers = {doc: str(i) for i, doc in enumerate(documents, start=1)}
    records = [
        f".I {numbers[doc]}\n.T\n{title}\n.A\nanon\n.B\nnotes\n.W\n{text}"
        for doc, (title, text) in documents.items()
    ]
    (folder / "cran.all.1400").write_text("\n".join(records) + "\n")
    records = [f".I {i:03d}\n.W\n{text}" for i, (text, _, _) in enumerate(queries.values(), 1)]
    (folder / "cran.qry").write_text("\n".join(records) + "\n")
    judgements = [
        f"{i} {numbers[f'{topic}{j}']} {j + 1}"
        for i, (_, topic, _) in enumerate(queries.values(), 1)
        for j in range(3)
    ]
    (folder / "cranqrel").write_text("\n".join(judgements) + "\n")
    return folder


def _tiny_model() -> SentenceTransformer:
    """Random 16-dimensional word embeddings over the words of the corpus and queries."""
    texts = [f"{t} {x}" for t, x in _documents().values()] + [t for t, _, _ in _queries().values()]
    texts += ["anon notes", QUERY]
    vocab = sorted({word.lower() for text in texts for word in text.split()})
    weights = torch.randn(len(vocab), 16, generator=torch.Generator().manual_seed(0))
    tokenizer = WhitespaceTokenizer(vocab, stop_words=(), do_lower_case=True)
    modules = [WordEmbeddings(tokenizer, weights, update_embeddings=True), Pooling(16), Normalize()]
    return SentenceTransformer(modules=modules, device="cpu")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The BEIR folder, the saved tiny encoder and an embedding-cache folder."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("retrieval_cli")
    encoder = root / "encoder"
    _tiny_model().save(str(encoder))
    return {"data": _write_beir(root / "beir"), "encoder": encoder, "cache": root / "cache"}


def _argv(command: str, folders: dict[str, Path], *extra: str) -> list[str]:
    data = [
        "--data",
        str(folders["data"]),
        "--format",
        "beir",
        "--cache-dir",
        str(folders["cache"]),
    ]
    return ["retrieval", command, *data, *extra]


def _json(capsys: pytest.CaptureFixture) -> dict:
    return cli.loads_strict(capsys.readouterr().out)


@pytest.fixture(scope="module")
def trained(folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny PG-Rank run saved with --out: its folder and train's JSON summary."""
    out = tmp_path_factory.mktemp("run") / "pgrank"
    options = ["--max-steps", "4", "--eval-every", "2", "--samples", "4", "--queries-per-batch"]
    options += ["2", "--lr", "0.05", "--no-progress", "--out", str(out), "--json"]
    argv = _argv("train", folders, "--encoder", str(folders["encoder"]), *options)
    assert cli.main(argv) == 0
    return {"out": out, "summary": json.loads((out / "results.json").read_text())}


def test_index_caches_the_embeddings(folders: dict[str, Path], capsys) -> None:
    argv = _argv("index", folders, "--encoder", str(folders["encoder"]), "--json")
    assert cli.main(argv) == 0
    first = _json(capsys)["summary"]
    assert first["documents"] == 16
    assert first["embedding_dim"] == 16
    assert Path(first["embeddings"]).is_file()
    assert cli.main(argv) == 0
    second = _json(capsys)["summary"]
    assert second["embeddings"] == first["embeddings"]
    assert second["already_cached"]


def test_train_saves_a_run_that_eval_reproduces(
    folders: dict[str, Path], trained: dict, capsys
) -> None:
    out, summary = trained["out"], trained["summary"]
    assert summary["steps"] == 4
    assert (out / "run.json").is_file()
    assert (out / "tower" / "modules.json").is_file()
    assert summary["run"] == str(out)

    assert cli.main(_argv("eval", folders, "--model", str(out), "--split", "test", "--json")) == 0
    document = _json(capsys)
    evaluated = document["summary"]
    assert set(evaluated) == {"method", "split", "queries", "ndcg@10", "mrr@10", "recall@100"}
    assert evaluated["method"] == "PG-Rank"
    assert evaluated["queries"] == 4
    for measure in ("ndcg@10", "mrr@10", "recall@100"):
        assert 0 <= evaluated[measure] <= 1
        assert evaluated[measure] == pytest.approx(summary[f"test_{measure}"], abs=1e-9)
    (table,) = document["tables"].values()
    assert [row["method"] for row in table] == [*BASELINES, "PG-Rank"]
    assert all(row["queries_per_s"] > 0 for row in table)


@pytest.mark.parametrize(
    ("options", "method"),
    [
        (["--lexical", "--lexical-lr", "0.1"], "PG-Rank hybrid"),
        (
            ["--finetune", "full", "--full-candidates", "4", "--max-doc-tokens", "8"],
            "PG-Rank (full)",
        ),
    ],
)
def test_hybrid_and_full_runs_round_trip_through_eval_and_search(
    folders: dict[str, Path], tmp_path: Path, capsys, options: list[str], method: str
) -> None:
    out = tmp_path / "run"
    train = ["--max-steps", "4", "--eval-every", "2", "--samples", "4", "--queries-per-batch"]
    train += ["2", "--lr", "0.05", "--no-progress", "--out", str(out), "--json", *options]
    argv = _argv("train", folders, "--encoder", str(folders["encoder"]), *train)
    assert cli.main(argv) == 0
    capsys.readouterr()
    summary = json.loads((out / "results.json").read_text())
    settings = json.loads((out / "run.json").read_text())
    assert settings["lexical"] == ("--lexical" in options)
    if "--lexical" in options:
        assert settings["lexical_weight"] == summary["lexical_weight"]
        assert summary["initial_lexical_weight"] in (0, 1, 2, 4, 8, 16)
    else:
        assert settings["finetune"] == "full"
        assert settings["document_encoder"] == "tower"

    assert cli.main(_argv("eval", folders, "--model", str(out), "--split", "test", "--json")) == 0
    evaluated = _json(capsys)["summary"]
    assert evaluated["method"] == method
    for measure in ("ndcg@10", "mrr@10", "recall@100"):
        assert evaluated[measure] == pytest.approx(summary[f"test_{measure}"], abs=1e-9)
    argv = _argv("search", folders, "--model", str(out), "--query", QUERY, "--json")
    assert cli.main(argv) == 0
    assert len(_json(capsys)["summary"]["results"]) == 10


def test_eval_of_a_warm_started_run_names_the_baselines_of_its_encoder(
    folders: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    train = ["--max-steps", "2", "--eval-every", "2", "--samples", "4", "--no-progress"]
    train += ["--warm-start", "contrastive", "--warm-start-epochs", "1", "--out", str(out)]
    assert cli.main(_argv("train", folders, "--encoder", str(folders["encoder"]), *train)) == 0
    capsys.readouterr()
    assert cli.main(_argv("eval", folders, "--model", str(out), "--split", "test", "--json")) == 0
    (table,) = _json(capsys)["tables"].values()
    assert [row["method"] for row in table] == [
        "BM25",
        "dense (contrastive start)",
        "BM25>dense (contrastive start)",
        "RRF (contrastive start)",
        "PG-Rank (contrastive start)",
    ]


def test_eval_without_a_run_reports_the_dense_model(folders: dict[str, Path], capsys) -> None:
    argv = _argv("eval", folders, "--encoder", str(folders["encoder"]), "--json")
    assert cli.main(argv) == 0
    document = _json(capsys)
    assert document["summary"]["method"] == "dense"
    (table,) = document["tables"].values()
    dense = next(row for row in table if row["method"] == "dense")
    assert document["summary"]["ndcg@10"] == pytest.approx(dense["ndcg@10"], abs=1e-9)
    bm25 = next(row for row in table if row["method"] == "BM25")
    assert bm25["ndcg@10"] > 0.3  # each test query shares a word with two relevant documents
    assert all(0 <= row[m] <= 1 for row in table for m in ("ndcg@10", "mrr@10", "recall@100"))


def test_search_prints_ten_results_with_titles(
    folders: dict[str, Path], trained: dict, capsys
) -> None:
    argv = _argv("search", folders, "--model", str(trained["out"]), "--query", QUERY)
    assert cli.main([*argv, "--json"]) == 0
    document = _json(capsys)
    (rows,) = document["tables"].values()
    assert len(rows) == 10
    assert [row["rank"] for row in rows] == list(range(1, 11))
    titles = {doc: title for doc, (title, _) in _documents().items()}
    assert [row["title"] for row in rows] == [titles[row["id"]] for row in rows]
    assert document["summary"]["results"] == [row["id"] for row in rows]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert sum(titles[row["id"]] in printed for row in rows) == 10


def test_bench_writes_every_method_and_column(
    folders: dict[str, Path], tmp_path: Path, capsys
) -> None:
    argv = [
        "retrieval", "bench", "--data", str(folders["data"]), "--format", "beir",
        "--encoder", str(folders["encoder"]), "--cache-dir", str(folders["cache"]),
        "--seeds", "0", "1", "--pgrank-max-steps", "2", "--contrastive-epochs", "1",
        "--results-dir", str(tmp_path), "--no-progress", "--json",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    document = _json(capsys)
    summary = document["summary"]
    assert summary["csv"] == str(tmp_path / "retrieval_cranfield.csv")
    rows = pd.read_csv(tmp_path / "retrieval_cranfield.csv")
    assert {*METRICS, "method", "seed"} <= set(rows.columns)
    counts = rows.groupby("method").size().to_dict()
    assert counts == {**dict.fromkeys(BASELINES, 1), **dict.fromkeys(TRAINED, 2)}
    assert rows[["ndcg@10", "mrr@10", "recall@100"]].stack().between(0, 1).all()
    trained_rows = rows.method.isin(TRAINED)
    assert (rows.loc[trained_rows, "train_time_s"] > 0).all()
    assert (rows.loc[~trained_rows, "train_time_s"] == 0).all()
    pgrank_rows = rows.method.isin(PGRANK_METHODS)
    assert rows.loc[pgrank_rows, "dev_ndcg@10"].between(0, 1).all()
    assert rows.loc[~pgrank_rows, "dev_ndcg@10"].isna().all()
    assert (rows.queries_per_s > 0).all()
    report = (tmp_path / "retrieval_cranfield.md").read_text()
    assert all(f"| {method} " in report for method in (*BASELINES, *TRAINED))
    assert "Setup: 4 test queries" in report
    assert set(summary["ndcg@10"]) == {*BASELINES, *TRAINED}
    assert COMPARISON_TITLE in report
    comparison = pd.DataFrame(document["tables"][COMPARISON_TITLE])
    assert comparison[["method", "seed"]].values.tolist() == [
        [method, seed] for method in ("PG-Rank", "PG-Rank hybrid") for seed in ("0", "1", "mean")
    ]
    hybrid = rows.set_index(["method", "seed"])["dev_ndcg@10"]
    assert comparison.loc[4, "dev_loss"] == pytest.approx(
        hybrid["PG-Rank hybrid", 1] - hybrid["PG-Rank hybrid (full)", 1]
    )


def test_bench_runs_just_the_hybrid_row(folders: dict[str, Path], tmp_path: Path, capsys) -> None:
    argv = [
        "retrieval", "bench", "--data", str(folders["data"]), "--format", "beir",
        "--encoder", str(folders["encoder"]), "--cache-dir", str(folders["cache"]),
        "--methods", "PG-Rank hybrid", "--seeds", "0", "--pgrank-max-steps", "2",
        "--results-dir", str(tmp_path), "--no-progress", "--json",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    assert set(_json(capsys)["summary"]["ndcg@10"]) == {"PG-Rank hybrid"}
    rows = pd.read_csv(tmp_path / "retrieval_cranfield.csv")
    assert rows.method.tolist() == ["PG-Rank hybrid"]
    assert rows.loc[0, "train_time_s"] > 0
    report = (tmp_path / "retrieval_cranfield.md").read_text()
    assert "the last command ran PG-Rank hybrid with PG-Rank at most 2 steps" in report
    assert COMPARISON_TITLE not in report  # no full run to pair with


@pytest.mark.parametrize("quick", [True, False])
def test_demo_on_a_smart_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(retrieval_cli, "CRANFIELD", _write_smart(tmp_path / "cranfield"))
    monkeypatch.setattr(retrieval_cli, "load_minilm", _tiny_model)
    ((title, table),) = retrieval_cli.demo(DemoConfig(quick=quick))
    assert table.method.tolist() == list(BASELINES)
    assert table[["ndcg@10", "mrr@10", "recall@100"]].stack().between(0, 1).all()
    assert ("quick: 5 queries, " in title) == quick  # positions 3, 6, ..., 15 are the test split
    assert "16 documents" in title or quick
    assert (tmp_path / "runs" / "cache" / "retrieval").is_dir()


def test_demo_without_the_data_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieval_cli, "CRANFIELD", tmp_path / "missing")
    ((title, table),) = retrieval_cli.demo(DemoConfig(quick=True))
    assert "skipped" in title
    assert "no Cranfield collection" in table.reason[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--data", "/no/such/folder"], "/no/such/folder: no such folder"),
        (["search", "--data", "/no/such/folder", "--query", "x"], "no such folder"),
        (["index", "--data", "/no/such/folder"], "no such folder"),
        (["train", "--data", "/no/such/folder"], "no such folder"),
        (["train"], "give the collection folder (--data)"),
        (["bench", "--data", "/no/such/folder", "--methods", "BM25"], "no such folder"),
        (["eval", "--data", "{data}", "--format", "beir", "--split", "all"], "unknown split"),
        (["eval", "--data", "{data}", "--model", "/no/run"], "not a PG-Rank run folder"),
        (["eval", "--data", "{data}", "--model", "{data}", "--encoder", "{data}"], "not both"),
        (
            ["eval", "--data", "{data}", "--format", "beir", "--encoder", "{data}"],
            "no modules.json",
        ),
        (["search", "--data", "{data}", "--query", " "], "--query is empty"),
        (["index", "--data", "{data}", "--cache-dir", "none"], "index needs --cache-dir"),
        (["bench", "--methods", "BM25", "magic"], "unknown methods ['magic']"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    folders: dict[str, Path], capsys, argv: list[str], message: str
) -> None:
    argv = [arg.replace("{data}", str(folders["data"])) for arg in argv]
    assert cli.main(["retrieval", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--data", "x", "--format", "xml"], "invalid choice: 'xml'"),
        (["search", "--data", "x"], "the following arguments are required: --query"),
        (["eval", "--format", "beir"], "the following arguments are required: --data"),
        (["bench", "--seeds", "one"], "invalid int value: 'one'"),
    ],
)
def test_bad_options_are_one_line_exit_2(capsys, argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["retrieval", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]
