"""The course's datasets as NumPy arrays, plus conversions for PyTorch and Keras.

Images come back as ``uint8`` arrays in a layout named by the variable that holds them:
``images_nhw`` for the grey MNIST digits, ``images_nhwc`` for colour photos.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .assets import fetch, fetch_dataset, get_dataset
from .layouts import check_images

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> np.ndarray:
    """Read an (uncompressed) IDX file of unsigned bytes: images ``(N, H, W)`` or labels ``(N,)``.

    Raises
    ------
    ValueError
        If the header is not that of an IDX ``uint8`` file or the size does not match it.
    """
    raw = Path(path).read_bytes()
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) if dims else 0
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header says {dims} ({expected} bytes), file has {len(raw)}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy()


def _load_idx_dataset(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    paths = fetch_dataset(name)
    prefix = _SPLIT_PREFIX[split]
    images_nhw = read_idx(paths[f"{prefix}-images-idx3-ubyte"])
    labels = read_idx(paths[f"{prefix}-labels-idx1-ubyte"])
    return images_nhw, labels


def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits.

    Returns
    -------
    images_nhw : ndarray of uint8, shape (N, 28, 28)
    labels : ndarray of uint8, shape (N,)
        60,000 images for ``split="train"``, 10,000 for ``"test"``.
    """
    return _load_idx_dataset("mnist", split)


def load_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST, same shapes as :func:`load_mnist`; names in :data:`FASHION_MNIST_CLASSES`."""
    return _load_idx_dataset("fashion-mnist", split)


def subset(
    images: np.ndarray, labels: np.ndarray, n: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of ``n`` examples (all of them, shuffled, when ``n`` is None)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    if n is not None:
        order = order[:n]
    return images[order], labels[order]


@dataclass(frozen=True)
class Splits:
    """Training, validation and test images ``(N, 28, 28)`` uint8 with their labels ``(N,)``."""

    train_nhw: np.ndarray
    train_labels: np.ndarray
    val_nhw: np.ndarray
    val_labels: np.ndarray
    test_nhw: np.ndarray
    test_labels: np.ndarray

    def __str__(self) -> str:
        return (
            f"train {self.train_nhw.shape}, validation {self.val_nhw.shape},\n"
            f"test {self.test_nhw.shape}, dtype {self.train_nhw.dtype}"
        )


def load_splits(
    name: str, train_samples: int | None, test_samples: int | None, seed: int,
    val_fraction: float = 0.1,
) -> Splits:  # fmt: skip
    """MNIST or Fashion-MNIST as random subsets, with a validation part held out of training.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    train_samples, test_samples : int or None
        How many of each split to keep (None: all, shuffled); a budget's fields.
    seed : int
        Seed of both subsets.
    val_fraction : float
        Share of the kept training images held out for validation: the first
        ``int(len * val_fraction)`` of the shuffled subset.
    """
    loaders = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(loaders)}.")
    train_nhw, train_labels = subset(*loaders[name]("train"), train_samples, seed=seed)
    test_nhw, test_labels = subset(*loaders[name]("test"), test_samples, seed=seed)
    n_val = int(len(train_labels) * val_fraction)
    return Splits(train_nhw[n_val:], train_labels[n_val:], train_nhw[:n_val],
                  train_labels[:n_val], test_nhw, test_labels)  # fmt: skip


def one_per_class(labels: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Indexes of one randomly chosen example of each class ``0..n_classes-1``, in class order."""
    rng = np.random.default_rng(seed)
    picks = []
    for k in range(n_classes):
        members = np.flatnonzero(labels == k)
        if members.size == 0:
            raise ValueError(f"class {k} has no example in these labels.")
        picks.append(rng.choice(members))
    return np.array(picks)


def to_torch(images_nhw: np.ndarray, labels: np.ndarray | None = None):
    """uint8 ``(N, H, W)`` images to float ``(N, 1, H, W)`` in [0, 1] (and int64 labels)."""
    import torch

    check_images(images_nhw, "NHW", dtype=np.uint8)
    x_nchw = torch.from_numpy(images_nhw.astype(np.float32) / 255.0).unsqueeze(1)
    if labels is None:
        return x_nchw
    return x_nchw, torch.from_numpy(labels.astype(np.int64))


