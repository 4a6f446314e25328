"""Re-execute notebooks in a fresh kernel (this interpreter) and normalize them for clean diffs."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from tools.nbtools.common import (
    DEFAULT_TIMEOUT,
    KERNEL_NAME,
    KERNELSPEC,
    RAISES_TAG,
    VOLATILE_CELL_METADATA,
    VOLATILE_NOTEBOOK_METADATA,
    WIDGET_STATE,
    WIDGET_VIEW,
    chapter_number,
    ensure_cell_ids,
    read_notebook,
    shown_path,
    write_notebook,
)
from tools.nbtools.nav import Course, apply_nav


def normalize(nb: Any, name: str = "") -> Any:
    """Strip what changes on every run so diffs show only real changes; returns the same notebook.

    The kernelspec becomes ``python3``; ``language_info`` is kept whole as the kernel reported it
    (JupyterLab would otherwise fill it in and mark the chapter as changed the moment it opens);
    timing metadata goes; widget model ids become stable ids derived from ``name`` and their order,
    in the saved widget state and in the outputs alike (so the sliders show before the kernel runs
    and diffs stay small); cell ids are kept (missing ones made stable) and execution counts
    become 1..N over the non-empty code cells.

    >>> import nbformat.v4 as v4
    >>> nb = normalize(v4.new_notebook(metadata={"language_info": {"name": "python", "version": "3.11.7"}}))
    >>> dict(nb.metadata)
    {'language_info': {'name': 'python', 'version': '3.11.7'}, 'kernelspec': {'display_name': 'Python 3 (ipykernel)', \
'language': 'python', 'name': 'python3'}}

    Parameters:
        nb: the notebook, changed in place.
        name: what the stable widget ids are derived from (the notebook's file name).
    """
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    ensure_cell_ids(nb)
    _drop_unshown_widgets(nb)
    _stable_widget_ids(nb, name)
    count = 0
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        if not cell.get("source", "").strip():
            cell["execution_count"] = None
            cell["outputs"] = []
            continue
        if cell.get("execution_count") is None:
            continue
        count += 1
        cell["execution_count"] = count
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
    return nb


def _drop_unshown_widgets(nb: Any) -> None:
    """Keep only the saved widget models that an output shows, directly or as a child (``IPY_MODEL_<id>``).

    A widget made and never shown (a progress bar that a fast dataset build never displayed, say) would
    otherwise stay in the saved state, where a renderer (the static site, nbviewer) looks for its view.

    >>> import nbformat.v4 as v4
    >>> nb = v4.new_notebook(metadata={"widgets": {WIDGET_STATE: {"state": {
    ...     "a": {"state": {"children": ["IPY_MODEL_b"]}}, "b": {"state": {}}, "orphan": {"state": {}}}}}})
    >>> nb.cells.append(v4.new_code_cell(outputs=[v4.new_output("display_data", {WIDGET_VIEW: {"model_id": "a"}})]))
    >>> _drop_unshown_widgets(nb)
    >>> sorted(nb.metadata["widgets"][WIDGET_STATE]["state"])
    ['a', 'b']
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return
    todo = [output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id") for cell in nb.cells
            for output in cell.get("outputs", []) if isinstance(output.get("data", {}).get(WIDGET_VIEW), dict)]
    shown: set[str] = set()
    while todo:
        model = todo.pop()
        if model in shown or model not in state:
            continue
        shown.add(model)
        todo.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state[model])))
    for model in set(state) - shown:
        del state[model]
    if not state:
        nb.metadata.pop("widgets")


def _stable_widget_ids(nb: Any, name: str) -> None:
    """Replace the random widget model ids (saved state and outputs) by ids derived from ``name`` and order."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return
    ids = {old: hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:32] for i, old in enumerate(state)}
    pattern = re.compile("|".join(re.escape(old) for old in ids))

    def swap(obj: Any) -> Any:
        if isinstance(obj, str):
            return pattern.sub(lambda m: ids[m.group()], obj)
        if isinstance(obj, list):
            return [swap(v) for v in obj]
        if isinstance(obj, dict):
            return type(obj)((swap(k), swap(v)) for k, v in obj.items())
        return obj

    nb.metadata["widgets"] = swap(nb.metadata["widgets"])
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and view.get("model_id"):
                view["model_id"] = ids.get(view["model_id"], view["model_id"])


def kernel_manager_class() -> type:
    """A kernel manager whose ``python3`` kernel is this interpreter (like nbval's --nbval-current-env)."""
    from perflab.scorecard.rerun import this_python_kernel_manager

    return this_python_kernel_manager()


def execute_notebook(path: Path | str, *, timeout: int = DEFAULT_TIMEOUT) -> Any:
    """Re-run a notebook top to bottom in a fresh kernel, normalize it and save it in place.

    The kernel is this interpreter, its working folder is the notebook's, ``PERFLAB_STRICT``
    defaults to 1 (as in CI) and ``MPLBACKEND`` is unset so plots are inline PNGs. A chapter's
    navigation is refreshed too. Nothing is written if a cell fails; the error names the
    notebook and the cell in one line.

    >>> execute_notebook("notebooks/01-measure-first.ipynb")  # doctest: +SKIP

    Parameters: ``path``, the notebook; ``timeout``, seconds allowed per cell.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = read_notebook(path)
    if chapter_number(path) is not None:
        apply_nav(nb, path, Course.scan(path.parent, {path: nb}))
    current = {"index": -1}

    def on_cell_execute(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=kernel_manager_class(),
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
        store_widget_state=True,
        coalesce_streams=True,
        on_cell_execute=on_cell_execute,
    )
    # Without a handler for Output widgets, what `interact` and `with out:` print lands in the
    # cell outputs, exactly where nbval (which has no widget frontend) finds it when it re-runs.
    client.widget_registry = {}
    env = dict(os.environ)
    env.setdefault("PERFLAB_STRICT", "1")
    env.pop("MPLBACKEND", None)  # e.g. MPLBACKEND=Agg in CI would drop every plot from the outputs
    try:
        client.execute(env=env)
    except CellTimeoutError:
        where = f"{shown_path(path)}: cell {current['index']}"
        raise PerflabError(
            f"{where} did not finish within {timeout} s (make it faster, or pass --timeout)"
        ) from None
    except DeadKernelError:
        raise PerflabError(
            f"{shown_path(path)}: cell {current['index']}: the kernel died (out of memory?)"
        ) from None
    except CellExecutionError as exc:
        where = f"{shown_path(path)}: cell {current['index']}"
        first_line = (exc.evalue or "").strip().splitlines()[:1]
        raise PerflabError(
            f"{where} raised {exc.ename}: {''.join(first_line)}"
            f" (fix it, or tag the cell {RAISES_TAG} if the error is the lesson)"
        ) from None
    normalize(nb, path.name)
    write_notebook(nb, path)
    return nb
