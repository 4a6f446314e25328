from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.cli import COMMANDS, main, parser


def perflab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m perflab`` as a user would, in a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    return subprocess.run([sys.executable, "-m", "perflab", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, timeout=120)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_ending_with_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out.strip()
    assert help_text.splitlines()[-1].startswith(f"Example: perflab {command}")


def test_every_command_is_in_the_top_level_help_and_the_readme() -> None:
    top = parser().format_help()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for command in COMMANDS:
        assert command in top
        assert f"perflab {command}" in readme, f"README does not document `perflab {command}`"


def test_build_info_verify_reset_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    built = perflab("build", "--scale", "0.01", "--seed", "3", "--url", url)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built ") and "(scale 0.01, seed 3)" in built.stdout
    info = perflab("info", "--verify", "--url", url)
    assert info.returncode == 0, info.stderr
    assert "\n  users               100\n" in info.stdout and "matches" in info.stdout
    again = perflab("build", "--if-needed", "--scale", "0.01", "--seed", "3", "--url", url)
    assert "nothing to do" in again.stdout
    reset = perflab("reset", "--yes", "--url", url, env={"PERFLAB_SCALE": "0.01"})
    assert reset.returncode == 0 and "(scale 0.01, seed 17)" in reset.stdout


def test_info_on_a_database_without_the_dataset(tmp_path: Path) -> None:
    result = perflab("info", "--url", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert result.returncode == 1 and "not built — run: perflab build" in result.stdout


def test_reset_without_yes_and_no_terminal_refuses(tmp_path: Path) -> None:
    result = perflab("reset", "--url", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "perflab reset: error: reset deletes the dataset; add --yes to confirm (perflab reset --yes)")


@pytest.mark.parametrize("args, message", [
    (["build", "--scale", "-1"], "perflab build: error: scale must be > 0, got -1"),
    (["build", "--scale", "1e9"], "perflab build: error: scale must be <= 50, got 1e9"),
    (["build", "--seed", "x"], "perflab build: error: seed must be a whole number >= 0, got 'x'"),
    (["info", "--url", "oracle://scott@db/x"], "perflab info: error: unsupported database 'oracle'"),
    (["info", "--url", "postgresql://u:secret@127.0.0.1:1/x"],
     "perflab info: error: cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(args: list[str], message: str) -> None:
    result = perflab(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_doctor_reports_each_line(tmp_path: Path, sqlite_path: Path) -> None:
    env = {"PERFLAB_DATABASE_URL": f"sqlite:///{sqlite_path}", "PERFLAB_SCALE": "0.02"}
    result = perflab("doctor", env=env)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    assert [line.split()[1] for line in lines[:-1]] == [
        "python", "packages", "jupyterlab", "widget", "python", "database", "dataset", "redis"]
    assert all(line.startswith("OK") for line in lines[:-1])
    assert lines[-1] == "all good: open the course with  python3 tasks.py course"
    assert "python3 tasks.py course" in (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = perflab("doctor", env={"PERFLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite'}"})
    assert missing.returncode == 1
    assert "FIX  dataset               not built yet — perflab build" in missing.stdout


def test_python_dash_m_and_console_script_are_the_same_cli() -> None:
    result = perflab("--version")
    assert result.returncode == 0 and result.stdout.startswith("perflab 0.1.0")


SECRET = "Zq7s3cret"


def _with_password(url: str, password: str = SECRET) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("password", [SECRET, f"p@{SECRET}"])
def test_passwords_of_unreachable_servers_never_reach_the_screen(password: str) -> None:
    pg = f"postgresql://ann:{password}@127.0.0.1:1/shop"
    env = {"PERFLAB_DATABASE_URL": pg, "PERFLAB_REDIS_URL": f"redis://:{password}@127.0.0.1:1/0"}
    results = [perflab("doctor", env=env), perflab("info", env=env), perflab("build", "--url", pg),
               perflab("info", "--url", f"postgresql://ann@127.0.0.1:1/shop?password={password}")]
    for result in results:
        assert result.returncode == 1
        assert SECRET not in result.stdout + result.stderr
    doctor, info, build, query = results
    assert "FIX  redis                 cannot reach redis://:***@127.0.0.1:1/0" in doctor.stdout
    assert "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)" in info.stderr + build.stderr + query.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_passwords_of_reachable_servers_never_reach_the_screen(pg_url: str, pg_schema: str, redis_url: str) -> None:
    pg, redis = _with_password(pg_url), redis_url.replace("://", f"://:{SECRET}@", 1)
    env = {"PERFLAB_REDIS_URL": redis, "PERFLAB_SCHEMA": pg_schema}
    info, doctor = perflab("info", "--url", pg, env=env), perflab("doctor", "--url", pg, env=env)
    assert "url          postgresql+psycopg://" in info.stdout and ":***@" in info.stdout
    assert "OK   database              postgresql at postgresql+psycopg://" in doctor.stdout
    assert "OK   redis                 reachable at redis://:***@" in doctor.stdout
    for result in (info, doctor):
        assert SECRET not in result.stdout + result.stderr


def test_doctor_for_a_workshop_needs_the_shared_server_and_names_each_learner() -> None:
    result = perflab("doctor", "--learners", "ann,bob")
    assert result.returncode != 0 and "needs the shared server: perflab doctor --url" in result.stderr
    down = perflab("doctor", "--url", "postgresql://postgres@127.0.0.1:1/perflab", "--learners", "ann,bob")
    assert down.returncode == 1 and down.stdout.startswith("FIX  shared server")
    assert down.stdout.splitlines()[-1] == "1 thing(s) to fix (see FIX lines)"
