"""The student edition: every chapter with its exercise texts kept and its solutions removed.

A solution is whatever lies between the ``{solution-start}`` and ``{solution-end}`` markers of
`sphinx-exercise` in a chapter: the explanation and the code. Each solution becomes a short
prompt and one code cell holding :data:`STUB`. The rest is made as for the paired ``.ipynb``
(``tools/pairing.py``): plain Markdown, the Colab cell, hidden checks collapsed. Usage::

    python tools/student.py notebooks student   # reads notebooks/*.md, writes student/*.ipynb
    python tools/student.py --colab-links book/instructors.md   # rewrites its table of links

The Pages workflow (``.github/workflows/book.yml``) publishes the edition on the
:data:`BRANCH` branch of the repository named in ``_config.yml``, under ``notebooks/``, where
Colab opens it; :func:`colab_links` writes the instructors' table of those links.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

BRANCH = "student"
LINKS_START = "% colab-links: start (written by python tools/student.py --colab-links)"
LINKS_END = "% colab-links: end"
REPO = Path(__file__).resolve().parents[1]
STUB = "# Your code here\n"
PROMPT = "**Your solution.** Write it in the cell below; the book has one worked solution."
_START = re.compile(r":::\{solution-start\}[^\n]*\n(?::[^\n]*\n)*:::[^\n]*(?:\n|$)")
_END = re.compile(r":::\{solution-end\}[^\n]*\n(?::[^\n]*\n)*:::[^\n]*(?:\n|$)")


def _split_markdown(text: str, in_solution: bool) -> tuple[str, bool, bool]:
    """Keep the parts of one markdown cell outside solutions.

    Returns the kept text, whether the cell ends inside a solution, and whether a solution
    started in it.
    """
    kept, started, position = [], False, 0
    while position <= len(text):
        marker = (_END if in_solution else _START).search(text, position)
        if marker is None:
            if not in_solution:
                kept.append(text[position:])
            break
        if not in_solution:
            kept.append(text[position : marker.start()])
            started = True
        in_solution = not in_solution
        position = marker.end()
    return "".join(kept).strip("\n"), in_solution, started


def student_notebook(notebook):
    """Return a copy of ``notebook`` (nbformat, a chapter's MyST cells) with every solution
    replaced by a stub.

    Raises
    ------
    ValueError
        If a solution is opened and never closed.
    """
    import nbformat

    cells, in_solution = [], False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text, in_solution, started = _split_markdown(cell.source, in_solution)
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
            if started:
                cells.append(nbformat.v4.new_markdown_cell(PROMPT))
                cells.append(nbformat.v4.new_code_cell(STUB))
        elif not in_solution:
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata))
    if in_solution:
        raise ValueError("a {solution-start} has no matching {solution-end}.")
    student = nbformat.v4.new_notebook(cells=cells, metadata=notebook.metadata)
    for number, cell in enumerate(student.cells):
        cell.id = f"student-{number:03d}"
    return student


def write_student_edition(source: Path, target: Path) -> list[Path]:
    """Write ``target/<chapter>.ipynb`` for every ``source/*.md`` chapter; return the paths."""
    import nbformat
    from pairing import Book, for_colab, read_chapter  # as the notebook Colab opens

    target.mkdir(parents=True, exist_ok=True)
    written, book = [], Book.load()
    for md_path in sorted(Path(source).glob("*.md")):
        student = student_notebook(read_chapter(md_path))  # the solution markers are MyST
        student = for_colab(student, md_path, book, id_prefix="student")
        out = target / f"{md_path.stem}.ipynb"
        tmp = out.with_suffix(".ipynb.part")
        tmp.write_text(nbformat.writes(student), encoding="utf-8")
        tmp.replace(out)  # never a half-written notebook
        written.append(out)
    return written


def colab_links(repo: Path = REPO) -> str:
    """A Markdown table: each chapter, in the book's order, and its student notebook in Colab.

    The repository comes from ``_config.yml`` (``repository.url``), the order and titles from
    ``_toc.yml`` and the chapters' headings.
    """
    from benchmark import chapters_in_toc
    from pairing import Book, repository_url

    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?", repository_url(repo))
    if match is None:
        raise ValueError("repository.url in _config.yml is not https://github.com/<owner>/<repo>")
    book = Book.load(repo)
    rows = ["| chapter | student edition in Colab |", "|---|---|"]
    for path in chapters_in_toc(repo / "_toc.yml"):
        page = f"notebooks/{path.stem}"
        link = (
            f"https://colab.research.google.com/github/{match.group(1)}/blob/{BRANCH}/{page}.ipynb"
        )
        rows.append(f"| {book.title(page)} | [open {path.stem}.ipynb]({link}) |")
    return "\n".join(rows) + "\n"


def write_colab_links(page: Path, repo: Path = REPO) -> bool:
    """Replace the table between :data:`LINKS_START` and :data:`LINKS_END` in ``page``.

    Returns whether the page changed. Raises ``ValueError`` naming the markers when the page
    lacks them.
    """
    text = page.read_text(encoding="utf-8")
    start, end = text.find(LINKS_START), text.find(LINKS_END)
    if start < 0 or end < start:
        raise ValueError(f"{page} has no '{LINKS_START}' ... '{LINKS_END}' block to fill")
    head = text[: start + len(LINKS_START)]
    new = f"{head}\n{colab_links(repo)}{text[end:]}"
    if new == text:
        return False
    partial = page.with_name(page.name + ".partial")
    partial.write_text(new, encoding="utf-8")
    partial.replace(page)
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--colab-links":
        changed = write_colab_links(Path(args[1]))
        print(f"{args[1]}: {'links written' if changed else 'links already up to date'}")
        return 0
    if len(args) != 2:
        print(
            "usage: python tools/student.py SOURCE_FOLDER TARGET_FOLDER\n"
            "       python tools/student.py --colab-links PAGE.md",
            file=sys.stderr,
        )
        return 2
    for path in write_student_edition(Path(args[0]), Path(args[1])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
