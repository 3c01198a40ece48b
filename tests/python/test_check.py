"""`leadgen check` names every problem of a target, one line each with its fix, and exits 2;
`leadgen run daily` stops on the same problems before dbt runs."""

from __future__ import annotations

import pytest
from leadgen.config import Target
from leadgen.db import connect
from variant_platforms import cli, rows

pytestmark = pytest.mark.slow


def _sql(target: Target, *statements: str) -> None:
    with connect(target, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _problems(result: object) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("problem: ")]  # type: ignore[attr-defined]


def test_a_missing_and_a_mistyped_column_are_named_with_exit_2(db_copy: Target) -> None:
    _sql(
        db_copy,
        "drop view public.lead_routing_candidates",
        "alter table public.leads drop column province",
        "alter table public.profiles alter column max_open_leads type text",
    )
    result = cli(db_copy, "check")
    assert result.returncode == 2, result.stdout + result.stderr
    problems = _problems(result)
    assert any("public.leads.province is missing" in p for p in problems), problems
    assert any("public.profiles.max_open_leads is text" in p and "integer" in p for p in problems), problems
    assert len(problems) == 2, problems


def test_daily_stops_on_the_check_before_dbt_runs(db_copy: Target) -> None:
    _sql(db_copy, "drop view public.lead_routing_candidates", "alter table public.leads drop column postcode")
    result = cli(db_copy, "run", "daily")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "public.leads.postcode is missing" in result.stderr
    [(built,)] = rows(db_copy, "select count(*) from pg_namespace where nspname = 'staging'")
    assert built == 0  # dbt never ran: not even the staging schema exists


def test_a_role_that_cannot_bypass_rls_is_told_it_would_read_nothing(db_copy: Target) -> None:
    role = f"leadgen_weak_{db_copy.dbname[-6:]}"
    _sql(
        db_copy,
        f"create role {role} login password 'weak-pw'",
        f"grant usage on schema public, supabase_migrations to {role}",
        f"grant select on all tables in schema public to {role}",
        f"grant select on all tables in schema supabase_migrations to {role}",
    )
    try:
        result = cli(db_copy.with_user(role, "weak-pw"), "check")
        problems = _problems(result)
        assert result.returncode == 2
        rls = [p for p in problems if "cannot bypass row level security" in p]
        assert {p.split(" on ")[1].split()[0] for p in rls} == {
            "public.industries", "public.leads", "public.profiles"
        }, problems
        assert all("bypassrls" in p for p in rls)
    finally:
        _sql(db_copy, f"drop owned by {role}", f"drop role {role}")


def test_a_missing_moddatetime_is_a_problem_history_versions_without_files_a_note(db_copy: Target) -> None:
    _sql(
        db_copy,
        "insert into supabase_migrations.schema_migrations (version, name) "
        "values ('20240101000000', 'platform')",
        "drop extension moddatetime cascade",
    )
    result = cli(db_copy, "check")
    problems = _problems(result)
    assert problems == [next(p for p in problems if "moddatetime is absent" in p)], problems
    # the platform's own migrations in the history are normal: a note, not a problem
    assert "20240101000000" in result.stdout and "Supabase CLI" in result.stdout


def test_pending_migrations_are_one_line_naming_the_command(empty_db: Target) -> None:
    result = cli(empty_db, "check")
    assert result.returncode == 2
    problems = _problems(result)
    assert any("public.leads does not exist" in p for p in problems), problems
    assert any("migrations pending" in p and "`leadgen migrate`" in p for p in problems), problems


def test_an_unreachable_database_is_a_problem_not_a_traceback(empty_db: Target) -> None:
    bad = Target("host=127.0.0.1 port=1 dbname=x user=x", False, "test", {
        "PGHOST": "127.0.0.1", "PGPORT": "1", "PGDATABASE": "x", "PGUSER": "x"})
    result = cli(bad, "check")
    assert result.returncode == 2
    assert _problems(result)[0].startswith("problem: cannot connect to the database postgresql://x@127.0.0.1:1/x")
    assert "Traceback" not in result.stderr


def _findings(result: object) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(("ERROR ", "WARN "))]  # type: ignore[attr-defined]


def test_security_lists_the_platforms_exposures_with_their_fix(make_db: object) -> None:
    """Before the phase-2 migrations the stand-in shows what issue 15 found; after them what
    phase 2 closes is gone and what the platform owns is still reported, each with its SQL."""
    from leadgen.migrate import apply_migrations
    from leadgen.standin import init_stand_in

    target = make_db("security")  # type: ignore[operator]
    init_stand_in(target)
    before = _findings(cli(target, "check", "--security"))
    assert any(f.startswith("ERROR policy_allows_rights_column_write") and "is_admin" in f for f in before)
    assert any("anon_security_definer_function_executable" in f and "refresh_partner_performance_stats" in f
               for f in before)
    assert any("security_definer_view" in f and "lead_routing_candidates" in f and "anon" in f
               for f in before)
    assert all("; fix: " in f for f in before)
    apply_migrations(target)
    after = _findings(cli(target, "check", "--security"))
    assert not any("policy_allows_rights_column_write" in f or "anon_security_definer" in f for f in after)
    view = [f for f in after if "security_definer_view" in f]
    assert view and "anon" not in view[0].split("; fix:")[0]  # still readable by authenticated: reported
    assert any("default_privileges_open_to_anon" in f for f in after)
    with connect(target, autocommit=True) as conn:
        conn.execute("create table public.unprotected (id int)")
    assert any(f.startswith("ERROR rls_disabled_in_public: table public.unprotected")
               for f in _findings(cli(target, "check", "--security")))
