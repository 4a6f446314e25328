from __future__ import annotations

import numpy as np

from perflab.generate import generate, row_counts
from perflab.schema import TABLES, Base


def test_columns_match_the_schema_in_order() -> None:
    tables = generate(0.01, 1)
    assert tuple(tables) == TABLES
    for name, columns in tables.items():
        assert list(columns) == [c.name for c in Base.metadata.tables[name].columns]
        lengths = {len(col) for col in columns.values()}
        assert len(lengths) == 1, f"{name} has ragged columns"


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a, b, c = generate(0.01, 5), generate(0.01, 5), generate(0.01, 6)
    assert np.array_equal(a["orders"]["user_id"], b["orders"]["user_id"])
    assert a["users"]["email"] == b["users"]["email"]
    assert not np.array_equal(a["orders"]["user_id"], c["orders"]["user_id"])


def test_order_totals_are_the_sum_of_their_items() -> None:
    t = generate(0.05, 17)
    items = t["order_items"]
    sums = np.bincount(items["order_id"] - 1, weights=items["quantity"] * items["unit_price_cents"])
    assert np.array_equal(t["orders"]["total_cents"], sums.astype(np.int64))


def test_foreign_keys_point_at_existing_rows() -> None:
    t = generate(0.05, 17)
    n = {name: len(cols["id"]) for name, cols in t.items()}
    for table, column, parent in [("orders", "user_id", "users"), ("order_items", "order_id", "orders"),
                                  ("order_items", "product_id", "products"), ("reviews", "user_id", "users"),
                                  ("reviews", "product_id", "products"), ("notifications", "user_id", "users")]:
        values = t[table][column]
        assert values.min() >= 1 and values.max() <= n[parent], f"{table}.{column}"


def test_realistic_skew() -> None:
    t = generate(1.0, 17)
    orders_per_user = np.bincount(t["orders"]["user_id"])
    top_1_percent = np.sort(orders_per_user)[-100:].sum() / orders_per_user.sum()
    assert top_1_percent > 0.05, "a few heavy customers should place a visible share of orders"
    items_per_product = np.sort(np.bincount(t["order_items"]["product_id"]))
    assert items_per_product[-20:].sum() > 5 * items_per_product[:1000].sum() / 50
    assert np.mean(t["notifications"]["is_read"]) < 0.3, "most notifications are unread"
    years = {s[:4] for s in t["orders"]["created_at"]}
    assert len(years) >= 6, "orders spread over years"
    assert set(np.unique(t["reviews"]["rating"])) == {1, 2, 3, 4, 5}


def test_row_counts_scale_and_have_a_floor() -> None:
    assert row_counts(1.0)["users"] == 10_000
    assert row_counts(0.0001)["users"] == 20
