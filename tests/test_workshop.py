"""The workshop hub for real: three learners on one PostgreSQL, a chapter in each kernel at once, nothing left.

Runs with PostgreSQL (``PERFLAB_TEST_POSTGRES_URL``; Redis too when ``PERFLAB_TEST_REDIS_URL`` is set); it
needs JupyterHub (workshop/requirements.txt) and the proxy (npm, workshop/node_modules), which
``python3 tasks.py test`` installs. A bound of a few minutes, not a measurement: ~40 s on 2 busy cores.
"""

from __future__ import annotations

import concurrent.futures
import doctest
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from workshop import hubclient, learners

ROOT = Path(__file__).resolve().parent.parent
LEARNERS = 3
SCALE = "0.02"  # a first build in a second or two per learner: the point is three at once, not their size


def test_the_learners_module_examples() -> None:
    assert doctest.testmod(learners).failed == 0


def test_learner_urls_carry_the_role_and_never_show_the_password() -> None:
    ann = learners.Learner("ann", "Zq7s3cret")
    env = learners.learner_env(ann, "postgresql+psycopg://postgres:adminpw@db:5432/perflab", "redis://cache:6379/2")
    assert env == {"PERFLAB_DATABASE_URL": "postgresql+psycopg://ann:Zq7s3cret@db:5432/perflab",
                   "PERFLAB_SCHEMA": "ann", "PERFLAB_REDIS_URL": "redis://ann:Zq7s3cret@cache:6379/2"}
    line, = learners.describe("postgresql://postgres@db/perflab", [ann])
    assert "Zq7s3cret" not in line and "ann:***@db" in line


def test_bad_learner_names_are_refused() -> None:
    for bad in ("Ann", "a-b", "pg_x", "1a", ""):
        with pytest.raises(ValueError, match="lower-case letters"):
            learners.check_name(bad)
    with pytest.raises(ValueError, match=">= 1"):
        learners.learner_names(0)


@pytest.fixture
def names(pg_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Three learners (roles and schemas) for this test, dropped afterwards with their Redis keys."""
    prefix = f"wst{uuid.uuid4().hex[:6]}_"
    created = learners.create(pg_url, learners.learner_names(LEARNERS, prefix), tmp_path / "run",
                              os.environ.get("PERFLAB_TEST_REDIS_URL"))
    yield [x.name for x in created]
    learners.drop(pg_url, [x.name for x in created], tmp_path / "run", os.environ.get("PERFLAB_TEST_REDIS_URL"))


@pytest.fixture
def hub(pg_url: str, names: list[str], tmp_path: Path) -> Iterator[hubclient.Hub]:
    """The hub as ``python3 tasks.py workshop start`` runs it, on a free port of 127.0.0.1."""
    reason = hubclient.missing()
    if reason:
        pytest.skip(reason)
    hub = hubclient.start_hub(pg_url, tmp_path / "run", redis_url=os.environ.get("PERFLAB_TEST_REDIS_URL"),
                              env={"PERFLAB_SCALE": SCALE})
    try:
        yield hub
    finally:
        if hub.child.alive:
            hub.child.stop(grace=30)


# A chapter's first steps, as a learner runs them: connect (the first build of their dataset), count, cache key.
CHAPTER = """
import json, perflab, sqlalchemy as sa
from perflab.cache import namespace
engine = perflab.connect()
with engine.connect() as conn:
    who = conn.execute(sa.text("SELECT current_user, current_schema()")).one()
    owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
                                 "AND tablename = 'orders'")).scalar_one()
print(json.dumps({"user": who[0], "schema": who[1], "owner": owner, "counts": perflab.counts(engine),
                  "prefix": namespace()}))
"""

# Then a look at another learner's table, and at their Redis keys: PostgreSQL and Redis must refuse.
PEEK = """
import os, redis
try:
    with engine.connect() as conn:
        conn.execute(sa.text('SELECT count(*) FROM "{other}".orders')).scalar_one()
    peek = {{"peek": "read"}}
except sa.exc.DBAPIError as exc:
    peek = {{"peek": exc.orig.sqlstate, "message": str(exc.orig).splitlines()[0]}}
if os.environ.get("PERFLAB_REDIS_URL"):
    r = redis.Redis.from_url(os.environ["PERFLAB_REDIS_URL"])
    r.set(namespace() + "probe", "mine", ex=60)
    try:
        r.get("perflab:{other}:probe")
        peek["redis"] = "read"
    except redis.exceptions.NoPermissionError:
        peek["redis"] = "NOPERM"
    for command in (r.flushdb, lambda: r.get("probe")):
        try:
            command()
            peek["redis"] += " but allowed " + str(command)
        except redis.exceptions.NoPermissionError:
            pass
