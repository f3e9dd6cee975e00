"""What a run uses, printed by every chapter's setup cell; and a quiet TensorFlow import.

:func:`describe` reports the profile, the device, the library versions and where the data and
weights come from; :func:`quiet_tensorflow` imports TensorFlow without its start-up log lines;
:func:`wrap` keeps a printed line within the book's 79 columns.
This module sits above :mod:`helpers.config` and :mod:`helpers.assets` (it imports both), so
neither of them imports the other's caller: the package has no import cycle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import re
import sys
import textwrap
import warnings
from importlib import metadata

from .assets import locate_dataset
from .config import PROFILE_VAR, budget, offline

#: The widest printed line the book shows without cutting it off (``tools/output_check.py``).
LINE_WIDTH = 79

_VERSIONED = ("numpy", "torch", "torchvision", "tensorflow-cpu", "keras", "shap", "captum")


_QUIET_WARNINGS = (
    # Keras 3, when shap calls a functional model with a tensor instead of a list of one.
    r"The structure of `inputs` doesn't match the expected structure",
    # shap's TensorFlow DeepExplainer, on every TensorFlow 2 release.
    r"Your TensorFlow version is newer than 2.4.0",
)


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null (C++ log lines bypass ``sys.stderr``)."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no real stderr (some embedded interpreters)
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> bool:
    """Import TensorFlow without its start-up log lines, and hide two harmless warnings.

    Call it *before* the first ``import tensorflow`` or ``import keras``. TensorFlow writes its
    CPU-feature and oneDNN notices straight to the process's standard error while it loads,
    before any log level applies, so the import itself runs with standard error sent to
    /dev/null; ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) keeps later C++ messages to
    errors, and TensorFlow's Python logger shows errors only. The hidden Python warnings are
    Keras's "structure of inputs" notice when shap calls a functional model, and shap's
    "TensorFlow newer than 2.4" notice. Running it again (a
    re-run setup cell) is harmless.

    Returns
    -------
    bool
        False, with a warning, when TensorFlow had been imported before, so the start-up
        lines were already printed.
    """
    for message in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # e.g. tf.function retracing notes
    if "tensorflow" in sys.modules:
        if getattr(sys.modules["tensorflow"], "_shap_course_quiet", False):
            return True
        warnings.warn(
            "quiet_tensorflow() ran after TensorFlow was imported; call it before "
            "'import keras' / 'import tensorflow' (restart the kernel) to hide the log lines.",
            stacklevel=2,
        )
        return False
    with _stderr_silenced():
        import tensorflow

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TensorFlow resets it on import
    tensorflow._shap_course_quiet = True
    return True


def versions() -> dict[str, str]:
    """Installed versions of Python and the course's main libraries (no imports needed)."""
    found = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def _device_line() -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a course requirement
        return "cpu (PyTorch not installed)"
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({torch.get_num_threads()} threads, no CUDA GPU visible)"


def wrap(text: str, indent: int = 2, width: int = LINE_WIDTH) -> str:
    """``text`` broken into lines of at most ``width`` characters, for printing.

    Lines break at spaces; a word too long for a line (a file path) breaks after a ``/``.
    Continuation lines start with ``indent`` spaces. Each line of a multi-line ``text`` is
    wrapped on its own. A single word longer than a line (no space, no ``/``) stays whole.

    Parameters
    ----------
    text : str
        What to print.
    indent : int
        Spaces before every line after the first of each wrapped line.
    width : int
        The widest line, in characters.

    Returns
    -------
    str
        The same words in the same order, with line breaks.
    """
    pad = " " * indent
    out = []
    for source in text.split("\n"):
        line, filled = "", False
        for index, word in enumerate(source.split(" ")):
            pieces = [word]
            if len(word) > width - indent:
                pieces = [piece for piece in re.split(r"(?<=/)", word) if piece]
            for number, piece in enumerate(pieces):
                joined = line + (" " if number == 0 and index > 0 else "") + piece
                if filled and len(joined) > width:
                    out.append(line.rstrip())
                    line = pad + piece
                else:
                    line = joined
                filled = filled or bool(piece)
        out.append(line.rstrip())
    return "\n".join(out)


def _budget_lines(label: str) -> str:
    """The active budget's fields, ``name=value`` a few to a line, under ``label``."""
    import dataclasses

    items = []
    for item in dataclasses.fields(budget()):
        value = getattr(budget(), item.name)
        if isinstance(value, dict):  # one entry per piece, so the dict breaks between entries
            entries = [f"{key!r}: {entry!r}" for key, entry in value.items()] or [""]
            entries[0], entries[-1] = "{" + entries[0], entries[-1] + "}"
            items += [f"{item.name}={entries[0]}", *entries[1:]]
        else:
            items.append(f"{item.name}={value!r}")
    pad = " " * len(label)
    lines, line = [], label
    for number, item in enumerate(items, start=1):
        piece = item + ("," if number < len(items) else "")
        if line.strip() and len(line) + 1 + len(piece) > LINE_WIDTH:
            lines.append(line.rstrip())
            line = pad
        line += ("" if line in (label, pad) else " ") + piece
    lines.append(line)
    return "\n".join(lines)


