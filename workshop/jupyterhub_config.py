"""JupyterHub for a perflab workshop: one machine, learners without system accounts, one shared PostgreSQL.

Started by ``python3 tasks.py workshop start`` (which sets the variables below); read by ``jupyterhub -f``.

- Login: JupyterHub's SharedPasswordAuthenticator — the day's password from ``PERFLAB_WORKSHOP_PASSWORD``
  (8 characters or more), for the learners ``tasks.py workshop setup`` created, and nobody else.
- Servers: SimpleLocalProcessSpawner (no system users), a home per learner under the run folder, the
  course's chapters copied into it on the first spawn, ``PERFLAB_*`` pointing at the learner's role, schema
  and Redis key prefix (workshop/learners.py).
- Everything listens on 127.0.0.1 unless ``PERFLAB_WORKSHOP_IP`` says otherwise (e.g. 0.0.0.0 behind a
  TLS-terminating reverse proxy for the room).
- ``PERFLAB_WORKSHOP_API_TOKEN`` (optional) is the token of a "workshop-admin" service that may start and
  stop every learner's server through the REST API (the tests and the pre-flight use it).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator  # noqa: E402

from workshop.learners import learner_env, load  # noqa: E402

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (provided by JupyterHub when it reads this file)
env = os.environ
RUN = Path(env.get("PERFLAB_WORKSHOP_RUN") or HERE / "run").resolve()
HOMES = RUN / "homes"
NOTEBOOKS = ROOT / "notebooks"
COPIED = ".perflab-copied"  # in a home: the chapters were copied there once; never overwrite a learner's work
DATABASE_URL = env["PERFLAB_WORKSHOP_DATABASE_URL"]  # the server and database; each learner gets their own role
REDIS_URL = env.get("PERFLAB_WORKSHOP_REDIS_URL") or None
LEARNERS = {x.name: x for x in load(RUN)}
if not LEARNERS:
    sys.exit(f"no learners in {RUN} — run: python3 tasks.py workshop setup --users N")
IP = env.get("PERFLAB_WORKSHOP_IP", "127.0.0.1")

# Where the hub, its proxy and its state live.
c.JupyterHub.ip = IP
c.JupyterHub.port = int(env.get("PERFLAB_WORKSHOP_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env.get("PERFLAB_WORKSHOP_HUB_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{RUN / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(RUN / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(RUN / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env.get('PERFLAB_WORKSHOP_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.pid_file = str(RUN / "proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every learner's server (and their kernels)
c.JupyterHub.cleanup_proxy = True



class LearnerAuthenticator(SharedPasswordAuthenticator):
    """The day's password, for the learners in learners.json: read at each login, so a latecomer needs no restart."""

    def check_allowed(self, username: str, authentication: object = None) -> bool:
        return username in {x.name for x in load(RUN)}


# Login: one password for the day, only for the learners set up.
c.JupyterHub.authenticator_class = LearnerAuthenticator
c.LearnerAuthenticator.user_password = env["PERFLAB_WORKSHOP_PASSWORD"]
c.LearnerAuthenticator.allowed_users = set(LEARNERS)  # created in the hub at start: the admin API can spawn them
c.LearnerAuthenticator.allow_all = False

# The instructor's token: a service that may start, stop and reach every learner's server.
if env.get("PERFLAB_WORKSHOP_API_TOKEN"):
    c.JupyterHub.services = [{"name": "workshop-admin", "api_token": env["PERFLAB_WORKSHOP_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "workshop-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
        "services": ["workshop-admin"],
    }]

# Servers: a process per learner, no system user, a home under the run folder.
c.JupyterHub.spawner_class = "simple"  # jupyterhub.spawner.SimpleLocalProcessSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/00-welcome.ipynb"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60


def prepare_learner(spawner: Any) -> None:
    """Before a learner's server starts: their PERFLAB_* variables, and the chapters in their home (once)."""
    learner = LEARNERS.get(spawner.user.name) or {x.name: x for x in load(RUN)}[spawner.user.name]  # a latecomer
    spawner.environment.update(learner_env(learner, DATABASE_URL, REDIS_URL))
    for name in ("PERFLAB_SCALE", "PERFLAB_SEED", "PERFLAB_STRICT"):
        if env.get(name):
            spawner.environment[name] = env[name]
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / COPIED).exists():
        shutil.copytree(NOTEBOOKS, home, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".*", "__pycache__"))
        (home / COPIED).write_text("the course's chapters were copied here on the first start\n")


c.Spawner.pre_spawn_hook = prepare_learner
# A kernel idle for 20 minutes is shut down (its chapter reruns in under a minute): learners move on to the next
# chapter and leave the last one's kernel holding 150-400 MB (workshop/README.md, Sizing).
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=1200", "--MappingKernelManager.cull_interval=120"]
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.Spawner.args.append("--allow-root")  # containers, VMs: jupyter_server refuses root without it
