"""tools/benchmark.py: wall time and the kernel's peak memory per chapter, in a table."""

from __future__ import annotations

import benchmark
import nbformat
import pytest


def _chapter(tmp_path, name, source):
    path = tmp_path / name
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(notebook, path)
    return path


def test_the_peak_is_the_kernels_and_the_profile_reaches_it(tmp_path):
    path = _chapter(
        tmp_path,
        "alloc.ipynb",
        "import os\nimport numpy as np\n"
        "assert os.environ['SHAP_COURSE_PROFILE'] == 'full'\n"
        "block = np.ones(400 * 2**20 // 8)\nprint(block.sum())",
    )
    row = benchmark.measure_chapter(path, "full", save_to=tmp_path / "out" / "alloc.ipynb")
    assert row.ok and row.seconds > 0
    # the parent process is far smaller: 400 MiB can only come from the kernel
    assert row.peak_bytes >= 400 * 2**20
    executed = nbformat.read(tmp_path / "out" / "alloc.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].startswith("52428800.0")


def test_a_failing_chapter_is_reported_and_the_table_still_written(tmp_path, capsys):
    good = _chapter(tmp_path, "good.ipynb", "print(1)")
    bad = _chapter(tmp_path, "bad.ipynb", "raise ValueError('broken chapter')")
    table = tmp_path / "table.md"
    assert benchmark.main([str(good), str(bad), "--output", str(table)]) == 1
    text = table.read_text()
    assert "| good |" in text and "| ok |" in text
    assert "| bad |" in text and "**failed**" in text
    assert "Profile `fast`" in text and "cores" in text
    assert not list(tmp_path.glob("*.partial"))


def test_a_missing_chapter_names_the_expected_path(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark.main([str(tmp_path / "nope.md")])
    assert "notebooks/01-" in capsys.readouterr().err


def test_chapters_come_from_the_table_of_contents_in_order():
    chapters = benchmark.chapters_in_toc()
    names = [path.name for path in chapters]
    assert names[0] == "quickstart.md"
    assert names[1:] == sorted(names[1:]) and len(names) == 8
    assert all(path.is_file() for path in chapters)


def test_step_seconds_adds_each_sections_cells(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell("import time"),
        nbformat.v4.new_markdown_cell("## Step 1: slow\n\ntext"),
        nbformat.v4.new_code_cell("time.sleep(0.6)"),
        nbformat.v4.new_code_cell("time.sleep(0.3)"),
        nbformat.v4.new_markdown_cell("## Summary"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell(":::{exercise} Try it\n:label: ex-try\n\nDo it.\n:::"),
        nbformat.v4.new_code_cell("time.sleep(0.2)"),
    ]
    path = tmp_path / "steps.ipynb"
    nbformat.write(notebook, path)
    assert benchmark.measure_chapter(path, "fast", save_to=tmp_path / "out.ipynb").ok
    steps = benchmark.step_seconds(tmp_path / "out.ipynb")
    names = [name for name, _ in steps]
    assert names == ["(before the first step)", "Step 1: slow", "Summary", "Exercise: Try it"]
    assert 0.85 <= steps[1][1] <= 2.0 and steps[2][1] < 0.15 and 0.15 <= steps[3][1] < 1.0
