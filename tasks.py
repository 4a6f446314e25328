#!/usr/bin/env python3
"""Set up and run the course, or its tests, on a fresh machine with nothing but Python >= 3.10 and git.

    python3 tasks.py course     # set up .venv, build the dataset, open the course in JupyterLab
    python3 tasks.py test       # set up .venv, run lint, type checks, unit tests and notebook validation
    python3 tasks.py notebooks  # re-execute every chapter in place (refresh committed outputs)

Everything goes into ``.venv`` in this folder (nothing system-wide), installed from the pinned
``binder/requirements.txt`` — the same versions Binder and CI use. A second run reuses ``.venv``
unless the pins or ``pyproject.toml`` changed.

The test command runs the PostgreSQL and Redis tests when ``PERFLAB_TEST_POSTGRES_URL`` and
``PERFLAB_TEST_REDIS_URL`` are set (an unreachable server then fails the run), and validates the
notebooks against PostgreSQL too (``--nbval-lax``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
PINS = ROOT / "binder" / "requirements.txt"
STAMP = VENV / ".perflab-installed"
NOTEBOOK_SCHEMA = "perflab_notebooks"  # PostgreSQL schema for the notebook runs, apart from other data


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: object, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def setup() -> None:
    """Create .venv and install the pinned packages and perflab itself (skipped when up to date)."""
    if sys.version_info < (3, 10):  # noqa: UP036  (this file must also speak to older interpreters)
        sys.exit(f"perflab needs Python >= 3.10, this is {sys.version.split()[0]} — install a newer python3")
    if not PY.exists():
        say("creating the virtual environment .venv")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        except subprocess.CalledProcessError:
            sys.exit("could not create .venv — on Debian/Ubuntu install the venv module: sudo apt install python3-venv")
    stamp = hashlib.sha256(PINS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == stamp:
        return
    say("installing the pinned packages into .venv (a few minutes the first time)")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", PINS)
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", ".")
    STAMP.write_text(stamp)


def perflab_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("MPLBACKEND", None)  # Agg would remove every inline plot from the notebook outputs
    return env


def course() -> None:
    setup()
    run(BIN / "perflab", "build", "--if-needed")
    say("opening the course in JupyterLab (stop it with Ctrl+C)")
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers, VMs
    run(BIN / "jupyter", "lab", *as_root, "notebooks/00-welcome.ipynb", env=perflab_env())


def test() -> None:
    setup()
    pg = os.environ.get("PERFLAB_TEST_POSTGRES_URL")
    env = perflab_env(PERFLAB_STRICT=os.environ.get("PERFLAB_STRICT", "1"))
    for name in ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA"):
        env.pop(name, None)  # the committed outputs are of the default dataset
    if pg:
        env["PERFLAB_POSTGRES_URL"] = pg  # chapters then show the PostgreSQL comparison for real
    say("lint and types")
    run(BIN / "ruff", "check", "perflab", "tools", "tests", "notebooks", "tasks.py")
    run(BIN / "mypy", "perflab", "tools")
    say("unit tests" + (" (with PostgreSQL and Redis)" if pg else " (PostgreSQL/Redis tests skip: URLs not set)"))
    run(PY, "-m", "pytest", "--doctest-modules", "perflab", "tools", "tests", env=env)
    say("notebooks on SQLite, outputs compared strictly")
    sqlite_env = {**env, "PERFLAB_SCHEMA": NOTEBOOK_SCHEMA}
    run(BIN / "perflab", "build", "--if-needed", env=sqlite_env)
    run(PY, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval.cfg",
        "notebooks", env=sqlite_env)
    if pg:
        say("notebooks on PostgreSQL (lax: plans and timings differ; verdicts and asserts still hold)")
        pg_env = {**env, "PERFLAB_DATABASE_URL": pg, "PERFLAB_SCHEMA": NOTEBOOK_SCHEMA}
        run(BIN / "perflab", "build", "--if-needed", env=pg_env)
        run(PY, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "notebooks", env=pg_env)


def notebooks() -> None:
    setup()
    env = perflab_env()
    for name in ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA"):
        env.pop(name, None)
    run(PY, "-m", "tools.nbtools", "execute", *sys.argv[2:], env=env)


COMMANDS = {"course": course, "test": test, "notebooks": notebooks}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
