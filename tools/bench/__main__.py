"""``python -m tools.bench [build|timing|queries|memory|all] [NOTEBOOK ...]``: print the benchmark figures."""

from __future__ import annotations

import argparse
import os

from tools import bench


def main(argv: list[str] | None = None) -> int:
    summary = (bench.__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=summary,
                                     epilog="Example: python -m tools.bench build")
    parser.add_argument("what", nargs="?", default="all", choices=["build", "timing", "queries", "memory", "all"],
                        help="all: build, timing and queries (memory runs notebooks: ask for it by name)")
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="memory only: the notebooks to run (default: every chapter)")
    parser.add_argument("--pg", default=os.environ.get("PERFLAB_TEST_POSTGRES_URL"),
                        help="PostgreSQL URL for the COPY figure (default: PERFLAB_TEST_POSTGRES_URL)")
    args = parser.parse_args(argv)
    if args.notebooks and args.what != "memory":
        parser.error(f"notebooks are for `memory`, not `{args.what}`: python -m tools.bench memory NOTEBOOK ...")
    if args.what in ("build", "all"):
        from tools.bench.build import bench_build

        bench_build(args.pg)
    if args.what in ("timing", "all"):
        from tools.bench.timing import bench_timing

        bench_timing()
    if args.what in ("queries", "all"):
        from tools.bench.queries import bench_booked_latency, bench_latency, bench_querylog

        bench_querylog()
        bench_booked_latency()
        bench_latency()
    if args.what == "memory":
        from tools.bench.memory import bench_memory

        failed = [r for r in bench_memory(args.notebooks) if r.failure]
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
