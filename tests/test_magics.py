from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy.engine import Engine

from perflab.magics import MagicUsageError, _split_options
from perflab.querylog import QueryLog, TooManyQueries
from perflab.timing import Measurement

pytestmark = pytest.mark.filterwarnings("ignore::perflab.timing.NoisyMeasurement")  # tiny budgets here

Shown = list[dict[str, Any]]

N_PLUS_ONE_CELL = """\
import sqlalchemy as sa
with engine.connect() as conn:
    ids = conn.execute(sa.text("SELECT id FROM users ORDER BY id LIMIT 6")).scalars().all()
    for uid in ids:
        conn.execute(sa.text("SELECT id FROM orders WHERE user_id = :u"), {"u": uid}).all()
"""


@pytest.fixture
def ip(monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine) -> Iterator[InteractiveShell]:
    """The test IPython shell with ``%load_ext perflab`` done and ``engine`` defined."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    assert shell is not None
    result = shell.run_cell("%load_ext perflab", store_history=False)
    assert result.success, result.error_in_exec
    shell.user_ns["engine"] = sqlite_engine
    yield shell
    for name in ("engine", "db", "_queries", "_measure", "seen", "x", "y"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def shown(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Everything the shell displays (display() bundles), captured instead of printed."""
    bundles: list[dict[str, Any]] = []
    monkeypatch.setattr(ip.display_pub, "publish", lambda data, *a, **k: bundles.append(data))
    return bundles


def test_load_ext_perflab_registers_the_magics(ip: InteractiveShell) -> None:
    assert "queries" in ip.magics_manager.magics["cell"]
    assert "measure" in ip.magics_manager.magics["line"]
    assert "measure" in ip.magics_manager.magics["cell"]


# ---------------------------------------------------------------------------------------------------------
# %%queries


def test_queries_counts_and_lists_the_sql(ip: InteractiveShell, shown: Shown) -> None:
    result = ip.run_cell("%%queries\n" + N_PLUS_ONE_CELL, store_history=False)
    assert result.success, result.error_in_exec
    assert len(shown) == 1
    text, markup = shown[0]["text/plain"], shown[0]["text/html"]
    assert text.startswith("7 statements (+ BEGIN, ROLLBACK) in ")
    assert text.splitlines()[0].endswith(", 1 finding")
    assert text.splitlines()[1].startswith("  ! SELECT id FROM orders WHERE user_id = ? ran 6 times "
                                           "(from line 5 of the cell) → "
                                           "N+1: one query per row; fetch all the rows in one query")
    assert "<table>" in markup and "ran 6 times (from line 5 of the cell)" in markup
    log = ip.user_ns["_queries"]
    assert isinstance(log, QueryLog) and log.count == 7 and not log.active


def test_queries_with_a_named_engine(ip: InteractiveShell, shown: Shown) -> None:
    ip.user_ns["db"] = ip.user_ns.pop("engine")
    ip.user_ns["engine"] = None  # the cell uses `engine`: point it at the same engine through -e
    result = ip.run_cell("%%queries -e db\nengine = db\n" + N_PLUS_ONE_CELL, store_history=False)
    assert result.success, result.error_in_exec
    assert shown[0]["text/plain"].startswith("7 statements (+ BEGIN, ROLLBACK)")


def test_queries_dotted_engine_name(ip: InteractiveShell, shown: Shown) -> None:
    class App:
        engine = ip.user_ns["engine"]

    ip.user_ns["db"] = App()
    assert ip.run_cell("%%queries -e db.engine\n" + N_PLUS_ONE_CELL, store_history=False).success
    assert shown[0]["text/plain"].startswith("7 statements (+ BEGIN, ROLLBACK)")


def test_queries_without_an_engine_is_a_one_line_usage_error(ip: InteractiveShell) -> None:
    del ip.user_ns["engine"]
    result = ip.run_cell("%%queries\n1", store_history=False)
    err = result.error_in_exec
    assert isinstance(err, MagicUsageError)
    assert "no variable named 'engine'" in str(err) and "-e" in str(err)
    assert err._render_traceback_() == [f"MagicUsageError: {err}"]
    result = ip.run_cell("%%queries -e db.nope\n1", store_history=False)
    assert isinstance(result.error_in_exec, MagicUsageError)


