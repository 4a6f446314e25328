"""The instructor's commands for a workshop hub: ``python -m workshop setup | start | doctor | teardown``.

``python3 tasks.py workshop ...`` installs the hub and its proxy first, then runs this in ``.venv``.

Example: PERFLAB_WORKSHOP_PASSWORD=... python -m workshop start --users 30 --pg postgresql://postgres@db/perflab

"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from perflab.urls import mask_url
from workshop import learners

HERE = Path(__file__).resolve().parent
DEFAULT_RUN = HERE / "run"


def _free_port() -> int:
    from perflab.servers import free_port

    return free_port()


def hub_command(run_dir: Path, pg: str, redis_url: str | None, port: int, api_token: str | None = None,
                ip: str = "127.0.0.1") -> tuple[list[str], dict[str, str]]:
    """The jupyterhub command line and environment for the learners recorded in ``run_dir``.

    The hub's own port and the proxy's API port are free ports on 127.0.0.1; ``port`` is the learners' one.
    """
    env = {
        **os.environ,
        "PERFLAB_WORKSHOP_RUN": str(run_dir),
        "PERFLAB_WORKSHOP_DATABASE_URL": pg,
        "PERFLAB_WORKSHOP_PORT": str(port),
        "PERFLAB_WORKSHOP_HUB_PORT": str(_free_port()),
        "PERFLAB_WORKSHOP_PROXY_API_PORT": str(_free_port()),
        "PERFLAB_WORKSHOP_IP": ip,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if redis_url:
        env["PERFLAB_WORKSHOP_REDIS_URL"] = redis_url
    if api_token:
        env["PERFLAB_WORKSHOP_API_TOKEN"] = api_token
    for name in ("PERFLAB_DATABASE_URL", "PERFLAB_SCHEMA", "PERFLAB_REDIS_URL"):
        env.pop(name, None)  # each learner gets their own (workshop/learners.py)
    argv = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")]
    return argv, env


def _names(args: argparse.Namespace) -> list[str]:
    if args.names:
        return [learners.check_name(n) for n in args.names.split(",")]
    return learners.learner_names(args.users, args.prefix)


def setup(args: argparse.Namespace) -> list[learners.Learner]:
    created = learners.create(args.pg, _names(args), args.run, args.redis)
    print(f"==> {len(created)} learners on {mask_url(args.pg)} (passwords in {args.run / learners.STATE_FILE}, "
          "mode 0600):")
    print("\n".join(learners.describe(args.pg, created)))
    if args.build:
        build_datasets(args.pg, created)
    return created


def build_datasets(pg: str, who: list[learners.Learner]) -> None:
    """Build each learner's dataset now, one after the other, as the learner: no 30 first builds at once."""
    import time

    from perflab import dataset
    from perflab.config import settings
    from perflab.db import make_engine

    cfg = settings()
    for learner in who:
        started = time.perf_counter()
        engine = make_engine(learners.learner_url(pg, learner), schema=learner.name)
        try:
            built = dataset.ensure(engine, cfg.scale, cfg.seed, progress=False)
        finally:
            engine.dispose()
        print(f"    {learner.name}: dataset scale {cfg.scale:g} ready in {time.perf_counter() - started:.1f} s"
              + ("" if built else " (already current)"))


def start(args: argparse.Namespace) -> None:
    password = os.environ.get("PERFLAB_WORKSHOP_PASSWORD", "")
    if len(password) < 8:
        sys.exit("set PERFLAB_WORKSHOP_PASSWORD to the day's password (8 characters or more) — "
                 "it is what learners type at the login page; it is never printed")
    if args.users or args.names:
        setup(args)
    elif not learners.load(args.run):
        sys.exit(f"no learners in {args.run} — add --users N (or run: python3 tasks.py workshop setup --users N)")
    elif args.redis:
        learners.grant_redis(args.redis, learners.load(args.run))  # e.g. after a Redis restart
    token = os.environ.get("PERFLAB_WORKSHOP_API_TOKEN") or secrets.token_hex(24)
    argv, env = hub_command(args.run, args.pg, args.redis, args.port, token, args.ip)
    print(f"==> JupyterHub on http://{args.ip}:{args.port}/ — learners log in with their name and the day's password")
    print("==> stop it with Ctrl+C: the hub then stops every learner's server and the proxy")
    os.chdir(args.run)
    os.execve(argv[0], argv, env)  # the hub itself gets Ctrl+C and SIGTERM, and stops what it started


