"""Shared pieces of the notebook tools: constants, the planned chapters, findings, file helpers."""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from perflab.errors import PerflabError

NAV_MARKER = "<!-- nav -->"
CONTENTS_MARKER = "<!-- contents -->"
IGNORE_OUTPUT_TAG = "nbval-ignore-output"
CHECK_OUTPUT_TAG = "nbval-check-output"
RAISES_TAG = "raises-exception"
KERNEL_NAME = "python3"
DEFAULT_TIMEOUT = 300
MAX_NOTEBOOK_BYTES = 1_500_000

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "scrolled")
VOLATILE_NOTEBOOK_METADATA = ("vscode", "interpreter")

CHAPTER_FILE = re.compile(r"^(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)\.ipynb$")
H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
NUMBER_PREFIX = re.compile(r"^\d+\s*[·.:\-–—]\s*")
OBJECTIVES = re.compile(
    r"^\s*(?:#{1,6}\s*|\*\*|__)?\s*(?:learning\s+)?objectives\b", re.IGNORECASE | re.MULTILINE
)
MINUTES = re.compile(r"\b\d+\s*(?:[-–]\s*\d+\s*)?min(?:ute)?s?\b", re.IGNORECASE)
KEY_POINTS = re.compile(r"^#{1,6}\s*key\s+points\b", re.IGNORECASE | re.MULTILINE)
EXERCISE_CHECK = re.compile(r"\bexercises\.\w+\s*\(|\bcheck(?:_\w+)?\s*\(")
NBVAL_COMMENT = re.compile(r"#\s*(?:NBVAL_|PYTEST_VALIDATE_IGNORE_OUTPUT)")
MACHINE_PATH = re.compile(
    r"(?<![\w.\-])(?:/home/|/root/|/tmp/|/work/|/Users/|/var/folders/)|[A-Za-z]:\\\\?Users\\"
)
# A number followed by a time unit ("3.21 ms", "0.5s", "1.4 μs"), or a "± 0.08" spread.
TIMING_TEXT = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)*(?:e-?\d+)?\s?(?:ns|[µμu]s|ms|s|sec|secs|seconds?)(?![\w/])|±\s?\d"
)


@dataclass(frozen=True)
class Chapter:
    """One planned chapter of the course: its number, file slug and title; ``exercise`` False for a chapter
    that measures nothing of its own (the scorecard), so it has no exercise and no solutions module."""

    number: int
    slug: str
    title: str
    exercise: bool = True

    @property
    def filename(self) -> str:
        return f"{self.number:02d}-{self.slug}.ipynb"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(0, "welcome", "Welcome and setup"),
    Chapter(1, "measure-first", "Measure first"),
    Chapter(2, "n-plus-one", "The N+1 query problem"),
    Chapter(3, "lazy-vs-eager", "Lazy vs eager loading"),
    Chapter(4, "async-background", "Async and background work"),
    Chapter(5, "compression", "Compression"),
    Chapter(6, "algorithms", "Algorithms and data structures"),
    Chapter(7, "numpy-vectorization", "NumPy vectorization"),
    Chapter(8, "memory", "Memory"),
    Chapter(9, "indexes", "Indexes and query plans"),
    Chapter(10, "caching", "Caching"),
    Chapter(11, "case-study", "Case study: a slow dashboard"),
    Chapter(12, "scorecard", "Scorecard: claims vs measurements", exercise=False),
)


@dataclass(frozen=True)
class Finding:
    """One broken rule in one notebook, printed as a single line."""

    path: Path
    rule: str
    message: str
    cell: int | None = None

    def __str__(self) -> str:
        where = f"{shown_path(self.path)}: cell {self.cell}" if self.cell is not None else shown_path(self.path)
        return f"{where}: {self.message} [{self.rule}]"


# --------------------------------------------------------------------------- files


def default_notebooks_dir() -> Path:
    """The ``notebooks/`` folder of the checkout perflab runs from (else ``./notebooks``)."""
    checkout = Path(__file__).resolve().parent.parent.parent / "notebooks"
    return checkout if checkout.is_dir() else Path.cwd() / "notebooks"


