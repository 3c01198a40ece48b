"""Row level security of every phase-2 table, proven as the real Supabase roles.

Each case runs in its own transaction (rolled back) with ``set local role`` and the JWT claims that
PostgREST would set (``request.jwt.claims``), against one migrated stand-in database per module.
The matrix: table x {anon, partner on own rows, partner on another partner's rows, admin,
service_role} x {select, insert, update, delete}; for segments and plans "own" means an active
segment and "other" an inactive one (partners read active segments, write nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.migrate import apply_migrations
from leadgen.standin import init_stand_in

PARTNER_A = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
PARTNER_B = uuid.UUID("00000000-0000-0000-0000-0000000000b2")
ADMIN = uuid.UUID("00000000-0000-0000-0000-0000000000ad")
SEG_ACTIVE = uuid.UUID("00000000-0000-0000-0000-00000000c0a1")
SEG_INACTIVE = uuid.UUID("00000000-0000-0000-0000-00000000c0b2")
PLAN_ACTIVE = uuid.UUID("00000000-0000-0000-0000-00000000d0a1")
PLAN_INACTIVE = uuid.UUID("00000000-0000-0000-0000-00000000d0b2")
# one row per partner in each partner-owned table: ids ...e<table><partner>
ROW = {
    (table, partner): uuid.UUID(f"00000000-0000-0000-0000-00000000e{t}{p}")
    for t, table in enumerate(["partner_segments", "partner_landing_pages", "partner_marketing_campaigns"])
    for p, partner in ((10, "a"), (11, "b"))
}

SETUP = """
insert into auth.users (id, email) values (%(a)s, 'a@example.nl'), (%(b)s, 'b@example.nl'),
    (%(admin)s, 'admin@example.nl');
insert into public.profiles (id, email, is_admin) values (%(a)s, 'a@example.nl', false),
    (%(b)s, 'b@example.nl', false), (%(admin)s, 'admin@example.nl', true);
insert into public.lead_segments (id, branch, region, is_active) values
    (%(seg_active)s, 'schilder', 'noord-brabant', true), (%(seg_inactive)s, 'dakdekker', 'zeeland', false);
insert into public.lead_segment_plans (id, segment_id, period_start, period_end, target_leads, budget) values
    (%(plan_active)s, %(seg_active)s, '2026-11-01', '2026-11-30', 100, 1000),
    (%(plan_inactive)s, %(seg_inactive)s, '2026-11-01', '2026-11-30', 10, 100);
insert into public.partner_segments (id, partner_id, segment_id, is_primary) values
    (%(ps_a)s, %(a)s, %(seg_active)s, true), (%(ps_b)s, %(b)s, %(seg_active)s, true);
insert into public.partner_landing_pages (id, partner_id, segment_id, path, status) values
    (%(lp_a)s, %(a)s, %(seg_active)s, '/a/tilburg', 'review'),
    (%(lp_b)s, %(b)s, %(seg_active)s, '/b/tilburg', 'review');
insert into public.partner_marketing_campaigns (id, partner_id, channel, status) values
    (%(mc_a)s, %(a)s, 'google_ads', 'active'), (%(mc_b)s, %(b)s, 'meta_ads', 'active');
