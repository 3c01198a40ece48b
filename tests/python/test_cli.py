"""The CLI: every command answers --help; bad input and an unreachable database give one clear line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.main
from leadgen.cli import app
from typer.testing import CliRunner

LEADGEN = str(Path(sys.executable).parent / "leadgen")


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if getattr(command, "commands", None):  # a group (typer's own click types)
        for name, sub in command.commands.items():
            paths += _command_paths(sub, (*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_cli_has_the_documented_commands() -> None:
    expected = {
        ("run", "assign"), ("run", "daily"), ("run", "refresh"), ("backfill",), ("migrate",), ("demo",),
        ("generate",), ("serve",), ("docs",), ("db", "start"), ("db", "stop"), ("db", "status"),
        ("db", "url"), ("db", "env"), ("server", "start"), ("server", "stop"), ("server", "status"),
    }
    assert expected <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "leadgen")
def test_every_command_answers_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def _leadgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    return subprocess.run(
        [LEADGEN, *args], env={**base, **(env or {})}, capture_output=True, text=True, timeout=120,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadgen: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-02-02", "2025-02-01", "backfill start 2025-02-02 is after end 2025-02-01"),
        (str(date.today() + timedelta(days=3)), str(date.today() + timedelta(days=4)), "is in the future"),
        ("2025-13-01", "2025-12-31", "--start '2025-13-01' is not a date (YYYY-MM-DD)"),
    ],
)
def test_a_bad_backfill_range_is_one_clear_line(start: str, end: str, message: str) -> None:
    line = _one_line_error(_leadgen("backfill", "--start", start, "--end", end))
    assert message in line


@pytest.mark.parametrize(
    "command",
    [("run", "daily"), ("run", "assign"), ("backfill", "--start", "2025-01-01", "--end", "2025-01-02")],
)
def test_an_unreachable_database_is_one_clear_line(command: tuple[str, ...]) -> None:
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(_closed_port()), "PGUSER": "nobody", "PGDATABASE": "leadgen"}
    line = _one_line_error(_leadgen(*command, env=env))
    assert f"cannot connect to the database postgresql://nobody@127.0.0.1:{env['PGPORT']}/leadgen" in line


@pytest.mark.parametrize("url", [
    "postgresql://u:s3cr3t-pw@[::1/db",
    "u:s3cr3t-pw@h/db",
    "postgresql://u:s3cr3t%40pw@[::1/db",
    "postgresql://u:s3cr3t@pw@host:notaport/db",
    "host=h password=s3cr3t-pw port=x",
])
def test_no_error_prints_the_password_whatever_the_urls_shape(url: str) -> None:
    result = _leadgen("check", env={"DATABASE_URL": url})
    assert result.returncode != 0
    assert "s3cr3t" not in result.stdout + result.stderr, (url, result.stdout, result.stderr)
