#!/usr/bin/env python3
"""Set up and run the course, its tests and its maintainer tools, with nothing but Python >= 3.10 and git.

Everything goes into ``.venv`` in this folder (nothing system-wide), installed from the pins: ``course``
installs the course set, ``binder/requirements.txt`` (what Binder and learners get); ``test`` adds the
development set, ``requirements-dev.txt`` (lint, types, tests, at the course set's versions). A second
run reuses ``.venv`` unless the pins or ``pyproject.toml`` changed. Both pin files are generated from
``pyproject.toml`` by ``python3 tasks.py pins``. ``python3 tasks.py`` lists the commands.

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
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PINS = ROOT / "binder" / "requirements.txt"  # the course set: what Binder, learners and the chapters run on
DEV_PINS = ROOT / "requirements-dev.txt"  # the course set plus lint, types and tests, at the same versions
WORKSHOP = ROOT / "workshop"  # the instructor's kit: its own pins (the hub) and its npm package (the proxy)
# How each pin file is generated from pyproject.toml: (file, the extras it adds to `dependencies`, the file whose
# versions it must keep). Only the lock tool's own version and these lines decide the result, so it is reproducible.
PIN_SETS = (
    ("binder/requirements.txt", ("postgres", "redis"), None),
    ("requirements-dev.txt", ("dev",), "binder/requirements.txt"),
)
UV_VERSION = "0.13.9"  # the lock tool (uv from PyPI), installed into .venv by `pins` when missing
OLDEST_PYTHON = "3.10"  # the pins resolve for every Python from this one up (requires-python)
PINNED_PYTHON = (ROOT / "binder" / "runtime.txt").read_text().strip().replace("python-", "")  # strict outputs
NOTEBOOKS = ROOT / "notebooks"
FIRST_CHAPTER = "00-welcome.ipynb"
NOTEBOOK_SCHEMA = "perflab_notebooks"  # PostgreSQL schema for the notebook runs, apart from other data
DATASET_VARIABLES = ("PERFLAB_DATABASE_URL", "PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_SCHEMA")
OLDEST_NEWEST = ("python3.10", "python3.13")  # the Pythons `pythons` tests by default, besides the pinned one
# Every nbval run loads this plugin: a chapter that leaves a server or worker running after its kernel fails.
NBVAL = ("-m", "pytest", "-p", "tests.nbval_processes", "--nbval-current-env")

# (command, its arguments, what it does): `python3 tasks.py` prints this table, the README names each command.
COMMANDS = (
    ("course", "[--port N] [--no-browser]", "set up .venv, build the dataset, open chapter 00 in JupyterLab"),
    ("test", "", "pin check, lint, types, unit tests, every chapter against its committed outputs"),
    ("pythons", "[--no-unit-tests] [PYTHON ...]",
     "unit tests (SQLite) and every chapter (lax) on other Pythons, each in .venv-X.Y"),
    ("pins", "[--check] [--upgrade [PACKAGE ...]]",
     "regenerate the pin files from pyproject.toml (--check: compare only)"),
    ("notebooks", "[NOTEBOOK ...]", "re-execute chapters in place and save their outputs (default: all)"),
    ("nav", "[--check]", "refresh every chapter's navigation cell and the contents in 00"),
    ("check", "[NOTEBOOK ...]", "check the chapters against the structure rules"),
    ("bench", "[build|timing|queries|memory|all] [--pg URL] [NOTEBOOK ...]",
     "run the benchmarks, which print figures (memory: each chapter's peak)"),
    ("site", "[--out DIR]", "build the course as a static website from the committed notebooks (build/site)"),
    ("browser", "", "the course and the site in headless Chromium (needs Node.js, npm and chromium)"),
    ("workshop", "setup|start|doctor|teardown [--users N] [--pg URL]", "a JupyterHub for a class (workshop/README.md)"),
)
BROWSER_TESTS = ROOT / "tests" / "browser"  # playwright-core (pinned in its package-lock.json) and the tests


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: object, env: dict[str, str] | None = None) -> None:
    """Run a command in the checkout; stop with its exit status if it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def create_venv(venv: Path, python: str = sys.executable) -> Path:
    """Create ``venv`` with ``python`` unless it exists; return its python."""
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
    return py