def describe(datasets: tuple[str, ...] = (), weights: dict[str, str] | None = None) -> dict:
    """Print what this run uses: profile, device, versions, and whether data/weights are real.

    Parameters
    ----------
    datasets : tuple of str
        Registry names (see :data:`helpers.registry.DATASETS`) whose source is reported, e.g.
        ``("mnist",)``. Nothing is downloaded: the report says where the files would come from.
    weights : dict, optional
        ``{"model name": "what was loaded"}`` as returned by a chapter's weight loader.

    Returns
    -------
    dict
        The same facts, for assertions.
    """
    info = {
        "profile": budget().name,
        "device": _device_line(),
        "offline": offline(),
        "versions": versions(),
        "data": {name: locate_dataset(name) for name in datasets},
        "weights": dict(weights or {}),
    }
    vers = " | ".join(f"{k} {v}" for k, v in info["versions"].items())
    print(f"Profile : {info['profile']}  (set {PROFILE_VAR}=fast|full to change)")
    print(_budget_lines("Budget  : "))
    print(wrap(f"Device  : {info['device']}", indent=10))
    print(f"Offline : {'yes, downloads disabled' if info['offline'] else 'no'}")
    print(wrap(f"Versions: {vers}", indent=10))
    for name, where in info["data"].items():
        print(wrap(f"Data    : {name}: {where}", indent=10))
    for name, what in info["weights"].items():
        print(wrap(f"Weights : {name}: {what}", indent=10))
    return info


#: Units of the measured columns the chapters print, by column name.
MEASURED_UNITS = {
    "seconds": "s",
    "seconds per background": "s",
    "seconds per image": "s",
    "peak extra memory (MiB)": "MiB",
}


def with_units(table, units: dict[str, str] | None = None, digits: int = 2):
    """A copy of ``table`` for display, its measured columns written with their unit.

    Wall time and memory differ from run to run; written as ``"1.23 s"`` or ``"512 MiB"``,
    the same pattern masks them in every chapter when ``make test`` checks that a chapter's
    printed numbers reproduce (``tools/nbval_sanitize.cfg``); each is padded to a fixed width,
    so the text layout of the table does not change with the number of digits either. The
    table itself is unchanged, so later cells compute with the numbers.

    Parameters
    ----------
    table : pandas.DataFrame
    units : dict, optional
        ``{column: unit}``; by default :data:`MEASURED_UNITS` (columns absent from ``table``
        are skipped).
    digits : int
        Decimals for seconds (memory is written in whole MiB).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    KeyError
        A column named in ``units`` is not in ``table``.
    """
    units = (
        dict(units)
        if units is not None
        else {column: unit for column, unit in MEASURED_UNITS.items() if column in table.columns}
    )
    missing = [column for column in units if column not in table.columns]
    if missing:
        raise KeyError(f"no column {missing} in the table; it has {list(table.columns)}")
    shown = table.copy()
    for column, unit in units.items():
        places = 0 if unit == "MiB" else digits
        # A fixed width, so the table's text layout (column widths) is the same in every run.
        width = 7 + (places + 1 if places else 0)
        shown[column] = [f"{value:>{width},.{places}f} {unit}" for value in table[column]]
    return shown


STRICT_CHECKS_VAR = "SHAP_COURSE_STRICT_CHECKS"


def self_check(answer: str, namespace, checks) -> bool:
    """Tell a student whether an exercise's answer passes its checks, without the solution.

    Each check is a property every right answer has (a shape, a sum, a sign), so the cell
    shows what is tested but not how to get there. In the course's own builds
    (``SHAP_COURSE_STRICT_CHECKS=1``, set by ``make test`` and ``make book``) a failed check
    raises, so the worked solution is tested against the same checks the students get.

    Parameters
    ----------
    answer : str
        The name the exercise asks the student to define.
    namespace : Mapping
        Where to look it up: ``globals()`` of the notebook.
    checks : Mapping of str to callable
        ``description -> check(value) -> bool``.

    Returns
    -------
    bool
        Whether every check passed (``False`` when ``answer`` is not defined yet).
    """
    strict = os.environ.get(STRICT_CHECKS_VAR, "") == "1"
    if answer not in namespace:
        if strict:
            raise AssertionError(f"self-check: {answer} is not defined by the solution")
        print(f"Not yet: define `{answer}` first, as the exercise asks.")
        return False
    value, failed = namespace[answer], []
    for description, check in checks.items():
        try:
            passed = bool(check(value))
        except Exception as err:  # a wrong type or shape is a failed check, not a crash
            passed, description = False, f"{description} ({type(err).__name__}: {err})"
        # wrapped to the book's code column (79 characters)
        print(
            textwrap.fill(
                ("right: " if passed else "not yet: ") + description, 79, subsequent_indent="    "
            )
        )
        if not passed:
            failed.append(description)
    if failed and strict:
        raise AssertionError(f"self-check of {answer} failed: {failed}")
    return not failed
