"""The README stays true: its two commands come first, and its chapter list matches the notebooks."""

from __future__ import annotations

import re
from pathlib import Path

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
