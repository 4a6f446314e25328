"""Re-run chapters headless (``perflab report --run``): their verdicts are recorded, their notebooks untouched.

>>> [p.name for p in chapter_notebooks(["06"])]  # doctest: +SKIP
['06-algorithms.ipynb']
>>> run_chapters(chapter_notebooks(["06"]))       # doctest: +SKIP

Each chapter runs top to bottom in a fresh kernel of this interpreter, in a temporary copy of the
notebooks folder (the files you work in are never written), with ``PERFLAB_CHAPTER`` set to its name so
its verdicts say where they were measured. A progress bar counts the cells on stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.scorecard.notes import NOTES

KERNEL_NAME = "python3"


def notebooks_dir() -> Path:
    """The checkout's ``notebooks/`` folder (the chapters)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def measuring_chapters(folder: Path | None = None) -> list[Path]:
    """The chapter notebooks that record verdicts (those named in the scorecard's notes), in order."""
    folder = folder or notebooks_dir()
    names = sorted({n.chapter for n in NOTES.values()})
    return [folder / f"{name}.ipynb" for name in names if (folder / f"{name}.ipynb").is_file()]


def chapter_notebooks(chapters: Sequence[str], folder: Path | None = None) -> list[Path]:
    """The notebooks for ``chapters`` ("06", "6", "06-algorithms" or a path to a .ipynb); none: all that measure.

    Only chapters that measure a claim can be named (00 sets up, 12 only reads): any other raises
    PerflabError naming the choices.
    """
    folder = folder or notebooks_dir()
    found = measuring_chapters(folder)
    if not chapters:
        if not found:
            raise PerflabError(f"no chapter notebooks in {folder} — run perflab report --run from a checkout")
        return found
    paths = []
    for wanted in chapters:
        candidate = Path(wanted)
        if candidate.suffix == ".ipynb" and candidate.is_file():
            paths.append(candidate.resolve())
            continue
        digits = wanted.isascii() and wanted.isdigit()
        prefix = f"{int(wanted):02d}-" if digits else wanted.removesuffix(".ipynb")
        match = [p for p in found if p.stem == prefix or p.name.startswith(prefix) and prefix.endswith("-")]
        if len(match) != 1:
            choices = ", ".join(p.stem.split("-", 1)[0] for p in found) or "none found"
            raise PerflabError(f"no chapter {wanted!r} that measures a claim — choose from: {choices} "
                               "(e.g. perflab report --run 06)")
        paths.append(match[0])
    return paths


def this_python_kernel_manager() -> type:
    """A kernel manager whose ``python3`` kernel is this interpreter, whatever kernels are installed."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> Any:
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(resource_dir=RESOURCES, **get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    class ThisPythonKernel(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> Any:
            return ThisPythonSpecs(data_dir=self.data_dir)

    return ThisPythonKernel


@dataclass(frozen=True)
class ChapterRun:
    """How one chapter's run went: ``error`` is None when every cell ran; ``interrupted`` after Ctrl-C."""

    chapter: str
    cells: int
    error: str | None = None
    interrupted: bool = False


def _interruptible_client() -> type:
    """NotebookClient whose Ctrl-C (SIGINT) stops the run cleanly: the cell's task is cancelled, the kernel
    shut down once, and ``interrupted`` set (nbclient's own handler would kill the kernel under the running
    cell and then fail in its cleanup, with two tracebacks)."""
    import asyncio
    import signal
    from contextlib import asynccontextmanager

    from nbclient import NotebookClient

    class Client(NotebookClient):
        interrupted = False

        @asynccontextmanager
        async def async_setup_kernel(self, **kwargs: Any) -> Any:
            async with super().async_setup_kernel(**kwargs):
                task = asyncio.current_task()

                def on_interrupt() -> None:
                    self.interrupted = True
                    if task is not None:
                        task.cancel()

                loop = asyncio.get_running_loop()
                try:
                    loop.add_signal_handler(signal.SIGINT, on_interrupt)
                except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
                    pass
                yield

    return Client


def _kernel_env(chapter: str) -> dict[str, str]:
    """The kernel's environment: this perflab first on the path, the chapter named, plots not drawn."""
    import perflab

    here = str(Path(perflab.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PERFLAB_CHAPTER": chapter, "MPLBACKEND": "Agg"}
    env.pop("PERFLAB_STRICT", None)  # record what this machine measures, even below a notebook's floor
    return env


def _code_cells(nb: Any) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


def run_chapters(paths: Sequence[Path], *, timeout: int = 600, progress: bool = True) -> list[ChapterRun]:
    """Execute each chapter headless in a temporary copy of its folder; a failing chapter does not stop the rest.

    Ctrl-C stops the run: the kernel is shut down (it runs in its own session, so the terminal's Ctrl-C
    reaches this process only), the chapter is returned with ``interrupted=True`` and none after it runs.

    Parameters: ``paths``, chapter notebooks (:func:`chapter_notebooks`); ``timeout``, seconds per cell;
    ``progress``, show a progress bar (cells) on stderr.
    """
    import asyncio

    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from tqdm import tqdm

    books = [(Path(p), nbformat.read(p, as_version=4)) for p in paths]
    bar = tqdm(total=sum(_code_cells(nb) for _, nb in books), unit="cell", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    runs = []
    client_class = _interruptible_client()
    try:
        for path, nb in books:
            bar.set_description(path.stem)
            error, interrupted = None, False
            try:
                with tempfile.TemporaryDirectory(prefix="perflab-run-") as tmp:
                    copy = Path(tmp) / "notebooks"
                    shutil.copytree(path.parent, copy,
                                    ignore=shutil.ignore_patterns(".*", "__pycache__", "*.ipynb"))
                    shutil.copy2(path, copy / path.name)
                    client = client_class(
                        nb, timeout=timeout, kernel_name=KERNEL_NAME,
                        kernel_manager_class=this_python_kernel_manager(),
                        resources={"metadata": {"path": str(copy)}}, record_timing=False,
                        on_cell_executed=lambda **_: bar.update(1),
                    )
                    try:
                        client.execute(env=_kernel_env(path.stem), stderr=subprocess.DEVNULL)
                    except CellTimeoutError:
                        error = f"a cell did not finish within {timeout} s"
                    except CellExecutionError as exc:
                        first = "".join((exc.evalue or "").strip().splitlines()[:1])
                        error = f"a cell raised {exc.ename}" + (f": {first}" if first else "")
                    except DeadKernelError:
                        error = None if client.interrupted else "the kernel died (out of memory?)"
                    except (asyncio.CancelledError, AssertionError):
                        if not client.interrupted:
                            raise
                    interrupted = client.interrupted
            except KeyboardInterrupt:  # between cells' tasks: starting the kernel, copying the folder
                interrupted = True
            if interrupted:
                runs.append(ChapterRun(path.stem, _code_cells(nb), "interrupted", interrupted=True))
                break
            runs.append(ChapterRun(path.stem, _code_cells(nb), error))
    finally:
        bar.close()
    return runs
