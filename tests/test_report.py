"""``perflab report`` from the command line: nothing recorded, chapters re-run headless, exports, bad arguments."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import nbformat.v4 as v4
import pytest

from perflab.claims import CLAIMS
from perflab.scorecard.records import read_records

REPO = Path(__file__).resolve().parent.parent


def report(*args: str, verdicts: Path) -> subprocess.CompletedProcess[str]:
    """``python -m perflab report ...`` as a user runs it, recording into ``verdicts``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "perflab", "report", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=REPO)


def chapter(folder: Path, name: str, *sources: str) -> Path:
    """A small chapter notebook whose cells record verdicts, like a real chapter's last cells."""
    path = folder / f"{name}.ipynb"
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources]), path)
    return path


@pytest.fixture
def verdicts(tmp_path: Path) -> Path:
    return tmp_path / "verdicts.jsonl"


def test_nothing_recorded_yet_is_a_clear_table_of_claims_not_measured(verdicts: Path) -> None:
    result = report(verdicts=verdicts)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"0 of {len(CLAIMS)} claims measured here yet"
    assert sum(line.endswith("not measured yet") for line in lines) == len(CLAIMS)
    assert "    run notebooks/06-algorithms.ipynb, or: perflab report --run 06" in lines
    assert not verdicts.exists() and result.stderr == ""


def test_run_executes_chapters_headless_records_their_verdicts_and_exports(tmp_path: Path, verdicts: Path) -> None:
    first = chapter(tmp_path, "91-first", "import perflab", 'perflab.verdict("async", 3.0, context="four calls")')
    second = chapter(tmp_path, "92-second", 'from perflab.claims import verdict\nverdict("n_plus_one", 4.0)',
                     'verdict("set_lookup", 1200, floor=400)')
    md, page = tmp_path / "card.md", tmp_path / "card.html"
    result = report("--run", str(first), str(second), "--markdown", str(md), "--html", str(page), verdicts=verdicts)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"3 of {len(CLAIMS)} claims measured here; the book's figure held for 1 of them\n")
    assert "measured on " in out and "CPUs, Python" in out
    rows = {line.split("  ")[0]: line for line in out.splitlines() if not line.startswith(" ")}
    assert "3.0x" in rows["async processing"] and "91-first" in rows["async processing"]
    assert rows["async processing"].endswith("✅ within the claim")
    assert "4.0x" in rows["fix N+1"] and rows["fix N+1"].endswith("❌ below the claim")
    assert "92-second" in rows["set lookup instead of list scan"]
    assert "92-second:" in result.stderr and "cell" in result.stderr  # the progress bar, on stderr
    assert f"wrote {md}" in out and f"wrote {page}" in out
    assert "| async processing | 2-5x faster | 3.0x | ✅ within the claim | sqlite | four calls | 91-first |" \
        in md.read_text()
    assert page.read_text().count("<tr>") == len(CLAIMS) + 1
    only_pg = report("--backend", "postgresql", verdicts=verdicts)
    assert only_pg.returncode == 0 and only_pg.stdout.startswith(f"0 of {len(CLAIMS)} claims")


def test_a_chapter_that_fails_is_named_and_the_others_still_run(tmp_path: Path, verdicts: Path) -> None:
    bad = chapter(tmp_path, "93-bad", 'import perflab\nperflab.verdict("async", 3.0)', "1 / 0",
                  'perflab.verdict("compression", 7.0)')
    good = chapter(tmp_path, "94-good", 'import perflab\nperflab.verdict("gzip_json", 9.0)')
    result = report("--run", str(bad), str(good), verdicts=verdicts)
    assert result.returncode == 1
    assert "perflab report: 93-bad: a cell raised ZeroDivisionError: division by zero" in result.stderr
    assert "Traceback" not in result.stderr
    assert {line.split("  ")[0] for line in result.stdout.splitlines() if "sqlite" in line} == \
        {"async processing", "gzip a JSON response"}


@pytest.mark.parametrize("args", [["--backend", "mysql"], ["--run", "99"], ["--bogus"], ["--markdown"]])
def test_bad_arguments_give_one_line_and_status_2(args: list[str], verdicts: Path) -> None:
    result = report(*args, verdicts=verdicts)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"perflab( report)?: error: \S", lines[0]), result.stderr
    assert result.stdout == ""


def test_an_export_that_cannot_be_written_says_so_in_one_line(tmp_path: Path, verdicts: Path) -> None:
    result = report("--html", str(tmp_path / "missing" / "card.html"), verdicts=verdicts)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("(No such file or directory) — choose a writable file")


def test_run_re_measures_a_real_chapter(tmp_path: Path, verdicts: Path) -> None:
    """Chapter 06 (about 15 s) on a dataset of its own: its four claims get this machine's figures."""
    import sqlalchemy as sa

    from perflab import dataset

    db = tmp_path / "perflab.sqlite"
    dataset.build(sa.create_engine(f"sqlite:///{db}"), 1.0, 17, progress=False)  # the chapter's default scale
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO), "PERFLAB_DATABASE_URL": f"sqlite:///{db}"}
    result = subprocess.run([sys.executable, "-m", "perflab", "report", "--run", "06"], capture_output=True,
                            text=True, env=env, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = {line.split("  ")[0] for line in result.stdout.splitlines() if "06-algorithms  " in line
                and "not measured" not in line}
    assert measured == {"duplicates with a set", "set lookup instead of list scan", "len() hoisted out of the loop",
                        "list comprehension"}
    assert {r["chapter"] for r in read_records(verdicts)} == {"06-algorithms"}
