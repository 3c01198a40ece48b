"""The MetricFlow semantic layer (models/marts/**/_*__semantic.yml, _saved_queries.yml).

`mf validate-configs` against a built database (the semantic checks and the data-warehouse checks:
every measure, dimension, entity and metric queried), and metrics queried through the real `mf
query` CLI equal the marts' own numbers on the small generated marketplace (``built_platform_db``).
The marts round their ratios (4 decimals, CTR 6, days of cover 2); MetricFlow computes the same
ratio from additive measures unrounded, so ratios compare within half a unit of the mart's last
decimal. Every comparison also checks that it compared real, non-empty numbers.

`mf` reads ``target/semantic_manifest.json`` (it does not parse the project itself), so the
module first runs ``dbt parse``: the yml under test is what `mf` sees. The summary and the report
run the same saved queries through MetricFlow's engine (leadgen.semantic): one test changes the
saved queries in a copy of the manifest and sees them change what the two show.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import LEADGEN_CLI, leadgen_env, run_dbt
from leadgen import dbt_runner
from leadgen.config import PROJECT_ROOT, Target, reporting_timezone
from leadgen.db import connect
from leadgen.report import load_report_data
from leadgen.semantic import SavedQueries
from leadgen.summary import load_summary
from psycopg.rows import dict_row

pytestmark = pytest.mark.slow

MF = str(Path(sys.executable).parent / "mf")
SEMANTIC_YML = sorted(
    [*PROJECT_ROOT.glob("models/**/_*__semantic.yml"), PROJECT_ROOT / "models/marts/_saved_queries.yml"]
)


def _env(target: Target) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    return {**env, **target.env, "DBT_PROFILES_DIR": str(PROJECT_ROOT)}


def _mf(target: Target, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MF, *args], cwd=PROJECT_ROOT, env=_env(target), capture_output=True, text=True,
        timeout=300, check=False,
    )


# The database target/semantic_manifest.json was last parsed for (the manifest names it).
_parsed_for: dict[str, str] = {}


def _parse_for(target: Target) -> None:
    if _parsed_for.get("dbname") != target.dbname:
        run_dbt(target, "parse")
        _parsed_for["dbname"] = target.dbname


@pytest.fixture(scope="module")
def semantic_db(built_platform_db: Target) -> Iterator[Target]:
    """The built marketplace; target/semantic_manifest.json is parsed from the yml as it is now."""
    _parsed_for.clear()
    yield built_platform_db
    _parsed_for.clear()


def mf_query(target: Target, tmp_path: Path, *args: str, via_leadgen: bool = False) -> list[dict[str, str]]:
    """`mf query ... --csv` (or `leadgen mf query ...`) as a list of rows (CSV text; '' is NULL)."""
    out = tmp_path / f"mf_{len(list(tmp_path.iterdir()))}.csv"
    query = ["query", *args, "--csv", str(out), "--quiet"]
    if via_leadgen:  # parses against the target itself
        result = subprocess.run(
            [LEADGEN_CLI, "mf", *query], cwd=tmp_path, env=leadgen_env(target), capture_output=True,
            text=True, timeout=300, check=False,
        )
        _parsed_for["dbname"] = target.dbname
    else:
        _parse_for(target)
        result = _mf(target, *query)
    assert result.returncode == 0, f"mf query {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _rows(target: Target, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with connect(target, row_factory=dict_row) as conn:
        return conn.execute(query, params or {}).fetchall()  # type: ignore[arg-type]


def _num(text: str) -> Decimal | None:
    return None if text == "" else Decimal(text)


def _int(text: str) -> int:
    """A count as `mf` writes it: sums of bigint columns are numeric in PostgreSQL ('12.0')."""
    value = Decimal(text)
    assert value == value.to_integral_value(), text
    return int(value)


def _close(got: str, want: Any, decimals: int) -> bool:
    """An unrounded MetricFlow value against the mart's value rounded to ``decimals``."""
    value = _num(got)
    if value is None or want is None:
        return value is None and want is None
    return abs(value - Decimal(want)) <= Decimal(1).scaleb(-decimals) / 2


# --- configuration --------------------------------------------------------------------------


