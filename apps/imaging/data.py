"""Image sets for the imaging app: MedMNIST ``.npz`` files (one or several pooled into one label
space) and image-folder trees (RadImageNet's ``{split}/MOD__anatomy__label/`` layout, or plain
``{split}/<class>/``).

Every reader returns an :class:`ImageSet`: uint8 images ``[N, H, W, 3]`` (grayscale sources
repeated over the three channels, so grayscale and RGB sources share one batch), int64 labels in
the pooled label space, and each image's *source* (the MedMNIST set, or RadImageNet's modality and
anatomy), so results can be reported per source. Bad input raises a one-line
:class:`~pgsuite.core.errors.DataError` naming the file: a missing set or split, an empty class
folder, an unreadable image, a label outside a set's classes, splits whose label spaces differ.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgsuite.core.errors import DataError

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class ClassInfo:
    """One class of the pooled label space: its name, its source and, for RadImageNet folders,
    the modality / anatomy / label parsed from ``MOD__anatomy__label`` (empty when absent)."""

    name: str
    source: str
    modality: str = ""
    anatomy: str = ""
    label: str = ""


@dataclass(frozen=True)
class ImageSet:
    """A split of an image collection.

    Attributes:
        images: uint8 ``[N, H, W, 3]``.
        labels: int64 ``[N]`` in ``0 .. len(classes) - 1``.
        sources: int64 ``[N]`` index into ``source_names``.
        classes: the pooled label space.
        source_names: the sources, in order.
        split: ``train``, ``val`` or ``test``.
    """

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    classes: tuple[ClassInfo, ...]
    source_names: tuple[str, ...]
    split: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, index: np.ndarray) -> ImageSet:
        """The images at ``index`` (same label space and sources)."""
        return ImageSet(self.images[index], self.labels[index], self.sources[index],
                        self.classes, self.source_names, self.split)  # fmt: skip


MEDMNIST_FOLDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "medmnist"
"""Where ``../shared/data/medmnist`` lies for a repository checkout (override:
``PGSUITE_MEDMNIST``)."""
POOLED_SETS = ("breastmnist", "pneumoniamnist", "retinamnist")
"""The pooled 9-class task: breast ultrasound, chest X-ray pneumonia, retinal fundus grades."""


def medmnist_folder() -> Path:
    """The MedMNIST folder: ``$PGSUITE_MEDMNIST``, else ``../shared/data/medmnist``.

    Raises:
        DataError: it lacks one of the pooled sets (the message says where it was looked for).
    """
    folder = Path(os.environ.get("PGSUITE_MEDMNIST", MEDMNIST_FOLDER))
    missing = [name for name in POOLED_SETS if not (folder / f"{name}.npz").is_file()]
    if missing:
        raise DataError(f"the MedMNIST folder {folder} lacks {', '.join(missing)} (.npz); set "
                        "PGSUITE_MEDMNIST or give --data")  # fmt: skip
    return folder


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")


def _rgb(images: np.ndarray, where: str) -> np.ndarray:
    """``[N, H, W]`` or ``[N, H, W, 1 | 3]`` uint8 -> ``[N, H, W, 3]``."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{where}: images must be [N, H, W] or [N, H, W, 1|3], got "
                        f"{list(images.shape)}")  # fmt: skip
    if images.dtype != np.uint8:
        raise DataError(f"{where}: images must be uint8, got {images.dtype}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


# -- MedMNIST ------------------------------------------------------------------------------------
def _medmnist_arrays(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"no MedMNIST file at {path}")
    try:
        with np.load(path) as archive:
            keys = set(archive.files)
            wanted = {f"{split}_images", f"{split}_labels"}
            if not wanted <= keys:
                raise DataError(f"{path}: no {split} split (it holds {sorted(keys)})")
            images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{path}: {split}_labels must be one class per image, got shape "
                        f"{list(labels.shape)} for {len(images)} images")  # fmt: skip
    return _rgb(np.asarray(images), f"{path}:{split}_images"), labels.astype(np.int64)


def _medmnist_classes(path: Path) -> int:
    """Classes of a MedMNIST set: the highest label over all its splits plus one."""
    with np.load(path) as archive:
        return (
            int(max(archive[f"{s}_labels"].max() for s in SPLITS if f"{s}_labels" in archive)) + 1
        )


