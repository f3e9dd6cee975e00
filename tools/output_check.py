"""Check the executed chapters as the book shows them: every figure once, every line on the page.

Usage::

    python tools/output_check.py _build/jupyter_execute/notebooks/*.ipynb

Two faults the build itself does not catch:

- **A figure shown twice.** Matplotlib's inline backend shows every open figure at the end of
  a cell; a cell whose last line is a Figure (a plot helper's return value) shows it a second
  time. Any cell output carrying the same image twice fails.
- **A printed line wider than the page.** The book shows about 79 characters of a line (the
  chapters' code keeps to that column, ``notebooks/ruff.toml``); a longer printed line is cut
  off or scrolls. Checked: printed text (stdout) and plain-text results that the book shows as
  text (no HTML or image version beside them). Error tracebacks and stderr are not shown.

Exit status 1 with one line per fault (notebook, cell number, what) when any is found.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import nbformat

MAX_WIDTH = 79
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def _texts_shown(output) -> list[str]:
    """The plain text the book shows for one output (empty when it shows HTML or an image)."""
    if output.get("output_type") == "stream":
        return [output.get("text", "")] if output.get("name") == "stdout" else []
    data = output.get("data", {})
    if "text/plain" in data and not any(key in data for key in ("text/html", *IMAGE_TYPES)):
        return [data["text/plain"]]
    return []


def problems(path: Path, max_width: int = MAX_WIDTH) -> list[str]:
    """Every duplicated image and every over-wide printed line of one executed notebook.

    Parameters
    ----------
    path : Path
        An executed ``.ipynb``.
    max_width : int
        The widest printed line allowed, in characters.

    Returns
    -------
    list of str
        One line per fault, naming the notebook and the code cell (counted from 1).
    """
    notebook = nbformat.read(path, as_version=4)
    found = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        where = f"{path.name}, code cell {number}"
        seen: dict[str, int] = {}
        for output in cell.get("outputs", []):
            for kind in IMAGE_TYPES:
                image = output.get("data", {}).get(kind)
                if image is None:
                    continue
                text = image if isinstance(image, str) else "".join(image)
                digest = hashlib.sha256(text.encode()).hexdigest()
                seen[digest] = seen.get(digest, 0) + 1
            for text in _texts_shown(output):
                for line in text.splitlines():
                    if len(line) > max_width:
                        found.append(
                            f"{where}: a printed line of {len(line)} characters (at most "
                            f"{max_width}): {line[:60]}..."
                        )
        repeated = sum(count - 1 for count in seen.values() if count > 1)
        if repeated:
            found.append(
                f"{where}: the same figure shown {repeated + 1} times (end the cell with "
                "plt.close(fig) or without the Figure as its value)"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="executed .ipynb files")
    parser.add_argument("--max-width", type=int, default=MAX_WIDTH)
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        parser.error(f"no executed notebook at {', '.join(missing)}: run `make book` first")
    found = [line for path in args.notebooks for line in problems(path, args.max_width)]
    for line in found:
        print(line)
    print(
        f"{len(args.notebooks)} executed notebooks checked: {len(found)} problems",
        file=sys.stderr,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
