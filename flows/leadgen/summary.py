"""The daily summary: yesterday's leads per segment, acceptance, capacity and health, from the marts,
and the next actions.

Every number is read from the marts (``analytics.lead_generation_stats`` for the day,
``analytics.segment_supply_demand`` for capacity and the health class, ``analytics.segment_actions``
for what to do, ranked by impact); nothing is recomputed here. The same tables are printed on the
terminal (rich) and published as a Prefect markdown artifact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from leadgen.config import Target, reporting_timezone, resolve_target
from leadgen.db import connect

# Presentation order of the health classes (the classes themselves are decided in dbt).
HEALTH_ORDER = ("unhealthy", "supply_constrained", "demand_constrained", "healthy")
TOP_SEGMENTS = 15
TOP_ACTIONS = 10

# The actions of the day, most leads at stake first (the ranking is the mart's impact_rank).
_ACTIONS_SQL = """
select impact_rank, branch, region_code, rule, action, impact_leads_per_week, reason
from analytics.segment_actions
order by impact_rank
"""

# One row per segment that has stats for the day or is active now (full outer join of two marts).
_SEGMENTS_SQL = """
with day_stats as (
    select * from analytics.lead_generation_stats where date = %(day)s
),
supply_demand as (
    select * from analytics.segment_supply_demand
),
segments as (
    select id, branch, region from public.lead_segments
)
select
    coalesce(day_stats.segment_id, supply_demand.segment_id) as segment_id,
    coalesce(supply_demand.branch, segments.branch) as branch,
    coalesce(supply_demand.region_code, segments.region) as region_code,
    coalesce(day_stats.leads_generated, 0) as leads,
    coalesce(day_stats.leads_accepted, 0) as accepted,
    coalesce(day_stats.leads_rejected, 0) as rejected,
    coalesce(day_stats.leads_pending, 0) as pending,
    day_stats.acceptance_rate,
    supply_demand.capacity_partners,
    supply_demand.free_capacity,
    supply_demand.utilization,
    supply_demand.demand_leads_per_day_7d,
    supply_demand.days_of_cover,
    supply_demand.health_class
from day_stats
full outer join supply_demand on day_stats.segment_id = supply_demand.segment_id
left join segments on segments.id = coalesce(day_stats.segment_id, supply_demand.segment_id)
"""


@dataclass(frozen=True)
class SegmentLine:
    segment_id: str
    branch: str
    region_code: str
    leads: int
    accepted: int
    rejected: int
    pending: int
    acceptance_rate: Decimal | None
    capacity_partners: int | None
    free_capacity: int | None
    utilization: Decimal | None
    demand_leads_per_day_7d: Decimal | None
    days_of_cover: Decimal | None
    health_class: str | None

    @property
    def label(self) -> str:
        return f"{self.branch} / {self.region_code}"


@dataclass(frozen=True)
class ActionLine:
    impact_rank: int
    branch: str | None
    region_code: str | None
    rule: str
    action: str
    impact_leads_per_week: Decimal
    reason: str

    @property
    def label(self) -> str:
        return f"{self.branch} / {self.region_code}"


@dataclass
class Summary:
    day: date
    segments: list[SegmentLine] = field(default_factory=list)
    actions: list[ActionLine] = field(default_factory=list)

    @property
    def total_leads(self) -> int:
        return sum(s.leads for s in self.segments)

    @property
    def total_accepted(self) -> int:
        return sum(s.accepted for s in self.segments)

    @property
    def health_counts(self) -> dict[str, int]:
        counts = {h: 0 for h in HEALTH_ORDER}
        for s in self.segments:
            if s.health_class:
                counts[s.health_class] = counts.get(s.health_class, 0) + 1
        return counts

    @property
    def busiest(self) -> list[SegmentLine]:
        ranked = sorted(self.segments, key=lambda s: (-s.leads, s.label))
        return [s for s in ranked if s.leads > 0][:TOP_SEGMENTS]

    @property
    def needing_attention(self) -> list[SegmentLine]:
        """Active segments whose health class is not ``healthy``, worst class first, busiest first."""
        flagged = [s for s in self.segments if s.health_class and s.health_class != "healthy"]
        rank = {h: i for i, h in enumerate(HEALTH_ORDER)}
        return sorted(
            flagged,
            key=lambda s: (rank.get(s.health_class or "", 99), -(s.demand_leads_per_day_7d or 0), s.label),
        )


def yesterday(target: Target | None = None) -> date:
    """Yesterday in the marts' calendar (dbt var `timezone`), by the database clock."""
    with connect(target) as conn:
        row = conn.execute("select (now() at time zone %s)::date - 1", (reporting_timezone(),)).fetchone()
    assert row is not None
    return row[0]


