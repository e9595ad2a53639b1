"""The training loop every app reuses.

An app supplies a *step function* (one optimiser update, or one PPO iteration) returning its metrics,
and optionally an *evaluate function* for the dev set. :class:`Trainer` adds everything around it:

- logging of every metric (CSV, optional TensorBoard) and a progress bar;
- evaluation every ``eval_every`` steps, early stopping on a dev metric, best-model restore;
- atomic checkpoints (model, optimiser, any extra stateful objects, RNG states, step counters,
  early-stopping state, best model) every ``checkpoint_every`` steps and at the end;
- exact resume: ``Trainer(..., resume=True)`` continues from ``checkpoint.pt`` and, on CPU, produces
  bitwise the parameters an uninterrupted run would (for step functions whose randomness flows through
  the global generators or generators passed in ``stateful``);
- Ctrl-C finishes the current step, saves a checkpoint and returns (a second Ctrl-C aborts at once);
- a NaN/inf loss stops training with :class:`~pgsuite.core.errors.NonFiniteLossError`; nothing non-finite is
  ever written over the last good checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch

from pgsuite.core.checkpoint import load_checkpoint, save_checkpoint
from pgsuite.core.errors import ConfigError, DataError, NonFiniteLossError, check_finite
from pgsuite.core.logger import MetricLogger, plot_learning_curves
from pgsuite.core.progress import progress
from pgsuite.core.seeding import rng_state, set_rng_state

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"


class Stateful(Protocol):
    """Anything with ``state_dict`` / ``load_state_dict`` (modules, optimisers, schedulers, ...)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass
