"""Reading profiles in code: the hottest functions (cProfile), line (line_profiler) and branch (pyinstrument), and
their reports without the kernel's temporary folder.

>>> import cProfile
>>> def squares():
...     return sum(i * i for i in range(100_000))
>>> profile = cProfile.Profile()
>>> _ = profile.runcall(squares)
>>> hot_functions(profile, n=1)[0].name
'<genexpr>'

A notebook checks what a profile shows (``assert hot_functions(profile)[0].name == ...``) with these
instead of indexing pstats' tuples. They give the same answer on Python 3.10 to 3.13: since 3.12
cProfile records every thread of the process (it is built on ``sys.monitoring``), so in a Jupyter kernel
it also sees the kernel's own threads, which mostly wait inside C calls and whose calls muddle the
caller/callee links. Own time per function is still right, and a waiting thread's time sits in
built-ins, which :func:`hot_functions` leaves out unless asked.
"""

from __future__ import annotations

import cProfile
import os
import pstats
from dataclasses import dataclass
from typing import Any

from perflab.display import format_time
from perflab.errors import PerflabError

#: The file name pstats gives functions written in C (``len``, ``time.sleep``, a cursor's ``fetchall``).
BUILTIN_FILE = "~"


@dataclass(frozen=True)
class FunctionTime:
    """One function of a cProfile run: its calls, its own time and its time including what it called.

    >>> print(FunctionTime("parse", "report.py", 5, 20789, 0.012, 0.54))
    parse (report.py:5): 20,789 calls, 12.0 ms own, 540 ms with what it called

    Parameters: ``name``, ``file`` (the file's base name; ``~`` for built-ins), ``line``, ``calls``,
    ``own`` (seconds inside the function itself: pstats' ``tottime``), ``cumulative`` (seconds including
    the functions it called: ``cumtime``).
    """

    name: str
    file: str
    line: int
    calls: int
    own: float
    cumulative: float

    @property
    def builtin(self) -> bool:
        """True for a function written in C (pstats shows it as ``{built-in method ...}``)."""
        return self.file == BUILTIN_FILE

    def __str__(self) -> str:
        where = "built-in" if self.builtin else f"{self.file}:{self.line}"
        calls = f"{self.calls:,} call" + ("" if self.calls == 1 else "s")
        return (f"{self.name} ({where}): {calls}, {format_time(self.own)} own, "
                f"{format_time(self.cumulative)} with what it called")


def _stats(profile: object) -> pstats.Stats:
    if isinstance(profile, pstats.Stats):
        return profile
    if isinstance(profile, cProfile.Profile):
        try:
            return pstats.Stats(profile)
        except TypeError as exc:  # pstats raises TypeError for a profile that recorded nothing
            raise PerflabError(
                "this cProfile.Profile recorded no calls — run something under it first, e.g. "
                "profile.runcall(fn) or `with cProfile.Profile() as profile: fn()`"
            ) from exc
    raise PerflabError(
        f"expected a cProfile.Profile or a pstats.Stats, got {type(profile).__name__} {profile!r} — e.g. "
        "profile = cProfile.Profile(); profile.runcall(fn); hot_functions(profile)"
    )