def test_queries_max_fails_after_showing_the_log(ip: InteractiveShell, shown: Shown) -> None:
    result = ip.run_cell("%%queries --max 2\n" + N_PLUS_ONE_CELL, store_history=False)
    err = result.error_in_exec
    assert isinstance(err, TooManyQueries) and isinstance(err, AssertionError)
    assert "the cell ran 7 statements, expected at most 2; SELECT id FROM orders" in str(err) and "N+1" in str(err)
    assert len(shown) == 1
    assert ip.run_cell("%%queries --max 7\n" + N_PLUS_ONE_CELL, store_history=False).success


def test_queries_quiet(ip: InteractiveShell, shown: Shown) -> None:
    assert ip.run_cell("%%queries --quiet\n" + N_PLUS_ONE_CELL, store_history=False).success
    lines = shown[0]["text/plain"].splitlines()
    assert len(lines) == 2 and lines[0].startswith("7 statements")
    assert lines[1] == ("  ! SELECT id FROM orders WHERE user_id = ? ran 6 times (from line 5 of the cell) → "
                        "N+1: one query per "
                        "row; fetch all the rows in one query (WHERE ... IN (...) or a JOIN)")
    assert "<table>" not in shown[0]["text/html"]


ORM_CELL = """\
from sqlalchemy import select
from sqlalchemy.orm import Session
from perflab.schema import Order, User
with Session(engine) as session:
    users = session.scalars(select(User).order_by(User.id).limit(100)).all()
    order_counts = [len(u.orders) for u in users]  # chapter 02: each u.orders is a lazy load
    orders = session.scalars(select(Order).order_by(Order.id).limit(20)).all()
    for order in orders:
        for item in order.items:
            item.product
"""


def test_queries_names_lazy_loads_one_line_each(ip: InteractiveShell, shown: Shown) -> None:
    assert ip.run_cell("%%queries --quiet\n" + ORM_CELL, store_history=False).success
    summary, *findings = shown[0]["text/plain"].splitlines()
    assert summary.startswith("1") and summary.endswith(", 3 findings")
    assert findings[0] == ("  ! `User.orders` lazy-loaded 100 times (from line 6 of the cell) → "
                           "`selectinload(User.orders)` "
                           "(one-to-many: joinedload would repeat each User's columns on every Order row)")
    assert findings[1].startswith("  ! `OrderItem.product` lazy-loaded ")
    assert findings[1].endswith(" times (from line 10 of the cell) → "
                                "`selectinload(Order.items).selectinload(OrderItem.product)` "
                                "(many-to-one: `joinedload(OrderItem.product)` is as good: one JOIN, each OrderItem "
                                "row just gains its Product's columns)")
    assert findings[2] == ("  ! `Order.items` lazy-loaded 20 times (from line 9 of the cell) → "
                           "`selectinload(Order.items)` "
                           "(one-to-many: joinedload would repeat each Order's columns on every OrderItem row)")
    print("\n".join(findings))


def test_queries_cell_error_still_shows_the_log(ip: InteractiveShell, shown: Shown) -> None:
    cell = "%%queries --max 0\nwith engine.connect() as c:\n    c.exec_driver_sql('SELECT 1').all()\n1 / 0\n"
    result = ip.run_cell(cell, store_history=False)
    assert isinstance(result.error_in_exec, ZeroDivisionError)  # the cell's own error, not TooManyQueries
    assert shown[-1]["text/plain"].startswith("1 statement (+ BEGIN, ROLLBACK) in ")


def test_queries_cell_runs_in_the_notebook_namespace(ip: InteractiveShell, shown: Shown) -> None:
    result = ip.run_cell("%%queries\nx = 6\nx * 7", store_history=False)
    assert result.success and result.result == 42  # the last expression is the cell's value
    assert ip.user_ns["x"] == 6
    assert shown[0]["text/plain"].startswith("0 statements")


# ---------------------------------------------------------------------------------------------------------
# %measure / %%measure


