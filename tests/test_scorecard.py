"""perflab.scorecard: verdicts recorded on disk (safely, from many processes), the table, its notes and plot."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.claims import CLAIMS, clear_scorecard, verdict
from perflab.config import VERDICTS_FILENAME, data_dir, settings
from perflab.scorecard import records, table
from perflab.scorecard.notes import NOTES
from perflab.scorecard.rerun import chapter_notebooks, measuring_chapters, notebooks_dir

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_scorecard()


def test_the_verdicts_file_is_configurable_and_tests_never_use_the_checkout(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().verdicts_file == tmp_path / "verdicts.jsonl"  # tests/conftest.py
    monkeypatch.delenv("PERFLAB_VERDICTS")
    assert settings().verdicts_file == data_dir() / VERDICTS_FILENAME


def test_the_default_verdicts_file_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", f"data/{VERDICTS_FILENAME}"], cwd=REPO)
    assert ignored.returncode == 0


def test_every_verdict_is_appended_with_what_the_scorecard_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFLAB_CHAPTER", "02-n-plus-one")
    monkeypatch.setenv("PERFLAB_DATABASE_URL", "postgresql://ann:s3cret@db.example:5432/shop")
    verdict("n_plus_one", 12.0, floor=4, context="N=100")
    verdict("async", 1.5)
    first, second = records.read_records()
    assert first["key"] == "n_plus_one" and first["measured"] == 12.0 and first["floor"] == 4.0
    assert (first["status"], first["context"], first["chapter"]) == ("within", "N=100", "02-n-plus-one")
    assert first["backend"] == "postgresql" and "s3cret" not in first["database"]
    assert set(first["machine"]) == {"platform", "machine", "cpus", "python"}
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", first["time"])
    assert second["status"] == "below" and second["floor"] is None


def test_the_chapter_is_read_from_jupyter_server_when_ours_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ann/perflab/notebooks/09-indexes.ipynb")
    assert records.current_chapter() == "09-indexes"
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert records.current_chapter() is None


def test_a_missing_file_is_nothing_recorded_and_broken_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    assert records.read_records(path) == []
    good = {"key": "async", "measured": 3.0, "status": "within", "backend": "sqlite"}
    path.write_text("\n".join([json.dumps(good), '{"key": "async", "meas', json.dumps({**good, "key": "gone"}),
                               "[1, 2]", json.dumps(good)]) + "\n")
    loaded = records.load(path)
    assert [(r["key"], r["measured"]) for r in loaded.rows] == [("async", 3.0)] * 2
    assert (loaded.skipped, loaded.note) == (3, "3 unreadable lines skipped")


def test_damaged_bytes_are_skipped_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    good = json.dumps({"key": "async", "measured": 3.0, "context": "café"}, ensure_ascii=False).encode()
    cut = good[: good.index("é".encode()) + 1]  # cut in the middle of a two-byte character
    path.write_bytes(b"\n".join([good, cut, bytes(range(128, 256)), b"\x00\xff\xfe", good]) + b"\n")
    loaded = records.load(path)
    assert len(loaded.rows) == 2 and loaded.rows[0]["context"] == "café" and loaded.skipped == 3


def test_a_folder_or_an_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    from perflab.errors import PerflabError

    with pytest.raises(PerflabError, match=r"cannot read the verdicts file .* \(Is a directory\) — set PERFLAB_"):
        records.load(tmp_path)


def test_a_line_cut_without_newline_does_not_swallow_the_next_verdict(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v.jsonl"
    monkeypatch.setenv("PERFLAB_VERDICTS", str(path))
    verdict("async", 3.0)
    path.write_bytes(path.read_bytes() + b'{"key": "async", "meas')  # a kernel killed mid-write
    verdict("n_plus_one", 12.0, context="naïve")
    loaded = records.load(path)
    assert [r["key"] for r in loaded.rows] == ["async", "n_plus_one"] and loaded.skipped == 1
    assert path.read_bytes().isascii() and loaded.rows[1]["context"] == "naïve"


@pytest.mark.parametrize("measured", [-3.0, 0, "lol", True, None, "Infinity", "NaN", 1e400])
def test_a_ratio_verdict_would_refuse_is_skipped(tmp_path: Path, measured: object) -> None:
    path = tmp_path / "v.jsonl"
    line = json.dumps({"key": "async", "measured": measured, "status": "within"})
    path.write_text(line.replace('"Infinity"', "Infinity").replace('"NaN"', "NaN") + "\n")
    assert records.load(path) == records.Recorded([], 1)


def test_the_status_is_recomputed_from_the_claim_not_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps({"key": "async", "measured": 1.1, "status": "above", "floor": 2.0}) + "\n"
                    + json.dumps({"key": "async", "measured": 3, "status": "lol", "backend": "sqlite"}) + "\n")
    first, second = records.read_records(path)
    assert (first["status"], first["ok_floor"], second["status"], second["measured"]) == \
        ("below", False, "within", 3.0)
    row = next(r for r in table.scorecard_rows([first]) if r.key == "async")
    assert row.verdict_text == "❌ below the claim (below this notebook's floor: rerun)"


def test_an_unwritable_folder_warns_once_and_the_verdict_still_counts(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PERFLAB_VERDICTS", str(blocker / "verdicts.jsonl"))
    with pytest.warns(UserWarning, match="verdicts are not recorded: cannot write .* set PERFLAB_VERDICTS"):
        v = verdict("async", 3.0)
    assert v.status == "within"


CONCURRENT = """
import sys
from perflab.claims import Verdict, claim
from perflab.scorecard.records import record
for i in range(40):
    record(Verdict(claim("async"), 1.0 + i, None, "within", True, "writer " + sys.argv[1] + " " + "x" * 3000))
