"""Malformed input across every app, each through the real command line (``pgsuite.core.cli.main``
in-process): one line on standard error (``pgsuite: error: ...`` naming what is wrong, or
argparse's one-line error), exit status 2, and every file already saved (a finished run folder,
results files, the run folder a bad ``--resume`` points at) left exactly as it was.

Cases: job-shop instance files (standard and taillard: truncated, non-integer, negative durations,
machines out of range or repeated, ...), inventory demand CSVs, retrieval collections (BEIR and
SMART), option values, corrupted checkpoints for ``--resume`` and unwritable output paths."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from pgsuite.core import cli
from pgsuite.core.checkpoint import save_checkpoint

# tiny HDPO budgets: a real run takes well under a second
INVENTORY = ["inventory", "train", "--train-samples", "64", "--dev-samples", "64"]
INVENTORY += ["--test-samples", "64", "--train-periods", "20", "--train-warmup", "5"]
INVENTORY += ["--dev-periods", "20", "--dev-warmup", "5", "--test-periods", "20"]
INVENTORY += ["--test-warmup", "5", "--batch-size", "32", "--max-steps", "2", "--eval-every", "1"]
INVENTORY += ["--no-progress"]

STANDARD_OK = "2 3\n0 5 1 4 2 3\n2 1 0 2 1 6\n"
TAILLARD_OK = "2 3\n5 4 3\n1 2 6\n1 2 3\n3 1 2\n"

QRELS_HEADER = "query-id\tcorpus-id\tscore\n"


def _jsonl(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


BEIR_OK = {
    "corpus.jsonl": _jsonl(
        {"_id": "d1", "title": "Wings", "text": "lift of swept wings"},
        {"_id": "d2", "text": "laminar flow over plates"},
        {"_id": "d3", "text": "shock waves in nozzles"},
    ),
    "queries.jsonl": _jsonl({"_id": "q1", "text": "wing lift"}, {"_id": "q2", "text": "flow"}),
    "qrels/test.tsv": QRELS_HEADER + "q1\td1\t2\nq2\td2\t1\n",
}

SMART_OK = {
    "cran.all.1400": ".I 1\n.T\nwings\n.W\nlift of swept wings\n.I 2\n.T\nflow\n.W\nlaminar flow\n",
    "cran.qry": ".I 001\n.W\nwing lift\n.I 002\n.W\nflow\n.I 003\n.W\nplates\n",
    "cranqrel": "1 1 1\n2 2 2\n3 2 3\n",
}


def _beir(**files: str | None) -> dict[str, str | None]:
    return {f"beir/{name}": text for name, text in {**BEIR_OK, **files}.items()}


def _smart(**files: str | None) -> dict[str, str | None]:
    return {f"smart/{name}": text for name, text in {**SMART_OK, **files}.items()}


def _retrieval(command: str, kind: str, *extra: str) -> list[str]:
    folder = ["--data", f"{{tmp}}/{kind}", "--format", kind, "--cache-dir", "none"]
    folder += ["--encoder", "{saved}/encoder"] if command in ("eval", "search") else []
    return ["retrieval", command, *folder, *extra]


def _job(text: str, fmt: str = "standard") -> tuple[dict[str, str], list[str]]:
    argv = ["jobshop", "solve", "--instance-file", "{tmp}/job.txt", "--format", fmt]
    return {"job.txt": text}, argv


def _demand(text: str, *extra: str) -> tuple[dict[str, str], list[str]]:
    return {"demand.csv": text}, [*INVENTORY, "--demand-csv", "{tmp}/demand.csv", *extra]


def _history(periods: int = 20, stores: int = 1) -> list[str]:
    return [f"{p},{s},{3 + (p + s) % 4}" for p in range(periods) for s in range(stores)]


DEMAND_OK = "period,location,demand\n" + "\n".join(_history()) + "\n"


def _with_row(line: int, row: str) -> str:
    """DEMAND_OK with data line ``line`` (2 = the first after the header) replaced by ``row``."""
    lines = DEMAND_OK.splitlines()
    lines[line - 1] = row
    return "\n".join(lines) + "\n"


def _resume(corrupt: str) -> tuple[dict[str, str], list[str]]:
    """Resume a copy of the saved inventory run whose checkpoint is replaced (see ``_prepare``)."""
    return {"resume/.corrupt": corrupt}, [*INVENTORY, "--out", "{tmp}/resume", "--resume"]


# (id, files to write under tmp, argv with {tmp} / {saved}, a fragment of the one error line)
CASES: list[tuple[str, dict, list[str], str]] = [
    # -- job-shop instance files, standard format
    ("std-truncated", *_job("2 3\n0 5 1 4 2 3\n"), "expected 2 data lines"),
    ("std-non-integer", *_job("2 3\n0 5 1 x 2 3\n2 1 0 2 1 6\n"), "job.txt:2: machine duration"),
    ("std-negative", *_job("2 3\n0 5 1 -4 2 3\n2 1 0 2 1 6\n"), "job.txt:2: negative duration"),
    ("std-machine-range", *_job("2 3\n0 5 1 4 3 3\n2 1 0 2 1 6\n"), "job.txt:2: job 0 must visit"),
    ("std-duplicate-machine", *_job("2 3\n0 5 0 4 2 3\n2 1 0 2 1 6\n"), "exactly once"),
    ("std-short-line", *_job("2 3\n0 5 1 4 2\n2 1 0 2 1 6\n"), "job.txt:2: expected 6 integers"),
    ("std-bad-header", *_job("2\n0 5 1 4 2 3\n"), "job.txt:1: expected 2 integers"),
    ("std-float-header", *_job("2.5 3\n0 5 1 4 2 3\n"), "job.txt:1: the header"),
    ("std-zero-jobs", *_job("0 3\n"), "need at least one job"),
    ("std-empty", *_job("# nothing\n\n"), "empty instance file"),
    ("std-extra-line", *_job(STANDARD_OK + "0 1 1 1 2 1\n"), "job.txt:4: expected 2 data lines"),
    # -- taillard format
    ("tai-truncated", *_job("2 3\n5 4 3\n1 2 6\n1 2 3\n", "taillard"), "expected 4 data lines"),
    ("tai-non-integer", *_job(TAILLARD_OK.replace("5 4 3", "5 four 3"), "taillard"), "job.txt:2"),
    ("tai-negative", *_job(TAILLARD_OK.replace("1 2 6", "1 -2 6"), "taillard"), "negative"),
    ("tai-machine-zero", *_job(TAILLARD_OK.replace("1 2 3", "0 1 2"), "taillard"), "1..3"),
    ("tai-machine-range", *_job(TAILLARD_OK.replace("3 1 2", "3 1 4"), "taillard"), "job.txt:5"),
    ("tai-duplicate", *_job(TAILLARD_OK.replace("3 1 2", "3 3 2"), "taillard"), "exactly once"),
    ("tai-wrong-format", *_job(STANDARD_OK, "taillard"), "expected 4 data lines"),
    ("instance-binary", {"job.txt": "\udcff\udcfe"}, _job("")[1], "job.txt: cannot read"),
    ("instance-missing", {}, _job("")[1], "job.txt: no such instance file"),
    ("instance-is-folder", {"job.txt/x": ""}, _job("")[1], "job.txt: cannot read"),
    # -- job-shop options
    ("unknown-benchmark", {}, ["jobshop", "solve", "--instance", "zz99"], "unknown benchmark"),
    (
        "instance-and-file",
        {"job.txt": STANDARD_OK},
        [*_job("")[1], "--instance", "ft06"],
        "give exactly one",
    ),
    ("no-instance", {}, ["jobshop", "solve"], "give exactly one"),
    ("unknown-method", {}, ["jobshop", "solve", "--instance", "ft06", "--method", "best"], "best"),
    ("sample-zero", {}, ["jobshop", "solve", "--instance", "ft06", "--method", "sample:0"], "0"),
    ("sample-text", {}, ["jobshop", "solve", "--instance", "ft06", "--method", "sample:x"], "x"),
    (
        "cpsat-negative",
        {},
        ["jobshop", "solve", "--instance", "ft06", "--method", "cpsat:-1"],
        "-1",
    ),
    ("jobshop-sizes", {}, ["jobshop", "train", "--sizes", "0x5", "--max-steps", "1"], "0x5"),
    ("jobshop-sizes-text", {}, ["jobshop", "train", "--sizes", "big"], "big"),
    ("jobshop-num-envs", {}, ["jobshop", "train", "--num-envs", "0"], "num_envs"),
    ("jobshop-hidden", {}, ["jobshop", "train", "--hidden", "0"], "hidden"),
    ("jobshop-max-steps", {}, ["jobshop", "train", "--max-steps", "0"], "max_steps must be >= 1"),
    ("jobshop-seed", {}, ["jobshop", "train", "--seed", "-1", "--max-steps", "1"], "seed"),
    ("jobshop-solve-seed", {}, ["jobshop", "solve", "--instance", "ft06", "--seed", "-2"], "seed"),
    (
        "jobshop-workers",
        {},
        ["jobshop", "solve", "--instance", "ft06", "--workers", "0"],
        "workers",
    ),
    ("jobshop-mtbf", {}, ["jobshop", "solve", "--instance", "ft06", "--mtbf", "-1"], "mtbf"),
    (
        "schedule-out-under-a-file",
        {"blocker": "a file"},
        ["jobshop", "solve", "--instance", "ft06", "--schedule-out", "{tmp}/blocker/s.csv"],
        "blocker",
    ),
    (
        "gantt-read-only",
        {},
        ["jobshop", "gantt", "--instance", "ft06", "--out", "/proc/pgsuite/gantt.png"],
        "/proc/pgsuite",
    ),
    (
        "jobshop-resume-inventory-checkpoint",
        {},
        ["jobshop", "train", "--max-steps", "1", "--out", "{saved}/run", "--resume"],
        "another model",
    ),
    # -- inventory demand CSVs
    ("csv-missing-column", *_demand("period,location\n0,0\n"), "missing column(s) ['demand']"),
    ("csv-negative", *_demand(_with_row(3, "1,0,-2")), "demand.csv:3: negative demand"),
    ("csv-nan", *_demand(_with_row(4, "2,0,")), "demand.csv:4: demand is not a number"),
    ("csv-text", *_demand(_with_row(2, "0,0,many")), "demand.csv:2: demand is not a number"),
    ("csv-infinite", *_demand(_with_row(2, "0,0,inf")), "demand.csv:2"),
    (
        "csv-location-count",
        *_demand("period,location,demand\n" + "\n".join(_history(stores=2)) + "\n"),
        "2 locations in the CSV, the setting has 1 stores",
    ),
    ("csv-duplicate", *_demand(DEMAND_OK + "0,0,4\n"), "appears twice"),
    ("csv-too-short", *_demand("period,location,demand\n0,0,1\n1,0,2\n"), "too short"),
    ("csv-empty", *_demand(""), "demand.csv"),
    ("csv-binary", *_demand("\udcff\udcfe,x\n"), "demand.csv"),
    ("csv-bad-period", *_demand(_with_row(2, "first,0,3")), "demand.csv:2: period"),
    ("csv-missing", {}, [*INVENTORY, "--demand-csv", "{tmp}/none.csv"], "demand CSV not found"),
    # -- inventory options
    ("hidden-zero", {}, [*INVENTORY, "--hidden", "0"], "hidden"),
    ("hidden-negative", {}, [*INVENTORY, "--hidden", "32", "-4"], "hidden"),
    ("gnn-no-layers", {}, [*INVENTORY, "--policy", "gnn", "--hidden"], "hidden"),
    ("lead-time-zero", {}, [*INVENTORY, "--lead-time", "0"], "lead time must be >= 1"),
    ("penalty-negative", {}, [*INVENTORY, "--penalty", "-1"], "penalty must be > 0"),
    ("stores-zero", {}, [*INVENTORY, "--setting", "transshipment", "--stores", "0"], "stores"),
    ("batch-zero", {}, [*INVENTORY, "--batch-size", "0"], "batch_size must be >= 1"),
    ("samples-zero", {}, [*INVENTORY, "--train-samples", "0"], "train_samples must be >= 1"),
    ("warmup-too-long", {}, [*INVENTORY, "--test-warmup", "20"], "test_warmup"),
    ("learning-rate-zero", {}, [*INVENTORY, "--learning-rate", "0"], "learning_rate"),
    ("max-steps-zero", {}, [*INVENTORY, "--max-steps", "0"], "max_steps must be >= 1"),
    ("max-time-zero", {}, [*INVENTORY, "--max-time-s", "0"], "max_time_s"),
    ("patience-zero", {}, [*INVENTORY, "--patience", "0"], "patience"),
    ("resume-without-out", {}, [*INVENTORY, "--resume"], "resume needs --out"),
    ("inventory-seed", {}, [*INVENTORY, "--seed", "-1"], "seed"),
    ("eval-no-run", {}, ["inventory", "eval", "--run", "{tmp}/none"], "not an inventory run"),
    (
        "eval-bad-config",
        {"run/config.json": "{not json"},
        ["inventory", "eval", "--run", "{tmp}/run"],
        "config.json",
    ),
    (
        "eval-test-samples",
        {},
        ["inventory", "eval", "--run", "{saved}/run", "--test-samples", "0"],
        "test_samples",
    ),
    # -- corrupted checkpoints for --resume
    ("resume-truncated", *_resume("truncate"), "cannot read checkpoint"),
    ("resume-random-bytes", *_resume("random"), "cannot read checkpoint"),
    ("resume-not-a-dict", *_resume("list"), "not a pgsuite checkpoint"),
    ("resume-best-pt", *_resume("best"), "not a training checkpoint"),
    ("resume-other-app", *_resume("jobshop"), "another model"),
    ("resume-other-sizes", *_resume("hidden"), "another model"),
    ("resume-missing", *_resume("delete"), "checkpoint not found"),
    # -- unwritable outputs
    ("out-is-a-file", {"taken": "a file"}, [*INVENTORY, "--out", "{tmp}/taken"], "taken"),
    ("out-read-only", {}, [*INVENTORY, "--out", "/proc/pgsuite/run"], "/proc/pgsuite"),
    # -- retrieval: BEIR folders
    ("beir-no-corpus", _beir(**{"corpus.jsonl": None}), _retrieval("eval", "beir"), "corpus.jsonl"),
    ("beir-no-queries", _beir(**{"queries.jsonl": None}), _retrieval("eval", "beir"), "queries"),
    ("beir-no-qrels", _beir(**{"qrels/test.tsv": None}), _retrieval("eval", "beir"), "test.tsv"),
    (
        "beir-bad-json",
        _beir(**{"corpus.jsonl": BEIR_OK["corpus.jsonl"] + '{"_id": "d4", "text": \n'}),
        _retrieval("eval", "beir"),
        "corpus.jsonl:4: invalid JSON",
    ),
    (
        "beir-no-text",
        _beir(**{"queries.jsonl": _jsonl({"_id": "q1"})}),
        _retrieval("eval", "beir"),
        "queries.jsonl:1: missing field 'text'",
    ),
    (
        "beir-unknown-query",
        _beir(**{"qrels/test.tsv": QRELS_HEADER + "q9\td1\t1\n"}),
        _retrieval("eval", "beir"),
        "test.tsv:2: query 'q9' is not in queries.jsonl",
    ),
    (
        "beir-unknown-documents",
        _beir(**{"qrels/test.tsv": QRELS_HEADER + "q1\tgone\t1\nq2\tlost\t2\n"}),
        _retrieval("eval", "beir"),
        "none of the 2 relevant documents",
    ),
    (
        "beir-no-words",
        _beir(
            **{"corpus.jsonl": _jsonl({"_id": "d1", "text": "the of"}, {"_id": "d2", "text": ""})}
        ),
        _retrieval("eval", "beir"),
        "no words",
    ),
    (
        "beir-bad-score",
        _beir(**{"qrels/test.tsv": QRELS_HEADER + "q1\td1\thigh\n"}),
        _retrieval("eval", "beir"),
        "test.tsv:2: score must be an integer",
    ),
    ("beir-bad-split", _beir(), _retrieval("eval", "beir", "--split", "all"), "unknown split"),
    # -- retrieval: SMART files
    ("smart-no-queries", _smart(**{"cran.qry": None}), _retrieval("eval", "smart"), "cran.qry"),
    (
        "smart-text-outside",
        _smart(**{"cran.all.1400": "stray\n" + SMART_OK["cran.all.1400"]}),
        _retrieval("eval", "smart"),
        "cran.all.1400:1: text outside a field",
    ),
    (
        "smart-unknown-document",
        _smart(cranqrel="1 1 1\n2 9 2\n"),
        _retrieval("eval", "smart"),
        "cranqrel:2: document '9' is not in the corpus",
    ),
    (
        "smart-bad-code",
        _smart(cranqrel="1 1 7\n"),
        _retrieval("eval", "smart"),
        "cranqrel:1: relevance code",
    ),
    (
        "smart-query-range",
        _smart(cranqrel="1 1 1\n9 2 2\n"),
        _retrieval("eval", "smart"),
        "cranqrel:2: query position 9",
    ),
    (
        "smart-no-id",
        _smart(**{"cran.qry": ".I\n.W\nwing lift\n"}),
        _retrieval("eval", "smart"),
        "cran.qry:1: '.I' needs an id",
    ),
    # -- retrieval options
    (
        "search-top-zero",
        _smart(),
        _retrieval("search", "smart", "--query", "x", "--top", "0"),
        "--top",
    ),
    (
        "search-empty-query",
        _smart(),
        _retrieval("search", "smart", "--query", " "),
        "--query is empty",
    ),
    ("retrieval-samples", _smart(), _retrieval("train", "smart", "--samples", "1"), "samples"),
    (
        "retrieval-no-run",
        _smart(),
        [
            "retrieval",
            "eval",
            "--data",
            "{tmp}/smart",
            "--format",
            "smart",
            "--model",
            "{tmp}/none",
        ],
        "run folder",
    ),
    ("retrieval-methods", {}, ["retrieval", "bench", "--methods", "magic"], "unknown methods"),
]

ARGPARSE_CASES: list[tuple[str, list[str], str]] = [
    ("threads-zero", ["--threads", "0", *INVENTORY], "--threads must be >= 1"),
    ("threads-text", ["--threads", "two", *INVENTORY], "invalid int value: 'two'"),
    ("unknown-setting", [*INVENTORY, "--setting", "moon"], "invalid choice: 'moon'"),
    ("unknown-policy", [*INVENTORY, "--policy", "oracle"], "invalid choice: 'oracle'"),
    ("steps-text", [*INVENTORY, "--max-steps", "many"], "invalid int value: 'many'"),
    ("unknown-format", ["jobshop", "solve", "--format", "csv"], "invalid choice: 'csv'"),
    ("unknown-option", ["jobshop", "solve", "--speed", "9"], "unrecognized arguments"),
    ("missing-data", ["retrieval", "eval"], "the following arguments are required: --data"),
]


def _snapshot(*roots: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What must survive every failed command: a finished inventory run folder and results
    files."""
    root = tmp_path_factory.mktemp("saved")
    assert cli.main([*INVENTORY, "--out", str(root / "run")]) == 0
    (root / "results.csv").write_text("method,instance,seed,gap_pct\ngreedy,ft06,0,3.6\n")
    _tiny_encoder().save(str(root / "encoder"))
    return root


