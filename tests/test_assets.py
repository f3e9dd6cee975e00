import gzip
import hashlib
import urllib.request
from pathlib import Path

import pytest

from helpers import assets
from helpers.assets import ChecksumError, DataNotFoundError, fetch
from helpers.registry import RemoteFile

CONTENT = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 2, 3])


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def server(tmp_path):
    """A 'remote' gzip archive served through a file:// URL (no network needed)."""
    folder = tmp_path / "server"
    folder.mkdir()
    archive = folder / "thing.gz"
    archive.write_bytes(gzip.compress(CONTENT))
    return archive


def _remote(archive: Path, sha=None, md5=None) -> RemoteFile:
    return RemoteFile(
        "Fake/raw/thing",
        sha or hashlib.sha256(CONTENT).hexdigest(),
        (archive.as_uri(),),
        archive="gzip",
        archive_md5=md5 or hashlib.md5(archive.read_bytes()).hexdigest(),
    )


@pytest.fixture
def no_urlopen(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("urlopen must not be called")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


def test_download_verifies_unpacks_and_renames(server, isolated_course_env):
    path = fetch(_remote(server))
    assert path == isolated_course_env / "Fake/raw/thing"
    assert path.read_bytes() == CONTENT
    assert not list(isolated_course_env.rglob("*.part"))


def test_second_fetch_uses_cache(server, monkeypatch):
    first = fetch(_remote(server))

    def refuse(*args, **kwargs):
        raise AssertionError("urlopen must not be called for a cached file")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert fetch(_remote(server)) == first


def test_bad_archive_checksum_is_rejected_with_both_sums(server, isolated_course_env):
    with pytest.raises(ChecksumError) as err:
        fetch(_remote(server, md5="0" * 32))
    message = str(err.value)
    assert "0" * 32 in message and hashlib.md5(server.read_bytes()).hexdigest() in message
    assert not isolated_course_env.exists() or not list(isolated_course_env.rglob("*thing*"))


def test_bad_content_checksum_leaves_nothing_behind(server, isolated_course_env):
    with pytest.raises(ChecksumError, match="expected " + "f" * 64):
        fetch(_remote(server, sha="f" * 64))
    assert not [p for p in isolated_course_env.rglob("*") if p.is_file()]


def test_failed_download_names_the_fix(tmp_path, isolated_course_env):
    remote = _remote(tmp_path / "missing.gz", md5="0" * 32)
    with pytest.raises(DataNotFoundError, match="Download failed") as err:
        fetch(remote)
    assert "SHAP_COURSE_PRELOADED" in str(err.value)


def test_offline_missing_names_dataset_folders_and_variable(monkeypatch, tmp_path, no_urlopen):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(tmp_path / "classroom"))
    with pytest.raises(DataNotFoundError) as err:
        assets.fetch_dataset("mnist")
    message = str(err.value)
    assert "MNIST handwritten digits" in message
    assert str(tmp_path / "classroom") in message and "SHAP_COURSE_DATA" in message
    assert "set SHAP_COURSE_PRELOADED" in message and "SHAP_COURSE_OFFLINE" in message
    assert no_urlopen == []


def test_preloaded_file_used_in_place_and_folder_untouched(use_preloaded, isolated_course_env):
    before = _snapshot(use_preloaded / "MNIST")
    paths = assets.fetch_dataset("mnist")
    assert paths["t10k-labels-idx1-ubyte"].parent == use_preloaded / "MNIST" / "raw"
    assert _snapshot(use_preloaded / "MNIST") == before
    assert not isolated_course_env.exists()


def test_preloaded_gzip_is_unpacked_into_cache_not_preloaded(
    server, tmp_path, monkeypatch, isolated_course_env
):
    classroom = tmp_path / "classroom" / "Fake" / "raw"
    classroom.mkdir(parents=True)
    (classroom / "thing.gz").write_bytes(server.read_bytes())
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(tmp_path / "classroom"))
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    before = _snapshot(tmp_path / "classroom")
    path = fetch(_remote(server))
    assert path == isolated_course_env / "Fake/raw/thing" and path.read_bytes() == CONTENT
    assert _snapshot(tmp_path / "classroom") == before


def test_corrupted_preloaded_file_is_never_used(server, tmp_path, monkeypatch):
    classroom = tmp_path / "classroom" / "Fake" / "raw"
    classroom.mkdir(parents=True)
    (classroom / "thing").write_bytes(CONTENT[:-1] + b"\xff")
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(tmp_path / "classroom"))
    before = _snapshot(tmp_path / "classroom")
    with pytest.raises(ChecksumError) as err:
        fetch(_remote(server))
    actual = hashlib.sha256(CONTENT[:-1] + b"\xff").hexdigest()
    assert actual in str(err.value) and hashlib.sha256(CONTENT).hexdigest() in str(err.value)
    assert "was not used" in str(err.value)
    assert _snapshot(tmp_path / "classroom") == before


def test_locate_dataset(use_preloaded, monkeypatch, tmp_path):
    assert "pre-loaded folder" in assets.locate_dataset("fashion-mnist")
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(tmp_path / "empty"))
    assert assets.locate_dataset("mnist").startswith("MISSING")
    monkeypatch.delenv("SHAP_COURSE_OFFLINE")
    assert "downloaded on first use" in assets.locate_dataset("mnist")
    cached = tmp_path / "cache" / "MNIST" / "raw" / "train-images-idx3-ubyte"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert "cache" in assets.locate_dataset("mnist")


def test_unknown_dataset_lists_known_names():
    with pytest.raises(KeyError, match="fashion-mnist"):
        assets.get_dataset("cifar")