def pins_stamp(dev: bool) -> str:
    """What a venv installed from the course set (or the development set) was installed from."""
    files = [PINS, ROOT / "pyproject.toml"] + ([DEV_PINS] if dev else [])
    kind = b"dev" if dev else b"course"
    return hashlib.sha256(kind + b"".join(f.read_bytes() for f in files)).hexdigest()


def setup(venv: Path = VENV, python: str = sys.executable, dev: bool = False) -> Path:
    """Create ``venv`` with ``python``, install the course set (``dev``: the development set) and perflab.

    Skipped when up to date; a venv with the development set also serves the course. Return its bin/.
    """
    py = create_venv(venv, python)
    stamp_file = venv / ".perflab-installed"
    installed = stamp_file.read_text() if stamp_file.exists() else ""
    if installed == pins_stamp(dev) or (not dev and installed == pins_stamp(True)):
        return bin_dir(venv)
    pins = DEV_PINS if dev else PINS
    say(f"installing the {'development' if dev else 'course'} set ({pins.relative_to(ROOT)}) into {venv.name}"
        " (a few minutes the first time)")
    started = time.monotonic()
    quiet = ("--quiet", "--disable-pip-version-check")
    run(py, "-m", "pip", "install", *quiet, "-r", pins)
    run(py, "-m", "pip", "install", *quiet, "--no-deps", "-e", ".")
    stamp_file.write_text(pins_stamp(dev))
    say(f"{venv.name} installed in {time.monotonic() - started:.0f} s")
    return bin_dir(venv)


def lock_tool() -> Path:
    """The lock tool, uv at :data:`UV_VERSION`, in ``.venv`` (installed there with pip when missing)."""
    uv = bin_dir(VENV) / "uv"
    probe = subprocess.run([str(uv), "--version"], capture_output=True, text=True) if uv.exists() else None
    if probe is None or probe.stdout.split()[1:2] != [UV_VERSION]:
        say(f"installing the lock tool uv {UV_VERSION} into {VENV.name}")
        run(create_venv(VENV), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={UV_VERSION}")
    return uv


def compile_argv(uv: Path, output: str, extras: Sequence[str], constraint: str | None,
                 upgrade: Sequence[str] | None = None) -> list[str]:
    """The lock tool's command that resolves pyproject.toml into ``output``, for Python 3.10 and up on any OS.

    The versions already in ``output`` are kept wherever they still fit (uv reads it as preferences), so the
    same pyproject.toml always gives the same file; ``upgrade`` names packages to move to their newest
    release (empty: all of them).
    """
    argv = [str(uv), "pip", "compile", "pyproject.toml", "--universal", "--python-version", OLDEST_PYTHON,
            "--quiet", "--no-progress", "--custom-compile-command", "python3 tasks.py pins", "--output-file", output]
    for extra in extras:
        argv += ["--extra", extra]
    if constraint:  # the versions this set shares with the course set are the course set's
        argv += ["--constraint", constraint, "--annotation-style", "line"]
    if upgrade is not None:
        argv += ["--upgrade-package", *upgrade] if upgrade else ["--upgrade"]
    return argv


def pinned(text: str) -> set[str]:
    """The requirements of a pin file without their comments: ``name==version ; marker``."""
    return {line.split("#")[0].strip() for line in text.splitlines() if line and not line.startswith((" ", "#"))}


def check_pins(uv: Path, offline: bool = False) -> bool:
    """Regenerate each pin file in a scratch folder and compare it with the committed one; True if all agree.

    The sets resolve side by side: each starts from its committed file, as `pins` does, and the development
    set is held to the committed course set, which must itself match. ``offline``: from uv's cache alone,
    quietly (a package missing from the cache is a failure, not an error to show).
    """
    with tempfile.TemporaryDirectory(prefix="perflab-pins-") as scratch:
        jobs = []
        for name, extras, constraint in PIN_SETS:
            committed, fresh = ROOT / name, Path(scratch) / name.replace("/", "_")
            if not committed.exists():
                return False
            shutil.copyfile(committed, fresh)
            argv = compile_argv(uv, str(fresh), extras, constraint) + (["--offline"] if offline else [])
            job = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL if offline else None)
            jobs.append((committed, fresh, job))
        agree = [job.wait() == 0 and fresh.read_bytes() == committed.read_bytes() for committed, fresh, job in jobs]
    return all(agree)


