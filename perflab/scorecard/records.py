"""Every verdict kept on disk: one JSON line per verdict, so chapter 12 and ``perflab report`` see them all.

>>> import os, tempfile
>>> from perflab.claims import verdict
>>> os.environ["PERFLAB_VERDICTS"] = os.path.join(tempfile.mkdtemp(), "verdicts.jsonl")
>>> v = verdict("async", 3.0, context="demo")
book: async processing 2-5x faster · measured here 3.0x ✅ (within the claim) · demo
>>> [(r["key"], r["measured"], r["status"]) for r in read_records()]
[('async', 3.0, 'within')]
>>> del os.environ["PERFLAB_VERDICTS"]

:func:`perflab.claims.verdict` calls :func:`record` for every verdict. The file is
``PERFLAB_VERDICTS`` (default ``data/verdicts.jsonl``, git-ignored); each line holds the claim's key,
the measured ratio, the floor, the status, the context, the backend and the masked database URL, the
chapter (when the kernel knows its notebook), the machine and the time in UTC. Kernels that record at
the same moment take turns on a lock file beside it, so lines never interleave.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import warnings
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perflab.claims import Verdict

#: Environment variables that name the running notebook: ours (``perflab report --run`` sets it),
#: then Jupyter Server's (JupyterLab and Notebook 7 set it for each kernel they start).
CHAPTER_VARIABLES = ("PERFLAB_CHAPTER", "JPY_SESSION_NAME")
LOCK_TIMEOUT = 10.0


def verdicts_file() -> Path:
    """Where verdicts are recorded: ``PERFLAB_VERDICTS``, else ``verdicts.jsonl`` in the data folder.

    >>> verdicts_file().name
    'verdicts.jsonl'
    """
    from perflab.config import settings

    return settings().verdicts_file


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """This machine in a few fields: operating system, processor architecture, CPU count, Python.

    >>> sorted(machine())
    ['cpus', 'machine', 'platform', 'python']
    """
    return {
        "platform": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def describe_machine(info: dict[str, Any] | None = None) -> str:
    """A one-line description of a machine record.

    >>> describe_machine({"platform": "Linux-6.1", "machine": "x86_64", "cpus": 2, "python": "3.12.3"})
    'Linux-6.1 x86_64, 2 CPUs, Python 3.12.3'
    """
    m = machine() if info is None else info
    return f"{m.get('platform', '?')} {m.get('machine', '')}".rstrip() + \
        f", {m.get('cpus', '?')} CPUs, Python {m.get('python', '?')}"


def current_chapter() -> str | None:
    """The running notebook's name without ``.ipynb`` (e.g. ``'06-algorithms'``), or None when unknown.

    Read from ``PERFLAB_CHAPTER`` or ``JPY_SESSION_NAME``, else from VS Code's ``__vsc_ipynb_file__``.

    >>> os.environ["PERFLAB_CHAPTER"] = "notebooks/06-algorithms.ipynb"
    >>> current_chapter()
    '06-algorithms'
    >>> del os.environ["PERFLAB_CHAPTER"]
    """
    for name in CHAPTER_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).stem
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    path = getattr(shell, "user_ns", {}).get("__vsc_ipynb_file__") if shell is not None else None
    return Path(path).stem if isinstance(path, str) and path else None


def _backend() -> tuple[str, str]:
    """The configured backend ("sqlite" or "postgresql") and its URL without the password."""
    from perflab.config import settings
    from perflab.urls import mask_url

    cfg = settings()
    backend = "postgresql" if cfg.backend.startswith("postgres") else cfg.backend
    return backend, mask_url(cfg.database_url)


def as_record(v: Verdict) -> dict[str, Any]:
    """The verdict as the dictionary written to the file (one JSON line).

    >>> from perflab.claims import Verdict, claim
    >>> r = as_record(Verdict(claim("async"), 3.0, 2.0, "within", True, "demo"))
    >>> (r["key"], r["measured"], r["floor"], r["status"], r["context"])
    ('async', 3.0, 2.0, 'within', 'demo')
    """
    backend, database = _backend()
    return {
        "key": v.claim.key,
        "measured": v.measured,
        "floor": v.floor,
        "status": v.status,
        "ok_floor": v.ok_floor,
        "context": v.context,
        "backend": backend,
        "database": database,
        "chapter": current_chapter(),
        "machine": machine(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


_warned: set[str] = set()


def record(v: Verdict, path: Path | str | None = None) -> dict[str, Any] | None:
    """Append the verdict to the verdicts file (under its lock); return the record, or None if it failed.

    A folder that cannot be written is reported once, as a warning: the verdict itself still counts.

    Parameters: ``v``, the verdict; ``path``, the file (default :func:`verdicts_file`).
    """
    from filelock import FileLock, Timeout

    target = Path(path) if path is not None else verdicts_file()
    row = as_record(v)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT), open(target, "a", encoding="utf-8") as f:
            f.write(line)
    except (OSError, Timeout) as exc:
        if str(target) not in _warned:
            _warned.add(str(target))
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            warnings.warn(f"verdicts are not recorded: cannot write {target} ({reason}) — "
                          "set PERFLAB_VERDICTS to a writable file", stacklevel=3)
        return None
    return row


def read_records(path: Path | str | None = None) -> list[dict[str, Any]]:
    """Every recorded verdict, oldest first; lines that are not a verdict of a known claim are skipped.

    A missing file means nothing was recorded yet: an empty list.

    Parameters: ``path``, the file (default :func:`verdicts_file`).
    """
    from perflab.claims import CLAIMS

    target = Path(path) if path is not None else verdicts_file()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut short (a kernel killed mid-write) spoils only itself
        if isinstance(row, dict) and row.get("key") in CLAIMS and isinstance(row.get("measured"), (int, float)):
            rows.append(row)
    return rows