def chapter_paths(folder: Path | str) -> list[Path]:
    """The chapter notebooks ``NN-*.ipynb`` in a folder, sorted by name.

    >>> chapter_paths("/nonexistent")
    []
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb") if p.is_file())


def chapter_number(path: Path | str) -> int | None:
    """The chapter number of a notebook file name, or None if it is not ``NN-slug.ipynb``.

    >>> chapter_number("notebooks/07-numpy-vectorization.ipynb")
    7
    """
    match = CHAPTER_FILE.match(Path(path).name)
    return int(match.group(1)) if match else None


def solution_path(notebook: Path | str) -> Path:
    """Where the reference solutions of a chapter live: ``solutions/chNN_slug.py`` beside it.

    >>> solution_path("notebooks/00-welcome.ipynb").name
    'ch00_welcome.py'

    Parameters: ``notebook``, a chapter file named ``NN-slug.ipynb``.
    """
    notebook = Path(notebook)
    match = CHAPTER_FILE.match(notebook.name)
    if not match:
        raise PerflabError(
            f"chapter notebooks are named NN-slug.ipynb (e.g. 02-n-plus-one.ipynb), got {notebook.name!r}"
        )
    number, slug = match.groups()
    return notebook.parent / "solutions" / f"ch{number}_{slug.replace('-', '_')}.py"


def load_solution(notebook: Path | str) -> ModuleType:
    """Import the solutions module of a chapter from its file (no ``sys.path`` changes).

    >>> load_solution("notebooks/02-n-plus-one.ipynb").eager_orders  # doctest: +SKIP
    <function eager_orders at 0x...>

    Parameters: ``notebook``, the chapter file; its solutions are ``solution_path(notebook)``.
    """
    path = solution_path(notebook)
    if not path.is_file():
        raise PerflabError(f"no solutions module for {Path(notebook).name}: expected {shown_path(path)}")
    spec = importlib.util.spec_from_file_location(f"perflab_solutions_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_notebook(path: Path | str) -> Any:
    """Read a notebook as nbformat v4 (a ``NotebookNode``), with a one-line error if it is not one."""
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        raise PerflabError(f"cannot read {shown_path(Path(path))} as a notebook ({exc})") from None


def write_notebook(nb: Any, path: Path | str) -> None:
    """Write a notebook the way Jupyter does (indent 1, sorted keys, final newline), atomically."""
    import nbformat

    path = Path(path)
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- small helpers


def shown_path(path: Path) -> str:
    """``path`` as a message shows it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def markdown_lines(source: str) -> list[str]:
    """The lines of a markdown cell outside fenced code blocks."""
    lines, fence = [], ""
    for line in source.splitlines():
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        lines.append(line)
    return lines


def _h1(cell: Any) -> str | None:
    if cell.get("cell_type") != "markdown":
        return None
    for line in markdown_lines(cell.get("source", "")):
        if line.strip():
            match = H1.match(line.strip())
            return match.group(1) if match else None
    return None


def notebook_title(nb: Any) -> str | None:
    """The H1 title of a notebook's first cell, or None.

    >>> import nbformat.v4 as v4
    >>> notebook_title(v4.new_notebook(cells=[v4.new_markdown_cell("# Caching\\nWhy")]))
    'Caching'
    """
    cells = nb.get("cells", [])
    return _h1(cells[0]) if cells else None


def is_marked(cell: Any, marker: str) -> bool:
    """True for a markdown cell that starts with ``marker`` (the navigation and contents cells)."""
    return cell.get("cell_type") == "markdown" and cell.get("source", "").lstrip().startswith(marker)


def ensure_cell_ids(nb: Any) -> None:
    """Give cells without an id a stable one (index based) and mark the notebook as format 4.5."""
    if nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5
    taken = {c.get("id") for c in nb.cells if c.get("id")}
    for index, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell_id, n = f"cell-{index}", 1
            while cell_id in taken:
                n += 1
                cell_id = f"cell-{index}-{n}"
            cell["id"] = cell_id
            taken.add(cell_id)
