"""03-pick-strategy, correct in other styles: rules on the pages' descriptions, a match statement, SQLAlchemy's names,
the other eager strategies where they cost about the same, and a function that measures before it picks."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from perflab.exercises.ch03 import PATTERNS, STRATEGIES, measure_pattern


def by_description(pattern: str) -> str:
    """Reason from what the page reads: not shown → load nothing; many-to-one → a JOIN; collections → IN queries."""
    text = PATTERNS[pattern].description
    if "not shown" in text:
        return "lazy"
    if "many-to-one" in text:
        return "joined"
    return "selectin"


def by_match(pattern: str) -> str:
    match pattern:
        case "top-customers":
            return "lazy"
        case "order-list":
            return "joined"
        case _:
            return "selectin"


def sqlalchemy_names(pattern: str) -> str:
    """``relationship(lazy="select")`` is lazy loading; the loader options by their function names."""
    return {"top-customers": "select", "order-list": "joinedload", "regulars": "selectinload"}[pattern]


def any_case(pattern: str) -> str:
    return {"top-customers": "Lazy", "order-list": " JOINED ", "regulars": "SelectIn"}[pattern]


def subqueries(pattern: str) -> str:
    """subqueryload sends one statement per level too: it costs about what selectinload costs here."""
    return {"top-customers": "lazy", "order-list": "subquery", "regulars": "subquery"}[pattern]


def selectin_everywhere_it_loads(pattern: str) -> str:
    """selectinload for the many-to-one link as well: a second statement, no JOIN."""
    return {"top-customers": "lazy", "order-list": "selectin", "regulars": "selectin"}[pattern]


def measuring(engine: Engine) -> Callable[[str], str]:
    """Measure every strategy with the check's own instrument and keep the cheapest: it passes, and says so."""
    def pick_strategy(pattern: str) -> str:
        return min(STRATEGIES, key=lambda s: measure_pattern(engine, pattern, s).price_ms)

    return pick_strategy


#: Answers that are plain functions of the pattern's name.
PICKS = [by_description, by_match, sqlalchemy_names, any_case, subqueries, selectin_everywhere_it_loads]