def to_torch_rgb(images_nhw: np.ndarray, size: int, labels: np.ndarray | None = None):
    """uint8 grey ``(N, H, W)`` images to float ``(N, 3, size, size)`` in [0, 1] for RGB models.

    The grey channel is copied to red, green and blue, and the images are resized bilinearly
    (what a network built for colour photos, such as ResNet18, expects).
    """
    import torch
    from torch.nn import functional as F

    x_nchw = to_torch(images_nhw)
    x_nchw = F.interpolate(x_nchw, size=(size, size), mode="bilinear", align_corners=False)
    x_nchw = x_nchw.clamp(0.0, 1.0).expand(-1, 3, -1, -1).contiguous()
    if labels is None:
        return x_nchw
    return x_nchw, torch.from_numpy(labels.astype(np.int64))


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(x_nchw):
    """Normalise RGB tensors in [0, 1] ``(N, 3, H, W)`` as torchvision's ImageNet models expect."""
    import torch

    check_images(x_nchw, "NCHW")
    if x_nchw.shape[1] != 3:
        raise ValueError(
            f"imagenet_normalize needs 3 channels (N, 3, H, W), got {tuple(x_nchw.shape)}"
        )
    mean = torch.tensor(IMAGENET_MEAN, dtype=x_nchw.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x_nchw.dtype).view(1, 3, 1, 1)
    return (x_nchw - mean) / std


def keep_classes(images, labels: np.ndarray, classes, per_class: int | None, seed: int):
    """Keep only some classes, relabelled 0..K-1 in the given order, at most ``per_class`` each.

    Parameters
    ----------
    images : ndarray, shape (N, ...)
    labels : ndarray of int, shape (N,)
    classes : sequence of int
        Original labels to keep; the i-th becomes label i.
    per_class : int or None
        Images kept per class (random, reproducible); None keeps all.
    seed : int

    Returns
    -------
    images : ndarray, shape (M, ...)
    labels : ndarray of int64, shape (M,)
        Shuffled together, so the classes are mixed.
    """
    rng = np.random.default_rng(seed)
    picks, new_labels = [], []
    for new, old in enumerate(classes):
        members = np.flatnonzero(labels == old)
        if len(members) == 0:
            raise ValueError(f"class {old} has no images among labels {sorted(set(labels))}")
        if per_class is not None and per_class < len(members):
            members = rng.choice(members, per_class, replace=False)
        picks.append(members)
        new_labels.append(np.full(len(members), new, dtype=np.int64))
    order = rng.permutation(sum(len(p) for p in picks))
    return images[np.concatenate(picks)][order], np.concatenate(new_labels)[order]


def to_keras(images_nhw: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W)`` images to float32 ``(N, H, W, 1)`` in [0, 1], the Keras layout."""
    check_images(images_nhw, "NHW", dtype=np.uint8)
    return (images_nhw.astype(np.float32) / 255.0)[..., None]


@dataclass(frozen=True)
class Photo:
    """One sample photo: file name, WordNet id and, if it is an ImageNet-1k class, its index."""

    file: str
    wnid: str
    class_index: int | None
    class_name: str | None


def load_imagenet_class_index() -> dict[int, tuple[str, str]]:
    """The 1000 ImageNet-1k classes as ``{index: (wnid, name)}``."""
    path = fetch(get_dataset("imagenet-class-index").files[0])
    raw = json.loads(Path(path).read_text())
    return {int(k): (v[0], v[1]) for k, v in raw.items()}


def _resize_center(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = size / min(img.size)
        w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
        img = img.resize((w, h), Image.Resampling.BICUBIC)
        left, top = (w - size) // 2, (h - size) // 2
        return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def load_imagenet_samples(size: int = 224) -> tuple[np.ndarray, list[Photo]]:
    """The 50 ImageNet-like photos, resized (shorter side) and centre-cropped to ``size``.

    Returns
    -------
    images_nhwc : ndarray of uint8, shape (50, size, size, 3)
    photos : list of Photo
        In the same order; ``class_index`` is None for the photos whose WordNet id is not one of
        the 1000 ImageNet-1k classes.
    """
    by_wnid = {wnid: (idx, name) for idx, (wnid, name) in load_imagenet_class_index().items()}
    images, photos = [], []
    for remote in get_dataset("imagenet-samples").files:
        path = fetch(remote)
        wnid = path.stem.split("_")[1]
        idx, name = by_wnid.get(wnid, (None, None))
        photos.append(Photo(path.name, wnid, idx, name))
        images.append(_resize_center(path, size))
    return np.stack(images), photos
