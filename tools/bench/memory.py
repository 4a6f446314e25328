"""Benchmark: each chapter's peak memory, held against Binder's 2 GB.

>>> from tools.bench.memory import bench_memory
>>> bench_memory(["notebooks/02-n-plus-one.ipynb"])  # doctest: +SKIP

Each notebook runs top to bottom in a fresh kernel of this interpreter, as ``tools.nbtools execute`` runs
it, but nothing is saved. Meanwhile a thread samples, every 20 ms, the resident memory (RSS) of the kernel
and of the kernel with every process it started (servers, workers, load generators). One row per notebook:
its seconds, the kernel's peak, the process tree's peak and whether every cell ran. The tree's figure adds
up each process's RSS, so pages they share count more than once: an upper bound. Binder's 2 GB holds the
whole container, so JupyterLab's own server comes on top of these figures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tools.nbtools.common import DEFAULT_TIMEOUT, KERNEL_NAME, chapter_paths, default_notebooks_dir, read_notebook
from tools.nbtools.execute import kernel_manager_class

BINDER_LIMIT_MB = 2048  # mybinder.org's memory per launch, for the whole container
INTERVAL = 0.02  # seconds between samples
MB = 1024 * 1024


@dataclass
class Peak:
    """The highest RSS seen, in MB: of the process alone, and of it with all its descendants."""

    process_mb: float = 0.0
    tree_mb: float = 0.0
    samples: int = 0


class PeakSampler:
    """Sample a process's RSS and its process tree's in a thread until stopped; keep the peaks.

    It samples once more on leaving, so even a short block is seen:

    >>> with PeakSampler(os.getpid()) as sampler:
    ...     block = b"x" * 50_000_000
    >>> sampler.peak.process_mb > 45 and sampler.peak.tree_mb >= sampler.peak.process_mb
    True
    """

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = Peak()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"peak-rss-{pid}", daemon=True)

    def sample(self) -> None:
        """Read the RSS of the process and of each descendant now; a process that is gone counts nothing."""
        try:
            process = psutil.Process(self.pid)
            own = process.memory_info().rss
            descendants = process.children(recursive=True)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return
        tree = own
        for child in descendants:
            try:
                tree += child.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak.process_mb = max(self.peak.process_mb, own / MB)
        self.peak.tree_mb = max(self.peak.tree_mb, tree / MB)
        self.peak.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


@dataclass
class NotebookMemory:
    """One notebook's run: its seconds, its kernel's peaks, and the first failure (None if every cell ran)."""

    path: Path
    seconds: float
    peak: Peak = field(default_factory=Peak)
    failure: str | None = None


def notebook_memory(path: Path | str, *, timeout: int = DEFAULT_TIMEOUT, interval: float = INTERVAL) -> NotebookMemory:
    """Run a notebook in a fresh kernel of this interpreter, sampling the kernel's memory; save nothing."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    client = NotebookClient(
        read_notebook(path),
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=kernel_manager_class(),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
    )
    client.widget_registry = {}  # as `execute`: Output widgets print into the cell outputs
    samplers: list[PeakSampler] = []

    def start_sampling(**_: Any) -> None:  # the kernel is up and ready: its pid is known
        pid = client.km.provisioner.pid  # type: ignore[union-attr]
        samplers.append(PeakSampler(pid, interval).__enter__())

    client.on_notebook_start = start_sampling
    env = {**os.environ, "PERFLAB_STRICT": os.environ.get("PERFLAB_STRICT", "1")}
    env.pop("MPLBACKEND", None)  # inline plots, as in the course
    failure = None
    started = time.perf_counter()
    try:
        client.execute(env=env)
    except CellTimeoutError:
        failure = f"a cell took longer than {timeout} s"
    except DeadKernelError:
        failure = "the kernel died (out of memory?)"
    except CellExecutionError as exc:
        failure = f"{exc.ename}: {''.join((exc.evalue or '').strip().splitlines()[:1])}"
    finally:
        for sampler in samplers:
            sampler.__exit__()
    seconds = time.perf_counter() - started
    return NotebookMemory(path, seconds, samplers[0].peak if samplers else Peak(), failure)


def memory_table(results: Iterable[NotebookMemory]) -> str:
    """The rows ``bench_memory`` prints.

    >>> print(memory_table([NotebookMemory(Path("00-welcome.ipynb"), 9.5, Peak(180.4, 190.2, 400))]))
    notebook                          seconds  kernel peak  with children  ran
    00-welcome.ipynb                      9.5       180 MB         190 MB  ok
    """
    lines = [f"{'notebook':32} {'seconds':>8} {'kernel peak':>12} {'with children':>14}  ran"]
    for r in results:
        lines.append(f"{r.path.name:32} {r.seconds:8.1f} {r.peak.process_mb:9.0f} MB {r.peak.tree_mb:11.0f} MB"
                     f"  {r.failure or 'ok'}")
    return "\n".join(lines)


def bench_memory(notebooks: Iterable[Path | str] = (), *, timeout: int = DEFAULT_TIMEOUT) -> list[NotebookMemory]:
    """Run each notebook (default: every chapter) and print its peak memory; return the results."""
    paths = [Path(p) for p in notebooks] or chapter_paths(default_notebooks_dir())
    print(f"== memory: each notebook in a fresh kernel, RSS sampled every {INTERVAL * 1000:.0f} ms "
          f"(Binder: {BINDER_LIMIT_MB} MB for the whole container, JupyterLab included)")
    results = []
    for path in paths:
        results.append(notebook_memory(path, timeout=timeout))
        print(memory_table(results[-1:]).splitlines()[-1] if len(results) > 1 else memory_table(results), flush=True)
    if results:
        worst = max(results, key=lambda r: r.peak.tree_mb)
        print(f"highest: {worst.path.name}, {worst.peak.tree_mb:.0f} MB with children "
              f"({worst.peak.tree_mb / BINDER_LIMIT_MB:.0%} of Binder's {BINDER_LIMIT_MB} MB)")
    return results
