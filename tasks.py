#!/usr/bin/env python3
"""Set up and run the course, its tests and its maintainer tools, with nothing but Python >= 3.10 and git.

Everything goes into ``.venv`` in this folder (nothing system-wide), installed from the pinned
``binder/requirements.txt`` — the same versions Binder and CI use. A second run reuses ``.venv``
unless the pins or ``pyproject.toml`` changed. ``python3 tasks.py`` lists the commands.

The test commands run the PostgreSQL and Redis tests when ``PERFLAB_TEST_POSTGRES_URL`` and
``PERFLAB_TEST_REDIS_URL`` are set (an unreachable server then fails the run), and ``test`` validates the
notebooks against PostgreSQL too (``--nbval-lax``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PINS = ROOT / "binder" / "requirements.txt"
WORKSHOP = ROOT / "workshop"  # the instructor's kit: its own pins (the hub) and its npm package (the proxy)
PINNED_PYTHON = (ROOT / "binder" / "runtime.txt").read_text().strip().replace("python-", "")  # strict outputs
NOTEBOOKS = ROOT / "notebooks"
FIRST_CHAPTER = "00-welcome.ipynb"
NOTEBOOK_SCHEMA = "perflab_notebooks"  # PostgreSQL schema for the notebook runs, apart from other data
DATASET_VARIABLES = ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA")
OLDEST_NEWEST = ("python3.10", "python3.13")  # the Pythons `pythons` tests by default, besides the pinned one

# (command, its arguments, what it does): `python3 tasks.py` prints this table, the README names each command.
COMMANDS = (
    ("course", "[--port N] [--no-browser]", "set up .venv, build the dataset, open chapter 00 in JupyterLab"),
    ("test", "", "lint, types, unit tests, every chapter against its committed outputs"),
    ("pythons", "[PYTHON ...]", "unit tests and every chapter (lax) on other Pythons, each in .venv-X.Y"),
    ("notebooks", "[NOTEBOOK ...]", "re-execute chapters in place and save their outputs (default: all)"),
    ("nav", "[--check]", "refresh every chapter's navigation cell and the contents in 00"),
    ("check", "[NOTEBOOK ...]", "check the chapters against the structure rules"),
    ("bench", "[build|timing|queries|all] [--pg URL]", "run the benchmarks, which print figures"),
    ("workshop", "setup|start|doctor|teardown [--users N] [--pg URL]", "a JupyterHub for a class (workshop/README.md)"),
)


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: object, env: dict[str, str] | None = None) -> None:
    """Run a command in the checkout; stop with its exit status if it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def setup(venv: Path = VENV, python: str = sys.executable) -> Path:
    """Create ``venv`` with ``python`` and install the pins and perflab (skipped when up to date); return its bin/."""
    if sys.version_info < (3, 10):  # noqa: UP036  (this file must also speak to older interpreters)
        sys.exit(f"perflab needs Python >= 3.10, this is {sys.version.split()[0]} — install a newer python3")
    py = bin_dir(venv) / "python"
    if not py.exists():
        say(f"creating the virtual environment {venv.name} with {python}")
        try:
            subprocess.run([python, "-m", "venv", str(venv)], check=True)
        except (OSError, subprocess.CalledProcessError):
            sys.exit(f"could not create {venv.name} with {python} — is it installed? "
                     "On Debian/Ubuntu also install the venv module: sudo apt install python3-venv")
    stamp_file = venv / ".perflab-installed"
    stamp = hashlib.sha256(PINS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return bin_dir(venv)
    say(f"installing the pinned packages into {venv.name} (a few minutes the first time)")
    started = time.monotonic()
    quiet = ("--quiet", "--disable-pip-version-check")
    run(py, "-m", "pip", "install", *quiet, "-r", PINS)
    run(py, "-m", "pip", "install", *quiet, "--no-deps", "-e", ".")
    stamp_file.write_text(stamp)
    say(f"{venv.name} installed in {time.monotonic() - started:.0f} s")
    return bin_dir(venv)


def setup_workshop(bindir: Path) -> None:
    """Install the hub (workshop/requirements.txt, the course's pins as constraints) and its proxy (npm, locally)."""
    stamp_file = bindir.parent / ".perflab-workshop-installed"
    pins = WORKSHOP / "requirements.txt"
    stamp = hashlib.sha256(pins.read_bytes() + PINS.read_bytes()).hexdigest()
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        say("installing JupyterHub (workshop/requirements.txt) into the virtual environment")
        run(bindir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", pins, "-c", PINS)
        stamp_file.write_text(stamp)
    if not (WORKSHOP / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("the hub's proxy comes from npm, and there is no npm on PATH — install Node.js 20 or newer")
        say("installing configurable-http-proxy into workshop/node_modules (npm ci, from package-lock.json)")
        run(npm, "ci", "--prefix", WORKSHOP, "--no-audit", "--no-fund", "--loglevel=error")


def workshop(args: argparse.Namespace) -> None:
    bindir = setup()
    setup_workshop(bindir)
    run(bindir / "python", "-m", "workshop", *args.args)


def perflab_env(**extra: str) -> dict[str, str]:
    """The environment for notebooks and tests: the default dataset, inline plots kept."""
    env = {**os.environ, **extra}
    env.pop("MPLBACKEND", None)  # Agg would remove every inline plot from the notebook outputs
    for name in DATASET_VARIABLES:
        if name not in extra:
            env.pop(name, None)  # the committed outputs are of the default dataset
    return env


def course_server(
    venv: Path, port: int | None = None, browser: bool = True, rcfile_dir: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command line and environment of the course: chapter 00 opens, terminals have the venv.

    The printed URL (with its token) opens ``00-welcome.ipynb`` rather than the Launcher, so it also works
    where Jupyter cannot open a browser. The server and everything it starts (kernels, terminals, ``!cmd``)
    find ``perflab``, ``python`` and ``pip`` of ``venv`` first on PATH; JupyterLab's terminals run the
    user's usual ``~/.bashrc`` and then the venv's ``activate``, because a login shell's ``/etc/profile``
    (or a ``.bashrc`` that prepends pyenv) would otherwise put another Python first. That rc file is
    written to ``rcfile_dir`` (default: the venv).
    """
    bindir = bin_dir(venv)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONHOME", None)
    env.pop("MPLBACKEND", None)
    argv = [
        str(bindir / "jupyter"), "lab",
        f"--ServerApp.root_dir={NOTEBOOKS}",
        f"--LabApp.default_url=/lab/tree/{FIRST_CHAPTER}",
    ]
    bash = shutil.which("bash")
    if bash and os.name != "nt":
        rcfile = (rcfile_dir or venv) / "perflab-terminal.bashrc"
        rcfile.write_text(
            "# Written by `python3 tasks.py course`: a JupyterLab terminal runs your usual bash setup,\n"
            "# then puts the course's virtual environment first on PATH.\n"
            '[ -f ~/.bashrc ] && . ~/.bashrc\n'
            f". {shlex.quote(str(bindir / 'activate'))}\n"
        )
        argv.append(f"--ServerApp.terminado_settings=shell_command={shlex.join([bash, '--rcfile', str(rcfile)])}")
    if port is not None:
        argv += [f"--port={port}", "--ServerApp.port_retries=0"]  # the port asked for, or a clear error
    if not browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers, VMs: JupyterLab refuses to start as root without it
    return argv, env


def course(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "perflab", "build", "--if-needed")
    argv, env = course_server(VENV, port=args.port, browser=not args.no_browser)
    say(f"starting JupyterLab on chapter 00: open the URL below that ends in /lab/tree/{FIRST_CHAPTER}?token=…")
    say("stop it with Ctrl+C twice in this window, or from another: .venv/bin/jupyter lab stop PORT")
    # Ctrl+C goes to JupyterLab, which asks, and on a second Ctrl+C shuts its kernels down cleanly; this
    # process only waits (a KeyboardInterrupt here would kill the server and orphan its kernels).
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # reset to default in the child
    try:
        returncode = subprocess.Popen(argv, cwd=ROOT, env=env).wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    sys.exit(returncode)


def checks_env(pg: str | None) -> dict[str, str]:
    env = perflab_env(PERFLAB_STRICT=os.environ.get("PERFLAB_STRICT", "1"))
    if pg:
        env["PERFLAB_POSTGRES_URL"] = pg  # chapters then show the PostgreSQL comparison for real
    return env


def validate_notebooks(bindir: Path, env: dict[str, str], strict: bool, apart: str = "") -> None:
    """Run every chapter on SQLite: strictly against its committed outputs, or lax (verdicts, asserts).

    ``apart`` (e.g. "3.10") gives the run a dataset file, a PostgreSQL schema and Redis keys of its own, so
    two Pythons' runs can go at the same time without one chapter's scratch index meeting the other's.
    """
    sqlite_env = {**env, "PERFLAB_SCHEMA": NOTEBOOK_SCHEMA}
    if apart:
        tag = apart.replace(".", "_")
        sqlite_env["PERFLAB_SCHEMA"] = f"{NOTEBOOK_SCHEMA}_{tag}"
        sqlite_env["PERFLAB_DATABASE_URL"] = f"sqlite:///{ROOT / 'data' / f'perflab-py{tag}.sqlite'}"
    run(bindir / "perflab", "build", "--if-needed", env=sqlite_env)
    mode = ["--nbval", "--nbval-sanitize-with", "tests/nbval.cfg"] if strict else ["--nbval-lax"]
    run(bindir / "python", "-m", "pytest", *mode, "--nbval-current-env", "notebooks", env=sqlite_env)


def unit_tests(bindir: Path, env: dict[str, str], pg: str | None) -> None:
    say("unit tests" + (" (with PostgreSQL and Redis)" if pg else " (PostgreSQL/Redis tests skip: URLs not set)"))
    run(bindir / "python", "-m", "pytest", "--doctest-modules", "perflab", "tools", "tests", env=env)


def python_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test(args: argparse.Namespace) -> None:
    bindir = setup()
    pg = os.environ.get("PERFLAB_TEST_POSTGRES_URL")
    env = checks_env(pg)
    say("lint and types")
    run(bindir / "ruff", "check", "perflab", "tools", "tests", "notebooks", "workshop", "tasks.py")
    run(bindir / "mypy", "perflab", "tools", "workshop", "tasks.py")
    if pg:
        setup_workshop(bindir)  # tests/test_workshop.py then runs a hub for real
    unit_tests(bindir, env, pg)
    version = python_version(bindir)
    if version == PINNED_PYTHON:
        say("notebooks on SQLite, outputs compared strictly")
        validate_notebooks(bindir, env, strict=True)
    else:
        say(f"notebooks on SQLite, lax: the committed outputs are of Python {PINNED_PYTHON}, this is {version}")
        validate_notebooks(bindir, env, strict=False)
    if pg:
        say("notebooks on PostgreSQL (lax: plans and timings differ; verdicts and asserts still hold)")
        pg_env = {**env, "PERFLAB_DATABASE_URL": pg, "PERFLAB_SCHEMA": NOTEBOOK_SCHEMA}
        run(bindir / "perflab", "build", "--if-needed", env=pg_env)
        run(bindir / "python", "-m", "pytest", "--nbval-lax", "--nbval-current-env", "notebooks", env=pg_env)


def pythons(args: argparse.Namespace) -> None:
    pg = os.environ.get("PERFLAB_TEST_POSTGRES_URL")
    for python in args.pythons or OLDEST_NEWEST:
        found = shutil.which(python)
        if found is None:
            sys.exit(f"no {python} on PATH — install it (e.g. pyenv install {python.removeprefix('python')}) "
                     "or name the interpreter: python3 tasks.py pythons /path/to/python3.X")
        probe = subprocess.run([found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        version = probe.stdout.strip()
        if probe.returncode or not version:
            sys.exit(f"{python} ({found}) does not run: {probe.stderr.strip() or 'no output'}")
        say(f"Python {version}: .venv-{version} from the same pins")
        bindir = setup(ROOT / f".venv-{version}", found)
        env = checks_env(pg)
        say(f"Python {version}: types against this Python's pinned packages")
        run(bindir / "mypy", "--python-version", version, "perflab", "tools", "tasks.py")
        unit_tests(bindir, env, pg)
        say(f"Python {version}: every chapter on SQLite, lax (the committed outputs are of {PINNED_PYTHON})")
        validate_notebooks(bindir, env, strict=False, apart=version)


def notebooks(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "python", "-m", "tools.nbtools", "execute", *args.notebooks, env=perflab_env())


def nav(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "python", "-m", "tools.nbtools", "nav", *(["--check"] if args.check else []))


def check(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "python", "-m", "tools.nbtools", "check", *args.notebooks)


def bench(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "python", "-m", "tools.bench", args.what, *(["--pg", args.pg] if args.pg else []))


def listing() -> str:
    """The commands as ``python3 tasks.py`` prints them."""
    lines = ["usage: python3 tasks.py COMMAND [ARGS]   (COMMAND --help for details)", ""]
    for name, usage, what in COMMANDS:
        lines += [f"  python3 tasks.py {name} {usage}".rstrip(), f"      {what}"]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command line of tasks.py: one subcommand per row of :data:`COMMANDS`."""
    top = argparse.ArgumentParser(prog="python3 tasks.py", description=__doc__.splitlines()[0],
                                  epilog="Example: python3 tasks.py course --no-browser --port 8890")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    helps = {name: what for name, _, what in COMMANDS}
    p = sub.add_parser("course", help=helps["course"])
    p.add_argument("--port", type=int, default=None, help="the port to listen on (default: 8888 or the next free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; open the printed URL yourself")
    sub.add_parser("test", help=helps["test"])
    p = sub.add_parser("pythons", help=helps["pythons"])
    p.add_argument("pythons", nargs="*", metavar="PYTHON", help=f"interpreters (default: {' '.join(OLDEST_NEWEST)})")
    p = sub.add_parser("notebooks", help=helps["notebooks"])
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p = sub.add_parser("nav", help=helps["nav"])
    p.add_argument("--check", action="store_true", help="write nothing; fail if anything would change")
    p = sub.add_parser("check", help=helps["check"])
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p = sub.add_parser("bench", help=helps["bench"])
    p.add_argument("what", nargs="?", default="all", choices=["build", "timing", "queries", "all"])
    p.add_argument("--pg", default=None, metavar="URL", help="PostgreSQL for the COPY figures")
    p = sub.add_parser("workshop", help=helps["workshop"], add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="python3 tasks.py workshop --help lists them")
    return top


ACTIONS = {"course": course, "test": test, "pythons": pythons, "notebooks": notebooks, "nav": nav,
           "check": check, "bench": bench, "workshop": workshop}


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command is None:
        print(listing())
        return
    ACTIONS[args.command](args)


if __name__ == "__main__":
    main()
