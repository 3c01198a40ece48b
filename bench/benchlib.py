"""Helpers for bench/run_bench.py: timing, dbt and CLI invocations, the concurrent writer and the
lock sampler. Nothing here changes the project; everything runs against the bench's own databases.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from leadgen.config import PROJECT_ROOT, Target

BIN = Path(sys.executable).parent
WORK_DIR = Path(os.environ.get("LEADGEN_BENCH_WORK", "/tmp/leadgen_bench"))
BENCH_APP = "leadgen-bench"


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...; elapsed()`` -> seconds (frozen at block exit)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sql_conn(target: Target, *, autocommit: bool = True, app: str = BENCH_APP) -> psycopg.Connection:
    return psycopg.connect(target.conninfo, autocommit=autocommit, application_name=app)


def scalar(target: Target, query: str, params: tuple[Any, ...] = ()) -> Any:
    with sql_conn(target) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def subprocess_env(target: Target) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(target.env)
    env.update(
        {
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


@dataclass
class DbtRun:
    wall_s: float
    nodes: dict[str, float] = field(default_factory=dict)  # node name -> execution seconds
    statuses: dict[str, str] = field(default_factory=dict)
    # node name -> the database time of its statements (dbt's "SQL status: … in N seconds")
    statements: dict[str, float] = field(default_factory=dict)

    def sql_seconds(self, names: set[str] | None = None) -> float:
        return sum(t for n, t in self.nodes.items() if names is None or n in names)


def run_dbt(target: Target, *args: str, vars_: dict[str, Any] | None = None) -> DbtRun:
    """Run the dbt CLI of this venv (a subprocess, the user's exact command) with a private
    target/log path, and return wall time plus per-node execution times from run_results.json."""
    tpath = WORK_DIR / f"target_{target.dbname}"
    log_file = tpath / "logs" / "dbt.log"
    log_offset = log_file.stat().st_size if log_file.exists() else 0
    cmd = [str(BIN / "dbt"), *args, "--target-path", str(tpath), "--log-path", str(tpath / "logs")]
    if vars_:
        cmd += ["--vars", json.dumps(vars_)]
    with stopwatch() as elapsed:
        result = subprocess.run(
            cmd, cwd=PROJECT_ROOT, env=subprocess_env(target), capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    run = DbtRun(wall_s=elapsed())
    results = json.loads((tpath / "run_results.json").read_text())
    for node in results.get("results", []):
        uid = node["unique_id"]
        name = uid.split(".")[-1] if uid.startswith("model.") else uid
        run.nodes[name] = float(node.get("execution_time") or 0.0)
        run.statuses[name] = str(node.get("status"))
    if log_file.exists():
        with log_file.open("rb") as fh:
            fh.seek(log_offset)
            run.statements = statement_seconds(fh.read().decode("utf-8", "replace"))
    return run


_LOG_LINE = re.compile(
    r"\[(?P<thread>[^\]]+)\]: (?:Began executing node (?P<begin>\S+)"
    r"|Finished running node (?P<end>\S+)|SQL status: .* in (?P<secs>[0-9.]+) seconds)"
)


def statement_seconds(log_text: str) -> dict[str, float]:
    """Per model, the sum of the database times dbt logs for its statements ("SQL status: … in
    0.020 seconds", millisecond resolution) between "Began executing node" and "Finished
    running node" on the same thread: the node's time without dbt's own Python work (rendering,
    metadata caching, hooks' templating) between the statements."""
    current: dict[str, str] = {}
    out: dict[str, float] = {}
    for m in _LOG_LINE.finditer(log_text):
        thread = m["thread"]
        if m["begin"]:
            current[thread] = m["begin"].split(".")[-1]
        elif m["end"]:
            current.pop(thread, None)
        elif thread in current:
            out[current[thread]] = out.get(current[thread], 0.0) + float(m["secs"])
    return out


def compiled_sql(target: Target, model: str, target_path: Path | None = None) -> str:
    """The compiled SQL of a model from the last dbt invocation on ``target`` that wrote to
    ``target_path`` (default: the bench's own dbt runs), not a unit test's."""
    tpath = (target_path or WORK_DIR / f"target_{target.dbname}") / "compiled"
    hits = [h for h in tpath.rglob(f"{model}.sql") if not any(p.endswith(".yml") for p in h.parts)]
    if not hits:
        raise FileNotFoundError(f"no compiled SQL for {model} under {tpath}")
    return hits[0].read_text()


def run_cli(
    target: Target, *args: str, timeout: float = 3600, env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """``leadgen <args>`` in a subprocess with the target's PG* environment (plus ``env``)."""
    with stopwatch() as elapsed:
        result = subprocess.run(
            [str(BIN / "leadgen"), *args],
            cwd=PROJECT_ROOT,
            env={**subprocess_env(target), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"leadgen {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed(), result


# --- lock measurement --------------------------------------------------------------------------
class TransactionSampler(threading.Thread):
    """Samples pg_stat_activity every ``interval`` s for the client backends of the database that
    are not the bench's own (the write-back), and records per transaction:

    - ``tx_ms``: its age (the whole transaction, including the read-only search for the batch);
    - ``write_ms``: how long it held a transaction id: PostgreSQL assigns ``backend_xid`` at the
      transaction's first row change, so a row the transaction locked stays locked at most from
      then until the transaction ends (one sampling interval of resolution is added).
    """

    def __init__(self, target: Target, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.interval = interval
        self.stop_event = threading.Event()
        self.ages_ms: dict[tuple[int, str], float] = {}
        self.writes: dict[tuple[int, str], list[float]] = {}
        self.samples = 0

    def run(self) -> None:
        query = (
            "select pid, xact_start::text, extract(epoch from clock_timestamp() - xact_start) * 1000, "
            "backend_xid::text, extract(epoch from clock_timestamp()) * 1000 "
            "from pg_stat_activity where datname = current_database() and backend_type = 'client backend' "
            "and xact_start is not null and pid <> pg_backend_pid() "
            "and coalesce(application_name, '') not like 'leadgen-bench%'"
        )
        with sql_conn(self.target, app=f"{BENCH_APP}-sampler") as conn:
            while not self.stop_event.is_set():
                for pid, xact_start, age, xid, now_ms in conn.execute(query).fetchall():
                    key = (int(pid), str(xact_start))
                    self.ages_ms[key] = max(self.ages_ms.get(key, 0.0), float(age))
                    if xid is not None:
                        seen = self.writes.setdefault((int(pid), str(xid)), [float(now_ms), float(now_ms)])
                        seen[1] = float(now_ms)
                self.samples += 1
                time.sleep(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)

    @property
    def transactions(self) -> list[float]:
        return sorted(self.ages_ms.values())

    @property
    def write_phases(self) -> list[float]:
        step = self.interval * 1000
        return sorted(last - first + step for first, last in self.writes.values())


class RowWriter(threading.Thread):
    """A concurrent application writer: single-row updates of random existing leads (one
    transaction each, ``lock_timeout`` 5 s), timing each statement. Bounded by ``stop()`` and by
    ``max_seconds``."""

    def __init__(self, target: Target, ids: list[str], rate_per_s: float = 200, max_seconds: float = 3600,
                 seed: int = 1) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.ids = ids
        self.period = 1.0 / rate_per_s
        self.max_seconds = max_seconds
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.latencies_ms: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with sql_conn(self.target, app=f"{BENCH_APP}-writer") as conn:
            conn.execute("set lock_timeout = '5s'")
            next_at = time.monotonic()
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                lead_id = self.rng.choice(self.ids)
                start = time.perf_counter()
                try:
                    conn.execute("update public.leads set description = 'bench writer' where id = %s",
                                 (lead_id,))
                    self.latencies_ms.append((time.perf_counter() - start) * 1000)
                except psycopg.Error as exc:
                    self.errors.append(str(exc).strip())
                next_at += self.period
                time.sleep(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=15)
