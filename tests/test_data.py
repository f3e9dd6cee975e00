import csv

import numpy as np
import pytest
import torch

from helpers import data


def test_mnist_from_preloaded(use_preloaded):
    images_nhw, labels = data.load_mnist("test")
    assert images_nhw.shape == (10_000, 28, 28) and images_nhw.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))
    train_nhw, train_labels = data.load_mnist("train")
    assert train_nhw.shape == (60_000, 28, 28) and train_labels[:5].tolist() == [5, 0, 4, 1, 9]


def test_fashion_mnist_from_preloaded(use_preloaded):
    images_nhw, labels = data.load_fashion_mnist("test")
    assert images_nhw.shape == (10_000, 28, 28)
    assert np.bincount(labels).tolist() == [1000] * 10
    assert len(data.FASHION_MNIST_CLASSES) == 10


def test_bad_split():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_mnist("validation")


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(ValueError, match="header says"):
        data.read_idx(short)


def test_subset_and_one_per_class():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1)
    labels = np.arange(100) % 10
    x, y = data.subset(images, labels, 20, seed=1)
    assert len(x) == 20 and np.array_equal(x[:, 0, 0] % 10, y)
    assert np.array_equal(data.subset(images, labels, 20, seed=1)[0], x)
    assert len(data.subset(images, labels, None, seed=1)[0]) == 100
    picks = data.one_per_class(labels, 10, seed=0)
    assert labels[picks].tolist() == list(range(10))
    with pytest.raises(ValueError, match="class 10"):
        data.one_per_class(labels, 11, seed=0)


def test_conversions():
    images_nhw = np.full((2, 28, 28), 255, dtype=np.uint8)
    x, y = data.to_torch(images_nhw, np.array([3, 4], dtype=np.uint8))
    assert tuple(x.shape) == (2, 1, 28, 28) and float(x.max()) == 1.0
    assert str(y.dtype) == "torch.int64"
    assert tuple(data.to_torch(images_nhw).shape) == (2, 1, 28, 28)
    assert data.to_keras(images_nhw).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match="uint8"):
        data.to_keras(images_nhw.astype(np.float32))
    with pytest.raises(ValueError, match="NHW layout"):
        data.to_torch(images_nhw[:, None])


def test_imagenet_samples_and_class_index(use_preloaded):
    index = data.load_imagenet_class_index()
    assert len(index) == 1000 and index[0][0] == "n01440764"
    images_nhwc, photos = data.load_imagenet_samples(size=64)
    assert images_nhwc.shape == (50, 64, 64, 3) and images_nhwc.dtype == np.uint8
    with open(use_preloaded / "imagenet-samples" / "imagenet50_index_order_with_classes.csv") as f:
        expected = {row["file"]: row for row in csv.DictReader(f)}
    in_1k = [p for p in photos if p.class_index is not None]
    assert len(in_1k) == 7
    for photo in photos:
        row = expected[photo.file]
        assert row["wnid"] == photo.wnid
        assert row["class_index"] == ("" if photo.class_index is None else str(photo.class_index))
        assert row["class_name"] == (photo.class_name or "NOT-IN-1K")


def test_to_torch_rgb_resizes_and_copies_grey():
    images_nhw = np.zeros((2, 28, 28), dtype=np.uint8)
    images_nhw[:, 7:21, 7:21] = 255
    x, y = data.to_torch_rgb(images_nhw, 64, np.array([1, 2], dtype=np.uint8))
    assert tuple(x.shape) == (2, 3, 64, 64) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert torch.equal(x[:, 0], x[:, 2]) and x[0, 0, 32, 32] == 1.0 and x[0, 0, 0, 0] == 0.0
    assert y.dtype == torch.int64
    assert tuple(data.to_torch_rgb(images_nhw, 32).shape) == (2, 3, 32, 32)


def test_imagenet_normalize():
    x = torch.ones(1, 3, 4, 4)
    out = data.imagenet_normalize(x)
    expected = (1 - np.array(data.IMAGENET_MEAN)) / np.array(data.IMAGENET_STD)
    np.testing.assert_allclose(out[0, :, 0, 0].numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="3 channels"):
        data.imagenet_normalize(torch.ones(1, 1, 4, 4))


def test_keep_classes_relabels_and_limits():
    labels = np.repeat(np.arange(5), 10)
    images = labels.astype(np.float32)[:, None] * np.ones((50, 2), dtype=np.float32)
    kept_x, kept_y = data.keep_classes(images, labels, [4, 1], per_class=3, seed=0)
    assert sorted(kept_y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert set(kept_x[kept_y == 0, 0]) == {4.0} and set(kept_x[kept_y == 1, 0]) == {1.0}
    all_x, all_y = data.keep_classes(images, labels, [2], per_class=None, seed=0)
    assert len(all_y) == 10 and (all_y == 0).all()
    with pytest.raises(ValueError, match="class 7 has no images"):
        data.keep_classes(images, labels, [7], per_class=None, seed=0)


def test_load_splits_holds_out_validation_from_the_same_subset(use_preloaded):
    splits = data.load_splits("fashion-mnist", 500, 200, seed=3)
    assert splits.train_nhw.shape == (450, 28, 28) and splits.val_nhw.shape == (50, 28, 28)
    assert splits.test_nhw.shape == (200, 28, 28) and len(splits.test_labels) == 200
    # the same subset as data.subset, the first 10 % held out
    kept, kept_labels = data.subset(*data.load_fashion_mnist("train"), 500, seed=3)
    np.testing.assert_array_equal(splits.val_nhw, kept[:50])
    np.testing.assert_array_equal(splits.train_labels, kept_labels[50:])
    assert "validation (50, 28, 28)" in str(splits)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load_splits("cifar", 10, 10, seed=0)
