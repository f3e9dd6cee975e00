"""The browser check itself: it must fail on a broken page and pass on a good one."""

import base64
import importlib.util
import re
import shutil
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


CDN_MATHJAX = '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
RAW_MATH = r'<span class="math">\(\phi_i\)</span> sums to <div class="math">$$v(N)$$</div>'
TYPESET = (
    '<span class="math"><mjx-container class="MathJax">φ</mjx-container></span>'
    r"<code>re.escape('\(')</code><pre>$$ in code is fine</pre>"
    '<div style="display: none">$$ hidden $$</div>'
)


def _math_site(root, chapter_math, intro_math):
    """A good chapter page and ``book/intro.html``, each with some math added."""
    _site(root, good=True)
    chapter = root / "notebooks" / "01-good.html"
    chapter.write_text(chapter.read_text().replace("<body>", f"<body>{chapter_math}"))
    (root / "book").mkdir()
    (root / "book" / "intro.html").write_text(f"<html><body><p>{intro_math}</p></body></html>")


def test_raw_tex_without_mathjax_fails_offline(tmp_path, capsys):
    _math_site(tmp_path / "raw", CDN_MATHJAX + RAW_MATH, RAW_MATH)
    assert browser_check.main([str(tmp_path / "raw"), str(tmp_path / "shots")]) == 1
    out = capsys.readouterr().out
    assert "FAIL 01-good" in out and "FAIL book/intro" in out and "0 of 2 pages" in out
    assert out.count(r"raw TeX \( \) $$ in the visible text") == 2
    assert out.count("no MathJax output (no mjx-container)") == 2
    assert "(blocked, offline: https://cdn.jsdelivr.net/npm/mathjax@3" in out
    assert (tmp_path / "shots" / "book-intro.png").stat().st_size > 0


def test_typeset_math_passes_and_code_or_hidden_text_is_not_math(tmp_path, capsys):
    _math_site(tmp_path / "typeset", TYPESET, TYPESET)
    assert browser_check.main([str(tmp_path / "typeset"), str(tmp_path / "shots")]) == 0
    assert "2 of 2 pages passed" in capsys.readouterr().out


def test_mathjax_from_sphinx_mathjax_offline_typesets_offline(tmp_path, capsys):
    package = importlib.util.find_spec("sphinx-mathjax-offline")
    assert package, "pip install -r requirements.txt (sphinx-mathjax-offline)"
    static = Path(package.submodule_search_locations[0]) / "static" / "mathjax"
    shutil.copytree(static, tmp_path / "html" / "_static" / "mathjax")
    local = '<script defer src="../_static/mathjax/tex-chtml.js"></script>'
    _math_site(tmp_path / "html", "", local + r'<span class="math">\(\phi_i\)</span>')
    assert browser_check.main([str(tmp_path / "html"), str(tmp_path / "shots")]) == 0
    assert "blocked" not in capsys.readouterr().out


def test_math_problems_counts_formulas_left_untypeset():
    facts = {"prose": "x", "formulas": 3, "typeset": 2, "untypeset": 1}
    assert browser_check.math_problems(facts) == ["1 of 3 formulas not typeset"]
    assert browser_check.math_problems({**facts, "formulas": 0, "untypeset": 0}) == []


def test_notebook_view_problems_name_myst_and_open_or_unfolded_solutions():
    good = {"text": "Exercise: A\nSolution\nShow the solution", "folded": 1, "open": 0,
            "solutions": 1}  # fmt: skip
    assert browser_check.notebook_view_problems(good) == []
    leftover = dict(good, text=":::{exercise} A\nsee {doc}`setup`")
    assert len(browser_check.notebook_view_problems(leftover)) == 2
    assert "shown open" in browser_check.notebook_view_problems(dict(good, open=1))[0]
    assert "none folded" in browser_check.notebook_view_problems(dict(good, folded=0))[0]


def test_notebooks_are_rendered_as_jupyter_shows_them_and_checked(tmp_path, capsys):
    import nbformat

    site = tmp_path / "html"
    site.mkdir()
    _site(site, good=True)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    cells = [
        nbformat.v4.new_markdown_cell("### Exercise: A\n\nDo it."),
        nbformat.v4.new_markdown_cell(
            "#### Solution\n\n<details>\n<summary>Show the solution</summary>\n\n"
            "The answer.\n\n</details>"
        ),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "good.ipynb")
    shots = tmp_path / "shots"
    assert browser_check.main([str(site), str(shots), "--notebooks", str(folder)]) == 0
    assert (shots / "notebook-good.png").stat().st_size > 0
    cells[1] = nbformat.v4.new_markdown_cell(":::{solution-start} a\n:class: dropdown\n:::")
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "bad.ipynb")
    assert browser_check.main([str(site), str(shots), "--notebooks", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL bad.ipynb" in out and "MyST markup shown as text: ':::'" in out
    assert "ok   good.ipynb" in out
    # a solution's code cell: folded when marked source_hidden, as JupyterLab shows it
    code = nbformat.v4.new_code_cell("# @title Solution\nanswer = 42")
    (folder / "bad.ipynb").unlink()
    code.metadata["jupyter"] = {"source_hidden": True}
    nbformat.write(nbformat.v4.new_notebook(cells=[*cells[:1], code]), folder / "good.ipynb")
    assert browser_check.main([str(site), str(shots), "--notebooks", str(folder)]) == 0
    del code.metadata["jupyter"]
    nbformat.write(nbformat.v4.new_notebook(cells=[*cells[:1], code]), folder / "shown.ipynb")
    assert browser_check.main([str(site), str(shots), "--notebooks", str(folder)]) == 1
    assert "solution's code is shown" in capsys.readouterr().out
