"""Exercise checks of chapter 03: lazy vs eager loading.

>>> from perflab.exercises.ch03 import PATTERNS, STRATEGIES
>>> list(PATTERNS), STRATEGIES
(['top-customers', 'order-list', 'regulars'], ('lazy', 'joined', 'selectin', 'subquery'))

The check of "03-pick-strategy" measures, with the chapter's cost model: it runs each access pattern with
every loading strategy and prices each run at its time here plus :data:`ROUND_TRIP_MS` per round trip (each
statement, and the BEGIN and ROLLBACK of the page's session), what the chapter's ``net`` engine charges. Each
option is timed :data:`RUNS` times, interleaved, and keeps its best time. A pick passes when it costs at
most :data:`TOLERANCE` times the cheapest option; a pick that seems to cost more is timed as many times
again, with the options it is compared with, before it fails. Statements, round trips, rows and
values sent (rows × columns, counted by running each recorded statement again) are shown in
``details["table"]`` once every pick passes (before that the table would give the answers away).

Only the choice may differ between the options: the check refuses an engine with injected latency (it
prices the round trips itself) or a database other than the course's dataset (a small one brings the
options closer together), and a function that leaves something behind that would change the
measurement: an event listener, a thread, a process, a tracer, a replaced page (``check()`` itself fails a
function that rebinds the course's own names, such as this module's helpers).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perflab.display import fn_name
from perflab.errors import PerflabError
from perflab.exercises import CheckResult, exercise, failed, passed, run_learner
from perflab.exercises.ch07 import reuses
from perflab.loading import once_ms, transferred

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

#: The loading strategies a learner can pick from.
STRATEGIES = ("lazy", "joined", "selectin", "subquery")
#: SQLAlchemy's own names for them: ``relationship(lazy="select")`` and the loader options.
ALIASES = {"select": "lazy", "lazyload": "lazy", "joinedload": "joined", "selectinload": "selectin",
           "subqueryload": "subquery"}
#: SQLAlchemy's other settings, which are not a way of loading the related rows the page reads.
NOT_LOADING = {
    "noload": "'noload' never loads the related rows: a page that reads them gets None or an empty list",
    "raise": "'raise' makes reading the related rows an error",
    "raiseload": "'raiseload' makes reading the related rows an error",
    "immediate": "'immediate' is not among the four: it loads each parent's related rows by a query of its own",
    "dynamic": "'dynamic' is not among the four: it hands out a query instead of the related rows",
    "write_only": "'write_only' is not among the four: it never loads the related rows",
}
#: What a round trip to a database one network hop away costs: the chapter's ``net`` engine (1 ms).
ROUND_TRIP_MS = 1.0
#: Timed runs of each pattern and strategy (interleaved); the best one counts. A pick that seems to cost over
#: TOLERANCE times the cheapest is timed as many times again before it fails.
RUNS = 3
#: A pick passes when it costs at most this many times the cheapest option. Measured at scale 1 (SQLite,
#: quiet and busy machine): the wrong picks cost 7-40x the cheapest (eager for the top customers, lazy for the
#: lists, the JOIN for the regulars' collections side by side); the right ones came within 1.0-1.6x of each
#: other (joined, selectin and subquery for the order list; selectin and subquery for the regulars).
TOLERANCE = 3.0
#: After the first run, options that cost more than this many times the cheapest are not timed again
#: (unless the learner picked them): they are far out of reach.
FAR = 10.0
#: How many of the biggest customers the top-customers page shows, and how many regulars the last page.
TOP_CUSTOMERS, REGULARS = 5, 10
#: Regular customers: those with this many orders (from, to).
REGULAR_ORDERS = (30, 49)


@dataclass(frozen=True)
class Pattern:
    """An access pattern of the exercise: what a page shows, and the code that shows it."""

    name: str
    description: str
    run: Callable[[Engine, str, list[int]], Any]
    """The page's code: ``run(engine, strategy, ids)``, ids being the users it shows (``parents(engine)``)."""
    parents: Callable[[Engine], list[int]]
    """The ids of the users the page shows (none for a page that starts from orders)."""


