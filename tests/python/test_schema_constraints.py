"""Every phase-2 rule refuses a bad value with a message that names it, and loses nothing.

Also: the database-derived values (avg_cpl, published_at, updated_at) and that the existing view
and materialized view return the same rows after the migrations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.migrate import apply_migrations
from leadgen.standin import init_stand_in

P1 = uuid.UUID("00000000-0000-0000-0000-000000000001")
P2 = uuid.UUID("00000000-0000-0000-0000-000000000002")
SEG = uuid.UUID("00000000-0000-0000-0000-0000000005e1")
SEG2 = uuid.UUID("00000000-0000-0000-0000-0000000005e2")
PLAN = uuid.UUID("00000000-0000-0000-0000-0000000007a1")
LINK = uuid.UUID("00000000-0000-0000-0000-0000000001c1")
PAGE = {s: uuid.UUID(f"00000000-0000-0000-0000-0000000009{i:02d}") for i, s in
        enumerate(["concept", "review", "live", "archived"])}
CAMPAIGN = uuid.UUID("00000000-0000-0000-0000-0000000008c1")
MISSING = uuid.UUID("00000000-0000-0000-0000-00000000dead")

# Industries, profiles and leads as the platform has them, so the MV and view have rows to show.
PLATFORM = """
insert into public.industries (id, name)
select ('00000000-0000-0000-0000-1000000000' || lpad(i::text, 2, '0'))::uuid,
       (array['Schilder', 'Loodgieter', 'Dakdekker'])[i]
from generate_series(1, 3) as i;
insert into auth.users (id, email)
select ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, 'p' || i || '@example.nl'
from generate_series(1, 20) as i;
insert into public.profiles (id, email, is_admin, primary_branch, regions, max_open_leads, lead_locations)
select ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, 'p' || i || '@example.nl', i = 20,
       (array['Schilder', 'Loodgieter', 'Dakdekker'])[1 + i % 3], array['Noord-Brabant', 'Utrecht'],
       i % 7 * 5, array['Zeeland']
from generate_series(1, 20) as i;
insert into public.leads (created_at, industry_id, province, postcode, status, partner_id, assigned_at)
select now() - (i || ' hours')::interval,
       ('00000000-0000-0000-0000-1000000000' || lpad((1 + i % 3)::text, 2, '0'))::uuid,
       (array['Noord-Brabant', 'Utrecht', 'Zeeland', null])[1 + i % 4], lpad((1000 + i)::text, 4, '0'),
       (array['new', 'pending', 'accepted', 'rejected', 'expired'])[1 + i % 5],
       case when i % 3 > 0 then ('00000000-0000-0000-0000-' || lpad((1 + i % 19)::text, 12, '0'))::uuid end,
       case when i % 3 > 0 then now() - (i || ' hours')::interval end
from generate_series(1, 400) as i
"""

PHASE2 = """
insert into public.lead_segments (id, branch, region) values
    (%(seg)s, 'schilder', 'noord-brabant'), (%(seg2)s, 'schilder', 'tilburg');
insert into public.lead_segment_plans (id, segment_id, period_start, period_end, target_leads, budget)
values (%(plan)s, %(seg)s, '2026-11-01', '2026-11-30', 50, 500);
insert into public.partner_segments (id, partner_id, segment_id, is_primary)
values (%(link)s, %(p1)s, %(seg)s, true);
insert into public.partner_landing_pages (id, partner_id, path, status, views_count, conversions_count) values
    (%(pc)s, %(p1)s, '/p1/concept', 'concept', 10, 1), (%(pr)s, %(p1)s, '/p1/review', 'review', 0, 0),
    (%(pl)s, %(p1)s, '/p1/live', 'live', 100, 5), (%(pa)s, %(p1)s, '/p1/archived', 'archived', 3, 0);
insert into public.partner_marketing_campaigns (id, partner_id, channel, external_campaign_id, status,
    total_spend, total_clicks, total_impressions, total_leads)
