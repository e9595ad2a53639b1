"""Trainer: exact resume, early stopping with best restore, NaN handling, Ctrl-C, logging."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from pgsuite.core.checkpoint import load_checkpoint
from pgsuite.core.errors import ConfigError, NonFiniteLossError
from pgsuite.core.seeding import GeneratorState, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig


class Regression:
    """A small noisy regression whose training draws from every kind of generator."""

    def __init__(self, seed: int = 0) -> None:
        seed_everything(seed)
        data = torch.Generator().manual_seed(123)
        self.x = torch.randn(256, 5, generator=data)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * torch.randn(
            256, generator=data
        )
        self.model = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.2), nn.Tanh(), nn.Linear(16, 1))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        self.private = torch.Generator().manual_seed(7)
        self.nan_at: int | None = None
        self.on_step = None

    def step(self, step: int) -> dict[str, float]:
        index = torch.randint(0, 192, (32,), generator=self.private)  # private generator
        index = index[torch.randperm(32)]  # global torch generator
        # numpy global generator, on purpose (third-party code draws from it)
        jitter = torch.as_tensor(np.random.normal(0, 0.01, 32), dtype=torch.float32)  # noqa: NPY002
        pred = self.model(self.x[index]).squeeze(-1)  # dropout: global torch generator
        loss = ((pred - self.y[index] - jitter) ** 2).mean()
        if self.nan_at is not None and step >= self.nan_at:
            loss = loss * float("nan")
        self.optimizer.zero_grad()
        loss.backward()
        if not torch.isfinite(loss):
            return {"loss": loss.item()}
        self.optimizer.step()
        if self.on_step is not None:
            self.on_step(step)
        return {"loss": loss.item()}

    def evaluate(self) -> dict[str, float]:
        pred = self.model(self.x[192:]).squeeze(-1)
        return {"loss": ((pred - self.y[192:]) ** 2).mean().item()}

    def trainer(self, config: TrainerConfig) -> Trainer:
        return Trainer(
            config,
            self.step,
            model=self.model,
            optimizer=self.optimizer,
            evaluate_fn=self.evaluate,
            stateful={"private": GeneratorState(self.private)},
        )


def _config(out: Path | None, steps: int, **kw) -> TrainerConfig:
    defaults = dict(eval_every=5, checkpoint_every=5, restore_best=False, progress=False)
    return TrainerConfig(max_steps=steps, out=out, **{**defaults, **kw})


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_resume_is_bitwise_identical(tmp_path: Path) -> None:
    straight = Regression()
    straight.trainer(_config(tmp_path / "a", 40)).fit()

    first = Regression()
    first.trainer(_config(tmp_path / "b", 20)).fit()
    second = Regression(seed=999)  # fresh process stand-in: different seed, state comes from disk
    result = second.trainer(_config(tmp_path / "b", 40, resume=True)).fit()

    assert result.steps == 40
    for a, b in zip(_params(straight.model), _params(second.model), strict=True):
        assert torch.equal(a, b)
    opt_a = straight.optimizer.state_dict()["state"]
    opt_b = second.optimizer.state_dict()["state"]
    for key in opt_a:
        assert torch.equal(opt_a[key]["exp_avg_sq"], opt_b[key]["exp_avg_sq"])
    log_a = pd.read_csv(tmp_path / "a" / "metrics.csv")
    log_b = pd.read_csv(tmp_path / "b" / "metrics.csv")
    pd.testing.assert_frame_equal(log_a, log_b)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    run = Regression()
    with pytest.raises(Exception, match="checkpoint not found"):
        run.trainer(_config(tmp_path, 10, resume=True)).fit()


def test_early_stopping_restores_best_model(tmp_path: Path) -> None:
    run = Regression()
    run.optimizer = torch.optim.SGD(run.model.parameters(), lr=0.3)  # diverges after a while
    seen: dict[int, float] = {}
    run_eval = run.evaluate

    def evaluate() -> dict[str, float]:
        metrics = run_eval()
        seen[len(seen)] = metrics["loss"]
        return metrics

    run.evaluate = evaluate
    config = _config(tmp_path, 400, eval_every=2, patience=3, restore_best=True)
    result = run.trainer(config).fit()
    assert result.stop_reason == "early_stopping"
    assert result.steps < 400
    assert result.best_value == pytest.approx(min(seen.values()))
    run.model.eval()
    assert run_eval()["loss"] == pytest.approx(result.best_value, rel=1e-6)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["step"] == result.best_step
    assert (tmp_path / "learning_curves.png").stat().st_size > 0


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    run = Regression()
    run.nan_at = 13
    with pytest.raises(NonFiniteLossError, match="step 13"):
        run.trainer(_config(tmp_path, 40)).fit()
    checkpoint = load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["step"] == 10
    assert all(torch.isfinite(v).all() for v in checkpoint["model"].values())


def test_non_finite_parameters_are_never_checkpointed(tmp_path: Path) -> None:
    run = Regression()

    def poison(step: int) -> None:
        if step == 7:
            with torch.no_grad():
                run.model[0].weight[0, 0] = float("inf")

    run.on_step = poison
    with pytest.raises(NonFiniteLossError, match="not finite"):
        run.trainer(_config(tmp_path, 40)).fit()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 5


def test_ctrl_c_saves_and_resume_matches_uninterrupted(tmp_path: Path) -> None:
    straight = Regression()
    straight.trainer(_config(tmp_path / "a", 30)).fit()

    run = Regression()
    run.on_step = lambda step: os.kill(os.getpid(), signal.SIGINT) if step == 12 else None
    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup / a background job
    result = run.trainer(_config(tmp_path / "b", 30)).fit()
    assert result.stop_reason == "interrupted"
    assert result.steps == 13
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 13
    assert signal.getsignal(signal.SIGINT) is handler  # restored

    resumed = Regression(seed=5)
    resumed.trainer(_config(tmp_path / "b", 30, resume=True)).fit()
    for a, b in zip(_params(straight.model), _params(resumed.model), strict=True):
        assert torch.equal(a, b)


def test_metrics_csv_and_tensorboard(tmp_path: Path) -> None:
    run = Regression()
    run.trainer(_config(tmp_path, 10, tensorboard=True)).fit()
    log = pd.read_csv(tmp_path / "metrics.csv")
    assert list(log.columns) == ["step", "split", "metric", "value"]
    train = log[log["split"] == "train"]
    assert train["step"].tolist() == list(range(1, 11))
    assert sorted(log.loc[log["split"] == "dev", "step"]) == [0, 5, 10]  # 0: initial parameters
    assert any((tmp_path / "tb").iterdir())


def test_missing_dev_metric_is_a_config_error() -> None:
    run = Regression()
    config = TrainerConfig(max_steps=5, eval_every=1, metric="accuracy", progress=False)
    with pytest.raises(ConfigError, match="accuracy"):
        run.trainer(config).fit()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_steps": 0},
        {"patience": 0},
        {"mode": "best"},
        {"resume": True},
        {"eval_every": 0},
        {"eval_every_s": 0.0},
    ],
)
def test_invalid_trainer_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        TrainerConfig(**kwargs)


def _slow_regression(seconds_per_step: float) -> Regression:
    """A :class:`Regression` whose every step first sleeps ``seconds_per_step``."""
    run = Regression()
    fast_step = run.step

    def step(step: int) -> dict[str, float]:
        time.sleep(seconds_per_step)
        return fast_step(step)

    run.step = step
    return run


def _dev_steps(out: Path) -> list[int]:
    """The steps at which the run in ``out`` evaluated on dev (from its metrics.csv)."""
    return pd.read_csv(out / "metrics.csv").query("split == 'dev'")["step"].tolist()


def test_time_limit_stops_with_a_final_evaluation(tmp_path: Path) -> None:
    run = _slow_regression(0.02)
    result = run.trainer(_config(tmp_path, 1_000, eval_every=1_000, max_time_s=0.2)).fit()
    assert result.stop_reason == "time_limit"
    assert 3 <= result.steps < 30
    assert _dev_steps(tmp_path) == [0, result.steps]


def test_time_limit_leaves_room_for_the_final_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fake clock (a step takes 1 s, a dev evaluation 3 s) a 20 s budget stops after 14
    steps: 3 + 14 = 17 s, and the final evaluation ends at 20 s. Stopping only once the budget
    is spent would take 18 steps and end at 24 s."""
    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    run = Regression()
    step, evaluate = run.step, run.evaluate

    def slow_step(index: int) -> dict[str, float]:
        clock[0] += 1.0
        return step(index)

    def slow_evaluate() -> dict[str, float]:
        clock[0] += 3.0
        return evaluate()

    run.step, run.evaluate = slow_step, slow_evaluate
    result = run.trainer(_config(tmp_path, 1_000, eval_every=1_000, max_time_s=20.0)).fit()
    assert result.stop_reason == "time_limit"
    assert result.steps == 14
    assert result.wall_time_s == pytest.approx(20.0)
    assert _dev_steps(tmp_path) == [0, 14]


