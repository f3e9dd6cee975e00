import gzip
import hashlib
import random
from pathlib import Path

import pooch
import pytest

from helpers import assets
from helpers.assets import ChecksumError, DataNotFoundError, fetch
from helpers.registry import RemoteFile

CONTENT = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 2, 3])


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


class _Archive(type(Path())):
    """The served archive's path, with the address it is served at."""

    url: str


@pytest.fixture
def server(tmp_path, loopback_server, monkeypatch):
    """A 'remote' gzip archive served over HTTP on 127.0.0.1 (no network needed)."""
    monkeypatch.setattr(assets, "RETRIES", 0)
    archive = _Archive(loopback_server.folder / "thing.gz")
    archive.write_bytes(gzip.compress(CONTENT))
    archive.url = loopback_server.url + "/thing.gz"
    archive.requests_seen = loopback_server.requests_seen
    return archive


def _remote(archive: Path, sha=None, md5=None) -> RemoteFile:
    return RemoteFile(
        "Fake/raw/thing",
        sha or hashlib.sha256(CONTENT).hexdigest(),
        (getattr(archive, "url", archive.as_uri()),),
        archive="gzip",
        archive_md5=md5 or hashlib.md5(archive.read_bytes()).hexdigest(),
    )


@pytest.fixture
def no_download(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("nothing must be downloaded")

    monkeypatch.setattr(assets, "pooch_download", refuse)
    return calls


def test_download_verifies_unpacks_and_renames(server, isolated_course_env):
    path = fetch(_remote(server))
    assert path == isolated_course_env / "Fake/raw/thing"
    assert path.read_bytes() == CONTENT
    assert not list(isolated_course_env.rglob("*.part"))


def test_second_fetch_uses_cache(server, monkeypatch):
    first = fetch(_remote(server))
    assert server.requests_seen == ["/thing.gz"]
    assert fetch(_remote(server)) == first
    assert server.requests_seen == ["/thing.gz"]


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


def test_failed_download_names_the_fix(server, isolated_course_env):
    missing = RemoteFile("Fake/raw/thing", "0" * 64, (server.url + "-missing",), "gzip", "0" * 32)
    remote = missing
    with pytest.raises(DataNotFoundError, match="Download failed") as err:
        fetch(remote)
    assert "SHAP_COURSE_PRELOADED" in str(err.value)


def test_offline_missing_names_dataset_folders_and_variable(monkeypatch, tmp_path, no_download):
    monkeypatch.setenv("SHAP_COURSE_OFFLINE", "1")
    monkeypatch.setenv("SHAP_COURSE_PRELOADED", str(tmp_path / "classroom"))
    with pytest.raises(DataNotFoundError) as err:
        assets.fetch_dataset("mnist")
    message = str(err.value)
    assert "MNIST handwritten digits" in message
    assert str(tmp_path / "classroom") in message and "SHAP_COURSE_DATA" in message
    assert "set SHAP_COURSE_PRELOADED" in message and "SHAP_COURSE_OFFLINE" in message
    assert no_download == []


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


def test_a_mirror_is_tried_when_the_first_address_fails(server, isolated_course_env):
    good = _remote(server)
    remote = RemoteFile(
        good.relpath, good.sha256, (server.url + "-gone", server.url), "gzip", good.archive_md5
    )
    assert fetch(remote).read_bytes() == CONTENT
    assert server.requests_seen == ["/thing.gz-gone", "/thing.gz"]


def test_pooch_retries_a_failed_address(server, monkeypatch, isolated_course_env):
    monkeypatch.setattr(assets, "RETRIES", 1)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    remote = RemoteFile("Fake/raw/thing", "0" * 64, (server.url + "-gone",), "gzip", "0" * 32)
    with pytest.raises(DataNotFoundError, match="404"):
        fetch(remote)
    assert server.requests_seen == ["/thing.gz-gone"] * 2


def test_pooch_decompress_would_write_beside_a_preloaded_archive(server, tmp_path):
    """Why the course unpacks archives itself (see the module docstring of helpers.assets)."""
    classroom = tmp_path / "classroom"
    classroom.mkdir()
    (classroom / "thing.gz").write_bytes(server.read_bytes())
    pooch.Decompress(method="gzip", name="thing")(str(classroom / "thing.gz"), "fetch", None)
    assert (classroom / "thing").read_bytes() == CONTENT  # written into the read-only folder


def test_pooch_decompress_leaves_a_half_file_where_the_course_leaves_none(tmp_path, monkeypatch):
    payload = random.Random(0).randbytes(1 << 20)  # incompressible, so the cut is mid-stream
    truncated = gzip.compress(payload)[: 1 << 19]
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "thing.gz").write_bytes(truncated)
    with pytest.raises(EOFError):
        pooch.Decompress(method="gzip", name="thing")(str(folder / "thing.gz"), "fetch", None)
    half = (folder / "thing").stat().st_size
    assert 0 < half < len(payload)  # a half-written file under the final name
    remote = RemoteFile("Fake/raw/thing", "0" * 64, ("http://unused",), "gzip", "0" * 32)
    with pytest.raises(EOFError):
        assets._install(remote, folder / "thing.gz", fix="")
    cache = assets.config.data_dir()
    assert not [p for p in cache.rglob("*") if p.is_file()]
