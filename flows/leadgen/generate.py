"""A realistic, messy synthetic Dutch marketplace for the stand-in (dev, demo and test databases).

Deterministic per seed: the small dimensions (industries, partners, admins) come from a seeded
Python RNG; the leads are generated set-based in SQL, where every random choice is a hash of
(seed, lead number, purpose) (``hashint8extended``, stable across PostgreSQL versions), so the
result does not depend on the query plan. Leads go in with ``INSERT … SELECT generate_series`` in
chunks of ``CHUNK_ROWS`` per statement, all in one transaction (an interrupted run leaves nothing).

The generator refuses a database that already holds leads or profiles: a second call does not
append (generate into a fresh stand-in instead).

It produces messy *inputs* only (the forms production holds); resolving them is dbt's job.
"""

from __future__ import annotations

import csv
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from leadgen.config import PROJECT_ROOT, Target, dbt_var, resolve_target
from leadgen.db import connect, table_exists

SEEDS_DIR = PROJECT_ROOT / "seeds"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CHUNK_ROWS = 200_000
BIG_CITIES = ("amsterdam", "rotterdam", "den-haag", "utrecht-gemeente", "eindhoven", "tilburg",
              "groningen-gemeente")

# Relative demand per branch (leads); unknown industries get the rest (unmatched leads).
BRANCH_WEIGHTS = {
    "schilder": 16, "loodgieter": 12, "installateur": 11, "dakdekker": 10, "aannemer": 9, "elektricien": 8,
    "hovenier": 8, "timmerman": 7, "zonnepanelen": 7, "stukadoor": 5, "tegelzetter": 4, "glaszetter": 3,
}
UNKNOWN_INDUSTRIES = ("Schoonmaakbedrijf", "Verhuizer", "Ongediertebestrijding")
UNKNOWN_WEIGHT = 2
HOUR_WEIGHTS = (0.15, 0.08, 0.05, 0.05, 0.06, 0.12, 0.35, 0.7, 1.0, 1.2, 1.25, 1.2,
                1.1, 1.1, 1.05, 1.0, 1.0, 1.05, 1.2, 1.45, 1.5, 1.3, 0.9, 0.45)
WEEKDAY_WEIGHTS = (1.18, 1.1, 1.05, 1.0, 0.88, 0.62, 0.82)  # Monday … Sunday
FIRST_NAMES = ("Jan", "Sanne", "Pieter", "Fatima", "Daan", "Emma", "Mohamed", "Lotte", "Kees", "Anouk",
               "Bram", "Sophie", "Youssef", "Eva", "Henk", "Noor")
LAST_NAMES = ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
              "Smit", "Meijer", "de Boer", "Mulder", "Yilmaz", "Bos", "Vos", "Peters", "Hendriks", "Dekker")


class GeneratorError(RuntimeError):
    """The target is not a place the generator may write to (missing stand-in, existing data)."""


# --- reference data from the seeds --------------------------------------------------------------
@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    province: str


@dataclass
class Reference:
    provinces: list[str]  # province codes, sorted
    province_names: dict[str, str]
    province_aliases: dict[str, list[str]]  # raw aliases per province code
    municipalities: dict[str, Municipality]
    pc4: list[tuple[int, str]]  # (pc4, municipality code), every existing PC4
    branch_aliases: dict[str, list[str]]  # raw aliases per branch slug (the slug first)