def _options(strategy: str, *paths: tuple[Any, ...]) -> list[Any]:
    """The loader options for ``strategy`` along relationship paths (nothing for "lazy", the default)."""
    from sqlalchemy.orm import joinedload, selectinload, subqueryload

    if strategy == "lazy":
        return []
    loader = {"joined": joinedload, "selectin": selectinload, "subquery": subqueryload}[strategy]
    options = []
    for first, *rest in paths:
        option = loader(first)
        for attr in rest:
            option = getattr(option, f"{strategy}load")(attr)
        options.append(option)
    return options


def heaviest_customers(engine: Engine, n: int = TOP_CUSTOMERS) -> list[int]:
    """The ids of the ``n`` users with the most orders (ties broken by id)."""
    from sqlalchemy import func, select

    from perflab.schema import Order

    stmt = select(Order.user_id).group_by(Order.user_id).order_by(func.count().desc(), Order.user_id).limit(n)
    with engine.connect() as conn:
        ids = list(conn.scalars(stmt))
    if not ids:
        raise PerflabError("the orders table is empty — build the dataset first: perflab.connect() or `perflab build`")
    return ids


def regular_customers(engine: Engine, n: int = REGULARS, orders: tuple[int, int] = REGULAR_ORDERS) -> list[int]:
    """The ids of the first ``n`` users (by id) with between ``orders[0]`` and ``orders[1]`` orders."""
    from sqlalchemy import func, select

    from perflab.schema import Order

    stmt = (select(Order.user_id).group_by(Order.user_id).having(func.count().between(*orders))
            .order_by(Order.user_id).limit(n))
    with engine.connect() as conn:
        ids = list(conn.scalars(stmt))
    if not ids:
        raise PerflabError(f"no user has {orders[0]}-{orders[1]} orders — build the course's dataset first: "
                           "perflab.connect() or `perflab build`")
    return ids


