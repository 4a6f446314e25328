"""Structure rules for chapter notebooks: one ``check_*`` function per rule, collected in RULES."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from tools.nbtools.common import (
    CHAPTERS,
    CHECK_OUTPUT_TAG,
    CONTENTS_MARKER,
    EXERCISE_CHECK,
    H1,
    IGNORE_OUTPUT_TAG,
    KEY_POINTS,
    MACHINE_PATH,
    MAX_NOTEBOOK_BYTES,
    MINUTES,
    NAV_MARKER,
    NBVAL_COMMENT,
    OBJECTIVES,
    RAISES_TAG,
    TIMING_TEXT,
    WIDGET_STATE,
    WIDGET_VIEW,
    Finding,
    chapter_number,
    chapter_paths,
    default_notebooks_dir,
    is_marked,
    markdown_lines,
    notebook_title,
    read_notebook,
    shown_path,
    solution_path,
)
from tools.nbtools.nav import Course, contents_source, nav_source


def _tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return list(tags) if isinstance(tags, list) else []


def _output_text(output: Any, *, errors: bool = False) -> str:
    parts = []
    if output.get("output_type") == "stream":
        parts.append(output.get("text", ""))
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime == "application/json":
            parts.append(value if isinstance(value, str) else str(value))
    if errors and output.get("output_type") == "error":
        parts.append(output.get("evalue", ""))
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def _ends_with_semicolon(source: str) -> bool:
    """True if the last Python statement of a code cell ends with ';' (IPython's 'hide the result')."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    skip = {
        tokenize.ENDMARKER,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.COMMENT,
        tokenize.DEDENT,
        tokenize.INDENT,
    }
    for token in reversed(tokens):
        if token.type in skip:
            continue
        return token.type == tokenize.OP and token.string == ";"
    return False


Rule = Callable[[Any, Path, "Course | None"], list[Finding]]