def _read_csv(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_reference() -> Reference:
    provinces = _read_csv("regions/region_provinces.csv")
    aliases: dict[str, list[str]] = defaultdict(list)
    for row in _read_csv("regions/region_province_aliases.csv"):
        aliases[row["province_code"]].append(row["alias"])
    munis = {
        r["municipality_code"]: Municipality(
            r["municipality_code"], r["municipality_name"], r["province_code"]
        )
        for r in _read_csv("regions/region_municipalities.csv")
    }
    pc4 = [
        (n, r["municipality_code"])
        for r in _read_csv("regions/region_pc4_ranges.csv")
        for n in range(int(r["pc4_from"]), int(r["pc4_to"]) + 1)
    ]
    branches: dict[str, list[str]] = defaultdict(list)
    for row in _read_csv("branch_aliases.csv"):
        branches[row["branch"]].append(row["alias"])
    for slug, names in branches.items():
        names.sort(key=lambda a: (a != slug, a))
    return Reference(
        provinces=sorted(p["province_code"] for p in provinces),
        province_names={p["province_code"]: p["province_name"] for p in provinces},
        province_aliases={k: sorted(v) for k, v in aliases.items()},
        municipalities=munis,
        pc4=sorted(pc4),
        branch_aliases=dict(sorted(branches.items())),
    )


# --- messy text -------------------------------------------------------------------------------------
def messy(rng: random.Random, text: str) -> str:
    """The same value the way people type it: case changes and stray spaces, sometimes."""
    r = rng.random()
    if r < 0.55:
        return text
    if r < 0.68:
        return text.lower()
    if r < 0.76:
        return text.upper()
    if r < 0.84:
        return f" {text}"
    if r < 0.92:
        return f"{text} "
    return f"  {text.lower()} "


def province_form(rng: random.Random, ref: Reference, code: str) -> str:
    """A province as production holds it: its name, an alias ('N-Brabant', 'nb', 'Fryslân'), messy."""
    if rng.random() < 0.5:
        return messy(rng, ref.province_names[code])
    return messy(rng, rng.choice(ref.province_aliases[code]))


def province_forms_for_leads(ref: Reference, code: str) -> list[str]:
    """A weighted bag of forms for leads.province (picked in SQL): mostly the name."""
    name = ref.province_names[code]
    return [name] * 8 + [name.lower(), name.upper(), f" {name}", f"{name} "] + ref.province_aliases[code]


# --- dimensions -------------------------------------------------------------------------------------
@dataclass
class Industry:
    id: str
    name: str
    branch: str | None  # None: an industry outside the branch vocabulary
    weight: float


@dataclass
class Profile:
    id: str
    email: str
    full_name: str
    company_name: str | None
    is_admin: bool
    primary_branch: str | None
    regions: list[str] | None
    max_open_leads: int | None
    is_active_for_routing: bool
    routing_priority: int
    lead_industries: list[str] | None
    lead_locations: list[str] | None
    created_at: datetime
    # clean truth, used to route leads and to pick segments (never written to the database)
    branch: str | None = None
    provinces: set[str] = field(default_factory=set)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_industries(rng: random.Random, ref: Reference) -> list[Industry]:
    industries: list[Industry] = []
    for branch, names in ref.branch_aliases.items():
        spellings = [n for n in names if n != branch] or names
        # production holds duplicates: sometimes two industries for one branch ("Schilder", "Schilderwerken")
        chosen = rng.sample(spellings, k=min(len(spellings), 2 if rng.random() < 0.4 else 1))
        for i, name in enumerate(chosen):
            share = (0.7 if i == 0 else 0.3) if len(chosen) > 1 else 1.0
            industries.append(Industry(_uuid(rng), messy(rng, name) if i else name, branch,
                                       BRANCH_WEIGHTS.get(branch, 5) * share))
    for name in UNKNOWN_INDUSTRIES:
        industries.append(Industry(_uuid(rng), name, None, UNKNOWN_WEIGHT / len(UNKNOWN_INDUSTRIES)))
    return industries


def make_profiles(
    rng: random.Random, ref: Reference, partners: int, now: datetime, days: int
) -> list[Profile]:
    branches = list(ref.branch_aliases)
    branch_weights = [BRANCH_WEIGHTS.get(b, 5) for b in branches]
    munis_by_province: dict[str, list[Municipality]] = defaultdict(list)
    for m in ref.municipalities.values():
        munis_by_province[m.province].append(m)
    admins = max(2, partners // 50)
    profiles: list[Profile] = []
    for i in range(partners + admins):
        is_admin = i >= partners
        pid = _uuid(rng)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = now - timedelta(days=days + rng.uniform(0, 700))
        if is_admin and rng.random() < 0.5:
            profiles.append(Profile(pid, f"admin{i - partners + 1}@leadgen.example", f"{first} {last}", None,
                                    True, None, None, None, True, 0, None, None, created))
            continue
        branch = rng.choices(branches, weights=branch_weights)[0]
        home_pc4, home_muni_code = rng.choice(ref.pc4)
        home = ref.municipalities[home_muni_code]
        provinces = {home.province}
        r = rng.random()
        if r < 0.40:
            regions = [province_form(rng, ref, home.province)]
        elif r < 0.62:
            regions = [messy(rng, home.name)]
        elif r < 0.80:
            other = rng.choice(munis_by_province[home.province])
            regions = [province_form(rng, ref, home.province), messy(rng, home.name), messy(rng, other.name)]
        elif r < 0.95:
            extra = rng.sample([p for p in ref.provinces if p != home.province], k=rng.randint(1, 2))
            provinces.update(extra)
            regions = [province_form(rng, ref, p) for p in [home.province, *extra]]
        else:
            regions = None  # only lead_locations
        lead_locations = None
        if regions is None or rng.random() < 0.45:
            lead_locations = [messy(rng, home.name)]
            if rng.random() < 0.5:
                lead_locations.append(province_form(rng, ref, home.province))
        primary_branch: str | None = messy(rng, rng.choice(ref.branch_aliases[branch]))
        lead_industries = None
        if rng.random() < 0.4:
            lead_industries = [messy(rng, rng.choice(ref.branch_aliases[branch]))]
            if rng.random() < 0.3:
                lead_industries.append(messy(rng, rng.choice(ref.branch_aliases[rng.choice(branches)])))
        if rng.random() < 0.04:
            primary_branch = None
            lead_industries = lead_industries or [rng.choice(ref.branch_aliases[branch])]
        alias = rng.choice([a for a in ref.branch_aliases[branch] if a[0].isupper()] or [branch.title()])
        profiles.append(Profile(
            id=pid,
            email=f"{'admin' if is_admin else 'partner'}{i + 1}@{branch}-{home_pc4}.example",
            full_name=f"{first} {last}",
            company_name=f"{last.split()[-1].title()} {alias}",
            is_admin=is_admin,
            primary_branch=primary_branch,
            regions=regions,
            max_open_leads=rng.randint(0, 50),
            is_active_for_routing=rng.random() >= 0.12,
            routing_priority=rng.randint(0, 10),
            lead_industries=lead_industries,
            lead_locations=lead_locations,
            created_at=created,
            branch=branch,
            provinces=provinces,
        ))
    return profiles


# --- time slots (daily and weekly rhythm, Europe/Amsterdam) ------------------------------------
def make_slots(rng: random.Random, leads: int, days: int, now: datetime) -> list[tuple[datetime, int, int]]:
    """(slot start, first lead number, lead count) per hour, over `days` Amsterdam days ending now.

    Hours are walked in UTC and read in Amsterdam time, so DST days have 23 or 25 hours.
    """
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)  # the current hour is not over
    first_day = now.astimezone(AMSTERDAM).date() - timedelta(days=days - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=AMSTERDAM).astimezone(UTC)
    day_noise = [rng.uniform(0.85, 1.15) for _ in range(days + 1)]
    hours: list[tuple[datetime, float]] = []
    t = start
    while t < end:
        local = t.astimezone(AMSTERDAM)
        day = (local.date() - first_day).days
        trend = 0.8 + 0.4 * day / max(days - 1, 1)
        weight = HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * trend * day_noise[day]
        hours.append((t, weight))
        t += timedelta(hours=1)
    if not hours:
        raise GeneratorError("days must be at least 1")
    total = sum(w for _, w in hours)
    exact = [leads * w / total for _, w in hours]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(hours)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: leads - sum(counts)]:
        counts[i] += 1
    slots: list[tuple[datetime, int, int]] = []
    next_n = 1
    for (slot_start, _), count in zip(hours, counts, strict=True):
        if count:
            slots.append((slot_start, next_n, count))
            next_n += count
    return slots


