"""leadgen benchmarks (issue #6): `make bench`, or `.venv/bin/python bench/run_bench.py --help`.

Generates marketplaces of 1 M and 10 M leads (≈5 k partners, ≈2 k segments, 365 days) in the bench's
own databases (``leadgen_bench_*``) on the server leadgen resolves, then measures, in one run:

1. incremental daily run: one new day of 30 k leads on top of the history, at 1 M and at 10 M:
   the assignment + stats SQL alone (dbt node execution times) and the whole `leadgen run daily`;
2. the seed's aggregation query (bench/seed_query.sql) vs our model for the same day;
3. full rebuild of assignment + stats over the history vs the floor (a bare group by over
   leads with leads.segment_id precomputed);
4. write-back of every lead from scratch: rows/s, and the longest lock (see BENCHMARKS.md);
5. start-up: embedded server start, dbt invocation overhead, Prefect start, no-op `assign`.

Prints a table (medians of --runs runs) and writes bench/results.json. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from benchlib import (
    BIN,
    WORK_DIR,
    RowWriter,
    TransactionSampler,
    compiled_sql,
    log,
    median,
    run_cli,
    run_dbt,
    scalar,
    sql_conn,
    stopwatch,
)
from leadgen.config import PROJECT_ROOT, Target, resolve_target
from leadgen.db import create_database, drop_database

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
TABLE = BENCH_DIR / "results_table.md"
SEED_QUERY = BENCH_DIR / "seed_query.sql"
DB_PREFIX = "leadgen_bench"
GEN_SEED = 20240601
# The models of "assignment and stats" (their staging/intermediate parents are views or ephemeral).
ASSIGN_STATS_SELECT = ["+lead_segment_assignments", "+lead_generation_stats"]
STATS_MODEL = "lead_generation_stats"
ASSIGN_MODEL = "lead_segment_assignments"


# --- sizes ---------------------------------------------------------------------------------------
def sizes(scale: float) -> dict[str, Any]:
    return {
        "scale": scale,
        "partners": max(60, round(5_000 * scale)),
        "segments_target": max(150, round(2_000 * min(1.0, scale * 10))),
        "days": 365,
        "new_day_leads": max(300, round(30_000 * scale)),
        "histories": {"1m": round(1_000_000 * scale), "10m": round(10_000_000 * scale)},
    }


# --- databases -----------------------------------------------------------------------------------
def db_exists(server: Target, name: str) -> bool:
    with sql_conn(server.with_database("postgres")) as conn:
        return conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None


def template_name(label: str, cfg: dict[str, Any]) -> str:
    return f"{DB_PREFIX}_{label}_s{str(cfg['scale']).replace('.', 'p')}_tpl"


# Bumped when the way templates are built changes: an older template is rebuilt, not reused.
TEMPLATE_VERSION = 2


def _template_ok(server: Target, name: str, leads: int) -> bool:
    if not db_exists(server, name):
        return False
    target = server.with_database(name)
    if not scalar(target, "select to_regclass('public.bench_meta') is not null"):
        return False
    return bool(scalar(
        target, "select leads = %s and (timings ->> 'version')::int = %s from public.bench_meta",
        (leads, TEMPLATE_VERSION),
    ))


def build_template(server: Target, label: str, leads: int, cfg: dict[str, Any], args: argparse.Namespace,
                   base: Target | None = None) -> Target:
    """A generated marketplace kept as a template (reused by later bench runs unless --fresh):
    every measurement runs on a copy of it, and starts with a full rebuild of the models.

    Both have ``leads.segment_id`` pre-written (set-based, not measured: see ``prewrite``), as a
    platform that has been running has; the write-back benchmark resets a slice of it. With
    ``base`` (the 1 M template) and without --generate-all, the larger history is the base
    marketplace with its leads replicated (same partners, segments and mix, each replica with
    its original's segment; see BENCHMARKS.md).
    """
    from leadgen.generate import generate_marketplace
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    name = template_name(label, cfg)
    if not args.fresh and _template_ok(server, name, leads):
        log(f"reusing template {name}")
        return server.with_database(name)
    drop_database(server, name)
    timings: dict[str, Any] = {"version": TEMPLATE_VERSION}
    if base is not None and not args.generate_all:
        base_leads = scalar(base, "select leads from public.bench_meta")
        with stopwatch() as t:
            target = create_database(server, name, template=base.dbname)
            replicate_leads(target, leads // base_leads)
            with sql_conn(target) as conn:  # built for the base's leads only
                conn.execute(f"drop table if exists analytics.{ASSIGN_MODEL}")
        timings.update({"method": f"1 M template x{leads // base_leads} (replicated)", "replicate_s": t()})
    else:
        target = create_database(server, name)
        with stopwatch() as t:
            init_stand_in(target)
            apply_migrations(target)
        timings["schema_s"] = t()
        log(f"{name}: generating {leads:,} leads, {cfg['partners']:,} partners, {cfg['days']} days")
        with stopwatch() as t:
            generate_marketplace(
                target, partners=cfg["partners"], leads=leads, days=cfg["days"], seed=GEN_SEED,
                progress=sys.stderr.isatty(),
            )
        timings.update({"method": "leadgen generate", "generate_s": t()})
        with sql_conn(target) as conn:
            top_up_segments(conn, cfg["segments_target"])
            conn.execute("update public.leads set segment_id = null where segment_id is not null")
        with stopwatch() as t:
            prewrite(target)
        timings["prewrite_s"] = t()
    with sql_conn(target) as conn:
        conn.execute("drop table if exists public.bench_meta")
        conn.execute("select public.refresh_partner_performance_stats()")
        conn.execute("vacuum analyze")
        conn.execute("create table public.bench_meta as select %s::bigint as leads, %s::jsonb as timings",
                     (leads, json.dumps(timings)))
    log(f"{name}: ready ({timings})")
    return target


def prewrite(target: Target) -> None:
    """Set ``leads.segment_id`` to the dbt models' assignment, set-based (template set-up, not
    measured). The assignment mart stays; every measurement starts with a full rebuild."""
    log(f"{target.dbname}: assigning and pre-writing leads.segment_id (template set-up, not measured)")
    with stopwatch() as t:
        run_dbt(target, "seed", "--full-refresh")
        run_dbt(target, "run", "--full-refresh", "--select", "+lead_segment_assignments")
        with sql_conn(target) as conn:
            conn.execute(
                "update public.leads as l set segment_id = a.segment_id "
                "from analytics.lead_segment_assignments as a "
                "where a.lead_id = l.id and a.segment_id is not null and l.segment_id is null"
            )
    log(f"{target.dbname}: pre-written in {t():.0f}s")


def replicate_leads(target: Target, factor: int) -> None:
    """Add ``factor - 1`` copies of every lead (new ids, created_at shifted back by up to a day, the
    same industry, province, postcode, status, partner and segment): ``factor`` x the history."""
    with sql_conn(target) as conn:
        conn.execute("create temporary table bench_original as select * from public.leads")
        # The secondary indexes are built once after the load (as the generator does), not
        # maintained row by row through 9 M inserts.
        indexes = conn.execute(
            "select indexname, indexdef from pg_indexes where schemaname = 'public' "
            "and tablename = 'leads' and indexname not in "
            "(select conname from pg_constraint where conrelid = 'public.leads'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'drop index public."{name}"')
        for r in range(1, factor):
            with stopwatch() as t:
                conn.execute(_REPLICATE_SQL, {"r": r})
            log(f"{target.dbname}: replica {r}/{factor - 1} in {t():.0f}s")
        with stopwatch() as t:
            for _, indexdef in indexes:
                conn.execute(indexdef)
        log(f"{target.dbname}: {len(indexes)} secondary indexes of leads rebuilt in {t():.0f}s")


_REPLICATE_SQL = """
insert into public.leads (id, created_at, updated_at, industry_id, province, postcode, city, status,
                          partner_id, assigned_at, customer_name, description, segment_id)
