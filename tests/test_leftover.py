"""perflab.exercises.leftover: threads and child processes a call leaves running are named; ended ones are not."""

from __future__ import annotations

import subprocess
import sys
import threading

from perflab.exercises.leftover import Running, left_running


def test_a_thread_still_running_is_named_and_one_that_ends_is_not() -> None:
    stop = threading.Event()
    before = Running.now()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert left_running(before, grace=0.05) == "1 thread"
    finally:
        stop.set()
        thread.join()
    assert left_running(before, grace=0.05) is None


def test_a_thread_ending_within_the_grace_is_let_go() -> None:
    before = Running.now()
    threading.Timer(0.05, lambda: None).start()
    assert left_running(before, grace=1.0) is None


def test_a_child_process_still_running_is_named() -> None:
    before = Running.now()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert left_running(before, grace=0.05) == "1 child process"
    finally:
        child.kill()
        child.wait()
    assert left_running(before, grace=0.05) is None
