"""A self-contained HTML report (inline SVG and CSS, no external resources) of the marts.

- supply vs demand per segment (``analytics.segment_supply_demand``): leads in the last 7 days
  against the free capacity partners have now, with the health class of each segment;
- the number of segments per health class;
- the last 28 days of ``analytics.lead_generation_stats``, summed over segments, as a chart and a table.

Numbers are read from the marts; the only arithmetic here is summing counts and chart geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg.rows import dict_row

from leadgen.config import PROJECT_ROOT, Target, reporting_timezone, resolve_target
from leadgen.db import connect
from leadgen.summary import HEALTH_ORDER

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_REPORT = PROJECT_ROOT / "reports" / "index.html"
CHART_SEGMENTS = 25
HEALTH_COLORS = {
    "healthy": "#2e7d32",
    "supply_constrained": "#c62828",
    "demand_constrained": "#ef6c00",
    "unhealthy": "#6a1b9a",
}

_SUPPLY_DEMAND_SQL = """
select segment_id, branch, region_code, leads_7d, leads_28d, demand_leads_per_day_7d,
       capacity_partners, free_capacity, utilization, days_of_cover, acceptance_rate_28d, health_class
from analytics.segment_supply_demand
order by leads_7d desc, free_capacity desc, branch, region_code
"""

_DAILY_SQL = """
with bounds as (
    select (now() at time zone %(tz)s)::date as today
)
select
    stats.date,
    sum(stats.leads_generated) as generated,
    sum(stats.leads_accepted) as accepted,
    sum(stats.leads_rejected) as rejected,
    sum(stats.leads_pending) as pending,
    count(*) filter (where stats.leads_generated > 0) as segments_with_leads
from analytics.lead_generation_stats as stats, bounds
where stats.date >= bounds.today - 28 and stats.date < bounds.today
group by stats.date
order by stats.date
"""


@dataclass(frozen=True)
class ReportData:
    supply_demand: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    generated_at: datetime
    database: str


def load_report_data(target: Target | None = None) -> ReportData:
    target = target or resolve_target()
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_SUPPLY_DEMAND_SQL)
        supply_demand = cur.fetchall()
        cur.execute(_DAILY_SQL, {"tz": reporting_timezone()})
        daily = cur.fetchall()
        now = conn.execute("select now()").fetchone()
    assert now is not None
    return ReportData(supply_demand, daily, now[0], target.url())


# --- chart geometry --------------------------------------------------------------------------
def _supply_demand_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Paired horizontal bars per segment: leads in the last 7 days vs free capacity now."""
    top = rows[:CHART_SEGMENTS]
    label_w, bar_w, row_h = 230, 520, 26
    peak = max([1, *(int(r["leads_7d"]) for r in top), *(int(r["free_capacity"] or 0) for r in top)])
    bars = []
    for i, r in enumerate(top):
        y = 30 + i * row_h
        demand, supply = int(r["leads_7d"]), int(r["free_capacity"] or 0)
        bars.append({
            "label": f"{r['branch']} / {r['region_code']}",
            "y": y,
            "demand": demand,
            "supply": supply,
            "demand_w": round(bar_w * demand / peak, 1),
            "supply_w": round(bar_w * supply / peak, 1),
            "health": r["health_class"],
            "color": HEALTH_COLORS.get(r["health_class"], "#607d8b"),
        })
    return {
        "bars": bars, "label_w": label_w, "bar_w": bar_w, "row_h": row_h,
        "width": label_w + bar_w + 80, "height": 40 + len(top) * row_h, "peak": peak,
    }


def _daily_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Columns per day: accepted, rejected and pending stacked (together: generated)."""
    width, height, pad = 760, 220, 30
    peak = max([1, *(int(r["generated"]) for r in rows)])
    step = (width - 2 * pad) / max(len(rows), 1)
    columns = []
    for i, r in enumerate(rows):
        x = pad + i * step
        y0 = height - pad
        parts = []
        for key, color in (("accepted", "#2e7d32"), ("rejected", "#c62828"), ("pending", "#90a4ae")):
            h = (height - 2 * pad) * int(r[key]) / peak
            parts.append({"y": round(y0 - h, 1), "h": round(h, 1), "color": color, "key": key})
            y0 -= h
        columns.append({"x": round(x + 1, 1), "w": round(step - 2, 1), "parts": parts, "row": r})
    return {"columns": columns, "width": width, "height": height, "pad": pad, "peak": peak}


def render_report(data: ReportData) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    counts = {h: 0 for h in HEALTH_ORDER}
    for r in data.supply_demand:
        counts[r["health_class"]] = counts.get(r["health_class"], 0) + 1
    return env.get_template("report.html").render(
        data=data,
        counts=counts,
        colors=HEALTH_COLORS,
        supply=_supply_demand_chart(data.supply_demand),
        daily=_daily_chart(data.daily),
        chart_segments=CHART_SEGMENTS,
        today=date.today(),
    )


def write_report(target: Target | None = None, path: Path = DEFAULT_REPORT) -> Path:
    """Render the report from the marts of ``target`` to ``path`` (``reports/index.html``)."""
    html = render_report(load_report_data(target))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
