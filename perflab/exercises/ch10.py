"""Exercise checks of chapter 10: caching, with invalidation that never serves a stale answer."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name, plural
from perflab.errors import PerflabError
from perflab.exercises import CheckResult, check_result, check_speedup, exercise, failed, passed, require, run_learner
from perflab.exercises.dbapi import SentStatements
from perflab.exercises.unseen import UNSEEN_HINT, unseen_engine
from perflab.restore import restoring

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The endpoint's query: one user's name and email, with the number and total of their orders.
USER_SUMMARY_SQL = """
    SELECT u.id, u.name, u.email, count(o.id) AS orders, coalesce(sum(o.total_cents), 0) AS spent_cents
    FROM users AS u LEFT JOIN orders AS o ON o.user_id = u.id
    WHERE u.id = :uid
    GROUP BY u.id, u.name, u.email
"""
SET_EMAIL_SQL = "UPDATE users SET email = :email WHERE id = :uid"

#: Requests in the check's mix, and how many of them are timed for the speedup.
REQUESTS = 1000
TIMED_REQUESTS = 300
#: The learner's cache must serve at least this share of what a perfect cache would (hits / ideal hits).
MIN_HIT_SHARE = 0.6
#: ... and at most the ideal hit ratio plus this: a cache that starts empty loads each user once, so more hits
#: than that mean answers loaded before the requests came (every user up front, or a cache left from a former run).
MAX_HIT_EXCESS = 0.02
#: A repeated request must be at least this many times faster than the uncached endpoint.
MIN_SPEEDUP = 3.0
#: Users whose email the check changes (and restores) to look for a stale answer.
WRITES = 3


def user_summary_reference(engine: Engine, user_id: int) -> dict[str, Any]:
    """The endpoint without a cache: ``{id, name, email, orders, spent_cents}`` of one user, from the database.

    >>> user_summary_reference(engine, 1)  # doctest: +SKIP
    {'id': 1, 'name': 'Ana Silva', 'email': 'ana.silva@example.com', 'orders': 4, 'spent_cents': 31120}
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        row = conn.execute(text(USER_SUMMARY_SQL), {"uid": int(user_id)}).mappings().one()
    return {k: int(v) if k in ("id", "orders", "spent_cents") else v for k, v in row.items()}


def set_email_reference(engine: Engine, user_id: int, email: str) -> None:
    """The endpoint's write path without a cache: change one user's email."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(SET_EMAIL_SQL), {"uid": int(user_id), "email": email})


def make_user_endpoint_reference(engine: Engine) -> tuple[Callable[[int], dict[str, Any]], Callable[[int, str], None]]:
    """Reference solution of 10-cache-endpoint: the endpoint behind a TTL cache, and a write path that deletes.

    >>> user_summary, set_email = make_user_endpoint_reference(engine)  # doctest: +SKIP
    >>> user_summary(1) is user_summary(1)  # the second call is a cache hit  # doctest: +SKIP
    True
    """
    from cachetools import TTLCache

    cache: TTLCache[int, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=300)

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        cache.pop(user_id, None)  # after the write: the next read loads the new row

    return user_summary, set_email


def request_mix(engine: Engine, n: int = REQUESTS, seed: int | None = None) -> list[int]:
    """``n`` user ids drawn as a shop's traffic: a user is asked for in proportion to their orders (plus one).

    >>> request_mix(engine, 5, seed=1)  # doctest: +SKIP
    [5283, 114, 8995, 5283, 2210]

    Heavy customers come back again and again; most users appear once or not at all. Parameters:
    ``n`` requests, ``seed`` (None: a fresh mix each call, so no answer can be prepared).
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT u.id, count(o.id) FROM users AS u LEFT JOIN orders AS o "
                                 "ON o.user_id = u.id GROUP BY u.id ORDER BY u.id")).all()
    if not rows:
        raise PerflabError("the users table is empty — build the dataset first: perflab.connect()")
    rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8), "big"))
    return rng.choices([r[0] for r in rows], weights=[r[1] + 1 for r in rows], k=n)


