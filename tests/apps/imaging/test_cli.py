"""``pgsuite imaging``: pretrain with masks, fine-tune from the heated run, evaluate (strict
JSON), the masks picture, the demo's skip without data, and one-line errors."""

from __future__ import annotations

from pathlib import Path

from pgsuite.core.cli import loads_strict, main

from .conftest import write_npz


def _npz(path: Path, classes: int, n: int = 16, size: int = 12) -> None:
    write_npz(path, classes, n, size)


def test_pretrain_finetune_eval(tmp_path: Path, capsys) -> None:
    _npz(tmp_path / "a.npz", 2)
    _npz(tmp_path / "b.npz", 3)
    common = ["--data", str(tmp_path), "--sets", "a", "b", "--model", "resnet10t", "--epochs",
              "1", "--batch-size", "8", "--grid", "3", "--no-progress", "--json"]  # fmt: skip
    heated, tuned = tmp_path / "heated", tmp_path / "ft"
    assert main(["imaging", "pretrain", *common, "--out", str(heated)]) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["masks"] == "policy"
    assert main(["imaging", "finetune", *common, "--init", str(heated), "--out", str(tuned)]) == 0
    assert loads_strict(capsys.readouterr().out)["summary"]["masks"] == "none"
    assert main(["imaging", "eval", "--run", str(tuned), "--split", "test", "--json"]) == 0
    metrics = loads_strict(capsys.readouterr().out)["summary"]
    assert metrics["images"] == 32
    assert 0 <= metrics["accuracy"] <= 1
    assert "auc/b" in metrics
    png = tmp_path / "masks.png"
    assert main(["imaging", "masks", "--run", str(heated), "--count", "3", "--out", str(png),
                 "--json"]) == 0  # fmt: skip
    shown = loads_strict(capsys.readouterr().out)["summary"]["masks"]
    assert png.stat().st_size > 1000
    assert len(shown) == 3
    assert {row["class"].split(":")[0] for row in shown} == {"a", "b"}  # both sources shown
    assert all(0 <= row["mask_min"] <= row["mask_mean"] <= row["mask_max"] <= 1 for row in shown)
    assert main(["imaging", "masks", "--run", str(tuned)]) != 0  # fine-tuned: no policy
    assert "not with the mask policy" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(["imaging", "finetune", "--data", str(tmp_path)]) != 0
    assert "--init" in capsys.readouterr().err
    assert main(["imaging", "pretrain", "--data", str(tmp_path / "none"), "--epochs", "1"]) != 0
    err = capsys.readouterr().err.strip()
    assert "no data folder" in err
    assert len(err.splitlines()) == 1


def test_demo_part_skips_without_medmnist(tmp_path: Path, monkeypatch) -> None:
    from pgsuite.apps.imaging.cli import demo
    from pgsuite.core.demo import DemoConfig

    monkeypatch.setenv("PGSUITE_MEDMNIST", str(tmp_path))
    [(title, table)] = demo(DemoConfig(quick=True))
    assert title == "imaging: skipped"
    assert "lacks breastmnist" in table["reason"][0]


def test_bench_prints_strict_json(tmp_path: Path, capsys) -> None:
    _npz(tmp_path / "a.npz", 2)
    _npz(tmp_path / "b.npz", 3)
    argv = ["imaging", "bench", "--data", str(tmp_path), "--sets", "a", "b", "--models",
            "resnet10t", "--methods", "conventional", "--seeds", "0", "--pretrain-epochs", "1",
            "--finetune-epochs", "1", "--batch-size", "8", "--runs-dir", str(tmp_path / "runs"),
            "--results-dir", str(tmp_path / "results"), "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["csv"].endswith("imaging_pooled.csv")
    assert summary["targets"] == []  # no heated row, nothing to compare
