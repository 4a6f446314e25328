"""Notice a learner's function that rebinds the course's own code while a check runs, and undo it.

A check runs the learner's function in the same process as itself, so the function could replace
the checker's helpers, limits or reference (``ch10._no_stale_answer = lambda *a: passed(...)``,
``ch06.ALLOWED_GROWTH = 1e9``) and pass. :class:`Snapshot` remembers what every name of every loaded
``perflab`` module is bound to before the check; afterwards :meth:`Snapshot.rebound` lists the names
bound to something else, and :meth:`Snapshot.restore` puts the originals back, so the next check in
the kernel is not fooled either.

>>> import perflab.exercises.ch06 as ch06
>>> snap = Snapshot.take()
>>> ch06.ALLOWED_GROWTH = 10**9
>>> snap.rebound()
['perflab.exercises.ch06.ALLOWED_GROWTH']
>>> snap.restore()
>>> ch06.ALLOWED_GROWTH == 10**9, snap.rebound()
(False, [])

What it cannot see: a container changed in place (a list or dict the module keeps), and names first
bound during the check (a lazy import caching an attribute is one). A submodule imported during the
check rebinds its name on the package to the module object; that is the import system, not the
learner, and is not counted. An in-process check can always be fooled by a determined learner; this
makes the easy way a ❌ that says what happened.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: Standard modules whose functions the checks time and meter with: their public names are watched too.
WATCHED_STDLIB = ("time", "statistics", "tracemalloc", "gc", "random", "threading", "sqlite3", "math")


def _watched_modules() -> list[ModuleType]:
    return [m for name, m in list(sys.modules.items())
            if (name == "perflab" or name.startswith("perflab.") or name in WATCHED_STDLIB)
            and isinstance(m, ModuleType)]


def _watched_names(module: ModuleType) -> dict[str, Any]:
    course = module.__name__ == "perflab" or module.__name__.startswith("perflab.")
    return {name: value for name, value in vars(module).items()
            if not name.startswith("__") and (course or not name.startswith("_"))}


@dataclass
class Snapshot:
    """What each watched name of each watched module was bound to (by identity)."""

    bindings: dict[str, tuple[ModuleType, dict[str, Any]]]

    @classmethod
    def take(cls) -> Snapshot:
        return cls({m.__name__: (m, _watched_names(m)) for m in _watched_modules()})

    def _changes(self) -> list[tuple[ModuleType, str, Any]]:
        changes = []
        for module, before in self.bindings.values():
            now = vars(module)
            for name, value in before.items():
                current = now.get(name, _MISSING)
                if current is not value and not isinstance(current, ModuleType):
                    changes.append((module, name, value))
        return changes

    def rebound(self) -> list[str]:
        """``module.name`` of every name now bound to another object than when the snapshot was taken."""
        return [f"{module.__name__}.{name}" for module, name, _ in self._changes()]

    def restore(self) -> None:
        """Bind every rebound name to its original object again."""
        for module, name, value in self._changes():
            setattr(module, name, value)


_MISSING = object()
