"""The dbt segment marts on a generated marketplace, checked against recounts in plain SQL.

One shared ``dbt build`` (``built_platform_db``) for the read-only checks; one ``dbt run`` of the
capacity chain on the comma-separated-regions variant; one incremental ``dbt build`` on a copy
after a write-back, a late status change and a new lead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.writeback import write_back_segments
from recount import STATS_RECOUNT_MISMATCHES

TZ = "Europe/Amsterdam"


def rows(target: Target, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with connect(target) as conn:
        return conn.execute(query, params or {}).fetchall()  # type: ignore[arg-type]


def scalar(target: Target, query: str, params: dict[str, Any] | None = None) -> Any:
    return rows(target, query, params)[0][0]


ASSIGNMENTS = """
    select lead_id, segment_id, branch, region_code, region_source, is_region_conflict,
           unmatched_reason, assigned_at
    from analytics.lead_segment_assignments order by lead_id
"""
STATS = """
    select segment_id, date, leads_generated, leads_accepted, leads_rejected, leads_pending,
           capacity_partners, capacity_total_leads, acceptance_rate
    from analytics.lead_generation_stats order by segment_id, date
"""


# --- read-only checks on the shared build -------------------------------------------------


def test_every_lead_assigned_exactly_once_with_a_consistent_reason(built_platform_db: Target) -> None:
    n_leads, n_rows, n_distinct, n_matched = rows(
        built_platform_db,
        """
        select
            (select count(*) from public.leads),
            count(*), count(distinct lead_id), count(segment_id)
        from analytics.lead_segment_assignments
        """,
    )[0]
    assert n_rows == n_distinct == n_leads
    assert 0 < n_matched < n_leads  # the generator makes both matched and unmatched leads
    reasons = dict(
        rows(
            built_platform_db,
            "select unmatched_reason, count(*) from analytics.lead_segment_assignments"
            " where segment_id is null group by 1",
        )
    )
    assert set(reasons) == {"unknown_industry", "no_region", "no_active_segment"}


def test_clean_postcodes_resolve_to_the_municipality_of_the_pc4_seed(built_platform_db: Target) -> None:
    # Independent of the models: a direct range join on the seed for textbook postcodes.
    checked, wrong = rows(
        built_platform_db,
        """
        select count(*), count(*) filter (
            where a.region_code is distinct from r.municipality_code or a.region_source <> 'postcode'
        )
        from public.leads as l
        inner join analytics.lead_segment_assignments as a on a.lead_id = l.id
        inner join seeds.region_pc4_ranges as r
            on substring(l.postcode from '^([1-9][0-9]{3}) ?[A-Z]{2}$')::int between r.pc4_from and r.pc4_to
        where l.postcode ~ '^[1-9][0-9]{3} ?[A-Z]{2}$'
        """,
    )[0]
    assert checked > 100
    assert wrong == 0


def test_matched_leads_get_the_most_specific_active_segment(built_platform_db: Target) -> None:
    bad = rows(
        built_platform_db,
        """
        with regions as (
            select province_code as region_code, province_code from seeds.region_provinces
            union all
            select municipality_code, province_code from seeds.region_municipalities
        ),
        checked as (
            select
                a.lead_id, a.segment_id, s.branch as segment_branch, s.region as segment_region,
                s.is_active, a.branch, a.region_code, r.province_code,
                (select m.id from public.lead_segments as m
                 where m.is_active and m.branch = a.branch and m.region = a.region_code) as own_segment,
                (select p.id from public.lead_segments as p
                 where p.is_active and p.branch = a.branch and p.region = r.province_code) as province_segment
            from analytics.lead_segment_assignments as a
            left join public.lead_segments as s on s.id = a.segment_id
            left join regions as r on r.region_code = a.region_code
        )
        select * from checked
        where
            (segment_id is not null and (
                not is_active
                or segment_branch <> branch
                or segment_id <> coalesce(own_segment, province_segment)
            ))
            or (segment_id is null and branch is not null and region_code is not null
                and coalesce(own_segment, province_segment) is not null)
        limit 5
        """,
    )
    assert bad == []
    n_municipality = scalar(
        built_platform_db,
        """
        select count(*) from analytics.lead_segment_assignments as a
        inner join seeds.region_municipalities as m on m.municipality_code = a.region_code
        inner join public.lead_segments as s on s.id = a.segment_id and s.region = a.region_code
        """,
    )
    assert n_municipality > 0  # municipality segments really win somewhere


def test_capacity_recount_counts_each_partner_once(built_platform_db: Target) -> None:
    mismatches = rows(built_platform_db, STATS_RECOUNT_MISMATCHES)
    assert mismatches == []
    # dense: an active segment has one row per day from its first lead day to today
    not_dense = rows(
        built_platform_db,
        """
        select s.segment_id, count(*), min(s.date), max(s.date)
        from analytics.lead_generation_stats as s
        inner join public.lead_segments as seg on seg.id = s.segment_id and seg.is_active
        group by s.segment_id
        having
            count(*) <> max(s.date) - min(s.date) + 1
            or max(s.date) <> (now() at time zone %(tz)s)::date
        """,
        {"tz": TZ},
    )
    assert not_dense == []
    n_capacity = scalar(
        built_platform_db,
        "select count(*) from analytics.lead_generation_stats"
        " where date = (now() at time zone %(tz)s)::date and capacity_partners is null",
        {"tz": TZ},
    )
    assert n_capacity == 0  # today's capture exists for every active segment


# --- both profiles.regions variants ---------------------------------------------------------


def test_regions_text_and_array_give_the_same_matches_and_capacity(
    built_platform_db: Target,
    platform_db_text_regions: Target,
    make_db: Callable[..., Target],
    dbt: Callable[..., Any],
) -> None:
    text_db = make_db("txt_built", template=platform_db_text_regions.dbname)
    assert (
        scalar(
            text_db,
            "select format_type(atttypid, atttypmod) from pg_attribute"
            " where attrelid = 'public.profiles'::regclass and attname = 'regions'",
        )
        == "text"
    )
    dbt(
        text_db,
        "build",
        "--select",
        "+segment_capacity",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    )
    matches = (
        "select segment_id, partner_id, match_source from analytics.partner_segment_matches order by 1, 2"
    )
    capacity = "select * from analytics.segment_capacity order by segment_id"
    array_matches = rows(built_platform_db, matches)
    assert len(array_matches) > 100
    assert rows(text_db, matches) == array_matches
    assert rows(text_db, capacity) == rows(built_platform_db, capacity)


# --- incremental: write-back, late status change, new lead, re-run ---------------------------


def test_writeback_then_incremental_rerun(
    built_platform_db: Target,
    make_db: Callable[..., Target],
    dbt: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = make_db("incr", template=built_platform_db.dbname)
    assignments_before = rows(db, ASSIGNMENTS)
    stats_before = {(r[0], r[1]): r for r in rows(db, STATS)}
    n_matched = scalar(db, "select count(segment_id) from analytics.lead_segment_assignments")

    # write-back: only differing rows, in batches of at most batch_size, then nothing
    with caplog.at_level(logging.DEBUG, logger="leadgen.writeback"):  # the batch lines are DEBUG
        changed = write_back_segments(db, batch_size=1000)
    assert changed == n_matched  # leads.segment_id started all NULL
    batch_sizes = [
        int(m.group(1)) for r in caplog.records if (m := re.search(r"changed (\d+) rows", r.getMessage()))
    ]
    assert batch_sizes and max(batch_sizes) <= 1000 and sum(batch_sizes) == changed
    assert len(batch_sizes) >= changed / 1000
    assert (
        scalar(
            db,
            """
        select count(*) from public.leads as l
        join analytics.lead_segment_assignments as a on a.lead_id = l.id
        where l.segment_id is distinct from a.segment_id""",
        )
        == 0
    )
    assert write_back_segments(db) == 0

    # a late status change on a lead created 3 Amsterdam days ago, and a brand-new lead
    lead_id, segment_id, day = rows(
        db,
        """
        select l.id, a.segment_id, (l.created_at at time zone %(tz)s)::date
        from public.leads as l join analytics.lead_segment_assignments as a on a.lead_id = l.id
        where a.segment_id is not null and l.status = 'pending'
          and (l.created_at at time zone %(tz)s)::date = (now() at time zone %(tz)s)::date - 3
        order by l.id limit 1""",
        {"tz": TZ},
    )[0]
    with connect(db) as conn:
        conn.execute("update public.leads set status = 'accepted' where id = %s", (lead_id,))
        new_lead = conn.execute("""
            insert into public.leads (industry_id, postcode, province, status)
            select l.industry_id, l.postcode, l.province, 'new'
            from public.leads as l join analytics.lead_segment_assignments as a on a.lead_id = l.id
            where a.segment_id is not null and a.region_source = 'postcode'
            order by l.id limit 1
            returning id""").fetchone()[0]

    dbt(db, "build")

    after = rows(db, ASSIGNMENTS)
    # old leads: nothing changed (the write-back bumped updated_at, the re-read kept everything)
    assert [r for r in after if r[0] != new_lead] == assignments_before
    assert scalar(
        db,
        "select segment_id is not null from analytics.lead_segment_assignments where lead_id = %(id)s",
        {"id": new_lead},
    )
    stats_after = {(r[0], r[1]): r for r in rows(db, STATS)}
    # stats columns: segment_id, date, generated, accepted, rejected, pending, ...
    late_before, late_after = stats_before[(segment_id, day)], stats_after[(segment_id, day)]
    assert late_after[2:6] == (late_before[2], late_before[3] + 1, late_before[4], late_before[5] - 1)
    new_segment, today = rows(
        db,
        """
        select a.segment_id, (l.created_at at time zone %(tz)s)::date
        from public.leads as l join analytics.lead_segment_assignments as a on a.lead_id = l.id
        where l.id = %(id)s""",
        {"tz": TZ, "id": new_lead},
    )[0]
    assert stats_after[(new_segment, today)][2] == stats_before[(new_segment, today)][2] + 1
    changed_keys = {
        k for k in stats_before.keys() | stats_after.keys() if stats_before.get(k) != stats_after.get(k)
    }
    assert changed_keys == {(segment_id, day), (new_segment, today)}
    assert write_back_segments(db) == 1  # the new lead only


def test_stats_invariants_fail_on_a_miscounted_day(
    built_platform_db: Target, make_db: Callable[..., Target], dbt: Callable[..., Any]
) -> None:
    """The singular invariants are live: one lead counted twice on yesterday's row fails both."""
    db = make_db("invariant", template=built_platform_db.dbname)
    invariants = ("assert_lead_stats_sum_to_assigned_leads", "assert_lead_in_at_most_one_segment")
    assert dbt(db, "test", "--select", *invariants, check=False).returncode == 0
    with connect(db) as conn:
        changed = conn.execute(
            """
            update analytics.lead_generation_stats
            set leads_generated = leads_generated + 1
            where (segment_id, date) = (
                select segment_id, date from analytics.lead_generation_stats
                where date = (now() at time zone %(tz)s)::date - 1 and leads_generated > 0
                order by segment_id limit 1
            )""",
            {"tz": TZ},
        ).rowcount
    assert changed == 1
    result = dbt(db, "test", "--select", *invariants, check=False)
    assert result.returncode != 0
    for name in invariants:
        assert re.search(rf"FAIL \d+ {name}", result.stdout), result.stdout[-3000:]


