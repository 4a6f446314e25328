"""The ``perflab`` command: build, inspect, check and reset the course dataset; report the claims measured.

>>> from perflab.cli import main
>>> main(["info"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EPILOG = {
    "build": "Example: perflab build --scale 0.1 --url sqlite:////tmp/small.sqlite",
    "info": "Example: perflab info --url postgresql://postgres@127.0.0.1/test",
    "doctor": "Example: perflab doctor",
    "reset": "Example: perflab reset --yes",
    "report": "Example: perflab report --run 06 07 --markdown scorecard.md",
}


class _OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one line (what was wrong, and where the help is) and exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``, reading the installed metadata only when asked (importing importlib.metadata costs 30 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        import importlib.metadata
        import platform

        print(f"perflab {importlib.metadata.version('perflab')} (Python {platform.python_version()})")
        parser.exit()


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="database URL (default: PERFLAB_DATABASE_URL or the SQLite file in data/)")


def parser() -> argparse.ArgumentParser:
    top = _OneLineParser(
        prog="perflab",
        description="Build and inspect the perflab course dataset (SQLite by default, PostgreSQL optional), "
        "and report the book's claims against what this machine measured.",
        epilog="Example: perflab build && perflab info",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action=_Version, nargs=0, help="show perflab's and Python's versions and exit")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    kw: dict[str, Any] = {"formatter_class": argparse.RawDescriptionHelpFormatter}

    build = sub.add_parser("build", help="generate the dataset and load it (replaces what is there)",
                           description="Generate the dataset and load it, replacing what is there.",
                           epilog=EPILOG["build"], **kw)
    build.add_argument("--scale", help="size: 1 ≈ 350k rows (default: PERFLAB_SCALE or 1)")
    build.add_argument("--seed", help="random seed (default: PERFLAB_SEED or 17)")
    build.add_argument("--if-needed", action="store_true", help="only build when missing or different")
    _add_target(build)

    info = sub.add_parser("info", help="backend, URL, row counts, fingerprint, size",
                          description="Show where the dataset lives and what it holds.",
                          epilog=EPILOG["info"], **kw)
    info.add_argument("--verify", action="store_true", help="recompute the fingerprint from the data")
    _add_target(info)

    doctor = sub.add_parser("doctor", help="check Python, packages, JupyterLab, widgets and the database",
                            description="Check everything the course needs; each line is OK or says the fix.",
                            epilog=EPILOG["doctor"], **kw)
    _add_target(doctor)
    doctor.add_argument("--learners", metavar="NAMES", default="",
                        help="a workshop's pre-flight instead: the shared server (--url, as the instructor), "
                             "each learner's role, schema and dataset (comma-separated names), Redis")

    reset = sub.add_parser("reset", help="delete the dataset and build it afresh",
                           description="Delete the dataset (and anything a chapter left behind) and rebuild it.",
                           epilog=EPILOG["reset"], **kw)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_target(reset)

    report = sub.add_parser("report", help="the scorecard: every claim, the book's figure, what was measured here",
                            description="Show every claim of the book next to the latest figure measured on "
                            "this machine (recorded by each chapter's verdicts), per backend.",
                            epilog=EPILOG["report"], **kw)
    report.add_argument("--backend", choices=("sqlite", "postgresql"), help="only this backend's measurements")
    report.add_argument("--run", nargs="*", metavar="CHAPTER",
                        help="first re-run these chapters headless (01-11, e.g. 06 07; none given: every "
                        "chapter that measures a claim), recording their verdicts; other load on the machine "
                        "(another notebook, a build) skews the timings, most on a small machine")
    report.add_argument("--markdown", metavar="FILE", help="also write the scorecard to FILE as Markdown")
    report.add_argument("--html", metavar="FILE", help="also write the scorecard to FILE as an HTML page")
    return top


@contextmanager
def _engine(url: str | None) -> Iterator[Engine]:
    """An engine on ``url``, disposed at the end: its connections close now, not whenever the process ends."""
    from perflab.db import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def cmd_build(args: argparse.Namespace) -> int:
    from perflab import dataset
    from perflab.config import parse_scale, parse_seed, settings
    from perflab.db import describe

    cfg = settings()
    scale = parse_scale(args.scale if args.scale is not None else cfg.scale)
    seed = parse_seed(args.seed if args.seed is not None else cfg.seed)
    with _engine(args.url) as engine:
        if args.if_needed and dataset.is_current(engine, scale, seed):
            print(f"dataset is current at {describe(engine)} (scale {scale:g}, seed {seed}): nothing to do")
            return 0
        report = dataset.build(engine, scale, seed)
        print(report)
        print(f"at {describe(engine)}")
        return 0


def cmd_info(args: argparse.Namespace) -> int:
    from perflab import dataset
    from perflab.db import describe

    with _engine(args.url) as engine:
        print(f"backend      {engine.dialect.name}")
        print(f"url          {describe(engine)}")
        meta = dataset.recorded(engine)
        if meta is None:
            print("dataset      not built — run: perflab build")
            return 1
        print(f"scale, seed  {float(meta['scale']):g}, {meta['seed']}")
        print(f"built at     {meta['built_at']}")
        print(f"fingerprint  {meta['fingerprint']}")
        for table, n in dataset.counts(engine).items():
            print(f"  {table:<13}{n:>10,}")
        if engine.dialect.name == "sqlite" and engine.url.database:
            print(f"file size    {os.path.getsize(engine.url.database) / 1e6:.1f} MB")
        if args.verify:
            actual = dataset.fingerprint(engine)
            verdict = "matches" if actual == meta["fingerprint"] else "DIFFERS — run: perflab reset --yes"
            print(f"verified     {actual} {verdict}")
            return 0 if actual == meta["fingerprint"] else 1
        return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from perflab.config import settings
    from perflab.doctor import OPEN_COURSE, check_line, run_checks, workshop_checks

    if args.learners:
        if not args.url:
            raise PerflabError("a workshop's pre-flight needs the shared server: perflab doctor --url "
                               "postgresql://postgres@HOST/DATABASE --learners learner01,learner02")
        names = [n.strip() for n in args.learners.split(",") if n.strip()]
        checks = workshop_checks(args.url, names, settings().redis_url)
    else:
        checks = run_checks(args.url)
    problems = 0
    for check in checks:
        problems += not check[0]
        print(check_line(check))
    ready = f"open the course with  {OPEN_COURSE}"
    if args.learners:
        ready = "start the hub with  python3 tasks.py workshop start"
    print(f"all good: {ready}" if not problems
          else f"{problems} thing(s) to fix (see FIX lines)")
    return 1 if problems else 0


def cmd_reset(args: argparse.Namespace) -> int:
    from perflab import dataset
    from perflab.config import settings
    from perflab.db import describe
    from perflab.exercises.scratch import drop_scratch
    from perflab.exercises.unseen import drop_unseen

    with _engine(args.url) as engine:
        if not args.yes:
            if not sys.stdin.isatty():
                raise PerflabError("reset deletes the dataset; add --yes to confirm (perflab reset --yes)")
            if input(f"delete and rebuild the dataset at {describe(engine)}? [y/N] ").strip().lower() != "y":
                print("nothing changed")
                return 1
        cfg = settings()
        dataset.reset(engine)
        dropped = drop_unseen(engine)
        if dropped:
            print(f"dropped the exercise checks' second dataset (schema {', '.join(dropped)})")
        copies = drop_scratch(engine)
        if copies:
            print(f"dropped the copies an exercise check left (schema {', '.join(copies)})")
        print(dataset.build(engine, cfg.scale, cfg.seed))
        return 0


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise PerflabError(f"cannot write {path} ({exc.strerror}) — choose a writable file") from None
    print(f"wrote {path}")


def cmd_report(args: argparse.Namespace) -> int:
    from perflab.scorecard import records, table

    exports = [os.path.realpath(p) for p in (args.markdown, args.html) if p]
    if len(exports) == 2 and exports[0] == exports[1]:
        print("perflab report: error: --markdown and --html name the same file; give each its own "
              "(see perflab report --help)", file=sys.stderr)
        return 2
    failed, interrupted = [], False
    if args.run is not None:
        from perflab.scorecard.rerun import chapter_notebooks, run_chapters

        try:
            paths = chapter_notebooks(args.run)
        except PerflabError as exc:  # a chapter that does not exist is a bad argument: status 2, like argparse's
            print(f"perflab report: error: {exc}", file=sys.stderr)
            return 2
        runs = run_chapters(paths)
        interrupted = any(run.interrupted for run in runs)
        failed = [run for run in runs if run.error and not run.interrupted]
        for run in failed:
            print(f"perflab report: {run.chapter}: {run.error} (its later verdicts are missing)", file=sys.stderr)
        if interrupted:
            print("perflab report: interrupted — the chapters run so far are recorded", file=sys.stderr)
    recorded = records.load()
    rows = table.scorecard_rows(recorded.rows, backend=args.backend)
    print(table.to_text(rows, skipped=recorded.note))
    if interrupted:
        return 130
    if args.markdown:
        _write(args.markdown, table.to_markdown(rows))
    if args.html:
        _write(args.html, table.to_html(rows))
    return 1 if failed else 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": cmd_build, "info": cmd_info, "doctor": cmd_doctor, "reset": cmd_reset, "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return 1 (no traceback).

    Parameters:
        argv: the arguments; None reads the command line, and then the process is about to end: see below.
    """
    if argv is None:
        # The interpreter's exit runs full garbage collections over every object SQLAlchemy and NumPy
        # created at import: most of the time between a build's last line and the shell prompt. Nothing a
        # command leaves behind needs collecting (engines are disposed): freeze it so they visit nothing.
        atexit.register(gc.freeze)
    args = parser().parse_args(argv)
    try:
        status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a reader that left early (| head) is noticed here, not at the interpreter's exit
        return status
    except PerflabError as exc:
        print(f"perflab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"perflab {args.command}: interrupted — nothing was half-written; run it again", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early (perflab report | head): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush does not fail again
        return 0
