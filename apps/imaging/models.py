"""Classifiers and policy trunks from timm by name, trained from scratch, with the small-image
stem (3x3 stride-1 first convolution, no max-pool) that 28x28 inputs need (MedMNIST's ResNets)."""

from __future__ import annotations

import timm
from torch import nn

from pgsuite.core.errors import ConfigError

MODELS = ("resnet10t", "resnet18", "resnet50")


def small_image_stem(model: nn.Module) -> nn.Module:
    """Give a timm ResNet a stride-1 stem without max-pool, in place (the first convolution of a
    deep stem gets stride 1; a 7x7 stem becomes 3x3 stride 1)."""
    stem = model.conv1
    if isinstance(stem, nn.Sequential):
        stem[0].stride = (1, 1)
    else:
        model.conv1 = nn.Conv2d(stem.in_channels, stem.out_channels, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


def make_model(name: str, num_classes: int, small_stem: bool = False) -> nn.Module:
    """A timm ``name`` (resnet10t, resnet18, resnet50) with ``num_classes`` outputs, random
    weights (``num_classes=0``: the pooled feature trunk, ``model.num_features`` wide).

    Raises:
        ConfigError: an unknown model name or a negative class count.
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    if num_classes < 0:
        raise ConfigError(f"num_classes must be >= 0, got {num_classes}")
    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    return small_image_stem(model) if small_stem else model
