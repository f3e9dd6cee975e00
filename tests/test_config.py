import builtins
import dataclasses
import logging
import os
import random
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import config


def test_default_profile_is_full():
    assert config.active_profile() == "full"
    assert config.budget().name == "full"


def test_profile_switch(monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_PROFILE", "fast")
    b = config.budget()
    assert b.name == "fast"
    assert b.epochs < config.budget("full").epochs
    assert b.train_samples < 60_000


def test_budget_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.budget("fast").epochs = 100


def test_budget_as_dict_and_sizes_ascending():
    for name in config.PROFILES:
        d = config.budget(name).as_dict()
        assert d["name"] == name
        assert list(d["background_sizes"]) == sorted(d["background_sizes"])


@pytest.mark.parametrize("bad", ["quick", "FULLL"])
def test_bad_profile_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv("SHAP_COURSE_PROFILE", bad)
    with pytest.raises(ValueError, match="SHAP_COURSE_PROFILE"):
        config.budget()
    with pytest.raises(ValueError, match="fast, full"):
        config.budget(bad)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_offline(monkeypatch, value, expected):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", value)
    assert config.offline() is expected


def test_data_dir_default_uses_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SHAP_COURSE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "shap-course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert config.data_dir() == Path.home() / ".cache" / "shap-course"


def test_preloaded_dirs_split(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("SHAP_COURSE_PRELOADED", f"{tmp_path}/a{os.pathsep}{os.pathsep}{tmp_path}/b")
    assert config.preloaded_dirs() == [tmp_path / "a", tmp_path / "b"]


def test_seed_everything_repeats_random_streams():
    import torch

    config.seed_everything(3, frameworks=("torch",))

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002

    config.seed_everything(3, frameworks=("torch",))
    first = draw()
    config.seed_everything(3, frameworks=("torch",))
    assert draw() == first


def test_seed_everything_defaults_to_imported_frameworks(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    config.seed_everything(0)  # must not import TensorFlow
    assert "tensorflow" not in sys.modules
    with pytest.raises(ValueError, match="cannot seed"):
        config.seed_everything(0, frameworks=("jax",))


def test_device_is_cpu_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device().type == "cuda"


def test_versions_lists_libraries():
    v = config.versions()
    assert v["torch"].startswith("2.13.0")
    assert v["shap"] == "0.51.0"
    assert set(v) >= {"python", "numpy", "keras", "tensorflow-cpu"}


def test_describe_reports_profile_data_and_weights(use_preloaded, capsys, monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_PROFILE", "fast")
    info = config.describe(datasets=("mnist",), weights={"VGG19": "untrained (offline)"})
    out = capsys.readouterr().out
    assert info["profile"] == "fast" and "Profile : fast" in out
    assert "pre-loaded folder" in info["data"]["mnist"]
    assert "VGG19: untrained (offline)" in out
    assert "Offline : yes" in out and "cpu" in info["device"]


def test_quiet_tensorflow_hides_startup_lines_and_two_warnings(monkeypatch, capfd):
    fake = types.ModuleType("tensorflow")
    imported = []

    def fake_import(name, *args, **kwargs):
        if name == "tensorflow":
            os.write(2, b"I0000 oneDNN custom operations are on\n")
            imported.append(name)
            return fake
        return real_import(name, *args, **kwargs)

    real_import = builtins.__import__
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert config.quiet_tensorflow() is True
        for message in (
            "The structure of `inputs` doesn't match the expected structure.",
            "Your TensorFlow version is newer than 2.4.0 and so ...",
            "another warning",
        ):
            warnings.warn(message, UserWarning, stacklevel=1)
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert imported == ["tensorflow"] and fake._shap_course_quiet
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert logging.getLogger("tensorflow").level == logging.ERROR
    assert [str(w.message) for w in caught] == ["another warning"]
    assert "oneDNN" not in capfd.readouterr().err
    os.write(2, b"stderr works again\n")
    assert "stderr works again" in capfd.readouterr().err


def test_quiet_tensorflow_keeps_user_level(monkeypatch):
    quiet = types.ModuleType("tensorflow")
    quiet._shap_course_quiet = True
    monkeypatch.setitem(sys.modules, "tensorflow", quiet)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config.quiet_tensorflow() is True  # a re-run: silent
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_quiet_tensorflow_too_late_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    with pytest.warns(UserWarning, match="before 'import keras'"):
        assert config.quiet_tensorflow() is False