class TrainerConfig:
    """Options of the shared training loop."""

    max_steps: int = 1000
    """Training steps to run in total (optimiser updates, or PPO iterations)."""
    max_time_s: float | None = None
    """Wall-time budget in seconds, the final dev evaluation included (None: no limit): training
    stops before a step that, followed by the final evaluation, would end past it, judged by the
    last step's and the last evaluation's durations; for equal-budget comparisons."""
    eval_every: int = 50
    """Evaluate on the dev set every this many steps (and after the last step)."""
    eval_every_s: float | None = None
    """Also evaluate once this many seconds of wall time have passed since the last evaluation
    (None: by steps only); equal-wall-time comparisons of methods whose steps differ in cost use it
    so that every method spends a similar share of its budget on dev evaluation."""
    patience: int | None = None
    """Stop after this many evaluations without improvement of the dev metric (None: never)."""
    metric: str = "loss"
    """Dev metric that early stopping and best-model selection watch."""
    mode: Literal["min", "max"] = "min"
    """Whether a smaller ("min") or larger ("max") dev metric is better."""
    min_delta: float = 0.0
    """Smallest change of the dev metric that counts as an improvement."""
    checkpoint_every: int = 50
    """Write a checkpoint every this many steps (and at the end), when out is set."""
    restore_best: bool = True
    """At the end, load the parameters that scored best on the dev set."""
    out: Path | None = None
    """Run folder for checkpoints, metrics.csv and plots (None: keep nothing on disk)."""
    resume: bool = False
    """Continue from <out>/checkpoint.pt instead of starting afresh."""
    tensorboard: bool = False
    """Also log to TensorBoard under <out>/tb."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        for name in ("max_steps", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_time_s", "eval_every_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be > 0 or None, got {value}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be >= 1 or None, got {self.patience}")
        if self.mode not in ("min", "max"):
            raise ConfigError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.resume and self.out is None:
            raise ConfigError("resume needs --out, the run folder holding checkpoint.pt")
        if self.out is not None:
            self.out = Path(self.out)


EvalListener = Callable[[int, Mapping[str, float]], None]
"""``listener(step, dev_metrics)``, called after every dev evaluation of every trainer."""

_EVAL_LISTENERS: list[EvalListener] = []


@contextlib.contextmanager
def evaluation_listener(listener: EvalListener) -> Iterator[None]:
    """Within the ``with`` block, every :class:`Trainer` calls ``listener(step, dev_metrics)``
    after each dev evaluation: how a caller that does not build the trainer itself (a
    hyper-parameter sweep around an app's training, a monitor) watches its progress. A listener
    that raises stops the training with that exception (e.g. a sweep scheduler ending a trial)."""
    _EVAL_LISTENERS.append(listener)
    try:
        yield
    finally:
        _EVAL_LISTENERS.remove(listener)


_PAYLOAD_KEYS = ("step", "model", "optimizer", "stateful", "rng", "early_stopping", "best_model")


def resumable_checkpoint(config: TrainerConfig, model: torch.nn.Module) -> dict[str, Any]:
    """The payload of ``<config.out>/checkpoint.pt``, checked to be a trainer checkpoint of a model
    with ``model``'s parameter names and shapes. Apps call it before writing anything into a run
    folder they resume, so that a bad checkpoint leaves the folder as it was.

    Raises:
        DataError: the file is missing, unreadable, not a trainer checkpoint, or holds another
            model (another app's, or other layer sizes).
    """
    assert config.out is not None
    path = config.out / CHECKPOINT_NAME
    payload = load_checkpoint(path)
    missing = [key for key in _PAYLOAD_KEYS if key not in payload]
    if missing:
        raise DataError(f"{path} is not a training checkpoint (no {missing[0]!r}); cannot resume")
    saved, expected = payload["model"], model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in saved.items()} if isinstance(saved, dict) else None
    if shapes != {k: tuple(v.shape) for k, v in expected.items()}:
        raise DataError(
            f"{path} holds another model than this run's (another app's, or other layer sizes); "
            "cannot resume"
        )
    return payload


class EarlyStopping:
    """Tracks the best dev value and counts evaluations without improvement."""

    def __init__(self, mode: str, patience: int | None, min_delta: float = 0.0) -> None:
        self.mode, self.patience, self.min_delta = mode, patience, min_delta
        self.best: float | None = None
        self.best_step: int | None = None
        self.bad_evals = 0

    def update(self, value: float, step: int) -> bool:
        """Record a dev value; returns True when it is a new best."""
        if self.best is None:
            improved = True
        elif self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_step, self.bad_evals = value, step, 0
        else:
            self.bad_evals += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_evals >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step, self.bad_evals = (
            state["best"],
            state["best_step"],
            state["bad_evals"],
        )


@dataclass
class TrainResult:
    """What a finished (or stopped) training run reports."""

    steps: int
    """Steps completed in total, including those before a resume."""
    stop_reason: Literal["max_steps", "early_stopping", "time_limit", "interrupted", "requested"]
    """``requested``: the step function called :meth:`Trainer.request_stop`."""
    best_value: float | None
    """Best dev metric seen (None without evaluation)."""
    best_step: int | None
    last_metrics: dict[str, float]
    """Train metrics of the last step."""
    wall_time_s: float
    """Wall time of this call (not of earlier runs that were resumed)."""


class _InterruptFlag:
    """Turns the first SIGINT into a flag checked between steps; a second one aborts."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: Any = None

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        log.warning("interrupt received: finishing this step, saving a checkpoint, then stopping")

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _state_copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class Trainer:
    """Run ``step_fn`` for ``config.max_steps`` steps with evaluation, checkpoints and logging.

    Args:
        config: loop options.
        step_fn: ``step_fn(step) -> metrics``; performs one step (it owns backward/optimiser calls
            or calls e.g. :func:`core.estimators.pathwise_step`). A ``"loss"`` entry is checked for
            NaN/inf.
        model: the module whose parameters are checkpointed and best-restored.
        optimizer: checkpointed with the model.
        evaluate_fn: ``evaluate_fn() -> dev metrics`` (must contain ``config.metric``); called in
            eval mode under ``torch.no_grad``.
        stateful: extra objects to checkpoint (schedulers, private generators, normalisers).
    """

    def __init__(
        self,
        config: TrainerConfig,
        step_fn: Callable[[int], Mapping[str, float]],
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        evaluate_fn: Callable[[], Mapping[str, float]] | None = None,
        stateful: Mapping[str, Stateful] | None = None,
    ) -> None:
        self.config = config
        self.step_fn = step_fn
        self.model = model
        self.optimizer = optimizer
        self.evaluate_fn = evaluate_fn
        self.stateful = dict(stateful or {})
        self.early_stopping = EarlyStopping(config.mode, config.patience, config.min_delta)
        self.best_state: dict[str, torch.Tensor] | None = None
        self.step = 0
        self.logger: MetricLogger | None = None
        self.last_eval_s = 0.0
        """Duration of the last dev evaluation in seconds (0 until one ran): the time budget
        keeps room for a final one."""
        self.stop_requested = False

    def request_stop(self) -> None:
        """End training after the current step (evaluated and checkpointed like the last one);
        step functions call it, e.g. for a callback's stopping rule."""
        self.stop_requested = True

    # -- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.config.out / CHECKPOINT_NAME if self.config.out else None

    def _payload(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "stateful": {name: obj.state_dict() for name, obj in self.stateful.items()},
            "rng": rng_state(),
            "early_stopping": self.early_stopping.state_dict(),
            "best_model": self.best_state,
            "config": {
                k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.config).items()
            },
        }

    def save(self) -> Path | None:
        """Write the checkpoint now, unless a parameter is non-finite (then raise)."""
        if self.checkpoint_path is None:
            return None
        for name, tensor in self.model.state_dict().items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise NonFiniteLossError(
                    f"parameter {name!r} is not finite at step {self.step}; training stopped, "
                    "the last good checkpoint is kept"
                )
        return save_checkpoint(self.checkpoint_path, self._payload())

    def _restore(self) -> None:
        assert self.checkpoint_path is not None
        payload = resumable_checkpoint(self.config, self.model)
        self.model.load_state_dict(payload["model"])
        missing = set(self.stateful) - set(payload["stateful"])
        if missing:
            raise ConfigError(f"checkpoint lacks state for {sorted(missing)}; cannot resume")
        try:
            if self.optimizer is not None and payload["optimizer"] is not None:
                self.optimizer.load_state_dict(payload["optimizer"])
            for name, obj in self.stateful.items():
                obj.load_state_dict(payload["stateful"][name])
        except (KeyError, ValueError, TypeError, RuntimeError) as error:
            raise DataError(
                f"{self.checkpoint_path}: the optimiser or training state does not fit this run "
                f"({type(error).__name__}: {error}); cannot resume"
            ) from error
        self.early_stopping.load_state_dict(payload["early_stopping"])
        self.best_state = payload["best_model"]
        self.step = payload["step"]
        set_rng_state(payload["rng"])
        log.info("resumed from %s at step %d", self.checkpoint_path, self.step)

    # -- the loop ------------------------------------------------------------------------------
    def _evaluate(self) -> dict[str, float]:
        assert self.evaluate_fn is not None
        started = time.perf_counter()
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in self.evaluate_fn().items()}
        self.model.train(was_training)
        if self.config.metric not in metrics:
            raise ConfigError(
                f"dev metric {self.config.metric!r} not among evaluation results {sorted(metrics)}"
            )
        value = metrics[self.config.metric]
        check_finite(value, f"dev {self.config.metric}", self.step)
        if self.early_stopping.update(value, self.step):
            self.best_state = _state_copy(self.model)
        self.last_eval_s = time.perf_counter() - started
        for listener in list(_EVAL_LISTENERS):
            listener(self.step, metrics)
        return metrics

    def fit(self) -> TrainResult:
        """Train until ``max_steps``, early stopping or Ctrl-C; returns a :class:`TrainResult`."""
        cfg = self.config
        start_time = time.perf_counter()
        if cfg.resume:
            self._restore()
        self.logger = MetricLogger(
            cfg.out, cfg.tensorboard, resume_step=self.step if cfg.resume else None
        )
        stop_reason: Literal[
            "max_steps", "early_stopping", "time_limit", "interrupted", "requested"
        ] = "max_steps"
        metrics: dict[str, float] = {}
        bar = progress(
            total=cfg.max_steps,
            initial=self.step,
            disable=not cfg.progress,
            desc="train",
            leave=False,
        )
        try:
            with _InterruptFlag() as interrupt:
                if self.evaluate_fn is not None and self.step == 0:
                    # the initial parameters compete too (e.g. a policy started at a heuristic)
                    self.logger.log(0, self._evaluate(), "dev")
                last_eval_time = time.perf_counter()
                while self.step < cfg.max_steps and not self.early_stopping.should_stop:
                    step_started = time.perf_counter()
                    metrics = {k: float(v) for k, v in self.step_fn(self.step).items()}
                    step_s = time.perf_counter() - step_started
                    if "loss" in metrics:
                        check_finite(metrics["loss"], "loss", self.step)
                    self.step += 1
                    self.logger.log(self.step, metrics, "train")
                    bar.update(1)
                    due_eval = (
                        self.step % cfg.eval_every == 0
                        or self.step == cfg.max_steps
                        or (
                            cfg.eval_every_s is not None
                            and time.perf_counter() - last_eval_time >= cfg.eval_every_s
                        )
                    )
                    if self.evaluate_fn is not None and due_eval:
                        dev = self._evaluate()
                        last_eval_time = time.perf_counter()
                        self.logger.log(self.step, dev, "dev")
                        bar.set_postfix({f"dev_{cfg.metric}": f"{dev[cfg.metric]:.4g}"})
                    elif "loss" in metrics:
                        bar.set_postfix(loss=f"{metrics['loss']:.4g}")
                    if self.step % cfg.checkpoint_every == 0:
                        self.save()
                    if interrupt.raised:
                        stop_reason = "interrupted"
                        break
                    if self.stop_requested:
                        stop_reason = "requested"
                        if self.evaluate_fn is not None and not due_eval:
                            self.logger.log(self.step, self._evaluate(), "dev")
                        break
                    if (
                        cfg.max_time_s is not None
                        and time.perf_counter() - start_time + step_s + self.last_eval_s
                        > cfg.max_time_s
                    ):
                        stop_reason = "time_limit"
                        if self.evaluate_fn is not None and not due_eval:
                            self.logger.log(self.step, self._evaluate(), "dev")
                        break
                if self.early_stopping.should_stop:
                    stop_reason = "early_stopping"
                self.save()
        finally:
            bar.close()
            self.logger.close()
        self._finish()
        return TrainResult(
            steps=self.step,
            stop_reason=stop_reason,
            best_value=self.early_stopping.best,
            best_step=self.early_stopping.best_step,
            last_metrics=metrics,
            wall_time_s=time.perf_counter() - start_time,
        )

    def _finish(self) -> None:
        """Restore the best parameters; write best.pt (when evaluated) and the learning-curve plot."""
        if self.config.restore_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if self.config.out is None or self.logger is None:
            return
        if self.best_state is not None:
            save_checkpoint(
                self.config.out / BEST_NAME,
                {"model": self.best_state, "step": self.early_stopping.best_step},
            )
        history = self.logger.history()
        if not history.empty:
            plot_learning_curves(history, self.config.out / "learning_curves.png")
