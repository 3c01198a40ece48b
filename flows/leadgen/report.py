"""The operator's report: a self-contained HTML page (inline SVG and CSS, no network) of the marts.

Top to bottom: what to act on first (``analytics.segment_actions``, ranked by impact), the health
classes with their rules (the thresholds read from the dbt vars, one truth), demand, free capacity
and days of cover per segment (saved query ``segment_health``), plans vs actual (``report_plans``),
campaign CPL vs target (``report_campaigns``), and the last 28 days (``report_daily``).

Numbers come from the saved queries of the semantic layer (run through :mod:`leadgen.semantic`),
decisions from the marts; Python only reads them and lays them out (the saved queries' columns
under the report's names, rows grouped per segment, chart geometry). Written by the ``daily`` flow
after its summary and by ``leadgen report``; times are Europe/Amsterdam (dbt var ``timezone``), the
database is named by its name only (never a connection string).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg.rows import dict_row

from leadgen.config import PROJECT_ROOT, Target, dbt_var, reporting_timezone, resolve_target
from leadgen.db import connect
from leadgen.semantic import SavedQueries
from leadgen.summary import HEALTH_ORDER

TEMPLATES = Path(__file__).parent / "templates"
CHART_SEGMENTS_PER_CLASS = 8
CHART_ROWS = 20
ATTENTION_SEGMENTS = 12
HEALTH_COLORS = {
    "healthy": "#2e7d32",
    "supply_constrained": "#c62828",
    "demand_constrained": "#ef6c00",
    "unhealthy": "#6a1b9a",
}
RULE_LABELS = {
    "unhealthy": "partners reject its leads",
    "supply_constrained": "too little partner capacity",
    "demand_constrained": "too few leads for its partners",
    "plan_behind": "plan behind",
    "cpl_above_target": "campaigns above CPL target",
}
ACTION_LABELS = {
    "invite_partners": "invite partners",
    "raise_max_open_leads": "raise max open leads",
    "recruit_partners": "recruit partners",
    "start_campaign": "start a partner campaign",
    "platform_campaign": "platform campaign",
    "review_rejections": "review rejections",
    "close_plan_gap": "close the plan gap",
    "pause_campaigns": "pause campaigns",
    "review_campaigns": "review campaigns",
}
# The vars that decide health_class and the actions (segment_supply_demand, segment_actions).
RULE_VARS = (
    "health_min_acceptance_rate", "health_min_decided_leads_28d", "health_min_days_of_cover",
    "health_max_utilization", "health_max_days_of_cover", "action_min_partner_free_capacity",
    "action_min_marketing_budget_left", "action_plan_behind_tolerance", "action_cpl_pause_ratio",
)


def default_report_path() -> Path:
    """``LEADGEN_REPORT_PATH``, else ``reports/index.html`` of the project."""
    return Path(os.environ.get("LEADGEN_REPORT_PATH") or PROJECT_ROOT / "reports" / "index.html")


_ACTIONS_SQL = """
select segment_id, branch, region_code, health_class, rule, action, impact_rank, impact_leads_per_week,
       reason, measure, measure_value, threshold_value, partner_count, partner_ids, plan_id,
       leads_needed_per_day, gap_leads_per_day, campaign_count, campaign_ids, excess_spend
