"""MONAI datasets (tensors in [0, 1], seeded augmentation) and the metrics against hand values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgsuite.apps.imaging.data import ClassInfo, ImageSet
from pgsuite.apps.imaging.datasets import image_dataset
from pgsuite.apps.imaging.metrics import classification_metrics


def _set() -> ImageSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    classes = tuple(ClassInfo(f"c{i}", "s") for i in range(2))
    return ImageSet(images, np.array([0, 1, 0, 1]), np.zeros(4, np.int64), classes, ("s",),
                    "train")  # fmt: skip


def test_items_are_channel_first_tensors_in_unit_range() -> None:
    data = _set()
    item = image_dataset(data)[1]
    assert item["image"].shape == (3, 8, 8)
    assert item["image"].dtype == torch.float32
    expected = torch.from_numpy(data.images[1]).permute(2, 0, 1).float() / 255
    assert torch.allclose(item["image"], expected)
    assert (item["label"], item["source"], item["index"]) == (1, 0, 1)


def test_augmentation_is_seeded_and_changes_images() -> None:
    data = _set()
    a = [image_dataset(data, augment=True, seed=3)[i]["image"] for i in range(4)]
    b = [image_dataset(data, augment=True, seed=3)[i]["image"] for i in range(4)]
    plain = [image_dataset(data)[i]["image"] for i in range(4)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert any(not torch.equal(x, y) for x, y in zip(a, plain, strict=True))


def test_metrics_by_hand() -> None:
    labels = np.array([0, 1, 1, 2, 3, 3])
    sources = np.array([0, 0, 0, 1, 1, 1])  # source 0: classes 0-1, source 1: classes 2-3
    probabilities = np.array([
        [0.6, 0.4, 0.0, 0.0],
        [0.3, 0.7, 0.0, 0.0],
        [0.8, 0.2, 0.0, 0.0],  # wrong
        [0.0, 0.0, 0.9, 0.1],
        [0.0, 0.0, 0.2, 0.8],
        [0.0, 0.0, 0.4, 0.6],
    ])  # fmt: skip
    m = classification_metrics(labels, probabilities, sources, ["a", "b"],
                               [np.array([0, 1]), np.array([2, 3])])  # fmt: skip
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert m["accuracy/a"] == pytest.approx(2 / 3)
    assert m["accuracy/b"] == 1.0
    # source a, class 1 scores: label 0 -> 0.4; label 1 -> 0.7, 0.2: pairs (0.7 > 0.4), (0.2 < 0.4)
    assert m["auc/a"] == pytest.approx(0.5)
    assert m["auc/b"] == 1.0
