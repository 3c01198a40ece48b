"""The planning and marketing marts agree with independent recounts in plain SQL.

One ``dbt build`` on the small generated marketplace (fixture ``built_platform_db``); every
number of segment_plan_vs_actual, segment_supply_demand, campaign_performance and
partner_marketing_performance is recounted here from the platform's own tables (public.leads,
public.partner_marketing_campaigns, ...), not from the marts' intermediate models. The only
mart read as input is the lead -> segment assignment and the current capacity, whose own
recounts live in test_dbt_build.py.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect
from psycopg.rows import dict_row

TZ = "Europe/Amsterdam"


def _rows(target: Target, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with connect(target, row_factory=dict_row) as conn:
        return conn.execute(query, params or {}).fetchall()  # type: ignore[arg-type]


def _by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def _assert_same(mart: list[dict[str, Any]], recount: list[dict[str, Any]], key: str) -> None:
    """Same keys, and for every key the same values in every column the recount computed."""
    got, want = _by_key(mart, key), _by_key(recount, key)
    assert got.keys() == want.keys(), (
        f"keys differ: only in mart {list(got.keys() - want.keys())[:5]}, "
        f"only in recount {list(want.keys() - got.keys())[:5]}"
    )
    wrong = [
        (k, col, got[k][col], want[k][col])
        for k in want
        for col in want[k]
        if got[k][col] != want[k][col]
    ]
    assert not wrong, f"{len(wrong)} values differ (key, column, mart, recount): {wrong[:10]}"


@pytest.fixture(scope="module")
def marts(built_platform_db: Target) -> Target:
    return built_platform_db


@pytest.fixture(scope="module")
def health_vars() -> dict[str, Any]:
    project = yaml.safe_load(Path(PROJECT_ROOT, "dbt_project.yml").read_text())
    return {k: v for k, v in project["vars"].items() if k.startswith("health_")}


def test_the_marketplace_exercises_every_mart(marts: Target) -> None:
    """Guards the recounts below from passing on empty tables."""
    counts = _rows(
        marts,
        """
        select
            (select count(*) from analytics.segment_plan_vs_actual) as plans,
            (select count(distinct period_status) from analytics.segment_plan_vs_actual) as period_statuses,
            (select count(*) from analytics.segment_supply_demand) as segments,
            (select count(*) from analytics.campaign_performance) as campaigns,
            (select count(*) from analytics.campaign_performance where cpl is null)
                as campaigns_without_leads,
            (select count(*) from analytics.partner_marketing_performance where live_landing_pages > 0)
                as partners_with_live_pages
        """,
    )[0]
    assert counts["plans"] > 0 and counts["segments"] > 0 and counts["campaigns"] > 0, counts
    assert counts["period_statuses"] >= 2, counts
    assert counts["campaigns_without_leads"] > 0, counts
    assert counts["partners_with_live_pages"] > 0, counts


def test_plan_vs_actual_equals_a_recount_from_the_leads(marts: Target) -> None:
    mart = _rows(
        marts,
        """
        select plan_id, segment_id, period_start_date, period_end_date, target_leads, period_days,
               elapsed_days, actual_leads, share_of_target, expected_to_date, is_on_track
        from analytics.segment_plan_vs_actual
        """,
    )
    recount = _rows(
        marts,
        """
        with as_of as (
            select distinct reporting_date from analytics.segment_plan_vs_actual
        ),
        plans as (
            select p.*, p.period_end - p.period_start + 1 as days,
                   least(greatest(as_of.reporting_date - p.period_start, 0),
                         p.period_end - p.period_start + 1) as elapsed
            from public.lead_segment_plans as p cross join as_of
        ),
        counted as (
            select plans.id, count(l.id) as n
            from plans
            left join analytics.lead_segment_assignments as a on a.segment_id = plans.segment_id
            left join public.leads as l
                on l.id = a.lead_id
                and (l.created_at at time zone %(tz)s)::date between plans.period_start and plans.period_end
            group by plans.id
        )
        select plans.id as plan_id, plans.segment_id,
               plans.period_start as period_start_date, plans.period_end as period_end_date,
               plans.target_leads, plans.days as period_days, plans.elapsed as elapsed_days,
               counted.n as actual_leads,
               round(counted.n::numeric / nullif(plans.target_leads, 0), 4) as share_of_target,
               round(plans.target_leads::numeric * plans.elapsed / plans.days, 2) as expected_to_date,
               counted.n >= plans.target_leads::numeric * plans.elapsed / plans.days as is_on_track
        from plans join counted on counted.id = plans.id
        """,
        {"tz": TZ},
    )
    as_of = _rows(marts, "select distinct reporting_date from analytics.segment_plan_vs_actual")
    assert len(as_of) == 1, as_of
    _assert_same(mart, recount, "plan_id")
    assert any(r["actual_leads"] > 0 for r in mart)
    assert {r["is_on_track"] for r in mart} == {True, False}


def test_supply_demand_equals_a_recount_from_the_leads(marts: Target, health_vars: dict[str, Any]) -> None:
    mart = _rows(
        marts,
        """
        select segment_id, leads_7d, leads_28d, demand_leads_per_day_7d, demand_leads_per_day_28d,
               free_capacity, days_of_cover, leads_accepted_28d, leads_rejected_28d,
               acceptance_rate_28d, health_class
        from analytics.segment_supply_demand
        """,
    )
    recount = _rows(
        marts,
        """
        with as_of as (
            select distinct reporting_date as d from analytics.segment_supply_demand
        ),
        segments as (
            select s.id, c.free_capacity, c.utilization
            from public.lead_segments as s
            join analytics.segment_capacity as c on c.segment_id = s.id
            where s.is_active
        ),
        recent as (
            select a.segment_id, (l.created_at at time zone %(tz)s)::date as day, l.status
            from public.leads as l
            join analytics.lead_segment_assignments as a on a.lead_id = l.id
            cross join as_of
            where (l.created_at at time zone %(tz)s)::date between as_of.d - 28 and as_of.d - 1
        ),
        counted as (
            select segments.id as segment_id, segments.free_capacity, segments.utilization,
                   count(recent.day) filter (where recent.day >= as_of.d - 7) as leads_7d,
                   count(recent.day) as leads_28d,
                   count(*) filter (where recent.status = 'accepted') as accepted,
                   count(*) filter (where recent.status = 'rejected') as rejected
            from segments cross join as_of
            left join recent on recent.segment_id = segments.id
            group by segments.id, segments.free_capacity, segments.utilization
        ),
        measured as (
            select *,
                   free_capacity / nullif(leads_7d / 7.0, 0) as cover,
                   accepted::numeric / nullif(accepted + rejected, 0) as rate
            from counted
        )
        select segment_id, leads_7d, leads_28d,
               round(leads_7d / 7.0, 4) as demand_leads_per_day_7d,
               round(leads_28d / 28.0, 4) as demand_leads_per_day_28d,
               free_capacity, round(cover, 2) as days_of_cover,
               accepted as leads_accepted_28d, rejected as leads_rejected_28d,
               round(rate, 4) as acceptance_rate_28d,
               case
                   when accepted + rejected >= %(health_min_decided_leads_28d)s
                        and rate < %(health_min_acceptance_rate)s then 'unhealthy'
                   when leads_7d > 0 and cover < %(health_min_days_of_cover)s then 'supply_constrained'
                   when leads_7d = 0
                        or (coalesce(utilization, 0) < %(health_max_utilization)s
                            and cover > %(health_max_days_of_cover)s) then 'demand_constrained'
                   else 'healthy'
               end as health_class
        from measured
        """,
        {"tz": TZ, **health_vars},
    )
    _assert_same(mart, recount, "segment_id")
    classes = {r["health_class"] for r in mart}
    assert len(classes) >= 2, f"the generated marketplace should show several classes, got {classes}"


def test_campaign_performance_equals_the_source_campaigns(marts: Target) -> None:
    mart = _rows(marts, "select * from analytics.campaign_performance")
    source = _by_key(_rows(marts, "select * from public.partner_marketing_campaigns"), "id")
    assert {r["campaign_id"] for r in mart} == source.keys()

    def ratio(num: Any, den: Any, places: int) -> Decimal | None:
        # PostgreSQL's round() rounds half away from zero (Python's round() would be half-even)
        if not den:
            return None
        return (Decimal(num) / Decimal(den)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)

    for row in mart:
        src = source[row["campaign_id"]]
        assert (row["spend"], row["clicks"], row["impressions"], row["leads"]) == (
            src["total_spend"], src["total_clicks"], src["total_impressions"], src["total_leads"]
        )
        assert row["ctr"] == ratio(src["total_clicks"], src["total_impressions"], 6)
        assert row["cpc"] == ratio(src["total_spend"], src["total_clicks"], 4)
        assert row["cpl"] == ratio(src["total_spend"], src["total_leads"], 4)
        cpl = None if not src["total_leads"] else Decimal(src["total_spend"]) / src["total_leads"]
        target = src["cpl_target"]
        assert row["cpl_vs_target"] == (None if cpl is None or not target else ratio(cpl, target, 4))
        over = target is not None and (
            src["total_spend"] > 0 if not src["total_leads"] else cpl is not None and cpl > target
        )
        assert row["is_over_target"] is over, (row, src)


def test_partner_marketing_equals_a_recount_per_partner(marts: Target) -> None:
    mart = _rows(
        marts,
        """
        select partner_id, marketing_mode, monthly_marketing_budget, campaigns_total, active_campaigns,
               total_spend, total_leads, cpl, budget_used_share, landing_pages_total,
               live_landing_pages, total_views, total_conversions, conversion_rate
        from analytics.partner_marketing_performance
        """,
    )
    recount = _rows(
        marts,
        """
        with c as (
            select partner_id, count(*) as n, count(*) filter (where status = 'active') as active,
                   sum(total_spend) as spend, sum(total_leads) as leads
            from public.partner_marketing_campaigns group by partner_id
        ),
        lp as (
            select partner_id, count(*) as n, count(*) filter (where status = 'live') as live,
                   sum(views_count) as views, sum(conversions_count) as conversions
            from public.partner_landing_pages group by partner_id
        )
        select p.id as partner_id, p.marketing_mode, p.monthly_marketing_budget,
               coalesce(c.n, 0) as campaigns_total, coalesce(c.active, 0) as active_campaigns,
               coalesce(c.spend, 0) as total_spend, coalesce(c.leads, 0) as total_leads,
               round(c.spend / nullif(c.leads, 0), 4) as cpl,
               round(coalesce(c.spend, 0) / nullif(p.monthly_marketing_budget, 0), 4) as budget_used_share,
               coalesce(lp.n, 0) as landing_pages_total, coalesce(lp.live, 0) as live_landing_pages,
               coalesce(lp.views, 0) as total_views, coalesce(lp.conversions, 0) as total_conversions,
               round(lp.conversions::numeric / nullif(lp.views, 0), 6) as conversion_rate
        from public.profiles as p
        left join c on c.partner_id = p.id
        left join lp on lp.partner_id = p.id
        where not p.is_admin
        """,
    )
    _assert_same(mart, recount, "partner_id")


def test_bi_reader_reads_the_marts_and_nothing_else(marts: Target) -> None:
    with connect(marts) as conn:
        conn.execute("set role bi_reader")
        for mart in ("segment_plan_vs_actual", "segment_supply_demand", "campaign_performance",
                     "partner_marketing_performance"):
            conn.execute(f"select count(*) from analytics.{mart}").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from public.partner_marketing_campaigns")
