"""Navigation cells (previous · contents · next) and the contents cell of chapter 00."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from tools.nbtools.common import (
    CHAPTERS,
    CONTENTS_MARKER,
    NAV_MARKER,
    NUMBER_PREFIX,
    chapter_number,
    chapter_paths,
    default_notebooks_dir,
    ensure_cell_ids,
    is_marked,
    notebook_title,
    read_notebook,
    write_notebook,
)


@dataclass(frozen=True)
class Course:
    """The chapters that exist in a folder: (number, path, title), sorted by file name."""

    folder: Path
    chapters: tuple[tuple[int, Path, str], ...]

    @classmethod
    def scan(cls, folder: Path | str, loaded: Mapping[Path, Any] | None = None) -> Course:
        """Read the chapter titles of a folder; ``loaded`` maps paths to notebooks already in memory."""
        folder = Path(folder)
        loaded = {Path(p).resolve(): nb for p, nb in (loaded or {}).items()}
        planned = {c.number: c.title for c in CHAPTERS}
        found = []
        for path in chapter_paths(folder):
            number = chapter_number(path)
            if number is None:
                continue
            nb = loaded.get(path.resolve())
            if nb is None:
                try:
                    nb = read_notebook(path)
                except PerflabError:
                    nb = {}
            title = notebook_title(nb) or planned.get(number) or path.stem
            found.append((number, path, NUMBER_PREFIX.sub("", title)))
        return cls(folder, tuple(found))

    @property
    def contents_path(self) -> Path | None:
        return next((path for number, path, _ in self.chapters if number == 0), None)


def _link(number: int, path: Path, title: str) -> str:
    text = title.replace("[", "\\[").replace("]", "\\]")
    return f"[{number:02d} · {text}]({path.name})"


def nav_source(path: Path, course: Course) -> str:
    """The markdown of a chapter's navigation cell: previous · contents · next.

    Parameters: ``path``, the chapter; ``course``, the chapters of its folder (:meth:`Course.scan`).
    """
    names = [p.name for _, p, _ in course.chapters]
    index = names.index(path.name) if path.name in names else None
    parts = []
    if index is not None and index > 0:
        parts.append(f"← {_link(*course.chapters[index - 1])}")
    contents = course.contents_path
    if contents is not None and contents.name != path.name:
        parts.append(f"[Contents]({contents.name})")
    if index is not None and index + 1 < len(course.chapters):
        parts.append(f"{_link(*course.chapters[index + 1])} →")
    return f"{NAV_MARKER}\n---\n" + " | ".join(parts)


def contents_source(course: Course) -> str:
    """The markdown of the contents cell: every planned chapter, linked if its file exists."""
    existing = {number: (path, title) for number, path, title in course.chapters}
    numbers = sorted({c.number for c in CHAPTERS} | set(existing))
    planned = {c.number: c.title for c in CHAPTERS}
    lines = [CONTENTS_MARKER, "## Contents", ""]
    for number in numbers:
        if number in existing:
            path, title = existing[number]
            text = title.replace("[", "\\[").replace("]", "\\]")
            lines.append(f"- **{number:02d}** [{text}]({path.name})")
        else:
            lines.append(f"- **{number:02d}** {planned[number]} *(coming soon)*")
    return "\n".join(lines)


def _new_markdown(nb: Any, source: str, wanted_id: str) -> Any:
    import nbformat.v4

    cell = nbformat.v4.new_markdown_cell(source)
    taken = {c.get("id") for c in nb.cells}
    cell_id, n = wanted_id, 1
    while cell_id in taken:
        n += 1
        cell_id = f"{wanted_id}-{n}"
    cell["id"] = cell_id
    return cell


def apply_nav(nb: Any, path: Path, course: Course) -> bool:
    """Put the up-to-date navigation cell last (and the contents cell in 00); True if anything changed.

    Parameters: ``nb``, the notebook (changed in place); ``path``, its file; ``course``, its folder.
    """
    ensure_cell_ids(nb)
    before = [(c.get("id"), c.get("cell_type"), c.get("source")) for c in nb.cells]

    if chapter_number(path) == 0:
        wanted = contents_source(course)
        marked = [c for c in nb.cells if is_marked(c, CONTENTS_MARKER)]
        if marked:
            marked[0]["source"] = wanted
            nb.cells = [c for c in nb.cells if not is_marked(c, CONTENTS_MARKER) or c is marked[0]]
        else:
            cell = _new_markdown(nb, wanted, "contents")
            at = len(nb.cells) - 1 if nb.cells and is_marked(nb.cells[-1], NAV_MARKER) else len(nb.cells)
            nb.cells.insert(at, cell)

    navs = [c for c in nb.cells if is_marked(c, NAV_MARKER)]
    nav = navs[0] if navs else _new_markdown(nb, "", "nav")
    nav["source"] = nav_source(path, course)
    nb.cells = [c for c in nb.cells if not is_marked(c, NAV_MARKER)] + [nav]

    after = [(c.get("id"), c.get("cell_type"), c.get("source")) for c in nb.cells]
    return before != after


def refresh_nav(folder: Path | str | None = None, *, check: bool = False) -> list[Path]:
    """Refresh navigation (and contents) in every chapter of a folder; return the notebooks that changed.

    >>> refresh_nav("/nonexistent", check=True)
    []

    Parameters: ``folder``, default the checkout's ``notebooks/``; ``check``, only report, write nothing.
    """
    folder = Path(folder) if folder is not None else default_notebooks_dir()
    course = Course.scan(folder)
    changed = []
    for path in chapter_paths(folder):
        nb = read_notebook(path)
        if apply_nav(nb, path, course):
            changed.append(path)
            if not check:
                write_notebook(nb, path)
    return changed
