"""Image-set readers on tiny npz files and image folders the tests write: pooling into one label
space with sources, RadImageNet folder names, grayscale and RGB in one set, and every malformed
input a one-line DataError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgsuite.apps.imaging.data import (
    load_image_folder,
    load_medmnist,
    load_split,
    parse_class_folder,
)
from pgsuite.core.errors import DataError


def _npz(path: Path, classes: int, channels: int | None, size: int = 8, n: int = 6) -> None:
    rng = np.random.default_rng(classes)
    arrays = {}
    for split in ("train", "val", "test"):
        shape = (n, size, size) if channels is None else (n, size, size, channels)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % classes).astype(np.uint8)[:, None]
    np.savez(path, **arrays)


@pytest.fixture
def medmnist(tmp_path: Path) -> Path:
    _npz(tmp_path / "gray.npz", classes=2, channels=None)
    _npz(tmp_path / "color.npz", classes=3, channels=3)
    return tmp_path


def test_pooled_sets_share_one_label_space_and_remember_sources(medmnist: Path) -> None:
    pooled = load_medmnist(medmnist, ["gray", "color"], "train")
    assert pooled.images.shape == (12, 8, 8, 3)
    assert pooled.num_classes == 5
    assert pooled.labels.tolist() == [0, 1, 0, 1, 0, 1, 2, 3, 4, 2, 3, 4]
    assert pooled.sources.tolist() == [0] * 6 + [1] * 6
    assert pooled.source_names == ("gray", "color")
    assert [c.name for c in pooled.classes] == ["gray:0", "gray:1", "color:0", "color:1", "color:2"]
    raw = np.load(medmnist / "gray.npz")["train_images"]
    assert (pooled.images[:6, ..., 0] == raw).all()
    assert (pooled.images[:6, ..., 2] == raw).all()  # grayscale repeated over the channels


def test_medmnist_errors_name_the_file(medmnist: Path) -> None:
    with pytest.raises(DataError, match="no MedMNIST file"):
        load_medmnist(medmnist, ["missing"], "train")
    np.savez(medmnist / "nosplit.npz", train_images=np.zeros((2, 8, 8), np.uint8),
             train_labels=np.zeros((2, 1), np.uint8))  # fmt: skip
    with pytest.raises(DataError, match="no test split"):
        load_medmnist(medmnist, ["nosplit"], "test")
    _npz(medmnist / "big.npz", classes=2, channels=None, size=16)
    with pytest.raises(DataError, match="one size"):
        load_medmnist(medmnist, ["gray", "big"], "train")
    with pytest.raises(DataError, match="unknown split"):
        load_medmnist(medmnist, ["gray"], "dev")


def _tree(root: Path, layout: dict[str, dict[str, int]], size: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for split, classes in layout.items():
        for name, count in classes.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                mode = "L" if i % 2 else "RGB"
                shape = (size, size) if mode == "L" else (size, size, 3)
                pixels = rng.integers(0, 256, shape, dtype=np.uint8)
                Image.fromarray(pixels, mode).save(folder / f"{i}.png")
    return root


def test_radimagenet_tree_is_parsed_into_modality_anatomy_label(tmp_path: Path) -> None:
    names = {"CT__lung__nodule": 2, "MR__knee__normal": 3, "US__ovary": 1}
    root = _tree(tmp_path, {"train": names, "test": {"CT__lung__nodule": 1}})
    train = load_image_folder(root, "train")
    assert train.images.shape == (6, 8, 8, 3)  # grayscale and RGB files in one set
    assert train.labels.tolist() == [0, 0, 1, 1, 1, 2]
    assert train.source_names == ("CT__lung", "MR__knee", "US")
    assert train.classes[1].modality == "MR"
    assert train.classes[1].anatomy == "knee"
    assert train.classes[1].label == "normal"
    assert train.classes[2].anatomy == ""
    test = load_split(root, "test")
    assert test.num_classes == 3  # the train split's label space
    assert test.labels.tolist() == [0]


def test_plain_folders_and_resizing(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a", {"train": {"cat": 1}})
    _tree(tmp_path / "b", {"train": {"dog": 1}}, size=12)
    (root / "train" / "dog").mkdir()
    (tmp_path / "b" / "train" / "dog" / "0.png").rename(root / "train" / "dog" / "0.png")
    with pytest.raises(DataError, match="give a size"):
        load_image_folder(root, "train")
    both = load_image_folder(root, "train", size=10)
    assert both.images.shape == (2, 10, 10, 3)
    assert parse_class_folder("cat").source == "all"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing_split", "no val split"),
        ("empty_class", "empty class folder"),
        ("unreadable", "unreadable image"),
        ("foreign_class", "not in the label space"),
    ],
)
def test_bad_trees_are_one_line_errors(tmp_path: Path, damage: str, message: str) -> None:
    root = _tree(tmp_path, {"train": {"a": 2, "b": 2}, "val": {"a": 1}})
    split = "train"
    if damage == "missing_split":
        split = "val"
        for file in (root / "val" / "a").iterdir():
            file.unlink()
        (root / "val" / "a").rmdir()
        (root / "val").rmdir()
    elif damage == "empty_class":
        (root / "train" / "c").mkdir()
    elif damage == "unreadable":
        (root / "train" / "a" / "bad.png").write_text("not an image")
    else:
        split = "val"
        (root / "val" / "z").mkdir()
        Image.new("L", (8, 8)).save(root / "val" / "z" / "0.png")
    with pytest.raises(DataError, match=message) as error:
        load_split(root, split)
    assert "\n" not in str(error.value)


def test_detection_between_npz_and_trees(medmnist: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="choose --sets"):
        load_split(medmnist, "train")
    assert len(load_split(medmnist, "val", sets=["color"])) == 6
    tree = _tree(tmp_path / "tree", {"train": {"a": 1}})
    with pytest.raises(DataError, match="drop --sets"):
        load_split(tree, "train", sets=["a"])
    with pytest.raises(DataError, match="no data folder"):
        load_split(tmp_path / "nothing", "train")


MEDMNIST = Path(__file__).resolve().parents[3] / "../shared/data/medmnist"


@pytest.mark.skipif(not MEDMNIST.is_dir(), reason=f"MedMNIST is not at {MEDMNIST}")
def test_the_shared_medmnist_sets_pool_into_nine_classes() -> None:
    pooled = load_split(MEDMNIST, "train", sets=["breastmnist", "pneumoniamnist", "retinamnist"])
    assert pooled.num_classes == 9
    assert len(pooled) == 546 + 4708 + 1080
    assert np.bincount(pooled.sources).tolist() == [546, 4708, 1080]
    assert pooled.images.shape[1:] == (28, 28, 3)
