"""The command line ``python -m tools.nbtools execute | nav | check``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from perflab.errors import PerflabError
from tools.nbtools.common import (
    CONTENTS_MARKER,
    DEFAULT_TIMEOUT,
    NAV_MARKER,
    chapter_paths,
    default_notebooks_dir,
    shown_path,
)
from tools.nbtools.execute import execute_notebook
from tools.nbtools.nav import refresh_nav
from tools.nbtools.rules import check_folder, check_notebook


def _default_targets(folder: Path) -> list[Path]:
    return chapter_paths(folder) + sorted((folder / "solutions").glob("*.ipynb"))


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m tools.nbtools",
        description="Keep the course notebooks executed, navigable and well-formed.",
        epilog="Example: python -m tools.nbtools execute notebooks/02-n-plus-one.ipynb",
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "execute",
        help="re-run notebooks in place in a fresh kernel and normalize them",
        description="Re-run notebooks top to bottom in a fresh python3 kernel (this interpreter), in the "
        "notebook's folder, with PERFLAB_STRICT=1 unless set; then normalize metadata, refresh the "
        "navigation and save. Nothing is written for a notebook whose cell fails.",
        epilog="Example: python -m tools.nbtools execute notebooks/02-n-plus-one.ipynb",
        formatter_class=fmt,
    )
    run.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        metavar="NOTEBOOK",
        help="notebooks to run (default: every notebooks/NN-*.ipynb and notebooks/solutions/*.ipynb)",
    )
    run.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time allowed per cell (default {DEFAULT_TIMEOUT})",
    )
    run.add_argument(
        "--dir", type=Path, default=None, help="notebooks folder (default: the checkout's notebooks/)"
    )

    nav = sub.add_parser(
        "nav",
        help="refresh the navigation cell of every chapter and the contents in 00",
        description=f"Rewrite the last cell of every chapter (marked {NAV_MARKER}) with links to the"
        f" previous chapter, the contents and the next chapter, and the chapter list in 00 (marked"
        f" {CONTENTS_MARKER}).",
        epilog="Example: python -m tools.nbtools nav --check",
        formatter_class=fmt,
    )
    nav.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything would change")
    nav.add_argument(
        "--dir", type=Path, default=None, help="notebooks folder (default: the checkout's notebooks/)"
    )

    chk = sub.add_parser(
        "check",
        help="check every chapter against the structure rules",
        description="Print one line per broken rule (title, objectives, plot, exercise, key points,"
        " navigation, errors, machine paths, NBVAL comments, execution counts, volatile outputs,"
        " semicolons, widgets, size); exit 1 if there is any.",
        epilog="Example: python -m tools.nbtools check notebooks/05-compression.ipynb",
        formatter_class=fmt,
    )
    chk.add_argument(
        "notebooks", nargs="*", type=Path, metavar="NOTEBOOK", help="chapters to check (default: all)"
    )
    chk.add_argument(
        "--dir", type=Path, default=None, help="notebooks folder (default: the checkout's notebooks/)"
    )
    return parser


def _warn_about_environment() -> None:
    from perflab.urls import mask_url

    for name in ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA"):
        value = os.environ.get(name)
        if value:
            shown = mask_url(value) if name == "PERFLAB_DATABASE_URL" else value
            print(
                f"note: {name}={shown} is set; committed outputs are validated against the default "
                "SQLite dataset, so unset it before committing these outputs",
                file=sys.stderr,
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tools.nbtools``; returns the exit status."""
    args = _parser().parse_args(argv)
    folder = args.dir if args.dir is not None else default_notebooks_dir()
    try:
        if args.command == "execute":
            targets = list(args.notebooks) or _default_targets(folder)
            if not targets:
                print(f"no notebooks in {shown_path(folder)}", file=sys.stderr)
                return 0
            _warn_about_environment()
            failed = 0
            for path in targets:
                try:
                    execute_notebook(path, timeout=args.timeout)
                    print(f"executed {shown_path(path)}")
                except PerflabError as exc:
                    failed += 1
                    print(f"error: {exc}", file=sys.stderr)
            return 1 if failed else 0
        if args.command == "nav":
            changed = refresh_nav(folder, check=args.check)
            for path in changed:
                print(f"{'would update' if args.check else 'updated'} {shown_path(path)}")
            return 1 if (args.check and changed) else 0
        findings = (
            [f for path in args.notebooks for f in check_notebook(path)]
            if args.notebooks
            else check_folder(folder)
        )
        for finding in findings:
            print(finding)
        count = len(args.notebooks) or len(chapter_paths(folder))
        print(f"{len(findings)} finding(s) in {count} notebook(s)", file=sys.stderr)
        return 1 if findings else 0
    except PerflabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
