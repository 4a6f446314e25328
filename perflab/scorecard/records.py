"""Every verdict kept on disk: one JSON line per verdict, so chapter 12 and ``perflab report`` see them all.

>>> import os, tempfile
>>> from perflab.claims import verdict
>>> before = os.environ.get("PERFLAB_VERDICTS")
>>> os.environ["PERFLAB_VERDICTS"] = os.path.join(tempfile.mkdtemp(), "verdicts.jsonl")
>>> v = verdict("async", 3.0, context="demo")
book: async processing 2-5x faster · measured here 3.0x ✅ (within the claim) · demo
>>> [(r["key"], r["measured"], r["status"]) for r in read_records()]
[('async', 3.0, 'within')]
>>> _ = os.environ.pop("PERFLAB_VERDICTS") if before is None else os.environ.update(PERFLAB_VERDICTS=before)

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
from dataclasses import dataclass
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


#: The backend of a claim whose chapter never touches the database: one row, whatever the backend.
ANY_BACKEND = "any"


def as_record(v: Verdict) -> dict[str, Any]:
    """The verdict as the dictionary written to the file (one JSON line).

    >>> from perflab.claims import Verdict, claim
    >>> r = as_record(Verdict(claim("async"), 3.0, 2.0, "within", True, "demo"))
    >>> (r["key"], r["measured"], r["floor"], r["status"], r["context"])
    ('async', 3.0, 2.0, 'within', 'demo')
    >>> as_record(Verdict(claim("set_lookup"), 900.0, 50.0, "below", True))["backend"]
    'any'
    """
    from perflab.scorecard.notes import NOTES

    backend, database = _backend()
    note = NOTES.get(v.claim.key)
    return {
        "key": v.claim.key,
        "measured": v.measured,
        "floor": v.floor,
        "status": v.status,
        "ok_floor": v.ok_floor,
        "context": v.context,
        "backend": backend if note is None or note.database else ANY_BACKEND,
        "database": database,
        "chapter": current_chapter(),
        "machine": machine(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


_warned: set[str] = set()


def _ends_with_newline(path: Path) -> bool:
    """True when the file is empty, missing, or ends with a newline (a line cut short does not)."""
    try:
        with open(path, "rb") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return True
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
    except FileNotFoundError:
        return True


def record(v: Verdict, path: Path | str | None = None) -> dict[str, Any] | None:
    """Append the verdict to the verdicts file (under its lock); return the record, or None if it failed.

    A line left cut short (a kernel killed mid-write) is ended first, so it spoils only itself.
    A folder that cannot be written is reported once, as a warning: the verdict itself still counts.

    Parameters: ``v``, the verdict; ``path``, the file (default :func:`verdicts_file`).
    """
    from filelock import FileLock, Timeout

    target = Path(path) if path is not None else verdicts_file()
    row = as_record(v)
    line = json.dumps(row, ensure_ascii=True) + "\n"  # ASCII: a cut line never splits a character
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT):
            prefix = "" if _ends_with_newline(target) else "\n"
            with open(target, "a", encoding="ascii") as f:
                f.write(prefix + line)
    except (OSError, Timeout) as exc:
        if str(target) not in _warned:
            _warned.add(str(target))
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            warnings.warn(f"verdicts are not recorded: cannot write {target} ({reason}) — "
                          "set PERFLAB_VERDICTS to a writable file", stacklevel=3)
        return None
    return row


@dataclass(frozen=True)
class Recorded:
    """What the verdicts file holds: the verdicts that can be read, and how many lines could not."""

    rows: list[dict[str, Any]]
    skipped: int = 0

    @property
    def note(self) -> str:
        """``'3 unreadable lines skipped'``, or "" when every line was a verdict."""
        if not self.skipped:
            return ""
        return f"{self.skipped} unreadable line{'s' if self.skipped != 1 else ''} skipped"


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One line of the file as a verdict of a known claim with a valid ratio, its status recomputed; else None.

    >>> parse_line(b'{"key": "async", "measured": 3, "status": "below"}')["status"]
    'within'
    >>> [parse_line(raw) for raw in (b'{"key": "async", "measured": -3}', b'{"key": "as', bytes([255]))]
    [None, None, None]
    """
    from perflab.claims import CLAIMS, as_ratio, status_of

    try:
        row = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too: a line cut mid-character, or bytes that are not text
        return None
    if not isinstance(row, dict) or row.get("key") not in CLAIMS:
        return None
    measured = as_ratio(row.get("measured"))
    if measured is None:
        return None
    floor = as_ratio(row.get("floor"))
    return {**row, "measured": measured, "floor": floor, "status": status_of(row["key"], measured),
            "ok_floor": floor is None or measured >= floor}


def load(path: Path | str | None = None) -> Recorded:
    """Every readable verdict, oldest first, and the count of lines that are not one (cut short, damaged,
    an unknown claim, a ratio that is not a finite number > 0). A missing file: nothing recorded yet.

    The status is recomputed from the claim as it is now: a line cannot say ✅ for a ratio that misses.
    A file that cannot be read (a folder, no permission) raises PerflabError in one line.

    Parameters: ``path``, the file (default :func:`verdicts_file`).
    """
    from perflab.errors import PerflabError

    target = Path(path) if path is not None else verdicts_file()
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return Recorded([])
    except OSError as exc:
        raise PerflabError(f"cannot read the verdicts file {target} ({exc.strerror or type(exc).__name__}) — "
                           "set PERFLAB_VERDICTS to a file, or move this one away") from None
    rows, skipped = [], 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        row = parse_line(raw)
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    return Recorded(rows, skipped)


def read_records(path: Path | str | None = None) -> list[dict[str, Any]]:
    """Every readable verdict, oldest first (see :func:`load`, which also counts the lines skipped).

    Parameters: ``path``, the file (default :func:`verdicts_file`).
    """
    return load(path).rows
