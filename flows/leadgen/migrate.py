"""Apply the SQL files in ``migrations/`` the way the Supabase CLI does, so either tool can be used.

- Files are ``<version>_<name>.sql`` (version = UTC ``yyyymmddhhmmss``), applied in version order.
- History lives in ``supabase_migrations.schema_migrations (version, statements, name)``, created
  with the same statements as the Supabase CLI (``pkg/migration/history.go``). Columns that newer
  hosted Supabase versions add (e.g. ``created_by``, ``idempotency_key``) are nullable and left NULL.
- A file is split into statements like the CLI's ``parser.SplitAndTrim`` (comments kept, strings,
  quoted identifiers, dollar quotes, block comments, parentheses and ``begin atomic`` respected);
  the statements run one by one in ONE transaction together with the history row.
- A session advisory lock serialises concurrent runs; an applied file whose recorded statements
  differ from the file's is refused before anything is applied.

Plain Python (no Prefect import), so ``leadgen migrate status`` and ``--dry-run`` never start
Prefect; the Prefect flow ``migrate`` wraps :func:`apply_migrations` in ``leadgen.migrate_flow``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
HISTORY_TABLE = "supabase_migrations.schema_migrations"
# pg_advisory_lock key shared by every leadgen migrate run (any constant bigint; "leadgen" + 1).
ADVISORY_LOCK_KEY = 0x6C6561646765_01
_FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")

# Exactly the Supabase CLI's statements (CreateMigrationTable).
_CREATE_HISTORY = (
    "create schema if not exists supabase_migrations",
    "create table if not exists supabase_migrations.schema_migrations (version text not null primary key)",
    "alter table supabase_migrations.schema_migrations add column if not exists statements text[]",
    "alter table supabase_migrations.schema_migrations add column if not exists name text",
)
_INSERT_HISTORY = (
    "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)"
)


class MigrationError(RuntimeError):
    """A migration could not be applied; nothing of the failing file remains."""


class ChangedMigrationError(MigrationError):
    """An already applied file differs from what was recorded when it was applied."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    statements: tuple[str, ...]

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass
class MigrationReport:
    dry_run: bool = False
    applied: list[str] = field(default_factory=list)  # applied by this run
    pending: list[str] = field(default_factory=list)  # still to apply (dry run / status)
    already_applied: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # applied, but the file changed since
    unknown: list[str] = field(default_factory=list)  # versions in the history without a file

    def summary(self) -> str:
        if self.dry_run:
            head = f"dry run: {len(self.pending)} pending"
            lines = [head, *(f"  would apply {f}" for f in self.pending)]
        else:
            lines = [f"applied {len(self.applied)}, already applied {len(self.already_applied)}"]
            lines += [f"  applied {f}" for f in self.applied]
        lines += [f"  CHANGED since applied: {f}" for f in self.changed]
        lines += [f"  in history but no file: {v}" for v in self.unknown]
        return "\n".join(lines)


# --- statement splitting ---------------------------------------------------------------------
def _scan(sql: str) -> Iterator[str]:
    """Yield raw statement tokens (terminating ';' included), like the CLI's tokenizer."""
    i, start, n = 0, 0, len(sql)
    depth = 0  # parentheses
    atomic = False  # inside "begin atomic ... end"
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            i += 1
            while i < n:
                if sql[i] == c:
                    if i + 1 < n and sql[i + 1] == c:  # doubled quote
                        i += 2
                        continue
                    break
                i += 1
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n - 1 if end < 0 else end
        elif c == "/" and sql.startswith("/*", i):
            level, i = 1, i + 2
            while i < n and level:
                if sql.startswith("/*", i):
                    level, i = level + 1, i + 2
                elif sql.startswith("*/", i):
                    level, i = level - 1, i + 2
                else:
                    i += 1
            i -= 1
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                tag = m.group(0)
                end = sql.find(tag, i + len(tag))
                i = n - 1 if end < 0 else end + len(tag) - 1
        elif c == "\\":
            i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif c in "cC" and not atomic and re.search(r"(?i)\bbegin\s+atomic$", sql[max(0, i - 40) : i + 1]):
            atomic = True
        elif c in "dD" and atomic and re.search(r"(?i)\bend$", sql[max(0, i - 3) : i + 1]) and (
            i + 1 >= n or not (sql[i + 1].isalnum() or sql[i + 1] == "_")
        ):
            atomic = False
        elif c == ";" and depth == 0 and not atomic:
            yield sql[start : i + 1]
            start = i + 1
        i += 1
    if start < n:
        yield sql[start:]


def split_statements(sql: str) -> list[str]:
    """Statements as the Supabase CLI records them: trailing ';' and surrounding space trimmed,
    comments kept, empty ones dropped."""
    return [s for s in (t.rstrip(";").strip() for t in _scan(sql)) if s]