# --- SQL ----------------------------------------------------------------------------------------------
def _u(seed: int, k: int) -> str:
    """A uniform [0, 1) number for lead n and purpose k: a hash, independent of the query plan."""
    return f"((hashint8extended(g.n, {seed * 1000 + k}) & 9007199254740991)::float8 / 9007199254740992.0)"


def _h(seed: int, k: int) -> str:
    return f"(hashint8extended(g.n, {seed * 1000 + k}) & 2147483647)"


@dataclass(frozen=True)
class Shape:
    """What the generator must know of the platform's shape (a stand-in variant): the live types of
    the keys and the status, the assigned-partner column, the optional columns present."""

    industry_id_type: str = "uuid"
    status_type: str = "text"
    regions_type: str = "text[]"
    partner_column: str | None = "partner_id"
    lead_columns: frozenset[str] = frozenset(
        {"city", "partner_id", "assigned_at", "customer_name", "description"}
    )
    profile_columns: frozenset[str] = frozenset(
        {"email", "full_name", "company_name", "lead_industries", "lead_locations", "created_at"}
    )

    @property
    def integer_industry_ids(self) -> bool:
        return self.industry_id_type in ("integer", "bigint", "smallint")


def _column_types(conn: psycopg.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped",
        (table,),
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def read_shape(conn: psycopg.Connection) -> Shape:
    leads = _column_types(conn, "public.leads")
    profiles = _column_types(conn, "public.profiles")
    partner = dbt_var("leads_assigned_partner_column")
    if "regions" not in profiles:
        raise GeneratorError("public.profiles has no regions column")
    return Shape(
        industry_id_type=_column_types(conn, "public.industries")["id"],
        status_type=leads["status"],
        regions_type=profiles["regions"],
        partner_column=partner if partner in leads else None,
        lead_columns=frozenset(leads),
        profile_columns=frozenset(profiles),
    )


def leads_chunk_sql(seed: int, shape: Shape | None = None) -> str:
    """INSERT of the leads numbered %(lo)s..%(hi)s (parameters lo, hi, now), in the platform's shape."""
    shape = shape or Shape()
    u = lambda k: _u(seed, k)  # noqa: E731
    h = lambda k: _h(seed, k)  # noqa: E731
    optional = [c for c in ("city", "assigned_at", "customer_name", "description") if c in shape.lead_columns]
    if shape.partner_column is None:
        optional = [c for c in optional if c != "assigned_at"]
    targets = ["id", "created_at", "updated_at", "industry_id", "province", "postcode", "status"]
    values = [
        "f.id", "f.created_at", "f.updated_at",
        f"f.industry_id::{shape.industry_id_type}", "f.province", "f.postcode",
        f"f.status::{shape.status_type}",
    ]
    if shape.partner_column:
        targets.append(sql.Identifier(shape.partner_column).as_string())
        values.append("f.partner_id")
    targets += optional
    values += [f"f.{c}" for c in optional]
    return f"""
insert into public.leads ({", ".join(targets)})
with numbered as (
    select g.n, s.slot_start + make_interval(secs => 3599.0 * {u(1)}) as created_at,
        {u(2)} as u_pc4, {u(4)} as u_postcode_kind, {u(5)} as u_postcode_form,
        {h(6)} as h_letters, {u(7)} as u_province_kind, {u(8)} as u_province_form, {u(9)} as u_status,
        {u(10)} as u_partner, {u(11)} as u_assign, {u(12)} as u_update, {h(13)} as h_name,
        {u(14)} as u_city, {u(15)} as u_other_province,
        floor({u(3)} * %(n_wheel)s)::int as wheel_slot
    from pg_temp.gen_slot as s
    cross join lateral generate_series(
        greatest(s.start_n, %(lo)s), least(s.start_n + s.cnt - 1, %(hi)s)
    ) as g (n)
    where s.start_n <= %(hi)s and s.start_n + s.cnt - 1 >= %(lo)s
),

picked as (
    select
        b.*,
        p.pc4,
        p.municipality_name,
        p.province_idx,
        i.industry_id,
        i.branch_idx,
        i.name as industry_name,
        date_part('epoch', %(now)s::timestamptz - b.created_at) / 86400.0 as age_days,
        chr(65 + (b.h_letters %% 26)::int) || chr(65 + ((b.h_letters / 26) %% 26)::int) as letters,
        (p.province_idx + 1 + floor(b.u_other_province * 11)::int) %% 12 as other_province_idx
    from numbered as b
    inner join pg_temp.gen_pc4 as p on p.idx = floor(b.u_pc4 * %(n_pc4)s)::int
    inner join pg_temp.gen_wheel as w on w.slot = b.wheel_slot
    inner join pg_temp.gen_industry as i on i.idx = w.industry_idx
),

with_status as materialized (  -- the random picks evaluated once per lead
    select
        k.*,
        0.02 + 0.6 * exp(-k.age_days / 0.7) as p_new,
        0.02 + 0.3 * exp(-k.age_days / 3.0) as p_pending,
        0.14 * (1 - exp(-k.age_days / 5.0)) as expired_share
    from picked as k
),

statused as (
    select
        s.*,
        case
            when s.u_status < s.p_new then 'new'
            when s.u_status < s.p_new + s.p_pending then 'pending'
            when s.u_status >= 1 - (1 - s.p_new - s.p_pending) * s.expired_share then 'expired'
            when s.u_status < s.p_new + s.p_pending
                + (1 - s.p_new - s.p_pending) * (1 - s.expired_share) * 0.68 then 'accepted'
            else 'rejected'
        end as status
    from with_status as s
),

pooled as (
    -- the partner pool of a routed lead: its branch in its province, else its branch, else anyone
    select
        s.*,
        case when pb.size is not null or pa.size is not null then s.branch_idx else -1 end as pool_branch,
        case when pb.size is not null then s.province_idx else -1 end as pool_province,
        coalesce(pb.size, pa.size, %(n_all_partners)s) as pool_size
    from statused as s
    left join pg_temp.gen_pool as pb on pb.branch_idx = s.branch_idx and pb.province_idx = s.province_idx
    left join pg_temp.gen_pool as pa on pa.branch_idx = s.branch_idx and pa.province_idx = -1
),

final as (
    select
        md5({seed}::text || ':' || s.n)::uuid as id,
        s.created_at,
        s.status,
        s.industry_id,
        case
            when s.u_postcode_kind < 0.006 then null
            when s.u_postcode_kind < 0.012 then ''
            when s.u_postcode_kind < 0.018 then '0000'
            when s.u_postcode_kind < 0.024 then '12345'
            when s.u_postcode_kind < 0.030 then 'ABCD'
            else case floor(s.u_postcode_form * 20)::int
                when 0 then s.pc4 || ' ' || s.letters
                when 1 then s.pc4 || ' ' || s.letters
                when 2 then s.pc4 || ' ' || s.letters
                when 3 then s.pc4 || ' ' || s.letters
                when 4 then s.pc4 || ' ' || s.letters
                when 5 then s.pc4 || ' ' || s.letters
                when 6 then s.pc4 || s.letters
                when 7 then s.pc4 || s.letters
                when 8 then s.pc4 || s.letters
                when 9 then s.pc4 || lower(s.letters)
                when 10 then s.pc4 || lower(s.letters)
                when 11 then s.pc4 || ' ' || lower(s.letters)
                when 12 then s.pc4::text
                when 13 then s.pc4::text
                when 14 then ' ' || s.pc4
                when 15 then ' ' || s.pc4 || ' '
                when 16 then s.pc4 || '-' || s.letters
                when 17 then ' ' || s.pc4 || ' ' || s.letters || ' '
                when 18 then s.pc4 || '  ' || s.letters
                else s.pc4 || s.letters || ' '
            end
        end as postcode,
        case
            when s.u_province_kind < 0.08 then null
            when s.u_province_kind < 0.12 then ''
            when s.u_province_kind < 0.17
                then o.forms[1 + floor(s.u_province_form * cardinality(o.forms))::int]
            else t.forms[1 + floor(s.u_province_form * cardinality(t.forms))::int]
        end as province,
        case when s.u_city < 0.7 then s.municipality_name end as city,
        m.partner_id,
        case when s.status <> 'new' then
            least(s.created_at + make_interval(secs => 60 + 14400 * s.u_assign), %(now)s::timestamptz)
        end as assigned_at,
        (array[{", ".join(f"'{n}'" for n in FIRST_NAMES)}])[1 + (s.h_name %% {len(FIRST_NAMES)})::int]
        || ' '
        || (array[{", ".join(f"'{n}'" for n in LAST_NAMES)}])[1 + ((s.h_name / 64) %% {len(LAST_NAMES)})::int]
            as customer_name,
        s.industry_name || ' gezocht' as description,
        s.u_update
    from pooled as s
    inner join pg_temp.gen_prov as t on t.province_idx = s.province_idx
    inner join pg_temp.gen_prov as o on o.province_idx = s.other_province_idx
    left join pg_temp.gen_pool_member as m
        on s.status <> 'new'
        and m.branch_idx = s.pool_branch
        and m.province_idx = s.pool_province
        and m.k = floor(s.u_partner * s.pool_size)::int
)

select {", ".join(values)}
from (
    select
        f.*,
        case
            when f.status = 'new' then f.created_at
            when f.status = 'pending' then f.assigned_at
            else least(f.assigned_at + make_interval(secs => 259200 * f.u_update), %(now)s::timestamptz)
        end as updated_at
    from final as f
) as f
order by f.created_at
"""


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("generating leads"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task("leads", total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def _foreign_keys_checked_once(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """Bulk load without a per-row foreign-key check: the table's foreign keys are dropped for the
    block and re-created after it with the same names and definitions, which validates every row in
    one set-based pass (all inside the caller's transaction: on error nothing changes)."""
    fks = conn.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint "
        "where conrelid = %s::regclass and contype = 'f' order by conname",
        (table,),
    ).fetchall()
    for name, _ in fks:
        conn.execute(sql.SQL("alter table {} drop constraint {}").format(
            sql.SQL(table), sql.Identifier(name)))
    yield
    for name, definition in fks:
        conn.execute(sql.SQL("alter table {} add constraint {} {}").format(
            sql.SQL(table), sql.Identifier(name), sql.SQL(definition)))


@contextmanager
def _secondary_indexes_built_after(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """The table is empty when the generator starts: build its secondary indexes (not the primary key
    or unique constraints) once after the load, sorted, instead of row by row."""
    indexes = conn.execute(
        "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index as i "
        "where i.indrelid = %s::regclass and not i.indisprimary "
        "and not exists (select 1 from pg_constraint as c where c.conindid = i.indexrelid) "
        "order by 1",
        (table,),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(sql.SQL("drop index {}").format(sql.SQL(name)))
    yield
    conn.execute("set local maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        conn.execute(definition)  # type: ignore[arg-type]


def _regions_value(regions: list[str] | None, as_text: bool, i: int) -> str | list[str] | None:
    """regions as the column holds them; the text form separates with ',' and stray spaces.
    (No draw from the shared RNG: both column types get the same marketplace.)"""
    if regions is None or not as_text:
        return regions
    return (",", ", ", " , ")[i % 3].join(regions)


def _check_target(conn: psycopg.Connection) -> None:
    for name in ("public.leads", "public.profiles", "public.industries", "auth.users"):
        if not table_exists(conn, name):
            raise GeneratorError(f"{name} does not exist: run `leadgen db init-stand-in` first")
    row = conn.execute(
        "select (select count(*) from (select 1 from public.leads limit 1) as l), "
        "(select count(*) from (select 1 from public.profiles limit 1) as p)"
    ).fetchone()
    if row and (row[0] or row[1]):
        raise GeneratorError(
            f"database {conn.info.dbname!r} already holds leads or profiles: the generator does not append; "
            "generate into a fresh stand-in database"
        )


def industry_key(shape: Shape, i: int, industry: Industry) -> str:
    """The industry's id as text, in the platform's key type: 1, 2, ... for integer keys."""
    return str(i + 1) if shape.integer_industry_ids else industry.id


def _load_dimensions(conn: psycopg.Connection, rng: random.Random, ref: Reference, industries: list[Industry],
                     profiles: list[Profile], now: datetime, shape: Shape) -> None:
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("insert into public.industries (id, name, created_at) select k::{}, n, c "
                    "from unnest(%s::text[], %s::text[], %s::timestamptz[]) as t (k, n, c)").format(
                sql.SQL(shape.industry_id_type)),
            ([industry_key(shape, i, ind) for i, ind in enumerate(industries)],
             [ind.name for ind in industries], [now - timedelta(days=900)] * len(industries)),
        )
        cur.executemany(
            "insert into auth.users (id, email, created_at) values (%s, %s, %s)",
            [(p.id, p.email, p.created_at) for p in profiles],
        )
        columns = ["id", "email", "full_name", "company_name", "is_admin", "primary_branch", "regions",
                   "max_open_leads", "is_active_for_routing", "routing_priority", "lead_industries",
                   "lead_locations", "created_at", "updated_at"]
        as_text = shape.regions_type == "text"
        rows = [
            (p.id, p.email, p.full_name, p.company_name, p.is_admin, p.primary_branch,
             _regions_value(p.regions, as_text, i), p.max_open_leads, p.is_active_for_routing,
             p.routing_priority, p.lead_industries, p.lead_locations, p.created_at,
             p.created_at + timedelta(days=rng.uniform(0, 30)))
            for i, p in enumerate(profiles)
        ]
        optional = Shape().profile_columns
        keep = [k for k, c in enumerate(columns) if c in shape.profile_columns or c not in optional]
        cur.executemany(
            sql.SQL("insert into public.profiles ({}) values ({})").format(
                sql.SQL(", ").join(sql.Identifier(columns[k]) for k in keep),
                sql.SQL(", ").join(sql.Placeholder() for _ in keep),
            ),
            [tuple(row[k] for k in keep) for row in rows],
        )


def _load_generator_tables(conn: psycopg.Connection, ref: Reference, industries: list[Industry],
                           profiles: list[Profile], slots: list[tuple[datetime, int, int]],
                           shape: Shape) -> tuple[int, int]:
    """Small helper tables the lead INSERT joins; returns (wheel size, number of routable partners)."""
    province_idx = {code: i for i, code in enumerate(ref.provinces)}
    branches = list(ref.branch_aliases)
    conn.execute("""
        create temp table gen_slot (slot_start timestamptz, start_n bigint, cnt bigint) on commit drop;
        create temp table gen_pc4 (idx int primary key, pc4 int, municipality_name text, province_idx int)
            on commit drop;
        create temp table gen_prov (province_idx int primary key, forms text[]) on commit drop;
        create temp table gen_industry (idx int primary key, industry_id text, branch_idx int, name text)
            on commit drop;
        create temp table gen_wheel (slot int primary key, industry_idx int) on commit drop;
        create temp table gen_pool (branch_idx int, province_idx int, size int) on commit drop;
        create temp table gen_pool_member (branch_idx int, province_idx int, k int, partner_id uuid)
            on commit drop;
    """)
    with conn.cursor() as cur:
        with cur.copy("copy pg_temp.gen_slot (slot_start, start_n, cnt) from stdin") as copy:
            for row in slots:
                copy.write_row(row)
        with cur.copy("copy pg_temp.gen_pc4 (idx, pc4, municipality_name, province_idx) from stdin") as copy:
            for idx, (pc4, muni_code) in enumerate(ref.pc4):
                muni = ref.municipalities[muni_code]
                copy.write_row((idx, pc4, muni.name, province_idx[muni.province]))
        cur.executemany("insert into pg_temp.gen_prov values (%s, %s)",
                        [(province_idx[c], province_forms_for_leads(ref, c)) for c in ref.provinces])
        cur.executemany(
            "insert into pg_temp.gen_industry values (%s, %s, %s, %s)",
            [(i, industry_key(shape, i, ind), branches.index(ind.branch) if ind.branch else -2, ind.name)
             for i, ind in enumerate(industries)],
        )
        total = sum(ind.weight for ind in industries)
        wheel = [i for i, ind in enumerate(industries)
                 for _ in range(max(1, round(1000 * ind.weight / total)))]
        cur.executemany("insert into pg_temp.gen_wheel values (%s, %s)", list(enumerate(wheel)))
        pools: dict[tuple[int, int], list[str]] = defaultdict(list)
        for p in profiles:
            if p.is_admin or not p.is_active_for_routing or p.branch is None:
                continue
            b = branches.index(p.branch)
            pools[(b, -1)].append(p.id)
            pools[(-1, -1)].append(p.id)
            for prov in sorted(p.provinces):
                pools[(b, province_idx[prov])].append(p.id)
        if not pools:
            raise GeneratorError("no active partner to assign leads to: generate at least a few partners")
        cur.executemany("insert into pg_temp.gen_pool values (%s, %s, %s)",
                        [(b, pr, len(ids)) for (b, pr), ids in sorted(pools.items())])
        copy_members = "copy pg_temp.gen_pool_member (branch_idx, province_idx, k, partner_id) from stdin"
        with cur.copy(copy_members) as copy:
            for (b, pr), ids in sorted(pools.items()):
                for k, pid in enumerate(ids):
                    copy.write_row((b, pr, k, pid))
    conn.execute("analyze pg_temp.gen_slot; analyze pg_temp.gen_pc4; analyze pg_temp.gen_pool; "
                 "analyze pg_temp.gen_pool_member; analyze pg_temp.gen_wheel")
    return len(wheel), len(pools[(-1, -1)])


def _make_segments(conn: psycopg.Connection, rng: random.Random, ref: Reference, profiles: list[Profile],
                   leads: int, now: datetime, days: int) -> int:
    """Phase-2 segments from clean picks: branch x province wherever partners or leads are, plus the
    big cities; about 5 % inactive."""
    pairs = {(p.branch, prov) for p in profiles if p.branch and not p.is_admin for prov in p.provinces}
    total_weight = sum(BRANCH_WEIGHTS.values()) + UNKNOWN_WEIGHT
    pc4_per_province: dict[str, int] = defaultdict(int)
    for _, muni in ref.pc4:
        pc4_per_province[ref.municipalities[muni].province] += 1
    for branch in ref.branch_aliases:
        for prov in ref.provinces:
            share = BRANCH_WEIGHTS.get(branch, 5) / total_weight * pc4_per_province[prov] / len(ref.pc4)
            expected = leads * share
            if expected >= 1:
                pairs.add((branch, prov))
    regions = sorted(pairs) + [(b, city) for b in ref.branch_aliases for city in BIG_CITIES]
    rows = []
    for branch, region in sorted(set(regions)):
        created = now - timedelta(days=days + rng.uniform(0, 60))
        rows.append((_uuid(rng), branch, region, rng.random() >= 0.05, created, created))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.lead_segments (id, branch, region, is_active, created_at, updated_at) "
            "values (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    return len(rows)


_PHASE2_LABELS = {
    "lead_segment_plans": "segment plans",
    "marketing_profiles": "marketing profiles",
    "partner_segments": "partner-segment links",
    "partner_landing_pages": "landing pages",
    "partner_marketing_campaigns": "campaigns",
}


def _fill_phase2(conn: psycopg.Connection, seed: int) -> str | None:
    try:
        module = import_module("leadgen.generate_phase2")
    except ModuleNotFoundError as exc:
        if exc.name != "leadgen.generate_phase2":
            raise
        return None
    counts = module.fill_phase2(conn, seed)
    if not counts:
        return None
    return ", ".join(f"{n:,} {_PHASE2_LABELS.get(table, table)}" for table, n in counts.items())


def generate_marketplace(
    target: Target | None = None,
    *,
    partners: int,
    leads: int,
    days: int,
    seed: int,
    progress: bool = True,
    now: datetime | None = None,
) -> str:
    """Fill the stand-in with a synthetic marketplace; returns a one-line summary.

    ``now`` (default: the current time) is the end of the generated period; pass a fixed value for
    identical output across runs. Refuses a database that already holds leads or profiles.
    """
    if partners < 1 or leads < 0 or days < 1:
        raise GeneratorError("partners and days must be at least 1, leads at least 0")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    started = time.monotonic()
    rng = random.Random(seed)
    ref = load_reference()
    industries = make_industries(rng, ref)
    profiles = make_profiles(rng, ref, partners, now, days)
    slots = make_slots(rng, leads, days, now)

    with connect(target) as conn:
        _check_target(conn)
        shape = read_shape(conn)
        conn.execute("set local synchronous_commit = off")
        conn.execute("set local work_mem = '64MB'")
        conn.execute("set local enable_mergejoin = off")  # the helper tables are tiny: hash them
        _load_dimensions(conn, rng, ref, industries, profiles, now, shape)
        n_wheel, n_all_partners = _load_generator_tables(conn, ref, industries, profiles, slots, shape)
        statement = leads_chunk_sql(seed, shape)
        params = {"now": now, "n_pc4": len(ref.pc4), "n_wheel": n_wheel, "n_all_partners": n_all_partners}
        with (
            _progress(progress, leads) as advance,
            _foreign_keys_checked_once(conn, "public.leads"),
            _secondary_indexes_built_after(conn, "public.leads"),
        ):
            for lo in range(1, leads + 1, CHUNK_ROWS):
                hi = min(lo + CHUNK_ROWS - 1, leads)
                conn.execute(statement, {**params, "lo": lo, "hi": hi})  # type: ignore[arg-type]
                advance(hi - lo + 1)
            inserted = time.monotonic()
        conn.execute("reset enable_mergejoin")
        indexed = time.monotonic()
        extra = ""
        if table_exists(conn, "public.lead_segments"):
            segments = _make_segments(conn, rng, ref, profiles, leads, now, days)
            extra = f", {segments:,} segments"
            phase2 = _fill_phase2(conn, seed)
            if phase2:
                extra += f", {phase2}"
        conn.execute("select public.refresh_partner_performance_stats()")
        conn.commit()
    with connect(target, autocommit=True) as conn:
        conn.execute("analyze public.leads")
        conn.execute("analyze public.profiles")
    n_partners = sum(1 for p in profiles if not p.is_admin)
    elapsed = time.monotonic() - started
    return (
        f"generated {leads:,} leads over {days} days, {n_partners:,} partners, "
        f"{len(profiles) - n_partners} admins, {len(industries)} industries{extra} "
        f"(seed {seed}) in {elapsed:.1f} s (lead inserts {inserted - started:.1f} s, "
        f"indexes and foreign keys {indexed - inserted:.1f} s)"
    )


# What the generator writes, children first (``--fresh`` empties them).
GENERATED_TABLES = (
    "public.partner_marketing_campaigns", "public.partner_landing_pages", "public.partner_segments",
    "public.lead_segment_plans", "public.lead_segments", "public.leads", "public.profiles",
    "public.industries", "auth.users",
)
STAND_IN_MARK = "leadgen stand-in"  # the comment stand_in/002_auth.sql puts on schema auth


def is_stand_in(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "select coalesce(obj_description(to_regnamespace('auth'), 'pg_namespace'), '') like %s",
        (STAND_IN_MARK + "%",),
    ).fetchone()
    return bool(row and row[0])


def start_over(target: Target | None = None) -> str:
    """Empty what the generator wrote, and drop the marts built from it (the next dbt build starts
    afresh); only on a stand-in database (or the embedded server), never on a platform's data."""
    target = target or resolve_target()
    with connect(target) as conn:
        if not (target.is_embedded or is_stand_in(conn)):
            raise GeneratorError(
                f"--fresh deletes every lead, profile and segment: refused on {target.url()}, which is not "
                "a stand-in database (`leadgen db init-stand-in` creates one)"
            )
        tables = [t for t in GENERATED_TABLES if table_exists(conn, t)]
        if tables:
            conn.execute(sql.SQL("truncate {} cascade").format(sql.SQL(", ").join(map(sql.SQL, tables))))
        marts = conn.execute(
            "select format('drop %s if exists %I.%I cascade', case c.relkind when 'v' then 'view' "
            "when 'm' then 'materialized view' else 'table' end, n.nspname, c.relname) "
            "from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = 'analytics' and c.relkind in ('r', 'p', 'v', 'm') order by c.relkind desc"
        ).fetchall()
        for (statement,) in marts:
            conn.execute(statement)
        if table_exists(conn, "private.segment_writeback_state"):
            conn.execute("delete from private.segment_writeback_state")  # no marks: the next one compares all
        if table_exists(conn, "public.partner_performance_stats"):
            conn.execute("select public.refresh_partner_performance_stats()")
        conn.commit()
    return f"database {target.dbname!r} emptied: {len(tables)} generated tables, {len(marts)} marts dropped"


def content_hash(conn: psycopg.Connection) -> str:
    """A hash of the generated content (leads, profiles, industries): equal seeds give equal hashes."""
    row = conn.execute("""
        select md5(
            coalesce((select string_agg(l::text, '|' order by l.id) from public.leads as l), '')
            || coalesce((select string_agg(p::text, '|' order by p.id) from public.profiles as p), '')
            || coalesce((select string_agg(i::text, '|' order by i.id) from public.industries as i), '')
        )
    """).fetchone()
    return str(row[0]) if row else ""


__all__: Sequence[str] = (
    "GeneratorError", "content_hash", "generate_marketplace", "is_stand_in", "load_reference", "start_over"
)