"""


@pytest.fixture(scope="module")
def rls_db(make_db: Callable[..., Target]) -> Target:
    target = make_db("rls")
    init_stand_in(target)
    apply_migrations(target)
    params = {
        "a": PARTNER_A, "b": PARTNER_B, "admin": ADMIN, "seg_active": SEG_ACTIVE,
        "seg_inactive": SEG_INACTIVE, "plan_active": PLAN_ACTIVE, "plan_inactive": PLAN_INACTIVE,
        "ps_a": ROW["partner_segments", "a"], "ps_b": ROW["partner_segments", "b"],
        "lp_a": ROW["partner_landing_pages", "a"], "lp_b": ROW["partner_landing_pages", "b"],
        "mc_a": ROW["partner_marketing_campaigns", "a"], "mc_b": ROW["partner_marketing_campaigns", "b"],
    }
    with connect(target) as conn:
        for statement in SETUP.strip().split(";\n"):
            conn.execute(statement, params)  # type: ignore[arg-type]
        conn.commit()
    return target


@pytest.fixture(scope="module")
def conn(rls_db: Target) -> Iterator[psycopg.Connection]:
    with connect(rls_db, autocommit=True) as c:
        yield c


@dataclass(frozen=True)
class Actor:
    role: str
    sub: uuid.UUID | None

    def claims(self) -> str | None:
        if self.sub is None and self.role == "anon":
            return json.dumps({"role": "anon"})
        return json.dumps({"sub": str(self.sub), "role": self.role}) if self.sub else json.dumps(
            {"role": self.role}
        )


ANON = Actor("anon", None)
AS_A = Actor("authenticated", PARTNER_A)
AS_ADMIN = Actor("authenticated", ADMIN)
SERVICE = Actor("service_role", None)

OK1, OK0, NO_GRANT, RLS = "1 row", "0 rows", "permission denied", "row-level security"


def run_as(conn: psycopg.Connection, actor: Actor, sql: str, params: dict[str, object]) -> str:
    """Run one statement as ``actor`` in a rolled-back transaction; describe the outcome."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"set local role {actor.role}")  # type: ignore[arg-type]
            conn.execute("select set_config('request.jwt.claims', %s, true)", (actor.claims(),))
            cur = conn.execute(sql, params)  # type: ignore[arg-type]
            return OK1 if cur.rowcount == 1 else OK0 if cur.rowcount == 0 else f"{cur.rowcount} rows"
    except psycopg.errors.InsufficientPrivilege as exc:
        message = exc.diag.message_primary or ""
        if "row-level security" in message:
            return RLS
        if message.startswith("permission denied"):
            return NO_GRANT
        return f"42501: {message}"


# --- statements per table ------------------------------------------------------------------------
def _new_row(table: str, owner: uuid.UUID) -> tuple[str, dict[str, object]]:
    new_id = uuid.uuid4()
    if table == "lead_segments":
        return ("insert into public.lead_segments (id, branch, region) values (%(id)s, 'loodgieter', %(r)s)",
                {"id": new_id, "r": f"r{new_id.hex[:8]}"})
    if table == "lead_segment_plans":
        return ("insert into public.lead_segment_plans (id, segment_id, period_start, period_end) "
                "values (%(id)s, %(seg)s, '2027-01-01', '2027-01-31')", {"id": new_id, "seg": SEG_ACTIVE})
    if table == "partner_segments":
        return ("insert into public.partner_segments (id, partner_id, segment_id, is_active) "
                "values (%(id)s, %(p)s, %(seg)s, false)", {"id": new_id, "p": owner, "seg": SEG_ACTIVE})
    if table == "partner_landing_pages":
        return ("insert into public.partner_landing_pages (id, partner_id, path) "
                "values (%(id)s, %(p)s, %(path)s)",
                {"id": new_id, "p": owner, "path": f"/new/{new_id.hex}"})
    return ("insert into public.partner_marketing_campaigns (id, partner_id, channel) "
            "values (%(id)s, %(p)s, 'tiktok_ads')", {"id": new_id, "p": owner})


_TOUCH = {  # an update of an ordinary column
    "lead_segments": "updated_at = now()",
    "lead_segment_plans": "target_leads = target_leads + 1",
    "partner_segments": "priority = priority + 1",
    "partner_landing_pages": "title = 'nieuw'",
    "partner_marketing_campaigns": "name = 'nieuw'",
}


def statement(table: str, op: str, row: uuid.UUID, owner: uuid.UUID) -> tuple[str, dict[str, object]]:
    if op == "insert":
        return _new_row(table, owner)
    sql = {
        "select": f"select id from public.{table} where id = %(id)s",
        "update": f"update public.{table} set {_TOUCH[table]} where id = %(id)s",
        "delete": f"delete from public.{table} where id = %(id)s",
    }[op]
    return sql, {"id": row}