_NO_HITS = "it asks the database for every request, even for a user it has just served"
_STALE = ("after set_email, user_summary still returned the old email: the cache kept an entry the write "
          "made stale — remove it (or stop using its key) when you write")


@exercise(
    "10-cache-endpoint",
    hints=(
        _NO_HITS,
        "Keep the summaries in a cache made once in make_user_endpoint, e.g. cache = cachetools.TTLCache("
        "maxsize=10_000, ttl=300), keyed by user id: look there first, query only on a miss.",
        "In set_email, after the UPDATE, remove that user's entry (cache.pop(user_id, None)); or put a version "
        "number in the key and bump it on every write.",
    ),
    reference=make_user_endpoint_reference,
)
def _check_cache_endpoint(learner_fn: Callable[..., Any], *, engine: Engine, requests: int = REQUESTS) -> CheckResult:
    """make_user_endpoint(engine) -> (user_summary, set_email): cached reads, no stale answer after a write.

    On a fresh mix of requests (heavy customers more often): every answer must match the database, the
    cache must serve at least MIN_HIT_SHARE of the requests a perfect cache would and at most what a cache
    that starts empty can (the ideal plus MAX_HIT_EXCESS: no answers loaded up front), a repeated request
    must be MIN_SPEEDUP times faster than a first one (a fresh endpoint's miss path, or the uncached
    endpoint when a fresh endpoint does not miss), and after set_email (on users just served, restored
    afterwards) the next answer must show the new email. A request that sends no SQL statement is a hit:
    statements are counted at the DBAPI level from *before* make_user_endpoint is called, so a driver
    connection it opens (``sqlite3.connect``, ``psycopg.connect``) is counted too. A shorter pass on an
    unseen dataset catches a cache shared between engines.
    """
    name = fn_name(learner_fn)
    mix = request_mix(engine, requests)
    expected = {uid: user_summary_reference(engine, uid) for uid in set(mix)}
    with SentStatements() as sent:  # before the endpoint is made: the connections it opens are seen too
        summary, set_email = _endpoint(learner_fn, engine, name)
        hits = require(_serve(summary, mix, expected, sent, upfront=len(sent.asked)))
    timed = list(dict.fromkeys(mix[:TIMED_REQUESTS]))  # each user once: every request is a miss on a fresh endpoint
    speed = require(check_speedup(
        lambda: [summary(uid) for uid in timed], _miss_path(learner_fn, engine, timed),
        MIN_SPEEDUP, budget=0.15, name="user_summary on repeated requests",
        hint="a hit should cost a lookup in memory, not a query: is the cache checked before the database?"))
    written = [uid for uid, _ in Counter(mix).most_common(WRITES)]
    require(_no_stale_answer(summary, set_email, engine, written))
    other = unseen_engine(engine)
    summary2, _ = _endpoint(learner_fn, other, name)
    for uid in request_mix(other, 20):
        require(check_result(run_learner(summary2, uid, name="user_summary"), user_summary_reference(other, uid),
                             what=f"user_summary({uid}) on a second dataset your notebook never showed",
                             hint=UNSEEN_HINT + "; a cache shared by every endpoint must not mix their answers"))
    return passed(f"{name}: {hits.details['hit_ratio']:.0%} of {requests:,} requests served from the cache "
                  f"({hits.details['ideal']:.0%} at best), repeated requests {speed.details['speedup']:.0f}x faster "
                  "than first ones, "
                  f"and no stale answer after {plural(WRITES, 'write')}", **hits.details,
                  speedup=speed.details["speedup"])


