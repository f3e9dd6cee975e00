"""Shared fixtures: an isolated environment per test, no network, the pre-loaded data folder."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # build tooling (pairing, student) is not in helpers/
_PRELOADED_AT_START = os.environ.get("SHAP_COURSE_PRELOADED", "")
_COURSE_VARS = (
    "SHAP_COURSE_PROFILE",
    "SHAP_COURSE_OFFLINE",
    "SHAP_COURSE_DATA",
    "SHAP_COURSE_PRELOADED",
)


@pytest.fixture(autouse=True)
def isolated_course_env(monkeypatch, tmp_path):
    """Each test starts with no course variables and a private, empty cache folder."""
    for name in _COURSE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHAP_COURSE_DATA", str(tmp_path / "cache"))
    from helpers import assets

    monkeypatch.setattr(assets, "_VERIFIED", {})
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""

    def refuse(self, address, *args, **kwargs):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address, *args, **kwargs)
        raise AssertionError(f"test tried to open a network connection to {address!r}")

    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="session")
def preloaded_root() -> Path:
    """The read-only pre-loaded data folder (CI: ../shared/data beside the repository)."""
    candidates = [Path(p) for p in _PRELOADED_AT_START.split(os.pathsep) if p]
    candidates.append(REPO.parent / "shared" / "data")
    for path in candidates:
        if (path / "MNIST" / "raw").is_dir():
            return path
    pytest.fail(
        "No pre-loaded data folder found: set SHAP_COURSE_PRELOADED to the folder holding "
        "MNIST/raw, FashionMNIST/raw and imagenet-samples/ (CI uses ../shared/data)."
    )


@pytest.fixture
def use_preloaded(monkeypatch, preloaded_root):
    """Point the course at the pre-loaded folder, offline."""
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(preloaded_root))
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    return preloaded_root
