"""Cache keys: one namespace per learner, and the query cache's key (a hash of the SQL and its parameters).

>>> query_key("SELECT * FROM users WHERE id = :id", {"id": 1})
'q:b9746d41cbd53fb6e077be14c81f3fc4'
>>> namespace(schema="ann")
'perflab:ann:'

Learners of a workshop share one Redis server: every key this package writes starts with
``perflab:<learner>:``, where the learner is ``PERFLAB_SCHEMA`` (their PostgreSQL schema) or else
their user name, so nobody reads (or deletes) anybody else's entries.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def namespace(schema: str | None = None, user: str | None = None) -> str:
    """The key prefix of this learner: ``perflab:<PERFLAB_SCHEMA or user name>:``.

    >>> namespace(user="Ann Lee")
    'perflab:Ann_Lee:'

    Parameters: ``schema`` (default ``PERFLAB_SCHEMA``), ``user`` (default: the login name).
    """
    from perflab.config import settings

    who = schema or settings().schema or user or _login()
    return f"perflab:{_UNSAFE.sub('_', who).strip('_') or 'learner'}:"


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still one namespace per machine
        return "learner"


def query_key(sql: str, params: Any = None) -> str:
    """The query cache's key: ``q:`` and the MD5 of the SQL and its parameters (as the book's ``QueryCache``).

    >>> query_key("SELECT 1") == query_key("SELECT 1", None), query_key("SELECT 1") == query_key("SELECT 2")
    (True, False)

    Parameters are serialized as sorted JSON (dates and other values as their ``str``), so the same
    parameters in another order give the same key. MD5 serves as a fingerprint here, not for security.
    """
    data = json.dumps({"query": str(sql), "params": params}, sort_keys=True, default=str)
    return "q:" + hashlib.md5(data.encode(), usedforsecurity=False).hexdigest()
