"""Torch datasets of :class:`~pgsuite.apps.imaging.data.ImageSet` s with MONAI transforms.

Every image becomes a float tensor ``[3, H, W]`` in [0, 1] (MONAI ``EnsureChannelFirst`` +
``ScaleIntensityRange`` from uint8). The ``augment`` option adds the standard-augmentation
baseline: MONAI ``RandGaussianNoise`` (p 0.5, std 0.1) and ``RandCoarseDropout`` (p 0.5, up to 4
holes of 1/4 of the side), seeded per dataset. Items are dicts ``{"image", "label", "source",
"index"}`` (MONAI's dictionary style).
"""

from __future__ import annotations

import numpy as np
from monai.data import CacheDataset
from monai.transforms import (
    Compose,
    EnsureChannelFirstd,
    EnsureTyped,
    RandCoarseDropoutd,
    RandGaussianNoised,
    ScaleIntensityRanged,
)

from pgsuite.apps.imaging.data import ImageSet


def image_transforms(size: int, augment: bool) -> Compose:
    """The MONAI pipeline of one item (see the module docstring)."""
    steps = [
        EnsureChannelFirstd(keys="image", channel_dim=-1),
        ScaleIntensityRanged(keys="image", a_min=0.0, a_max=255.0, b_min=0.0, b_max=1.0),
    ]
    if augment:
        hole = max(1, size // 4)
        steps += [
            RandGaussianNoised(keys="image", prob=0.5, std=0.1),
            RandCoarseDropoutd(keys="image", holes=1, max_holes=4, spatial_size=hole, prob=0.5),
        ]
    steps.append(EnsureTyped(keys="image", dtype=np.float32, track_meta=False))
    return Compose(steps)


def image_dataset(images: ImageSet, augment: bool = False, seed: int = 0) -> CacheDataset:
    """A MONAI dataset of ``images`` (random augmentation seeded by ``seed``); the deterministic
    transforms run once, at construction (MONAI's cache), the random ones per item."""
    items = [
        {"image": images.images[i], "label": int(images.labels[i]),
         "source": int(images.sources[i]), "index": i}
        for i in range(len(images))
    ]  # fmt: skip
    transform = image_transforms(images.images.shape[1], augment)
    transform.set_random_state(seed=seed)
    return CacheDataset(items, transform, progress=False)
