"""The student edition: every chapter with its exercise texts kept and its solutions removed.

A solution is whatever lies between the ``{solution-start}`` and ``{solution-end}`` markers of
`sphinx-exercise` in a chapter: the explanation and the code. Each solution becomes a short
prompt and one code cell holding :data:`STUB`. The rest is made as for the paired ``.ipynb``
(``tools/pairing.py``): plain Markdown, the Colab cell, hidden checks collapsed. Usage::

    python tools/student.py notebooks student   # reads notebooks/*.md, writes student/*.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python tools/student.py SOURCE_FOLDER TARGET_FOLDER", file=sys.stderr)
        return 2
    for path in write_student_edition(Path(args[0]), Path(args[1])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
