"""The HTML report: what to act on first, the rules behind the classes, readable charts, and the
page as a real browser draws it (headless Chromium, installed by the ``chromium`` fixture)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from leadgen.config import Target, dbt_var
from leadgen.db import connect
from leadgen.report import ReportData, load_report_data, nice_ticks, render_report, write_report
from leadgen.summary import load_summary
from psycopg.rows import dict_row

SECTIONS = ("needs-attention", "health", "supply-demand", "plans", "campaigns", "daily", "rules")
CHARTS = ("chart-segments", "chart-plans", "chart-campaigns", "chart-daily")
CLASSES = ["healthy", "supply_constrained", "demand_constrained", "unhealthy"]


def _uuid(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def _data(segments: int = 8, days: int = 28) -> ReportData:
    supply_demand = [
        {
            "segment_id": _uuid(i), "branch": "schilder", "region_code": f"r{i}",
            "reporting_date": date(2025, 3, 29), "leads_7d": 70 - i, "leads_28d": 280 - i,
            "demand_leads_per_day_7d": Decimal("10.0"), "capacity_partners": 4, "capacity_total_leads": 40,
            "current_open_leads": 54, "free_capacity": 6 + i, "utilization": Decimal("1.35"),
            "days_of_cover": Decimal("2.0") if i % 4 else None, "leads_accepted_28d": 10,
            "leads_rejected_28d": 30, "acceptance_rate_28d": Decimal("0.25"), "health_class": CLASSES[i % 4],
        }
        for i in range(segments)
    ]
    actions = [
        {"segment_id": _uuid(1), "branch": "schilder", "region_code": "r1",
         "health_class": "supply_constrained",
         "rule": "supply_constrained", "action": "invite_partners", "impact_rank": 1,
         "impact_leads_per_week": Decimal("63.00"), "reason": "Free capacity covers 0.7 days: invite them.",
         "measure": "days_of_cover", "measure_value": Decimal("0.7"), "threshold_value": Decimal("3"),
         "partner_count": 2, "partner_ids": f"{_uuid(91)},{_uuid(92)}", "plan_id": None,
         "leads_needed_per_day": None, "gap_leads_per_day": None, "campaign_count": None,
         "campaign_ids": None, "excess_spend": None},
        {"segment_id": _uuid(3), "branch": "schilder", "region_code": "r3", "health_class": "unhealthy",
         "rule": "unhealthy", "action": "review_rejections", "impact_rank": 2,
         "impact_leads_per_week": Decimal("7.50"), "reason": "Partners accepted 25% of 40 decided leads.",
         "measure": "acceptance_rate_28d", "measure_value": Decimal("0.25"),
         "threshold_value": Decimal("0.5"),
         "partner_count": None, "partner_ids": None, "plan_id": None, "leads_needed_per_day": None,
         "gap_leads_per_day": None, "campaign_count": None, "campaign_ids": None, "excess_spend": None},
    ]
    plans = [
        {"plan_id": _uuid(50 + i), "segment_id": _uuid(i), "branch": "schilder", "region_code": f"r{i}",
         "period_start_date": date(2025, 3, 1), "period_end_date": date(2025, 3, 31), "period_days": 31,
         "elapsed_days": 28, "target_leads": 310, "actual_leads": 200 + 40 * i,
         "expected_to_date": Decimal("280.00"), "share_of_target": Decimal("0.7"), "is_on_track": i > 1}
        for i in range(3)
    ]
    campaigns = [
        {"campaign_id": _uuid(70 + i), "campaign_name": f"Campaign {i}", "channel": "google_ads",
         "spend": Decimal("600.00"), "leads": 10 * i, "cpl": Decimal(60 / i) if i else None,
         "cpl_target": Decimal("20.00"), "cpl_vs_target": Decimal(3 / i) if i else None,
         "is_over_target": i < 4, "branch": "schilder", "region_code": "r1"}
        for i in range(5)
    ]
    first = date(2025, 3, 1)
    daily = [
        {"date": first + timedelta(days=d), "generated": 100 + d, "accepted": 50, "rejected": 20,
         "pending": 30 + d, "segments_with_leads": segments}
        for d in range(days)
    ]
    return ReportData(
        supply_demand, daily, datetime(2025, 3, 29, 2, 0, tzinfo=UTC), "leadgen_prod", actions=actions,
        plans=plans, campaigns=campaigns, reporting_date=date(2025, 3, 29),
    )


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start:html.index("</section>", start)]


# --- the page, from fixed data ---------------------------------------------------------------------
def test_the_report_is_self_contained_in_amsterdam_time_and_names_only_the_database() -> None:
    html = render_report(_data())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no CDN, no remote asset
    assert "<link" not in html and "@import" not in html
    assert "generated 2025-03-29 03:00 Europe/Amsterdam" in html  # 02:00 UTC is 03:00 CET that day
    assert "UTC" not in html
    assert "<code>leadgen_prod</code>" in html and "postgresql://" not in html
    assert "Report for 2025-03-29 (Saturday)" in html


def test_needs_attention_comes_first_ranked_with_reasons_figures_and_partners() -> None:
    html = render_report(_data())
    assert html.index('id="needs-attention"') < min(html.index(f'id="{s}"') for s in SECTIONS[1:])
    attention = _section(html, "needs-attention")
    assert attention.index("invite partners") < attention.index("review rejections")  # impact order
    assert "Free capacity covers 0.7 days: invite them." in attention
    assert "63.0" in attention  # leads per week at stake
    assert f"partners: {_uuid(91)[:8]}, {_uuid(92)[:8]}" in attention
    assert "2 segments" in attention


def test_the_health_rules_and_definitions_are_printed_from_the_dbt_vars() -> None:
    health = _section(render_report(_data()), "health")
    min_cover, max_cover = dbt_var("health_min_days_of_cover"), dbt_var("health_max_days_of_cover")
    acceptance = round(float(dbt_var("health_min_acceptance_rate")) * 100)
    assert f"days of cover below {min_cover}." in health
    assert f"while days of cover exceed {max_cover}." in health
    decided = dbt_var("health_min_decided_leads_28d")
    assert f"at least {decided} decided leads in 28 days and acceptance below {acceptance} %" in health
    for term in ("days of cover", "free capacity", "utilisation"):
        assert f"<dt>{term}</dt>" in health


def test_every_chart_has_axes_units_legend_and_each_class_is_drawn() -> None:
    html = render_report(_data())
    for chart in CHARTS:
        assert f'id="{chart}"' in html
    segments = _section(html, "supply-demand")
    for title in ("Demand (leads/day, 7-day avg)", "Free capacity (open slots now)", "Days of cover (days)"):
        assert title in segments  # one measure, one unit per axis
    for health in CLASSES:
        assert f'<g class="segment" data-health="{health}">' in segments
        assert f"</span>{health.replace('_', ' ')}" in segments  # the legend names every colour
    assert segments.count('class="bar demand"') == 8
    daily = _section(html, "daily")
    assert "leads per day" in daily and re.search(r'text-anchor="end">\d+</text>', daily)  # y ticks
    assert "EUR/lead" in _section(html, "campaigns") and ">leads</text>" in _section(html, "plans")
    plans = _section(html, "plans")
    assert "2 of 3 running plans behind" in plans
    campaigns = _section(html, "campaigns")
    assert "4 of 5 active campaigns over target" in campaigns
    assert "1 active campaign(s) with a CPL target have no lead yet" in campaigns


def test_the_report_renders_without_data() -> None:
    generated = datetime(2025, 3, 29, 2, 0, tzinfo=UTC)
    empty = ReportData([], [], generated, "db", reporting_date=date(2025, 3, 29))
    html = render_report(empty)
    assert "No statistics in the last 28 days." in html
    assert "Nothing to act on" in html and "No running plans." in html
    assert 'class="chart"' not in html  # no empty chart drawn


def test_nice_ticks_are_round_and_cover_the_peak() -> None:
    assert nice_ticks(137) == [0, 50, 100, 150]
    assert nice_ticks(3.1) == [0, 1, 2, 3, 4]
    assert nice_ticks(0) == [0.0, 1.0]


# --- the page, from a built database ----------------------------------------------------------------
@pytest.fixture(scope="module")
def report_page(built_platform_db: Target, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(built_platform_db, tmp_path_factory.mktemp("report") / "index.html")


def test_the_report_lists_every_segment_of_segment_actions(
    built_platform_db: Target, report_page: Path
) -> None:
    with connect(built_platform_db) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("select count(distinct segment_id) as n, count(*) as rows from analytics.segment_actions")
        counts = cur.fetchone()
        cur.execute("select (now() at time zone 'Europe/Amsterdam')::date as today")
        today = cur.fetchone()
    assert counts and today and counts["rows"] > 0
    html = report_page.read_text(encoding="utf-8")
    assert f"Needs attention: {counts['n']} segments" in html
    assert f"Report for {today['today']}" in html  # the day the marts report as of
    assert f"<code>{built_platform_db.dbname}</code>" in html
    assert "postgresql://" not in html and str(built_platform_db.env.get("PGHOST")) not in html
    data = load_report_data(built_platform_db)
    assert data.plans and data.campaigns and data.actions  # the marketplace has all three


def test_the_summary_reads_the_actions_in_the_marts_order(built_platform_db: Target) -> None:
    summary = load_summary(built_platform_db)
    with connect(built_platform_db) as conn:
        ranks = [r[0] for r in conn.execute("select impact_rank from analytics.segment_actions order by 1")]
    assert [a.impact_rank for a in summary.actions] == ranks


# --- in a real browser -------------------------------------------------------------------------------
def _chromium(chromium: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


def test_the_report_draws_every_chart_in_headless_chromium(
    chromium: str, report_page: Path, tmp_path: Path
) -> None:
    dom = _chromium(chromium, "--dump-dom", report_page.as_uri(), tmp_path=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stdout[:500]
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom.stdout
    # the page's own script counts the charts the browser laid out with a non-empty box and bars
    assert 'data-charts="4"' in body.group(0) and 'data-charts-rendered="4"' in body.group(0), body.group(0)
    shot = tmp_path / "report.png"
    result = _chromium(chromium, f"--screenshot={shot}", "--window-size=1200,4000", report_page.as_uri(),
                       tmp_path=tmp_path)
    assert result.returncode == 0 and shot.stat().st_size > 50_000, result.stderr[-2000:]
