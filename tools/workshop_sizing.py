"""Size a workshop machine by measuring: a hub's servers, the learners' first builds at once, disk, connections, Redis.

    PYTHONPATH=. .venv/bin/python -m tools.workshop_sizing --pg postgresql://postgres@127.0.0.1:5432/DB \\
        --redis redis://127.0.0.1:6379/13 --learners 4 --scale 1 [--chapters 00 10]

Prints figures (nothing is asserted); workshop/README.md quotes them. Every learner, schema, role and Redis key
it makes is dropped at the end. Parts:

- hub: a real hub (workshop/jupyterhub_config.py) with ``--learners`` learners; RSS of the hub, the proxy and
  each idle single-user server; then every learner's first ``perflab.connect()`` (the dataset build) in their
  own kernel at the same time, with the peak PostgreSQL connections per learner and each kernel's RSS after.
- builds: the same first builds outside the hub for 1, 2, … ``--learners`` learners at once (wall time), and a
  straight line through them extrapolated to ``--extrapolate`` learners.
- disk: pg_total_relation_size of one learner's schema.
- chapters (``--chapters``): each chapter run top to bottom as one learner on the shared server (under the
  notebook lock), with its wall time, the kernel's peak RSS, the peak connections and the peak Redis memory of
  the learner's keys (MEMORY USAGE of ``perflab:<learner>:*``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from perflab.urls import mask_url
from workshop import hubclient, learners

ROOT = Path(__file__).resolve().parent.parent
LOCK = "/tmp/perflab-notebook.lock"
MB = 1024 * 1024


class Sampler:
    """Calls ``probe()`` every ``every`` seconds in a thread and keeps the largest value seen per key."""

    def __init__(self, probe: Callable[[], dict[str, float]], every: float = 0.2) -> None:
        self.probe, self.every = probe, every
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                for key, value in self.probe().items():
                    self.peak[key] = max(self.peak.get(key, 0.0), value)
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _admin(pg: str) -> Any:
    import psycopg

    from perflab.urls import parse_url

    return psycopg.connect(parse_url(pg).set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)


def connections_probe(pg: str, names: list[str]) -> Callable[[], dict[str, float]]:
    """Connections each learner's role holds now (pg_stat_activity)."""
    conn = _admin(pg)

    def probe() -> dict[str, float]:
        rows = conn.execute("SELECT usename, count(*) FROM pg_stat_activity WHERE usename = ANY(%s) GROUP BY 1",
                            (names,)).fetchall()
        return {name: float(n) for name, n in rows}

    return probe


def schema_bytes(pg: str, name: str) -> int:
    with _admin(pg) as conn:
        row = conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                           (name,)).fetchone()
    return int(row[0])


def rss(process: psutil.Process) -> float:
    return process.memory_info().rss / MB


def hub_part(pg: str, redis_url: str | None, who: list[learners.Learner], run_dir: Path, scale: str) -> None:
    names = [x.name for x in who]
    hub = hubclient.start_hub(pg, run_dir, redis_url=redis_url, env={"PERFLAB_SCALE": scale})
    try:
        spawn = hub.spawn(names)
        print(f"hub: {len(names)} servers spawned in {spawn:.1f} s")
        time.sleep(5)  # idle: past the servers' start-up work
        tree = psutil.Process(hub.child.pid).children(recursive=True)
        servers = [p for p in tree if "jupyterhub-singleuser" in " ".join(p.cmdline())]
        proxy = [p for p in tree if "configurable-http-proxy" in " ".join(p.cmdline())]
        idle = [rss(p) for p in servers]
        print(f"  RSS idle: hub {rss(psutil.Process(hub.child.pid)):.0f} MB, proxy {sum(map(rss, proxy)):.0f} MB, "
              f"single-user server {min(idle):.0f}-{max(idle):.0f} MB (mean {sum(idle) / len(idle):.0f})")
        code = ["import time, perflab\nt = time.perf_counter(); engine = perflab.connect()\n"
                "print(f'{time.perf_counter() - t:.2f}')"]
        with Sampler(connections_probe(pg, names)) as conns, concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
            started = time.perf_counter()
            futures = [pool.submit(hub.run_code, n, code, keep=True) for n in names]
            firsts = [float(f.result()[0]) for f in futures]
            wall = time.perf_counter() - started
        print(f"  {len(names)} first builds at scale {scale} in kernels at once: {wall:.1f} s wall; "
              f"each connect() {min(firsts):.1f}-{max(firsts):.1f} s")
        print(f"  peak PostgreSQL connections per learner during it: {max(conns.peak.values(), default=0):.0f}")
        kernels = [p for p in psutil.Process(hub.child.pid).children(recursive=True)
                   if "ipykernel" in " ".join(p.cmdline())]
        after = [rss(p) for p in kernels]
        if after:
            print(f"  kernel RSS after its build: {min(after):.0f}-{max(after):.0f} MB")
    finally:
        hub.child.stop(grace=30)


