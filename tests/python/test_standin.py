"""The stand-in of the existing platform: objects, both regions types, Supabase auth, MV refresh."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import psycopg
import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.standin import init_stand_in

PARTNER_FIELDS = {
    "primary_branch",
    "regions",
    "max_open_leads",
    "is_active_for_routing",
    "routing_priority",
    "lead_industries",
    "lead_locations",
    "is_admin",
}
EXPECTED_COLUMNS = {
    "public.profiles": PARTNER_FIELDS
    | {"id", "email", "full_name", "company_name", "created_at", "updated_at"},
    "public.industries": {"id", "name", "created_at"},
    "public.leads": {
        "id",
        "created_at",
        "updated_at",
        "industry_id",
        "province",
        "postcode",
        "city",
        "status",
        "partner_id",
        "assigned_at",
        "customer_name",
        "description",
    },
    "public.partner_performance_stats": {
        "partner_id",
        "leads_assigned_30d",
        "leads_accepted_30d",
        "leads_rejected_30d",
        "conversion_rate_30d",
        "open_leads_count",
        "last_assigned_at",
        "refreshed_at",
    },
    "auth.users": {"id", "email", "created_at"},
}


@pytest.fixture(scope="module")
def standin_db(make_db: Callable[..., Target]) -> Target:
    target = make_db("standin")
    assert "created" in init_stand_in(target)
    return target


@pytest.fixture(scope="module")
def standin_text_db(make_db: Callable[..., Target]) -> Target:
    target = make_db("standin_txt")
    assert "created" in init_stand_in(target, regions_as_text=True)
    return target


def columns(conn: psycopg.Connection, relation: str) -> dict[str, str]:
    rows = conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped",
        (relation,),
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("relation", sorted(EXPECTED_COLUMNS))
def test_every_object_has_the_seed_columns(standin_db: Target, relation: str) -> None:
    with connect(standin_db) as conn:
        assert EXPECTED_COLUMNS[relation] <= set(columns(conn, relation))


def test_views_functions_roles_and_indexes(standin_db: Target) -> None:
    with connect(standin_db) as conn:
        kinds = dict(
            conn.execute(
                "select c.relname, c.relkind::text from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'public' and c.relname in "
                "('partner_performance_stats', 'lead_routing_candidates', 'leads', 'profiles')"
            ).fetchall()
        )
        assert kinds == {
            "partner_performance_stats": "m",
            "lead_routing_candidates": "v",
            "leads": "r",
            "profiles": "r",
        }
        assert {"lead_id", "partner_id"} <= set(columns(conn, "public.lead_routing_candidates"))
        secdef, config = conn.execute(
            "select prosecdef, proconfig from pg_proc "
            "where oid = 'public.refresh_partner_performance_stats()'::regprocedure"
        ).fetchone()
        assert secdef and config == ['search_path=""']
        roles = dict(
            conn.execute(
                "select rolname, rolbypassrls from pg_roles "
                "where rolname in ('anon', 'authenticated', 'service_role')"
            ).fetchall()
        )
        assert roles == {"anon": False, "authenticated": False, "service_role": True}
        unique_on_partner = conn.execute(
            "select count(*) from pg_index i where i.indrelid = 'public.partner_performance_stats'::regclass "
            "and i.indisunique and i.indkey::text = (select attnum::text from pg_attribute "
            "where attrelid = i.indrelid and attname = 'partner_id')"
        ).fetchone()[0]
        assert unique_on_partner == 1
        leads_indexes = {
            r[0]
            for r in conn.execute(
                "select pg_get_indexdef(indexrelid) from pg_index where indrelid = 'public.leads'::regclass"
            )
        }
        for key in ("(updated_at)", "(created_at)", "(partner_id, status)"):
            assert any(d.endswith(key) for d in leads_indexes), key


def test_regions_is_text_array_by_default_and_text_on_request(
    standin_db: Target, standin_text_db: Target
) -> None:
    with connect(standin_db) as conn:
        assert columns(conn, "public.profiles")["regions"] == "text[]"
    with connect(standin_text_db) as conn:
        assert columns(conn, "public.profiles")["regions"] == "text"
        # the routing view splits the comma-separated text
        assert (
            "string_to_array"
            in conn.execute("select pg_get_viewdef('public.lead_routing_candidates'::regclass)").fetchone()[0]
        )


def test_init_is_a_no_op_when_profiles_exists(standin_db: Target) -> None:
    message = init_stand_in(standin_db, regions_as_text=True)
    assert "skipped" in message
    with connect(standin_db) as conn:
        assert columns(conn, "public.profiles")["regions"] == "text[]"


@pytest.mark.parametrize("style", ["claims_json", "claim_sub"])
def test_auth_uid_reads_both_claim_styles(standin_db: Target, style: str) -> None:
    sub = str(uuid.uuid4())
    with connect(standin_db) as conn:
        if style == "claims_json":
            claims = json.dumps({"sub": sub, "role": "authenticated"})
            conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
        else:
            conn.execute("select set_config('request.jwt.claim.sub', %s, true)", (sub,))
            conn.execute("select set_config('request.jwt.claim.role', 'authenticated', true)")
        uid, role = conn.execute("select auth.uid(), auth.role()").fetchone()
        assert (str(uid), role) == (sub, "authenticated")
        if style == "claims_json":
            assert conn.execute("select auth.jwt() ->> 'sub'").fetchone()[0] == sub
    with connect(standin_db) as conn:
        assert conn.execute("select auth.uid()").fetchone()[0] is None


def _seed_partner_with_leads(conn: psycopg.Connection, open_leads: int) -> str:
    partner = str(uuid.uuid4())
    conn.execute("insert into auth.users (id, email) values (%s, 'p@example.nl')", (partner,))
    conn.execute(
        "insert into public.profiles (id, primary_branch, regions, max_open_leads) "
        "values (%s, 'Schilder', '{Noord-Brabant}', 10)",
        (partner,),
    )
    industry = conn.execute(
        "insert into public.industries (name) values ('Schilder') returning id"
    ).fetchone()[0]
    conn.execute(
        "insert into public.leads (industry_id, province, postcode, status, partner_id, assigned_at, "
        "updated_at) select %s, 'Noord-Brabant', '5038 AB', 'pending', %s, now(), '2020-01-01' "
        "from generate_series(1, %s)",
        (industry, partner, open_leads),
    )
    conn.execute(
        "insert into public.leads (industry_id, province, postcode) values (%s, 'Noord-Brabant', '5038')",
        (industry,),
    )
    return partner


def test_moddatetime_refresh_view_and_rls(standin_db: Target) -> None:
    with connect(standin_db) as conn:
        partner = _seed_partner_with_leads(conn, 3)
        conn.execute("update public.leads set city = 'Tilburg' where partner_id = %s", (partner,))
        assert conn.execute(
            "select bool_and(updated_at > '2021-01-01') from public.leads where partner_id = %s", (partner,)
        ).fetchone()[0]
        conn.execute("select public.refresh_partner_performance_stats()")
        assert conn.execute(
            "select open_leads_count, leads_assigned_30d from public.partner_performance_stats "
            "where partner_id = %s",
            (partner,),
        ).fetchone() == (3, 3)
        assert (
            conn.execute(
                "select count(*) from public.lead_routing_candidates where partner_id = %s", (partner,)
            ).fetchone()[0]
            == 1
        )
        # RLS as Supabase applies it: a partner sees its own leads, anon sees none
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": partner}),))
        conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from public.leads").fetchone()[0] == 3
        conn.execute("reset role")
        conn.execute("set local role anon")
        assert conn.execute("select count(*) from public.leads").fetchone()[0] == 0
        conn.rollback()


def test_refresh_is_concurrent_readers_are_not_blocked(standin_db: Target) -> None:
    """A reader holding the MV open does not block the RPC (a non-concurrent refresh would wait)."""
    with connect(standin_db) as reader, connect(standin_db) as refresher:
        reader.execute("select count(*) from public.partner_performance_stats").fetchone()  # keeps its lock
        refresher.execute("set lock_timeout = '1s'")
        refresher.execute("select public.refresh_partner_performance_stats()")
        refresher.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            refresher.execute("refresh materialized view public.partner_performance_stats")
        reader.rollback()