def _tiny_encoder():
    """Random 8-dimensional word embeddings over the words of the test collections."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Normalize,
        Pooling,
        WordEmbeddings,
    )
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    texts = [*BEIR_OK.values(), *SMART_OK.values()]
    vocab = sorted({word.lower() for text in texts for word in text.split()})
    weights = torch.randn(len(vocab), 8, generator=torch.Generator().manual_seed(0))
    tokenizer = WhitespaceTokenizer(vocab, stop_words=(), do_lower_case=True)
    modules = [WordEmbeddings(tokenizer, weights), Pooling(8), Normalize()]
    return SentenceTransformer(modules=modules, device="cpu")


def _checkpoint_of_another_app(path: Path) -> None:
    from pgsuite.apps.scheduling.jobshop.train import PolicyConfig, make_agent

    agent = make_agent(PolicyConfig())
    payload = torch.load(path, weights_only=False)
    save_checkpoint(path, {**payload, "model": agent.state_dict(), "best_model": None})


def _other_sizes(path: Path) -> None:
    payload = torch.load(path, weights_only=False)
    model = {k: torch.cat([v, v]) if v.ndim else v for k, v in payload["model"].items()}
    save_checkpoint(path, {**payload, "model": model})


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncate": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "random": lambda path: path.write_bytes(bytes(range(256)) * 8),
    "list": lambda path: torch.save([1, 2, 3], path),
    "best": lambda path: shutil.copyfile(path.parent / "best.pt", path),
    "jobshop": _checkpoint_of_another_app,
    "hidden": _other_sizes,
    "delete": lambda path: path.unlink(),
}


def _prepare(tmp: Path, saved: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = tmp / name
        if name == "resume/.corrupt":
            shutil.copytree(saved / "run", tmp / "resume")
            CORRUPTIONS[text](tmp / "resume" / "checkpoint.pt")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_bytes(text.encode("utf-8", "surrogateescape"))


def _argv(argv: list[str], tmp: Path, saved: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp)).replace("{saved}", str(saved)) for arg in argv]


def test_enough_cases() -> None:
    assert len(CASES) + len(ARGPARSE_CASES) >= 50
    assert len({case[0] for case in CASES} | {case[0] for case in ARGPARSE_CASES}) == len(
        CASES
    ) + len(ARGPARSE_CASES)


@pytest.mark.parametrize(
    ("files", "argv", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_exit_2_and_keeps_what_was_saved(
    files: dict, argv: list[str], message: str, saved: Path, tmp_path: Path, capsys
) -> None:
    _prepare(tmp_path, saved, files)
    before = _snapshot(saved, tmp_path)
    capsys.readouterr()
    status = cli.main(_argv(argv, tmp_path, saved))
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2, err
    assert len(err) == 1, err
    assert err[0].startswith("pgsuite: error: "), err
    assert message in err[0], err
    after = _snapshot(saved, tmp_path)
    assert {p: after.get(p) for p in before} == before  # nothing saved changed or vanished


@pytest.mark.parametrize(
    ("argv", "message"), [c[1:] for c in ARGPARSE_CASES], ids=[c[0] for c in ARGPARSE_CASES]
)
def test_bad_options_are_one_argparse_line_exit_2(
    argv: list[str], message: str, saved: Path, capsys
) -> None:
    before = _snapshot(saved)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2
    assert len(err) == 1, err
    assert ": error: " in err[0]
    assert message in err[0], err
    assert _snapshot(saved) == before
