import builtins
import logging
import os
import sys
import types
import warnings

import pytest

from helpers import report


def test_the_helpers_import_graph_has_no_cycle():
    """Every relative import in helpers/, at module level or inside a function, points down."""
    import ast
    from pathlib import Path

    root = Path(report.__file__).parent
    graph = {}
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                targets |= {node.module} if node.module else {a.name for a in node.names}
        graph[path.stem] = targets - {"__init__"}
    assert {"report", "config", "assets"} <= set(graph) and "assets" in graph["report"]
    state = {}

    def visit(module, trail):
        assert state.get(module) != "open", f"import cycle: {' -> '.join([*trail, module])}"
        if state.get(module) is None:
            state[module] = "open"
            for target in graph.get(module, ()):
                visit(target, [*trail, module])
            state[module] = "done"

    for module in graph:
        visit(module, [])


def test_versions_lists_libraries():
    v = report.versions()
    assert v["torch"].startswith("2.13.0")
    assert v["shap"] == "0.51.0"
    assert set(v) >= {"python", "numpy", "keras", "tensorflow-cpu"}


def test_describe_reports_profile_data_and_weights(use_preloaded, capsys, monkeypatch):
    monkeypatch.setenv("SHAP_COURSE_PROFILE", "fast")
    info = report.describe(datasets=("mnist",), weights={"VGG19": "untrained (offline)"})
    out = capsys.readouterr().out
    assert info["profile"] == "fast" and "Profile : fast" in out
    assert "Budget  : name='fast'," in out  # every budget number of the run, printed
    printed = " ".join(out.split())
    for name, value in vars(report.budget()).items():
        if isinstance(value, dict):
            assert all(f"{k!r}: {v!r}" in printed for k, v in value.items()), name
        else:
            assert f"{name}={value!r}" in printed, name
    assert max(len(line) for line in out.splitlines()) <= report.LINE_WIDTH
    assert "pre-loaded folder" in info["data"]["mnist"]
    assert "VGG19: untrained (offline)" in out
    assert "Offline : yes" in out and "cpu" in info["device"]


def test_wrap_breaks_at_spaces_and_inside_long_paths():
    path = "/a/very/long/folder/name/that/does/not/fit/on/one/line/of/the/page/file.pth"
    text = report.wrap(f"Weights : model: file {path} (sha256 verified)", indent=10, width=40)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 40 and all(line.startswith(" " * 10) for line in lines[1:])
    assert " ".join(line.strip() for line in lines).replace("/ ", "/") == (
        f"Weights : model: file {path} (sha256 verified)"
    )
    assert report.wrap("short  ->  line") == "short  ->  line"
    assert report.wrap("one\ntwo words", width=5) == "one\ntwo\n  words"


def test_quiet_tensorflow_hides_startup_lines_and_two_warnings(monkeypatch, capfd):
    fake = types.ModuleType("tensorflow")
    imported = []

    def fake_import(name, *args, **kwargs):
        if name == "tensorflow":
            os.write(2, b"I0000 oneDNN custom operations are on\n")
            imported.append(name)
            return fake
        return real_import(name, *args, **kwargs)

    real_import = builtins.__import__
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert report.quiet_tensorflow() is True
        for message in (
            "The structure of `inputs` doesn't match the expected structure.",
            "Your TensorFlow version is newer than 2.4.0 and so ...",
            "another warning",
        ):
            warnings.warn(message, UserWarning, stacklevel=1)
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert imported == ["tensorflow"] and fake._shap_course_quiet
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert logging.getLogger("tensorflow").level == logging.ERROR
    assert [str(w.message) for w in caught] == ["another warning"]
    assert "oneDNN" not in capfd.readouterr().err
    os.write(2, b"stderr works again\n")
    assert "stderr works again" in capfd.readouterr().err


def test_quiet_tensorflow_keeps_user_level(monkeypatch):
    quiet = types.ModuleType("tensorflow")
    quiet._shap_course_quiet = True
    monkeypatch.setitem(sys.modules, "tensorflow", quiet)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert report.quiet_tensorflow() is True  # a re-run: silent
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_quiet_tensorflow_too_late_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    with pytest.warns(UserWarning, match="before 'import keras'"):
        assert report.quiet_tensorflow() is False


def test_with_units_writes_measured_columns_with_their_unit_and_keeps_the_table():
    import pandas as pd

    table = pd.DataFrame(
        {"size": [10, 50], "seconds": [0.1234, 12.5], "peak extra memory (MiB)": [1234.4, 8.0]}
    )
    shown = report.with_units(table)
    assert [s.strip() for s in shown["seconds"]] == ["0.12 s", "12.50 s"]
    assert [s.strip() for s in shown["peak extra memory (MiB)"]] == ["1,234 MiB", "8 MiB"]
    # the same width whatever the number of digits, so the printed table keeps its layout
    assert len({len(s) for s in shown["seconds"]}) == 1
    faster = report.with_units(table.assign(seconds=[0.1, 9.9]))
    assert str(faster).splitlines()[0] == str(shown).splitlines()[0]
    assert list(shown["size"]) == [10, 50] and table["seconds"].dtype == float
    one_digit = report.with_units(table, {"seconds": "s"}, digits=1)["seconds"]
    assert [s.strip() for s in one_digit] == ["0.1 s", "12.5 s"]
    with pytest.raises(KeyError, match="no column"):
        report.with_units(table, {"time": "s"})


def test_self_check_says_what_is_missing_right_and_wrong(monkeypatch, capsys):
    monkeypatch.delenv(report.STRICT_CHECKS_VAR, raising=False)
    checks = {"three numbers": lambda v: len(v) == 3, "all positive": lambda v: min(v) > 0}
    assert report.self_check("answer", {}, checks) is False
    assert "define `answer` first" in capsys.readouterr().out
    assert report.self_check("answer", {"answer": [1, 2, 3]}, checks) is True
    assert capsys.readouterr().out == "right: three numbers\nright: all positive\n"
    assert report.self_check("answer", {"answer": [1, -2, 3]}, checks) is False
    assert "not yet: all positive" in capsys.readouterr().out
    assert report.self_check("answer", {"answer": 5}, checks) is False  # len(5) raises
    assert "not yet: three numbers (TypeError" in capsys.readouterr().out


def test_self_check_raises_in_the_course_builds(monkeypatch):
    monkeypatch.setenv(report.STRICT_CHECKS_VAR, "1")
    checks = {"positive": lambda v: v > 0}
    assert report.self_check("answer", {"answer": 1}, checks) is True
    with pytest.raises(AssertionError, match="self-check of answer failed"):
        report.self_check("answer", {"answer": -1}, checks)
    with pytest.raises(AssertionError, match="not defined by the solution"):
        report.self_check("answer", {}, checks)


def test_self_check_lines_fit_the_book_column(monkeypatch, capsys):
    monkeypatch.delenv(report.STRICT_CHECKS_VAR, raising=False)
    long = "every seed's error at the largest size is below every seed's at the smallest one"
    assert report.self_check("answer", {"answer": 1}, {long: lambda v: True}) is True
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and max(len(line) for line in lines) <= 79
    assert " ".join(line.strip() for line in lines) == f"right: {long}"
