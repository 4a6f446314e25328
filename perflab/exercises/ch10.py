"""Exercise checks of chapter 10: caching, with invalidation that never serves a stale answer."""

from __future__ import annotations

import functools
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name, plural
from perflab.errors import PerflabError
from perflab.exercises import (
    CheckResult,
    check_result,
    check_speedup,
    exercise,
    failed,
    materialize,
    passed,
    require,
    run_learner,
)
from perflab.exercises.checks import listed
from perflab.exercises.dbapi import Sent, SentStatements
from perflab.exercises.lockout import Lockout, LockUnavailable
from perflab.exercises.probes import is_probe
from perflab.exercises.unseen import UNSEEN_HINT, unseen_engine
from perflab.latency import inject_latency
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

#: Requests in the check's mix.
REQUESTS = 1000
#: Rows make_user_endpoint may read before the first request: a cache starts empty.
UPFRONT_ROWS = 5
#: The learner's cache must serve at least this share of what a perfect cache would (hits / ideal hits).
MIN_HIT_SHARE = 0.6
#: ... and at most the ideal hit ratio plus this: a cache that starts empty loads each user once, so more hits
#: than that mean answers loaded before the requests came (every user up front, or a cache left from a former run).
MAX_HIT_EXCESS = 0.02
#: A miss reads its user's summary: at most the user's orders plus this many rows (the user's row, one to spare).
MISS_ROW_SLACK = 2
#: Misses whose rows are counted: the first ones (where a whole table would be fetched) and a sample of the rest.
MISSES_COUNTED = (10, 30)
#: Users asked for again while the check holds users and orders locked, and how long such a hit may take (s).
LOCKED_REPEATS = 20
LOCKED_LIMIT = 1.0
#: Users whose repeated requests are timed, against the endpoint without a cache this many ms per round trip
#: away (as the chapter's L2 verdict: a Redis hit is a round trip too, no cheaper than an in-process query).
TIMED_USERS = 20
REFERENCE_LATENCY_MS = 1.0
#: A repeated request must be at least this many times faster than that.
MIN_SPEEDUP = 3.0
#: set_email may take this many times the UPDATE alone, plus this many seconds (a delete costs little;
#: waiting for the entry to expire does not).
WRITE_SLOWDOWN = 5.0
WRITE_ALLOWANCE = 0.05
#: Other users served between a user's read and its write: the write must name its user, not the last served.
OTHERS_BETWEEN = 2
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
_USERS = re.compile(r"\busers\b", re.IGNORECASE)
#: The misses of a run: each user id with the statements its request asked the dataset for.
Misses = list[tuple[int, list[Sent]]]


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

    1. On a fresh mix of requests (heavy customers more often), with statements counted at the DBAPI
       level (and as SQLAlchemy saw them) from *before* make_user_endpoint is called (a driver connection
       it opens is counted too; work the counter cannot see past fails):
       every answer, read to the end, must match the database; make_user_endpoint may read at most
       UPFRONT_ROWS rows (a cache starts empty); a request that sends no statement is a hit, and the
       hits must reach MIN_HIT_SHARE of a perfect cache's and at most what a cache that starts empty can
       (the ideal plus MAX_HIT_EXCESS); a miss must read its own user (a statement on ``users``, at most
       the user's orders plus MISS_ROW_SLACK rows).
    2. Users just served are asked for again while the check holds users and orders locked: a request
       that waits for the lock read the database, on whatever connection (see :mod:`.lockout`).
    3. Repeated requests must be MIN_SPEEDUP times faster than the endpoint without a cache, one
       REFERENCE_LATENCY_MS round trip away (the reference, not the learner's own misses).
    4. After set_email on a user served a few requests earlier (rows restored afterwards), the next
       answer must show the new email, and set_email may take at most WRITE_SLOWDOWN times the plain
       UPDATE plus WRITE_ALLOWANCE (waiting for the entry to expire is not invalidating it).
    5. A shorter pass on an unseen dataset catches a cache shared between engines.
    """
    name = fn_name(learner_fn)
    mix = request_mix(engine, requests)
    expected = {uid: user_summary_reference(engine, uid) for uid in set(mix)}
    with SentStatements() as sent:  # before the endpoint is made: the connections it opens are seen too
        summary, set_email = _endpoint(learner_fn, engine, name)
        on_dataset = _on_dataset(engine)
        require(_nothing_up_front([s for s in sent.asked if on_dataset(s)], name))
        hits, misses = _serve(summary, mix, expected, sent, on_dataset)
    if sent.hidden:  # work the counter cannot see past: another process, a counter switched off
        problem, fix = sent.hidden[0]
        require(failed(f"{name} {problem}", fix))
    require(hits)
    require(_misses_read_their_user(misses, expected))
    served = list(dict.fromkeys(mix))
    require(_hits_read_nothing(summary, engine, served[:LOCKED_REPEATS], expected))
    speed = require(_speedup(summary, engine, served[:TIMED_USERS]))
    written = [uid for uid, _ in Counter(mix).most_common(WRITES)]
    others = [uid for uid in served if uid not in written][:OTHERS_BETWEEN]
    require(_no_stale_answer(summary, set_email, engine, written, others))
    other = unseen_engine(engine)
    summary2, _ = _endpoint(learner_fn, other, name)
    for uid in request_mix(other, 20):
        require(check_result(_answer(summary2, uid), user_summary_reference(other, uid),
                             what=f"user_summary({uid}) on a second dataset your notebook never showed",
                             hint=UNSEEN_HINT + "; a cache shared by every endpoint must not mix their answers"))
    return passed(f"{name}: {hits.details['hit_ratio']:.0%} of {requests:,} requests served from the cache "
                  f"({hits.details['ideal']:.0%} at best), repeated requests {speed.details['speedup']:.0f}x faster "
                  f"than the endpoint without a cache {REFERENCE_LATENCY_MS:g} ms away, "
                  f"and no stale answer after {plural(WRITES, 'write')}", **hits.details,
                  speedup=speed.details["speedup"])


def _endpoint(learner_fn: Callable[..., Any], engine: Engine,
              name: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    made = run_learner(learner_fn, engine, name=name)
    if not (isinstance(made, tuple) and len(made) == 2 and all(callable(f) for f in made)):
        require(failed(f"{name}(engine) returned {type(made).__name__}, not the two functions",
                       "end make_user_endpoint with: return user_summary, set_email"))
    return made[0], made[1]


def _answer(summary: Callable[[int], Any], uid: int) -> Any:
    """The learner's answer for ``uid``, read to the end (a lazy value queries now, where it is seen)."""
    return materialize(run_learner(summary, uid, name="user_summary"))


def _rows_read(statements: list[Sent], name: str) -> int:
    """Rows ``statements`` returned (SQLite: each run again, read-only); one whose result cannot be known
    (a temporary table, a function of the learner's connection) stops the check: it fails closed."""
    counter = SentStatements()  # never entered: it only totals these statements
    counter.all = list(statements)
    unknown = counter.unmeasured()
    if unknown is not None:
        require(failed(f"{name} sent a statement whose rows the check cannot count: {listed([unknown])}",
                       "the check runs each statement again on a connection of its own to count what it "
                       "returned: query the dataset's tables themselves"))
    return counter.rows() or 0


def _on_dataset(engine: Engine) -> Callable[[Sent], bool]:
    """Whether a statement went to the engine's database (not to a cache's own SQLite files, as diskcache's)."""
    if engine.dialect.name == "postgresql":
        return lambda s: s.backend != "sqlite"
    path = os.path.realpath(engine.url.database or ":memory:")
    return lambda s: s.backend != "sqlite" or s.database is None or os.path.realpath(s.database) == path


def _nothing_up_front(asked: list[Sent], name: str) -> CheckResult:
    """make_user_endpoint may set up, not load: at most UPFRONT_ROWS rows read before the first request."""
    rows = _rows_read(asked, f"{name}(engine)")
    if rows > UPFRONT_ROWS:
        return failed(f"{name}(engine) read {rows:,} rows before the first request ({listed(asked)}), "
                      "as if every answer were loaded up front",
                      "a cache starts empty and fills on misses: load a user's summary when it is first asked "
                      "for, inside user_summary", upfront_rows=rows)
    return passed("nothing loaded up front")


def _serve(summary: Callable[[int], Any], mix: list[int], expected: dict[int, Any],
           sent: SentStatements, on_dataset: Callable[[Sent], bool]) -> tuple[CheckResult, Misses]:
    """Serve the mix once, reading each answer to the end; a request that sent no SQL to the dataset is a hit
    (a cache's own SQLite files, as diskcache's, are not the dataset).

    Returns the hit ratio's result and the misses: each user id with the statements it asked for.
    """
    hits = 0
    misses: Misses = []
    for uid in mix:
        before, seen_before = len(sent.all), len(sent.sqlalchemy)
        got = _answer(summary, uid)  # a lazy answer reads now, counted
        counted = [s for s in sent.all[before:] if on_dataset(s)]
        seen = [s for s in sent.sqlalchemy[seen_before:] if on_dataset(s)]  # also with a counter switched off
        if not counted and not seen:  # nothing sent to the dataset, not even a transaction probe
            hits += 1
        else:
            asked = [s for s in counted if not is_probe(s.sql, s.backend)]
            seen = [s for s in seen if not is_probe(s.sql, s.backend)]
            misses.append((uid, asked if len(asked) >= len(seen) else seen))
        require(check_result(got, expected[uid], what=f"user_summary({uid})"))
    ideal = 1 - len(expected) / len(mix)
    ratio = hits / len(mix)
    details = {"hits": hits, "hit_ratio": ratio, "ideal": ideal, "requests": len(mix)}
    if ratio > ideal + MAX_HIT_EXCESS:
        return failed(f"user_summary served {hits:,} of {len(mix):,} requests without a SQL statement (hit ratio "
                      f"{ratio:.0%}), more than a cache that starts empty can reach: it must load each of the "
                      f"{len(expected):,} users asked for once, so at most {ideal:.0%} of requests are hits",
                      "load a user's summary when it is first asked for: a cache fills on misses (make it inside "
                      "make_user_endpoint, or clear a shared one that still holds an earlier run's answers)",
                      **details), misses
    if ratio < MIN_HIT_SHARE * ideal:
        return failed(f"user_summary served {hits:,} of {len(mix):,} requests without a SQL statement (hit ratio "
                      f"{ratio:.0%}; a cache that keeps every answer reaches {ideal:.0%}, at least "
                      f"{MIN_HIT_SHARE * ideal:.0%} needed)", _NO_HITS, **details), misses
    return passed(f"hit ratio {ratio:.0%}", **details), misses


def _misses_read_their_user(misses: Misses, expected: dict[int, Any]) -> CheckResult:
    """Each miss reads its own user: a statement on ``users``; the first misses and a sample of the others
    at most the user's orders plus MISS_ROW_SLACK rows (not a whole table fetched at the first miss)."""
    for uid, statements in misses:
        if not any(_USERS.search(s.sql) for s in statements):
            shown = listed(statements) if statements else "only transaction control"
            return failed(f"user_summary({uid}) sent {shown}, which does not read user {uid}: a request "
                          "that sends SQL must load the answer it returns",
                          "answer a request either from the cache (no SQL at all) or from the database (the "
                          "user's summary, then keep it): an answer kept from elsewhere is not a cache miss")
    first, sampled = MISSES_COUNTED
    rest = misses[first:]
    for uid, statements in misses[:first] + random.sample(rest, min(sampled, len(rest))):
        rows, most = _rows_read(statements, f"user_summary({uid})"), expected[uid]["orders"] + MISS_ROW_SLACK
        if rows > most:
            return failed(f"user_summary({uid}) read {rows:,} rows on a miss ({listed(statements)}), more than "
                          f"user {uid} and their {plural(expected[uid]['orders'], 'order')} take",
                          "on a miss load that user's summary only; a cache fills one answer at a time")
    return passed("each miss read its own user")


def _hits_read_nothing(summary: Callable[[int], Any], engine: Engine, users: list[int],
                       expected: dict[int, Any]) -> CheckResult:
    """Ask for each user twice, the second time with users and orders locked: a hit must not wait for them."""
    try:
        with Lockout(engine, ("users", "orders")) as lock:
            for uid in users:
                _answer(summary, uid)  # cached now, if it caches at all
                for _attempt in range(2):  # a hit slowed by something else once is let through the second time
                    got, waited = lock.run(functools.partial(_answer, summary, uid), limit=LOCKED_LIMIT)
                    if not waited:
                        break
                if waited:
                    return failed(f"user_summary({uid}), asked again right after it served user {uid}, waited "
                                  "for the database (the check held users and orders locked meanwhile): the "
                                  "repeated request read the database, on some connection, instead of a cache",
                                  _NO_HITS, locked=True)
                require(check_result(got, expected[uid], what=f"user_summary({uid})"))
    except LockUnavailable as exc:
        return failed(f"the check {exc} (to prove that repeated requests read nothing): another connection "
                      "keeps a transaction open on them",
                      "close what holds the dataset open (a connection or cursor left open in a cell, a "
                      "transaction not committed), then run the check again")
    return passed("repeated requests read nothing from the database")


def _speedup(summary: Callable[[int], Any], engine: Engine, users: list[int]) -> CheckResult:
    """Repeated requests against the endpoint without a cache, on an engine one simulated round trip away."""
    remote = engine.execution_options()  # the same pool; the delay only on this engine's statements
    with inject_latency(remote, REFERENCE_LATENCY_MS):
        return check_speedup(
            lambda: [materialize(summary(uid)) for uid in users],
            lambda: [user_summary_reference(remote, uid) for uid in users],
            MIN_SPEEDUP, budget=0.15, name="user_summary on repeated requests",
            hint="a repeated request should be answered by the cache, far sooner than the query one round trip "
                 "away: is the cache checked first, and is the answer kept as it is (no rebuilding on a hit)?")


def _no_stale_answer(summary: Callable[[int], Any], set_email: Callable[[int, str], Any], engine: Engine,
                     users: list[int], others: list[int]) -> CheckResult:
    """Change the email of users served a few requests earlier, through set_email; the next answers must show
    it, and set_email must not wait much longer than the UPDATE itself (rows restored afterwards)."""
    token = f"{time.time_ns() % 10**9:09d}"
    plain: list[float] = []
    took: list[float] = []
    with restoring(engine, "users", users):
        for uid in users:
            _answer(summary, uid)  # cached now, if it caches at all
            for other in others:  # the write must name its user, not the last one served
                _answer(summary, other)
            unchanged = user_summary_reference(engine, uid)["email"]
            start = time.perf_counter()
            set_email_reference(engine, uid, unchanged)  # the UPDATE alone, timed on the same row
            plain.append(time.perf_counter() - start)
            email = f"check-{token}-{uid}@example.test"
            start = time.perf_counter()
            run_learner(set_email, uid, email, name="set_email")
            took.append(time.perf_counter() - start)
            in_db = user_summary_reference(engine, uid)["email"]
            if in_db != email:
                return failed(f"set_email({uid}, ...) did not change the database (the email there is still "
                              f"{in_db!r})", "set_email must run the UPDATE; the cache only follows the database")
            got = _answer(summary, uid)
            if not isinstance(got, dict) or got.get("email") != email:
                shown = got.get("email") if isinstance(got, dict) else got
                return failed(f"user_summary({uid}) returned email {shown!r} right after set_email({uid}, "
                              f"{email!r})", _STALE)
    limit = WRITE_SLOWDOWN * statistics.median(plain) + WRITE_ALLOWANCE
    if min(took) > limit:
        return failed(f"set_email took {min(took) * 1e3:,.0f} ms or more each time, the UPDATE alone "
                      f"{statistics.median(plain) * 1e3:.1f} ms (at most {limit * 1e3:.0f} ms allowed): waiting "
                      "until the cached entry expires leaves every other reader a stale answer meanwhile",
                      "remove the user's entry when you write (or bump a version in its key), instead of waiting "
                      "for it to expire")
    return passed("no stale answer")
