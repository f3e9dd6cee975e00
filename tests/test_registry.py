import hashlib
import re

from helpers.registry import DATASETS


def test_every_file_has_checksums_and_urls():
    relpaths = [f.relpath for d in DATASETS.values() for f in d.files]
    assert len(relpaths) == len(set(relpaths))
    for dataset in DATASETS.values():
        assert dataset.licence and dataset.homepage.startswith("http")
        for f in dataset.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
            assert f.urls and all(u.startswith(("http://", "https://")) for u in f.urls)
            if f.archive:
                assert f.archive == "gzip" and re.fullmatch(r"[0-9a-f]{32}", f.archive_md5)
                assert all(u.endswith(f.relpath.rsplit("/", 1)[1] + ".gz") for u in f.urls)


def test_registry_matches_preloaded_checksums(preloaded_root):
    listed = {}
    for line in (preloaded_root / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        listed[path.removeprefix("./")] = digest
    for dataset in DATASETS.values():
        for f in dataset.files:
            assert listed[f.relpath] == f.sha256, f.relpath
            gz = preloaded_root / (f.relpath + ".gz")
            if f.archive and gz.exists():
                assert hashlib.md5(gz.read_bytes()).hexdigest() == f.archive_md5


def test_dataset_sizes():
    assert len(DATASETS["mnist"].files) == 4
    assert len(DATASETS["imagenet-samples"].files) == 50
    assert DATASETS["fashion-mnist"].folder == "FashionMNIST/raw"
