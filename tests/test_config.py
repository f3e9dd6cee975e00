import dataclasses
import os
import random
import sys
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


def test_start_seeds_and_returns_the_active_budget(monkeypatch):
    import torch

    monkeypatch.setenv("SHAP_COURSE_PROFILE", "fast")
    budget = config.start(5, frameworks=("torch",))
    first = (np.random.rand(), torch.rand(1).item())  # noqa: NPY002 (the seeded global one)
    assert budget is config.PROFILES["fast"]
    config.start(5, frameworks=("torch",))
    assert (np.random.rand(), torch.rand(1).item()) == first  # noqa: NPY002


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


@pytest.mark.parametrize(
    ("form", "in_colab", "has_gpu", "env", "expected"),
    [
        ("auto", True, False, {}, "fast"),
        ("auto", True, True, {}, "full"),
        ("fast", True, True, {}, "fast"),  # picked in the form: the GPU does not overrule it
        ("full", True, False, {}, "full"),
        (" Full ", True, False, {}, "full"),
        ("auto", True, True, {"SHAP_COURSE_PROFILE": "fast"}, "full"),  # in Colab, the form
        ("full", False, True, {}, "full"),  # outside Colab: the variable, default full
        ("full", False, False, {"SHAP_COURSE_PROFILE": "fast"}, "fast"),
        ("auto", False, True, {"SHAP_COURSE_PROFILE": "fast"}, "fast"),
    ],
)
def test_choose_profile(form, in_colab, has_gpu, env, expected):
    profile, reason = config.choose_profile(form, in_colab, has_gpu, env)
    assert profile == expected
    assert reason.startswith(f"profile {expected}: ") and "\n" not in reason
    assert ("GPU" in reason) == (in_colab and form.strip() == "auto")
    assert ("SHAP_COURSE_PROFILE" in reason) == (not in_colab)


def test_choose_profile_rejects_unknown_form_values_and_reads_os_environ(monkeypatch):
    with pytest.raises(ValueError, match="auto, fast, full"):
        config.choose_profile("quick", True, False, {})
    with pytest.raises(ValueError, match="SHAP_COURSE_PROFILE"):
        config.choose_profile("auto", False, False, {"SHAP_COURSE_PROFILE": "quick"})
    monkeypatch.setenv("SHAP_COURSE_PROFILE", "fast")
    assert config.choose_profile("full", False, False)[0] == "fast"
    assert config.active_profile({}) == "full"


def test_memory_limits_are_the_promised_ones():
    # The goal: a free Colab runtime (about 12 GB) runs `full`, an 8 GB laptop `fast`.
    assert config.budget("fast").peak_memory_gib == 4.0
    assert config.budget("full").peak_memory_gib == 10.0
    for profile in ("fast", "full"):
        assert 1 <= config.budget(profile).gradient_batch <= config.budget(profile).photo_nsamples
