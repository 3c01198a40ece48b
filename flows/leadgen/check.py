"""`leadgen check`: is this database a platform the project can run on?

Checks the target against the source contract (the column ``meta`` of
``models/staging/public/_public__sources.yml``: required / optional / phase2 columns, the type
families each accepts, the dbt var naming an optional column), the role's access (row level
security, ownership), the migrations and the extensions, and returns every problem at once, one
line each with its fix. Plain psycopg: no dbt, no Prefect, so it is cheap enough to be the first
step of every flow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import psycopg

from leadgen.config import PROJECT_ROOT, Target, dbt_var, resolve_target
from leadgen.db import connect

SOURCES_YML = PROJECT_ROOT / "models" / "staging" / "public" / "_public__sources.yml"
MIN_SERVER_VERSION = 150000
# Type families of the contract -> what the catalog (format_type) may say for them.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "uuid": ("uuid",),
    "text": ("text", "character varying", "character", "citext", "name"),
    "integer": ("smallint", "integer", "bigint"),
    "numeric": ("numeric", "real", "double precision", "smallint", "integer", "bigint"),
    "boolean": ("boolean",),
    "timestamptz": ("timestamp with time zone",),
    "text[]": ("text[]", "character varying[]"),
}


class PlatformCheckError(RuntimeError):
    """The target is not a platform the project can run on; the message lists every problem."""

    exit_code = 2


@dataclass(frozen=True)
class ContractColumn:
    table: str
    name: str  # the contract's name
    kind: str  # required | optional | phase2
    types: tuple[str, ...]
    var: str | None

    @property
    def physical(self) -> str:
        """The platform's name of the column (the dbt var's value, else the contract's name)."""
        return dbt_var(self.var) if self.var else self.name


@dataclass
class CheckReport:
    database: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            head = f"ok: database {self.database!r} meets the source contract"
            return [head + (f" ({'; '.join(self.notes)})" if self.notes else "")]
        return [f"problem: {p}" for p in self.problems] + [f"note: {n}" for n in self.notes]


@cache
def contract() -> tuple[ContractColumn, ...]:
    """Every column of the source contract, in the yml's order."""
    import yaml

    columns: list[ContractColumn] = []
    for source in yaml.safe_load(SOURCES_YML.read_text())["sources"]:
        for table in source.get("tables", []):
            for column in table.get("columns", []):
                meta = column.get("meta") or {}
                if meta.get("contract"):
                    columns.append(ContractColumn(
                        table=table["name"], name=column["name"], kind=meta["contract"],
                        types=tuple(meta.get("types") or ()), var=meta.get("var"),
                    ))
    return tuple(columns)


def _family(type_name: str, is_enum: bool, families: Iterable[str]) -> bool:
    if is_enum:
        return "enum" in families
    base = type_name.split("(")[0].strip()
    if type_name.endswith("[]"):
        base = base.split("[")[0].strip() + "[]"
    return any(base in _FAMILIES.get(f, ()) for f in families)


