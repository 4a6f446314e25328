"""The README stays true: its two commands come first, it shows only tasks.py commands that exist (and all of
them), and its chapter list matches the notebooks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import tasks
from tools.nbtools import CHAPTERS, chapter_paths

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_opens_with_exactly_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None and README.index("```bash") < README.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["python3 tasks.py course", "python3 tasks.py test"]


def test_every_chapter_is_listed_and_every_notebook_linked() -> None:
    for chapter in CHAPTERS:
        assert f"| {chapter.number:02d} |" in README and chapter.title in README, chapter.title
    for path in chapter_paths(ROOT / "notebooks"):
        assert f"(notebooks/{path.name})" in README, f"README does not link {path.name}"


def readme_task_commands() -> list[str]:
    """Every ``python3 tasks.py ...`` the README shows, in backticks or as a line of a code block."""
    inline = re.findall(r"`(python3 tasks\.py[^`]*)`", README)
    blocks = re.findall(r"^(python3 tasks\.py[^#\n]*)", README, re.M)
    return [c.replace("\\|", "|").strip() for c in inline + blocks]


def test_every_tasks_command_the_readme_shows_is_one_tasks_py_accepts() -> None:
    usages = {f"python3 tasks.py {name} {usage}".rstrip() for name, usage, _ in tasks.COMMANDS}
    shown = readme_task_commands()
    assert shown, "the README shows no tasks.py command"
    for command in shown:
        if command in usages:  # the usage form, exactly as `python3 tasks.py` prints it
            continue
        args = shlex.split(command)[2:]
        try:
            tasks.parser().parse_args(args)
        except SystemExit:
            pytest.fail(f"README shows `{command}`, which tasks.py refuses (see `python3 tasks.py`)")


def test_the_readme_names_every_tasks_command_with_its_usage() -> None:
    shown = set(readme_task_commands())
    for name, usage, _ in tasks.COMMANDS:
        assert f"python3 tasks.py {name} {usage}".rstrip() in shown or name in ("course", "test"), name
        assert any(c.split()[2:3] == [name] for c in shown), f"README never shows `python3 tasks.py {name}`"