select gen_random_uuid(), l.created_at - s.shift, l.updated_at - s.shift, l.industry_id, l.province,
       l.postcode, l.city, l.status, l.partner_id, l.assigned_at - s.shift, l.customer_name, l.description,
       l.segment_id
from pg_temp.bench_original as l
cross join lateral (
    select mod(%(r)s::bigint * 7919 + abs(hashtext(l.id::text)::bigint), 1440)
        * interval '1 minute' as shift
) as s
"""


def top_up_segments(conn: psycopg.Connection, wanted: int) -> None:
    """Add active municipality segments (branches x municipalities that have leads) until the
    marketplace has about ``wanted`` segments, the issue's ≈2 k at full size."""
    have = conn.execute("select count(*) from public.lead_segments").fetchone()[0]  # type: ignore[index]
    if have >= wanted:
        return
    # Municipalities by size (number of PC4 codes), the biggest first.
    pc4s: dict[str, int] = {}
    for line in (PROJECT_ROOT / "seeds/regions/region_pc4_ranges.csv").read_text().splitlines()[1:]:
        lo, hi, muni = line.split(",")[:3]
        pc4s[muni] = pc4s.get(muni, 0) + int(hi) - int(lo) + 1
    municipalities = sorted(pc4s, key=lambda m: (-pc4s[m], m))
    branches = [r[0] for r in conn.execute("select distinct branch from public.lead_segments order by 1")]
    pairs = [(b, m) for m in municipalities for b in branches]
    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.lead_segments (branch, region, is_active) values (%s, %s, true) "
            "on conflict do nothing",
            pairs[: max(0, wanted - have)],
        )


def work_copy(server: Target, template: Target, label: str) -> Target:
    name = f"{DB_PREFIX}_{label}_work"
    drop_database(server, name)
    with stopwatch() as t:
        target = create_database(server, name, template=template.dbname)
    log(f"{name}: copied from template in {t():.1f}s")
    from leadgen.migrate import apply_migrations

    apply_migrations(target)  # migrations added since the template was generated
    return target


# --- workload ------------------------------------------------------------------------------------
NEW_DAY_SQL = """
-- A new batch of leads: created within the last 24 h, drawn from the history's own mix of
-- industries, provinces and postcodes (messy forms included), status new.
insert into public.leads (created_at, industry_id, province, postcode, city, status)
select
    now() - random() * interval '23 hours',
    s.industry_id, s.province, s.postcode, s.city, 'new'
from (
    select industry_id, province, postcode, city
    from public.leads tablesample system (5)
    limit %(n)s
) as s
"""

STATUS_MOVES_SQL = """
-- Statuses move after the day: a share of the last 10 days' open leads gets accepted or rejected.
update public.leads
set status = case when random() < 0.6 then 'accepted' else 'rejected' end
where id in (
    select id from public.leads
    where created_at >= now() - interval '10 days' and status in ('new', 'pending')
    order by id
    limit %(n)s
)
"""


