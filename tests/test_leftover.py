"""perflab.exercises.leftover: threads and child processes a call leaves running are named; ended ones are not."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from perflab.exercises.leftover import Elsewhere, Running, left_running


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


def test_a_thread_that_replaces_an_ended_one_is_new_even_with_its_ident() -> None:
    stop = threading.Event()
    first = threading.Thread(target=stop.wait)
    first.start()
    before = Running.now()
    stop.set()
    first.join()
    stop.clear()
    second = threading.Thread(target=stop.wait)  # the ident of an ended thread is often handed out again
    second.start()
    try:
        assert left_running(before, grace=0.05) == "1 thread"
    finally:
        stop.set()
        second.join()


def test_elsewhere_measures_what_other_threads_take_while_a_block_runs() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    with Elsewhere() as quiet:
        time.sleep(0.2)
    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        with Elsewhere() as busy:
            time.sleep(0.2)  # lets the spinner have the GIL
    finally:
        stop.set()
        spinner.join()
    assert quiet.share < 0.25 < busy.share