def test_semantic_yml_days_are_the_marts_time_zone() -> None:
    """Filters and expressions that turn now() or a timestamptz into a day name the zone as a
    literal (the yml is not templated by dbt): it must be the var `timezone` of the marts."""
    zones = {
        zone
        for path in SEMANTIC_YML
        for zone in re.findall(r"at time zone '([^']+)'", path.read_text())
    }
    assert zones == {reporting_timezone()}


def test_mf_validate_configs_passes_against_the_database(semantic_db: Target) -> None:
    _parse_for(semantic_db)
    result = _mf(semantic_db, "validate-configs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # the semantic checks and each data-warehouse check ran, and none found anything
    for step in ("the semantics of built manifest", "semantic models against data warehouse",
                 "dimensions against data warehouse", "entities against data warehouse",
                 "measures against data warehouse", "metrics against data warehouse"):
        assert f"Successfully validated {step} (ERRORS: 0" in output, (step, output)


# --- metrics through MetricFlow equal the marts -------------------------------------------


def test_daily_summary_saved_query_equals_yesterdays_lead_generation_stats(
    semantic_db: Target, tmp_path: Path
) -> None:
    # through `leadgen mf`, run outside the project: it parses for the database and runs mf there
    got = mf_query(semantic_db, tmp_path, "--saved-query", "daily_summary", via_leadgen=True)
    want = _rows(
        semantic_db,
        """
        select segment_id::text as segment, date, leads_generated, leads_accepted, leads_rejected,
               leads_pending, acceptance_rate
        from analytics.lead_generation_stats
        where date = (now() at time zone %(tz)s)::date - 1
        """,
        {"tz": reporting_timezone()},
    )
    assert sum(r["leads_generated"] for r in want) > 0 and any(r["acceptance_rate"] for r in want)
    by_segment = {r["segment"]: r for r in got}
    assert by_segment.keys() == {r["segment"] for r in want}
    for row in want:
        mf = by_segment[row["segment"]]
        assert mf["metric_time__day"].startswith(row["date"].isoformat())
        for column in ("leads_generated", "leads_accepted", "leads_rejected", "leads_pending"):
            assert _int(mf[column]) == row[column], (row["segment"], column)
        assert _close(mf["acceptance_rate"], row["acceptance_rate"], 4), row
    # ordered as saved: the busiest segment first
    assert [_int(r["leads_generated"]) for r in got] == sorted((_int(r["leads_generated"]) for r in got),
                                                              reverse=True)


def test_segment_health_saved_query_equals_segment_supply_demand(semantic_db: Target, tmp_path: Path) -> None:
    """Leads in 7 and 28 days, demand, partners, capacity, free capacity, utilisation, days of
    cover and acceptance over 28 days: metrics of three semantic models against the one mart that
    computes them all, for its segments (the active ones), in the report's order."""
    got = {r["segment"]: r for r in mf_query(semantic_db, tmp_path, "--saved-query", "segment_health")}
    want = _rows(
        semantic_db,
        """
        select segment_id::text as segment, branch, region_code, branch || ' / ' || region_code as label,
               leads_7d, leads_28d, demand_leads_per_day_7d, capacity_partners, capacity_total_leads,
               free_capacity, utilization, days_of_cover, acceptance_rate_28d, health_class
        from analytics.segment_supply_demand
        order by leads_28d desc, free_capacity desc, branch, region_code
        """,
    )
    assert sum(r["leads_7d"] for r in want) > 0
    assert any(r["days_of_cover"] is not None for r in want)
    assert any(r["utilization"] for r in want) and any(r["acceptance_rate_28d"] for r in want)
    assert list(got) == [r["segment"] for r in want]
    for row in want:
        mf = got[row["segment"]]
        assert mf["segment__segment_label"] == row["label"]
        assert (mf["segment__branch"], mf["segment__region"]) == (row["branch"], row["region_code"])
        assert mf["segment__health_class"] == row["health_class"]
        assert _int(mf["leads_last_7_days"]) == row["leads_7d"], row
        assert _int(mf["leads_last_28_days"]) == row["leads_28d"], row
        assert _close(mf["demand_leads_per_day_7d"], row["demand_leads_per_day_7d"], 4), (mf, row)
        assert _int(mf["capacity_total_leads"]) == row["capacity_total_leads"], row
        assert _int(mf["partners"]) == row["capacity_partners"], row
        assert _int(mf["free_capacity"]) == row["free_capacity"], row
        assert _close(mf["utilization"], row["utilization"], 4), (mf, row)
        assert _close(mf["days_of_cover"], row["days_of_cover"], 2), (mf, row)
        assert _close(mf["acceptance_rate_28d"], row["acceptance_rate_28d"], 4), (mf, row)


def test_report_daily_saved_query_equals_the_last_28_days_of_lead_generation_stats(
    semantic_db: Target, tmp_path: Path
) -> None:
    got = mf_query(semantic_db, tmp_path, "--saved-query", "report_daily")
    want = _rows(
        semantic_db,
        """
        select date, sum(leads_generated) as generated, sum(leads_accepted) as accepted,
               sum(leads_rejected) as rejected, sum(leads_pending) as pending,
               count(*) filter (where leads_generated > 0) as segments_with_leads
        from analytics.lead_generation_stats
        where date >= (now() at time zone %(tz)s)::date - 28 and date < (now() at time zone %(tz)s)::date
        group by date
        order by date
        """,
        {"tz": reporting_timezone()},
    )
    assert len(want) > 20 and all(r["segments_with_leads"] > 1 for r in want)
    assert [r["metric_time__day"][:10] for r in got] == [r["date"].isoformat() for r in want]
    for mf, row in zip(got, want, strict=True):
        assert [_int(mf[f"leads_{c}"]) for c in ("generated", "accepted", "rejected", "pending")] == [
            row["generated"], row["accepted"], row["rejected"], row["pending"]], (mf, row)
        assert _int(mf["segments_with_leads"]) == row["segments_with_leads"], (mf, row)


def test_leads_and_acceptance_by_province_and_week_equal_a_sum_of_the_stats(
    semantic_db: Target, tmp_path: Path
) -> None:
    """A day range by province (through the segment dimension) and week, recounted from
    lead_generation_stats with the region seeds (not the semantic layer's segments mart)."""
    today = "(now() at time zone 'Europe/Amsterdam')::date"
    start, end = f"{today} - 30", f"{today} - 3"
    day = "{{ TimeDimension('metric_time', 'day') }}"
    got = mf_query(
        semantic_db, tmp_path,
        "--metrics", "leads_generated,leads_accepted,acceptance_rate",
        "--group-by", "segment__province,metric_time__week",
        "--where", f"{day} >= {start}", "--where", f"{day} <= {end}",
    )
    want = _rows(
        semantic_db,
        f"""
        with regions as (
            select province_code as region_code, province_code from seeds.region_provinces
            union all
            select municipality_code, province_code from seeds.region_municipalities
        )
        select regions.province_code as province, date_trunc('week', stats.date)::date as week,
               sum(stats.leads_generated) as generated, sum(stats.leads_accepted) as accepted,
               sum(stats.leads_accepted)::numeric
               / nullif(sum(stats.leads_accepted + stats.leads_rejected), 0) as acceptance_rate
        from analytics.lead_generation_stats as stats
        inner join public.lead_segments as s on s.id = stats.segment_id
        left join regions on regions.region_code = s.region
        where stats.date between {start} and {end}
        group by 1, 2
        """,
    )
    assert len({r["province"] for r in want}) > 3 and sum(r["generated"] for r in want) > 100
    got_by_key = {(r["segment__province"] or None, r["metric_time__week"][:10]): r for r in got}
    assert got_by_key.keys() == {(r["province"], r["week"].isoformat()) for r in want}
    for row in want:
        mf = got_by_key[(row["province"], row["week"].isoformat())]
        assert _int(mf["leads_generated"]) == row["generated"], (mf, row)
        assert _int(mf["leads_accepted"]) == row["accepted"], (mf, row)
        assert _close(mf["acceptance_rate"], row["acceptance_rate"], 12), (mf, row)


def test_campaign_ratios_equal_campaign_performance(semantic_db: Target, tmp_path: Path) -> None:
    metrics = "spend,clicks,impressions,campaign_leads,ctr,cpc,cpl,cpl_vs_target"
    got = {r["campaign"]: r
           for r in mf_query(semantic_db, tmp_path, "--metrics", metrics, "--group-by", "campaign")}
    want = _rows(
        semantic_db,
        "select campaign_id::text as campaign, spend, clicks, impressions, leads, ctr, cpc, cpl,"
        " cpl_vs_target from analytics.campaign_performance",
    )
    assert sum(1 for r in want if r["cpl"] is not None) > 10
    assert any(r["cpl_vs_target"] is not None for r in want)
    assert got.keys() == {r["campaign"] for r in want}
    for row in want:
        mf = got[row["campaign"]]
        assert _num(mf["spend"]) == row["spend"] and _int(mf["campaign_leads"]) == row["leads"], row
        assert (_int(mf["clicks"]), _int(mf["impressions"])) == (row["clicks"], row["impressions"]), row
        assert _close(mf["ctr"], row["ctr"], 6), (mf, row)
        for ratio in ("cpc", "cpl", "cpl_vs_target"):
            assert _close(mf[ratio], row[ratio], 4), (ratio, mf, row)

    # over several campaigns: CPL is total spend / total leads per channel, never a mean of CPLs
    by_channel = {r["campaign__channel"]: r for r in mf_query(
        semantic_db, tmp_path, "--metrics", "cpl", "--group-by", "campaign__channel")}
    channels = _rows(
        semantic_db,
        "select channel, sum(spend) / nullif(sum(leads), 0) as cpl, avg(cpl) as mean_cpl"
        " from analytics.campaign_performance group by channel",
    )
    assert len(channels) > 1
    for row in channels:
        assert _close(by_channel[row["channel"]]["cpl"], row["cpl"], 10), row
    assert any(row["cpl"] and abs(row["cpl"] - row["mean_cpl"]) > Decimal("0.01") for row in channels)


def test_plan_attainment_and_conversion_rate_equal_their_marts(semantic_db: Target, tmp_path: Path) -> None:
    plans = {r["plan"]: r for r in mf_query(
        semantic_db, tmp_path, "--metrics", "plan_attainment,plan_actual_leads", "--group-by", "plan")}
    want = _rows(
        semantic_db,
        "select plan_id::text as plan, actual_leads, share_of_target from analytics.segment_plan_vs_actual",
    )
    assert sum(1 for r in want if r["share_of_target"]) > 10
    assert plans.keys() == {r["plan"] for r in want}
    for row in want:
        assert _int(plans[row["plan"]]["plan_actual_leads"]) == row["actual_leads"], row
        assert _close(plans[row["plan"]]["plan_attainment"], row["share_of_target"], 4), row

    pages = {r["partner"]: r for r in mf_query(
        semantic_db, tmp_path,
        "--metrics", "landing_page_views,landing_page_conversion_rate", "--group-by", "partner")}
    partners = _rows(
        semantic_db,
        "select partner_id::text as partner, total_views, conversion_rate"
        " from analytics.partner_marketing_performance where landing_pages_total > 0",
    )
    assert sum(1 for r in partners if r["conversion_rate"]) > 10
    assert pages.keys() == {r["partner"] for r in partners}
    for row in partners:
        assert _int(pages[row["partner"]]["landing_page_views"]) == row["total_views"], row
        assert _close(pages[row["partner"]]["landing_page_conversion_rate"], row["conversion_rate"], 6), row


def test_report_saved_queries_equal_the_reports_plans_and_campaigns(
    semantic_db: Target, tmp_path: Path
) -> None:
    plans = {r["plan"]: r for r in mf_query(semantic_db, tmp_path, "--saved-query", "report_plans")}
    running = _rows(
        semantic_db,
        """
        select plan_id::text as plan, branch, region_code, period_start_date, period_end_date,
               target_leads, actual_leads, expected_to_date, share_of_target, is_on_track
        from analytics.segment_plan_vs_actual
        where period_status = 'running'
        order by expected_to_date - actual_leads desc, branch, region_code, plan_id
        """,
    )
    assert len(running) > 5 and any(r["share_of_target"] for r in running)
    assert list(plans) == [r["plan"] for r in running]  # furthest behind first
    for row in running:
        mf = plans[row["plan"]]
        assert (mf["segment__branch"], mf["segment__region"]) == (row["branch"], row["region_code"])
        assert mf["plan__period_start_date__day"][:10] == row["period_start_date"].isoformat()
        assert mf["plan__period_end_date__day"][:10] == row["period_end_date"].isoformat()
        assert _num(mf["plan_leads_behind"]) == row["expected_to_date"] - row["actual_leads"], (mf, row)
        assert (_int(mf["plan_target_leads"]), _int(mf["plan_actual_leads"])) == (
            row["target_leads"], row["actual_leads"])
        assert _close(mf["plan_expected_leads"], row["expected_to_date"], 2), (mf, row)
        assert _close(mf["plan_attainment"], row["share_of_target"], 4), (mf, row)
        assert mf["plan__is_on_track"].lower() == str(row["is_on_track"]).lower(), (mf, row)

    campaigns = {r["campaign"]: r
                 for r in mf_query(semantic_db, tmp_path, "--saved-query", "report_campaigns")}
    active = _rows(
        semantic_db,
        "select campaign_id::text as campaign, campaign_name, channel, spend, leads, cpl, cpl_target,"
        " cpl_vs_target, is_over_target"
        " from analytics.campaign_performance where status = 'active' and cpl_target > 0",
    )
    assert len(active) > 5 and any(r["cpl_vs_target"] for r in active)
    assert campaigns.keys() == {r["campaign"] for r in active}
    for row in active:
        mf = campaigns[row["campaign"]]
        assert mf["campaign__channel"] == row["channel"] and _num(mf["spend"]) == row["spend"], (mf, row)
        assert mf["campaign__campaign_name"] == row["campaign_name"], (mf, row)
        assert mf["campaign__is_over_target"].lower() == str(row["is_over_target"]).lower(), (mf, row)
        assert _close(mf["cpl"], row["cpl"], 4), (mf, row)
        assert _close(mf["cpl_vs_target"], row["cpl_vs_target"], 4), (mf, row)
        # the lead-weighted target of one campaign is its target (none without leads)
        assert _close(mf["cpl_target"], row["cpl_target"] if row["leads"] else None, 2), (mf, row)


def test_the_summary_and_the_report_show_what_the_saved_queries_return(
    semantic_db: Target, make_db: Callable[..., Target], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """leadgen.summary and leadgen.report read the saved queries, not the marts: one more filter on
    each saved query, in a copy of the semantic manifest, changes what they show. The manifest
    names the database it was parsed for; they run it on a copy of that database."""
    _parse_for(semantic_db)
    manifest = json.loads((dbt_runner.target_path() / "semantic_manifest.json").read_text())
    [busiest] = _rows(
        semantic_db,
        """select segments.branch, sum(stats.leads_generated) as leads
           from analytics.lead_generation_stats as stats inner join analytics.segments using (segment_id)
           where stats.date = (now() at time zone %(tz)s)::date - 1
           group by 1 order by 2 desc, 1 limit 1""",
        {"tz": reporting_timezone()},
    )
    classes = {r["health_class"]: r["n"] for r in _rows(
        semantic_db, "select health_class, count(*) as n from analytics.segment_supply_demand group by 1")}
    channels = {r["channel"]: r["n"] for r in _rows(
        semantic_db, "select channel, count(*) as n from analytics.campaign_performance"
                     " where status = 'active' and cpl_target > 0 group by 1")}
    on_track = {r["is_on_track"]: r["n"] for r in _rows(
        semantic_db, "select is_on_track, count(*) as n from analytics.segment_plan_vs_actual"
                     " where period_status = 'running' group by 1")}
    assert busiest["leads"] > 0 and len(classes) > 1 and len(channels) > 1 and len(on_track) == 2
    branch, health = busiest["branch"], min(classes, key=classes.__getitem__)
    channel, track = max(channels, key=channels.__getitem__), min(on_track, key=on_track.__getitem__)

    def where(item: str, condition: str) -> dict[str, str]:
        return {"where_sql_template": f"{{{{ {item} }}}} {condition}"}

    last_7_days = ">= (now() at time zone 'Europe/Amsterdam')::date - 7"
    extra = {
        "daily_summary": where("Dimension('segment__branch')", f"= '{branch}'"),
        "segment_health": where("Dimension('segment__health_class')", f"= '{health}'"),
        "report_daily": where("TimeDimension('metric_time', 'day')", last_7_days),
        "report_plans": where("Dimension('plan__is_on_track')", f"= {str(track).lower()}"),
        "report_campaigns": where("Dimension('campaign__channel')", f"= '{channel}'"),
    }
    for query in manifest["saved_queries"]:
        params = query["query_params"]
        if query["name"] in extra:
            filters = (params["where"] or {}).get("where_filters", [])
            params["where"] = {"where_filters": [*filters, extra.pop(query["name"])]}
    assert not extra, extra  # every saved query of the summary and the report was changed
    (tmp_path / "semantic_manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    copy = make_db("semantic_read", template=semantic_db.dbname)
    assert f'"{semantic_db.dbname}"' not in SavedQueries(copy).sql("segment_health")[0]

    summary = load_summary(copy)
    assert {s.branch for s in summary.segments if s.leads} == {branch}
    assert summary.total_leads == busiest["leads"]
    assert summary.health_counts == {h: classes[h] if h == health else 0 for h in summary.health_counts}
    data = load_report_data(copy)
    assert len(data.supply_demand) == classes[health]
    assert {r["health_class"] for r in data.supply_demand} == {health}
    assert 0 < len(data.daily) <= 7
    assert len(data.plans) == on_track[track] and {p["is_on_track"] for p in data.plans} == {track}
    assert len(data.campaigns) == channels[channel] and {c["channel"] for c in data.campaigns} == {channel}


# last: it parses the manifest for a copy of the database
def test_capacity_is_the_last_capture_of_the_period_never_a_sum_over_days(
    semantic_db: Target, make_db: Callable[..., Target], tmp_path: Path
) -> None:
    """Capacity is a daily snapshot (non-additive over capture_date): with an earlier capture
    added, a query without metric_time reads the newest capture, and by day or month each period
    reads its own last capture, summed over segments."""
    copy = make_db("semantic_captures", template=semantic_db.dbname)
    with connect(copy) as conn:
        conn.execute(
            """
            insert into analytics.segment_capacity_daily
            select capture_date - 1, segment_id, branch, region_code, capacity_partners + 1,
                   capacity_total_leads + 100, current_open_leads, free_capacity + 100, null,
                   captured_at - interval '1 day'
            from analytics.segment_capacity_daily
            """
        )
    now = {r["segment"]: r for r in mf_query(
        copy, tmp_path, "--metrics", "partners,free_capacity,utilization", "--group-by", "segment")}
    current = _rows(
        copy,
        "select segment_id::text as segment, capacity_partners, free_capacity, utilization"
        " from analytics.segment_capacity",
    )
    assert sum(r["free_capacity"] for r in current) > 0 and now.keys() == {r["segment"] for r in current}
    for row in current:
        mf = now[row["segment"]]
        assert _int(mf["partners"]) == row["capacity_partners"], (mf, row)
        assert _int(mf["free_capacity"]) == row["free_capacity"], (mf, row)
        assert _close(mf["utilization"], row["utilization"], 4), (mf, row)

    for grain in ("day", "month"):
        got = {r[f"metric_time__{grain}"][:10]: _int(r["free_capacity"]) for r in mf_query(
            copy, tmp_path, "--metrics", "free_capacity", "--group-by", f"metric_time__{grain}")}
        want = _rows(
            copy,
            f"""
            with days as (
                select date_trunc('{grain}', capture_date)::date as period, capture_date,
                       sum(free_capacity) as free_capacity
                from analytics.segment_capacity_daily group by 1, 2
            )
            select distinct on (period) period::text, free_capacity
            from days order by period, capture_date desc
            """,
        )
        assert got == {r["period"]: r["free_capacity"] for r in want}, grain
    assert len(got) >= 1 and len({v for v in got.values()}) == len(got)