BUILD = """
import sys, time
from perflab import dataset
from perflab.db import make_engine
url, schema, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = make_engine(url, schema=schema)
dataset.reset(engine)
print("ready", flush=True)
sys.stdin.readline()
t = time.perf_counter()
dataset.build(engine, scale, 17, progress=False)
print(f"{time.perf_counter() - t:.3f}", flush=True)
"""


def builds_part(pg: str, who: list[learners.Learner], scale: str, extrapolate: int) -> None:
    """First builds of n learners at once, n = 1, 2, 4, …, len(who): each process imports and resets first."""
    counts = sorted(n for n in {1, 2, *range(4, len(who) + 1, 2), len(who)} if n <= len(who))
    points = []
    for n in counts:
        procs = [subprocess.Popen([sys.executable, "-c", BUILD, learners.learner_url(pg, x), x.name, scale],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
                 for x in who[:n]]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        each = [float(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
        wall = time.perf_counter() - started
        points.append((n, wall))
        print(f"builds: {n} learner(s) at scale {scale} at once: {wall:.1f} s wall (each {min(each):.1f}-"
              f"{max(each):.1f} s)")
    if len(points) >= 2:
        mean_n = sum(n for n, _ in points) / len(points)
        mean_t = sum(t for _, t in points) / len(points)
        slope = sum((n - mean_n) * (t - mean_t) for n, t in points) / sum((n - mean_n) ** 2 for n, _ in points)
        at = mean_t + slope * (extrapolate - mean_n)
        print(f"  straight line: {mean_t - slope * mean_n:.1f} s + {slope:.2f} s per learner → "
              f"{extrapolate} learners at once ≈ {at:.0f} s (extrapolated, not measured)")


def redis_probe(url: str, name: str) -> Callable[[], dict[str, float]]:
    import redis

    client = redis.Redis.from_url(url)

    def probe() -> dict[str, float]:
        """The learner's keys now, and their bytes: MEMORY USAGE of up to 200 of them, scaled to all."""
        keys = list(client.scan_iter(match=f"perflab:{name}:*", count=5000))
        sample = random.sample(keys, min(len(keys), 200))
        per_key = sum(client.memory_usage(k) or 0 for k in sample) / max(len(sample), 1)
        return {"bytes": per_key * len(keys), "keys": float(len(keys))}

    return probe


@contextlib.contextmanager
def notebook_lock() -> Iterator[None]:
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cell_seconds(cell: Any) -> float:
    """A cell's run time from the timing nbclient records in its metadata (0 when missing)."""
    from datetime import datetime

    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = timing["iopub.execute_input"], timing["shell.execute_reply"]
    except KeyError:
        return 0.0
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def chapters_part(pg: str, redis_url: str | None, learner: learners.Learner, chapters: list[str], scale: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    env = learners.learner_env(learner, pg, redis_url)
    saved = {k: os.environ.get(k) for k in [*env, "PERFLAB_SCALE"]}
    os.environ.update(env, PERFLAB_SCALE=scale)
    me = psutil.Process()
    try:
        for prefix in chapters:
            path, = sorted((ROOT / "notebooks").glob(f"{prefix}*.ipynb"))
            nb = nbformat.read(path, as_version=4)
            probes: list[Callable[[], dict[str, float]]] = [connections_probe(pg, [learner.name])]
            if redis_url:
                probes.append(redis_probe(redis_url, learner.name))
            probes.append(lambda: {"rss": sum(rss(p) for p in me.children(recursive=True))})

            def probe(probes: list[Callable[[], dict[str, float]]] = probes) -> dict[str, float]:
                return {k: v for p in probes for k, v in p().items()}

            with tempfile.TemporaryDirectory() as cwd, notebook_lock(), Sampler(probe, 0.25) as peak:
                started = time.perf_counter()
                NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": cwd}},
                               allow_errors=True).execute()
                wall = time.perf_counter() - started
            errors = [f"{o['ename']}: {o['evalue'][:200]}" for c in nb.cells for o in c.get("outputs", [])
                      if o.get("output_type") == "error"  # a cell tagged raises-exception shows one on purpose
                      and "raises-exception" not in c.get("metadata", {}).get("tags", [])]
            kb, keys = peak.peak.get("bytes", 0) / 1024, peak.peak.get("keys", 0)
            redis_part = f", Redis peak {kb:.0f} KB in {keys:.0f} keys" if redis_url else ""
            print(f"chapter {path.stem}: {wall:.1f} s, kernel peak RSS {peak.peak.get('rss', 0):.0f} MB, "
                  f"peak connections {peak.peak.get(learner.name, 0):.0f}{redis_part}"
                  + (f", {len(errors)} cell error(s), the first: {errors[0]}" if errors else ""))
            slow = sorted(((cell_seconds(c), c.source.strip().splitlines()[0][:70]) for c in nb.cells
                           if c.cell_type == "code" and c.source.strip()), reverse=True)[:3]
            print("  slowest cells: " + "; ".join(f"{sec:.1f} s `{first}`" for sec, first in slow))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> None:
    top = argparse.ArgumentParser(prog="python -m tools.workshop_sizing", description=__doc__.splitlines()[0])
    top.add_argument("--pg", required=True, help="the shared PostgreSQL database, as a role that may create roles")
    top.add_argument("--redis", default=None, help="the shared Redis")
    top.add_argument("--learners", type=int, default=4)
    top.add_argument("--scale", default="1")
    top.add_argument("--extrapolate", type=int, default=30)
    top.add_argument("--parts", default="hub,builds,disk", help="comma-separated: hub, builds, disk")
    top.add_argument("--chapters", nargs="*", default=[], metavar="NN", help="chapters to run as one learner")
    args = top.parse_args(argv)
    run_dir = Path(tempfile.mkdtemp(prefix="perflab-sizing-"))
    names = learners.learner_names(args.learners, f"size{os.getpid() % 10000}_")
    who = learners.create(args.pg, names, run_dir, args.redis)
    parts = set(args.parts.split(","))
    print(f"{len(who)} learners on {mask_url(args.pg)}, scale {args.scale}, {os.cpu_count()} CPUs, "
          f"{psutil.virtual_memory().total / 1024**3:.1f} GB RAM")
    try:
        if "hub" in parts:
            hub_part(args.pg, args.redis, who, run_dir, args.scale)
        if "builds" in parts:
            builds_part(args.pg, who, args.scale, args.extrapolate)
        if "disk" in parts:
            if "hub" not in parts and "builds" not in parts:
                builds_part(args.pg, who[:1], args.scale, args.extrapolate)
            size = schema_bytes(args.pg, who[0].name)
            print(f"disk: one learner's schema at scale {args.scale}: {size / MB:.0f} MB "
                  f"(× {args.extrapolate} = {size * args.extrapolate / MB / 1024:.1f} GB)")
        if args.chapters:
            chapters_part(args.pg, args.redis, who[0], args.chapters, args.scale)
    finally:
        learners.drop(args.pg, names, run_dir, args.redis)


if __name__ == "__main__":
    main()
