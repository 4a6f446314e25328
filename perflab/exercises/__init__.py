"""Exercise checks: run the learner's function, compare with the reference, check the performance property.

>>> from perflab.exercises import check
>>> def find_duplicates(items):
...     seen, dups = set(), set()
...     for x in items:
...         (dups if x in seen else seen).add(x)
...     return list(dups)
>>> check("06-find-duplicates", find_duplicates)  # doctest: +SKIP
✅ find_duplicates finds the right duplicates, and 4x more input took 3.9x longer, 16x more input took 15.2x \
longer (about n^1.0, about linear)

The package, one job per module:

- :mod:`~perflab.exercises.result`: the ✅ / ❌ line (:class:`CheckResult`), ``require``, the learner's
  exceptions turned into one line;
- :mod:`~perflab.exercises.values`: value comparison (:func:`check_result`), generous about form;
- :mod:`~perflab.exercises.dbapi`: statements counted at the DBAPI level, where a learner cannot hide them;
- :mod:`~perflab.exercises.pywork`: Python bytecode instructions counted, a measure of work no load can change;
- :mod:`~perflab.exercises.unseen`: a second, differently seeded dataset to run the learner's function on;
- :mod:`~perflab.exercises.lockout`: tables held locked while the learner's function runs, so a read through
  any connection (one the statement counter never saw included) is seen waiting;
- :mod:`~perflab.exercises.checks`: the building blocks (statements and rows, plans, speed, growth);
- :mod:`~perflab.exercises.registry`: the exercises by id, :func:`check` and :func:`hint`;
- :mod:`~perflab.exercises.guard`: what a learner's function rebinds in perflab while a check runs is
  noticed (a ❌) and put back;
- ``chNN``: each chapter's checks, registered when ``check("NN-…")`` first asks for them.

How a chapter adds an exercise (a checker gets the learner's function plus the keywords given to
``check``; the building blocks return CheckResults, ``require`` stops at the first failing one)::

    from perflab.exercises import check_query_count, check_result, exercise, passed, require

    @exercise("02-batch-orders", hints=("It sends one INSERT per row.",
                                        "conn.execute(insert(Order), rows) sends them as one batch."))
    def _check_batch_orders(learner_fn, *, engine):
        \"\"\"Insert 500 orders in one batch.\"\"\"
        counted = require(check_query_count(lambda: learner_fn(engine, ROWS), engine, max_queries=1,
                                            name=learner_fn.__name__))
        require(check_result(count_new_orders(engine), 500))
        return passed(f"{learner_fn.__name__} inserted 500 orders in {counted.details['count']} statement")

and the notebook's check cell is ``perflab.exercises.check("02-batch-orders", insert_orders, engine=engine)``.
The first hint is what a ❌ shows: it names the symptom ("it sends one query per user"), not the fix;
``perflab.hint`` gives the next ones.
"""

from __future__ import annotations

from perflab.exercises.checks import (
    check_complexity,
    check_query_count,
    check_speedup,
    check_uses_index,
)
from perflab.exercises.registry import EXERCISES, Exercise, Hint, check, exercise, hint
from perflab.exercises.result import (
    CheckResult,
    CheckStopped,
    describe_error,
    error_result,
    failed,
    passed,
    require,
    run_learner,
)
from perflab.exercises.values import check_result, materialize

__all__ = [
    "EXERCISES",
    "CheckResult",
    "CheckStopped",
    "Exercise",
    "Hint",
    "check",
    "check_complexity",
    "check_query_count",
    "check_result",
    "check_speedup",
    "check_uses_index",
    "describe_error",
    "error_result",
    "exercise",
    "failed",
    "hint",
    "materialize",
    "passed",
    "require",
    "run_learner",
]
