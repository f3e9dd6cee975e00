"""``make nbval-check`` can fail: a notebook with an unseeded draw is caught, cell named.

A small notebook is executed once (the reference, as the book build does), then nbval runs it a
second time with the course's plugin and sanitizer, exactly as the Makefile does. The seeded
cell, the cell that writes to stderr and the cell that prints a wall time pass; the cell with an
unseeded draw fails, and the report names it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]

CELLS = [
    "import sys, time\nimport numpy as np",
    "print(np.random.default_rng(0).integers(10**9))",  # seeded: the same each run
    "print('progress 50%', file=sys.stderr)",  # stderr: not compared (the book removes it)
    "start = time.perf_counter(); time.sleep(0.01)\n"
    "print(f'took {time.perf_counter() - start:.6f} s')",  # wall time: masked
    "print(np.random.default_rng().integers(10**9))",  # unseeded: must be caught
]


def _reference_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    for cell in nb.cells:  # as the book build does (_config.yml: stderr_output: remove)
        cell.outputs = [out for out in cell.outputs if out.get("name") != "stderr"]
    path = folder / "chapter.ipynb"
    nbformat.write(nb, path)
    return path


def _nbval(path: Path, course_setup: bool = True) -> str:
    """nbval's report on ``path``, with the Makefile's plugin and sanitizer (or with neither)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "tools"))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-current-env",
        "-rA",
        "--rootdir",
        str(path.parent),
        "-c",
        os.devnull,
    ]
    if course_setup:
        command += [
            "-p",
            "nbval_stderr",
            "--nbval-sanitize-with",
            str(REPO / "tools" / "nbval_sanitize.cfg"),
        ]
    # fmt: skip
    result = subprocess.run(command + [str(path)], capture_output=True, text=True, env=env,
                            timeout=300)  # fmt: skip
    return result.stdout


def _failed(report: str) -> list[str]:
    return re.findall(r"^FAILED \S*chapter\.ipynb::(Cell \d+)", report, flags=re.MULTILINE)


def test_an_unseeded_draw_fails_and_the_cell_is_named(tmp_path):
    path = _reference_notebook(tmp_path)
    report = _nbval(path)
    assert "1 failed, 4 passed" in report, report
    assert _failed(report) == ["Cell 4"] and "Cell outputs differ" in report
    # Without the plugin and the sanitizer, the stderr and the wall-time cells fail too: each
    # part of the course's set-up is needed, and masks only what it is meant to.
    assert _failed(_nbval(path, course_setup=False)) == ["Cell 2", "Cell 3", "Cell 4"]


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "tools" / "nbval_sanitize.cfg").read_text())
    assert len(patterns) == 3, patterns  # wall time, memory, addresses: nothing else
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def test_the_sanitizer_masks_measurements_with_their_padding_and_nothing_else():
    # a table pads each number to its column's width: after masking, the layout is the same
    assert _sanitize("Partition   9.87 s      13 MiB") == _sanitize(
        "Partition  10.12 s     610 MiB"
    )
    assert _sanitize("took 45 ms, 1,234.5 s") == _sanitize("took 7 ms, 0.1 s")
    assert _sanitize("freed    -3 MiB") == _sanitize("freed   512 MiB")
    assert _sanitize("<Legend at 0x7f50389ff890>") == _sanitize("<Legend at 0x7f7e05c968d0>")
    # numbers without those units are compared as they are
    for text in ("rank correlation 0.953", "3 epochs", "error 1.3e-07", "5 steps", "2 sets"):
        assert _sanitize(text) == text, text
    assert _sanitize("rho 0.95") != _sanitize("rho 0.96")