values (%(mc)s, %(p1)s, 'google_ads', 'G-1', 'active', 250.00, 40, 1000, 0)
"""

PARAMS = {"seg": SEG, "seg2": SEG2, "plan": PLAN, "link": LINK, "p1": P1, "p2": P2, "mc": CAMPAIGN,
          "pc": PAGE["concept"], "pr": PAGE["review"], "pl": PAGE["live"], "pa": PAGE["archived"],
          "missing": MISSING}


def _snapshot(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    stats = conn.execute(
        "select partner_id, leads_assigned_30d, leads_accepted_30d, leads_rejected_30d, conversion_rate_30d,"
        " open_leads_count, last_assigned_at from public.partner_performance_stats order by partner_id"
    ).fetchall()
    candidates = conn.execute(
        "select * from public.lead_routing_candidates order by lead_id, partner_id"
    ).fetchall()
    return {"partner_performance_stats": stats, "lead_routing_candidates": candidates}


@pytest.fixture(scope="module")
def schema_db(make_db: Callable[..., Target]) -> Iterator[tuple[Target, dict[str, list[tuple[object, ...]]]]]:
    """Stand-in + platform rows -> snapshot of the MV and view -> migrations -> phase-2 rows."""
    target = make_db("schema")
    init_stand_in(target)
    with connect(target) as conn:
        for statement in PLATFORM.strip().split(";\n"):
            conn.execute(statement)  # type: ignore[arg-type]
        conn.execute("select public.refresh_partner_performance_stats()")
        conn.commit()
        before = _snapshot(conn)
    apply_migrations(target)
    with connect(target) as conn:
        for statement in PHASE2.strip().split(";\n"):
            conn.execute(statement, PARAMS)  # type: ignore[arg-type]
        conn.commit()
    yield target, before


@pytest.fixture(scope="module")
def conn(schema_db: tuple[Target, object]) -> Iterator[psycopg.Connection]:
    with connect(schema_db[0], autocommit=True) as c:
        yield c


# table, statement, expected error class, words the message must contain (the rule's name)
BAD = [
    # lead_segments
    ("lead_segments", "insert into lead_segments (branch, region) values ('Schilder Bedrijf', 'utrecht')",
     psycopg.errors.CheckViolation, "lead_segments_branch_check"),
    ("lead_segments", "insert into lead_segments (branch, region) values ('schilder', 'Noord Brabant')",
     psycopg.errors.CheckViolation, "lead_segments_region_check"),
    ("lead_segments", "insert into lead_segments (branch, region) values ('schilder', 'noord-brabant')",
     psycopg.errors.UniqueViolation, "lead_segments_branch_region_key"),
    ("lead_segments", "insert into lead_segments (branch, region, is_active) values ('a', 'b', null)",
     psycopg.errors.NotNullViolation, "is_active"),
    # lead_segment_plans
    ("lead_segment_plans", "update lead_segment_plans set target_leads = -1",
     psycopg.errors.CheckViolation, "lead_segment_plans_target_leads_check"),
    ("lead_segment_plans", "update lead_segment_plans set budget = -0.01",
     psycopg.errors.CheckViolation, "lead_segment_plans_budget_check"),
    ("lead_segment_plans", "update lead_segment_plans set period_end = period_start - 1",
     psycopg.errors.CheckViolation, "lead_segment_plans_period_check"),
    ("lead_segment_plans", "insert into lead_segment_plans (segment_id, period_start, period_end) "
     "values (%(missing)s, '2027-01-01', '2027-01-31')",
     psycopg.errors.ForeignKeyViolation, "lead_segment_plans_segment_id_fkey"),
    ("lead_segment_plans", "insert into lead_segment_plans (segment_id, period_start, period_end) "
     "values (%(seg)s, '2026-11-01', '2026-11-15')",
     psycopg.errors.UniqueViolation, "lead_segment_plans_segment_period_key"),
    # leads.segment_id
    ("leads", "update leads set segment_id = %(missing)s where id = (select min(id::text)::uuid from leads)",
     psycopg.errors.ForeignKeyViolation, "leads_segment_id_fkey"),
    # profiles
    ("profiles", "update profiles set marketing_mode = 'everything' where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_marketing_mode_check"),
    ("profiles", "update profiles set monthly_marketing_budget = -5 where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_monthly_marketing_budget_check"),
    ("profiles", "update profiles set preferred_channels = array['google_ads', 'fax'] where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_preferred_channels_check"),
    ("profiles", "update profiles set preferred_channels = array['seo', null] where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_preferred_channels_check"),
    ("profiles", "update profiles set brand_color = 'red' where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_brand_color_check"),
    ("profiles", "update profiles set brand_color = '#12345g' where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_brand_color_check"),
    ("profiles", "update profiles set logo_url = 'ftp://example.nl/logo.png' where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_logo_url_check"),
    ("profiles", "update profiles set logo_url = 'javascript:alert(1)' where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_logo_url_check"),
    ("profiles", "update profiles set tone_of_voice = repeat('x', 501) where id = %(p1)s",
     psycopg.errors.CheckViolation, "profiles_tone_of_voice_check"),
    ("profiles", "update profiles set auto_marketing_enabled = null where id = %(p1)s",
     psycopg.errors.NotNullViolation, "auto_marketing_enabled"),
    # partner_segments
    ("partner_segments", "insert into partner_segments (partner_id, segment_id)"
     "values (%(missing)s, %(seg)s)",
     psycopg.errors.ForeignKeyViolation, "partner_segments_partner_id_fkey"),
    ("partner_segments", "insert into partner_segments (partner_id, segment_id) values (%(p1)s, %(missing)s)",
     psycopg.errors.ForeignKeyViolation, "partner_segments_segment_id_fkey"),
    ("partner_segments", "update partner_segments set priority = -1",
     psycopg.errors.CheckViolation, "partner_segments_priority_check"),
    ("partner_segments", "insert into partner_segments (partner_id, segment_id) values (%(p1)s, %(seg)s)",
     psycopg.errors.UniqueViolation, "partner_segments_active_link_key"),
    ("partner_segments", "insert into partner_segments (partner_id, segment_id, is_primary) "
     "values (%(p1)s, %(seg2)s, true)", psycopg.errors.UniqueViolation, "partner_segments_one_primary_key"),
    # partner_landing_pages
    ("partner_landing_pages", "insert into partner_landing_pages (partner_id, path)"
     "values (%(p1)s, 'no-slash')",
     psycopg.errors.CheckViolation, "partner_landing_pages_path_check"),
    ("partner_landing_pages", "insert into partner_landing_pages (partner_id, path) values (%(p1)s, '/a b')",
     psycopg.errors.CheckViolation, "partner_landing_pages_path_check"),
    ("partner_landing_pages", "insert into partner_landing_pages (partner_id, path)"
     "values (%(p1)s, '/p1/live')",
     psycopg.errors.UniqueViolation, "partner_landing_pages_partner_path_key"),
    ("partner_landing_pages", "insert into partner_landing_pages (partner_id, path)"
     "values (%(missing)s, '/x')",
     psycopg.errors.ForeignKeyViolation, "partner_landing_pages_partner_id_fkey"),
    ("partner_landing_pages", "insert into partner_landing_pages (partner_id, segment_id, path) "
     "values (%(p1)s, %(missing)s, '/x')", psycopg.errors.ForeignKeyViolation,
     "partner_landing_pages_segment_id_fkey"),
    ("partner_landing_pages", "update partner_landing_pages set status = 'published' where id = %(pc)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_status_check"),
    ("partner_landing_pages", "update partner_landing_pages set source = 'gpt' where id = %(pc)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_source_check"),
    ("partner_landing_pages", "update partner_landing_pages set content_json = '[1, 2]' where id = %(pc)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_content_json_check"),
    ("partner_landing_pages", "update partner_landing_pages set views_count = -1 where id = %(pr)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_views_count_check"),
    ("partner_landing_pages", "update partner_landing_pages set conversions_count = -1 where id = %(pr)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_conversions_count_check"),
    ("partner_landing_pages", "update partner_landing_pages set conversions_count = 11 where id = %(pc)s",
     psycopg.errors.CheckViolation, "partner_landing_pages_views_ge_conversions_check"),
    # the workflow (readable message naming the allowed next statuses)
    ("partner_landing_pages", "update partner_landing_pages set status = 'live' where id = %(pc)s",
     psycopg.errors.CheckViolation, "cannot go from concept to live (allowed: review)"),
    ("partner_landing_pages", "update partner_landing_pages set status = 'archived' where id = %(pc)s",
     psycopg.errors.CheckViolation, "cannot go from concept to archived (allowed: review)"),
    ("partner_landing_pages", "update partner_landing_pages set status = 'archived' where id = %(pr)s",
     psycopg.errors.CheckViolation, "cannot go from review to archived (allowed: live, concept)"),
    ("partner_landing_pages", "update partner_landing_pages set status = 'concept' where id = %(pl)s",
     psycopg.errors.CheckViolation, "cannot go from live to concept (allowed: archived, review)"),
    ("partner_landing_pages", "update partner_landing_pages set status = 'live' where id = %(pa)s",
     psycopg.errors.CheckViolation, "cannot go from archived to live (allowed: none, archived is final)"),
    # partner_marketing_campaigns
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set channel = 'myspace'",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_channel_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set status = 'running'",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_status_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set external_campaign_id = ' '",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_external_campaign_id_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set daily_budget = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_daily_budget_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set monthly_budget = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_monthly_budget_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set cpl_target = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_cpl_target_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set total_spend = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_total_spend_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set total_clicks = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_total_clicks_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set total_impressions = -1, "
     "total_clicks = 0", psycopg.errors.CheckViolation,
     "partner_marketing_campaigns_total_impressions_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set total_leads = -1",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_total_leads_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set total_clicks = 1001",
     psycopg.errors.CheckViolation, "partner_marketing_campaigns_total_impressions_ge_clicks_check"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set started_at = now(), "
     "ended_at = now() - interval '1 day'", psycopg.errors.CheckViolation,
     "partner_marketing_campaigns_period_check"),
    ("partner_marketing_campaigns", "insert into partner_marketing_campaigns (partner_id, channel, "
     "external_campaign_id) values (%(p1)s, 'google_ads', 'G-1')", psycopg.errors.UniqueViolation,
     "partner_marketing_campaigns_partner_channel_external_id_key"),
    ("partner_marketing_campaigns", "insert into partner_marketing_campaigns (partner_id, channel) "
     "values (%(missing)s, 'other')", psycopg.errors.ForeignKeyViolation,
     "partner_marketing_campaigns_partner_id_fkey"),
    ("partner_marketing_campaigns",
     "insert into partner_marketing_campaigns (partner_id, segment_id, channel) "
     "values (%(p1)s, %(missing)s, 'other')", psycopg.errors.ForeignKeyViolation,
     "partner_marketing_campaigns_segment_id_fkey"),
    ("partner_marketing_campaigns", "update partner_marketing_campaigns set avg_cpl = 1",
     psycopg.errors.GeneratedAlways, "avg_cpl"),
]


def _table_state(conn: psycopg.Connection, table: str) -> tuple[int, str]:
    row = conn.execute(
        f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from public.{table} t"
    ).fetchone()
    return int(row[0]), str(row[1])


@pytest.mark.parametrize(("table", "sql", "error", "names"), [pytest.param(*case, id=f"{case[0]}:{case[3]}")
                                                            for case in BAD])
def test_bad_value_is_refused_with_the_rule_named(
    conn: psycopg.Connection, table: str, sql: str, error: type[psycopg.Error], names: str
) -> None:
    before = _table_state(conn, table)
    with pytest.raises(error) as refused:
        conn.execute(sql, PARAMS)  # type: ignore[arg-type]
    assert names in str(refused.value), str(refused.value)
    assert _table_state(conn, table) == before


def test_existing_rows_got_valid_defaults(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select distinct marketing_mode, auto_marketing_enabled, preferred_channels from public.profiles"
    ).fetchall()
    assert rows == [("leads_only", False, [])]


def test_avg_cpl_is_derived_and_null_without_leads(conn: psycopg.Connection) -> None:
    with conn.transaction(force_rollback=True):
        cpl = conn.execute("select avg_cpl from public.partner_marketing_campaigns where id = %s",
                           (CAMPAIGN,)).fetchone()[0]
        assert cpl is None
        conn.execute(
            "update public.partner_marketing_campaigns set total_leads = 3 where id = %s", (CAMPAIGN,)
        )
        cpl = conn.execute("select avg_cpl from public.partner_marketing_campaigns where id = %s",
                           (CAMPAIGN,)).fetchone()[0]
        assert float(cpl) == pytest.approx(83.33)


def test_same_external_id_on_another_channel_is_fine(conn: psycopg.Connection) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute(
            "insert into public.partner_marketing_campaigns (partner_id, channel, external_campaign_id)"
            " values (%s, 'meta_ads', 'G-1'), (%s, 'other', null), (%s, 'other', null)",
            (P2, P2, P2),
        )


def test_workflow_allows_its_transitions_and_sets_published_at(conn: psycopg.Connection) -> None:
    with conn.transaction(force_rollback=True):
        page = PAGE["concept"]
        for status in ("review", "concept", "review", "live", "review", "live", "archived"):
            conn.execute("update public.partner_landing_pages set status = %s where id = %s", (status, page))
            if status == "live":
                published = conn.execute(
                    "select published_at from public.partner_landing_pages where id = %s", (page,)
                ).fetchone()[0]
                assert published is not None
        final = conn.execute(
            "select status from public.partner_landing_pages where id = %s", (page,)
        ).fetchone()
        assert final == ("archived",)


def test_updated_at_is_maintained(conn: psycopg.Connection) -> None:
    tables = ["lead_segments", "lead_segment_plans", "partner_segments", "partner_landing_pages",
              "partner_marketing_campaigns"]
    with conn.transaction(force_rollback=True):
        for table in tables:
            conn.execute(f"update public.{table} set updated_at = '2000-01-01', created_at = '2000-01-01'")
        # the trigger overwrote the explicit value with now() (start of this transaction)
        for table in tables:
            stale = conn.execute(
                f"select count(*) from public.{table} where updated_at < '2001-01-01'"
            ).fetchone()
            assert stale == (0,), table


def test_view_and_materialized_view_return_the_same_rows(
    conn: psycopg.Connection, schema_db: tuple[Target, dict[str, list[tuple[object, ...]]]]
) -> None:
    before = schema_db[1]
    assert before["partner_performance_stats"] and before["lead_routing_candidates"]
    conn.execute("select public.refresh_partner_performance_stats()")
    assert _snapshot(conn) == before


def _phase2_hash(target: Target) -> str:
    tables = ["lead_segment_plans", "partner_segments", "partner_landing_pages",
              "partner_marketing_campaigns"]
    with connect(target) as conn:
        parts = [
            conn.execute(  # timestamps are relative to the run's now(): left out
                "select md5(string_agg((to_jsonb(t) - 'created_at' - 'updated_at' - 'published_at'"
                f" - 'started_at' - 'ended_at')::text, '|' order by t.id)) from public.{table} as t"
            ).fetchone()[0]
            for table in tables
        ]
        profiles = conn.execute(
            "select md5(string_agg(concat_ws(',', id, marketing_mode, monthly_marketing_budget,"
            " preferred_channels, brand_color), '|' order by id)) from public.profiles"
        ).fetchone()[0]
    return "".join(parts) + profiles


def test_phase2_demo_data_is_complete_valid_and_deterministic(make_db: Callable[..., Target]) -> None:
    """Phase-2 demo rows: every status, source and channel; valid totals; same seed, same rows."""
    from datetime import UTC, datetime

    from leadgen.generate import generate_marketplace

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    built = []
    for label in ("gen1", "gen2"):
        target = make_db(label)
        init_stand_in(target)
        apply_migrations(target)
        generate_marketplace(target, partners=60, leads=500, days=30, seed=11, progress=False, now=now)
        built.append(target)
    with connect(built[0]) as conn:
        statuses = {r[0] for r in conn.execute("select distinct status from public.partner_landing_pages")}
        sources = {r[0] for r in conn.execute("select distinct source from public.partner_landing_pages")}
        channels = {
            r[0] for r in conn.execute("select distinct channel from public.partner_marketing_campaigns")
        }
        zero_lead = conn.execute(
            "select count(*) from public.partner_marketing_campaigns"
            " where total_leads = 0 and avg_cpl is null"
        ).fetchone()[0]
        plans = conn.execute("select count(*) from public.lead_segment_plans").fetchone()[0]
        primaries = conn.execute(
            "select count(*) from public.partner_segments where is_primary and is_active"
        ).fetchone()[0]
        live_unpublished = conn.execute(
            "select count(*) from public.partner_landing_pages where status = 'live' and published_at is null"
        ).fetchone()[0]
    assert statuses == {"concept", "review", "live", "archived"}
    assert sources == {"ai_generated", "manual", "template"}
    assert channels == {"google_ads", "meta_ads", "linkedin_ads", "microsoft_ads", "tiktok_ads",
                        "other"}
    assert zero_lead > 0 and plans > 0 and primaries > 0 and live_unpublished == 0
    assert _phase2_hash(built[0]) == _phase2_hash(built[1])
