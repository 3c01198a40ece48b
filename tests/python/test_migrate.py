"""The migration runner on real PostgreSQL: history like the Supabase CLI, atomic files, locking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from leadgen.config import Target
from leadgen.db import connect
from leadgen.migrate import (
    MIGRATIONS_DIR,
    ChangedMigrationError,
    MigrationError,
    apply_migrations,
    load_migrations,
    migration_status,
    split_statements,
)

FIRST = """-- a comment; with a semicolon
create table public.t_one (id int primary key, note text default 'a;b');
create function public.f_one() returns int language plpgsql as $body$
begin
    return 1;  -- ; inside a dollar body
end;
$body$;
"""
SECOND = (
    "create table public.t_two (id int references public.t_one (id));\ninsert into public.t_one values (1);\n"
)
BROKEN = "create table public.t_broken (id int);\ninsert into public.t_broken values ('not a number');\n"


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _history(target: Target) -> list[tuple[str, str, list[str]]]:
    with connect(target) as conn:
        return conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations order by version"
        ).fetchall()


def _exists(target: Target, relation: str) -> bool:
    with connect(target) as conn:
        return bool(conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0])


@pytest.fixture
def fresh(make_db: Callable[..., Target]) -> Target:
    return make_db("mig")


def test_splitter_matches_the_cli_rules() -> None:
    statements = split_statements(FIRST + "select 1 ;  \n-- trailing")
    assert statements[0].startswith("-- a comment; with a semicolon\ncreate table public.t_one")
    assert statements[0].endswith("default 'a;b')")
    assert statements[1].startswith("create function") and statements[1].endswith("$body$")
    assert statements[2:] == ["select 1", "-- trailing"]
    assert split_statements('select "a;b", $$x;y$$; /* c; /* d; */ */ select (1;2)') == [
        'select "a;b", $$x;y$$',
        "/* c; /* d; */ */ select (1;2)",
    ]
    assert split_statements("create function g() returns int begin atomic select 1; end; select 2") == [
        "create function g() returns int begin atomic select 1; end",
        "select 2",
    ]


def test_applies_in_order_records_like_the_cli_and_second_run_is_a_noop(
    fresh: Target, tmp_path: Path
) -> None:
    folder = _write(tmp_path, {"20260101000000_first.sql": FIRST, "20260102000000_second.sql": SECOND})
    report = apply_migrations(fresh, migrations_dir=folder)
    assert report.applied == ["20260101000000_first.sql", "20260102000000_second.sql"]
    history = _history(fresh)
    assert [(v, n) for v, n, _ in history] == [("20260101000000", "first"), ("20260102000000", "second")]
    assert history[0][2] == split_statements(FIRST) and len(history[0][2]) == 2
    assert _exists(fresh, "public.t_two")

    again = apply_migrations(fresh, migrations_dir=folder)
    assert again.applied == []
    assert again.already_applied == report.applied
    assert _history(fresh) == history


def test_history_table_has_the_supabase_cli_layout(fresh: Target, tmp_path: Path) -> None:
    apply_migrations(fresh, migrations_dir=_write(tmp_path, {"20260101000000_first.sql": FIRST}))
    with connect(fresh) as conn:
        columns = conn.execute(
            """select column_name, data_type, udt_name, is_nullable from information_schema.columns
               where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'
               order by ordinal_position"""
        ).fetchall()
        pk = conn.execute(
            """select a.attname from pg_index i
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
               where i.indrelid = 'supabase_migrations.schema_migrations'::regclass and i.indisprimary"""
        ).fetchall()
    assert columns == [
        ("version", "text", "text", "NO"),
        ("statements", "ARRAY", "_text", "YES"),
        ("name", "text", "text", "YES"),
    ]
    assert pk == [("version",)]


def test_existing_cli_history_table_with_extra_columns_is_used_as_is(fresh: Target, tmp_path: Path) -> None:
    """A table created by a newer Supabase (extra nullable columns) is kept; rows leave them NULL."""
    with connect(fresh, autocommit=True) as conn:
        conn.execute("create schema supabase_migrations")
        conn.execute(
            "create table supabase_migrations.schema_migrations (version text not null primary key,"
            " statements text[], name text, created_by text, idempotency_key text unique)"
        )
    apply_migrations(fresh, migrations_dir=_write(tmp_path, {"20260101000000_first.sql": FIRST}))
    with connect(fresh) as conn:
        row = conn.execute(
            "select name, created_by, idempotency_key from supabase_migrations.schema_migrations"
        ).fetchone()
    assert row == ("first", None, None)


def test_broken_file_leaves_no_object_and_no_history_row(fresh: Target, tmp_path: Path) -> None:
    folder = _write(
        tmp_path, {"20260101000000_first.sql": FIRST, "20260102000000_broken.sql": BROKEN,
                   "20260103000000_second.sql": SECOND}
    )
    with pytest.raises(MigrationError) as err:
        apply_migrations(fresh, migrations_dir=folder)
    message = str(err.value)
    assert "20260102000000_broken.sql" in message
    assert "statement 2" in message
    assert 'invalid input syntax for type integer: "not a number"' in message
    assert not _exists(fresh, "public.t_broken")  # its first statement was rolled back too
    assert not _exists(fresh, "public.t_two")  # later files did not run
    assert [v for v, _, _ in _history(fresh)] == ["20260101000000"]  # earlier file stays applied


def test_changed_applied_file_is_refused_before_anything_is_applied(fresh: Target, tmp_path: Path) -> None:
    folder = _write(tmp_path, {"20260101000000_first.sql": FIRST})
    apply_migrations(fresh, migrations_dir=folder)
    _write(folder, {"20260101000000_first.sql": FIRST.replace("'a;b'", "'changed'"),
                    "20260102000000_second.sql": SECOND})
    with pytest.raises(ChangedMigrationError, match=r"20260101000000_first\.sql"):
        apply_migrations(fresh, migrations_dir=folder)
    assert not _exists(fresh, "public.t_two")
    assert [v for v, _, _ in _history(fresh)] == ["20260101000000"]
    assert migration_status(fresh, migrations_dir=folder).changed == ["20260101000000_first.sql"]
    # whitespace/comment-only edits outside statements are not a change (statements are trimmed)
    _write(folder, {"20260101000000_first.sql": FIRST + "\n\n"})
    (folder / "20260102000000_second.sql").unlink()
    assert apply_migrations(fresh, migrations_dir=folder).applied == []


def test_dry_run_lists_and_changes_nothing(fresh: Target, tmp_path: Path) -> None:
    folder = _write(tmp_path, {"20260101000000_first.sql": FIRST, "20260102000000_second.sql": SECOND})
    report = apply_migrations(fresh, dry_run=True, migrations_dir=folder)
    assert report.pending == ["20260101000000_first.sql", "20260102000000_second.sql"]
    assert report.applied == []
    assert not _exists(fresh, "supabase_migrations.schema_migrations")  # not even the history table
    assert not _exists(fresh, "public.t_one")
    apply_migrations(fresh, migrations_dir=_write(tmp_path / "one", {"20260101000000_first.sql": FIRST}))
    status = migration_status(fresh, migrations_dir=folder)
    assert status.already_applied == ["20260101000000_first.sql"]
    assert status.pending == ["20260102000000_second.sql"]


def test_concurrent_runs_apply_each_file_once(fresh: Target, tmp_path: Path) -> None:
    slow = "create table public.t_slow (id int);\nselect pg_sleep(0.5);\n"
    folder = _write(tmp_path, {"20260101000000_slow.sql": slow, "20260102000000_first.sql": FIRST})
    results: list[object] = []

    def run() -> None:
        try:
            results.append(apply_migrations(fresh, migrations_dir=folder))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    applied = sorted(f for r in results for f in r.applied)  # type: ignore[union-attr]
    assert applied == ["20260101000000_slow.sql", "20260102000000_first.sql"]
    assert [v for v, _, _ in _history(fresh)] == ["20260101000000", "20260102000000"]


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match=r"lead_segments\.sql"):
        load_migrations(_write(tmp_path, {"lead_segments.sql": "select 1;"}))


def test_project_migrations_are_named_like_the_supabase_cli() -> None:
    migrations = load_migrations(MIGRATIONS_DIR)
    assert migrations, "no migrations in migrations/"
    for m in migrations:
        assert len(m.version) == 14 and m.version.startswith("20"), m.filename
        assert m.statements


def test_connection_errors_are_not_swallowed(tmp_path: Path, fresh: Target) -> None:
    bad = fresh.with_database("leadgen_no_such_database_x")
    with pytest.raises(psycopg.OperationalError):
        apply_migrations(bad, migrations_dir=_write(tmp_path, {"20260101000000_first.sql": FIRST}))
