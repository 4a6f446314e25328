"""Structure of the course notebooks, and the notebook tooling (tools.nbtools) that keeps it.

The real chapters are checked by the parametrized tests at the top (one case per notebooks/NN-*.ipynb).
Everything below checks the checker itself on small notebooks built in tmp_path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import nbformat.v4 as v4
import pytest

from perflab.errors import PerflabError
from tools import nbtools

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SANITIZE_FILE = REPO / "tests" / "nbval.cfg"
CHAPTER_FILES = nbtools.chapter_paths(NOTEBOOKS)


# --------------------------------------------------------------------------- the real chapters


@pytest.mark.parametrize("path", CHAPTER_FILES, ids=[p.name for p in CHAPTER_FILES])
def test_chapter_follows_the_structure_rules(path: Path) -> None:
    findings = nbtools.check_notebook(path)
    assert not findings, "\n".join(map(str, findings))


NO_EXERCISE = {c.number for c in nbtools.CHAPTERS if not c.exercise}
EXERCISE_FILES = [p for p in CHAPTER_FILES if nbtools.chapter_number(p) not in NO_EXERCISE]


@pytest.mark.parametrize("path", EXERCISE_FILES, ids=[p.name for p in EXERCISE_FILES])
def test_chapter_solutions_module_imports(path: Path) -> None:
    assert nbtools.load_solution(path).__file__ == str(nbtools.solution_path(path))


def test_course_navigation_and_contents_are_current() -> None:
    stale = nbtools.refresh_nav(NOTEBOOKS, check=True)
    assert not stale, f"run python -m tools.nbtools nav: {[p.name for p in stale]}"


# --------------------------------------------------------------------------- synthetic course

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode()


def stream(text: str, name: str = "stdout") -> Any:
    return v4.new_output("stream", name=name, text=text)


def code(
    source: str, count: int | None, outputs: list[Any] | None = None, tags: list[str] | None = None
) -> Any:
    cell = v4.new_code_cell(source, execution_count=count, outputs=outputs or [])
    if tags:
        cell.metadata["tags"] = tags
    return cell


def chapter(title: str) -> Any:
    """A chapter that follows every rule, before its navigation cell is added."""
    plot = v4.new_output(
        "display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}
    )
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell(f"# {title}\n\nWhy this matters, in one paragraph."),
            v4.new_markdown_cell("## Objectives\n\n- measure before fixing\n\nEstimated time: 25 minutes."),
            code("import perflab\nrows = [1, 2, 3]\nprint(len(rows))", 1, [stream("3\n")]),
            v4.new_markdown_cell("The plot below shows it:"),
            code("import matplotlib.pyplot as plt\n_ = plt.plot(rows)", 2, [plot]),
            code(
                "%timeit sum(rows)",
                3,
                [stream("1.58 μs ± 236 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)\n")],
                tags=["nbval-ignore-output"],
            ),
            v4.new_markdown_cell("## Exercise\n\nMake it faster, then check it:"),
            code("perflab.exercises.check_sum(answer)", 4, [stream("✅ correct\n")]),
            v4.new_markdown_cell("## Key points\n\n- Measure first."),
        ],
        metadata={"kernelspec": dict(nbtools.KERNELSPEC), "language_info": {"name": "python"}},
    )


def make_course(folder: Path, chapters: dict[str, str]) -> Path:
    """Write good chapters {filename: title} and their solutions modules, then generate the navigation."""
    (folder / "solutions").mkdir(parents=True, exist_ok=True)
    for name, title in chapters.items():
        nbtools.write_notebook(chapter(title), folder / name)
        nbtools.solution_path(folder / name).write_text("def answer():\n    return 6\n", encoding="utf-8")
    nbtools.refresh_nav(folder)
    return folder


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(
        tmp_path / "notebooks", {"00-welcome.ipynb": "Welcome", "01-measure-first.ipynb": "Measure first"}
    )


def edit(path: Path, change: Callable[[Any], None]) -> None:
    nb = nbformat.read(str(path), as_version=4)
    change(nb)
    nbtools.write_notebook(nb, path)


def rules_broken(path: Path) -> set[str]:
    return {finding.rule for finding in nbtools.check_notebook(path)}


def test_a_good_course_has_no_findings(course: Path) -> None:
    assert nbtools.check_folder(course) == []
    assert nbtools.main(["check", "--dir", str(course)]) == 0


def cell_index(nb: Any, startswith: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(startswith))


def _add_code(nb: Any, cell: Any) -> None:
    cell.execution_count = 5
    nb.cells.insert(-1, cell)


BAD_EDITS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "missing title": ("title", lambda nb: nb.cells[0].update(source="Some intro without a heading")),
    "second H1": ("title", lambda nb: nb.cells.insert(3, v4.new_markdown_cell("# Another title"))),
    "no objectives": ("objectives", lambda nb: nb.cells[1].update(source="Estimated time: 25 minutes.")),
    "no estimated time": ("objectives", lambda nb: nb.cells[1].update(source="## Objectives\n\n- measure")),
    "no plot": ("plot", lambda nb: nb.cells[4].update(outputs=[])),
    "no exercise check": ("exercise", lambda nb: nb.cells[7].update(source="answer()")),
    "no key points": ("key-points", lambda nb: nb.cells[8].update(source="## Summary\n\n- Measure first.")),
    "nav not last": ("nav", lambda nb: nb.cells.append(v4.new_markdown_cell("A cell after the navigation."))),
    "nav edited by hand": (
        "nav",
        lambda nb: nb.cells[-1].update(source=nbtools.NAV_MARKER + "\n[back](x.ipynb)"),
    ),
    "error output": (
        "errors",
        lambda nb: nb.cells[2].outputs.append(
            v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
        ),
    ),
    "raises-exception tag without error": (
        "errors",
        lambda nb: nb.cells[2].metadata.update(tags=["raises-exception"]),
    ),
    "machine path in stdout": (
        "machine-paths",
        lambda nb: nb.cells[2].update(outputs=[stream("saved to /home/ann/perflab/data/perflab.sqlite\n")]),
    ),
    "machine path in a traceback": (
        "machine-paths",
        lambda nb: nb.cells[2].update(
            metadata={"tags": ["raises-exception"]},
            outputs=[
                v4.new_output(
                    "error",
                    ename="PerflabError",
                    evalue="scale must be > 0, got -1",
                    traceback=["File /Users/ann/perflab/perflab/config.py:61, in parse_scale"],
                )
            ],
        ),
    ),
    "NBVAL comment": (
        "nbval-comments",
        lambda nb: nb.cells[2].update(source="# NBVAL_IGNORE_OUTPUT\nprint(3)"),
    ),
    "execution counts out of order": ("execution-counts", lambda nb: nb.cells[4].update(execution_count=7)),
    "committed without outputs": (
        "execution-counts",
        lambda nb: [c.update(execution_count=None) for c in nb.cells if c.cell_type == "code"],
    ),
    "untagged timing": (
        "volatile-output",
        lambda nb: nb.cells[5].metadata.update(tags=[]),
    ),
    "untagged SVG": (
        "volatile-output",
        lambda nb: nb.cells[4].outputs.append(
            v4.new_output("display_data", data={"image/svg+xml": "<svg/>"})
        ),
    ),
    "trailing semicolon": (
        "semicolon",
        lambda nb: nb.cells[4].update(source="plt.plot(rows);  # hide the list"),
    ),
    "widget without saved state": (
        "widgets",
        lambda nb: _add_code(
            nb,
            code(
                "slider",
                None,
                [
                    v4.new_output(
                        "display_data",
                        data={
                            "text/plain": "IntSlider(value=3)",
                            nbtools.WIDGET_VIEW: {
                                "version_major": 2,
                                "version_minor": 0,
                                "model_id": "a1" * 16,
                            },
                        },
                    )
                ],
            ),
        ),
    ),
    "output widget saved by a frontend": (
        "widgets",
        lambda nb: nb.metadata.update(widgets={nbtools.WIDGET_STATE: {"state": {"b2" * 16: {
            "model_name": "OutputModel", "state": {"outputs": [{"output_type": "stream", "text": "n = 3"}]},
        }}}}),
    ),
}


@pytest.mark.parametrize("case", list(BAD_EDITS))
def test_each_rule_catches_its_problem(course: Path, case: str) -> None:
    rule, change = BAD_EDITS[case]
    path = course / "01-measure-first.ipynb"
    edit(path, change)
    assert rules_broken(path) == {rule}


def test_findings_name_the_notebook_and_cell(course: Path) -> None:
    path = course / "01-measure-first.ipynb"
    edit(path, BAD_EDITS["NBVAL comment"][1])
    (finding,) = nbtools.check_notebook(path)
    assert finding.cell == 2
    assert re.fullmatch(
        r".*01-measure-first\.ipynb: cell 2: has an NBVAL comment; .* \[nbval-comments\]", str(finding)
    )


def test_missing_solutions_module_is_reported(course: Path) -> None:
    path = course / "01-measure-first.ipynb"
    nbtools.solution_path(path).unlink()
    (finding,) = nbtools.check_notebook(path)
    assert finding.rule == "exercise" and "ch01_measure_first.py" in finding.message


def test_the_scorecard_chapter_needs_no_exercise_and_the_others_still_do(course: Path) -> None:
    assert NO_EXERCISE == {12}
    for name in ("01-measure-first.ipynb", "12-scorecard.ipynb"):
        path = course / name
        if not path.exists():
            nbtools.write_notebook(chapter("Scorecard"), path)
        edit(path, lambda nb: nb.cells.pop(cell_index(nb, "perflab.exercises")))
        nbtools.solution_path(path).unlink(missing_ok=True)
    assert "exercise" in rules_broken(course / "01-measure-first.ipynb")
    assert "exercise" not in rules_broken(course / "12-scorecard.ipynb")


def test_new_chapter_makes_navigation_and_contents_stale(course: Path) -> None:
    nbtools.write_notebook(chapter("The N+1 query problem"), course / "02-n-plus-one.ipynb")
    assert "nav" in rules_broken(course / "01-measure-first.ipynb")
    assert rules_broken(course / "00-welcome.ipynb") == {"contents"}  # its nav only links to 01
    assert nbtools.main(["nav", "--check", "--dir", str(course)]) == 1
    assert nbtools.main(["nav", "--dir", str(course)]) == 0
    assert nbtools.main(["nav", "--check", "--dir", str(course)]) == 0
    assert "nav" not in rules_broken(course / "01-measure-first.ipynb")


def test_tagged_or_declared_stable_timings_pass(course: Path) -> None:
    path = course / "01-measure-first.ipynb"
    edit(path, lambda nb: nb.cells[2].update(outputs=[stream("injected latency: 1.0 ms per round trip\n")]))
    assert rules_broken(path) == {"volatile-output"}
    edit(path, lambda nb: nb.cells[2].metadata.update(tags=[nbtools.CHECK_OUTPUT_TAG]))
    assert rules_broken(path) == set()


def test_a_semicolon_inside_a_cell_is_fine(course: Path) -> None:
    path = course / "01-measure-first.ipynb"
    edit(path, lambda nb: nb.cells[2].update(source="a = 1; b = 2\nprint(a + b)  # ends with ;"))
    assert "semicolon" not in rules_broken(path)


@pytest.mark.parametrize(
    "text",
    [
        "3.21 ms ± 0.08 ms",
        "1.58 μs ± 236 ns per loop",
        "12 µs",
        "median 0.5s",
        "took 2 seconds",
        "1,234 ms",
        "1.2e-3 s",
        "± 4",
    ],
)
def test_timing_text_is_recognised(text: str) -> None:
    assert nbtools.TIMING_TEXT.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "5 users",
        "10 sessions",
        "latency_ms=1",
        "scale 0.02",
        "book says 10-50x, measured 23x",
        "<object at 0x7f3a2b1c4d50>",
        "2 msgs",
        "100%|██████████| 50/50 [00:00<00:00, 97.91it/s]",
        "v1.5s",
        "orders: 50000 rows",
    ],
)
def test_timing_text_ignores_look_alikes(text: str) -> None:
    assert not nbtools.TIMING_TEXT.search(text)


# --------------------------------------------------------------------------- navigation


def test_navigation_links_previous_contents_next_and_skips_missing_chapters(tmp_path: Path) -> None:
    folder = make_course(
        tmp_path,
        {"00-welcome.ipynb": "Welcome", "01-measure-first.ipynb": "Measure first", "03-lazy.ipynb": "Lazy"},
    )
    nav = nbformat.read(str(folder / "01-measure-first.ipynb"), as_version=4).cells[-1].source
    assert nav == (
        "<!-- nav -->\n---\n"
        "← [00 · Welcome](00-welcome.ipynb) | [Contents](00-welcome.ipynb) | [03 · Lazy](03-lazy.ipynb) →"
    )
    first = nbformat.read(str(folder / "00-welcome.ipynb"), as_version=4).cells[-1].source
    assert first == "<!-- nav -->\n---\n[01 · Measure first](01-measure-first.ipynb) →"
    last = nbformat.read(str(folder / "03-lazy.ipynb"), as_version=4).cells[-1].source
    assert last.endswith("← [01 · Measure first](01-measure-first.ipynb) | [Contents](00-welcome.ipynb)")


def test_contents_lists_every_planned_chapter(course: Path) -> None:
    nb = nbformat.read(str(course / "00-welcome.ipynb"), as_version=4)
    (contents,) = [c.source for c in nb.cells if c.source.startswith(nbtools.CONTENTS_MARKER)]
    lines = [line for line in contents.splitlines() if line.startswith("- ")]
    assert len(lines) == len(nbtools.CHAPTERS) == 13
    assert lines[0] == "- **00** [Welcome](00-welcome.ipynb)"
    assert lines[1] == "- **01** [Measure first](01-measure-first.ipynb)"
    assert lines[2] == "- **02** The N+1 query problem *(coming soon)*"
    assert lines[12] == "- **12** Scorecard: claims vs measurements *(coming soon)*"


def test_navigation_uses_the_h1_titles(course: Path) -> None:
    edit(
        course / "01-measure-first.ipynb",
        lambda nb: nb.cells[0].update(source="# 01 · Measure, don't guess\n\nWhy."),
    )
    nbtools.refresh_nav(course)
    welcome = nbformat.read(str(course / "00-welcome.ipynb"), as_version=4)
    assert "[01 · Measure, don't guess](01-measure-first.ipynb) →" in welcome.cells[-1].source
    assert any("- **01** [Measure, don't guess](01-measure-first.ipynb)" in c.source for c in welcome.cells)


def test_nav_is_idempotent_and_keeps_author_placement(course: Path) -> None:
    welcome = course / "00-welcome.ipynb"

    def move_contents_up(nb: Any) -> None:
        index = cell_index(nb, nbtools.CONTENTS_MARKER)
        nb.cells.insert(2, nb.cells.pop(index))

    edit(welcome, move_contents_up)
    edit(
        course / "01-measure-first.ipynb",
        lambda nb: nb.cells.append(v4.new_markdown_cell("Added after nav.")),
    )
    assert nbtools.refresh_nav(course) == [course / "01-measure-first.ipynb"]
    before = {p: p.read_bytes() for p in course.glob("*.ipynb")}
    assert nbtools.refresh_nav(course) == []
    assert {p: p.read_bytes() for p in course.glob("*.ipynb")} == before
    nb = nbformat.read(str(welcome), as_version=4)
    assert nb.cells[2].source.startswith(nbtools.CONTENTS_MARKER)
    moved = nbformat.read(str(course / "01-measure-first.ipynb"), as_version=4)
    assert moved.cells[-2].source == "Added after nav." and moved.cells[-1].id == "nav"


def test_files_are_written_like_jupyter(course: Path) -> None:
    text = (course / "01-measure-first.ipynb").read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n  {')
    assert json.loads(text)["nbformat_minor"] >= 5


def test_solution_module_naming_and_loading(tmp_path: Path) -> None:
    path = tmp_path / "02-n-plus-one.ipynb"
    assert nbtools.solution_path(path) == tmp_path / "solutions" / "ch02_n_plus_one.py"
    with pytest.raises(PerflabError, match="no solutions module for 02-n-plus-one.ipynb"):
        nbtools.load_solution(path)
    (tmp_path / "solutions").mkdir()
    nbtools.solution_path(path).write_text("def eager():\n    return 'joinedload'\n", encoding="utf-8")
    assert nbtools.load_solution(path).eager() == "joinedload"
    with pytest.raises(PerflabError, match="named NN-slug.ipynb"):
        nbtools.solution_path(tmp_path / "n-plus-one.ipynb")


# --------------------------------------------------------------------------- normalize and execute


def test_normalize_strips_volatile_metadata_and_renumbers() -> None:
    nb = v4.new_notebook(
        cells=[
            code("a = 1", 4, tags=["keep-me"]),
            code("   ", 9, [stream("stale")]),
            code("a", 7, [v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=7)]),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python", "version": "3.11.7", "codemirror_mode": {"name": "ipython"}},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
            "title": "kept",
            "vscode": {"interpreter": "x"},
        },
    )
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    ids = [c.id for c in nb.cells]
    nbtools.normalize(nb)
    assert nb.metadata == {
        "kernelspec": nbtools.KERNELSPEC,
        "language_info": {"name": "python", "version": "3.11.7", "codemirror_mode": {"name": "ipython"}},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
        "title": "kept",
    }
    assert [c.id for c in nb.cells] == ids
    assert nb.cells[0].metadata == {"tags": ["keep-me"]}
    assert [c.execution_count for c in nb.cells] == [1, None, 2]
    assert nb.cells[1].outputs == [] and nb.cells[2].outputs[0].execution_count == 2


def notebook_file(folder: Path, name: str, *cells: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = v4.new_notebook(
        cells=list(cells), metadata={"language_info": {"name": "python", "version": "3.0.1"}}
    )
    path = folder / name
    nbtools.write_notebook(nb, path)
    return path


def test_execute_runs_in_a_fresh_kernel_and_normalizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERFLAB_STRICT", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # CI images often set it; it would drop every plot
    folder = tmp_path / "here"
    path = notebook_file(
        folder,
        "scratch.ipynb",
        v4.new_code_cell("import os, sys\nfrom pathlib import Path\nprint(6 * 7)"),
        v4.new_code_cell("print(Path.cwd().name, os.environ['PERFLAB_STRICT'], sys.executable)"),
        code("1 / 0", None, tags=["raises-exception"]),
        v4.new_code_cell(
            "from ipywidgets import interact\n_ = interact(lambda n: print('n =', n), n=(1, 5))"
        ),
        v4.new_code_cell("import matplotlib.pyplot as plt\n_ = plt.plot([3, 1, 2])"),
    )
    ids = [c.id for c in nbformat.read(str(path), as_version=4).cells]
    nbtools.execute_notebook(path, timeout=60)
    nb = nbformat.read(str(path), as_version=4)
    assert [c.id for c in nb.cells] == ids
    assert [c.execution_count for c in nb.cells] == [1, 2, 3, 4, 5]
    info = nb.metadata["language_info"]  # whole, as the kernel reported it: JupyterLab then changes nothing
    assert info["name"] == "python" and info["version"] == platform.python_version() and "mimetype" in info
    assert nb.cells[0].outputs[0].text == "42\n"
    assert nb.cells[1].outputs[0].text == f"here 1 {sys.executable}\n"
    assert nb.cells[2].outputs[0].ename == "ZeroDivisionError"
    # What the widget printed is a plain cell output, where nbval will find it too.
    assert nb.cells[3].outputs[0].text == "n = 3\n"
    # ... and the sliders are saved too, under ids that do not change from run to run.
    model_id = nb.cells[3].outputs[-1].data[nbtools.WIDGET_VIEW]["model_id"]
    state = nb.metadata["widgets"][nbtools.WIDGET_STATE]["state"]
    stable = {hashlib.sha1(f"scratch.ipynb:{i}".encode()).hexdigest()[:32] for i in range(len(state))}
    assert model_id in state and set(state) == stable
    assert any(m["model_name"] == "IntSliderModel" and m["state"]["value"] == 3 for m in state.values())
    assert "image/png" in nb.cells[4].outputs[0].data
    assert all("execution" not in c.metadata for c in nb.cells)
    assert (
        nbtools.check_notebook(path, rules=["execution-counts", "errors", "plot", "semicolon", "widgets"])
        == []
    )


def test_execute_failure_names_notebook_and_cell_and_writes_nothing(tmp_path: Path) -> None:
    path = notebook_file(
        tmp_path, "broken.ipynb", v4.new_markdown_cell("# Broken"), v4.new_code_cell("1 / 0")
    )
    before = path.read_bytes()
    with pytest.raises(PerflabError) as failure:
        nbtools.execute_notebook(path, timeout=60)
    message = str(failure.value)
    assert "\n" not in message
    assert re.search(
        r"broken\.ipynb: cell 1 raised ZeroDivisionError: division by zero \(fix it, or tag", message
    )
    assert path.read_bytes() == before
    assert nbtools.main(["execute", str(path), "--timeout", "60"]) == 1


def test_executed_notebook_passes_strict_nbval(tmp_path: Path) -> None:
    """The whole loop: execute, then nbval strict (with the sanitize file) re-runs it without a difference."""
    path = notebook_file(
        tmp_path,
        "loop.ipynb",
        v4.new_code_cell("print(sum(range(10)))"),
        v4.new_code_cell("object()"),
        v4.new_code_cell("%timeit -n 10 -r 2 sum(range(100))"),
        code("from ipywidgets import interact\n_ = interact(lambda n: print('n =', n), n=(1, 5))", None),
    )
    nbtools.execute_notebook(path, timeout=60)
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE_FILE), str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed" in result.stdout


# --------------------------------------------------------------------------- sanitize file and CLI


def sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns(SANITIZE_FILE.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("one_run", "another_run"),
    [
        (
            "1.58 μs ± 236 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)",
            "3.1 µs ± 12.5 ns per loop (mean ± std. dev. of 7 runs, 100,000 loops each)",
        ),
        (
            "1.2 s ± 31 ms per loop (mean ± std. dev. of 7 runs, 1 loop each)",
            "1.4 s ± 0.2 s per loop (mean ± std. dev. of 7 runs, 1 loop each)",
        ),
        ("median 3.21 ms (IQR 0.08 ms)", "median 4.5 ms (IQR 120 µs)"),
        (
            "CPU times: user 1.2 s, sys: 31 ms, total: 1.23 s\nWall time: 1.4 s",
            "CPU times: user 2 s, sys: 1 ms, total: 2 s\nWall time: 2.5 s",
        ),
        ("dataset built in 0.53 s", "dataset built in 1.2 s"),
        (
            "100%|██████████| 50/50 [00:00<00:00, 97.91it/s]",
            "100%|██████████| 50/50 [00:01<00:00, 41.30it/s]",
        ),
        (
            "<perflab.timing.Measurement object at 0x7f3a2b1c4d50>",
            "<perflab.timing.Measurement object at 0x10be2c040>",
        ),
        ("copied to /tmp/tmpab12cd/perflab.sqlite", "copied to /var/folders/x1/T/tmpzz9/perflab.sqlite"),
        ("IPY_MODEL_" + "a" * 32, "IPY_MODEL_" + "b" * 32),
        ("{'model_id': '" + "c" * 32 + "'}", "{'model_id': '" + "d" * 32 + "'}"),
    ],  # fmt: skip
)
def test_sanitize_file_makes_runs_comparable(one_run: str, another_run: str) -> None:
    assert sanitize(one_run) == sanitize(another_run)
    assert sanitize(one_run) != one_run


@pytest.mark.parametrize(
    "stable",
    [
        "users 10000, orders 50000",
        "book says 10-50x, measured 23x",
        "fingerprint 3f2a9c0d1e2b4a5c6d7e8f9012345678",
        "SELECT * FROM orders WHERE user_id = ?",
        "5 queries",
        "<Figure size 640x480 with 1 Axes>",
    ],
)
def test_sanitize_file_leaves_stable_text_alone(stable: str) -> None:
    assert sanitize(stable) == stable


def test_sanitize_file_is_ascii() -> None:
    SANITIZE_FILE.read_bytes().decode("ascii")


@pytest.mark.parametrize("command", ["execute", "nav", "check"])
def test_every_command_has_help_ending_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        nbtools.main([command, "--help"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[-1].startswith(f"Example: python -m tools.nbtools {command}")


def test_check_command_prints_one_line_per_finding(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(course / "01-measure-first.ipynb", BAD_EDITS["trailing semicolon"][1])
    assert nbtools.main(["check", "--dir", str(course)]) == 1
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "[semicolon]" in out.out
    assert "1 finding(s) in 2 notebook(s)" in out.err