def doctor(args: argparse.Namespace) -> None:
    from perflab.doctor import workshop_checks

    names = _names(args) if (args.users or args.names) else [x.name for x in learners.load(args.run)]
    if not names:
        sys.exit(f"no learners in {args.run} — run: python3 tasks.py workshop setup --users N")
    failed = 0
    for ok, name, detail in workshop_checks(args.pg, names, args.redis):
        failed += not ok
        print(f"{'OK ' if ok else 'FIX'}  {name:<20}{detail}")
    print("all good: start the hub with  python3 tasks.py workshop start" if not failed
          else f"{failed} thing(s) to fix (see FIX lines; workshop/README.md, 'When something fails')")
    sys.exit(1 if failed else 0)


def teardown(args: argparse.Namespace) -> None:
    names = _names(args) if (args.users or args.names) else [x.name for x in learners.load(args.run)]
    learners.drop(args.pg, names, args.run, args.redis)
    print(f"==> dropped {len(names)} learners' roles, schemas and Redis keys on {mask_url(args.pg)}")


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--pg", default=os.environ.get("PERFLAB_WORKSHOP_DATABASE_URL"), metavar="URL",
                        help="the shared PostgreSQL database, as a role that may create roles "
                             "(default: PERFLAB_WORKSHOP_DATABASE_URL)")
    common.add_argument("--redis", default=os.environ.get("PERFLAB_WORKSHOP_REDIS_URL"), metavar="URL",
                        help="the shared Redis (default: PERFLAB_WORKSHOP_REDIS_URL; "
                             "none: diskcache files on this machine)")
    common.add_argument("--run", type=Path, default=Path(os.environ.get("PERFLAB_WORKSHOP_RUN") or DEFAULT_RUN),
                        help="the folder for learners.json, homes and the hub's state (default: workshop/run)")
    top = argparse.ArgumentParser(prog="python3 tasks.py workshop", description=__doc__.splitlines()[0],
                                  epilog="Example: python3 tasks.py workshop start --users 30 --pg URL")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, helptext in (("setup", "create the learners' roles and schemas"),
                           ("start", "create missing learners, then run the hub until Ctrl+C"),
                           ("doctor", "pre-flight: the server, each learner's schema and dataset, Redis"),
                           ("teardown", "drop the learners' schemas, roles and Redis keys")):
        p = sub.add_parser(name, help=helptext, parents=[common])
        p.add_argument("--users", type=int, default=0, help="learners learner01 … learnerNN")
        p.add_argument("--prefix", default="learner", help="the learners' name prefix (default: learner)")
        p.add_argument("--names", default="", help="comma-separated learner names instead of --users")
        if name in ("setup", "start"):
            p.add_argument("--build", action="store_true",
                           help="also build every learner's dataset now (PERFLAB_SCALE), one after the other")
        if name == "start":
            p.add_argument("--port", type=int, default=8000, help="the learners' port (default 8000)")
            p.add_argument("--ip", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if not args.pg:
        sys.exit("name the shared PostgreSQL: --pg postgresql://postgres@HOST:5432/DATABASE "
                 "(or set PERFLAB_WORKSHOP_DATABASE_URL)")
    if args.command == "setup" and not (args.users or args.names):
        sys.exit("how many learners? --users N (or --names ann,bob)")
    args.run = args.run.resolve()
    {"setup": setup, "start": start, "doctor": doctor, "teardown": teardown}[args.command](args)


if __name__ == "__main__":
    main()