# --- files and history -----------------------------------------------------------------------
def load_migrations(migrations_dir: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``<version>_<name>.sql`` in the folder, in version order."""
    found: dict[str, Migration] = {}
    for path in sorted(Path(migrations_dir).glob("*.sql")):
        match = _FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: not named <version>_<name>.sql (Supabase CLI naming)")
        version, name = match.groups()
        if version in found:
            raise MigrationError(f"{path.name}: version {version} also used by {found[version].filename}")
        found[version] = Migration(version, name, path, tuple(split_statements(path.read_text())))
    return [found[v] for v in sorted(found, key=lambda v: (len(v), v))]


def _history_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (HISTORY_TABLE,)).fetchone()
    return bool(row and row[0])


def read_history(conn: psycopg.Connection) -> dict[str, list[str] | None]:
    """version -> recorded statements (None when a tool recorded none)."""
    if not _history_exists(conn):
        return {}
    rows = conn.execute(f"select version, statements from {HISTORY_TABLE}").fetchall()
    return {version: statements for version, statements in rows}


def _ensure_history(conn: psycopg.Connection) -> None:
    with conn.transaction():
        for statement in _CREATE_HISTORY:
            conn.execute(statement)  # type: ignore[arg-type]


def _classify(migrations: list[Migration], history: dict[str, list[str] | None],
              report: MigrationReport) -> list[Migration]:
    """Fill the report's applied/changed/unknown lists; return the pending migrations."""
    pending = []
    for m in migrations:
        if m.version not in history:
            pending.append(m)
            continue
        report.already_applied.append(m.filename)
        recorded = history[m.version]
        if recorded is not None and list(recorded) != list(m.statements):
            report.changed.append(m.filename)
    known = {m.version for m in migrations}
    report.unknown = sorted(v for v in history if v not in known)
    return pending


def _changed_message(report: MigrationReport) -> str:
    return (
        "refusing to migrate: applied migration file(s) changed since they were applied: "
        + ", ".join(report.changed)
        + ". Restore the applied text and put the change in a new migration file."
    )


def _describe_failure(migration: Migration, index: int, exc: psycopg.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip()
    parts = [f"{migration.filename}: statement {index + 1} failed: {message}"]
    if diag.message_detail:
        parts.append(f"DETAIL: {diag.message_detail}")
    if diag.message_hint:
        parts.append(f"HINT: {diag.message_hint}")
    first_line = next((ln for ln in migration.statements[index].splitlines()
                       if ln.strip() and not ln.strip().startswith("--")), "")
    parts.append(f"at: {first_line.strip()[:120]}")
    parts.append(f"(nothing of {migration.filename} was applied)")
    return " ".join(parts)


def _apply_one(conn: psycopg.Connection, migration: Migration) -> None:
    """All statements of one file and its history row in one transaction."""
    try:
        with conn.transaction():
            for index, statement in enumerate(migration.statements):
                try:
                    conn.execute(statement)  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    raise MigrationError(_describe_failure(migration, index, exc)) from exc
            conn.execute(_INSERT_HISTORY, (migration.version, migration.name, list(migration.statements)))
    except psycopg.Error as exc:  # e.g. the history insert, or the commit itself
        raise MigrationError(f"{migration.filename}: {exc}") from exc


# --- public API ------------------------------------------------------------------------------
def migration_status(
    target: Target | None = None, *, migrations_dir: Path = MIGRATIONS_DIR
) -> MigrationReport:
    """Applied / pending / changed, read-only (creates nothing)."""
    migrations = load_migrations(migrations_dir)
    report = MigrationReport(dry_run=True)
    with connect(target, autocommit=True) as conn:
        pending = _classify(migrations, read_history(conn), report)
    report.pending = [m.filename for m in pending]
    return report


def apply_migrations(
    target: Target | None = None,
    *,
    dry_run: bool = False,
    migrations_dir: Path = MIGRATIONS_DIR,
) -> MigrationReport:
    """Apply pending migrations in order (see the module docstring). ``dry_run`` only lists them."""
    migrations = load_migrations(migrations_dir)
    if dry_run:
        report = migration_status(target, migrations_dir=migrations_dir)
        if report.changed:
            raise ChangedMigrationError(_changed_message(report))
        return report

    report = MigrationReport()
    with connect(target, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            _ensure_history(conn)
            pending = _classify(migrations, read_history(conn), report)
            if report.changed:
                raise ChangedMigrationError(_changed_message(report))
            for migration in pending:
                _apply_one(conn, migration)
                report.applied.append(migration.filename)
        finally:
            if not conn.closed and not conn.broken:
                conn.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return report