def pins(args: argparse.Namespace) -> None:
    uv = lock_tool()
    if args.check:
        started = time.monotonic()
        if not check_pins(uv, offline=True) and not check_pins(uv):  # the index only when the cache cannot tell
            sys.exit("the pin files are not what pyproject.toml gives: run `python3 tasks.py pins` and commit them")
        say(f"pins: {', '.join(name for name, _, _ in PIN_SETS)} match pyproject.toml "
            f"({time.monotonic() - started:.0f} s)")
        return
    changed = []
    for name, extras, constraint in PIN_SETS:
        path = ROOT / name
        before = pinned(path.read_text()) if path.exists() else set()
        if subprocess.run(compile_argv(uv, name, extras, constraint, args.upgrade), cwd=ROOT).returncode:
            sys.exit(f"uv could not resolve {name} from pyproject.toml (see above): fix pyproject.toml and run again")
        after = pinned(path.read_text())
        changes = [f"  - {line}" for line in sorted(before - after)]
        changes += [f"  + {line}" for line in sorted(after - before)]
        say(f"{name}: {len(after)} pins, " + (f"{len(changes)} changed:" if changes else "unchanged"))
        if changes:
            print("\n".join(changes))
            changed.append(name)
    if changed:
        say(f"commit pyproject.toml and {' and '.join(changed)}"
            + ("; then re-execute the chapters: python3 tasks.py notebooks" if PIN_SETS[0][0] in changed else ""))


def setup_workshop(bindir: Path) -> None:
    """Install the hub (workshop/requirements.txt, the course's pins as constraints) and its proxy (npm, locally)."""
    stamp_file = bindir.parent / ".perflab-workshop-installed"
    hub_pins = WORKSHOP / "requirements.txt"
    stamp = hashlib.sha256(hub_pins.read_bytes() + PINS.read_bytes()).hexdigest()
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        say("installing JupyterHub (workshop/requirements.txt) into the virtual environment")
        quiet = ("--quiet", "--disable-pip-version-check")
        run(bindir / "python", "-m", "pip", "install", *quiet, "-r", hub_pins, "-c", PINS)
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
    run(bindir / "python", *NBVAL, *mode, "notebooks", env=sqlite_env)


def unit_tests(bindir: Path, env: dict[str, str], pg: str | None, servers: bool = True) -> None:
    """The unit tests and doctests, in two worker processes (pytest-xdist; a test file stays in one worker).

    ``servers=False`` (other Pythons, run beside another one, each on one core): in one process, and without
    the tests of PostgreSQL and Redis — what differs between Pythons is tracing, asyncio and the standard
    library, which the SQLite tests cover.
    """
    if not servers:
        say("unit tests on SQLite (the PostgreSQL and Redis ones run on the pinned Python, in tasks.py test)")
        run(bindir / "python", "-m", "pytest", "--doctest-modules", "-m", "not postgres and not redis",
            "perflab", "tools", "tests", env=env)
        return
    say("unit tests" + (" (with PostgreSQL and Redis)" if pg else " (PostgreSQL/Redis tests skip: URLs not set)"))
    run(bindir / "python", "-m", "pytest", "-n", "2", "--dist", "loadfile", "--doctest-modules",
        "perflab", "tools", "tests", env=env)


