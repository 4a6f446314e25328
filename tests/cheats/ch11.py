"""Chapter 11's exercise answered wrongly in ways that look right: each must fail its check."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from sqlite3 import connect  # bound at import time, before any check starts counting
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from perflab.exercises.ch11 import LATEST_SQL, PRODUCT_SQL, product_page_reference

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11-case-study.ipynb"
_REMEMBERED: dict[tuple[str, int], str] = {}


def memoised_starter(engine: Engine, product_id: int) -> dict[str, Any]:
    """The notebook's starter, untouched, behind a cache, plus one cheap statement per call: each page is slow
    once, then sends one statement, never 'no SQL'; only the first call for each product shows the N+1."""
    from conftest import notebook_starters

    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).all()
    key = (engine.url.render_as_string(), product_id)
    if key not in _REMEMBERED:
        _REMEMBERED[key] = json.dumps(notebook_starters(NOTEBOOK)["product_page"](engine, product_id))
    return dict(json.loads(_REMEMBERED[key]))


def in_python(engine: Engine, product_id: int) -> dict[str, Any]:
    """Three statements, but the co-purchases counted in Python from every order line of every order of the product."""
    page = product_page_reference(engine, product_id)
    with engine.connect() as conn:
        lines = conn.execute(text(
            "SELECT i.order_id, i.product_id, p.name FROM order_items AS i JOIN products AS p ON p.id = i.product_id "
            "WHERE i.order_id IN (SELECT order_id FROM order_items WHERE product_id = :pid)"),
            {"pid": product_id}).all()
    names = {pid: name for _, pid, name in lines}
    together = Counter(pid for _, pid in {(o, pid) for o, pid, _ in lines if pid != product_id})
    top = sorted(together.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    page["also_bought"] = [{"id": pid, "name": names[pid], "orders": n} for pid, n in top]
    return page


_LINES_SQL = ("SELECT i.order_id, i.product_id, p.name FROM order_items AS i JOIN products AS p ON p.id = i.product_id "
              "WHERE i.order_id IN (SELECT order_id FROM order_items WHERE product_id = ?)")


def hidden_in_python(engine: Engine, product_id: int) -> dict[str, Any]:
    """in_python's every order line, fetched on a sqlite3 connection opened with a ``connect`` imported before the
    check (PostgreSQL: through the engine, as in_python)."""
    if engine.dialect.name != "sqlite":
        return in_python(engine, product_id)
    pid = {"pid": product_id}
    with engine.connect() as conn:
        p = conn.execute(text(PRODUCT_SQL), pid).mappings().one()
        latest = conn.execute(text(LATEST_SQL), {**pid, "n": 10}).mappings().all()
    raw = connect(str(engine.url.database))
    try:
        lines = raw.execute(_LINES_SQL, (product_id,)).fetchall()
    finally:
        raw.close()
    names = {q: n for _, q, n in lines}
    together = Counter(q for _, q in {(o, q) for o, q, _ in lines if q != product_id})
    top = sorted(together.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    average = None if p["average"] is None else round(float(p["average"]), 2)
    return {"product": {k: p[k] for k in ("id", "name", "category", "price_cents")},
            "reviews": {"count": p["reviews"], "average": average},
            "latest_reviews": [dict(r) for r in latest],
            "also_bought": [{"id": q, "name": names[q], "orders": n} for q, n in top]}


_NOTEBOOK_ENGINE: list[Engine] = []


def hard_coded(engine: Engine, product_id: int) -> dict[str, Any]:
    """Answers from the notebook's database (the first engine it was given), whatever engine it is given now."""
    if not _NOTEBOOK_ENGINE:
        _NOTEBOOK_ENGINE.append(engine)
    return product_page_reference(_NOTEBOOK_ENGINE[0], product_id)


def reset() -> None:
    _REMEMBERED.clear()
    _NOTEBOOK_ENGINE.clear()


PRODUCT_PAGE = [
    (memoised_starter, "at most 4 allowed"),
    (in_python, "rows from the database"),
    (hidden_in_python, "rows from the database"),
    (hard_coded, "never showed"),
]
