"""The project on platforms shaped unlike our own stand-in, run as Supabase runs it.

Each variant of leadgen.standin (industry id uuid / bigint / integer, status text / enum, regions
text[] / text, lean profiles, the MV with only DESIGN.md's columns, the assigned partner renamed
or absent) is created in a database owned by a Supabase-like role (not a superuser; BYPASSRLS,
CREATEROLE), and migrate -> dbt build (unit tests included) -> the daily flow -> write-back run
end to end as that role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from leadgen.config import Target
from variant_platforms import VARIANTS, EndToEnd, rows, run_end_to_end, supabase_like_role, variant_platform

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def supabase_role(server: Target) -> Iterator[tuple[str, str]]:
    with supabase_like_role(server, "leadgen_test_supabase_owner") as role:
        yield role


@pytest.fixture(scope="module", params=list(VARIANTS))
def end_to_end(
    request: pytest.FixtureRequest,
    prefect_harness: None,
    supabase_role: tuple[str, str],
    make_db: Callable[..., Target],
    dbt: Callable[..., object],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EndToEnd]:
    variant = VARIANTS[request.param]
    target = variant_platform(make_db, variant, supabase_role)
    with pytest.MonkeyPatch.context() as mp:
        yield run_end_to_end(target, variant, mp, tmp_path_factory.mktemp("dbt"), dbt)  # type: ignore[arg-type]


def test_check_refuses_an_unmigrated_platform_and_passes_the_migrated_one(end_to_end: EndToEnd) -> None:
    before, after = end_to_end.check_before_migrate, end_to_end.check_after
    assert before.returncode == 2, before.stdout + before.stderr
    assert "migrations pending" in before.stdout and "leadgen migrate" in before.stdout
    assert after.returncode == 0, after.stdout + after.stderr
    assert after.stdout.startswith("ok:") and "problem" not in after.stdout


def test_every_lead_is_assigned_and_written_back(end_to_end: EndToEnd) -> None:
    [(leads, in_mart, matched, written, mismatched)] = rows(
        end_to_end.target,
        """
        select count(*), count(a.lead_id), count(a.segment_id), count(l.segment_id),
            count(*) filter (where l.segment_id is distinct from a.segment_id)
        from public.leads as l
        left join analytics.lead_segment_assignments as a on a.lead_id = l.id
        """,
    )
    assert leads > 2000 and in_mart == leads
    assert matched > 0.7 * leads
    assert written == matched and mismatched == 0


def test_the_marts_have_rows_and_the_stats_count_each_lead_once(end_to_end: EndToEnd) -> None:
    target = end_to_end.target
    marts = ("segment_capacity", "lead_generation_stats", "segment_supply_demand", "partner_segment_matches")
    for mart in marts:
        [(n,)] = rows(target, f"select count(*) from analytics.{mart}")
        assert n > 0, mart
    [(generated, assigned)] = rows(
        target,
        """
        select (select sum(leads_generated) from analytics.lead_generation_stats),
            (select count(*) from analytics.lead_segment_assignments where segment_id is not null)
        """,
    )
    assert generated == assigned


def test_optional_columns_follow_the_platform(end_to_end: EndToEnd) -> None:
    """The assigned partner is read from the column the var names, NULL where the platform has
    none; the capacity's open leads come from the MV either way."""
    [(assigned_partners, open_leads)] = rows(
        end_to_end.target,
        """
        select (select count(assigned_partner_id) from staging.stg_public__leads),
            (select coalesce(sum(current_open_leads), 0) from analytics.segment_capacity)
        """,
    )
    if end_to_end.variant.partner_column is None:
        assert assigned_partners == 0 and open_leads == 0
    else:
        assert assigned_partners > 0 and open_leads > 0


def test_the_role_is_not_a_superuser(end_to_end: EndToEnd) -> None:
    [(is_super, bypasses, owns_leads)] = rows(
        end_to_end.target,
        """
        select r.rolsuper, r.rolbypassrls, pg_get_userbyid(c.relowner) = current_user
        from pg_roles as r, pg_class as c
        where r.rolname = current_user and c.oid = 'public.leads'::regclass
        """,
    )
    assert (is_super, bypasses, owns_leads) == (False, True, True)