def add_new_day(target: Target, n: int) -> None:
    with sql_conn(target) as conn:
        got = 0
        while got < n:  # tablesample may return fewer rows than asked on small tables
            cur = conn.execute(NEW_DAY_SQL, {"n": n - got})
            got += cur.rowcount
        conn.execute(STATUS_MOVES_SQL, {"n": n // 3})
        conn.execute("analyze public.leads")


def write_back(target: Target, *, full: bool = False) -> int:
    from leadgen.writeback import write_back_segments

    return write_back_segments(target, full=full)  # the flows' default batch size


# --- measurements --------------------------------------------------------------------------------
def measure_full_rebuild(target: Target, runs: int) -> dict[str, Any]:
    run_dbt(target, "seed", "--full-refresh")
    sql_s, walls, per_node = [], [], []
    for _ in range(runs):
        r = run_dbt(target, "run", "--full-refresh", "--select", *ASSIGN_STATS_SELECT)
        sql_s.append(r.sql_seconds())
        walls.append(r.wall_s)
        per_node.append(r.nodes)
    return {"sql_s": median(sql_s), "dbt_wall_s": median(walls), "runs_sql_s": sql_s,
            "nodes_last_run": per_node[-1]}


def measure_floor(target: Target, runs: int) -> dict[str, Any]:
    floor_sql = """
        create temporary table bench_floor as
        select
            segment_id,
            (created_at at time zone 'Europe/Amsterdam')::date as day,
            count(*) as leads_generated,
            count(*) filter (where status = 'accepted') as leads_accepted,
            count(*) filter (where status = 'rejected') as leads_rejected,
            count(*) filter (where status in ('new', 'pending')) as leads_pending
        from public.leads
        where segment_id is not null
        group by 1, 2
    """
    times = []
    for _ in range(runs):
        with sql_conn(target) as conn, stopwatch() as t:
            conn.execute(floor_sql)
        times.append(t())
    return {"floor_s": median(times), "runs_s": times}


def measure_mart_write(target: Target) -> dict[str, Any]:
    """What a full rebuild of the assignment mart costs before it computes anything: its rows
    copied as they are into a new table of the same columns (logged, as dbt's is), then the same
    indexes built on it. One run: a reference for the full rebuild, not a headline."""
    copy = "bench_mart_write"
    with sql_conn(target) as conn:
        conn.execute(f"drop table if exists analytics.{copy}")
        indexes = [r[0] for r in conn.execute(
            "select indexdef from pg_indexes where schemaname = 'analytics' and tablename = %s",
            (ASSIGN_MODEL,))]
        with stopwatch() as t_rows:
            conn.execute(f"create table analytics.{copy} (like analytics.{ASSIGN_MODEL})")
            conn.execute(f"insert into analytics.{copy} select * from analytics.{ASSIGN_MODEL}")
        with stopwatch() as t_indexes:
            for i, indexdef in enumerate(indexes):  # CREATE [UNIQUE] INDEX <name> ON <table> USING ...
                head, rest = indexdef.split(" ON ", 1)
                head = head.rsplit(" ", 1)[0]
                conn.execute(f"{head} {copy}_{i} ON analytics.{copy} {rest.split(' ', 1)[1]}")
        size = conn.execute(f"select pg_total_relation_size('analytics.{copy}')").fetchone()[0]  # type: ignore[index]
        conn.execute(f"drop table analytics.{copy}")
    return {"rows_s": t_rows(), "indexes_s": t_indexes(), "total_s": t_rows() + t_indexes(),
            "indexes": len(indexes), "bytes": size}


WRITEBACK_SLICE = 250_000


def measure_writeback(target: Target, slice_rows: int) -> dict[str, Any]:
    """The batched write-back from scratch for a slice of the history, with a concurrent writer and
    the transaction sampler: the first ``slice_rows`` assigned leads (in lead_id order) are reset to
    NULL, then ``write_back_segments(full=True)`` compares every lead and writes the slice back."""
    with sql_conn(target) as conn, stopwatch() as t:
        reset = conn.execute(
            "update public.leads set segment_id = null where id in "
            "(select id from public.leads where segment_id is not null order by id limit %s)",
            (slice_rows,),
        ).rowcount
        conn.execute("vacuum analyze public.leads")
    log(f"{target.dbname}: reset {reset:,} leads to segment_id NULL in {t():.0f}s")
    sample = "select id::text from public.leads tablesample system (1) limit 50000"
    ids = [r[0] for r in _rows(target, sample)]
    sampler = TransactionSampler(target)
    writer = RowWriter(target, ids, rate_per_s=200)
    sampler.start()
    writer.start()
    try:
        with stopwatch() as t:
            changed = write_back(target, full=True)
    finally:
        writer.stop()
        sampler.stop()
    txs = sampler.transactions
    writes = sampler.write_phases
    lat = sorted(writer.latencies_ms)
    return {
        "slice_reset_rows": reset,
        "rows_changed": changed,
        "seconds": t(),
        "rows_per_s": changed / t() if t() else None,
        "transactions_seen": len(txs),
        "max_lock_ms": max(writes) if writes else None,
        "p99_lock_ms": writes[int(0.99 * (len(writes) - 1))] if writes else None,
        "median_lock_ms": median(writes),
        "write_transactions_seen": len(writes),
        "max_tx_ms": max(txs) if txs else None,
        "p99_tx_ms": txs[int(0.99 * (len(txs) - 1))] if txs else None,
        "median_tx_ms": median(txs),
        "writer_statements": len(lat),
        "writer_errors": len(writer.errors),
        "writer_error_samples": writer.errors[:3],
        "writer_max_ms": lat[-1] if lat else None,
        "writer_p99_ms": lat[int(0.99 * (len(lat) - 1))] if lat else None,
        "sampler_samples": sampler.samples,
    }


WRITEBACK_LOG = re.compile(r"write-back: (\d+) leads changed in ([0-9.]+) s")  # the flow's task log


def assign_stats_models(manifest_path: Path) -> tuple[set[str], set[str]]:
    """The models ``+lead_segment_assignments +lead_generation_stats`` selects: the assignment
    and stats SQL (staging views, intermediate views and the two marts with their parents), and
    of those the ones that store rows (tables and incremental models, not views)."""
    manifest = json.loads(manifest_path.read_text())
    todo = [f"model.leadgen.{ASSIGN_MODEL}", f"model.leadgen.{STATS_MODEL}"]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen or not uid.startswith("model."):
            continue
        seen.add(uid)
        todo.extend(manifest["parent_map"].get(uid, []))
    stored = {uid for uid in seen if manifest["nodes"][uid]["config"]["materialized"] != "view"}
    return {uid.split(".")[-1] for uid in seen}, {uid.split(".")[-1] for uid in stored}


def daily_run(target: Target) -> dict[str, Any]:
    """One ``leadgen run daily`` (a fresh process, as the schedule starts it), timed whole, with
    the node times of its dbt build (from its run_results.json) and its write-back time (its log)."""
    tpath = WORK_DIR / f"daily_{target.dbname}"
    shutil.rmtree(tpath, ignore_errors=True)
    wall, result = run_cli(target, "run", "daily", env={"DBT_TARGET_PATH": str(tpath)})
    # kept for a look afterwards: the flow's output and its dbt run_results, one pair per run
    stamp = f"{target.dbname}_{time.strftime('%H%M%S')}"
    (WORK_DIR / f"daily_{stamp}.log").write_text(result.stdout + result.stderr)
    shutil.copy(tpath / "run_results.json", WORK_DIR / f"daily_{stamp}_run_results.json")
    # daily builds in two parts: the assignment part's results are kept beside the marts part's
    parts = (tpath / "run_results.assignment.json", tpath / "run_results.json")
    results = [json.loads(path.read_text()).get("results", []) for path in parts if path.exists()]
    run_results = {"results": [r for part in results for r in part]}
    nodes = {
        r["unique_id"].split(".")[-1]: float(r.get("execution_time") or 0.0)
        for r in run_results["results"]
        if r["unique_id"].startswith("model.")
    }
    models, stored = assign_stats_models(tpath / "manifest.json")
    found = WRITEBACK_LOG.findall(result.stdout + result.stderr)
    return {
        "daily_flow_s": wall,
        "sql_s": sum(t for name, t in nodes.items() if name in models),
        "tables_sql_s": sum(t for name, t in nodes.items() if name in stored),
        "dbt_nodes_s": sum(float(r.get("execution_time") or 0.0) for r in run_results["results"]),
        "writeback_s": float(found[-1][1]) if found else None,
        "writeback_rows": int(found[-1][0]) if found else None,
        "nodes": {name: t for name, t in nodes.items() if name in models},
    }


def measure_incremental(target: Target, cfg: dict[str, Any], runs: int) -> dict[str, Any]:
    """``runs`` days: each adds a new day of leads and status moves, then runs ``leadgen run daily``.
    *SQL alone* = the node times of the assignment and stats models in that run's dbt build."""
    per_run = []
    for _ in range(runs):
        add_new_day(target, cfg["new_day_leads"])
        per_run.append(daily_run(target))
    sql_s = [r["sql_s"] for r in per_run]
    tables_s = [r["tables_sql_s"] for r in per_run]
    wb_s = [r["writeback_s"] or 0.0 for r in per_run]
    return {
        "sql_s": median(sql_s),
        "tables_sql_s": median(tables_s),
        "writeback_s": median(wb_s),
        "sql_plus_writeback_s": median([a + b for a, b in zip(sql_s, wb_s, strict=True)]),
        "daily_flow_s": median([r["daily_flow_s"] for r in per_run]),
        "runs_sql_s": sql_s,
        "runs_tables_sql_s": tables_s,
        "runs_writeback_s": wb_s,
        "runs_writeback_rows": [r["writeback_rows"] for r in per_run],
        "runs_daily_flow_s": [r["daily_flow_s"] for r in per_run],
        "runs_dbt_nodes_s": [r["dbt_nodes_s"] for r in per_run],
        "nodes_last_run": per_run[-1]["nodes"],
    }


def measure_seed_vs_ours(target: Target, runs: int) -> dict[str, Any]:
    day = scalar(target, "select (current_date - 1)::text")
    seed_sql = SEED_QUERY.read_text()
    seed_times, ours_times, ours_node_times = [], [], []
    for _ in range(runs):
        with sql_conn(target, autocommit=False) as conn:
            conn.execute(
                "create temporary table lead_generation_stats (segment_id uuid, date date, "
                "leads_generated bigint, leads_accepted bigint, leads_rejected bigint, leads_pending bigint, "
                "capacity_partners bigint, capacity_total_leads bigint) on commit drop"
            )
            with stopwatch() as t:
                conn.execute(seed_sql)  # type: ignore[arg-type]
            seed_times.append(t())
            seed_rows = conn.execute(
                "select count(*), coalesce(sum(leads_generated), 0) from pg_temp.lead_generation_stats"
            ).fetchone()
            conn.rollback()
        r = run_dbt(target, "run", "--select", STATS_MODEL,
                    vars_={"stats_start_date": day, "stats_end_date": day})
        # Ours as the seed's is measured: the database time of the statements (the model's delete
        # of the day, select into a temporary relation, insert, hooks), and beside it dbt's node
        # time, which adds dbt's own Python work between them (~0.3 s whatever the SQL).
        ours_times.append(r.statements[STATS_MODEL])
        ours_node_times.append(r.nodes[STATS_MODEL])
    true_leads = scalar(target, "select count(*) from public.leads where segment_id is not null "
                                "and date(created_at) = current_date - interval '1 day'")
    ours_total = scalar(target, "select coalesce(sum(leads_generated), 0) "
                                "from analytics.lead_generation_stats where date = %s::date", (day,))
    seed_total = int(seed_rows[1]) if seed_rows else 0
    return {
        "day": day,
        "seed_s": median(seed_times), "ours_s": median(ours_times),
        "ours_node_s": median(ours_node_times),
        "runs_seed_s": seed_times, "runs_ours_s": ours_times, "runs_ours_node_s": ours_node_times,
        "seed_rows": int(seed_rows[0]) if seed_rows else 0,
        "seed_leads_generated": seed_total,
        "true_leads_utc_day": int(true_leads or 0),
        "ours_leads_generated_amsterdam_day": int(ours_total or 0),
        "seed_overcount_factor": seed_total / true_leads if true_leads else None,
    }


def measure_backfill(target: Target, runs: int) -> dict[str, Any]:
    """A year of stats recounted two ways, timed whole as a user runs them: one `dbt run` of the
    stats model over the range (--vars), and `leadgen backfill` over the same range (chunks of
    92 days, one parse, then the stats' tests)."""
    end = scalar(target, "select ((now() at time zone 'Europe/Amsterdam')::date - 1)::text")
    start = scalar(target, "select (%s::date - 364)::text", (end,))
    dbt_times, backfill_times = [], []
    for _ in range(runs):
        run = run_dbt(target, "run", "--select", STATS_MODEL,
                      vars_={"stats_start_date": start, "stats_end_date": end})
        dbt_times.append(run.wall_s)
        wall, _ = run_cli(target, "backfill", "--start", start, "--end", end, "--yes")
        backfill_times.append(wall)
    return {
        "start": start, "end": end, "days": 365,
        "dbt_run_s": median(dbt_times), "backfill_s": median(backfill_times),
        "runs_dbt_run_s": dbt_times, "runs_backfill_s": backfill_times,
    }


def measure_startup(target: Target, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Embedded PostgreSQL start from stopped, on a private state directory.
    from leadgen.embedded import EmbeddedPostgres

    state = Path(tempfile.mkdtemp(prefix="leadgen_bench_pg_"))
    server = EmbeddedPostgres(state)
    try:
        with stopwatch() as t:
            server.start()
        out["embedded_first_start_incl_initdb_s"] = t()
        starts = []
        for _ in range(runs):
            server.stop()
            with stopwatch() as t:
                server.start()
            starts.append(t())
        out["embedded_start_s"] = median(starts)
    finally:
        server.stop()
        shutil.rmtree(server.fallback_dir, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
    # dbt invocation overhead: wall time of a dbt run minus its nodes' execution time.
    overheads = []
    for _ in range(runs):
        r = run_dbt(target, "run", "--select", ASSIGN_MODEL)
        overheads.append(r.wall_s - r.sql_seconds())
    out["dbt_overhead_s"] = median(overheads)
    # Python + Prefect start: a trivial flow run in a fresh interpreter, reporting to the bench's
    # Prefect server (as scheduled runs do) and with no PREFECT_API_URL (a temporary server each time).
    code = ("from prefect import flow\n@flow(log_prints=False)\ndef noop():\n    return 1\nnoop()\n")
    base_env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # Prefect's temporary server must come up within 20 s by default, which a busy 2-core machine
    # does not always manage (then the flow run fails): allow 120 s here.
    no_server = {**base_env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                 "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
    with_server = {**no_server, "PREFECT_API_URL": os.environ.get("PREFECT_API_URL", "")}
    timings: dict[str, list[float]] = {"python_cli_import_s": [], "prefect_flow_start_s": [],
                                       "prefect_flow_start_temporary_server_s": []}
    for _ in range(runs):
        for key, cmd, env in (
            ("python_cli_import_s", "import leadgen.cli", no_server),
            ("prefect_flow_start_s", code, with_server),
            ("prefect_flow_start_temporary_server_s", code, no_server),
        ):
            with stopwatch() as t:
                subprocess.run([str(BIN / "python"), "-c", cmd], env=env, check=True, capture_output=True)
            timings[key].append(t())
    out.update({key: median(values) for key, values in timings.items()})
    # A no-op assign (nothing new since the last run), with the bench's Prefect server and without.
    run_cli(target, "run", "assign")
    walls, walls_no_server = [], []
    for _ in range(runs):
        walls.append(run_cli(target, "run", "assign")[0])
        walls_no_server.append(run_cli(target, "run", "assign", env={"PREFECT_API_URL": ""})[0])
    out["noop_assign_s"] = median(walls)
    out["runs_noop_assign_s"] = walls
    out["noop_assign_temporary_server_s"] = median(walls_no_server)
    return out


def explain_slowest(target: Target, nodes: dict[str, float], label: str, out_dir: Path, top: int = 3,
                    target_path: Path | None = None) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest models' compiled select (read-only: the select
    alone, not the materialisation; an incremental select is re-run after its run), written to
    ``out_dir`` (bench/explain/ at full size)."""
    out_dir.mkdir(exist_ok=True)
    plans = {}
    for model, _ in sorted(nodes.items(), key=lambda kv: -kv[1])[:top]:
        if "." in model:
            continue
        try:
            select = compiled_sql(target, model, target_path)
        except FileNotFoundError:
            continue
        with sql_conn(target) as conn:
            rows = conn.execute(f"explain (analyze, buffers, verbose off) {select}").fetchall()  # type: ignore[arg-type]
        text = "\n".join(r[0] for r in rows)
        path = out_dir / f"{label}_{model}.txt"
        path.write_text(text + "\n")
        plans[model] = str(path.relative_to(PROJECT_ROOT))
    return plans


def _rows(target: Target, query: str) -> list[tuple[Any, ...]]:
    with sql_conn(target) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


# --- the run -------------------------------------------------------------------------------------
@contextmanager
def prefect_server() -> Iterator[None]:
    """One Prefect server (temporary, SQLite) for the whole bench, as scheduled runs have one: the
    flows it starts report to it (``PREFECT_API_URL``) instead of each starting its own. What a
    start without a server costs is measured separately (start-up)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        os.environ["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
        try:
            yield
        finally:
            os.environ.pop("PREFECT_API_URL", None)


def machine() -> dict[str, Any]:
    def sh(cmd: str) -> str:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False).stdout.strip()

    return {"nproc": sh("nproc"), "free_g": sh("free -g"), "kernel": platform.release(),
            "python": platform.python_version(), "cpu": sh("grep -m1 'model name' /proc/cpuinfo")}


def code_commit() -> str:
    """The commit the measured code is at, ``+changes`` when the code (not results) differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    changed = git("status", "--porcelain", "--", "flows", "models", "macros", "seeds", "migrations",
                  "dbt_project.yml", "profiles.yml", "bench/*.py", "bench/*.sql")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + ("+changes" if changed else "")


def bench_size(server: Target, label: str, template: Target, cfg: dict[str, Any], args: argparse.Namespace,
               results: dict[str, Any]) -> None:
    work = work_copy(server, template, label)
    res: dict[str, Any] = {"history_leads": scalar(work, "select count(*) from public.leads")}
    res["template"] = _rows(template, "select timings from public.bench_meta")[0][0]
    res["segments"] = scalar(work, "select count(*) from public.lead_segments")
    res["active_segments"] = scalar(work, "select count(*) from public.lead_segments where is_active")
    res["partners"] = scalar(work, "select count(*) from public.profiles where not is_admin")
    # Order matters: the write-back from scratch bumps leads.updated_at of its slice, which the
    # next incremental assignment re-reads (late-commit margin), so it runs after the daily runs;
    # the warm-up day moves the assignment watermark past the full rebuild's set-up.
    steps: list[tuple[str, str, Callable[[], Any]]] = [
        ("full_rebuild", "full rebuild of assignment + stats",
         lambda: measure_full_rebuild(work, args.full_runs or args.runs)),
        ("floor", "floor (bare group by over leads.segment_id)", lambda: measure_floor(work, args.runs)),
        ("mart_write", "the assignment mart's rows and indexes written with nothing computed (1 run)",
         lambda: measure_mart_write(work)),
        ("warm_up", "warm-up day (first daily after the full rebuild; not counted)",
         lambda: measure_incremental(work, cfg, 1)),
        ("incremental", f"incremental days (one new day of {cfg['new_day_leads']:,} leads each)",
         lambda: measure_incremental(work, cfg, args.runs)),
        ("seed_vs_ours", "seed SQL vs ours for yesterday", lambda: measure_seed_vs_ours(work, args.runs)),
    ]
    if label == "1m":
        steps.append(("backfill", "a year of stats: one dbt run vs leadgen backfill",
                      lambda: measure_backfill(work, args.runs)))
    if label == "1m" and not args.skip_startup:
        steps.append(("startup", "start-up costs", lambda: measure_startup(work, args.runs)))
    slice_rows = min(WRITEBACK_SLICE, round(WRITEBACK_SLICE * cfg["scale"] * 4))
    steps.append(("writeback", f"write-back from scratch of {slice_rows:,} leads with a concurrent writer",
                  lambda: measure_writeback(work, slice_rows)))
    if args.only:
        steps = [step for step in steps if step[0] in args.only.split(",")]
    try:
        for key, what, step in steps:
            log(f"{label}: {what}")
            try:
                res[key] = step()
            except Exception as exc:  # a failed step is reported, the others still run
                res[key] = {"error": " ".join(str(exc).split())[:2000]}
                log(f"{label}: {key} FAILED: {res[key]['error'][:300]}")
                continue
            if args.explain and key in ("full_rebuild", "incremental"):
                daily_path = WORK_DIR / f"daily_{work.dbname}" if key == "incremental" else None
                res[f"explain_{key}"] = explain_slowest(
                    work, res[key]["nodes_last_run"], f"{label}_{key}",
                    scaled_path(BENCH_DIR / "explain", args.scale), target_path=daily_path)
    finally:
        results["sizes"][label] = res
        if not args.keep_work:
            drop_database(server, work.dbname)


GOALS = {  # the issues' headline figures and their goals (also at the top of results.json)
    "incremental_10m_over_1m": "<= 1.2",
    "seed_sql_over_ours": ">= 10",
    "full_rebuild_over_floor": "<= 3",
    "writeback_max_lock_ms": "<= 200",
    "backfill_year_over_dbt_run": "<= 3",
}


def set_headline(results: dict[str, Any]) -> None:
    """``results["headline"]`` (every ratio) and the goal figures at the top level as numbers
    (null when not measured)."""
    results["headline"] = headline(results)
    for key in GOALS:
        results[key] = results["headline"].get(key)
    results["goals"] = GOALS


def headline(results: dict[str, Any]) -> dict[str, Any]:
    s = results["sizes"]
    h: dict[str, Any] = {}

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    def done(size: dict[str, Any], key: str) -> bool:
        return isinstance(size.get(key), dict) and "error" not in size[key]

    one, ten = s.get("1m", {}), s.get("10m", {})
    if done(one, "incremental") and done(ten, "incremental"):
        h["incremental_10m_over_1m"] = ratio(ten["incremental"]["sql_s"], one["incremental"]["sql_s"])
        h["incremental_tables_10m_over_1m"] = ratio(
            ten["incremental"].get("tables_sql_s"), one["incremental"].get("tables_sql_s"))
        h["incremental_sql_plus_writeback_10m_over_1m"] = ratio(
            ten["incremental"]["sql_plus_writeback_s"], one["incremental"]["sql_plus_writeback_s"])
        h["incremental_daily_flow_10m_over_1m"] = ratio(
            ten["incremental"]["daily_flow_s"], one["incremental"]["daily_flow_s"])

    def largest(key: str) -> dict[str, Any]:  # the largest history that has this measurement
        return ten if done(ten, key) else one

    big = largest("seed_vs_ours")
    if done(big, "seed_vs_ours"):
        h["seed_sql_over_ours"] = ratio(big["seed_vs_ours"]["seed_s"], big["seed_vs_ours"]["ours_s"])
        if big["seed_vs_ours"].get("ours_node_s"):
            h["seed_sql_over_ours_dbt_node"] = ratio(
                big["seed_vs_ours"]["seed_s"], big["seed_vs_ours"]["ours_node_s"])
        h["seed_overcount_factor"] = big["seed_vs_ours"]["seed_overcount_factor"]
    big = ten if done(ten, "full_rebuild") and done(ten, "floor") else one
    if done(big, "full_rebuild") and done(big, "floor"):
        h["full_rebuild_over_floor"] = ratio(big["full_rebuild"]["sql_s"], big["floor"]["floor_s"])
        if done(big, "mart_write"):
            h["mart_write_over_floor"] = ratio(big["mart_write"]["total_s"], big["floor"]["floor_s"])
    if done(one, "backfill"):
        h["backfill_year_over_dbt_run"] = ratio(one["backfill"]["backfill_s"], one["backfill"]["dbt_run_s"])
    big = largest("writeback")
    if done(big, "writeback"):
        wb = big["writeback"]
        h["writeback_max_lock_ms"] = round(wb["max_lock_ms"], 1) if wb["max_lock_ms"] is not None else None
        h["writeback_rows_per_s"] = round(wb["rows_per_s"] or 0)
        h["writeback_writer_max_ms"] = round(wb["writer_max_ms"], 1) if wb["writer_max_ms"] else None
    return h


def scaled_path(path: Path, scale: float) -> Path:
    """Where a run at ``scale`` writes what a full-size run writes to ``path``: the same path at
    full size, ``<stem>.scale<scale><suffix>`` otherwise, so a quick check never overwrites the
    committed results (bench/results.json, results_table.md, explain/)."""
    return path if scale == 1.0 else path.with_name(f"{path.stem}.scale{scale}{path.suffix}")


def print_table(results: dict[str, Any], table: Path) -> None:
    s = results["sizes"]
    rows: list[tuple[str, str, str]] = []

    def f(v: Any, unit: str = "s") -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.2f} {unit}".strip()
        return f"{v:,} {unit}".strip()

    def get(size: str, *path: str) -> Any:
        cur: Any = s.get(size, {})
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        return cur

    spec = [
        ("history leads", ("history_leads",), ""),
        ("segments (active)", ("active_segments",), ""),
        ("1. incremental day: assignment+stats SQL", ("incremental", "sql_s"), "s"),
        ("1. … of which the models that store rows (not views)", ("incremental", "tables_sql_s"), "s"),
        ("1. incremental day: write-back", ("incremental", "writeback_s"), "s"),
        ("1. incremental day: whole `leadgen run daily`", ("incremental", "daily_flow_s"), "s"),
        ("2. seed query, yesterday", ("seed_vs_ours", "seed_s"), "s"),
        ("2. our stats model, same day: its SQL statements", ("seed_vs_ours", "ours_s"), "s"),
        ("2. our stats model, same day: dbt node time", ("seed_vs_ours", "ours_node_s"), "s"),
        ("2. seed leads_generated / true leads", ("seed_vs_ours", "seed_overcount_factor"), "x"),
        ("3. full rebuild assignment+stats SQL", ("full_rebuild", "sql_s"), "s"),
        ("3. floor: bare group by", ("floor", "floor_s"), "s"),
        ("3. writing the assignment mart's rows + indexes alone (1 run)", ("mart_write", "total_s"), "s"),
        ("6. a year of stats: one `dbt run` over the range", ("backfill", "dbt_run_s"), "s"),
        ("6. a year of stats: `leadgen backfill` (4 chunks, tests)", ("backfill", "backfill_s"), "s"),
        ("4. write-back from scratch: leads written", ("writeback", "rows_changed"), ""),
        ("4. write-back from scratch: rows/s", ("writeback", "rows_per_s"), ""),
        ("4. longest row lock (a batch's UPDATE + commit)", ("writeback", "max_lock_ms"), "ms"),
        ("4. median row lock", ("writeback", "median_lock_ms"), "ms"),
        ("4. writer's slowest update (200 tx/s)", ("writeback", "writer_max_ms"), "ms"),
        ("4. writer's errors", ("writeback", "writer_errors"), ""),
        ("5. embedded PostgreSQL start", ("startup", "embedded_start_s"), "s"),
        ("5. dbt invocation overhead", ("startup", "dbt_overhead_s"), "s"),
        ("5. Python + Prefect flow start (server running)", ("startup", "prefect_flow_start_s"), "s"),
        ("5. Python + Prefect flow start (temporary server)",
         ("startup", "prefect_flow_start_temporary_server_s"), "s"),
        ("5. no-op `leadgen run assign` (server running)", ("startup", "noop_assign_s"), "s"),
        ("5. no-op `leadgen run assign` (temporary server)",
         ("startup", "noop_assign_temporary_server_s"), "s"),
    ]
    for name, path, unit in spec:
        rows.append((name, f(get("1m", *path), unit), f(get("10m", *path), unit)))
    table.write_text(
        "| measure | 1 M | 10 M |\n|---|---:|---:|\n"
        + "".join(f"| {name} | {a} | {b} |\n" for name, a, b in rows)
    )
    w = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(w)} | {'1 M':>14} | {'10 M':>14}")
    print(f"{'-' * w}-+-{'-' * 14}-+-{'-' * 14}")
    for name, a, b in rows:
        print(f"{name.ljust(w)} | {a:>14} | {b:>14}")
    print("\nheadline:", json.dumps(results["headline"], indent=2))
    print("goals:", ", ".join(f"{k} = {results['headline'].get(k)} (goal {g})" for k, g in GOALS.items()))


def merge(files: list[Path], output: Path) -> int:
    """One results file (and table) from runs that measured the sizes separately."""
    parts = [json.loads(f.read_text()) for f in files]
    results = {**parts[0], "sizes": {}, "merged_from": [
        {"file": f.name, "started_at": p["started_at"], "runs": p["runs"], "total_s": p.get("total_s")}
        for f, p in zip(files, parts, strict=True)]}
    for part in parts:  # a measured value is kept; a later file fills what is missing or failed
        for label, values in part["sizes"].items():
            size = results["sizes"].setdefault(label, {})
            for key, value in values.items():
                if key not in size or (isinstance(size[key], dict) and "error" in size[key]):
                    size[key] = value
                    if len(parts) > 1 and part is not parts[0] and key not in ("history_leads",):
                        size.setdefault("filled_from", {})[key] = part["started_at"]
    set_headline(results)
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results, TABLE)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.01 for a quick run)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (median reported)")
    p.add_argument("--full-runs", type=int, default=0,
                   help="runs of the full rebuild (default: --runs)")
    p.add_argument("--sizes", default="1m,10m", help="which histories: 1m, 10m or both")
    p.add_argument("--fresh", action="store_true", help="regenerate the template databases")
    p.add_argument("--generate-all", action="store_true",
                   help="generate the 10 M history with `leadgen generate` instead of replicating 1 M")
    p.add_argument("--keep-work", action="store_true", help="keep the work databases for inspection")
    p.add_argument("--drop-templates", action="store_true", help="drop the generated templates at the end")
    p.add_argument("--explain", action="store_true", help="write EXPLAIN (ANALYZE, BUFFERS) of slow models")
    p.add_argument("--only", default="", help="comma-separated steps to run (full_rebuild, floor, "
                   "mart_write, warm_up, incremental, seed_vs_ours, backfill, startup, writeback)")
    p.add_argument("--prepare-only", action="store_true", help="only build the template databases")
    p.add_argument("--skip-startup", action="store_true", help="skip the start-up measurements (item 5)")
    p.add_argument("--output", type=Path, default=None, help="results file (default bench/results.json, "
                   "or bench/results.scale<scale>.json when --scale is not 1; the table and the "
                   "explain folder are named likewise)")
    p.add_argument("--merge", nargs="+", type=Path, default=None,
                   help="combine the results files of separate --sizes runs into --output (no measuring)")
    args = p.parse_args(argv)

    if args.merge:
        return merge(args.merge, args.output or RESULTS)
    cfg = sizes(args.scale)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    server = resolve_target()
    with psycopg.connect(server.conninfo) as conn:
        pg_version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": cfg, "runs": args.runs, "machine": {**machine(), "postgresql": pg_version},
        "server": server.url(), "code_commit": code_commit(), "sizes": {},
    }
    output = args.output or scaled_path(RESULTS, args.scale)
    if args.explain:  # the folder holds this run's plans only, not a mix with earlier runs'
        for stale in scaled_path(BENCH_DIR / "explain", args.scale).glob("*.txt"):
            stale.unlink()
    t0 = time.perf_counter()
    try:
        labels = [x.strip() for x in args.sizes.split(",") if x.strip()]
        base = build_template(server, "1m", cfg["histories"]["1m"], cfg, args)
        templates = {"1m": base}
        if "10m" in labels:
            templates["10m"] = build_template(server, "10m", cfg["histories"]["10m"], cfg, args, base=base)
        if not args.prepare_only:
            with prefect_server():
                for label in labels:
                    bench_size(server, label, templates[label], cfg, args, results)
    finally:
        set_headline(results)
        results["total_s"] = round(time.perf_counter() - t0, 1)
        if not args.prepare_only:
            output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        if args.drop_templates:
            for label in cfg["histories"]:
                drop_database(server, template_name(label, cfg))
    if args.prepare_only:
        log(f"templates ready in {results['total_s']:.0f}s")
        return 0
    print_table(results, scaled_path(TABLE, args.scale))
    log(f"done in {results['total_s']:.0f}s; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
