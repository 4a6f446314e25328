"""Deterministic, vectorized generation of the perflab e-commerce rows (no database involved).

>>> from perflab.generate import generate
>>> tables = generate(scale=0.01, seed=17)
>>> len(tables["users"]["id"])
100

Every table is a dict of equal-length columns (NumPy arrays, or lists of ``str``), in the
column order of :mod:`perflab.schema`. The same ``scale`` and ``seed`` give the same rows on
every machine: only NumPy's ``PCG64`` generator and integer arithmetic are involved.

Skew, on purpose: a few heavy customers place many orders (a power law over a shuffled user
ranking), a few popular products appear in many order items, and most notifications are unread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

#: Bump when the generated rows or the fingerprint method change: every existing database is then rebuilt.
DATASET_VERSION = 2

BASE_ROWS = {"users": 10_000, "products": 2_000, "orders": 50_000, "reviews": 30_000, "notifications": 100_000}
MIN_ROWS = {"users": 20, "products": 10, "orders": 50, "reviews": 30, "notifications": 50}

START = np.datetime64("2019-01-01T00:00:00", "s").astype(np.int64)
END = np.datetime64("2025-12-31T23:59:59", "s").astype(np.int64)

FIRST = ("Ada Alan Bea Carl Dora Emil Fay Gus Hana Ivan Jun Kemal Lena Milo Nora Omar Pia Quinn Rosa Sven "
         "Tara Uma Vik Wei Xena Yusuf Zoe Ana Ben Chloe Dev Eli Fatima Goran Ines Jonas Kira Luca Mei Nils").split()
LAST = ("Ahmed Berg Costa Dubois Evans Fischer Garcia Haddad Ito Jensen Kowalski Lopez Moreau Novak Okafor "
        "Petrov Quispe Rossi Silva Tanaka Ueda Varga Weber Xu Yilmaz Zhang Murphy Nguyen Schmidt Kim").split()
COUNTRIES = np.array(["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "NL", "SE", "PL"])
COUNTRY_P = np.array([30, 12, 10, 8, 8, 7, 6, 5, 5, 4, 3, 2], dtype=float)
CATEGORIES = ("books", "electronics", "kitchen", "garden", "toys", "sports", "beauty", "music", "office", "pets")
ADJECTIVES = ("Compact Classic Smart Eco Deluxe Rugged Silent Bright Travel Pro Mini Vintage Modern Solar "
              "Wireless Handmade").split()
NOUNS = {
    "books": ("Novel", "Cookbook", "Atlas", "Guide"), "electronics": ("Headphones", "Charger", "Speaker", "Camera"),
    "kitchen": ("Kettle", "Knife", "Pan", "Grinder"), "garden": ("Hose", "Planter", "Shears", "Lamp"),
    "toys": ("Puzzle", "Robot", "Kite", "Blocks"), "sports": ("Racket", "Bottle", "Mat", "Helmet"),
    "beauty": ("Serum", "Brush", "Mirror", "Balm"), "music": ("Ukulele", "Metronome", "Vinyl", "Capo"),
    "office": ("Stapler", "Notebook", "Chair", "Monitor Arm"), "pets": ("Leash", "Bowl", "Bed", "Feeder"),
}
STATUSES = np.array(["pending", "paid", "shipped", "delivered", "cancelled"])
STATUS_P = np.array([3, 7, 10, 75, 5], dtype=float)
RATING_P = np.array([5, 7, 13, 30, 45], dtype=float)
REVIEW_TEXT = (
    "Broke after a week, would not buy again.",
    "Not what the pictures suggested.",
    "Does the job, nothing special.",
    "Good value and arrived quickly.",
    "Excellent, exactly what I needed.",
)
KINDS = np.array(["order_shipped", "promotion", "review_reply", "price_drop", "security"])
KIND_P = np.array([35, 30, 10, 20, 5], dtype=float)
KIND_TEXT = {
    "order_shipped": "Your order is on its way",
    "promotion": "New deals picked for you",
    "review_reply": "Someone replied to your review",
    "price_drop": "A product on your list is cheaper now",
    "security": "New sign-in to your account",
}

Columns = dict[str, Any]


def row_counts(scale: float) -> dict[str, int]:
    """Rows of the independent tables at ``scale`` (order_items follows from the orders)."""
    return {name: max(MIN_ROWS[name], round(base * scale)) for name, base in BASE_ROWS.items()}


def _power_law(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Probabilities over ``n`` ids where the k-th most popular id has weight k**-exponent (ranks shuffled)."""
    weights = np.arange(1, n + 1, dtype=float) ** -exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def _pick(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Draw 1-based ids with probabilities ``p`` (inverse-CDF on one uniform draw per row: fast and portable)."""
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64) + 1


def _choice(rng: np.random.Generator, values: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    return values[_pick(rng, weights / weights.sum(), size) - 1]


def timestamps(seconds: np.ndarray) -> list[str]:
    """Epoch seconds → ``'YYYY-MM-DD HH:MM:SS'`` strings (the text both backends accept)."""
    iso = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [s[:10] + " " + s[11:] for s in iso.tolist()]


def generate(scale: float = 1.0, seed: int = 17) -> dict[str, Columns]:
    """Generate every table's columns; same ``scale`` and ``seed`` → same rows, on any machine.

    >>> generate(0.01, 1)["orders"]["total_cents"][:1].dtype
    dtype('int64')

    Parameters: ``scale`` multiplies the row counts (1.0 ≈ 350k rows); ``seed`` picks the rows.
    """
    return dict(generate_tables(scale, seed))


def generate_tables(scale: float = 1.0, seed: int = 17) -> Iterator[tuple[str, Columns]]:
    """Yield ``(table, columns)`` in load order, so a loader can insert one table while the next is made."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = row_counts(scale)

    # users: names from small lists, a skewed country mix, sign-up dates over seven years.
    uid = np.arange(1, n["users"] + 1, dtype=np.int64)
    first = rng.integers(0, len(FIRST), n["users"]).tolist()
    last = rng.integers(0, len(LAST), n["users"]).tolist()
    names = [f"{FIRST[f]} {LAST[la]}" for f, la in zip(first, last)]
    emails = [f"{FIRST[f].lower()}.{LAST[la].lower()}{i}@example.com" for f, la, i in zip(first, last, uid.tolist())]
    user_created = rng.integers(START, END - 86_400 * 30, n["users"])
    users = {
        "id": uid, "name": names, "email": emails,
        "country": _choice(rng, COUNTRIES, COUNTRY_P, n["users"]).tolist(),
        "created_at": timestamps(user_created),
    }
    yield "users", users

    # products: prices log-normal around 25 dollars, ending in 99 cents.
    pid = np.arange(1, n["products"] + 1, dtype=np.int64)
    cat = rng.integers(0, len(CATEGORIES), n["products"]).tolist()
    adj = rng.integers(0, len(ADJECTIVES), n["products"]).tolist()
    noun = rng.integers(0, 4, n["products"]).tolist()
    price = (np.exp(rng.normal(3.2, 0.9, n["products"])).astype(np.int64).clip(0, 2_000) * 100 + 99)
    pnames = [f"{ADJECTIVES[a]} {NOUNS[CATEGORIES[c]][k]} {i:04d}" for a, c, k, i in zip(adj, cat, noun, pid.tolist())]
    products = {
        "id": pid, "name": pnames, "category": [CATEGORIES[c] for c in cat], "price_cents": price,
        "description": [f"{nm}: a {CATEGORIES[c]} favourite, built to last." for nm, c in zip(pnames, cat)],
    }
    yield "products", products

    # orders: a few heavy customers; each order placed after its customer signed up.
    user_p = _power_law(rng, n["users"], 0.7)
    oid = np.arange(1, n["orders"] + 1, dtype=np.int64)
    o_user = _pick(rng, user_p, n["orders"])
    since = user_created[o_user - 1]
    o_created = since + (rng.random(n["orders"]) * (END - since)).astype(np.int64)

    # order_items: 1-8 lines per order, popular products, the price at order time.
    per_order = np.minimum(1 + rng.poisson(2.0, n["orders"]), 8)
    i_order = np.repeat(oid, per_order)
    n_items = len(i_order)
    i_product = _pick(rng, _power_law(rng, n["products"], 0.8), n_items)
    quantity = np.minimum(rng.geometric(0.6, n_items), 9).astype(np.int64)
    unit_price = price[i_product - 1]
    totals = np.bincount(i_order - 1, weights=quantity * unit_price, minlength=n["orders"])
    orders = {
        "id": oid, "user_id": o_user,
        "status": _choice(rng, STATUSES, STATUS_P, n["orders"]).tolist(),
        "created_at": timestamps(o_created),
        "total_cents": np.rint(totals).astype(np.int64),
    }
    order_items = {
        "id": np.arange(1, n_items + 1, dtype=np.int64), "order_id": i_order, "product_id": i_product,
        "quantity": quantity, "unit_price_cents": unit_price,
    }
    yield "orders", orders
    yield "order_items", order_items

    # reviews: skewed to happy customers and to popular products.
    rating = _pick(rng, RATING_P / RATING_P.sum(), n["reviews"])
    reviews = {
        "id": np.arange(1, n["reviews"] + 1, dtype=np.int64),
        "user_id": _pick(rng, user_p, n["reviews"]),
        "product_id": _pick(rng, _power_law(rng, n["products"], 0.8), n["reviews"]),
        "rating": rating,
        "body": [REVIEW_TEXT[r - 1] for r in rating.tolist()],
        "created_at": timestamps(rng.integers(START, END, n["reviews"])),
    }
    yield "reviews", reviews

    # notifications: most are unread; older ones are more likely to have been read.
    created = np.sort(rng.integers(START, END, n["notifications"]))
    age = (END - created) / (END - START)
    kinds = _choice(rng, KINDS, KIND_P, n["notifications"]).tolist()
    notifications = {
        "id": np.arange(1, n["notifications"] + 1, dtype=np.int64),
        "user_id": _pick(rng, user_p, n["notifications"]),
        "kind": kinds,
        "message": [KIND_TEXT[k] for k in kinds],
        "is_read": rng.random(n["notifications"]) < 0.45 * age,
        "created_at": timestamps(created),
    }
    yield "notifications", notifications


def rows(columns: Columns) -> Iterator[tuple[Any, ...]]:
    """Columns → row tuples of plain Python values (what ``executemany`` wants), made lazily."""
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns.values()]
    return zip(*lists)