def load_summary(target: Target | None = None, day: date | None = None) -> Summary:
    target = target or resolve_target()
    day = day or yesterday(target)
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_SEGMENTS_SQL, {"day": day})
        rows = cur.fetchall()
        actions: list[dict[str, object]] = []
        cur.execute("select to_regclass('analytics.segment_actions') is not null as built")
        built = cur.fetchone()
        if built and built["built"]:  # absent until the marts part of the first daily ran
            cur.execute(_ACTIONS_SQL)
            actions = cur.fetchall()
    lines = [SegmentLine(**{**row, "segment_id": str(row["segment_id"])}) for row in rows]
    return Summary(day=day, segments=lines, actions=[ActionLine(**a) for a in actions])  # type: ignore[arg-type]


# --- rendering -------------------------------------------------------------------------------
def _pct(value: Decimal | float | None) -> str:
    return "-" if value is None else f"{float(value) * 100:.0f}%"


def _num(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal | float):
        return f"{float(value):.1f}"
    return str(value)


_COLUMNS = (
    "segment", "leads", "accepted", "acceptance", "partners", "free capacity", "utilization", "health"
)


def _cells(s: SegmentLine) -> list[str]:
    return [
        s.label,
        str(s.leads),
        str(s.accepted),
        _pct(s.acceptance_rate),
        _num(s.capacity_partners),
        _num(s.free_capacity),
        _pct(s.utilization),
        s.health_class or "inactive",
    ]


def headline(summary: Summary) -> str:
    counts = ", ".join(f"{n} {h}" for h, n in summary.health_counts.items())
    return (
        f"{summary.day}: {summary.total_leads} leads in {sum(1 for s in summary.segments if s.leads)} "
        f"segments, {summary.total_accepted} accepted so far; active segments: {counts}"
    )


def to_markdown(summary: Summary) -> str:
    def table(rows: list[SegmentLine]) -> list[str]:
        out = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
        out += ["| " + " | ".join(_cells(s)) + " |" for s in rows]
        return out

    attention = summary.needing_attention
    lines = [f"# leadgen daily summary for {summary.day}", "", headline(summary), ""]
    lines += [f"## Busiest segments yesterday (top {TOP_SEGMENTS})", "", *table(summary.busiest), ""]
    lines += [f"## Segments needing attention ({len(attention)}, first {TOP_SEGMENTS})", ""]
    if attention:
        lines += [*table(attention[:TOP_SEGMENTS]), ""]
    else:
        lines += ["None: every active segment is healthy.", ""]
    title = f"## Next actions ({len(summary.actions)}, first {TOP_ACTIONS}, most leads/week at stake first)"
    lines += [title, ""]
    if summary.actions:
        lines += ["| # | segment | action | leads/week | reason |", "|---|---|---|---|---|"]
        lines += [
            f"| {a.impact_rank} | {a.label} | {a.action} | {_num(a.impact_leads_per_week)} | {a.reason} |"
            for a in summary.actions[:TOP_ACTIONS]
        ]
        lines.append("")
    else:
        lines += ["None.", ""]
    lines.append(
        "Source: analytics.lead_generation_stats, analytics.segment_supply_demand, analytics.segment_actions."
    )
    return "\n".join(lines)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal and console.width < 130:  # piped or logged: do not squeeze the table
        console = Console(width=130, file=console.file)
    console.print(f"[bold]{headline(summary)}[/bold]", soft_wrap=True)
    attention = summary.needing_attention
    for title, rows in (
        (f"Busiest segments on {summary.day}", summary.busiest),
        (f"Segments needing attention ({len(attention)}, first {TOP_SEGMENTS})", attention[:TOP_SEGMENTS]),
    ):
        table = Table(title=title, title_justify="left")
        for i, column in enumerate(_COLUMNS):
            table.add_column(column, justify="left" if i in (0, 7) else "right", no_wrap=i in (0, 7))
        for s in rows:
            table.add_row(*_cells(s))
        console.print(table)
    if summary.actions:
        table = Table(
            title=f"Next actions ({len(summary.actions)}, first {TOP_ACTIONS}; analytics.segment_actions)",
            title_justify="left",
        )
        for column in ("#", "segment", "action", "leads/week", "reason"):
            table.add_column(column, justify="right" if column in ("#", "leads/week") else "left",
                             no_wrap=column in ("segment", "action"))
        for a in summary.actions[:TOP_ACTIONS]:
            table.add_row(str(a.impact_rank), a.label, a.action, _num(a.impact_leads_per_week), a.reason)
        console.print(table)
