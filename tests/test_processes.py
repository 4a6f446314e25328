"""Child processes: started in a session of their own, stopped with their children, never outliving their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from perflab.errors import PerflabError
from perflab.processes import running, start_process, stop_all

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def gone(pid: int, within: float = 10.0) -> bool:
    """True once ``pid`` no longer runs (a zombie counts as gone), polling up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_process_and_forgets_it() -> None:
    child = start_process(SLEEP, name="sleeper")
    assert child.alive and child in running()
    assert child.stop() == -signal.SIGTERM
    assert not child.alive and child not in running()
    assert child.stop() == -signal.SIGTERM  # a second stop is harmless


def test_the_child_runs_in_a_session_of_its_own_and_its_children_stop_with_it() -> None:
    script = f"import subprocess, sys, time; p = subprocess.Popen({SLEEP!r}); print(p.pid, flush=True); time.sleep(60)"
    child = start_process([sys.executable, "-c", script], name="parent")
    deadline = time.monotonic() + 10
    while not child.log_tail(1) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(child.log_tail(1))
    assert os.getsid(child.pid) == child.pid != os.getsid(0)
    child.stop()
    assert gone(grandchild)


def test_a_child_dies_with_the_process_that_started_it() -> None:
    """Like a kernel that is killed: its servers must not stay behind on their ports."""
    script = (
        "import sys, time\n"
        "from perflab.processes import start_process\n"
        f"c = start_process({SLEEP!r}, name='orphan')\n"
        "print(c.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    orphan = int(parent.stdout.readline())
    assert not gone(orphan, within=0.2)
    parent.kill()
    parent.wait()
    assert gone(orphan)


def test_a_child_that_exits_before_it_is_ready_gives_one_line_with_its_last_words() -> None:
    with pytest.raises(PerflabError) as info:
        start_process([sys.executable, "-c", "import sys; print('port taken'); sys.exit(3)"],
                      name="server", ready=lambda: False)
    assert str(info.value) == "server exited with code 3 before it was ready: port taken"


def test_a_child_that_is_never_ready_is_stopped() -> None:
    with pytest.raises(PerflabError, match=r"^sleeper was not ready within 0.2 s$"):
        start_process(SLEEP, name="sleeper", ready=lambda: False, timeout=0.2)
    assert not [c for c in running() if c.name == "sleeper"]


def test_a_missing_program_is_one_line() -> None:
    with pytest.raises(PerflabError, match=r"^could not start ghost: No such file or directory"):
        start_process(["/nonexistent/ghost"], name="ghost")


def test_stop_all_stops_everything_started_here() -> None:
    children = [start_process(SLEEP, name=f"sleeper {i}") for i in range(3)]
    stop_all()
    assert running() == [] and not any(c.alive for c in children)