def hot_functions(profile: object, n: int | None = 5, *, builtins: bool = False) -> list[FunctionTime]:
    """The functions of a cProfile run that spent the most time themselves (own time), most first.

    >>> import cProfile, time
    >>> def busy():
    ...     return sum(i * i for i in range(200_000))
    >>> profile = cProfile.Profile()
    >>> _ = profile.runcall(busy)
    >>> hot_functions(profile, n=1)[0].name
    '<genexpr>'

    Two functions of the same name in different files stay two rows (pstats' ``get_stats_profile()``
    keys its answer by the bare name, so one ``__init__`` would hide every other).

    Parameters:
        profile: a ``cProfile.Profile`` that ran something, or a ``pstats.Stats``.
        n: how many to return; ``None`` for all of them.
        builtins: include functions written in C. Off by default: in a Jupyter kernel on Python 3.12+,
            the kernel's threads waiting in C (``select``, a lock) would top the list.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise PerflabError(f"n must be a whole number >= 1 or None (all), got {n!r}")
    rows = []
    # pstats' own record, one entry per function: (file, line, name) -> (primitive calls, calls, tottime,
    # cumtime, callers). It is what print_stats() reads; unpacked by name here so no notebook indexes it.
    recorded = _stats(profile).stats  # type: ignore[attr-defined]
    for (file, line, name), (_primitive, calls, own, cumulative, _callers) in recorded.items():
        if file == BUILTIN_FILE and not builtins:
            continue
        short = file if file == BUILTIN_FILE else os.path.basename(file)
        rows.append(FunctionTime(_clean_name(name), short, line, calls, own, cumulative))
    rows.sort(key=lambda f: f.own, reverse=True)
    return rows if n is None else rows[:n]


def _clean_name(name: str) -> str:
    """``<built-in method time.sleep>`` → ``time.sleep``; Python functions keep their name."""
    for prefix in ("<built-in method ", "<method "):
        if name.startswith(prefix) and name.endswith(">"):
            return name[len(prefix):-1]
    return name


@dataclass(frozen=True)
class LineTime:
    """One line of a function profiled by line_profiler: where it is, its source, hits, seconds and share.

    >>> print(LineTime("report.py", 16, "when = parse(created)", 20789, 0.85, 0.91))
    line 16: when = parse(created) (20,789 hits, 850 ms, 91% of the function's time)

    ``share`` is the line's part of the time of all the function's lines (line_profiler's ``% Time``).
    """

    file: str
    line: int
    text: str
    hits: int
    seconds: float
    share: float

    def __str__(self) -> str:
        return (f"line {self.line}: {self.text} ({self.hits:,} hits, {format_time(self.seconds)}, "
                f"{self.share:.0%} of the function's time)")


def hottest_line(profiler: Any, function: str | None = None) -> LineTime:
    """The line that took the most time in a function profiled with line_profiler (``%lprun -r``).

    >>> from line_profiler import LineProfiler
    >>> def work():
    ...     small = sum(range(10))
    ...     big = sorted(range(200_000), key=lambda i: -i)
    ...     return small, big[0]
    >>> lp = LineProfiler(work)
    >>> _ = lp.runcall(work)
    >>> hottest_line(lp).text
    'big = sorted(range(200_000), key=lambda i: -i)'

    Parameters:
        profiler: a ``line_profiler.LineProfiler`` (what ``%lprun -r`` returns), or its ``get_stats()``.
        function: which profiled function to read, by name; optional when only one was profiled.
    """
    import linecache

    stats = profiler.get_stats() if hasattr(profiler, "get_stats") else profiler
    if not hasattr(stats, "timings") or not hasattr(stats, "unit"):
        raise PerflabError(
            f"expected a line_profiler.LineProfiler (e.g. lines = %lprun -r -f fn fn()), got "
            f"{type(profiler).__name__}"
        )
    timed = {key: lines for key, lines in stats.timings.items() if lines}
    names = sorted({name for (_file, _first, name) in timed})
    chosen = [key for key in timed if function is None or key[2] == function]
    if not chosen:
        raise PerflabError(f"no timed lines for function {function!r}; profiled with lines: {names or 'none'}"
                           " — run the function under the profiler first")
    if len(chosen) > 1:
        raise PerflabError(f"{len(chosen)} profiled functions have timed lines ({', '.join(names)}): "
                           "name one, e.g. hottest_line(lp, function=" + repr(names[0]) + ")")
    file, _first, _name = chosen[0]
    line, hits, units = max(timed[chosen[0]], key=lambda timing: timing[2])
    total = sum(timing[2] for timing in timed[chosen[0]])
    return LineTime(os.path.basename(file), line, linecache.getline(file, line).strip(), hits, units * stats.unit,
                    units / total if total else 0.0)


@dataclass(frozen=True)
class Branch:
    """The heaviest call under a function in a pyinstrument profile: its name, seconds and share of the parent.

    >>> print(Branch("parse_created", 0.54, 0.75))
    parse_created: 540 ms, 75% of its caller
    """

    function: str
    seconds: float
    share: float

    def __str__(self) -> str:
        return f"{self.function}: {format_time(self.seconds)}, {self.share:.0%} of its caller"


def heaviest_branch(sampler: Any, function: str) -> Branch:
    """The child with the most samples under ``function`` in a pyinstrument profile, as its tree prints it.

    >>> from pyinstrument import Profiler
    >>> def inner():
    ...     return sorted(range(300_000), key=lambda i: -i)
    >>> def outer():
    ...     return inner(), sum(range(10))
    >>> sampler = Profiler(interval=0.0005)
    >>> _ = sampler.start(), outer(), sampler.stop()
    >>> heaviest_branch(sampler, "outer").function
    'inner'

    Parameters:
        sampler: a ``pyinstrument.Profiler`` that has run (``start()`` ... ``stop()``).
        function: the name of the function whose children to compare.
    """
    from pyinstrument.renderers import ConsoleRenderer

    session = getattr(sampler, "last_session", None)
    if session is None:
        raise PerflabError(f"expected a pyinstrument.Profiler that has run (start() ... stop()), got "
                           f"{type(sampler).__name__} with no recorded session")
    root = session.root_frame()
    tree = ConsoleRenderer().preprocess(root) if root is not None else None
    found = _find_frame(tree, function)
    if found is None or not found.children:
        raise PerflabError(f"no calls under {function!r} in this profile (it ran {session.duration:.3f} s)"
                           " — is the name right, and did the function run long enough to be sampled?")
    heaviest = max(found.children, key=lambda frame: frame.time)
    return Branch(heaviest.function, heaviest.time, heaviest.time / found.time if found.time else 0.0)


def _find_frame(frame: Any, name: str) -> Any:
    """The first frame named ``name`` in a depth-first walk from ``frame``, or None."""
    stack = [frame] if frame is not None else []
    while stack:
        current = stack.pop()
        if current.function == name:
            return current
        stack.extend(reversed(current.children))
    return None


def without_kernel_folder(text: str) -> str:
    """``text`` with the folder of the calling code's file taken out of every path in it.

    >>> without_kernel_folder(f"{os.path.dirname(__file__)}{os.sep}profiling.py:9(report)")  # doctest: +SKIP
    'profiling.py:9(report)'

    Profilers name the file each function came from; for a notebook cell that is a file in a temporary
    folder of the kernel (``/tmp/ipykernel_4242/3326774021.py``) whose name changes on every run. Called
    from a cell, this drops that folder from a report, so ``3326774021.py:9(monthly_revenue)`` is left.
    """
    import inspect

    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    if caller is None:
        return text
    return text.replace(os.path.dirname(caller.f_code.co_filename) + os.sep, "")
