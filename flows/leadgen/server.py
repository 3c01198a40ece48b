"""`leadgen server start|stop|status`: one persistent local Prefect server for this project.

* Data under ``.leadgen/prefect/`` (``PREFECT_HOME`` of the server: its own SQLite database
  ``prefect.db``), its output in ``server.log``, its pid and port in ``server.json``;
  ``LEADGEN_PREFECT_DIR`` moves all of it (tests use a temporary one).
* It listens on 127.0.0.1 only, port 4200 unless told otherwise, and runs in a session of its own,
  so a Ctrl-C in the terminal that started it (or in a ``leadgen run`` using it) never reaches it.
* Every CLI command that needs Prefect uses it when it answers (:func:`running_api_url`), instead
  of Prefect's temporary per-command server; the schedules of ``leadgen serve`` live in it.

No Prefect import here: the CLI asks :func:`running_api_url` on every command, so it must be cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from leadgen.config import PROJECT_ROOT

HOST = "127.0.0.1"
DEFAULT_PORT = 4200


class ServerError(RuntimeError):
    """The local Prefect server could not be started; the message says why."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    port: int | None = None
    pid: int | None = None

    @property
    def url(self) -> str | None:
        return f"http://{HOST}:{self.port}" if self.port else None

    @property
    def api_url(self) -> str | None:
        return f"{self.url}/api" if self.url else None

    def describe(self) -> str:
        if not self.running:
            return "down"
        return f"up: API {self.api_url}, UI {self.url} (pid {self.pid})"


def _answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class LocalPrefectServer:
    home: Path

    @classmethod
    def for_project(cls) -> LocalPrefectServer:
        override = os.environ.get("LEADGEN_PREFECT_DIR")
        return cls(Path(override) if override else PROJECT_ROOT / ".leadgen" / "prefect")

    @property
    def state_file(self) -> Path:
        return self.home / "server.json"

    @property
    def log_file(self) -> Path:
        return self.home / "server.log"

    def _recorded(self) -> tuple[int, int] | None:
        try:
            data = json.loads(self.state_file.read_text())
            return int(data["pid"]), int(data["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def status(self, timeout: float = 1.0) -> ServerStatus:
        recorded = self._recorded()
        if recorded is None:
            return ServerStatus(False)
        pid, port = recorded
        if _alive(pid) and _answers(port, timeout):
            return ServerStatus(True, port, pid)
        return ServerStatus(False, port, pid if _alive(pid) else None)

    def start(self, port: int = DEFAULT_PORT, timeout: float = 180.0) -> tuple[ServerStatus, bool]:
        """Start the server (or reuse the running one); return when its API answers.
        Returns the status and whether it was started by this call."""
        current = self.status()
        if current.running:
            return current, False
        if current.pid is not None:  # a previous start still coming up, or hung: replace it
            self.stop()
        if not _port_free(port):
            raise ServerError(f"port {port} on {HOST} is in use (choose another with --port)")
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)]
        with self.log_file.open("ab") as log:
            log.write(f"\n--- leadgen server start {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command, env=env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,  # its own session: no terminal signals
            )
        self.state_file.write_text(json.dumps({"pid": process.pid, "port": port}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise ServerError(f"the Prefect server exited at start ({self._log_tail()})")
            if _answers(port):
                return ServerStatus(True, port, process.pid), True
            time.sleep(0.5)
        self.stop()
        raise ServerError(f"the Prefect server did not answer within {timeout:.0f} s ({self._log_tail()})")

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the server (SIGTERM to its process group, SIGKILL after ``timeout``)."""
        recorded = self._recorded()
        if recorded is None:
            return False
        pid, _ = recorded
        stopped = False
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.2)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            stopped = True
        self.state_file.unlink(missing_ok=True)
        return stopped

    def _log_tail(self, lines: int = 5) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return "no log"
        return f"{self.log_file}: " + " | ".join(line.strip() for line in tail)


def _reap(pid: int) -> None:
    """Collect our own child's exit status, so a stopped child is not left a zombie (alive)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def running_api_url() -> str | None:
    """The API URL of the local server when it is up, else None (cheap: a file and one request)."""
    status = LocalPrefectServer.for_project().status(timeout=0.5)
    return status.api_url if status.running else None
