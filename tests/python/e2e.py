"""The end-to-end path a new user takes, as one function over a Target (any server, any platform).

On a database that holds the platform (the stand-in in some variant): ``leadgen migrate`` -> a
small generated marketplace -> ``dbt build`` -> ``leadgen run daily`` (check, MV refresh, build,
write-back, summary); then what a user would look at: the migration history, the marts' row counts
and ``leads.segment_id``. Commands run as a user runs them (subprocesses, as the Target's role),
the flows report to the suite's Prefect test server. Parametrise over servers, roles or platform
variants by calling :func:`run_end_to_end` with another Target and the variant's ``extra_env``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect

BIN = Path(sys.executable).parent
# Small: the point is that every step runs on the server, not the volume.
TINY_MARKETPLACE = {"partners": 60, "leads": 1500, "days": 30, "seed": 13}
MARTS = (
    "lead_segment_assignments",
    "lead_generation_stats",
    "partner_segment_matches",
    "segment_capacity",
    "segment_capacity_daily",
    "segment_supply_demand",
)


@dataclass(frozen=True)
class EndToEnd:
    server_version: int  # server_version_num, e.g. 150018
    history: list[str]  # versions recorded in supabase_migrations.schema_migrations
    migrate_output: str
    check_output: str
    daily_output: str
    mart_rows: dict[str, int]
    leads: int
    leads_with_segment: int
    assigned_in_mart: int
    writeback_mismatches: int  # leads whose segment_id differs from the assignment mart


def _env(target: Target, work_dir: Path, api_url: str, extra_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    env.update(target.env)
    env.update(extra_env)
    env.update({
        "DBT_TARGET_PATH": str(work_dir / f"dbt_{target.dbname}"),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    })
    return env


def run_command(
    target: Target, work_dir: Path, api_url: str, *args: str, extra_env: dict[str, str] | None = None
) -> str:
    """``leadgen …`` or ``dbt …`` of this venv against ``target``; its output, or AssertionError."""
    env = _env(target, work_dir, api_url, extra_env or {})
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def _one(target: Target, query: str) -> Any:
    with connect(target) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def run_end_to_end(
    target: Target,
    work_dir: Path,
    api_url: str,
    *,
    now: datetime | None = None,
    extra_env: dict[str, str] | None = None,
) -> EndToEnd:
    """Run the whole path on ``target`` (the platform, not migrated yet) and collect the outcomes.
    ``extra_env``: e.g. a stand-in variant's ``dbt_env()`` (its optional-column names)."""
    from leadgen.generate import generate_marketplace

    def run(*args: str) -> str:
        return run_command(target, work_dir, api_url, *args, extra_env=extra_env)

    migrate_output = run("leadgen", "migrate")
    generate_marketplace(target, progress=False, now=now, **TINY_MARKETPLACE)
    check_output = run("leadgen", "check")
    run("dbt", "build")
    daily_output = run("leadgen", "run", "daily")

    with connect(target) as conn:
        history = [r[0] for r in conn.execute(
            "select version from supabase_migrations.schema_migrations order by version"
        ).fetchall()]
        mart_rows = {
            mart: int(conn.execute(f"select count(*) from analytics.{mart}").fetchone()[0])  # type: ignore[index]
            for mart in MARTS
        }
    return EndToEnd(
        server_version=int(_one(target, "select current_setting('server_version_num')")),
        history=history,
        migrate_output=migrate_output,
        check_output=check_output,
        daily_output=daily_output,
        mart_rows=mart_rows,
        leads=int(_one(target, "select count(*) from public.leads")),
        leads_with_segment=int(
            _one(target, "select count(*) from public.leads where segment_id is not null")
        ),
        assigned_in_mart=int(_one(
            target, "select count(*) from analytics.lead_segment_assignments where segment_id is not null"
        )),
        writeback_mismatches=int(_one(
            target,
            """select count(*) from public.leads l
               join analytics.lead_segment_assignments a on a.lead_id = l.id
               where l.segment_id is distinct from a.segment_id""",
        )),
    )
