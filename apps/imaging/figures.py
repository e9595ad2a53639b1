"""Pictures of the learned masks: images, their masks and the masked images in one PNG grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def save_mask_grid(
    images: np.ndarray, masks: np.ndarray, titles: list[str], path: str | Path
) -> Path:
    """Write a PNG with one column per image and three rows: the image, its mask (grey scale,
    black = 0, white = 1) and the masked image.

    Args:
        images: float ``[N, 3, H, W]`` in [0, 1]; masks: float ``[N, 1, H, W]`` in [0, 1];
        titles: one caption per image (e.g. its source and class).
    """
    count = len(images)
    figure = Figure(figsize=(1.6 * count, 5.0))
    FigureCanvasAgg(figure)
    rows = (("image", images), ("mask", masks.repeat(3, axis=1)), ("masked", images * masks))
    for r, (name, pictures) in enumerate(rows):
        for c in range(count):
            ax = figure.add_subplot(3, count, r * count + c + 1)
            ax.imshow(np.clip(pictures[c].transpose(1, 2, 0), 0, 1), vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(name)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=130)
    return path
