"""The background-job stack for real: a Huey worker process and the reports app, on SQLite storage or Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
from pathlib import Path

import httpx
import pytest

from perflab import background
from perflab.background import choose_storage, redis_keys, redis_reachable, start_jobs
from perflab.errors import PerflabError
from perflab.jobs import make_huey
from perflab.processes import running


@pytest.fixture(autouse=True)
def _dataset(sqlite_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker and the app read the small test dataset (they inherit this environment)."""
    monkeypatch.setenv("PERFLAB_DATABASE_URL", f"sqlite:///{sqlite_path}")


def ours() -> list[str]:
    return [c.name for c in running() if c.name in ("huey worker", "uvicorn perflab.report_app:app")]


def test_inline_queued_status_retries_and_failure_on_sqlite_storage() -> None:
    with start_jobs() as stack:
        assert stack.storage == "Huey's SQLite storage (a file)" and stack.url.startswith("http://127.0.0.1:")
        folder = Path(stack._storage_url[len("sqlite:///"):]).parent
        assert folder.is_dir()
        client = httpx.Client(base_url=stack.url, timeout=30)
        inline = client.post("/reports/inline", params={"user_id": 3, "seconds": 0})
        queued = client.post("/reports", params={"user_id": 3, "seconds": 0})
        assert inline.status_code == 200 and queued.status_code == 202
        assert queued.json()["status"] == "queued" and queued.json()["status_url"].endswith(queued.json()["task_id"])
        done = stack.wait(queued.json()["task_id"])
        assert done["status"] == "done" and done["attempts"] == 1
        assert done["result"]["orders"] == inline.json()["orders"]
        retried = stack.wait(client.post("/reports", params={"user_id": 3, "seconds": 0, "fail_first": 1})
                             .json()["task_id"])
        assert (retried["status"], retried["attempts"], retried["error"]) == ("done", 2, None)
        failed = stack.wait(client.post("/reports", params={"user_id": 3, "seconds": 0, "fail_first": 9})
                            .json()["task_id"])
        assert (failed["status"], failed["attempts"]) == ("failed", 3)
        assert failed["error"] == "the report service timed out (attempt 3)"
        assert client.get("/reports/nope").status_code == 404
        client.close()
    assert not folder.exists()  # the queue's storage is removed
    assert not stack.server.alive and not stack.worker.alive and not ours()


def test_a_port_in_use_is_one_line_and_leaves_no_worker() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PerflabError, match=rf"^port {port} on 127.0.0.1 is in use"):
            start_jobs(port=port)
    assert not ours()


def test_a_worker_that_dies_is_one_line() -> None:
    with start_jobs() as stack:
        os.kill(stack.worker.pid, signal.SIGKILL)
        task_id = httpx.post(f"{stack.url}/reports", params={"user_id": 3, "seconds": 0}).json()["task_id"]
        with pytest.raises(PerflabError, match=r"^the huey worker stopped \(exit code -9\): .* run the cell"):
            stack.wait(task_id, timeout=10)
    assert not ours()


def test_a_worker_that_cannot_start_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(background, "choose_storage", lambda url: ("memcached://nowhere", "broken", tmp_path))
    with pytest.raises(PerflabError, match=r"^the huey worker exited with code \d+ before it was ready: .*"
                                           r"job storage must be"):
        start_jobs()
    assert not ours()


def test_redis_configured_but_down_is_one_line_and_falls_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert redis_reachable("redis://127.0.0.1:1/0") == "connection refused"
    storage, label, folder = choose_storage("redis://:s3cret@127.0.0.1:1/0")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "unreachable (connection refused)" in out and "s3cret" not in out
    assert storage.startswith("sqlite:///") and folder is not None and folder.is_dir()
    folder.rmdir()


def test_a_redis_url_redis_cannot_read_is_one_line_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "redis://:s3cret@127.0.0.1:63x79/0"  # a typo in the port: redis raises ValueError, not a RedisError
    assert redis_reachable(url) == "Port could not be cast to integer value as '63x79'"
    storage, _, folder = choose_storage(url)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "s3cret" not in out and storage.startswith("sqlite:///")
    assert folder is not None
    shutil.rmtree(folder)


def test_bad_workers_is_one_line() -> None:
    with pytest.raises(PerflabError, match="^workers must be a whole number from 1 to 8, got 0"):
        start_jobs(workers=0)


@pytest.mark.redis
def test_jobs_go_through_redis_and_its_keys_are_removed(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    before = client.info("stats")["total_commands_processed"]
    with start_jobs(redis_url=redis_url) as stack:
        assert stack.storage.startswith("Redis at ")
        task_id = httpx.post(f"{stack.url}/reports", params={"user_id": 3, "seconds": 0}).json()["task_id"]
        assert stack.wait(task_id)["status"] == "done"
        keys = redis_keys(redis_url, stack.name)
        assert f"huey.results.{stack.name}" in keys
        assert client.hexists(f"huey.results.{stack.name}", task_id)  # the result went through Redis
        assert client.hexists(f"huey.results.{stack.name}", f"status:{task_id}")
        assert isinstance(stack.huey().storage, type(make_huey(redis_url, "x").storage))
    assert client.info("stats")["total_commands_processed"] > before
    assert redis_keys(redis_url, stack.name) == []  # the chapter's keys are gone
    client.close()


def test_bad_parameters_are_400_with_one_line() -> None:
    import asyncio

    from perflab.report_app import app

    async def ask() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return [await client.post(path, params=params) for path in ("/reports/inline", "/reports")
                    for params in ({"user_id": 3, "seconds": 99}, {"user_id": "x"})]

    too_long, not_a_number, *queued = asyncio.run(ask())
    assert [r.status_code for r in (too_long, not_a_number, *queued)] == [400] * 4
    assert too_long.json() == queued[0].json() == {"error": "seconds must be from 0 to 60, got 99.0"}


def test_importing_the_job_modules_writes_no_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PERFLAB_JOBS_STORAGE", None)
    code = "import perflab.background, perflab.jobs, perflab.report_app; print(type(perflab.jobs.huey).__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "MemoryHuey" and list(tmp_path.iterdir()) == []


def test_a_missing_dataset_is_one_line_and_creates_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERFLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'perflab.sqlite'}")
    with pytest.raises(PerflabError, match=r"^the course dataset is not built at .* run perflab.connect\(\)"):
        start_jobs()
    assert list(tmp_path.iterdir()) == [] and not ours()


def test_starting_again_stops_the_stack_started_before() -> None:
    first = start_jobs()
    try:
        second = start_jobs()  # the cell ran twice
        with second:
            assert not first.server.alive and not first.worker.alive and second.server.alive
            assert sorted(ours()) == ["huey worker", "uvicorn perflab.report_app:app"]
    finally:
        first.stop()
    assert not ours()
