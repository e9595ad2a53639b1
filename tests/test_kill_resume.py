"""A training run killed with SIGKILL (no handler, no clean-up) resumes from its last checkpoint and
finishes with the same result as a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

TRAIN = [sys.executable, "-m", "pgsuite.core.cli", "inventory", "train", "--no-progress"]
TRAIN += ["--train-samples", "64", "--dev-samples", "64", "--test-samples", "64"]
TRAIN += ["--train-periods", "20", "--train-warmup", "5", "--dev-periods", "20"]
TRAIN += ["--dev-warmup", "5", "--test-periods", "20", "--test-warmup", "5", "--batch-size", "32"]
TRAIN += ["--max-steps", "300", "--eval-every", "10", "--checkpoint-every", "10"]


def _checkpoint_step(folder: Path) -> int:
    try:
        return int(torch.load(folder / "checkpoint.pt", weights_only=False)["step"])
    except (FileNotFoundError, EOFError, RuntimeError):
        return 0


def test_sigkilled_training_resumes_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen([*TRAIN, "--out", str(killed)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _checkpoint_step(killed) < 50:
        assert process.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint past step 50 within 120 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "results.json").exists()
    stopped_at = _checkpoint_step(killed)
    assert 50 <= stopped_at < 300

    subprocess.run([*TRAIN, "--out", str(killed), "--resume"], env=env, check=True)
    subprocess.run([*TRAIN, "--out", str(whole)], env=env, check=True)

    resumed = json.loads((killed / "results.json").read_text())
    uninterrupted = json.loads((whole / "results.json").read_text())
    for key in ("steps", "stop_reason", "best_step", "best_dev_cost", "test_cost"):
        assert resumed[key] == uninterrupted[key], key
    metrics = pd.read_csv(killed / "metrics.csv")
    dev_cost = metrics[(metrics.split == "dev") & (metrics.metric == "cost")]
    assert dev_cost.step.is_unique  # no evaluation logged twice across the kill
    assert dev_cost.step.max() == resumed["steps"]