def test_data_tests_check_the_window_by_default_and_the_whole_history_on_request(
    built_platform_db: Target, make_db: Callable[..., Target], dbt: Callable[..., Any]
) -> None:
    """The nightly data tests of the assignment mart check the last data_test_lookback_days (28)
    days; `--vars '{data_test_lookback_days: 0}'` checks every row."""
    db = make_db("testwindow", template=built_platform_db.dbname)
    with connect(db) as conn:
        # A lead of 40 days ago, assigned and read 40 days ago, matched and with a reason (breaks
        # matched_xor_reason): outside the window.
        changed = conn.execute(
            """
            update analytics.lead_segment_assignments
            set unmatched_reason = 'no_region', assigned_at = now() - interval '40 days',
                source_updated_at = now() - interval '40 days'
            where lead_id = (
                select lead_id from analytics.lead_segment_assignments
                where segment_id is not null and lead_created_at < now() - interval '40 days'
                order by lead_id limit 1
            )""",
        ).rowcount
    assert changed == 1
    select = ("--select", "lead_segment_assignments,test_type:generic")
    assert dbt(db, "test", *select, check=False).returncode == 0
    result = dbt(db, "test", *select, "--vars", "{data_test_lookback_days: 0}", check=False)
    assert result.returncode != 0
    assert re.search(r"FAIL 1 matched_xor_reason_lead_segment_assignments", result.stdout), \
        result.stdout[-3000:]


