"""Find, verify and (when allowed) download the files listed in :mod:`helpers.registry`.

Lookup order for each file: the pre-loaded read-only folders, then the writable cache, then a
download (unless offline). A file whose checksum does not match is never used; a pre-loaded
folder is never written to.

Downloads go through :mod:`pooch` (``pooch.create`` with one registry entry per file): it checks
the archive's MD5, retries, downloads to a temporary name and shows a progress bar. What pooch
does not do is kept here: searching several read-only folders first, the offline switch, trying
the mirrors in turn, errors that name the dataset and the variable to set, and the unpacking.
Pooch's ``Decompress`` processor writes its output beside its input under the final name
(``pooch/processors.py``, ``Decompress.__call__``), which would write into a read-only
pre-loaded folder and leave a half-written file when unpacking fails (both shown in
``tests/test_assets.py``); so every archive, downloaded or pre-loaded, is unpacked here into the
cache under a temporary name, verified, and only then renamed into place.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pooch
import requests

from . import config
from .registry import DATASETS, Dataset, RemoteFile

_CHUNK = 1 << 20
_VERIFIED: dict[tuple[str, int, int], str] = {}


class DataNotFoundError(FileNotFoundError):
    """A dataset file is in none of the searched folders and could not be downloaded."""


class ChecksumError(ValueError):
    """A file's checksum differs from the registry's; the file was not used."""


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, expected: str, algorithm: str = "sha256", fix: str = "") -> Path:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key) == expected:
        return path
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{path} is corrupted or not the expected file: {algorithm} is {actual}, "
            f"expected {expected}. The file was not used. {fix}".rstrip()
        )
    _VERIFIED[key] = expected
    return path


def _dataset_of(remote: RemoteFile) -> Dataset:
    for dataset in DATASETS.values():
        if remote in dataset.files:
            return dataset
    return Dataset(remote.relpath, remote.relpath, "unknown", "", (remote,))


def searched_roots() -> list[tuple[Path, str]]:
    """The data roots searched, in order, each with the variable that sets it.

    The pre-loaded read-only folders (``SHAP_COURSE_PRELOADED``) first, then the writable cache
    (``SHAP_COURSE_DATA``). :mod:`helpers.weights` searches the same roots.
    """
    folders = [(d, config.PRELOADED_VAR) for d in config.preloaded_dirs()]
    return folders + [(config.data_dir(), config.DATA_VAR)]


def _unpack_gzip(archive: Path, target: Path) -> None:
    with gzip.open(archive, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, _CHUNK)


def _install(remote: RemoteFile, source: Path, fix: str) -> Path:
    """Unpack (if needed) ``source`` into the cache under a temporary name, verify, rename."""
    target = config.data_dir() / remote.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if remote.archive == "gzip":
            _unpack_gzip(source, tmp)
        else:
            shutil.copyfile(source, tmp)
        _verify(tmp, remote.sha256, fix=fix)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _find_local(remote: RemoteFile) -> Path | None:
    fix = "Delete it (or fix the folder) so the course can fetch a good copy."
    for folder, _var in searched_roots():
        candidate = folder / remote.relpath
        if candidate.is_file():
            return _verify(candidate, remote.sha256, fix=fix)
        archive = candidate.with_name(candidate.name + ".gz")
        if remote.archive == "gzip" and archive.is_file():
            _verify(archive, remote.archive_md5, "md5", fix=fix)
            return _install(remote, archive, fix)
    return None


def _missing_message(remote: RemoteFile, reason: str) -> str:
    dataset = _dataset_of(remote)
    where = "\n".join(f"  - {folder} ({var})" for folder, var in searched_roots())
    return (
        f"{dataset.title}: '{remote.relpath}' was not found in any of these folders:\n{where}\n"
        f"{reason}\nFix: set {config.PRELOADED_VAR} to a folder that contains "
        f"'{dataset.folder}/' (e.g. a pre-loaded course data folder), or allow downloads "
        f"(unset {config.OFFLINE_VAR}) so it is fetched from {remote.urls[0]}"
    )


#: How many times pooch retries one address before the next mirror is tried.
RETRIES = 2


def pooch_download(url: str, name: str, known_hash: str | None, folder: Path) -> Path:
    """Download ``url`` into ``folder``/``name`` with pooch (hash checked, temporary name).

    Parameters
    ----------
    known_hash : str or None
        ``"md5:..."`` or ``"sha256:..."`` for pooch to check, or None.

    Raises
    ------
    ChecksumError
        The download's hash differs from ``known_hash`` (pooch's message, with both sums;
        nothing is kept).
    """
    fetcher = pooch.create(
        path=folder,
        base_url="",
        registry={name: known_hash},
        urls={name: url},
        retry_if_failed=RETRIES,
        allow_updates=False,
    )
    try:
        return Path(fetcher.fetch(name, progressbar=True))
    except ValueError as err:  # pooch.utils.hash_matches: "... does not match the known hash"
        if "hash" not in str(err):
            raise
        raise ChecksumError(f"{url}: {err} The download was discarded.") from err


def _download(remote: RemoteFile) -> Path:
    errors = []
    fix = "The download was discarded; try again or use another mirror."
    cache = config.data_dir()
    cache.mkdir(parents=True, exist_ok=True)
    name = remote.relpath.rsplit("/", 1)[1] + (".gz" if remote.archive == "gzip" else "")
    known = f"md5:{remote.archive_md5}" if remote.archive_md5 else None
    for url in remote.urls:
        folder = Path(tempfile.mkdtemp(prefix=".download.", dir=cache))
        try:
            archive = pooch_download(url, name, known, folder)
            return _install(remote, archive, fix)
        except (requests.exceptions.RequestException, OSError) as err:
            errors.append(f"{url}: {err}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    raise DataNotFoundError(_missing_message(remote, "Download failed: " + "; ".join(errors)))


def fetch(remote: RemoteFile) -> Path:
    """Return a verified local path for ``remote``, downloading it only if allowed.

    Raises
    ------
    DataNotFoundError
        Offline (or the download failed) and no folder holds the file. The message names the
        dataset, every folder searched and the variable to set.
    ChecksumError
        A local or downloaded file has the wrong checksum (both sums are in the message).
    """
    found = _find_local(remote)
    if found is not None:
        return found
    if config.offline():
        reason = f"Downloads are disabled ({config.OFFLINE_VAR}=1)."
        raise DataNotFoundError(_missing_message(remote, reason))
    return _download(remote)


def fetch_dataset(name: str) -> dict[str, Path]:
    """Fetch every file of a registered dataset; returns ``{file name: path}``."""
    dataset = get_dataset(name)
    return {remote.relpath.rsplit("/", 1)[1]: fetch(remote) for remote in dataset.files}


def get_dataset(name: str) -> Dataset:
    """The registry entry called ``name`` (a clear error lists the known names)."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown dataset {name!r}; registered: {known}") from None


def locate_dataset(name: str) -> str:
    """Say where a dataset's files would come from, without downloading or verifying them."""
    dataset = get_dataset(name)
    remote = dataset.files[0]
    for folder, var in searched_roots():
        if (folder / remote.relpath).is_file() or (folder / (remote.relpath + ".gz")).is_file():
            kind = "pre-loaded folder" if var == config.PRELOADED_VAR else "cache"
            return f"real files from the {kind} {folder / dataset.folder}"
    if config.offline():
        return f"MISSING (offline; set {config.PRELOADED_VAR})"
    return f"real files, downloaded on first use from {remote.urls[0]}"
