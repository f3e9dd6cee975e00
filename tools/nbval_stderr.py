"""A pytest plugin for ``make nbval-check``: nbval compares no standard-error output.

The book is built with ``stderr_output: remove`` (``_config.yml``), so the executed notebooks
that nbval compares against hold no stderr at all, while a second run writes progress bars and
library warnings there. nbval (0.11) has no option to skip one stream: it compares every output
key except those in ``skip_compare`` (``nbval/plugin.py``, ``IPyNbCell.compare_outputs``), and a
stderr stream becomes its own key. This plugin drops stderr streams from both sides before that
comparison; stdout, results and displayed text are compared as before.

Load it with ``-p nbval_stderr`` and ``tools`` on ``PYTHONPATH`` (the Makefile does both).
"""

from __future__ import annotations

from nbval import plugin as _nbval


def _without_stderr(outputs):
    return [
        output
        for output in outputs
        if not (output.get("output_type") == "stream" and output.get("name") == "stderr")
    ]


_compare = _nbval.IPyNbCell.compare_outputs


def compare_outputs(self, test, ref, skip_compare=None):
    """``IPyNbCell.compare_outputs`` on the outputs without their stderr streams."""
    return _compare(self, _without_stderr(test), _without_stderr(ref), skip_compare)


_nbval.IPyNbCell.compare_outputs = compare_outputs