def _endpoint(learner_fn: Callable[..., Any], engine: Engine,
              name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    made = run_learner(learner_fn, engine, name=name)
    if not (isinstance(made, tuple) and len(made) == 2 and all(callable(f) for f in made)):
        require(failed(f"{name}(engine) returned {type(made).__name__}, not the two functions",
                       "end make_user_endpoint with: return user_summary, set_email"))
    return made[0], made[1]


def _miss_path(learner_fn: Callable[..., Any], engine: Engine, uids: list[int]) -> Callable[[], list[Any]]:
    """The uncached endpoint to time: a fresh endpoint of the learner's asked for each user once (all misses).

    When a fresh endpoint answers without SQL (its cache outlives it), the reference's uncached endpoint.
    """
    def cold() -> list[Any]:
        fresh = learner_fn(engine)[0]
        return [fresh(uid) for uid in uids]

    with SentStatements() as sent:
        fresh = _endpoint(learner_fn, engine, fn_name(learner_fn))[0]
        for uid in uids:
            before = len(sent.all)
            run_learner(fresh, uid, name="user_summary")
            if len(sent.all) == before:
                return lambda: [user_summary_reference(engine, uid) for uid in uids]
    return cold


def _serve(summary: Callable[[int], Any], mix: list[int], expected: dict[int, Any], sent: SentStatements,
           upfront: int) -> CheckResult:
    """Serve the mix once, checking each answer; a request that sent no SQL is a hit (``upfront``: statements
    make_user_endpoint sent before the first request)."""
    hits = 0
    for uid in mix:
        before = len(sent.all)
        got = run_learner(summary, uid, name="user_summary")
        if len(sent.all) == before:  # nothing sent, not even a transaction probe
            hits += 1
        require(check_result(got, expected[uid], what=f"user_summary({uid})"))
    ideal = 1 - len(expected) / len(mix)
    ratio = hits / len(mix)
    details = {"hits": hits, "hit_ratio": ratio, "ideal": ideal, "requests": len(mix), "upfront": upfront}
    if ratio > ideal + MAX_HIT_EXCESS:
        made = f"; make_user_endpoint itself sent {plural(upfront, 'SQL statement')}" if upfront else ""
        return failed(f"user_summary served {hits:,} of {len(mix):,} requests without a SQL statement (hit ratio "
                      f"{ratio:.0%}), more than a cache that starts empty can reach: it must load each of the "
                      f"{len(expected):,} users asked for once, so at most {ideal:.0%} of requests are hits{made}",
                      "load a user's summary when it is first asked for, not every user up front: a cache fills "
                      "on misses (make it inside make_user_endpoint, or clear a shared one that still holds an "
                      "earlier run's answers)",
                      **details)
    if ratio < MIN_HIT_SHARE * ideal:
        return failed(f"user_summary served {hits:,} of {len(mix):,} requests without a SQL statement (hit ratio "
                      f"{ratio:.0%}; a cache that keeps every answer reaches {ideal:.0%}, at least "
                      f"{MIN_HIT_SHARE * ideal:.0%} needed)", _NO_HITS, **details)
    return passed(f"hit ratio {ratio:.0%}", **details)


def _no_stale_answer(summary: Callable[[int], Any], set_email: Callable[[int, str], Any], engine: Engine,
                     users: list[int]) -> CheckResult:
    """Change the email of users just served, through set_email; the next answers must show it (rows restored)."""
    token = f"{time.time_ns() % 10**9:09d}"
    with restoring(engine, "users", users):
        for uid in users:
            run_learner(summary, uid, name="user_summary")  # cached now, if it caches at all
            email = f"check-{token}-{uid}@example.test"
            run_learner(set_email, uid, email, name="set_email")
            in_db = user_summary_reference(engine, uid)["email"]
            if in_db != email:
                return failed(f"set_email({uid}, ...) did not change the database (the email there is still "
                              f"{in_db!r})", "set_email must run the UPDATE; the cache only follows the database")
            got = run_learner(summary, uid, name="user_summary")
            if not isinstance(got, dict) or got.get("email") != email:
                shown = got.get("email") if isinstance(got, dict) else got
                return failed(f"user_summary({uid}) returned email {shown!r} right after set_email({uid}, "
                              f"{email!r})", _STALE)
    return passed("no stale answer")