from analytics.segment_actions
order by impact_rank
"""

# Per section: the saved query, the mart it needs (absent before its first build) and the report's
# name of each column it shows (the rest keep the saved query's names).
_SAVED_QUERIES: dict[str, tuple[str, str, dict[str, str]]] = {
    "supply_demand": ("segment_health", "analytics.segment_supply_demand", {
        "segment": "segment_id", "segment__branch": "branch", "segment__region": "region_code",
        "segment__health_class": "health_class", "leads_last_7_days": "leads_7d",
        "leads_last_28_days": "leads_28d", "partners": "capacity_partners",
    }),
    "plans": ("report_plans", "analytics.segment_plan_vs_actual", {
        "plan": "plan_id", "segment__branch": "branch", "segment__region": "region_code",
        "plan__period_start_date__day": "period_start_date", "plan__period_end_date__day": "period_end_date",
        "plan__is_on_track": "is_on_track", "plan_target_leads": "target_leads",
        "plan_actual_leads": "actual_leads", "plan_expected_leads": "expected_to_date",
        "plan_attainment": "share_of_target",
    }),
    "campaigns": ("report_campaigns", "analytics.campaign_performance", {
        "campaign": "campaign_id", "campaign__campaign_name": "campaign_name", "campaign__channel": "channel",
        "campaign__is_over_target": "is_over_target", "campaign_leads": "leads",
        "segment__branch": "branch", "segment__region": "region_code",
    }),
    "daily": ("report_daily", "analytics.lead_generation_stats", {
        "metric_time__day": "date", "leads_generated": "generated", "leads_accepted": "accepted",
        "leads_rejected": "rejected", "leads_pending": "pending",
    }),
}


@dataclass(frozen=True)
class ReportData:
    supply_demand: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    generated_at: datetime
    database: str  # the database's name only: never a URL, host or password
    actions: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    reporting_date: date | None = None


def _exists(cur: Any, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null as found", (relation,))
    row = cur.fetchone()
    return bool(row and row["found"])


def load_report_data(target: Target | None = None) -> ReportData:
    target = target or resolve_target()
    queries = SavedQueries(target)
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        if not _exists(cur, "analytics.segment_supply_demand"):
            raise RuntimeError(
                f"database {target.dbname!r} has no marts yet (analytics.segment_supply_demand): "
                "run `leadgen run daily` first"
            )
        fetched: dict[str, list[dict[str, Any]]] = {"actions": []}
        if _exists(cur, "analytics.segment_actions"):  # absent before its first build
            cur.execute(_ACTIONS_SQL)
            fetched["actions"] = cur.fetchall()
        for key, (name, mart, names) in _SAVED_QUERIES.items():
            rows = queries.run(conn, name) if _exists(cur, mart) else []
            fetched[key] = [{names.get(column, column): value for column, value in r.items()} for r in rows]
        cur.execute("select now() as now, (now() at time zone %s)::date as today", (reporting_timezone(),))
        clock = cur.fetchone()
    assert clock is not None
    return ReportData(
        supply_demand=fetched["supply_demand"], daily=fetched["daily"],
        generated_at=clock["now"], database=target.dbname,
        actions=fetched["actions"], plans=fetched["plans"], campaigns=fetched["campaigns"],
        reporting_date=clock["today"],  # the saved queries' windows end before today
    )


# --- chart geometry ------------------------------------------------------------------------------
def nice_ticks(peak: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``peak`` (steps of 1, 2 or 5 times a power of ten)."""
    if peak <= 0:
        return [0.0, 1.0]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(peak / step - 1e-9) + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _axis(peak: float, x0: float, width: float) -> dict[str, Any]:
    ticks = nice_ticks(peak)
    axis_max = ticks[-1]
    return {
        "max": axis_max,
        "ticks": [{"x": round(x0 + width * t / axis_max, 1), "label": _fmt(t)} for t in ticks],
        "scale": width / axis_max,
    }


