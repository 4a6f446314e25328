"""The learners of a workshop on one shared PostgreSQL (and Redis): a role per learner owning a schema of its name.

>>> names = learner_names(3)
>>> names
['learner01', 'learner02', 'learner03']
>>> env = learner_env(Learner("learner01", "pw"), "postgresql://postgres@127.0.0.1:5432/perflab", None)
>>> env["PERFLAB_SCHEMA"], env["PERFLAB_DATABASE_URL"]
('learner01', 'postgresql://learner01:pw@127.0.0.1:5432/perflab')

One name per learner is their JupyterHub user name, their PostgreSQL role, their schema and their Redis key
prefix (``perflab:<name>:``, see :func:`perflab.cache.namespace`). :func:`create` makes the roles (LOGIN, a
random password, a connection limit) and the schemas they own; nothing is granted to anyone else, so a
learner reading another's table gets PostgreSQL's own "permission denied for schema". The passwords live in
``learners.json`` in the workshop's run folder (mode 0600) and in each learner's environment; nothing here
prints one (URLs are shown through :func:`perflab.urls.mask_url`).

Instructor tooling: not part of the learner package.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perflab.urls import mask_url, parse_url

#: A learner name: lower-case letters, digits and _, as PostgreSQL schema names in perflab (see perflab.config).
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Connections one learner's role may hold at once: chapter 10's stampede peaks at 17, earlier kernels keep a few.
CONNECTION_LIMIT = 30
STATE_FILE = "learners.json"


@dataclass(frozen=True)
class Learner:
    """A learner: the name (hub user, role, schema) and the role's password."""

    name: str
    password: str


def learner_names(count: int, prefix: str = "learner") -> list[str]:
    """``count`` names ``<prefix>01`` … (two digits at least).

    >>> learner_names(2, "ws")
    ['ws01', 'ws02']
    """
    if count < 1:
        raise ValueError(f"the number of learners must be >= 1, got {count}")
    width = max(2, len(str(count)))
    names = [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]
    for name in names:
        check_name(name)
    return names


def check_name(name: str) -> str:
    """A valid learner name, or a ValueError that says which names are allowed."""
    if not NAME.match(name) or name.startswith("pg_"):
        raise ValueError(f"a learner name must be lower-case letters, digits and _ (not pg_…), got {name!r}")
    return name


def learner_url(admin_url: str, learner: Learner) -> str:
    """The admin's database URL with the learner's role and password instead.

    >>> learner_url("postgresql+psycopg://postgres:x@db/perflab", Learner("ann", "s3")).endswith("ann:s3@db/perflab")
    True
    """
    url = parse_url(admin_url).set(username=learner.name, password=learner.password)
    return url.render_as_string(hide_password=False)


def learner_redis_url(redis_url: str, learner: Learner) -> str:
    """The shared Redis URL as the learner's Redis user (see :func:`grant_redis`).

    >>> learner_redis_url("redis://127.0.0.1:6379/3", Learner("ann", "s3"))
    'redis://ann:s3@127.0.0.1:6379/3'
    """
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    user = f"{quote(learner.name, safe='')}:{quote(learner.password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


def learner_env(learner: Learner, admin_url: str, redis_url: str | None) -> dict[str, str]:
    """The ``PERFLAB_*`` variables of a learner's server: their role's URL, their schema, their Redis user."""
    env = {"PERFLAB_DATABASE_URL": learner_url(admin_url, learner), "PERFLAB_SCHEMA": learner.name}
    if redis_url:  # keys under perflab:<PERFLAB_SCHEMA>: (perflab.cache.namespace), which their ACL enforces
        env["PERFLAB_REDIS_URL"] = learner_redis_url(redis_url, learner)
    return env


#: What a learner's Redis user may run: everything but administration and wiping the whole database.
REDIS_COMMANDS = ["+@all", "-@admin", "-flushdb", "-flushall", "-swapdb"]


