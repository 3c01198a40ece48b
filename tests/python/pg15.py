"""A PostgreSQL 15 server for the tests (production Supabase runs 15-17; the embedded one is 18).

Debian's ``postgresql-15`` binaries run through :class:`leadgen.embedded.EmbeddedPostgres` (as
``nobody`` when we are root), with their own data directory ``.leadgen/pg15`` and port file. When
the binaries are absent and we are root with apt, the package is installed (and we say so);
otherwise the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from leadgen.config import DEFAULT_DATABASE, Target, _env_from_conninfo
from leadgen.embedded import EmbeddedPostgres

PG15_BIN = Path(os.environ.get("LEADGEN_PG15_BIN", "/usr/lib/postgresql/15/bin"))
# A second server on a shared machine: a smaller cache than the embedded 18's.
PG15_SETTINGS = {"shared_buffers": "128MB", "max_connections": "60"}


class PG15Unavailable(RuntimeError):
    """No PostgreSQL 15 binaries and no way to install them here; the message says why."""


def _apt_install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql-15"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).split())[-300:]
        raise PG15Unavailable(f"apt-get install postgresql-15 failed: {tail}")


def pg15_binaries() -> Path:
    """The PostgreSQL 15 ``bin`` directory, installing Debian's package when absent and allowed."""
    if (PG15_BIN / "postgres").exists():
        return PG15_BIN
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PG15Unavailable(
            f"PostgreSQL 15 is not installed ({PG15_BIN}/postgres absent) and cannot be installed here "
            "(needs root and apt-get): apt-get install postgresql-15"
        )
    print(
        f"\nPostgreSQL 15 is absent ({PG15_BIN}): installing Debian's postgresql-15 (apt-get install); "
        "the package sets up its own cluster 15/main, which the tests do not use",
        flush=True,
    )
    _apt_install()
    if not (PG15_BIN / "postgres").exists():
        raise PG15Unavailable(f"postgresql-15 installed but {PG15_BIN}/postgres is still absent")
    return PG15_BIN


def pg15_server(state_dir: Path) -> EmbeddedPostgres:
    """The PostgreSQL 15 server of the project whose state lives in ``state_dir`` (not started)."""
    return EmbeddedPostgres(state_dir, name="pg15", binaries=pg15_binaries(), settings=PG15_SETTINGS)


def target_of(server: EmbeddedPostgres) -> Target:
    """The started server's default database as a Target (what make_db-style helpers take)."""
    conninfo = server.conninfo(DEFAULT_DATABASE)
    return Target(conninfo, False, "PostgreSQL 15 (tests)", _env_from_conninfo(conninfo))
