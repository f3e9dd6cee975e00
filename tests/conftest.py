"""Shared fixtures: an isolated environment per test, no network, the pre-loaded data folder."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import sys
import threading
import types
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

_REAL_CONNECT = socket.socket.connect
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


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.server.requests_seen.append(self.path)
        super().do_GET()


@pytest.fixture
def loopback_server(tmp_path, monkeypatch, no_network):
    """An HTTP server on 127.0.0.1 serving a temporary folder (downloads tested offline).

    Connections to 127.0.0.1 are allowed; every other address stays refused. Yields an object
    with ``folder`` (what is served), ``url`` (its address) and ``requests_seen`` (paths asked).
    """
    refused = socket.socket.connect

    def connect(self, address, *args, **kwargs):
        if isinstance(address, tuple) and address[0] == "127.0.0.1":
            return _REAL_CONNECT(self, address, *args, **kwargs)
        return refused(self, address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_LoggingHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests_seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield types.SimpleNamespace(
        folder=folder,
        url=f"http://127.0.0.1:{httpd.server_address[1]}",
        requests_seen=httpd.requests_seen,
    )
    httpd.shutdown()
    httpd.server_close()