def test_eval_every_s_evaluates_by_wall_time(tmp_path: Path) -> None:
    run = _slow_regression(0.02)
    result = run.trainer(_config(tmp_path, 20, eval_every=1_000, eval_every_s=0.1)).fit()
    dev_steps = _dev_steps(tmp_path)
    assert dev_steps[0] == 0
    assert dev_steps[-1] == result.steps == 20
    # 20 steps of >= 0.02 s each: at most 5 steps pass between two evaluations (so at least
    # 0, 5, 10, 15, 20; without the wall-time cadence only 0 and 20)
    gaps = [b - a for a, b in itertools.pairwise(dev_steps)]
    assert len(dev_steps) >= 5, dev_steps
    assert max(gaps) <= 5, dev_steps


def test_evaluation_listeners_see_every_dev_evaluation(tmp_path: Path) -> None:
    from pgsuite.core.trainer import evaluation_listener

    seen: list[tuple[int, float]] = []
    with evaluation_listener(lambda step, metrics: seen.append((step, metrics["loss"]))):
        result = Regression().trainer(_config(tmp_path, 20)).fit()
    logged = pd.read_csv(tmp_path / "metrics.csv").query("split == 'dev' and metric == 'loss'")
    assert [step for step, _ in seen] == logged["step"].tolist()
    assert [loss for _, loss in seen] == pytest.approx(logged["value"].tolist())
    assert seen[-1][0] == result.steps
    Regression().trainer(_config(tmp_path / "after", 20)).fit()  # listener gone
    assert len(seen) == len(logged)
