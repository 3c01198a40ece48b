"""The daily summary: yesterday's leads per segment, acceptance, capacity and health, from the
semantic layer, and the next actions.

Every number is a metric of the saved queries ``daily_summary`` (yesterday per segment) and
``segment_health`` (capacity and the health class per active segment), run through
:mod:`leadgen.semantic`; the actions are the rules of ``analytics.segment_actions``, ranked by
impact. Python only merges the two queries by segment and lays them out; nothing is recomputed
here. The same tables are printed on the terminal (rich) and published as a Prefect markdown
artifact.
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
from leadgen.semantic import Row, SavedQueries

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

@dataclass(frozen=True)
class SegmentLine:
    segment_id: str
    branch: str
    region_code: str
    leads: int
    accepted: int
    rejected: int
    pending: int
    acceptance_rate: float | None
    capacity_partners: int | None
    free_capacity: int | None
    utilization: float | None
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
    # what the night noticed about its inputs: "stale source: public.leads, newest 2 days ago"
    notes: list[str] = field(default_factory=list)

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


def _line(day: Row, health: Row) -> SegmentLine:
    """A segment from its row of daily_summary and of segment_health (either may be empty)."""
    either = day or health
    return SegmentLine(
        segment_id=str(either["segment"]),
        branch=either["segment__branch"],
        region_code=either["segment__region"],
        leads=int(day.get("leads_generated") or 0),
        accepted=int(day.get("leads_accepted") or 0),
        rejected=int(day.get("leads_rejected") or 0),
        pending=int(day.get("leads_pending") or 0),
        acceptance_rate=day.get("acceptance_rate"),
        capacity_partners=health.get("partners"),
        free_capacity=health.get("free_capacity"),
        utilization=health.get("utilization"),
        demand_leads_per_day_7d=health.get("demand_leads_per_day_7d"),
        days_of_cover=health.get("days_of_cover"),
        health_class=health.get("segment__health_class"),
    )


def load_summary(target: Target | None = None) -> Summary:
    """Yesterday (saved query daily_summary) and every active segment (segment_health), one line
    per segment in either, and the actions of the day."""
    target = target or resolve_target()
    day = yesterday(target)
    queries = SavedQueries(target)
    with connect(target) as conn, conn.cursor(row_factory=dict_row) as cur:
        yesterday_rows = {row["segment"]: row for row in queries.run(conn, "daily_summary")}
        health_rows = {row["segment"]: row for row in queries.run(conn, "segment_health")}
        actions: list[dict[str, object]] = []
        cur.execute("select to_regclass('analytics.segment_actions') is not null as built")
        built = cur.fetchone()
        if built and built["built"]:  # absent until the marts part of the first daily ran
            cur.execute(_ACTIONS_SQL)
            actions = cur.fetchall()
    segments = [*yesterday_rows, *(s for s in health_rows if s not in yesterday_rows)]
    lines = [_line(yesterday_rows.get(s, {}), health_rows.get(s, {})) for s in segments]
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
    if summary.notes:
        lines += [f"- **{note}**" for note in summary.notes] + [""]
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
    lines.append("Source: saved queries daily_summary and segment_health, analytics.segment_actions.")
    return "\n".join(lines)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal and console.width < 130:  # piped or logged: do not squeeze the table
        console = Console(width=130, file=console.file)
    console.print(f"[bold]{headline(summary)}[/bold]", soft_wrap=True)
    for note in summary.notes:
        console.print(f"[yellow]{note}[/yellow]", soft_wrap=True, markup=True, highlight=False)
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