"""


def test_kernels_recording_at_once_never_corrupt_the_file(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.jsonl"
    env = {"PERFLAB_VERDICTS": str(path), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    writers = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(n)], env=env) for n in range(4)]
    assert all(w.wait(timeout=60) == 0 for w in writers)
    lines = path.read_text().splitlines()
    assert len(lines) == 160 and len(records.read_records(path)) == 160


def test_every_claim_has_a_chapter_and_both_explanations() -> None:
    assert set(NOTES) == set(CLAIMS)
    for key, note in NOTES.items():
        assert re.match(r"^\d\d-[a-z-]+$", note.chapter), key
        assert note.held.endswith(".") and note.missed.endswith("."), key
        assert note.why("within") == note.why("above") == note.held and note.why("below") == note.missed


@pytest.mark.parametrize("key", list(CLAIMS))
def test_every_claim_is_measured_by_its_chapter(key: str) -> None:
    path = notebooks_dir() / f"{NOTES[key].chapter}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.name} is not in this checkout yet")
    code = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                     for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert "verdict(" in code and re.search(rf"""["']{key}["']""", code), f"{path.name} does not measure {key}"


def rec(key: str, measured: float, backend: str = "sqlite", time: str = "2026-01-01T00:00:00+00:00",
        **extra: object) -> dict[str, object]:
    c = CLAIMS[key]
    lo, hi = c.band
    status = "below" if measured < lo else "above" if measured > hi else "within"
    return {"key": key, "measured": measured, "status": status, "backend": backend, "time": time, **extra}


def test_nothing_recorded_lists_every_claim_as_not_measured_with_the_command() -> None:
    rows = table.scorecard_rows([])
    assert [r.key for r in rows] == list(CLAIMS)
    assert all(r.status == "not measured" and r.here == "—" for r in rows)
    n_plus_one = next(r for r in rows if r.key == "n_plus_one")
    assert n_plus_one.why == "run notebooks/02-n-plus-one.ipynb, or: perflab report --run 02"


def test_the_latest_measurement_per_backend_wins_and_both_backends_show() -> None:
    recs = [rec("index", 30, time="2026-01-02T00:00:00+00:00"), rec("index", 5, time="2026-01-01T00:00:00+00:00"),
            rec("index", 12, backend="postgresql", chapter="09-indexes"), rec("index", 40, backend="postgresql")]
    rows = [r for r in table.scorecard_rows(recs) if r.key == "index"]
    assert [(r.backend, r.measured) for r in rows] == [("sqlite", 30.0), ("postgresql", 40.0)]
    only_pg = [r for r in table.scorecard_rows(recs, backend="postgresql") if r.key == "index"]
    assert [(r.backend, r.measured) for r in only_pg] == [("postgresql", 40.0)]


def test_the_why_follows_the_verdict() -> None:
    rows = {r.key: r for r in table.scorecard_rows([rec("n_plus_one", 3), rec("async", 3)])}
    assert rows["n_plus_one"].why == NOTES["n_plus_one"].missed
    assert rows["async"].why == NOTES["async"].held
    assert rows["n_plus_one"].verdict_text.startswith("❌") and rows["async"].verdict_text.startswith("✅")


def test_text_markdown_and_html_show_every_claim_and_escape_what_they_must() -> None:
    rows = table.scorecard_rows([rec("set_lookup", 1143, context="<b>|x</b>")])
    text, md, page = table.to_text(rows), table.to_markdown(rows), table.to_html(rows)
    assert text.startswith("1 of 26 claims measured here; the book's figure held for 0 of them")
    assert md.count("\n| ") == len(CLAIMS) + 1 and "| 1143x |" in md
    assert "| &lt;b&gt;" not in md and "<b>\\|x</b>" in md
    assert page.count("<tr>") == len(CLAIMS) + 1 and "&lt;b&gt;|x&lt;/b&gt;" in page and "<b>" not in page


def test_the_priority_list_takes_the_median_of_each_step() -> None:
    steps = table.priorities(table.scorecard_rows([rec("index", 20), rec("n_plus_one", 5), rec("batching", 80),
                                                   rec("set_lookup", 1000)]))
    assert [(s.name, s.median) for s in steps] == [("database", 20.0), ("caching", None), ("async", None),
                                                   ("code", 1000.0)]
    assert [s.name for s in table.ranked(steps)] == ["code", "database"]


def test_priority_steps_only_name_speedup_claims() -> None:
    for _, keys in table.PRIORITY:
        assert all(CLAIMS[k].unit == "x faster" for k in keys)


def test_the_plot_has_a_row_per_claim_and_a_point_per_measurement() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from perflab.scorecard.plot import plot_scorecard

    fig = plot_scorecard(table.scorecard_rows([rec("index", 20), rec("index", 9, backend="postgresql"),
                                               rec("lazy_saves_memory", 4.5)]))
    ax = fig.axes[0]
    assert len(ax.get_yticks()) == len(CLAIMS) and ax.get_xscale() == "log"
    assert len(ax.lines) == 3 and all(math.isfinite(x) for x in ax.get_xlim())
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_chapters_are_named_by_number_or_name_and_a_wrong_one_says_the_choices() -> None:
    assert [p.name for p in chapter_notebooks(["6", "07-numpy-vectorization"])] == \
        ["06-algorithms.ipynb", "07-numpy-vectorization.ipynb"]
    assert all(p.stem in {n.chapter for n in NOTES.values()} for p in measuring_chapters())
    from perflab.errors import PerflabError

    with pytest.raises(PerflabError, match=r"no chapter '99' that measures a claim — choose from: 01, 02, .*, 11 "):
        chapter_notebooks(["99"])


def test_no_sentence_on_a_postgresql_row_speaks_of_sqlite() -> None:
    for key, note in NOTES.items():
        for status in ("within", "above", "below"):
            why = note.why(status, "postgresql").lower()
            assert "sqlite" not in why and "in-process" not in why, key
    pg = next(r for r in table.scorecard_rows([rec("batch_insert", 21, backend="postgresql")])
              if r.key == "batch_insert")
    assert pg.why == NOTES["batch_insert"].postgresql[1]  # type: ignore[index]


def test_claims_that_never_touch_the_database_have_one_row_for_any_backend() -> None:
    free = {k for k, n in NOTES.items() if not n.database}
    assert {NOTES[k].chapter[:2] for k in free} == {"01", "05", "06", "07", "08"} and len(free) == 11
    recs = [rec("set_lookup", 900, time="t1"), rec("set_lookup", 1100, backend="postgresql", time="t2"),
            rec("index", 20), rec("index", 7, backend="postgresql")]
    rows = [r for r in table.scorecard_rows(recs) if r.key in {"set_lookup", "index"}]
    assert [(r.key, r.backend, r.measured) for r in rows] == \
        [("index", "sqlite", 20.0), ("index", "postgresql", 7.0), ("set_lookup", "any", 1100.0)]
    for backend in table.BACKENDS:
        only = {r.key: r for r in table.scorecard_rows(recs, backend=backend)}
        assert only["set_lookup"].measured == 1100.0
    unmeasured = {r.key: r for r in table.scorecard_rows([], backend="postgresql")}
    assert unmeasured["index"].why.endswith("PERFLAB_DATABASE_URL=postgresql://… perflab report --run 09")
    assert unmeasured["set_lookup"].why == "run notebooks/06-algorithms.ipynb, or: perflab report --run 06"


def test_the_summary_counts_each_backend_and_the_table_shows_the_date() -> None:
    recs = [rec("index", 20, time="2026-11-30T08:00:00+00:00"), rec("index", 7, backend="postgresql"),
            rec("set_lookup", 4500)]
    rows = table.scorecard_rows(recs)
    assert table.summary(rows) == ("of 26 claims, measured here: 2 on SQLite, 2 on PostgreSQL; "
                                   "the book's figure held for 2 on SQLite, 1 on PostgreSQL")
    assert rows[0].date == "2026-11-30" and "| 2026-11-30 |" in table.to_markdown(rows)


def test_the_terminal_table_fits_its_width_and_names_the_missing_chapters_once() -> None:
    rows = table.scorecard_rows([rec("index", 20, context="x" * 200)])
    text = table.to_text(rows, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.count("perflab report --run") == 1


def test_the_wide_frame_has_one_row_per_claim_with_both_backends() -> None:
    recs = [rec("index", 20), rec("index", 7, backend="postgresql"), rec("set_lookup", 4500)]
    frame = table.to_frame(table.scorecard_rows(recs), wide=True).set_index("claim")
    assert len(frame) == len(CLAIMS) and list(frame.columns)[1:3] == ["SQLite", "PostgreSQL"]
    assert (frame.loc["add an index", "SQLite"], frame.loc["add an index", "PostgreSQL"]) == ("20x ✅", "7.0x ❌")
    why = frame.loc["add an index", "why"]
    assert why.startswith("SQLite: ") and " PostgreSQL: " in why
    assert frame.loc["set lookup instead of list scan", "PostgreSQL"] == "4500x ✅ (any backend)"


def test_the_priority_check_pools_one_backend_at_a_time() -> None:
    rows = table.scorecard_rows([rec("index", 20), rec("index", 8, backend="postgresql"), rec("set_lookup", 1000)])
    sqlite, pg = table.priorities(rows, "sqlite"), table.priorities(rows, "postgresql")
    assert (sqlite[0].median, sqlite[0].count, pg[0].median, pg[0].count) == (20.0, 1, 8.0, 1)
    assert sqlite[3].count == pg[3].count == 1  # a claim that needs no database counts on each


def test_the_plot_keeps_its_legend_off_the_bands() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from perflab.scorecard.plot import plot_scorecard

    fig = plot_scorecard(table.scorecard_rows([rec("index", 20), rec("index", 9, backend="postgresql")]))
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.y0 >= ax.get_window_extent().y1 - 1
    plt.close(fig)