def _catalog(conn: psycopg.Connection, table: str) -> dict[str, tuple[str, bool]] | None:
    """{column: (format_type, is_enum)} of public.<table> (table, view or materialized view)."""
    if conn.execute("select to_regclass(%s)", (f"public.{table}",)).fetchone() == (None,):
        return None
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod), t.typtype = 'e'
        from pg_catalog.pg_attribute as a
        inner join pg_catalog.pg_type as t on a.atttypid = t.oid
        where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
        """,
        (f"public.{table}",),
    ).fetchall()
    return {str(name): (str(kind), bool(is_enum)) for name, kind, is_enum in rows}


def _check_columns(conn: psycopg.Connection, report: CheckReport, migrated: bool) -> None:
    catalogs: dict[str, dict[str, tuple[str, bool]] | None] = {}
    absent_optional: list[str] = []
    for col in contract():
        if col.table not in catalogs:
            catalogs[col.table] = _catalog(conn, col.table)
            if catalogs[col.table] is None:
                report.problems.append(
                    f"public.{col.table} does not exist: this is not the platform's database "
                    "(a development database gets one with `leadgen db init-stand-in`)"
                )
        live = catalogs[col.table]
        if live is None or (col.kind == "phase2" and not migrated):
            continue
        accepted = " or ".join(col.types)
        if col.physical not in live:
            if col.kind == "optional":
                absent_optional.append(f"{col.table}.{col.physical}")
            elif col.kind == "phase2":
                report.problems.append(
                    f"public.{col.table}.{col.name} is missing although the migrations are recorded as "
                    "applied: the history does not match the schema (restore the column, or remove the "
                    "history row of the migration that adds it and run `leadgen migrate`)"
                )
            else:
                report.problems.append(
                    f"public.{col.table}.{col.name} is missing (required, {accepted}): the project reads "
                    "it; add it to the platform or rename the platform's equivalent column to it"
                )
            continue
        type_name, is_enum = live[col.physical]
        if not _family(type_name, is_enum, col.types):
            hint = f" (dbt var {col.var})" if col.var else ""
            report.problems.append(
                f"public.{col.table}.{col.physical}{hint} is {type_name}{' (an enum)' if is_enum else ''}; "
                f"the project reads {accepted}: alter the column or map another one"
            )
    if absent_optional:
        report.notes.append("optional columns absent, NULL downstream: " + ", ".join(absent_optional))
    for col in contract():
        if col.var and col.physical != col.name:
            report.notes.append(f"{col.table}.{col.name} read from {col.physical} (dbt var {col.var})")


def _check_access(conn: psycopg.Connection, report: CheckReport) -> None:
    row = conn.execute(
        "select current_user, rolsuper, rolbypassrls from pg_catalog.pg_roles where rolname = current_user"
    ).fetchone()
    if row is None:
        return
    user, is_super, bypasses = str(row[0]), bool(row[1]), bool(row[2])
    tables = sorted({c.table for c in contract()})
    rows = conn.execute(
        """
        select c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
            pg_has_role(current_user, c.relowner, 'USAGE'),
            has_table_privilege(c.oid, 'select')
        from pg_catalog.pg_class as c
        inner join pg_catalog.pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = 'public' and c.relname = any(%s)
        """,
        (tables,),
    ).fetchall()
    for name, kind, rls, forced, owns, can_select in rows:
        if not can_select:
            report.problems.append(
                f"role {user} cannot read public.{name}: connect as the platform's owner role "
                f"(Supabase: postgres) or `grant select on public.{name} to {user}`"
            )
        elif rls and not (is_super or bypasses) and (forced or not owns):
            report.problems.append(
                f"role {user} cannot bypass row level security on public.{name} and does not own it: "
                "dbt would silently read only the rows a policy shows it (often none); connect as the "
                f"platform's owner role (Supabase: postgres) or `alter role {user} bypassrls`"
            )
        elif kind == "r" and name == "leads" and not owns and not is_super:
            report.notes.append(
                f"role {user} does not own public.leads (migrations that alter it need the owner)"
            )


def _check_migrations(conn: psycopg.Connection, report: CheckReport) -> bool:
    """Migration state; True when every migration file is recorded as applied."""
    from leadgen.migrate import HISTORY_TABLE, MigrationReport, _classify, load_migrations, read_history

    migrations = load_migrations()
    history = read_history(conn)
    status = MigrationReport(dry_run=True)
    pending = _classify(migrations, history, status)
    if pending:
        report.problems.append(
            f"{len(pending)} of {len(migrations)} migrations pending (first: {pending[0].filename}): "
            "run `leadgen migrate`"
        )
    for name in status.changed:
        report.problems.append(
            f"migration {name} changed since it was applied: restore its text, put the change in a new file"
        )
    if status.unknown:  # normal on a Supabase platform with its own migrations: not a problem
        report.notes.append(
            f"{HISTORY_TABLE} holds {len(status.unknown)} versions without a file in migrations/ "
            f"({', '.join(status.unknown[:3])}{', ...' if len(status.unknown) > 3 else ''}): leadgen ignores "
            "them; the Supabase CLI needs the platform's own migration files beside ours to push"
        )
    if history:
        extra = conn.execute(
            """
            select string_agg(column_name, ', ' order by ordinal_position)
            from information_schema.columns
            where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'
                and column_name not in ('version', 'statements', 'name')
                and is_nullable = 'NO' and column_default is null
            """
        ).fetchone()
        if extra and extra[0]:
            report.problems.append(
                f"{HISTORY_TABLE} has NOT NULL columns without a default that leadgen does not write "
                f"({extra[0]}): give them a default or apply the migrations with the Supabase CLI"
            )
    return not pending


def _check_platform_objects(conn: psycopg.Connection, report: CheckReport) -> None:
    row = conn.execute(
        "select current_setting('server_version_num')::int, current_setting('server_version'), "
        "exists (select 1 from pg_catalog.pg_extension where extname = 'moddatetime'), "
        "to_regprocedure('public.refresh_partner_performance_stats()') is not null"
    ).fetchone()
    if row is None:
        return
    version_num, version, has_moddatetime, has_refresh = row
    if int(version_num) < MIN_SERVER_VERSION:
        report.problems.append(
            f"PostgreSQL {version} is older than 15 (Supabase runs 15-17): upgrade the server"
        )
    if not has_moddatetime:
        report.problems.append(
            "extension moddatetime is absent (the migrations' updated_at triggers use it): "
            "`create extension moddatetime with schema extensions` (Supabase: Database > Extensions)"
        )
    if not has_refresh:
        report.problems.append(
            "function public.refresh_partner_performance_stats() is missing (daily refreshes the MV "
            "through it): create the platform's RPC"
        )


def check_platform(target: Target | None = None) -> CheckReport:
    """Every problem of the target at once (see the module docstring); connection errors included."""
    target = target or resolve_target()
    report = CheckReport(database=target.dbname)
    try:
        with connect(target, autocommit=True, connect_timeout=10) as conn:
            _check_platform_objects(conn, report)
            migrated = _check_migrations(conn, report)
            _check_columns(conn, report, migrated)
            _check_access(conn, report)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        report.problems.append(
            f"cannot connect to the database {target.url()} (from {target.source}): {reason}"
        )
    return report


def require_platform(target: Target | None = None) -> CheckReport:
    """:func:`check_platform`, raising :class:`PlatformCheckError` when there is any problem."""
    report = check_platform(target)
    if not report.ok:
        raise PlatformCheckError(
            f"database {report.database!r} is not ready ({len(report.problems)} problems, "
            "see `leadgen check`): " + " | ".join(report.problems)
        )
    return report
