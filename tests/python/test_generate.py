"""The synthetic marketplace: deterministic per seed, and as messy as production."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect
from leadgen.generate import GeneratorError, content_hash, generate_marketplace
from leadgen.standin import init_stand_in

NOW = datetime(2026, 3, 30, 10, 30, tzinfo=UTC)  # the day after the spring DST change
SIZE = {"partners": 120, "leads": 5000, "days": 45}


def _generated(
    make_db: Callable[..., Target], label: str, seed: int, *, regions_as_text: bool = False
) -> Target:
    target = make_db(label)
    init_stand_in(target, regions_as_text=regions_as_text)
    generate_marketplace(target, seed=seed, progress=False, now=NOW, **SIZE)
    return target


@pytest.fixture(scope="module")
def gen_a(make_db: Callable[..., Target]) -> Target:
    return _generated(make_db, "gen_a", 11)


@pytest.fixture(scope="module")
def gen_text(make_db: Callable[..., Target]) -> Target:
    return _generated(make_db, "gen_txt", 11, regions_as_text=True)


def _seed_values(path: str, column: str) -> set[str]:
    with (PROJECT_ROOT / "seeds" / path).open(newline="", encoding="utf-8") as fh:
        return {row[column] for row in csv.DictReader(fh)}


def one(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def test_same_seed_same_marketplace_other_seed_another(gen_a: Target, make_db: Callable[..., Target]) -> None:
    again = _generated(make_db, "gen_a2", 11)
    other = _generated(make_db, "gen_b", 12)
    with connect(gen_a) as a, connect(again) as b, connect(other) as c:
        assert content_hash(a) == content_hash(b)
        assert content_hash(a) != content_hash(c)
        assert (
            one(a, "select count(*) from public.leads") == one(c, "select count(*) from public.leads") == 5000
        )


def test_a_second_call_refuses_and_changes_nothing(gen_a: Target) -> None:
    with connect(gen_a) as conn:
        before = content_hash(conn)
    with pytest.raises(GeneratorError, match="does not append"):
        generate_marketplace(gen_a, seed=99, progress=False, now=NOW, **SIZE)
    with connect(gen_a) as conn:
        assert content_hash(conn) == before


def test_refuses_a_database_without_the_stand_in(empty_db: Target) -> None:
    with pytest.raises(GeneratorError, match="init-stand-in"):
        generate_marketplace(empty_db, seed=1, progress=False, **SIZE)


def test_postcodes_in_every_form_and_about_3_percent_invalid(gen_a: Target) -> None:
    with connect(gen_a) as conn:
        counts = dict(
            conn.execute("""
            select form, count(*) from (
                select case
                    when postcode is null then 'null'
                    when postcode = '' then 'empty'
                    when postcode in ('0000', '12345', 'ABCD') then postcode
                    when postcode ~ '^[1-9][0-9]{3} [A-Z]{2}$' then 'spaced'
                    when postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$' then 'compact'
                    when postcode ~ '^[1-9][0-9]{3}[a-z]{2}$' then 'lower'
                    when postcode ~ '^ [1-9][0-9]{3}$' then 'leading space'
                    when postcode ~ '^[1-9][0-9]{3}-[A-Z]{2}$' then 'hyphen'
                    when postcode ~ '^[1-9][0-9]{3}$' then 'digits only'
                    else 'other valid'
                end as form
                from public.leads
            ) as f group by form
        """).fetchall()
        )
        invalid = sum(counts.get(k, 0) for k in ("null", "empty", "0000", "12345", "ABCD"))
        assert 0.02 * 5000 <= invalid <= 0.045 * 5000
        for form in (
            "null",
            "empty",
            "0000",
            "12345",
            "ABCD",
            "spaced",
            "compact",
            "lower",
            "leading space",
            "hyphen",
            "digits only",
            "other valid",
        ):
            assert counts.get(form, 0) > 0, form
        # valid postcodes are real PC4 codes from the seeds
        real = {int(p) for p in _pc4s()}
        used = {
            r[0]
            for r in conn.execute(
                "select distinct substring(postcode from '[1-9][0-9]{3}')::int from public.leads "
                "where postcode ~ '^ *[1-9][0-9]{3}( *-?[A-Za-z]{2})? *$'"
            )
        }
        assert used <= real and len(used) > 1000


def _pc4s() -> set[int]:
    with (PROJECT_ROOT / "seeds/regions/region_pc4_ranges.csv").open(newline="") as fh:
        return {n for r in csv.DictReader(fh) for n in range(int(r["pc4_from"]), int(r["pc4_to"]) + 1)}


def test_provinces_are_free_text_with_aliases_gaps_and_conflicts(gen_a: Target) -> None:
    names = _seed_values("regions/region_provinces.csv", "province_name")
    aliases = _seed_values("regions/region_province_aliases.csv", "alias")
    with connect(gen_a) as conn:
        values = dict(
            conn.execute(
                "select coalesce(province, '<null>'), count(*) from public.leads group by 1"
            ).fetchall()
        )
        # a postcode in Tilburg with a province other than Noord-Brabant: a conflict for dbt to flag
        conflicts = one(
            conn,
            "select count(*) from public.leads where postcode like '50__%%' "
            "and trim(province) in (select unnest(%s::text[])) and province not ilike '%%brabant%%' "
            "and province not in ('nb', 'nbr')",
            (sorted(names),),
        )
    assert values.get("<null>", 0) > 0 and values.get("", 0) > 0
    assert set(values) & (aliases - names), "aliases such as 'nb' or 'fryslân' appear"
    assert any(v != v.strip() for v in values), "stray spaces appear"
    assert conflicts > 0


def test_partners_have_production_forms(gen_a: Target) -> None:
    branch_aliases = {a.lower() for a in _seed_values("branch_aliases.csv", "alias")}
    municipalities = _seed_values("regions/region_municipalities.csv", "municipality_name")
    province_aliases = _seed_values("regions/region_province_aliases.csv", "alias")
    with connect(gen_a) as conn:
        rows = conn.execute(
            "select is_admin, is_active_for_routing, max_open_leads, primary_branch, regions, "
            "lead_industries, lead_locations from public.profiles"
        ).fetchall()
        users = one(conn, "select count(*) from auth.users u join public.profiles p using (id)")
        industries = [r[0] for r in conn.execute("select name from public.industries")]
    partners = [r for r in rows if not r[0]]
    assert len(partners) == 120 and len(rows) - len(partners) > 0 and users == len(rows)
    assert any(not r[1] for r in partners), "some partners are not active for routing"
    assert {r[2] for r in partners} <= set(range(51)) and min(r[2] for r in partners) <= 3
    assert max(r[2] for r in partners) >= 47
    region_values = [v for r in partners for v in (r[4] or []) + (r[6] or [])]
    assert any(v.strip() in municipalities for v in region_values), "municipality names such as 'Tilburg'"
    assert any(v.strip() in province_aliases and v.strip().lower() == v.strip() for v in region_values)
    assert any(v != v.strip() for v in region_values) and any(v.isupper() for v in region_values)
    branches = [r[3] for r in partners if r[3]] + [v for r in partners for v in (r[5] or [])]
    assert all(b.strip().lower() in branch_aliases for b in branches)
    assert any(b != b.strip() or (b.lower() == b and b.lower() in branch_aliases) for b in branches)
    assert any(r[3] is None for r in partners) and any(r[5] for r in partners)
    # ~12 branches with name variants, plus industries outside the vocabulary
    assert 14 <= len(industries) <= 30
    assert any(i.strip().lower() not in branch_aliases for i in industries)


def test_statuses_move_over_time_and_partners_follow(gen_a: Target) -> None:
    with connect(gen_a) as conn:
        statuses = dict(conn.execute("select status, count(*) from public.leads group by 1").fetchall())
        assert set(statuses) == {"new", "pending", "accepted", "rejected", "expired"}
        old_open, recent_open = conn.execute(
            """
            select
                avg((status in ('new', 'pending'))::int)
                    filter (where created_at < %(now)s - interval '14 days'),
                avg((status in ('new', 'pending'))::int)
                    filter (where created_at > %(now)s - interval '1 day')
            from public.leads
        """,
            {"now": NOW},
        ).fetchone()
        assert old_open < 0.1 and recent_open > 0.6
        assert (
            one(conn, "select count(*) from public.leads where (partner_id is null) <> (status = 'new')") == 0
        )
        assert (
            one(
                conn,
                "select count(*) from public.leads where status <> 'new' "
                "and not (updated_at > created_at and assigned_at >= created_at)",
            )
            == 0
        )
        assert (
            one(
                conn,
                "select count(*) from public.leads where updated_at > %s or created_at > %s "
                "or created_at < %s::timestamptz - interval '46 days'",
                (NOW, NOW, NOW),
            )
            == 0
        )
        # routed to partners, never to admins; the stats MV was refreshed
        assert (
            one(
                conn,
                "select count(*) from public.leads l join public.profiles p on p.id = l.partner_id "
                "where p.is_admin",
            )
            == 0
        )
        assert (
            one(conn, "select sum(open_leads_count) from public.partner_performance_stats")
            == (statuses["pending"])
        )


def test_daily_and_weekly_rhythm_in_amsterdam_time(gen_a: Target) -> None:
    with connect(gen_a) as conn:
        night, evening, saturday, monday = conn.execute("""
            with l as (select created_at at time zone 'Europe/Amsterdam' as local_at from public.leads)
            select
                count(*) filter (where extract(hour from local_at) between 2 and 4),
                count(*) filter (where extract(hour from local_at) between 19 and 21),
                count(*) filter (where extract(isodow from local_at) = 6),
                count(*) filter (where extract(isodow from local_at) = 1)
            from l
        """).fetchone()
        assert evening > 10 * night and monday > 1.3 * saturday


def test_regions_as_text_gives_the_same_marketplace(gen_a: Target, gen_text: Target) -> None:
    query = """
        select p.id, {expr} as regions from public.profiles as p order by p.id
    """
    with connect(gen_a) as a, connect(gen_text) as t:
        arrays = a.execute(query.format(expr="p.regions")).fetchall()
        texts = t.execute(query.format(expr="p.regions")).fetchall()
        leads_a = one(a, "select md5(string_agg(l::text, '|' order by id)) from public.leads as l")
        leads_t = one(t, "select md5(string_agg(l::text, '|' order by id)) from public.leads as l")
    assert leads_a == leads_t
    assert len(arrays) == len(texts)
    assert any(isinstance(r[1], str) and "," in r[1] for r in texts)
    for (id_a, arr), (id_t, txt) in zip(arrays, texts, strict=True):
        assert id_a == id_t
        assert (arr is None) == (txt is None)
        if arr is not None:
            assert [v.strip() for v in txt.split(",")] == [v.strip() for v in arr]


def test_phase2_segments_use_seed_vocabulary(platform_db: Target) -> None:
    branches = _seed_values("branch_aliases.csv", "branch")
    regions = _seed_values("regions/region_provinces.csv", "province_code") | _seed_values(
        "regions/region_municipalities.csv", "municipality_code"
    )
    with connect(platform_db) as conn:
        rows = conn.execute("select branch, region, is_active from public.lead_segments").fetchall()
    assert rows and {r[0] for r in rows} <= branches and {r[1] for r in rows} <= regions
    assert {"amsterdam", "den-haag", "tilburg", "groningen-gemeente"} <= {r[1] for r in rows}
    inactive = sum(1 for r in rows if not r[2])
    assert 0 < inactive < 0.15 * len(rows)