print(json.dumps(peek))
"""


@pytest.mark.postgres
def test_three_learners_run_a_chapter_at_once_each_in_their_own_schema(
        hub: hubclient.Hub, names: list[str], pg_url: str, tmp_path: Path) -> None:
    hub.spawn(names)  # the hub starts each server (a few seconds each)
    others = {user: names[(i + 1) % len(names)] for i, user in enumerate(names)}
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:  # three first builds on one server at once
        futures = {u: pool.submit(hub.run_code, u, [CHAPTER, PEEK.format(other=others[u])], keep=True) for u in names}
        printed = {u: f.result(timeout=3 * hubclient.CELL_TIMEOUT) for u, f in futures.items()}
    results = {u: [json.loads(text) for text in out] for u, out in printed.items()}

    tree = psutil.Process(hub.child.pid).children(recursive=True) + [psutil.Process(hub.child.pid)]
    commands = [" ".join(p.cmdline()) for p in tree]
    assert sum("ipykernel" in c for c in commands) == len(names), commands  # kept running: stopped with the hub
    assert sum("jupyterhub-singleuser" in c for c in commands) == len(names), commands
    assert any("configurable-http-proxy" in c for c in commands), commands
    for user, (chapter, peek) in results.items():
        assert (chapter["user"], chapter["schema"], chapter["owner"]) == (user, user, user)
        assert chapter["counts"]["orders"] > 0 and chapter["counts"] == results[names[0]][0]["counts"]
        assert chapter["prefix"] == f"perflab:{user}:"
        assert peek["peek"] == "42501", peek  # insufficient_privilege, from PostgreSQL itself
        assert f"permission denied for schema {others[user]}" in peek["message"]
        if os.environ.get("PERFLAB_TEST_REDIS_URL"):  # a Redis user per learner: only their keys, no FLUSHDB
            assert peek["redis"] == "NOPERM", peek
        home = tmp_path / "run" / "homes" / user  # the chapters were copied into each home on the first spawn
        assert (home / "00-welcome.ipynb").read_bytes() == (ROOT / "notebooks" / "00-welcome.ipynb").read_bytes()

    # The login page: the day's password lets a learner in; a wrong one, or a name not set up, does not;
    # a latecomer added while the hub runs gets in without a restart.
    assert hub.login(names[0], hub.password)
    assert not hub.login(names[1], hub.password + "x")
    late = names[0].rsplit("_", 1)[0] + "_late"
    assert not hub.login(late, hub.password)
    learners.create(pg_url, [late], tmp_path / "run")
    try:
        assert hub.login(late, hub.password)
    finally:
        learners.drop(pg_url, [late], tmp_path / "run")

    hub.child.popen.send_signal(signal.SIGTERM)  # the hub alone, as Ctrl+C would: it stops what it started
    hub.child.popen.wait(timeout=60)
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [f"{p.pid} {' '.join(p.cmdline()[:3])}" for p in tree if _alive(p)]
    assert not left, f"still running after the hub stopped: {left}"


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_start_refuses_a_short_or_missing_password(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from workshop.__main__ import main

    monkeypatch.setenv("PERFLAB_WORKSHOP_PASSWORD", "short")
    with pytest.raises(SystemExit) as exit_:
        main(["start", "--pg", "postgresql://postgres@127.0.0.1:1/perflab"])
    assert "set PERFLAB_WORKSHOP_PASSWORD to the day's password (8 characters or more)" in str(exit_.value.code)
    assert "short" not in str(exit_.value.code) + capsys.readouterr().out


def test_setup_needs_a_server_and_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from workshop.__main__ import main

    monkeypatch.delenv("PERFLAB_WORKSHOP_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="name the shared PostgreSQL: --pg"):
        main(["setup", "--users", "3"])
    with pytest.raises(SystemExit, match="how many learners"):
        main(["setup", "--pg", "postgresql://postgres@127.0.0.1:1/perflab"])


def test_the_hub_command_gives_learners_their_own_settings_only(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from workshop.__main__ import hub_command

    monkeypatch.setenv("PERFLAB_DATABASE_URL", "postgresql://postgres@db/instructor")
    monkeypatch.setenv("PERFLAB_SCHEMA", "instructor")
    argv, env = hub_command(tmp_path, "postgresql://postgres@db/perflab", "redis://cache/1", 8000, "tok")
    assert argv[-2:] == ["-f", str(ROOT / "workshop" / "jupyterhub_config.py")]
    assert "PERFLAB_DATABASE_URL" not in env and "PERFLAB_SCHEMA" not in env  # each learner gets their own
    assert (env["PERFLAB_WORKSHOP_DATABASE_URL"], env["PERFLAB_WORKSHOP_REDIS_URL"]) == (
        "postgresql://postgres@db/perflab", "redis://cache/1")
    assert env["PERFLAB_WORKSHOP_PORT"] == "8000" and env["PERFLAB_WORKSHOP_HUB_PORT"] != "8000"
