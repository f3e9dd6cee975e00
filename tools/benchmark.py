"""Time each chapter in a profile and measure its peak memory: the instructors' table, re-made.

Usage (from the repository root, in the course's environment)::

    python tools/benchmark.py                       # every chapter in _toc.yml, fast profile
    python tools/benchmark.py --profile full --output _build/benchmark-full.md
    python tools/benchmark.py notebooks/03-vgg19-gradientexplainer-layers.md

Each chapter (its MyST source, read with jupytext) executes in a fresh Python process with a
fresh kernel, one chapter at a time, in the ``notebooks/`` folder, as the book build runs it.
Wall time is the whole execution, kernel start included. Peak memory is the largest resident set
size of that process and every process it started and waited for (the kernel), read from
``os.wait4``: what the machine had to have free. Run it with nothing else on the machine; the
table says which machine it ran on.

This is a benchmark, not a test: it fails only when a chapter raises.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES = ("fast", "full")


@dataclass(frozen=True)
class Row:
    """One chapter's measurement."""

    chapter: str
    seconds: float
    peak_bytes: int
    ok: bool


def chapters_in_toc(toc: Path = REPO / "_toc.yml") -> list[Path]:
    """The chapters of the book, in reading order: every ``notebooks/...`` file of ``_toc.yml``."""
    import yaml

    paths: list[Path] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                value = node.get(key)
                if isinstance(value, str) and value.startswith("notebooks/"):
                    paths.append(toc.parent / f"{value.removesuffix('.md')}.md")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return paths


def execute(path: Path, save_to: Path | None = None, timeout: int = 1800) -> None:
    """Execute one chapter in a new kernel, in its own folder (the child's job).

    With ``save_to``, the executed notebook is written there (for ``tools/output_check.py``).
    """
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    if save_to is not None:
        import nbformat

        save_to.parent.mkdir(parents=True, exist_ok=True)
        partial = save_to.with_name(save_to.name + ".partial")
        nbformat.write(notebook, partial)
        partial.replace(save_to)


def measure_chapter(
    path: Path, profile: str, env: dict[str, str] | None = None, save_to: Path | None = None
) -> Row:
    """Run ``execute(path)`` in a child process; return its wall time and peak memory.

    Parameters
    ----------
    path : Path
        A chapter's MyST source (``.md``) or a notebook (``.ipynb``).
    profile : {"fast", "full"}
    env : dict, optional
        The environment of the child (default: this process's).
    save_to : Path, optional
        Where to write the executed notebook.

    Returns
    -------
    Row
        ``peak_bytes`` is ``ru_maxrss`` of the child, which on Linux includes the processes it
        waited for (the kernel).
    """
    child_env = dict(os.environ if env is None else env)
    child_env["SHAP_COURSE_PROFILE"] = profile
    command = [sys.executable, str(Path(__file__).resolve()), "--execute-one", str(path)]
    if save_to is not None:
        command += ["--save-to", str(save_to.resolve())]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=child_env, cwd=str(path.parent))
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return Row(path.stem, seconds, peak, process.returncode == 0)


def step_seconds(executed: Path) -> list[tuple[str, float]]:
    """Computing time per section of an executed notebook: each ``##`` heading and its cells.

    Parameters
    ----------
    executed : Path
        A notebook executed by nbclient (it records each cell's start and end).

    Returns
    -------
    list of (str, float)
        The heading (``"(before the first step)"`` for cells above the first one; an
        exercise as ``"Exercise: <title>"``) and the seconds its code cells took, in reading
        order. For a lab plan: what a step or an exercise's solution costs.
    """
    from datetime import datetime

    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    sections: list[tuple[str, float]] = [("(before the first step)", 0.0)]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    sections.append((line[3:].strip(), 0.0))
                elif line.startswith(":::{exercise}"):  # each exercise is timed on its own
                    sections.append((f"Exercise: {line[13:].strip()}", 0.0))
            continue
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            spent = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            heading, seconds = sections[-1]
            sections[-1] = (heading, seconds + spent)
    return sections


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def format_table(rows: list[Row], profile: str) -> str:
    """Markdown table of the rows, with a line naming the machine and the profile."""
    cores = os.cpu_count()
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover - psutil is a course requirement
        memory = "unknown memory"
    lines = [
        f"Profile `{profile}` on {platform.machine()}, {cores} cores, {memory}.",
        "",
        "| chapter | wall time | peak memory | result |",
        "|---|---|---|---|",
    ]
    for row in rows:
        wall = _duration(row.seconds)
        result = "ok" if row.ok else "**failed**"
        lines.append(f"| {row.chapter} | {wall} | {row.peak_bytes / 2**30:.1f} GiB | {result} |")
    total = sum(row.seconds for row in rows)
    peak = max(row.peak_bytes for row in rows) / 2**30
    lines.append(f"| all, one after the other | {_duration(total)} | {peak:.1f} GiB | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="default: every chapter in _toc.yml")
    parser.add_argument("--profile", choices=PROFILES, default="fast")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--executed-dir", type=Path, help="also keep each executed notebook (.ipynb) here"
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="also print the computing time of each chapter's steps (needs --executed-dir)",
    )
    parser.add_argument("--execute-one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--save-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        execute(args.execute_one.resolve(), args.save_to)
        return 0
    if args.steps and not args.executed_dir:
        parser.error("--steps reads the executed notebooks: give --executed-dir DIR too")
    chapters = [path.resolve() for path in args.chapters] or chapters_in_toc()
    missing = [str(path) for path in chapters if not path.is_file()]
    if missing:
        parser.error(f"no such chapter: {', '.join(missing)} (give paths like notebooks/01-....md)")
    rows = []
    for path in chapters:
        print(f"executing {path.name} ({args.profile}) ...", file=sys.stderr, flush=True)
        save_to = args.executed_dir / f"{path.stem}.ipynb" if args.executed_dir else None
        rows.append(measure_chapter(path, args.profile, save_to=save_to))
        print(f"  {rows[-1].seconds:.0f} s, {rows[-1].peak_bytes / 2**30:.2f} GiB", file=sys.stderr)
    table = format_table(rows, args.profile)
    if args.steps:
        for path, row in zip(chapters, rows, strict=True):
            executed = args.executed_dir / f"{path.stem}.ipynb"
            if row.ok and executed.is_file():
                table += f"\n{row.chapter}:\n\n| step | computing |\n|---|---|\n"
                table += "".join(
                    f"| {heading} | {_duration(seconds)} |\n"
                    for heading, seconds in step_seconds(executed)
                )
    print(table, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        partial = args.output.with_name(args.output.name + ".partial")
        partial.write_text(table, encoding="utf-8")
        partial.replace(args.output)  # never a half-written table
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