def _f(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _label(row: dict[str, Any]) -> str:
    return f"{row.get('branch') or '?'} / {row.get('region_code') or '?'}"


def _chart_segments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The busiest segments of every class (by 28-day leads), so each class is visible, worst class first."""
    picked: list[dict[str, Any]] = []
    for health in HEALTH_ORDER:
        picked += [r for r in rows if r["health_class"] == health][:CHART_SEGMENTS_PER_CLASS]
    return picked


DAYS_OF_COVER_CAP = 60  # days; longer cover is drawn to the edge and labelled with its value


def _segments_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Three panels side by side, one measure and one axis each: demand (leads/day, 7-day average),
    free capacity (open lead slots now) and days of cover (days), one row per segment."""
    label_w, panel_w, gap, row_h, top = 190, 200, 56, 22, 46
    panels = []
    specs = (
        ("demand", "Demand (leads/day, 7-day avg)", "demand_leads_per_day_7d"),
        ("supply", "Free capacity (open slots now)", "free_capacity"),
        ("cover", "Days of cover (days)", "days_of_cover"),
    )
    for i, (key, title, column) in enumerate(specs):
        x0 = label_w + i * (panel_w + gap)
        values = [_f(r[column]) for r in rows]
        peak = DAYS_OF_COVER_CAP if key == "cover" else max([1.0, *values])
        panels.append({"key": key, "title": title, "x0": x0, "column": column,
                       **_axis(peak, x0, panel_w)})
    cover = panels[2]
    thresholds = [
        {"x": round(cover["x0"] + cover["scale"] * float(dbt_var(name)), 1), "label": f"{dbt_var(name)} d"}
        for name in ("health_min_days_of_cover", "health_max_days_of_cover")
        if float(dbt_var(name)) <= cover["max"]
    ]
    bars = []
    for n, r in enumerate(rows):
        y = top + n * row_h
        cells = []
        for p in panels:
            raw = r[p["column"]]
            value = min(_f(raw), p["max"])
            text = "no demand" if raw is None else _fmt(_f(raw))
            width = round(max(value * p["scale"], 0), 1)
            cells.append({"key": p["key"], "x": p["x0"], "w": width, "text": text})
        bars.append({"label": _label(r), "y": y, "row": r, "cells": cells,
                     "color": HEALTH_COLORS.get(r["health_class"], "#607d8b")})
    return {
        "bars": bars, "panels": panels, "thresholds": thresholds, "label_w": label_w, "panel_w": panel_w,
        "row_h": row_h, "top": top, "width": label_w + 3 * panel_w + 2 * gap + 20,
        "height": top + len(rows) * row_h + 10,
    }


def _plans_chart(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """Running plans most behind first: actual leads (bar), expected by now (black tick), target
    (light bar), all on one axis of leads."""
    rows = plans[:CHART_ROWS]
    label_w, plot_w, row_h, top = 200, 560, 22, 34
    axis = _axis(max([1.0, *(_f(r["target_leads"]) for r in rows), *(_f(r["actual_leads"]) for r in rows)]),
                 label_w, plot_w)
    bars = [{
        "label": _label(r), "y": top + n * row_h, "row": r,
        "target_w": round(_f(r["target_leads"]) * axis["scale"], 1),
        "actual_w": round(_f(r["actual_leads"]) * axis["scale"], 1),
        "expected_x": round(label_w + _f(r["expected_to_date"]) * axis["scale"], 1),
        "behind": not r["is_on_track"],
    } for n, r in enumerate(rows)]
    return {"bars": bars, "label_w": label_w, "plot_w": plot_w, "row_h": row_h, "top": top, **axis,
            "width": label_w + plot_w + 60, "height": top + len(rows) * row_h + 10,
            "behind": sum(1 for p in plans if not p["is_on_track"]), "total": len(plans)}


def _campaign_label(c: dict[str, Any]) -> str:
    name = str(c["campaign_name"] or c["channel"])[:24]
    segment = _label(c) if c.get("branch") else "no segment"
    return f"{name} ({segment})"


def _campaigns_chart(campaigns: list[dict[str, Any]]) -> dict[str, Any]:
    """Active campaigns with leads and a CPL target, worst first: CPL (bar) against its target
    (black tick), both EUR per lead on one axis."""
    with_leads = [c for c in campaigns if c["cpl"] is not None]
    rows = with_leads[:CHART_ROWS]
    label_w, plot_w, row_h, top = 330, 460, 22, 34
    axis = _axis(max([1.0, *(_f(c["cpl"]) for c in rows), *(_f(c["cpl_target"]) for c in rows)]),
                 label_w, plot_w)
    bars = [{
        "label": _campaign_label(c), "y": top + n * row_h, "row": c,
        "cpl_w": round(_f(c["cpl"]) * axis["scale"], 1),
        "target_x": round(label_w + _f(c["cpl_target"]) * axis["scale"], 1),
        "over": bool(c["is_over_target"]),
    } for n, c in enumerate(rows)]
    return {"bars": bars, "label_w": label_w, "plot_w": plot_w, "row_h": row_h, "top": top, **axis,
            "width": label_w + plot_w + 70, "height": top + len(rows) * row_h + 10,
            "without_leads": [c for c in campaigns if c["cpl"] is None],
            "over": sum(1 for c in campaigns if c["is_over_target"]), "total": len(campaigns)}


def _daily_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Columns per day: accepted, rejected and pending stacked (together: leads generated), with a
    leads axis on the left and day ticks below."""
    width, height, left, right, top, bottom = 760, 240, 56, 16, 14, 34
    plot_h, plot_w = height - top - bottom, width - left - right
    ticks = nice_ticks(max([1.0, *(_f(r["generated"]) for r in rows)]))
    peak = ticks[-1]
    step = plot_w / max(len(rows), 1)
    columns = []
    for i, r in enumerate(rows):
        y0 = top + plot_h
        parts = []
        for key, color in (("accepted", "#2e7d32"), ("rejected", "#c62828"), ("pending", "#90a4ae")):
            h = plot_h * _f(r[key]) / peak
            parts.append({"y": round(y0 - h, 1), "h": round(h, 1), "color": color, "key": key})
            y0 -= h
        columns.append({"x": round(left + i * step + 1, 1), "w": round(max(step - 2, 1), 1), "parts": parts,
                        "row": r, "tick": i % 7 == 0 or i == len(rows) - 1})
    return {
        "columns": columns, "width": width, "height": height, "left": left, "top": top,
        "plot_h": plot_h, "plot_w": plot_w,
        "yticks": [{"y": round(top + plot_h - plot_h * t / peak, 1), "label": _fmt(t)} for t in ticks],
    }


# --- the page --------------------------------------------------------------------------------------
def _attention(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """segment_actions grouped per segment, in the mart's impact order (its best rank first)."""
    by_segment: dict[str, dict[str, Any]] = {}
    for a in actions:
        key = str(a["segment_id"])
        if key not in by_segment:
            by_segment[key] = {"label": _label(a), "health": a["health_class"], "rank": a["impact_rank"],
                               "impact": a["impact_leads_per_week"], "actions": []}
        by_segment[key]["actions"].append(a)
    return list(by_segment.values())


def rule_values() -> dict[str, str]:
    """The thresholds of the health classes and the actions, as dbt_project.yml sets them."""
    return {name: dbt_var(name) for name in RULE_VARS}


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.0f} %"


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal | float):
        return f"{float(value):,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _short_ids(ids: str | None, n: int = 3) -> str:
    if not ids:
        return ""
    parts = ids.split(",")
    more = f" +{len(parts) - n}" if len(parts) > n else ""
    return ", ".join(p[:8] for p in parts[:n]) + more


