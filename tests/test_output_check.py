"""tools/output_check.py: a figure shown twice and a printed line wider than the page fail."""

from __future__ import annotations

import nbformat
import output_check
import pytest
from nbclient import NotebookClient

PNG = "iVBORw0KGgoAAAANSUhEUg=="


def _write(tmp_path, outputs_per_cell, name="chapter.ipynb"):
    notebook = nbformat.v4.new_notebook()
    for outputs in outputs_per_cell:
        cell = nbformat.v4.new_code_cell("pass")
        cell.outputs = outputs
        notebook.cells.append(cell)
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def _image(data=PNG):
    return nbformat.v4.new_output("display_data", data={"image/png": data, "text/plain": "<Fig>"})


def test_a_clean_notebook_passes(tmp_path, capsys):
    path = _write(
        tmp_path,
        [
            [_image("AAAA"), _image("BBBB")],  # two different figures in one cell
            [nbformat.v4.new_output("stream", name="stdout", text="x" * 79 + "\nshort\n")],
            # the book shows the HTML table, not the text version
            [
                nbformat.v4.new_output(
                    "execute_result", data={"text/html": "<table/>", "text/plain": "y" * 200}
                )
            ],
            [nbformat.v4.new_output("stream", name="stderr", text="z" * 300)],  # removed
        ],
    )
    assert output_check.problems(path) == []
    assert output_check.main([str(path)]) == 0
    assert "0 problems" in capsys.readouterr().err


def test_a_figure_twice_and_a_long_line_are_named_with_their_cell(tmp_path, capsys):
    path = _write(
        tmp_path,
        [
            [_image()],
            [_image(), _image()],
            [nbformat.v4.new_output("stream", name="stdout", text="ok\n" + "w" * 80 + "\n")],
            [nbformat.v4.new_output("execute_result", data={"text/plain": "v" * 81})],
        ],
    )
    found = output_check.problems(path)
    assert len(found) == 3
    assert found[0].startswith("chapter.ipynb, code cell 2: the same figure shown 2 times")
    assert found[1].startswith("chapter.ipynb, code cell 3: a printed line of 80 characters")
    assert found[2].startswith("chapter.ipynb, code cell 4: a printed line of 81 characters")
    assert output_check.main([str(path)]) == 1
    assert capsys.readouterr().out.count("\n") == 3


def test_a_missing_notebook_names_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        output_check.main([str(tmp_path / "absent.ipynb")])
    assert "make book" in capsys.readouterr().err


def test_the_real_mechanism_a_returned_figure_is_caught(tmp_path):
    """Under the inline backend a cell whose value is the Figure shows it twice."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([0, 1])\nfig"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\n_ = ax.plot([1, 0])"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    path = tmp_path / "executed.ipynb"
    nbformat.write(notebook, path)
    found = output_check.problems(path)
    assert len(found) == 1 and "code cell 2: the same figure shown 2 times" in found[0], found