# --- the matrix ----------------------------------------------------------------------------------
PARTNER_TABLES = ["partner_segments", "partner_landing_pages", "partner_marketing_campaigns"]
SEGMENT_TABLES = {
    "lead_segments": (SEG_ACTIVE, SEG_INACTIVE),
    "lead_segment_plans": (PLAN_ACTIVE, PLAN_INACTIVE),
}
OPS = ["select", "insert", "update", "delete"]

# who, acting as, on which row ("own"/"other"), inserting for whom -> expected per op
PARTNER_EXPECT = {
    "anon": (ANON, "a", PARTNER_A, {"select": NO_GRANT, "insert": NO_GRANT, "update": NO_GRANT,
                                    "delete": NO_GRANT}),
    "partner_own": (AS_A, "a", PARTNER_A, {"select": OK1, "insert": OK1, "update": OK1, "delete": OK1}),
    "partner_other": (AS_A, "b", PARTNER_B, {"select": OK0, "insert": RLS, "update": OK0, "delete": OK0}),
    "admin": (AS_ADMIN, "b", PARTNER_B, {"select": OK1, "insert": OK1, "update": OK1, "delete": OK1}),
    "service_role": (SERVICE, "b", PARTNER_B, {"select": OK1, "insert": OK1, "update": OK1, "delete": OK1}),
}
SEGMENT_EXPECT = {
    "anon": (ANON, 0, {"select": NO_GRANT, "insert": NO_GRANT, "update": NO_GRANT, "delete": NO_GRANT}),
    "partner_active": (AS_A, 0, {"select": OK1, "insert": RLS, "update": OK0, "delete": OK0}),
    "partner_inactive": (AS_A, 1, {"select": OK0, "insert": RLS, "update": OK0, "delete": OK0}),
    "admin": (AS_ADMIN, 1, {"select": OK1, "insert": OK1, "update": OK1, "delete": OK1}),
    "service_role": (SERVICE, 1, {"select": OK1, "insert": OK1, "update": OK1, "delete": OK1}),
}

MATRIX = [
    pytest.param(table, who, op, id=f"{table}-{who}-{op}")
    for table in PARTNER_TABLES for who in PARTNER_EXPECT for op in OPS
] + [
    pytest.param(table, who, op, id=f"{table}-{who}-{op}")
    for table in SEGMENT_TABLES for who in SEGMENT_EXPECT for op in OPS
]


@pytest.mark.parametrize(("table", "who", "op"), MATRIX)
def test_rls_matrix(conn: psycopg.Connection, table: str, who: str, op: str) -> None:
    if table in SEGMENT_TABLES:
        actor, which, expect = SEGMENT_EXPECT[who]
        if table == "lead_segment_plans" and who == "partner_active":
            expect = {**expect, "select": OK0}  # plans are the platform's: admins and service_role only
        row, owner = SEGMENT_TABLES[table][which], PARTNER_A
    else:
        actor, partner, owner, expect = PARTNER_EXPECT[who]
        row = ROW[table, partner]
    sql, params = statement(table, op, row, owner)
    assert run_as(conn, actor, sql, params) == expect[op]


# --- the rules around the matrix -----------------------------------------------------------------
@pytest.mark.parametrize("table", PARTNER_TABLES)
def test_partner_cannot_move_own_row_to_another_partner(conn: psycopg.Connection, table: str) -> None:
    sql = f"update public.{table} set partner_id = %(b)s where id = %(id)s"
    assert run_as(conn, AS_A, sql, {"b": PARTNER_B, "id": ROW[table, "a"]}) == RLS


@pytest.mark.parametrize("table", PARTNER_TABLES)
def test_no_claims_as_authenticated_sees_nothing(conn: psycopg.Connection, table: str) -> None:
    """An authenticated session without a sub (a broken token) reads no partner's rows."""
    assert run_as(conn, Actor("authenticated", None), f"select id from public.{table}", {}) == OK0