def test_indexes_survive_a_rebuild_and_a_full_refresh(
    built_platform_db: Target, make_db: Callable[..., Target], dbt: Callable[..., Any]
) -> None:
    """A table build renames the old relation to a backup that keeps its index names until it is
    dropped: the post-hooks (macro ensure_index) must still index the new relation, and every mart
    keeps the primary key of its contract (its index name is PostgreSQL's choice, not compared)."""
    db = make_db("indexes", template=built_platform_db.dbname)
    indexes = """
        select t.relname || '.' || i.relname
        from pg_index as x
        inner join pg_class as i on i.oid = x.indexrelid
        inner join pg_class as t on t.oid = x.indrelid
        inner join pg_namespace as n on n.oid = t.relnamespace
        where n.nspname in ('analytics', 'intermediate') and not x.indisprimary
        order by 1
    """
    keys = """
        select t.relname, pg_get_constraintdef(k.oid)
        from pg_class as t
        inner join pg_namespace as n on n.oid = t.relnamespace
        left join pg_constraint as k on k.conrelid = t.oid and k.contype = 'p'
        where n.nspname = 'analytics' and t.relkind = 'r'
        order by 1
    """
    before, keys_before = rows(db, indexes), rows(db, keys)
    assert ("lead_segment_assignments.lead_segment_assignments_created_at_idx",) in before
    assert ("segment_capacity", "PRIMARY KEY (segment_id)") in keys_before
    assert ("lead_segment_assignments", "PRIMARY KEY (lead_id)") in keys_before
    assert all(key is not None for _, key in keys_before), keys_before
    # (a table rebuild drops the views that read it, which dbt recreates only when it runs them:
    # the selection holds no table with views downstream)
    dbt(db, "run", "--select", "lead_segment_assignments", "segment_capacity")
    assert (rows(db, indexes), rows(db, keys)) == (before, keys_before)
    dbt(db, "run", "--full-refresh", "--select", "lead_segment_assignments", "segment_capacity")
    assert (rows(db, indexes), rows(db, keys)) == (before, keys_before)


