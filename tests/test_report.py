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
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO), "COLUMNS": "100"}
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
    assert lines[1] == "not measured yet: perflab report --run 01 02 03 04 05 06 07 08 09 10 11"
    assert sum(line.endswith("not yet") for line in lines) == len(CLAIMS)
    assert max(len(line) for line in lines) <= 100
    assert not verdicts.exists() and result.stderr == ""


def test_run_executes_chapters_headless_records_their_verdicts_and_exports(tmp_path: Path, verdicts: Path) -> None:
    first = chapter(tmp_path, "91-first", "import perflab", 'perflab.verdict("async", 3.0, context="four calls")')
    second = chapter(tmp_path, "92-second", 'from perflab.claims import verdict\nverdict("n_plus_one", 4.0)',
                     'verdict("set_lookup", 1200, floor=400)')
    md, page = tmp_path / "card.md", tmp_path / "card.html"
    result = report("--run", str(first), str(second), "--markdown", str(md), "--html", str(page), verdicts=verdicts)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"3 of {len(CLAIMS)} claims measured here (on SQLite); "
                          "the book's figure held for 1 of them\n")
    assert "measured on " in out and "CPUs, Python" in out
    rows = {line.split("  ")[0]: line for line in out.splitlines() if not line.startswith(" ")}
    assert "3.0x" in rows["async processing"] and " 91 " in rows["async processing"]
    assert rows["async processing"].endswith("✅ within")
    assert "4.0x" in rows["fix N+1"] and rows["fix N+1"].endswith("❌ below")
    assert " 92 " in rows["set lookup instead of list scan"] and " any " in rows["set lookup instead of list scan"]
    assert "92-second:" in result.stderr and "cell" in result.stderr  # the progress bar, on stderr
    assert f"wrote {md}" in out and f"wrote {page}" in out
    assert "| async processing | 2-5x faster | 3.0x | ✅ within the claim | sqlite | 20" in md.read_text()
    assert "| four calls | 91-first |" \
        in md.read_text()
    assert page.read_text().count("<tr>") == len(CLAIMS) + 1
    only_pg = report("--backend", "postgresql", verdicts=verdicts)
    assert only_pg.returncode == 0 and only_pg.stdout.startswith(f"1 of {len(CLAIMS)} claims")  # set lookup: any
    assert "PERFLAB_DATABASE_URL=postgresql://… perflab report --run 01 02 03" in only_pg.stdout


def test_a_chapter_that_fails_is_named_and_the_others_still_run(tmp_path: Path, verdicts: Path) -> None:
    bad = chapter(tmp_path, "93-bad", 'import perflab\nperflab.verdict("async", 3.0)', "1 / 0",
                  'perflab.verdict("compression", 7.0)')
    good = chapter(tmp_path, "94-good", 'import perflab\nperflab.verdict("gzip_json", 9.0)')
    result = report("--run", str(bad), str(good), verdicts=verdicts)
    assert result.returncode == 1
    assert "perflab report: 93-bad: a cell raised ZeroDivisionError: division by zero" in result.stderr
    assert "Traceback" not in result.stderr
    assert {line.split("  ")[0] for line in result.stdout.splitlines() if " sqlite " in line} == {"async processing"}
    assert {line.split("  ")[0] for line in result.stdout.splitlines() if " any " in line} == {"gzip a JSON response"}


@pytest.mark.parametrize("args", [["--backend", "mysql"], ["--run", "99"], ["--bogus"], ["--markdown"],
                                  ["--run", "00"], ["--run", "12"], ["--run", "٠٦"],
                                  ["--markdown", "card", "--html", "./card"]])
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
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO), "PERFLAB_DATABASE_URL": f"sqlite:///{db}",
           "COLUMNS": "200"}  # wide enough for whole claim names, whatever terminal (or none) the tests run in
    result = subprocess.run([sys.executable, "-m", "perflab", "report", "--run", "06"], capture_output=True,
                            text=True, env=env, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = {line.split("  ")[0] for line in result.stdout.splitlines() if " 06 " in line
                and "not yet" not in line}
    assert measured == {"duplicates with a set", "set lookup instead of list scan", "len() hoisted out of the loop",
                        "list comprehension"}
    assert {r["chapter"] for r in read_records(verdicts)} == {"06-algorithms"}


def test_a_damaged_or_missing_verdicts_file_is_one_line_or_a_count(tmp_path: Path, verdicts: Path) -> None:
    folder = report(verdicts=tmp_path)
    assert folder.returncode == 1 and folder.stdout == ""
    assert folder.stderr.startswith("perflab report: error: cannot read the verdicts file") and \
        len(folder.stderr.splitlines()) == 1
    verdicts.write_bytes(b'{"key": "async", "measured": 3.0, "context": "caf\xc3\n\x89\xff\n'
                         b'{"key": "async", "measured": -3}\n{"key": "async", "measured": 3.0}\n')
    damaged = report(verdicts=verdicts)
    assert damaged.returncode == 0 and damaged.stderr == ""
    assert damaged.stdout.splitlines()[1] == "3 unreadable lines skipped"


def test_a_reader_that_leaves_early_is_no_error(verdicts: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "perflab", "report"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the table is written, like `perflab report | head -0`
    assert proc.wait(timeout=60) == 0 and proc.stderr.read() == b""


def test_ctrl_c_stops_the_run_in_one_line_and_shows_what_was_recorded(tmp_path: Path, verdicts: Path) -> None:
    import signal
    import time

    started = tmp_path / "started"
    slow = chapter(tmp_path, "95-slow", 'import perflab\nperflab.verdict("async", 3.0)',
                   f"open({str(started)!r}, 'w').close()", "import time\ntime.sleep(60)")
    never = chapter(tmp_path, "96-never", 'import perflab\nperflab.verdict("gzip_json", 9.0)')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env = {**clean, "PERFLAB_VERDICTS": str(verdicts), "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "perflab", "report", "--run", str(slow), str(never)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    deadline = time.monotonic() + 90
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (the kernel has a session of its own)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted — the chapters run so far are recorded" in err
    assert "3.0x" in out and [r["key"] for r in read_records(verdicts)] == ["async"]
