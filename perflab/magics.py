"""IPython magics, loaded with ``%load_ext perflab``: ``%%queries`` and ``%measure`` / ``%%measure``.

>>> from IPython.testing.globalipapp import get_ipython  # doctest: +SKIP
>>> ip = get_ipython(); ip.run_line_magic("load_ext", "perflab")  # doctest: +SKIP
>>> ip.run_line_magic("measure", "-o sum(range(100))")  # doctest: +SKIP
1.20 µs ± 0.01 µs (median ± IQR/2, 7 runs × 20000 loops)

In a notebook::

    %%queries
    for user in users[:10]:
        print(user.name, len(user.orders))   # lazy loads: 1 + 10 statements, one finding

    %measure sorted(data)                    # median ± IQR/2, stored in _measure
    m = %measure -o sorted(data)             # also returned

This module is the only one that imports IPython; ``perflab`` imports it only when the extension is
loaded. The magics are thin wrappers over :func:`perflab.querylog.query_log` and
:func:`perflab.timing.measure`.
"""

from __future__ import annotations

import ast
import html
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, needs_local_scope
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from perflab.errors import PerflabError
from perflab.querylog import TooManyQueries, query_log
from perflab.timing import measure as timing_measure


class _OneLine:
    """IPython renders exceptions with this mixin as one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class MagicUsageError(_OneLine, PerflabError, UsageError):
    """A magic was used wrongly (no engine, bad option): shown as one line in a notebook."""


class CellTooManyQueries(_OneLine, TooManyQueries):
    """A ``%%queries --max N`` cell ran more than N statements: shown as one line in a notebook."""


def _split_options(line: str, with_value: set[str]) -> tuple[str, str]:
    """Split ``line`` into its leading options and the rest (kept verbatim: spaces inside strings survive).

    >>> _split_options("-b 0.5 f('a  b')", {"-b"})
    ('-b 0.5', "f('a  b')")
    """
    rest = line.strip()
    taken: list[str] = []
    while rest.startswith("-") and not rest[1:2].isdigit() and rest[1:2] not in (" ", ""):
        token, _, rest = rest.partition(" ")
        taken.append(token)
        rest = rest.lstrip()
        name = token.split("=", 1)[0]
        if name in with_value and "=" not in token:
            value, _, rest = rest.partition(" ")
            taken.append(value)
            rest = rest.lstrip()
    return " ".join(taken), rest


@magics_class
class PerflabMagics(Magics):
    """The perflab magics; registered by :func:`load`."""

    @property
    def _shell(self) -> Any:
        if self.shell is None:  # pragma: no cover - magics are always registered on a shell
            raise MagicUsageError("the perflab magics need IPython: run %load_ext perflab in a notebook")
        return self.shell

    # -- %%queries -----------------------------------------------------------------------------------------

    @magic_arguments()
    @argument("-e", "--engine", default="engine", metavar="ENGINE_VAR",
              help="name of the variable holding the engine (or connection / session); default: engine")
    @argument("--max", type=int, default=None, metavar="N",
              help="fail (TooManyQueries) if the cell ran more than N statements")
    @argument("--quiet", action="store_true", help="show only the summary line and the findings")
    @argument("--limit", type=int, default=20, metavar="K", help="list at most K statements (default 20)")
    @cell_magic
    def queries(self, line: str, cell: str) -> Any:
        """Run the cell, then list the SQL it sent and one line per finding (N+1, repeated query) with its fix.

        Example::

            %%queries --max 2
            rows = orders_by_user(engine, user_ids)

        The log is shown after the cell's printed output and before its value; it is kept in
        ``_queries`` (a perflab.querylog.QueryLog) for a closer look. An error in the cell still shows
        the statements that ran before it, then the error. Top-level ``await`` is not supported in
        the cell; for async code use ``with perflab.querylog.query_log(engine) as log:`` instead.
        """
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        args = parse_argstring(self.queries, line)
        engine = self._lookup(args.engine, "%%queries")
        if args.max is not None and args.max < 0:
            raise MagicUsageError(f"--max must be a whole number >= 0, got {args.max}")
        log = query_log(engine)
        try:
            with log:
                value = self._run(cell)
        finally:
            self._shell.user_ns["_queries"] = log
            display(_log_bundle(log, quiet=args.quiet, limit=args.limit), raw=True)
        if args.max is not None and log.count > args.max:
            suspects = log.suspects()
            detail = f"; {suspects[0].message}" if suspects else ""
            raise CellTooManyQueries(
                f"the cell ran {log.count} statements, expected at most {args.max}{detail}"
            )
        return value

    def _run(self, cell: str) -> Any:
        """Run cell code in the notebook namespace like a normal cell; return its last expression's value."""
        __tracebackhide__ = True  # noqa: F841
        shell = self._shell
        source = shell.transform_cell(cell)
        tree = shell.transform_ast(shell.compile.ast_parse(source))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        # register the source so tracebacks show its lines, under the running cell's number (the shell
        # has already counted the running cell, as it does for every cell kept in the history)
        filename = shell.compile.cache(source, max(shell.execution_count - 1, 0))
        exec(shell.compile(tree, filename, "exec"), shell.user_ns)
        return None if last is None else eval(shell.compile(last, filename, "eval"), shell.user_ns)

    def _lookup(self, name: str, magic: str) -> Any:
        """The object named ``name`` (``engine``, or a dotted path such as ``app.engine``) in the notebook."""
        ns = self._shell.user_ns
        first, *attrs = name.split(".")
        if first not in ns:
            raise MagicUsageError(
                f"{magic} needs an engine: no variable named {first!r} in this notebook — create it first "
                f"(engine = perflab.db.connect()) or name yours with -e, e.g. {magic} -e my_engine"
            )
        obj = ns[first]
        for attr in attrs:
            if not hasattr(obj, attr):
                kind = type(obj).__name__
                raise MagicUsageError(f"{magic} -e {name}: {first!r} ({kind}) has no attribute {attr!r}")
            obj = getattr(obj, attr)
        return obj

    # -- %measure / %%measure -----------------------------------------------------------------------------

    @magic_arguments()
    @argument("-b", "--budget", type=float, default=0.2, help="seconds to spend, roughly (default 0.2)")
    @argument("-r", "--runs", type=int, default=7, help="timed runs (default 7)")
    @argument("-o", "--output", action="store_true", help="also return the Measurement: m = %%measure -o f()")
    @argument("-q", "--quiet", action="store_true", help="do not display the Measurement")
    @argument("statement", nargs="*", help="the expression to time (line magic)")
    @needs_local_scope
    @line_cell_magic
    def measure(self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Any:
        """Time an expression (``%measure expr``) or a cell (``%%measure``) with perflab.timing.measure.

        Example::

            %measure sorted(data)
            m = %measure -o -b 0.5 sorted(data)

        Shows median ± IQR/2 and stores the Measurement in ``_measure``; ``-o`` also returns it.
        The cell form runs the cell's code in the notebook namespace (assignments stay visible).
        """
        options, statement = _split_options(line, {"-b", "--budget", "-r", "--runs"})
        args = parse_argstring(self.measure, options)
        user_ns = self._shell.user_ns
        scope = user_ns if local_ns is None else local_ns  # local_ns: the caller's locals (a function body)
        if cell is None:
            source, mode = statement, "eval"
            if not source:
                raise MagicUsageError("%measure needs an expression, e.g. %measure sorted(data); "
                                      "use %%measure for a whole cell")
        else:
            source, mode = self._shell.transform_cell(cell), "exec"
            if statement:
                raise MagicUsageError(f"%%measure takes options only on its line, got {statement!r}; "
                                      "put the code in the cell")
        code = _compile(source, mode)

        def run() -> Any:
            return eval(code, user_ns, scope)  # the learner's own code, in the notebook namespace

        run.__name__ = run.__qualname__ = _label(statement if cell is None else cell)
        m = timing_measure(run, budget=args.budget, runs=args.runs)
        self._shell.user_ns["_measure"] = m
        if not args.quiet:
            display(m)
        return m if args.output else None


def _compile(source: str, mode: str) -> Any:
    """Compile an expression (or, failing that, a statement) or a cell; a syntax error is one line."""
    modes = ("eval", "exec") if mode == "eval" else ("exec",)
    for i, m in enumerate(modes):
        try:
            return compile(source, "<measure>", m)
        except SyntaxError as exc:
            if i == len(modes) - 1:
                what = "the expression" if mode == "eval" else "the cell"
                raise MagicUsageError(f"%measure: {what} does not compile: {exc.msg} (line {exc.lineno}): "
                                      f"{(exc.text or source).strip()!r}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _label(source: str) -> str:
    text = " ".join(source.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _log_bundle(log: Any, *, quiet: bool, limit: int) -> dict[str, str]:
    """The query log as text and HTML, for ``display(..., raw=True)``."""
    if not quiet:
        return {"text/plain": log.report(limit=limit), "text/html": log._repr_html_(limit=limit)}
    suspects = log.suspects()
    lines = [log.summary()] + [f"  ! {s.message}" for s in suspects]
    items = "".join(f"<li>{html.escape(s.message)}</li>" for s in suspects)
    markup = f"<p><b>{html.escape(log.summary())}</b></p>" + (f"<ul>{items}</ul>" if items else "")
    return {"text/plain": "\n".join(lines), "text/html": markup}


def load(ipython: Any) -> None:
    """Register the perflab magics on an IPython shell (``%load_ext perflab`` calls this).

    >>> load(get_ipython())  # doctest: +SKIP
    """
    ipython.register_magics(PerflabMagics)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext perflab.magics`` works too (``%load_ext perflab`` is the documented way)."""
    load(ipython)