def test_measure_line_returns_and_stores_a_measurement(ip: InteractiveShell, shown: Shown) -> None:
    m = ip.run_line_magic("measure", "-o -b 0.01 sum(range(10))")
    assert isinstance(m, Measurement) and m.median > 0 and m.name == "sum(range(10))"
    assert ip.user_ns["_measure"] is m
    assert "median ± IQR/2" in shown[0]["text/plain"]
    assert ip.run_line_magic("measure", "-b 0.01 sum(range(10))") is None  # shown, not returned
    assert len(shown) == 2
    assert ip.run_line_magic("measure", "-q -o -b 0.01 sum(range(10))") is not None
    assert len(shown) == 2


def test_measure_keeps_the_expression_verbatim(ip: InteractiveShell) -> None:
    ip.user_ns["seen"] = []
    ip.run_line_magic("measure", '-q -b 0.01 -r 3 seen.append("a  b")')
    assert ip.user_ns["seen"][0] == "a  b"


def test_measure_a_statement_and_a_cell(ip: InteractiveShell) -> None:
    assert ip.run_cell("%measure -q -b 0.01 y = 6 * 7", store_history=False).success
    assert ip.user_ns["y"] == 42
    m = ip.run_cell_magic("measure", "-q -o -b 0.01", "x = sum(range(10))\n")
    assert isinstance(m, Measurement)
    assert ip.user_ns["x"] == 45


def test_measure_in_a_cell_via_run_cell(ip: InteractiveShell) -> None:
    result = ip.run_cell("m = %measure -q -o -b 0.01 len('abc')", store_history=False)
    assert result.success, result.error_in_exec
    assert isinstance(ip.user_ns["m"], Measurement)
    ip.user_ns.pop("m")


@pytest.mark.parametrize(("line", "message"), [("-b 0.01", "needs an expression"),
                                               ("-b 0.01 sum(", "does not compile")])
def test_measure_usage_errors(ip: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(MagicUsageError, match=message):
        ip.run_line_magic("measure", line)


def test_split_options() -> None:
    assert _split_options("-b 0.5 f('a  b')", {"-b"}) == ("-b 0.5", "f('a  b')")
    assert _split_options("-o -b=0.5 -r 3 x - 1", {"-b", "-r"}) == ("-o -b=0.5 -r 3", "x - 1")
    assert _split_options("-1 + x", {"-b"}) == ("", "-1 + x")
    assert _split_options("  ", {"-b"}) == ("", "")


# ---------------------------------------------------------------------------------------------------------
# Import hygiene and a real kernel


def test_core_modules_do_not_import_ipython() -> None:
    code = ("import sys, perflab, perflab.claims, perflab.exercises; "
            "print(sorted(m for m in ('IPython', 'perflab.magics', 'nbclient') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_magics_in_a_real_kernel() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("%load_ext perflab"),
        v4.new_code_cell("import sqlalchemy as sa\nengine = sa.create_engine('sqlite://')"),
        v4.new_code_cell("%%queries\nwith engine.connect() as conn:\n"
                         "    for i in range(6):\n        conn.exec_driver_sql('SELECT ?', (i,)).all()"),
        v4.new_code_cell("_queries.count"),
        v4.new_code_cell("m = %measure -o -b 0.01 sum(range(100))\ntype(m).__name__"),
        v4.new_code_cell("%%queries --max 1\nwith engine.connect() as conn:\n"
                         "    conn.exec_driver_sql('SELECT 1').all()\n"
                         "    conn.exec_driver_sql('SELECT 2').all()"),
    ])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute()
    cells = nb.cells
    assert not any(o.output_type == "error" for c in cells[:5] for o in c.outputs), [c.outputs for c in cells]
    (log_output,) = [o for o in cells[2].outputs if o.output_type == "display_data"]
    assert log_output.data["text/plain"].startswith("6 statements (+ BEGIN, ROLLBACK) in ")
    assert "ran 6 times (from line 3 of the cell) → N+1: one query per row" in log_output.data["text/plain"]
    assert "<table>" in log_output.data["text/html"]
    assert cells[3].outputs[0].data["text/plain"] == "6"
    assert cells[4].outputs[-1].data["text/plain"] == "'Measurement'"
    (error,) = [o for o in cells[5].outputs if o.output_type == "error"]
    assert error.ename == "CellTooManyQueries"
    assert len(error.traceback) == 1 and "expected at most 1" in error.traceback[0]  # one line, no wall
