import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import student

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("*.md"))
SOLUTION = re.compile(r":::\{solution-start\}.*?:::\{solution-end\}", re.DOTALL)


def _tiny():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            code("x = 1"),
            md(
                ":::{exercise} First\n:label: ex-a\n\nDo the first thing.\n:::\n\n"
                ":::{solution-start} ex-a\n:class: dropdown\n:::\n\nThe secret explanation."
            ),
            code("secret_answer = 42"),
            code("print(secret_answer)"),
            md(
                ":::{solution-end}\n:::\n\n:::{exercise} Second\n:label: ex-b\n\nAnd this.\n:::\n\n"
                ":::{solution-start} ex-b\n:::\n\nSecond secret."
            ),
            code("other_secret = 7"),
            md(":::{solution-end}\n:::\n\n## References"),
        ]
    )


def test_solutions_become_one_stub_each_and_exercises_stay():
    edition = student.student_notebook(_tiny())
    text = "\n".join(cell.source for cell in edition.cells)
    assert "Do the first thing." in text and "And this." in text and "## References" in text
    for secret in (
        "secret explanation",
        "secret_answer",
        "Second secret",
        "other_secret",
        "solution-start",
        "solution-end",
    ):
        assert secret not in text
    stubs = [c for c in edition.cells if c.cell_type == "code" and c.source == student.STUB]
    assert len(stubs) == 2
    assert edition.cells[0].source == "x = 1"
    assert len({cell.id for cell in edition.cells}) == len(edition.cells)
    nbformat.validate(edition)


def test_unclosed_solution_is_an_error():
    notebook = _tiny()
    notebook.cells = notebook.cells[:3]
    with pytest.raises(ValueError, match="no matching"):
        student.student_notebook(notebook)


def test_main_usage_and_writes(tmp_path, capsys):
    assert student.main([]) == 2
    source = tmp_path / "src"
    source.mkdir()
    (source / "01-tiny.md").write_text(
        "# Tiny\n\n:::{exercise} E\n:label: e\n\nTry.\n:::\n\n:::{solution-start} e\n:::\n\n"
        "```{code-cell} ipython3\nhidden = 1\n```\n\n:::{solution-end}\n:::\n"
    )
    assert student.main([str(source), str(tmp_path / "out")]) == 0
    written = tmp_path / "out" / "01-tiny.ipynb"
    assert "wrote" in capsys.readouterr().out and written.is_file()
    assert "hidden" not in written.read_text() and not list((tmp_path / "out").glob("*.part"))
    markdown = [
        c.source for c in nbformat.read(written, as_version=4).cells if c.cell_type == "markdown"
    ]
    assert markdown == ["# Tiny\n\n### Exercise: E\n\nTry.", student.PROMPT]  # plain Markdown


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_text_leaks_into_the_student_edition(chapter, tmp_path):
    source = chapter.read_text()
    edition = student.write_student_edition(chapter.parent, tmp_path)
    text = (tmp_path / f"{chapter.stem}.ipynb").read_text()
    assert len(edition) == len(CHAPTERS)
    solutions = SOLUTION.findall(source)
    assert solutions and len(solutions) == source.count(":::{exercise}")
    lines = {line.strip() for block in solutions for line in block.splitlines()}
    outside = SOLUTION.sub("", source)  # lines also used outside solutions are no leak
    telling = [
        line
        for line in lines
        if len(line) > 25 and not line.startswith((":::", "```")) and line not in outside
    ]
    assert telling
    leaked = [line for line in telling if line in text]
    assert not leaked, leaked
    assert text.count(student.STUB.strip()) == len(solutions)
    assert ":::{" not in text and "{solution-" not in text  # plain Markdown, as the pair


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_the_executed_source_up_to_the_first_exercise(chapter, tmp_path):
    """Up to its first exercise the student edition is cell for cell the paired notebook, whose
    MyST source the `-W` build of `make test` executes (the pair check keeps the two identical),
    so it runs wherever that one runs; executing it again would test nothing more."""
    student.write_student_edition(chapter.parent, tmp_path)
    edition = nbformat.read(tmp_path / f"{chapter.stem}.ipynb", as_version=4)
    executed = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    first = next(i for i, c in enumerate(edition.cells) if "### Exercise: " in c.source)
    assert sum(c.cell_type == "code" for c in edition.cells[:first]) >= 5
    assert [(c.cell_type, c.source) for c in edition.cells[:first]] == [
        (c.cell_type, c.source) for c in executed.cells[:first]
    ]


def test_the_instructors_colab_links_are_the_generated_ones():
    page = NOTEBOOKS.parent / "book" / "instructors.md"
    text = page.read_text()
    block = text[text.index(student.LINKS_START) + len(student.LINKS_START) + 1 :]
    assert block[: block.index(student.LINKS_END)] == student.colab_links(), (
        "run: python tools/student.py --colab-links book/instructors.md"
    )
    table = student.colab_links()
    assert table.count("/blob/student/notebooks/") == len(list(NOTEBOOKS.glob("*.md")))
    assert "colab.research.google.com/github/shap-course/explaining-image-classifiers" in table


def test_colab_links_are_written_between_the_markers_and_refused_without_them(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"intro\n\n{student.LINKS_START}\nold table\n{student.LINKS_END}\n\nafter\n")
    assert student.write_colab_links(page) is True
    text = page.read_text()
    assert "old table" not in text and text.startswith("intro") and text.endswith("after\n")
    assert student.colab_links() in text
    assert student.write_colab_links(page) is False  # nothing to change
    page.write_text("no markers here\n")
    with pytest.raises(ValueError, match="colab-links: start"):
        student.write_colab_links(page)
    assert page.read_text() == "no markers here\n"


def test_self_checks_stay_in_the_student_edition_and_name_what_the_exercise_asks():
    found = 0
    for chapter in CHAPTERS:
        notebook = student.student_notebook(jupytext.read(chapter))
        markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        for cell in notebook.cells:
            match = re.search(r'report\.self_check\(\s*"(\w+)"', cell.source)
            if cell.cell_type != "code" or match is None:
                continue
            found += 1
            # the exercise text names the variable the check reads
            assert f"`{match.group(1)}`" in markdown, (chapter.name, match.group(1))
    assert found >= 10  # every exercise with a key number has one