def check_name(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """The file is ``NN-slug.ipynb`` with a planned chapter number used by no other file."""
    number = chapter_number(path)
    if number is None:
        return [Finding(path, "name", "chapter files are named NN-slug.ipynb (lower-case, digits, '-')")]
    found = []
    if number not in {c.number for c in CHAPTERS}:
        found.append(
            Finding(path, "name", f"chapter {number:02d} is not in tools.nbtools.CHAPTERS; add it there")
        )
    course = course or Course.scan(path.parent)
    twins = [p.name for n, p, _ in course.chapters if n == number and p.name != path.name]
    if twins:
        found.append(Finding(path, "name", f"chapter number {number:02d} is also used by {', '.join(twins)}"))
    return found


def check_title(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """The first cell is markdown starting with an H1, and it is the only H1."""
    if notebook_title(nb) is None:
        return [Finding(path, "title", "the first cell must be markdown starting with an H1 ('# Title')", 0)]
    found = []
    for index, cell in enumerate(nb.cells[1:], start=1):
        if cell.get("cell_type") == "markdown" and any(H1.match(x) for x in markdown_lines(cell.source)):
            found.append(Finding(path, "title", "a second H1: use '##' for sections", index))
    return found


def check_objectives(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """Objectives and an estimated time in minutes come before the first code cell."""
    intro = []
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            break
        if cell.get("cell_type") == "markdown":
            intro.append("\n".join(markdown_lines(cell.source)))
    text = "\n".join(intro)
    found = []
    if not OBJECTIVES.search(text):
        found.append(Finding(path, "objectives", "no 'Objectives' heading before the first code cell"))
    if not MINUTES.search(text):
        found.append(
            Finding(path, "objectives", "no estimated time ('about 25 minutes') before the first code cell")
        )
    return found


def check_plot(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """At least one cell output is a PNG image (a matplotlib plot)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                return []
    return [Finding(path, "plot", "no plot in the outputs (no image/png); every chapter shows a picture")]


def check_exercise(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """A code cell checks an exercise (``exercises.<name>(`` or ``check(``); the solutions module exists.

    A chapter planned with ``exercise=False`` (the scorecard, which measures nothing of its own) is exempt.
    """
    if any(c.number == chapter_number(path) and not c.exercise for c in CHAPTERS):
        return []
    found = []
    if not any(c.get("cell_type") == "code" and EXERCISE_CHECK.search(c.source) for c in nb.cells):
        found.append(
            Finding(path, "exercise", "no exercise check cell (a code cell calling perflab.exercises)")
        )
    if chapter_number(path) is not None and not solution_path(path).is_file():
        found.append(Finding(path, "exercise", f"no solutions module {shown_path(solution_path(path))}"))
    return found


def check_key_points(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """A markdown heading 'Key points' exists."""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and KEY_POINTS.search("\n".join(markdown_lines(cell.source))):
            return []
    return [Finding(path, "key-points", "no '## Key points' section")]


def check_nav(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """The last cell is the navigation cell and it matches the chapters on disk (and 00 has the contents)."""
    course = course or Course.scan(path.parent, {path: nb})
    found = []
    last: Any = nb.cells[-1] if nb.cells else {}
    if not is_marked(last, NAV_MARKER):
        found.append(
            Finding(
                path, "nav", "the last cell is not the navigation cell: run python -m tools.nbtools nav"
            )
        )
    elif last.source != nav_source(path, course):
        found.append(
            Finding(
                path, "nav", "navigation is out of date: run python -m tools.nbtools nav", len(nb.cells) - 1
            )
        )
    if chapter_number(path) == 0:
        marked = [i for i, c in enumerate(nb.cells) if is_marked(c, CONTENTS_MARKER)]
        if not marked:
            found.append(Finding(path, "contents", "no contents cell: run python -m tools.nbtools nav"))
        elif len(marked) > 1 or nb.cells[marked[0]].source != contents_source(course):
            found.append(
                Finding(
                    path, "contents", "contents out of date: run python -m tools.nbtools nav", marked[0]
                )
            )
    return found


def check_errors(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """Error outputs only in cells tagged ``raises-exception``, and such cells do show an error."""
    found = []
    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        tagged = RAISES_TAG in _tags(cell)
        if errors and not tagged:
            found.append(
                Finding(
                    path,
                    "errors",
                    f"error output ({errors[0].get('ename')}) in a cell not tagged {RAISES_TAG}",
                    index,
                )
            )
        if tagged and not errors and cell.get("execution_count") is not None:
            found.append(
                Finding(path, "errors", f"tagged {RAISES_TAG} but shows no error: drop the tag", index)
            )
    return found


def check_machine_paths(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """No output (tracebacks included) shows a path of the author's machine."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            match = MACHINE_PATH.search(_output_text(output, errors=True))
            if match:
                found.append(
                    Finding(
                        path,
                        "machine-paths",
                        f"output shows a path of this machine ({match.group(0)!r}...)",
                        index,
                    )
                )
                break
    return found


def check_nbval_comments(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """No ``# NBVAL_...`` comments: learners should not see test markers (use cell tags)."""
    return [
        Finding(
            path,
            "nbval-comments",
            "has an NBVAL comment; use the cell tag (e.g. nbval-ignore-output) instead",
            i,
        )
        for i, cell in enumerate(nb.cells)
        if cell.get("cell_type") == "code" and NBVAL_COMMENT.search(cell.source)
    ]


def check_execution_counts(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """The notebook was run top to bottom once: non-empty code cells are numbered 1..N."""
    counts = [c.get("execution_count") for c in nb.cells if c.get("cell_type") == "code" and c.source.strip()]
    if counts and not any(counts):
        return [
            Finding(
                path, "execution-counts", "committed without outputs; run python -m tools.nbtools execute"
            )
        ]
    if counts != list(range(1, len(counts) + 1)):
        return [
            Finding(
                path,
                "execution-counts",
                f"execution counts {counts[:6]}... are not 1..N: run python -m tools.nbtools execute",
            )
        ]
    return []


def check_volatile_outputs(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """Outputs that vary between runs (timings, SVG) sit in cells tagged ``nbval-ignore-output``.

    A cell whose output only looks like a timing but is stable (e.g. a configured latency) can
    say so with the tag ``nbval-check-output``.
    """
    found = []
    for index, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if IGNORE_OUTPUT_TAG in tags:
            continue
        for output in cell.get("outputs", []):
            if "image/svg+xml" in output.get("data", {}):
                found.append(
                    Finding(
                        path,
                        "volatile-output",
                        f"SVG output is compared verbatim by nbval: tag it {IGNORE_OUTPUT_TAG} or plot PNG",
                        index,
                    )
                )
                break
            match = TIMING_TEXT.search(_output_text(output))
            if match and CHECK_OUTPUT_TAG not in tags:
                found.append(
                    Finding(
                        path,
                        "volatile-output",
                        f"output looks like a timing ({match.group(0)!r}): tag the cell {IGNORE_OUTPUT_TAG}"
                        f" (or {CHECK_OUTPUT_TAG} if it is stable)",
                        index,
                    )
                )
                break
    return found


def check_semicolons(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """No code cell hides its result with a trailing ';' (nbval would still see and compare it)."""
    return [
        Finding(
            path, "semicolon", "ends with ';': nbval still shows that result; assign it instead (_ = ...)", i
        )
        for i, cell in enumerate(nb.cells)
        if cell.get("cell_type") == "code"
        and IGNORE_OUTPUT_TAG not in _tags(cell)
        and _ends_with_semicolon(cell.source)
    ]


def check_widgets(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """Widget outputs come with saved widget state (sliders show before a kernel runs), printed output outside.

    A view whose model is not in the saved state shows as ``interactive(children=...`` text; an Output
    widget saved with outputs inside was saved by a frontend, and hides what it printed from nbval.
    """
    found = []
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and view.get("model_id") not in state:
                found.append(Finding(
                    path, "widgets", "widget output without saved widget state (a learner sees its text"
                    " placeholder): run python -m tools.nbtools execute", index,
                ))
                break
    for model in state.values():
        if model.get("model_name") == "OutputModel" and model.get("state", {}).get("outputs"):
            found.append(Finding(
                path, "widgets", "widget output saved by a frontend (what it printed is hidden in the widget,"
                " where nbval cannot see it): run python -m tools.nbtools execute",
            ))
            break
    return found


def check_size(nb: Any, path: Path, course: Course | None = None) -> list[Finding]:
    """The file stays light (smaller figures, fewer rows printed)."""
    size = path.stat().st_size if path.is_file() else 0
    if size > MAX_NOTEBOOK_BYTES:
        return [
            Finding(
                path, "size", f"{size / 1e6:.1f} MB; keep notebooks under {MAX_NOTEBOOK_BYTES / 1e6:.1f} MB"
            )
        ]
    return []


RULES: dict[str, Rule] = {
    "name": check_name,
    "title": check_title,
    "objectives": check_objectives,
    "plot": check_plot,
    "exercise": check_exercise,
    "key-points": check_key_points,
    "nav": check_nav,
    "errors": check_errors,
    "machine-paths": check_machine_paths,
    "nbval-comments": check_nbval_comments,
    "execution-counts": check_execution_counts,
    "volatile-output": check_volatile_outputs,
    "semicolon": check_semicolons,
    "widgets": check_widgets,
    "size": check_size,
}


def check_notebook(
    path: Path | str, course: Course | None = None, rules: Iterable[str] | None = None
) -> list[Finding]:
    """Run the structure rules on one chapter notebook and return what is wrong (empty when fine).

    >>> check_notebook("notebooks/02-n-plus-one.ipynb")  # doctest: +SKIP
    []

    Parameters: ``path``, the chapter; ``course``, its folder's chapters (scanned if None);
    ``rules``, names from :data:`RULES` (all by default).
    """
    path = Path(path)
    try:
        nb = read_notebook(path)
    except PerflabError as exc:
        return [Finding(path, "readable", str(exc))]
    course = course or Course.scan(path.parent, {path: nb})
    names = list(rules) if rules is not None else list(RULES)
    unknown = sorted(set(names) - set(RULES))
    if unknown:
        raise PerflabError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    return [finding for name in names for finding in RULES[name](nb, path, course)]


def check_folder(folder: Path | str | None = None) -> list[Finding]:
    """Run the structure rules on every chapter of a folder (default: the checkout's ``notebooks/``)."""
    folder = Path(folder) if folder is not None else default_notebooks_dir()
    course = Course.scan(folder)
    return [finding for path in chapter_paths(folder) for finding in check_notebook(path, course)]
