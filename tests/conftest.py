"""Shared test set-up: one torch thread (the small networks here run fastest that way, and results
do not depend on how many cores a machine has)."""

import warnings

import pytest
import torch

warnings.filterwarnings(
    "ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning
)


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)