def python_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test(args: argparse.Namespace) -> None:
    pins(argparse.Namespace(check=True, upgrade=None))  # first: stale pins would make the rest test the wrong set
    bindir = setup(dev=True)
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
        redis = os.environ.get("PERFLAB_TEST_REDIS_URL")
        say("notebooks on PostgreSQL" + (" and Redis" if redis else "")
            + " (lax: plans and timings differ; verdicts and asserts still hold)")
        pg_env = {**env, "PERFLAB_DATABASE_URL": pg, "PERFLAB_SCHEMA": NOTEBOOK_SCHEMA}
        if redis:  # the job queue (04) and the second cache level (10) then run on Redis for real
            pg_env["PERFLAB_REDIS_URL"] = redis
        run(bindir / "perflab", "build", "--if-needed", env=pg_env)
        run(bindir / "python", *NBVAL, "--nbval-lax", "notebooks", env=pg_env)


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
        say(f"Python {version}: .venv-{version} from the same development set")
        bindir = setup(ROOT / f".venv-{version}", found, dev=True)
        env = checks_env(pg)
        say(f"Python {version}: types against this Python's pinned packages")
        run(bindir / "mypy", "--python-version", version, "perflab", "tools", "tasks.py")
        if args.unit_tests:
            unit_tests(bindir, env, pg, servers=False)
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
    run(bindir / "python", "-m", "tools.bench", args.what, *(["--pg", args.pg] if args.pg else []), *args.notebooks)


def site(args: argparse.Namespace) -> None:
    bindir = setup()
    run(bindir / "python", "-m", "tools.site", *(["--out", args.out] if args.out else []))


def browser(args: argparse.Namespace) -> None:
    """Build the site, then drive Debian's Chromium through it and through the course the README starts."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        sys.exit("the browser tests need Node.js and npm — Debian/Ubuntu: apt-get install -y nodejs npm")
    bindir = setup()
    lock = BROWSER_TESTS / "package-lock.json"
    stamp = BROWSER_TESTS / "node_modules" / ".perflab-installed"
    if not stamp.exists() or stamp.read_bytes() != lock.read_bytes():
        say("installing playwright-core (pinned; it drives the system's Chromium, no browser download)")
        run(npm, "ci", "--prefix", BROWSER_TESTS, "--no-audit", "--no-fund", "--loglevel=error")
        stamp.write_bytes(lock.read_bytes())
    say("the static site")
    run(bindir / "python", "-m", "tools.site")
    run(node, BROWSER_TESTS / "site.mjs")
    say("the course in Chromium: python3 tasks.py course --no-browser --port N")
    run(node, BROWSER_TESTS / "course.mjs", sys.executable)


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
    p.add_argument("--no-unit-tests", dest="unit_tests", action="store_false",
                   help="types and every chapter only (CI: on the oldest Python, whose unit tests would only repeat "
                        "what mypy --python-version and the chapters show there)")
    p = sub.add_parser("pins", help=helps["pins"])
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if a pin file is not what pyproject.toml gives")
    p.add_argument("--upgrade", nargs="*", default=None, metavar="PACKAGE",
                   help="move these packages (none named: all) to their newest releases")
    p = sub.add_parser("notebooks", help=helps["notebooks"])
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p = sub.add_parser("nav", help=helps["nav"])
    p.add_argument("--check", action="store_true", help="write nothing; fail if anything would change")
    p = sub.add_parser("check", help=helps["check"])
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
    p = sub.add_parser("bench", help=helps["bench"])
    p.add_argument("what", nargs="?", default="all", choices=["build", "timing", "queries", "memory", "all"])
    p.add_argument("--pg", default=None, metavar="URL", help="PostgreSQL for the COPY figures")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="memory: the notebooks (default: every chapter)")
    p = sub.add_parser("site", help=helps["site"])
    p.add_argument("--out", default=None, metavar="DIR", help="the folder (default: build/site)")
    sub.add_parser("browser", help=helps["browser"])
    p = sub.add_parser("workshop", help=helps["workshop"], add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER, help="python3 tasks.py workshop --help lists them")
    return top


ACTIONS = {"course": course, "test": test, "pythons": pythons, "pins": pins, "notebooks": notebooks, "nav": nav,
           "check": check, "bench": bench, "site": site, "browser": browser, "workshop": workshop}


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command is None:
        print(listing())
        return
    ACTIONS[args.command](args)


if __name__ == "__main__":
    main()
