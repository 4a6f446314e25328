"""Where in the learner's code something happened: the first frame outside perflab, its libraries and the stdlib.

>>> def learner():
...     return user_frame()
>>> site = learner()
>>> site is None or site.lineno > 0
True

The query log keys its N+1 findings by this call site, and exercise checks point at the learner's line
that raised. "Outside" means: not in the perflab package, not in the standard library, not in an
installed package (site-packages), and not Python's own frozen modules. Notebook cells
(``<ipython-input-…>`` or the kernel's temporary files) count as the learner's code.
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import FrameType

PACKAGE_DIR = str(Path(__file__).resolve().parent)


@lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {PACKAGE_DIR + "/"}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.add(str(Path(paths[key]).resolve()) + "/")
            dirs.add(paths[key].rstrip("/") + "/")
    return tuple(sorted(dirs))


@lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """True for files of perflab, the standard library or an installed package (not the learner's).

    >>> is_library_file(traceback.__file__), is_library_file("/home/me/report.py")
    (True, False)
    """
    if filename.startswith("<frozen") or filename.startswith("<string>"):
        return True
    return filename.startswith(_library_dirs())


@dataclass(frozen=True)
class CallSite:
    """A line of the learner's code: file, line number, function and the line's text."""

    filename: str
    lineno: int
    function: str
    line: str = ""

    @property
    def where(self) -> str:
        """``file.py:line`` with the file's name only; in a notebook ``line N of the cell``.

        >>> CallSite("/home/me/report.py", 12, "f").where, CallSite("/tmp/ipykernel_1/2.py", 3, "f").where
        ('report.py:12', 'line 3 of the cell')
        """
        name = self.filename
        if name.startswith("<ipython-input") or "/ipykernel_" in name or name.startswith("/tmp/ipykernel"):
            return f"line {self.lineno} of the cell"
        return f"{Path(name).name}:{self.lineno}"

    def __str__(self) -> str:
        return self.where


def user_frame(skip: int = 1) -> CallSite | None:
    """The innermost frame of the current stack that is the learner's code, or None.

    Cheap enough to call once per statement: it walks frames without building a traceback and
    reads a line of source only for the frame it returns.

    Parameters:
        skip: where to start looking: 1 (the default) is the function that called ``user_frame``.
    """
    frame: FrameType | None = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        if not is_library_file(code.co_filename):
            return CallSite(code.co_filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


def user_frame_of(exc: BaseException) -> CallSite | None:
    """The deepest frame of ``exc``'s traceback that is the learner's code, with its line, or None.

    >>> try:
    ...     {}["x"]
    ... except KeyError as e:
    ...     site = user_frame_of(e)
    >>> site is None or site.lineno >= 1
    True
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not is_library_file(f.filename)]
    if not frames:
        return None
    f = frames[-1]
    return CallSite(f.filename, f.lineno or 0, f.name, (f.line or "").strip())