def test_an_incremental_mart_built_before_its_key_gets_it_from_its_unique_index(
    built_platform_db: Target, make_db: Callable[..., Target], dbt: Callable[..., Any]
) -> None:
    """An incremental table that existed before its contract declared a primary key (dbt adds
    constraints only when it creates a table; segment_capacity_daily is never full-refreshed)
    gets the key on its next incremental run (macro ensure_primary_key), from its unique index
    when it has one, and the incremental runs go on working."""
    db = make_db("pkey", template=built_platform_db.dbname)
    with connect(db, autocommit=True) as conn:  # as built before the contract had keys
        for table in ("segment_capacity_daily", "lead_generation_stats", "lead_segment_assignments"):
            name = conn.execute(
                "select conname from pg_constraint where conrelid = %s::regclass and contype = 'p'",
                (f"analytics.{table}",),
            ).fetchone()
            assert name, table  # the first build created it
            conn.execute(f'alter table analytics.{table} drop constraint "{name[0]}"')
        conn.execute("create unique index segment_capacity_daily_key_idx"
                     " on analytics.segment_capacity_daily (segment_id, capture_date)")
    dbt(db, "run", "--select", "segment_capacity_daily", "lead_generation_stats", "lead_segment_assignments")
    dbt(db, "run", "--select", "segment_capacity_daily", "lead_generation_stats", "lead_segment_assignments")
    keys = dict(rows(db, """
        select t.relname, k.conname || ' ' || pg_get_constraintdef(k.oid)
        from pg_constraint as k inner join pg_class as t on t.oid = k.conrelid
        where k.contype = 'p' and t.relnamespace = 'analytics'::regnamespace
    """))
    assert keys["segment_capacity_daily"] == (
        "segment_capacity_daily_key_idx PRIMARY KEY (segment_id, capture_date)"
    )  # the existing unique index became the key: no second index
    assert keys["lead_generation_stats"].endswith("PRIMARY KEY (segment_id, date)")
    assert keys["lead_segment_assignments"].endswith("PRIMARY KEY (lead_id)")
    n_daily_indexes = scalar(db, "select count(*) from pg_indexes where schemaname = 'analytics'"
                                 " and tablename = 'segment_capacity_daily'")
    assert n_daily_indexes == 1
