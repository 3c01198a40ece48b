"""A malicious partner over PostgREST-style sessions (``set local role authenticated`` plus
``request.jwt.claims``): every attack of issue 15 is refused with the expected error, or
contained, on a migrated stand-in. Each attack runs in its own rolled-back transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.migrate import apply_migrations
from leadgen.standin import init_stand_in

A = uuid.UUID("00000000-0000-0000-0000-00000000aa01")
B = uuid.UUID("00000000-0000-0000-0000-00000000bb02")
ADMIN = uuid.UUID("00000000-0000-0000-0000-00000000ad03")
SEG = uuid.UUID("00000000-0000-0000-0000-00000000c001")
SEG_OFF = uuid.UUID("00000000-0000-0000-0000-00000000c002")
PAGE_A_LIVE = uuid.UUID("00000000-0000-0000-0000-00000000e001")
PAGE_B_REVIEW = uuid.UUID("00000000-0000-0000-0000-00000000e002")
CAMPAIGN_A = uuid.UUID("00000000-0000-0000-0000-00000000f001")

SETUP = [
    "insert into auth.users (id) values (%(a)s), (%(b)s), (%(admin)s)",
    "insert into public.profiles (id, is_admin) values (%(a)s, false), (%(b)s, false), (%(admin)s, true)",
    "insert into public.lead_segments (id, branch, region, is_active) values "
    "(%(seg)s, 'schilder', 'noord-brabant', true), (%(seg_off)s, 'dakdekker', 'zeeland', false)",
    "insert into public.lead_segment_plans (segment_id, period_start, period_end, target_leads, budget) "
    "values (%(seg)s, '2026-12-01', '2026-12-31', 100, 5000)",
    "insert into public.partner_landing_pages (id, partner_id, segment_id, path, status, title) values "
    "(%(page_a)s, %(a)s, %(seg)s, '/schilder/tilburg', 'live', 'Schilder Tilburg'), "
    "(%(page_b)s, %(b)s, %(seg)s, '/schilder/tilburg', 'review', 'Ook Tilburg')",
    "insert into public.partner_marketing_campaigns (id, partner_id, channel, external_campaign_id) "
    "values (%(campaign_a)s, %(a)s, 'google_ads', 'gads-123')",
]
PARAMS = {"a": A, "b": B, "admin": ADMIN, "seg": SEG, "seg_off": SEG_OFF, "page_a": PAGE_A_LIVE,
          "page_b": PAGE_B_REVIEW, "campaign_a": CAMPAIGN_A}


@pytest.fixture(scope="module")
def conn(make_db: Callable[..., Target]) -> Iterator[psycopg.Connection]:
    target = make_db("attacks")
    init_stand_in(target)
    apply_migrations(target)
    with connect(target, autocommit=True) as c:
        for statement in SETUP:
            c.execute(statement, PARAMS)  # type: ignore[arg-type]
        yield c


def attempt(conn: psycopg.Connection, who: uuid.UUID | str, sql: str, params: dict | None = None) -> str:
    """Run ``sql`` as a partner (uuid), ``anon`` or ``service_role``, rolled back; the outcome as
    ``ok N`` or ``<sqlstate> <message>``."""
    try:
        with conn.transaction(force_rollback=True):
            if isinstance(who, uuid.UUID):
                conn.execute("set local role authenticated")
                claims = {"sub": str(who), "role": "authenticated"}
            else:
                conn.execute(f"set local role {who}")  # type: ignore[arg-type]
                claims = {"role": who}
            conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
            cur = conn.execute(sql, {**PARAMS, **(params or {})})  # type: ignore[arg-type]
            if cur.description:
                return f"ok {cur.fetchall()}"
            return f"ok {cur.rowcount}"
    except psycopg.Error as exc:
        return f"{exc.sqlstate} {exc.diag.message_primary}"


def value(conn: psycopg.Connection, sql: str) -> object:
    row = conn.execute(sql, PARAMS).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


# --- critical: any partner becomes admin ----------------------------------------------------------
@pytest.mark.parametrize("assignment", ["is_admin = true", "routing_priority = 999"])
def test_a_partner_cannot_grant_itself_admin_or_routing_priority(conn: psycopg.Connection, assignment: str) -> None:
    outcome = attempt(conn, A, f"update public.profiles set {assignment} where id = %(a)s")
    assert outcome.startswith("42501 only service_role, the table owner or an admin"), outcome
    assert value(conn, "select is_admin from public.profiles where id = %(a)s") is False


def test_admins_and_service_role_still_manage_admin_rights(conn: psycopg.Connection) -> None:
    # (which profile rows an admin may update is the platform's own policy: here its own row)
    assert attempt(conn, ADMIN, "update public.profiles set routing_priority = 3 where id = %(admin)s") == "ok 1"
    assert attempt(conn, "service_role", "update public.profiles set is_admin = true where id = %(b)s") == "ok 1"


def test_a_partner_still_edits_its_own_marketing_settings(conn: psycopg.Connection) -> None:
    sql = "update public.profiles set tone_of_voice = 'vriendelijk', brand_color = '#112233' where id = %(a)s"
    assert attempt(conn, A, sql) == "ok 1"


# --- system-owned columns -----------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "update public.partner_landing_pages set views_count = 1000000 where id = %(page_a)s",
    "update public.partner_landing_pages set published_at = now() - interval '1 year' where id = %(page_a)s",
    "insert into public.partner_landing_pages (partner_id, path, conversions_count, views_count) "
    "values (%(a)s, '/nep', 50, 50)",
    "update public.partner_marketing_campaigns set total_spend = 0.01, total_leads = 900 where id = %(campaign_a)s",
    "insert into public.partner_marketing_campaigns (partner_id, channel, total_clicks, total_impressions) "
    "values (%(a)s, 'meta_ads', 10, 10)",
], ids=["views", "published_at", "insert-counters", "campaign-totals", "insert-totals"])
def test_a_partner_cannot_write_counters_totals_or_published_at(conn: psycopg.Connection, sql: str) -> None:
    outcome = attempt(conn, A, sql)
    assert outcome.startswith("42501") and "not" in outcome and "partner" in outcome, outcome


def test_service_role_syncs_the_totals(conn: psycopg.Connection) -> None:
    sql = ("update public.partner_marketing_campaigns set total_spend = 120, total_clicks = 40, "
           "total_impressions = 900, total_leads = 6 where id = %(campaign_a)s")
    assert attempt(conn, "service_role", sql) == "ok 1"


def test_editing_a_live_page_sends_it_back_to_review(conn: psycopg.Connection) -> None:
    sql = ("update public.partner_landing_pages set content_json = '{\"blocks\": [\"koop nu\"]}' "
           "where id = %(page_a)s returning status")
    assert attempt(conn, A, sql) == "ok [('review',)]"
    assert attempt(conn, A, "update public.partner_landing_pages set title = 'Nieuw' "
                            "where id = %(page_a)s returning status") == "ok [('review',)]"


def test_two_partners_cannot_hold_the_same_live_path(conn: psycopg.Connection) -> None:
    outcome = attempt(conn, ADMIN, "update public.partner_landing_pages set status = 'live' where id = %(page_b)s")
    assert outcome.startswith("23505") and "partner_landing_pages_live_path_key" in outcome, outcome


# --- numbers, plans, segments, campaign ids ---------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "update public.profiles set monthly_marketing_budget = 'NaN' where id = %(a)s",
    "update public.partner_marketing_campaigns set daily_budget = 'NaN' where id = %(campaign_a)s",
    "update public.partner_marketing_campaigns set cpl_target = 'NaN' where id = %(campaign_a)s",
    "update public.partner_marketing_campaigns set monthly_budget = 'NaN' where id = %(campaign_a)s",
], ids=["profile-budget", "daily-budget", "cpl-target", "monthly-budget"])
def test_nan_is_refused(conn: psycopg.Connection, sql: str) -> None:
    outcome = attempt(conn, A, sql)
    assert outcome.startswith("23514"), outcome


def test_nan_or_infinite_totals_are_refused_even_for_the_sync(conn: psycopg.Connection) -> None:
    for literal in ("NaN", "Infinity"):
        sql = f"update public.partner_marketing_campaigns set total_spend = '{literal}' where id = %(campaign_a)s"
        outcome = attempt(conn, "service_role", sql)
        assert outcome.startswith(("23514", "22003")), (literal, outcome)


def test_plans_are_hidden_from_partners(conn: psycopg.Connection) -> None:
    assert attempt(conn, A, "select count(*) from public.lead_segment_plans") == "ok [(0,)]"
    assert attempt(conn, ADMIN, "select count(*) from public.lead_segment_plans") == "ok [(1,)]"


@pytest.mark.parametrize("table", ["partner_segments", "partner_landing_pages", "partner_marketing_campaigns"])
def test_a_partner_cannot_link_itself_to_an_inactive_segment(conn: psycopg.Connection, table: str) -> None:
    extra = {
        "partner_segments": ("", ""),
        "partner_landing_pages": (", path", ", '/inactief'"),
        "partner_marketing_campaigns": (", channel", ", 'other'"),
    }[table]
    sql = f"insert into public.{table} (partner_id, segment_id{extra[0]}) values (%(a)s, %(seg_off)s{extra[1]})"
    outcome = attempt(conn, A, sql)
    assert outcome.startswith("42501 new row violates row-level security policy"), outcome
    active = sql.replace("%(seg_off)s", "%(seg)s")
    assert attempt(conn, A, active) == "ok 1"


def test_another_partners_campaign_id_is_neither_refused_nor_revealed(conn: psycopg.Connection) -> None:
    sql = ("insert into public.partner_marketing_campaigns (partner_id, channel, external_campaign_id) "
           "values (%(b)s, 'google_ads', 'gads-123')")
    assert attempt(conn, B, sql) == "ok 1"
    own_twice = sql.replace("%(b)s", "%(a)s")
    assert attempt(conn, A, own_twice).startswith("23505")


# --- input limits ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "//evil.example/login", "/../admin", "/a/./b", "/a//b", "/Admin", "/a\u00a0b", "/a\u200bb", "/a b",
    "/caf\u00e9", "/" + "a" * 300, "admin", "/a/",
])
def test_the_path_grammar_refuses_tricks(conn: psycopg.Connection, path: str) -> None:
    sql = "insert into public.partner_landing_pages (partner_id, path) values (%(a)s, %(path)s)"
    outcome = attempt(conn, A, sql, {"path": path})
    assert outcome.startswith("23514") and "partner_landing_pages_path_check" in outcome, (path, outcome)


def test_good_paths_pass(conn: psycopg.Connection) -> None:
    sql = "insert into public.partner_landing_pages (partner_id, path) values (%(a)s, %(path)s)"
    for path in ("/", "/schilder", "/schilder/noord-brabant/tilburg-2"):
        assert attempt(conn, A, sql, {"path": path}) == "ok 1", path


@pytest.mark.parametrize(("sql", "constraint"), [
    ("update public.partner_landing_pages set title = repeat('x', 10000) where id = %(page_b)s",
     "partner_landing_pages_title_length_check"),
    ("update public.partner_landing_pages set seo_description = repeat('x', 5000) where id = %(page_b)s",
     "partner_landing_pages_seo_description_length_check"),
    ("update public.partner_landing_pages set content_json = jsonb_build_object('x', repeat('y', 1048576)) "
     "where id = %(page_b)s", "partner_landing_pages_content_json_size_check"),
    ("update public.profiles set logo_url = 'http://cdn.example.nl/logo.png' where id = %(a)s",
     "profiles_logo_url_check"),
    ("update public.profiles set logo_url = 'https://cdn.example.nl/' || repeat('x', 10485760) where id = %(a)s",
     "profiles_logo_url_check"),
    ("update public.partner_marketing_campaigns set name = repeat('x', 1000) where id = %(campaign_a)s",
     "partner_marketing_campaigns_name_length_check"),
], ids=["title", "seo-description", "content-json-1mb", "logo-http", "logo-10mb", "campaign-name"])
def test_length_limits_have_named_constraints(conn: psycopg.Connection, sql: str, constraint: str) -> None:
    who = B if "page_b" in sql else A
    outcome = attempt(conn, who, sql)
    assert outcome.startswith("23514") and constraint in outcome, outcome


# --- the existing platform: what anon has no business with ---------------------------------------------
@pytest.mark.parametrize("sql", [
    "select public.refresh_partner_performance_stats()",
    "select count(*) from public.partner_performance_stats",
    "select count(*) from public.lead_routing_candidates",
])
def test_anon_cannot_refresh_the_mv_or_read_the_router(conn: psycopg.Connection, sql: str) -> None:
    assert attempt(conn, "anon", sql).startswith("42501 permission denied"), sql


def test_a_partner_cannot_run_the_refresh_rpc(conn: psycopg.Connection) -> None:
    outcome = attempt(conn, A, "select public.refresh_partner_performance_stats()")
    assert outcome.startswith("42501 permission denied"), outcome


# --- what held before stays held ------------------------------------------------------------------------
def test_cross_tenant_reads_and_writes_stay_empty(conn: psycopg.Connection) -> None:
    assert attempt(conn, A, "select count(*) from public.partner_landing_pages where partner_id = %(b)s") == "ok [(0,)]"
    assert attempt(conn, A, "update public.partner_landing_pages set title = 'x' where id = %(page_b)s") == "ok 0"
    outcome = attempt(conn, A, "insert into public.partner_landing_pages (partner_id, path) values (%(b)s, '/x')")
    assert outcome.startswith("42501 new row violates row-level security policy"), outcome


def test_a_forged_sub_for_an_admin_is_what_the_jwt_secret_prevents(conn: psycopg.Connection) -> None:
    """The database trusts request.jwt.claims (PostgREST sets them after verifying the JWT); what
    it can do is refuse a partner the column that would make it admin, tested above. Here: a
    session with no claims is nobody."""
    with conn.transaction(force_rollback=True):
        conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from public.partner_landing_pages").fetchone() == (0,)


# --- one tenant's absurd values never stop the night ---------------------------------------------------
@pytest.mark.slow
def test_the_nightly_survives_absurd_values_and_lists_them(db_copy: Target, dbt: Callable[..., object]) -> None:
    with connect(db_copy, autocommit=True) as c:
        [(partner,)] = c.execute(
            "select partner_id from public.partner_marketing_campaigns group by partner_id "
            "having count(*) >= 2 order by partner_id limit 1"
        ).fetchall()
        c.execute("update public.profiles set max_open_leads = 2147483647 where id = %s", (partner,))
        # two campaigns near the bigint limit: their sum does not fit in a bigint
        c.execute("update public.partner_marketing_campaigns set total_impressions = 9000000000000000000, "
                  "total_clicks = 9000000000000000000 where partner_id = %s", (partner,))
        c.execute("insert into public.leads (created_at, updated_at, industry_id, province, postcode, status) "
                  "select '-infinity', now(), id, 'Zeeland', '4331 AB', 'new' from public.industries limit 1")
        # reference rows outside the vocabulary (the table allows any slug)
        c.execute("insert into public.lead_segments (branch, region) values ('schilder', 'atlantis'), "
                  "('astronaut', 'zeeland')")
    for args in (("build", "--exclude-resource-type", "unit_test"), ("build", "--full-refresh", "--select",
                                                                     "lead_generation_stats")):
        result = dbt(db_copy, *args)  # raises with dbt's output when it fails
        assert "ERROR=0" in result.stdout, result.stdout[-3000:]  # type: ignore[attr-defined]
        if args[0] == "build" and "--full-refresh" not in args:
            for named in ("WARN 1 relationships_stg_public__lead_segments_region_code",
                          "WARN 1 relationships_stg_public__lead_segments_branch"):
                assert named in result.stdout, named  # type: ignore[attr-defined]
    assert "WARN 2 assert_no_quarantined_source_values" in result.stdout or "Got 2 results" in (  # type: ignore[attr-defined]
        dbt(db_copy, "test", "--select", "assert_no_quarantined_source_values").stdout  # type: ignore[attr-defined]
    )
    with connect(db_copy) as c:
        [(capacity,)] = c.execute("select max(capacity_total_leads) from analytics.segment_capacity").fetchall()
    assert capacity < 100_000  # the absurd max_open_leads is kept out of the sums
