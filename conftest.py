"""pytest, for the doctests of perflab/ and tools/ (tests/conftest.py has the unit tests' fixtures).

The doctests show verdicts too: each records them in a temporary file, never in the checkout's data/.
Notebook runs (nbval) are not affected: their verdicts go to data/verdicts.jsonl (git-ignored), where
chapter 12 reads them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _verdicts_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERFLAB_VERDICTS", str(tmp_path / "verdicts.jsonl"))