def load_medmnist(folder: str | Path, sets: Sequence[str], split: str) -> ImageSet:
    """``split`` of the MedMNIST ``sets`` (file stems in ``folder``, e.g. ``breastmnist``),
    pooled: the classes of the first set, then those of the second (offset by the first's
    count), and so on; each image's source is its set.

    Raises:
        DataError: no sets, a missing file or split, labels that are not one class per image,
            sets of different image sizes.
    """
    _check_split(split)
    if not sets:
        raise DataError("give at least one MedMNIST set, e.g. --sets breastmnist")
    folder = Path(folder)
    images, labels, sources, classes = [], [], [], []
    for index, name in enumerate(sets):
        path = folder / f"{name}.npz"
        pictures, targets = _medmnist_arrays(path, split)
        count = _medmnist_classes(path)
        if targets.min(initial=0) < 0:
            raise DataError(f"{path}: negative label in {split}")
        if images and pictures.shape[1:] != images[0].shape[1:]:
            raise DataError(f"{path}: images are {list(pictures.shape[1:3])}, the sets before are "
                            f"{list(images[0].shape[1:3])}; pool sets of one size")  # fmt: skip
        images.append(pictures)
        labels.append(targets + len(classes))
        sources.append(np.full(len(targets), index, dtype=np.int64))
        classes += [ClassInfo(f"{name}:{c}", name, label=str(c)) for c in range(count)]
    return ImageSet(np.concatenate(images), np.concatenate(labels), np.concatenate(sources),
                    tuple(classes), tuple(sets), split)  # fmt: skip


# -- image folders ----------------------------------------------------------------------------------
def parse_class_folder(name: str) -> ClassInfo:
    """RadImageNet's ``MOD__anatomy__label`` (ultrasound: ``US__label``) -> its parts, the source
    being ``MOD__anatomy`` (``US``); any other name is a plain class of source ``all``."""
    parts = name.split("__")
    if len(parts) == 3 and all(parts):
        return ClassInfo(name, f"{parts[0]}__{parts[1]}", parts[0], parts[1], parts[2])
    if len(parts) == 2 and all(parts):
        return ClassInfo(name, parts[0], parts[0], "", parts[1])
    return ClassInfo(name, "all")


def _read_image(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if size is not None and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"{path}: unreadable image ({type(error).__name__})") from None


def image_folder_classes(root: str | Path, split: str) -> list[str]:
    """The class folder names of ``root/split``, sorted.

    Raises:
        DataError: the split folder is missing or has no class folders.
    """
    _check_split(split)
    folder = Path(root) / split
    if not folder.is_dir():
        raise DataError(f"no {split} split at {folder} (expected {root}/{split}/<class>/<image>)")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not names:
        raise DataError(f"{folder} has no class folders")
    return names


def load_image_folder(
    root: str | Path, split: str, size: int | None = None, classes: Sequence[str] | None = None
) -> ImageSet:
    """``root/split/<class>/<image>``: every image (resized to ``size`` x ``size`` when given;
    else all must share one size), labels by sorted class name.

    Args:
        classes: the label space to use (e.g. the train split's); ``None``: this split's own.

    Raises:
        DataError: a missing split, an empty class folder, an unreadable image, images of
            different sizes without ``size``, or a class folder outside ``classes``.
    """
    names = image_folder_classes(root, split)
    space = list(classes) if classes is not None else names
    unknown = sorted(set(names) - set(space))
    if unknown:
        raise DataError(f"{Path(root) / split}: classes {unknown} are not in the label space "
                        f"of the other splits")  # fmt: skip
    infos = [parse_class_folder(name) for name in space]
    source_names = tuple(dict.fromkeys(info.source for info in infos))
    images, labels, sources = [], [], []
    for name in names:
        folder = Path(root) / split / name
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{folder}: empty class folder (no {'/'.join(IMAGE_SUFFIXES)} files)")
        label = space.index(name)
        source = source_names.index(infos[label].source)
        for file in files:
            picture = _read_image(file, size)
            if images and picture.shape != images[0].shape:
                raise DataError(f"{file}: {picture.shape[1]}x{picture.shape[0]} pixels, others "
                                f"{images[0].shape[1]}x{images[0].shape[0]}; give a size")  # fmt: skip
            images.append(picture)
            labels.append(label)
            sources.append(source)
    return ImageSet(np.stack(images), np.asarray(labels, dtype=np.int64),
                    np.asarray(sources, dtype=np.int64), tuple(infos), source_names, split)  # fmt: skip


def load_split(
    data: str | Path, split: str, sets: Sequence[str] = (), size: int | None = None
) -> ImageSet:
    """One split of ``data``, detected: a folder of MedMNIST ``.npz`` files (with ``sets``) or an
    image-folder tree (whose label space is the train split's, so that every split agrees).

    Raises:
        DataError: ``data`` missing, ``sets`` given for an image tree or missing for npz files,
            and the readers' errors.
    """
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"no data folder at {data}")
    if any(data.glob("*.npz")):
        if not sets:
            found = sorted(p.stem for p in data.glob("*.npz"))
            raise DataError(f"{data} holds MedMNIST files; choose --sets among {found}")
        return load_medmnist(data, sets, split)
    if sets:
        raise DataError(f"{data} is an image-folder tree, not MedMNIST files; drop --sets")
    classes = image_folder_classes(data, "train") if split != "train" else None
    return load_image_folder(data, split, size, classes)