def render_report(data: ReportData) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters.update(pct=_pct, num=_num, short_ids=_short_ids)
    counts = {h: 0 for h in HEALTH_ORDER}
    for r in data.supply_demand:
        counts[r["health_class"]] = counts.get(r["health_class"], 0) + 1
    attention = _attention(data.actions)
    return env.get_template("report.html").render(
        data=data,
        counts=counts,
        colors=HEALTH_COLORS,
        rules=rule_values(),
        rule_labels=RULE_LABELS,
        action_labels=ACTION_LABELS,
        attention=attention[:ATTENTION_SEGMENTS],
        attention_total=len(attention),
        segments=_segments_chart(_chart_segments(data.supply_demand)),
        per_class=CHART_SEGMENTS_PER_CLASS,
        cover_cap=DAYS_OF_COVER_CAP,
        plans=_plans_chart(data.plans),
        campaigns=_campaigns_chart(data.campaigns),
        daily=_daily_chart(data.daily),
        timezone=reporting_timezone(),
        generated_at=data.generated_at.astimezone(ZoneInfo(reporting_timezone())),
    )


def write_report(target: Target | None = None, path: Path | None = None) -> Path:
    """Render the report from the marts of ``target`` to ``path`` (default: default_report_path())."""
    path = path or default_report_path()
    html = render_report(load_report_data(target))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)  # a browser never opens a half-written page
    return path