def test_partner_sees_only_own_rows_in_full_scans(conn: psycopg.Connection) -> None:
    for table in PARTNER_TABLES:
        sql = f"select id from public.{table} where partner_id <> %(a)s"
        assert run_as(conn, AS_A, sql, {"a": PARTNER_A}) == OK0, table
        assert run_as(conn, AS_A, f"select id from public.{table}", {}) == OK1, table


def test_only_admin_or_service_role_may_set_a_page_live(conn: psycopg.Connection) -> None:
    sql = "update public.partner_landing_pages set status = 'live' where id = %(id)s"
    denied = pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin or service_role")
    with denied, conn.transaction(force_rollback=True):
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (AS_A.claims(),))
        conn.execute(sql, {"id": ROW["partner_landing_pages", "a"]})
    assert run_as(conn, AS_ADMIN, sql, {"id": ROW["partner_landing_pages", "a"]}) == OK1
    assert run_as(conn, SERVICE, sql, {"id": ROW["partner_landing_pages", "b"]}) == OK1
    # a partner may do the rest of the workflow on its own page
    back = "update public.partner_landing_pages set status = 'concept' where id = %(id)s"
    assert run_as(conn, AS_A, back, {"id": ROW["partner_landing_pages", "a"]}) == OK1


def test_partner_cannot_insert_a_live_page(conn: psycopg.Connection) -> None:
    sql = ("insert into public.partner_landing_pages (partner_id, path, status) "
           "values (%(a)s, '/a/live-direct', 'live')")
    refused = pytest.raises(psycopg.errors.CheckViolation, match="starts as concept or review")
    with refused, conn.transaction(force_rollback=True):
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (AS_A.claims(),))
        conn.execute(sql, {"a": PARTNER_A})


def test_grants_are_limited_to_what_each_role_needs(conn: psycopg.Connection) -> None:
    tables = [*PARTNER_TABLES, *SEGMENT_TABLES]
    for table in tables:
        rel = f"public.{table}"
        for privilege in ("select", "insert", "update", "delete", "truncate", "references", "trigger"):
            assert not conn.execute(
                "select has_table_privilege('anon', %s, %s)", (rel, privilege)
            ).fetchone()[0], (rel, privilege)
        for privilege in ("truncate", "references", "trigger"):
            assert not conn.execute(
                "select has_table_privilege('authenticated', %s, %s)", (rel, privilege)
            ).fetchone()[0], (rel, privilege)
        rls = conn.execute(
            "select relrowsecurity from pg_class where oid = %s::regclass", (rel,)
        ).fetchone()[0]
        assert rls, f"{rel} has no row level security"


def test_security_definer_helpers_live_outside_the_api_schema(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """select n.nspname, p.proname, p.proconfig from pg_proc p
           join pg_namespace n on n.oid = p.pronamespace
           where p.prosecdef and n.nspname in ('public', 'private')
             and p.proname not in ('refresh_partner_performance_stats')"""
    ).fetchall()
    assert ("private", "is_admin", ["search_path=\"\""]) in rows
    assert all(schema == "private" for schema, _, _ in rows)
    anon_may = conn.execute("select has_function_privilege('anon', 'private.is_admin()', 'execute')")
    assert not anon_may.fetchone()[0]


def test_bi_reader_reads_analytics_only(conn: psycopg.Connection) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("create table analytics.t_bi_probe (x int)")
        assert conn.execute(
            "select has_table_privilege('bi_reader', 'analytics.t_bi_probe', 'select')"
        ).fetchone()[0]
        assert not conn.execute(
            "select has_table_privilege('bi_reader', 'analytics.t_bi_probe', 'insert')"
        ).fetchone()[0]
    readable = conn.execute(
        """select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname not in ('pg_catalog', 'information_schema', 'analytics')
             and c.relkind in ('r', 'v', 'm', 'p')
             and has_table_privilege('bi_reader', c.oid, 'select')"""
    ).fetchall()
    assert readable == []