def _top_customers(engine: Engine, strategy: str, ids: list[int]) -> list[tuple[str, str]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from perflab.schema import User

    with Session(engine) as session:
        stmt = select(User).where(User.id.in_(ids)).order_by(User.id).options(*_options(strategy, (User.orders,)))
        return [(u.name, u.email) for u in session.scalars(stmt).unique()]


def _order_list(engine: Engine, strategy: str, ids: list[int]) -> list[tuple[int, int, str]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from perflab.schema import Order

    with Session(engine) as session:
        stmt = select(Order).order_by(Order.id.desc()).limit(200).options(*_options(strategy, (Order.user,)))
        return [(o.id, o.total_cents, o.user.name) for o in session.scalars(stmt).unique()]


def _regulars(engine: Engine, strategy: str, ids: list[int]) -> list[tuple[int, int, int, int]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from perflab.schema import Order, User

    with Session(engine) as session:
        stmt = (select(User).where(User.id.in_(ids)).order_by(User.id)
                .options(*_options(strategy, (User.orders, Order.items), (User.reviews,))))
        return [(u.id, len(u.orders), sum(item.quantity for o in u.orders for item in o.items), len(u.reviews))
                for u in session.scalars(stmt).unique()]


def _no_parents(engine: Engine) -> list[int]:
    return []


#: The three access patterns of the exercise, by name.
PATTERNS: dict[str, Pattern] = {p.name: p for p in (
    Pattern("top-customers", f"the names and emails of our {TOP_CUSTOMERS} biggest customers (their orders are "
            "not shown)", _top_customers, heaviest_customers),
    Pattern("order-list", "the 200 newest orders, each with its customer's name (many-to-one: Order.user)",
            _order_list, _no_parents),
    Pattern("regulars", f"{REGULARS} regular customers ({REGULAR_ORDERS[0]}-{REGULAR_ORDERS[1]} orders each) with "
            "all their orders, every item of each order, and all their reviews (User.orders → Order.items, "
            "and User.reviews beside them)", _regulars, regular_customers),
)}


@dataclass(frozen=True)
class Cost:
    """What one access pattern costs with one strategy: statements, round trips, rows and values sent, times."""

    pattern: str
    strategy: str
    statements: int
    round_trips: int
    rows: int
    values: int
    times_ms: tuple[float, ...] = ()
    """Each timed run, in milliseconds."""

    @property
    def best_ms(self) -> float:
        """The best timed run (milliseconds): the one a busy machine disturbed least."""
        return min(self.times_ms) if self.times_ms else float("nan")

    @property
    def price_ms(self) -> float:
        """The price: the best time here plus ROUND_TRIP_MS per round trip."""
        return self.best_ms + self.round_trips * ROUND_TRIP_MS

    def timed(self, ms: float) -> Cost:
        """This cost with one more timed run."""
        return dataclasses.replace(self, times_ms=(*self.times_ms, ms))


def _ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _run(pattern: str, strategy: str) -> Callable[[Engine, list[int]], Any]:
    if pattern not in PATTERNS:
        raise PerflabError(f"unknown access pattern {pattern!r}; use one of {', '.join(PATTERNS)}")
    if strategy not in STRATEGIES:
        raise PerflabError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    run = PATTERNS[pattern].run
    return lambda engine, ids: run(engine, strategy, ids)


def count_pattern(engine: Engine, pattern: str, strategy: str, ids: list[int] | None = None) -> Cost:
    """Run one access pattern with one strategy under a query log: what it sends (not timed).

    >>> count_pattern(engine, "order-list", "joined").statements  # doctest: +SKIP
    1

    Parameters: ``pattern`` (a key of PATTERNS), ``strategy`` (one of STRATEGIES), ``ids`` (the users
    the page shows, looked up with the pattern's ``parents`` when None).
    """
    from perflab.querylog import query_log

    run = _run(pattern, strategy)
    ids = PATTERNS[pattern].parents(engine) if ids is None else ids
    with query_log(engine) as log:
        run(engine, ids)
    rows, values = transferred(engine, log.statements)
    return Cost(pattern, strategy, log.count, log.round_trips, rows, values)


def measure_pattern(engine: Engine, pattern: str, strategy: str, ids: list[int] | None = None,
                    clock: Callable[[], float] = time.perf_counter) -> Cost:
    """:func:`count_pattern`, then one timed run (garbage collector off): a Cost with its price.

    >>> measure_pattern(engine, "order-list", "joined").price_ms  # doctest: +SKIP
    9.2
    """
    ids = PATTERNS[pattern].parents(engine) if ids is None and pattern in PATTERNS else ids
    counted = count_pattern(engine, pattern, strategy, ids)
    return counted.timed(once_ms(_run(pattern, strategy), engine, ids, clock=clock))


def strategy_costs(engine: Engine, runs: int = RUNS, clock: Callable[[], float] = time.perf_counter,
                   keep: dict[str, str] | None = None) -> dict[tuple[str, str], Cost]:
    """Every pattern with every strategy: counted once, then timed ``runs`` times, interleaved.

    >>> costs = strategy_costs(engine)  # doctest: +SKIP
    >>> costs["order-list", "lazy"].statements  # doctest: +SKIP
    175

    About 1.5 s a run at scale 1, mostly the regulars' lazy and joined runs; after the first run, an option
    that costs over :data:`FAR` times the cheapest is not timed again, unless ``keep`` (pattern → strategy,
    the learner's picks) names it.
    """
    ids = {p: pattern.parents(engine) for p, pattern in PATTERNS.items()}
    costs = {(p, s): count_pattern(engine, p, s, ids[p]) for p in PATTERNS for s in STRATEGIES}
    keys = list(costs)
    for run in range(max(1, runs)):
        if run == 1:
            keys = [(p, s) for p, s in keys
                    if costs[p, s].price_ms <= FAR * _cheapest(costs, p).price_ms or (keep or {}).get(p) == s]
        _time(costs, keys, ids, engine, clock)
    return costs


def _time(costs: dict[tuple[str, str], Cost], keys: list[tuple[str, str]], ids: dict[str, list[int]],
          engine: Engine, clock: Callable[[], float]) -> None:
    for p, s in keys:
        costs[p, s] = costs[p, s].timed(once_ms(_run(p, s), engine, ids[p], clock=clock))


def _cheapest(costs: dict[tuple[str, str], Cost], pattern: str) -> Cost:
    return min((costs[pattern, s] for s in STRATEGIES), key=lambda c: c.price_ms)


def costs_table(costs: dict[tuple[str, str], Cost]) -> pd.DataFrame:
    """The costs as a DataFrame: one row per pattern and strategy, the cheapest per pattern marked."""
    import pandas as pd

    best = {p: _cheapest(costs, p).strategy for p in PATTERNS}
    return pd.DataFrame([{
        "pattern": c.pattern, "strategy": c.strategy, "statements": c.statements, "round trips": c.round_trips,
        "rows": c.rows, "values": c.values, "best ms": round(c.best_ms, 1), "priced ms": round(c.price_ms, 1),
        "cheapest": "✅" if best[c.pattern] == c.strategy else "",
    } for c in costs.values()])


def pick_strategy_reference(pattern: str) -> str:
    """Reference solution of 03-pick-strategy: the cheapest loading strategy for each access pattern.

    >>> pick_strategy_reference("order-list")
    'joined'
    """
    return {"top-customers": "lazy", "order-list": "joined", "regulars": "selectin"}[pattern]


def _symptom(c: Cost, lazy: Cost) -> str:
    """What a wrong pick sends too much of (the symptom, not the fix)."""
    if c.strategy == "lazy":
        return f"{c.pattern}: {c.statements:,} statements for one page"
    if c.rows > 2 * lazy.rows:  # lazy loads what the page reads, no more
        return f"{c.pattern}: {c.rows:,} rows sent, the page reads {lazy.rows:,}"
    if c.strategy == "subquery":
        return f"{c.pattern}: the second statement runs the page's own query again, as a subquery"
    return f"{c.pattern}: {c.statements:,} statements and {c.values:,} values sent"


# ---------------------------------------------------------------- what the learner's function may not change

@dataclass(frozen=True)
class _Surroundings:
    """What the measurement depends on besides the picks, as identities to compare before and after."""

    latency_ms: float
    listeners: frozenset[tuple[str, int]]
    threads: frozenset[int]
    processes: frozenset[int]
    tracers: tuple[int, ...]
    patterns: dict[str, int]


def _listeners(engine: Engine) -> set[tuple[str, int]]:
    """Every event listener on the engine, its pool, ORM sessions and the course's mappers (class-level too)."""
    from sqlalchemy import events
    from sqlalchemy.orm import Session
    from sqlalchemy.orm import events as orm_events

    from perflab.schema import Order, OrderItem, Review, User

    def names(cls: type) -> list[str]:
        return [n for n in dir(cls) if not n.startswith("_") and n != "dispatch"]

    with Session(engine) as session:
        targets: list[tuple[Any, type]] = [(engine.dispatch, events.ConnectionEvents),
                                           (engine.pool.dispatch, events.PoolEvents),
                                           (session.dispatch, orm_events.SessionEvents)]
        for model in (User, Order, OrderItem, Review):
            mapper = model.__mapper__
            targets += [(mapper.dispatch, orm_events.MapperEvents),
                        (mapper.class_manager.dispatch, orm_events.InstanceEvents)]
        return {(f"{cls.__name__}.{name}", id(fn)) for dispatch, cls in targets
                for name in names(cls) if hasattr(dispatch, name) for fn in getattr(dispatch, name)}


def _surroundings(engine: Engine) -> _Surroundings:
    from perflab.latency import current_latency

    return _Surroundings(
        current_latency(engine),
        frozenset(_listeners(engine)),
        frozenset(t.ident or 0 for t in threading.enumerate() if t.is_alive()),
        frozenset(p.pid or 0 for p in multiprocessing.active_children()),
        tuple(id(f) for f in (sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile())),
        {name: id(pattern) for name, pattern in PATTERNS.items()},
    )


def _left_behind(before: _Surroundings, after: _Surroundings) -> str | None:
    """What the learner's function changed that would change the measurement, in a few words; None if nothing."""
    if after.latency_ms != before.latency_ms:
        return f"injected latency ({after.latency_ms:g} ms per round trip)"
    added = sorted({name for name, _ in after.listeners - before.listeners})
    if added:
        return f"an event listener ({added[0]})"
    threads = [t for t in threading.enumerate() if (t.ident or 0) in after.threads - before.threads and t.is_alive()]
    if threads:
        return f"a thread still running ({threads[0].name})"
    if after.processes - before.processes:
        return "a process still running"
    if after.tracers != before.tracers:
        return "a trace or profile function"
    changed = [name for name, was in before.patterns.items() if after.patterns.get(name) != was]
    if changed:  # check() itself notices a rebound name of the course, not a dict changed in place
        return f"a replaced page (PATTERNS[{changed[0]!r}])"
    return None


def _refuse_engine(engine: Engine) -> CheckResult | None:
    """A ❌ for an engine the check cannot measure on fairly (injected latency, not the course's dataset)."""
    from perflab.config import settings
    from perflab.dataset import stale_reason
    from perflab.latency import current_latency

    latency = current_latency(engine)
    if latency:
        return failed(f"this engine has {latency:g} ms of injected latency per round trip, and the check prices "
                      f"the round trips itself ({ROUND_TRIP_MS:g} ms each)",
                      "pass the course's engine: check('03-pick-strategy', pick_strategy, engine=engine)")
    cfg = settings()
    reason = stale_reason(engine, cfg.scale, cfg.seed)
    if reason is not None:
        return failed(f"this engine's database is not the course's dataset (scale {cfg.scale:g}, seed {cfg.seed}): "
                      f"{reason}", "pass the course's engine: engine = perflab.connect()")
    return None


def _pick(learner_fn: Callable[..., Any], name: str) -> dict[str, str] | CheckResult:
    """The learner's pick for every pattern, as one of STRATEGIES; or a ❌ for an answer that is not one."""
    picks: dict[str, str] = {}
    options = ", ".join(map(repr, STRATEGIES))
    for pattern in PATTERNS:
        got = run_learner(learner_fn, pattern, name=name)
        if not isinstance(got, str):
            return failed(f"{name}({pattern!r}) returned {got!r}, not one of {options}",
                          "return the name of a strategy as a string, e.g. 'selectin'", picks=picks)
        word = str.lower(str.strip(str.__str__(got)))  # a str subclass's own methods are not trusted
        if word in NOT_LOADING:
            return failed(f"{name}({pattern!r}) returned {word!r}: {NOT_LOADING[word]}",
                          f"pick one of {options} (SQLAlchemy's names 'select', 'joinedload', 'selectinload' "
                          "and 'subqueryload' count too)", picks=picks)
        word = ALIASES.get(word, word)
        if word not in STRATEGIES:
            return failed(f"{name}({pattern!r}) returned {got!r}, not one of {options}",
                          "return the name of a strategy as a string, e.g. 'selectin'", picks=picks)
        picks[pattern] = word
    return picks


@exercise(
    "03-pick-strategy",
    hints=(
        "Count what each strategy sends for a page, against what the page shows: "
        "perflab.exercises.ch03.count_pattern(engine, 'order-list', 'lazy') gives its statements and rows.",
        "Is the related data read at all? Is the link many-to-one (a JOIN adds columns to each row) or "
        "one-to-many (a JOIN multiplies rows, and two collections side by side multiply each other)?",
        "top-customers → lazy (the orders are never shown); order-list → joined (many-to-one: one statement); "
        "regulars → selectin (collections on two levels and side by side: no rows multiplied).",
    ),
    reference=pick_strategy_reference,
)
def _check_pick_strategy(learner_fn: Callable[..., Any], *, engine: Engine, runs: int = RUNS,
                         clock: Callable[[], float] = time.perf_counter, tolerance: float = TOLERANCE) -> CheckResult:
    """pick_strategy(pattern) -> "lazy", "joined", "selectin" or "subquery": the cheapest for each pattern.

    Each pick is measured against the other options (see the module's docstring). Tests: ``clock`` a
    deterministic stand-in for time, ``tolerance`` for the ratios a small dataset gives (it can only be
    made stricter than TOLERANCE), ``runs``.
    """
    from perflab.querylog import query_log

    name = fn_name(learner_fn)
    tolerance = min(tolerance, TOLERANCE)
    if reuses(learner_fn, pick_strategy_reference):
        verb = "is" if learner_fn is pick_strategy_reference else "uses"
        return failed(f"{name} {verb} pick_strategy_reference, the check's own answer",
                      "write your own picks: what does each page read, and what would each strategy send for it?")
    refused = _refuse_engine(engine)
    if refused is not None:
        return refused
    before = _surroundings(engine)
    with query_log(engine) as asked:
        picks = _pick(learner_fn, name)
    changed = _left_behind(before, _surroundings(engine))
    if changed is not None:
        return failed(f"{name} left {changed} behind: it would change what the check measures",
                      f"return the strategy's name and nothing else; restart the kernel to undo what {name} did")
    if isinstance(picks, CheckResult):
        return picks
    costs = strategy_costs(engine, runs, clock, keep=picks)
    if not any(c.best_ms > 0 for c in costs.values()):
        return failed("the clock given to the check did not move: every option took no time",
                      "leave clock out: check('03-pick-strategy', pick_strategy, engine=engine)")
    wrong = _wrong_after_retiming(costs, picks, tolerance, engine, runs, clock)
    if wrong:  # the costs name the cheapest options: they are the answer, so only a pass shows them
        return _too_dear(costs, picks, wrong, tolerance)
    summary = "; ".join(f"{p} → {pick} ≈ {_ms(costs[p, pick].price_ms)}" for p, pick in picks.items())
    measured = (f" — {name} sent {asked.count:,} SQL statements to decide: measuring is the course's first rule; "
                "now say why each pick wins (perflab.hint('03-pick-strategy'))") if asked.count else ""
    return passed(f"all {len(picks)} picks are the cheapest option or within {tolerance:g}x of it (time here + "
                  f"{ROUND_TRIP_MS:g} ms a round trip): {summary}{measured}",
                  picks=picks, costs=costs, table=costs_table(costs))


def _wrong(costs: dict[tuple[str, str], Cost], picks: dict[str, str], tolerance: float) -> list[str]:
    return [p for p, pick in picks.items() if costs[p, pick].price_ms > tolerance * _cheapest(costs, p).price_ms]


def _wrong_after_retiming(costs: dict[tuple[str, str], Cost], picks: dict[str, str], tolerance: float,
                          engine: Engine, runs: int, clock: Callable[[], float]) -> list[str]:
    """The patterns whose pick costs over ``tolerance`` times the cheapest, after timing any such pick (and the
    options it is compared with) ``runs`` times again: one disturbed run does not fail a pick."""
    wrong = _wrong(costs, picks, tolerance)
    if not wrong:
        return wrong
    ids = {p: pattern.parents(engine) for p, pattern in PATTERNS.items()}
    again = [(p, s) for p in wrong for s in STRATEGIES
             if s == picks[p] or costs[p, s].price_ms <= tolerance * _cheapest(costs, p).price_ms]
    for _ in range(max(1, runs)):
        _time(costs, again, ids, engine, clock)
    return _wrong(costs, picks, tolerance)


def _too_dear(costs: dict[tuple[str, str], Cost], picks: dict[str, str], wrong: list[str],
              tolerance: float) -> CheckResult:
    """The ❌: each wrong pick's price against the cheapest one's (not its name), and each one's symptom."""
    prices = "; ".join(f"{p}: {picks[p]} ≈ {_ms(costs[p, picks[p]].price_ms)} vs ≈ {_ms(_cheapest(costs, p).price_ms)}"
                       for p in wrong)
    problem = (f"{len(wrong)} of {len(picks)} picks cost over {tolerance:g}x the cheapest option (time here + "
               f"{ROUND_TRIP_MS:g} ms a round trip): {prices}")
    return failed(problem, "; ".join(_symptom(costs[p, picks[p]], costs[p, "lazy"]) for p in wrong), picks=picks)
