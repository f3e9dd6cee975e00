"""The book's configuration and every chapter's skeleton (house style), checked statically."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
CHAPTERS = sorted((REPO / "notebooks").glob("*.md"))


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["file"]] if "file" in node else []
        return found + [f for value in node.values() for f in _toc_files(value)]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


def test_config_fails_on_notebook_errors_and_excludes_pairs():
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert "notebooks/*.ipynb" in CONFIG["exclude_patterns"]
    assert CONFIG["execute"]["execute_notebooks"] == "cache"  # authors rebuild what changed
    cache = CONFIG["execute"]["cache"]
    makefile = (REPO / "Makefile").read_text()
    book_check = makefile[makefile.index("book-check: $(STAMP)") :].split("\n\n")[0]
    assert f"rm -rf {cache}" in book_check  # make test executes every chapter
    assert CONFIG["execute"]["timeout"] > 0
    assert CONFIG["launch_buttons"]["colab_url"] and CONFIG["launch_buttons"]["binderhub_url"]


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"], *_toc_files(toc["parts"])]
    assert all((REPO / f"{f}.md").exists() for f in files), files
    assert {f"notebooks/{c.stem}" for c in CHAPTERS} <= set(files)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_skeleton(chapter):
    text = chapter.read_text()
    assert re.fullmatch(r"(\d\d-[a-z0-9]+(-[a-z0-9]+)*|quickstart)\.md", chapter.name)
    for needed in ("**Goals.**", "**Prerequisites.**", "**Time.**", "report.describe(",
                   "## Summary", "## Exercises", "## References", ":tags: [remove-cell]",
                   ":::{exercise}", ":class: dropdown"):  # fmt: skip
        assert needed in text, f"{chapter.name} lacks {needed!r}"
    assert "if budget.name" not in text and '== "fast"' not in text, "use the budget's numbers"
    assert "[budget.name]" not in text and '{"fast":' not in text, "use the budget's numbers"
    assert "plt.show()" not in text
    code = "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S))
    # nbval runs cells with store_history=False, where IPython ignores a trailing ";": the
    # value it hides in the book would appear in the second run (CONTRIBUTING.md)
    assert not re.search(r";\s*(#.*)?$", code, flags=re.M), "end the cell with a statement"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_colab_install_cell_is_generated_into_the_notebook_only(chapter):
    """Written once (tools/pairing.py): in every .ipynb Colab opens, in no .md source."""
    assert "google.colab" not in chapter.read_text()
    text = chapter.with_suffix(".ipynb").read_text()
    urls = set(re.findall(r"git\+(https://[^\"'\\]+)", text))
    assert urls == {CONFIG["repository"]["url"]}, urls
    assert 'if \\"google.colab\\" in sys.modules' in text
    pins = (REPO / "requirements.txt").read_text()
    for name in ("shap", "captum"):
        version = re.search(rf"^{name}==(\S+)", pins, re.MULTILINE).group(1)
        assert f"{name}=={version}" in text


def test_reference_pages_bibliography_and_exec_table_are_wired():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    bib = REPO / config["bibtex_bibfiles"][0]
    assert bib.is_file()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib.read_text()))
    cited = set()
    for page in [*REPO.glob("book/*.md"), *CHAPTERS]:
        cited |= set(re.findall(r"\{cite[pt]?\}`([^`]+)`", page.read_text()))
    assert cited and cited <= keys, cited - keys
    assert "{bibliography}" in (REPO / "book/bibliography.md").read_text()
    assert "{nb-exec-table}" in (REPO / "book/execution-times.md").read_text()
    assert "{glossary}" in (REPO / "book/glossary.md").read_text()
    toc = (REPO / "_toc.yml").read_text()
    for page in ("glossary", "known-issues", "bibliography", "execution-times", "instructors"):
        assert f"book/{page}" in toc


def test_known_issues_page_shows_tests_that_exist():
    """Every reproduction on the pitfalls page is a test function of the suite (by name)."""
    text = (REPO / "book/known-issues.md").read_text()
    shown = re.findall(r"\{literalinclude\} \.\./(tests/\S+)\n:pyobject: (\w+)", text)
    assert len(shown) >= 9
    for path, function in shown:
        assert f"def {function}(" in (REPO / path).read_text(), (path, function)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_ends_in_a_hidden_assert(chapter):
    """House rule: an exercise's solution checks its key result in a `remove-cell` cell."""
    solutions = re.findall(r":::\{solution-start\}(.*?):::\{solution-end\}", chapter.read_text(),
                           re.DOTALL)  # fmt: skip
    assert solutions
    for number, solution in enumerate(solutions, start=1):
        hidden = solution.split(":tags: [remove-cell]")
        assert len(hidden) > 1 and "assert " in hidden[-1], f"{chapter.name}, solution {number}"


def test_binder_environment_is_cpu_only_and_runs_the_fast_profile(tmp_path):
    """mybinder.org: the course's own pins, PyTorch from the CPU index, the fast profile, and a
    launch page that says which chapters fit in its memory."""
    requirements = (REPO / ".binder/requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert "-r ../requirements.txt" in requirements  # one list of pins, not two
    assert (REPO / ".binder" / "../requirements.txt").resolve() == REPO / "requirements.txt"
    start = (REPO / ".binder/start").read_text()
    assert 'SHAP_COURSE_PROFILE="${SHAP_COURSE_PROFILE:-fast}"' in start and 'exec "$@"' in start
    assert "pip install --no-deps -e ." in (REPO / ".binder/postBuild").read_text()
    setup = (REPO / "book/setup.md").read_text()
    assert "## On mybinder.org" in setup
    for chapter in CHAPTERS:  # every chapter is listed as fitting or not
        name = "Quick start" if chapter.stem == "quickstart" else f"{int(chapter.stem[:2])}\\."
        assert re.search(rf"\| {name} .*\| (fits|does not fit)", setup), chapter.stem
