"""Classification metrics as MedMNIST reports them, pooled and per source: accuracy, balanced
accuracy and macro one-vs-rest AUC (scikit-learn), from predicted probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score


def _auc(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Macro one-vs-rest AUC over ``classes`` present in ``labels`` (NaN with fewer than 2)."""
    present = np.unique(labels)
    if len(present) < 2:
        return float("nan")
    scores = probabilities[:, classes]
    scores = scores / scores.sum(axis=1, keepdims=True).clip(min=1e-12)
    if len(classes) == 2:
        return float(roc_auc_score(labels == classes[1], scores[:, 1]))
    position = {c: i for i, c in enumerate(classes)}
    aucs = [roc_auc_score(labels == c, scores[:, position[c]]) for c in present]
    return float(np.mean(aucs))


def classification_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    sources: np.ndarray,
    source_names: Sequence[str],
    source_classes: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """``accuracy``, ``balanced_accuracy``, ``auc`` (macro one-vs-rest over all classes) and, per
    source ``s``, ``accuracy/s`` and ``auc/s`` (within the source's own classes,
    ``source_classes[s]``; default: the labels seen in that source).

    Args:
        labels: int ``[N]``; probabilities: ``[N, C]``; sources: int ``[N]``.
    """
    predicted = probabilities.argmax(axis=1)
    metrics = {
        "accuracy": float((predicted == labels).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "auc": _auc(labels, probabilities, np.arange(probabilities.shape[1])),
    }
    for s, name in enumerate(source_names):
        rows = sources == s
        if not rows.any():
            continue
        classes = np.unique(labels[rows]) if source_classes is None else source_classes[s]
        metrics[f"accuracy/{name}"] = float((predicted[rows] == labels[rows]).mean())
        metrics[f"auc/{name}"] = _auc(labels[rows], probabilities[rows], np.asarray(classes))
    return metrics
