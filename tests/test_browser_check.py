"""The browser check itself: it must fail on a broken page and pass on a good one."""

import base64
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("browser_check", REPO / "tools/browser_check.py")
browser_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser_check)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)


def test_expected_urls_come_from_config_alone(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text(
        "repository:\n  url: https://github.com/someone/course/\n  branch: dev\n"
        "launch_buttons:\n  colab_url: https://colab.research.google.com\n"
        "  binderhub_url: https://mybinder.org\n"
    )
    urls = browser_check.expected_launch_urls("01-x", config)
    assert urls["colab"] == (
        "https://colab.research.google.com/github/someone/course/blob/dev/notebooks/01-x.ipynb"
    )
    assert urls["binder"] == (
        "https://mybinder.org/v2/gh/someone/course/dev?urlpath=tree/notebooks/01-x.ipynb"
    )
    real = browser_check.expected_launch_urls("01-mnist-pytorch-deepexplainer")
    assert "/blob/main/notebooks/01-mnist-pytorch-deepexplainer.ipynb" in real["colab"]


def _site(root, good):
    (root / "notebooks").mkdir(parents=True)
    (root / "ok.png").write_bytes(PNG)
    urls = browser_check.expected_launch_urls("01-good")
    body = (
        f'<img src="../ok.png"><a href="{urls["colab"]}">Colab</a>'
        f'<a href="{urls["binder"]}">Binder</a>'
        if good
        else '<img src="../missing.png"><pre>Traceback (most recent call last):</pre>'
    )
    name = "01-good" if good else "02-bad"
    (root / "notebooks" / f"{name}.html").write_text(f"<html><body>{body}</body></html>")


def test_check_fails_a_broken_page_and_passes_a_good_one(tmp_path, capsys):
    site = tmp_path / "html"
    site.mkdir()
    _site(site, good=True)
    assert browser_check.main([str(site), str(tmp_path / "shots")]) == 0
    assert (tmp_path / "shots" / "01-good.png").stat().st_size > 0
    _site(tmp_path / "bad", good=False)
    assert browser_check.main([str(tmp_path / "bad"), str(tmp_path / "shots")]) == 1
    out = capsys.readouterr().out
    assert "image did not load: ../missing.png" in out and "Traceback" in out
    assert "no colab button" in out and "no binder button" in out
    assert browser_check.main([str(tmp_path / "empty")]) == 1


def _executable(folder, name):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n")
    (folder / name).chmod(0o755)
    return str(folder / name)


def test_browser_is_looked_up_on_path_then_playwrights_own(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    chrome = _executable(bin_dir, "google-chrome")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert browser_check.system_browser() == chrome
    assert browser_check.pick_browser(str(tmp_path / "no-bundled")) == chrome
    chromium = _executable(bin_dir, "chromium")
    assert browser_check.system_browser(str(bin_dir)) == chromium, "chromium comes first"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert browser_check.system_browser() is None
    bundled = tmp_path / "chrome"
    bundled.write_text("")
    assert browser_check.pick_browser(str(bundled)) is None, "None: Playwright's own"
    hint = re.escape(browser_check.INSTALL_HINT)
    with pytest.raises(browser_check.BrowserMissing, match=hint):
        browser_check.pick_browser(str(tmp_path / "no-bundled"))


def test_a_missing_browser_is_an_error_naming_the_fix(tmp_path, monkeypatch, capsys):
    site = tmp_path / "html"
    site.mkdir()
    _site(site, good=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    assert browser_check.main([str(site), str(tmp_path / "shots")]) == 1
    assert browser_check.main(["--which-browser"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"Run `{browser_check.INSTALL_HINT}`") == 2
