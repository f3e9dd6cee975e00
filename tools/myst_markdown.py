"""MyST markdown as plain Markdown, for the notebooks Colab and Jupyter open.

Colab and Jupyter show MyST markup as raw text. :func:`plain_markdown` turns a chapter's
Markdown into plain Markdown: admonitions become block quotes, exercises headings, roles links
to the published book (:class:`Book`) or text. ``tools/pairing.py`` uses it when it writes each
chapter's ``.ipynb``; the book itself is built from the MyST source.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The page of the published book that lists every citation (a {cite} links there)
BIBLIOGRAPHY_PAGE = "book/bibliography"
SOLUTION_TITLE = "Solution"


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