def grant_redis(redis_url: str, learners: list[Learner]) -> None:
    """A Redis ACL user per learner: their password, only keys ``perflab:<name>:*``, no admin commands.

    Redis 6 or newer. The password goes to Redis as its SHA-256 (never in clear on the wire or in a log).
    Running it again resets each user to this (after a Redis restart, ``start`` runs it again).
    """
    import hashlib

    import redis

    client = redis.Redis.from_url(redis_url)
    for learner in learners:
        client.acl_setuser(learner.name, enabled=True, reset=True, commands=REDIS_COMMANDS,
                           keys=[f"perflab:{learner.name}:*"],
                           hashed_passwords=["+" + hashlib.sha256(learner.password.encode()).hexdigest()])
    client.close()


def load(run_dir: Path) -> list[Learner]:
    """The learners :func:`create` recorded in ``run_dir`` (empty when there are none)."""
    path = run_dir / STATE_FILE
    if not path.exists():
        return []
    return [Learner(**row) for row in json.loads(path.read_text())["learners"]]


def _save(run_dir: Path, learners: list[Learner]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / STATE_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # passwords: the instructor's eyes only
    with os.fdopen(fd, "w") as out:
        json.dump({"learners": [vars(x) for x in learners]}, out, indent=1)
    os.chmod(path, 0o600)


def _admin_connection(admin_url: str) -> Any:
    import psycopg

    url = parse_url(admin_url)
    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)


def create(admin_url: str, names: list[str], run_dir: Path, redis_url: str | None = None) -> list[Learner]:
    """Create (or keep) a LOGIN role and a schema it owns for each name (and a Redis user); record them in ``run_dir``.

    A learner who already exists keeps their password and their schema (a second ``setup`` adds the
    missing ones only). Parameters: ``admin_url`` a role that may CREATE ROLE and CREATE SCHEMA in the
    workshop's database; ``names`` the learners (:func:`learner_names`); ``run_dir`` where learners.json goes;
    ``redis_url`` the shared Redis, as a user that may run ACL SETUSER (None: no Redis users).
    """
    from psycopg import sql

    known = {x.name: x for x in load(run_dir)}
    learners = [known.get(name) or Learner(check_name(name), secrets.token_urlsafe(18)) for name in names]
    with _admin_connection(admin_url) as conn:
        for learner in learners:
            role = sql.Identifier(learner.name)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (learner.name,)).fetchone()
            verb = sql.SQL("ALTER" if exists else "CREATE")
            # The password goes in as a literal (CREATE ROLE takes no bound parameters); psycopg quotes it.
            conn.execute(sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT {} "
                                 "PASSWORD {}").format(verb, role, sql.Literal(CONNECTION_LIMIT),
                                                       sql.Literal(learner.password)))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(role, role))
            conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(role, role))
            conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(role))
    others = [x for x in known.values() if x.name not in names]
    _save(run_dir, others + learners)
    if redis_url:
        grant_redis(redis_url, learners)
    return learners


def drop(admin_url: str, names: list[str], run_dir: Path | None = None, redis_url: str | None = None) -> None:
    """Drop the learners' schemas (with everything in them), their roles, and their Redis keys.

    Their servers must be stopped first (a role with open connections cannot be dropped: PostgreSQL says so).
    """
    from psycopg import sql

    with _admin_connection(admin_url) as conn:
        for name in map(check_name, names):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            if exists:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        for name in names:
            keys = list(client.scan_iter(match=f"perflab:{name}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.acl_deluser(name)  # no error when there is none
        client.close()
    if run_dir is not None:
        _save(run_dir, [x for x in load(run_dir) if x.name not in names])


def describe(admin_url: str, learners: list[Learner]) -> list[str]:
    """One line per learner for the instructor: name and masked URL (never the password)."""
    return [f"{x.name:<12} {mask_url(learner_url(admin_url, x))}  schema {x.name}" for x in learners]
