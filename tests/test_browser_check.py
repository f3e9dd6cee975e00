"""The browser check itself: it must fail on a broken page and pass on a good one."""

import base64
import importlib.util
from pathlib import Path

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
    assert Path(browser_check.CHROMIUM).exists(), "install Debian's chromium: make browser-deps"
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
