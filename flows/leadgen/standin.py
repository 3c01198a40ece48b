"""The stand-in of the existing platform (dev, demo and test databases only).

The SQL lives in ``stand_in/NNN_*.sql``; this module applies it in one transaction, and never to a
database that already has ``public.profiles`` (production, or a database set up before).
"""

from __future__ import annotations

from pathlib import Path

from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect, run_sql_files, table_exists

STAND_IN_DIR = PROJECT_ROOT / "stand_in"


def stand_in_files() -> list[Path]:
    files = sorted(STAND_IN_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    if not files:
        raise FileNotFoundError(f"no stand-in SQL files in {STAND_IN_DIR}")
    return files


def init_stand_in(target: Target | None = None, *, regions_as_text: bool = False) -> str:
    """Create the stand-in objects; a no-op when ``public.profiles`` already exists.

    ``regions_as_text`` creates ``profiles.regions`` as comma-separated ``text`` instead of ``text[]``.
    Returns a one-line summary.
    """
    with connect(target) as conn:
        dbname = conn.info.dbname
        if table_exists(conn, "public.profiles"):
            return f"stand-in skipped: public.profiles already exists in database {dbname!r}"
        # Transaction-local setting read by stand_in/004_tables.sql.
        conn.execute(
            "select set_config('leadgen.regions_as_text', %s, true)",
            ("true" if regions_as_text else "false",),
        )
        files = stand_in_files()
        run_sql_files(conn, files)
        regions_type = conn.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = 'public.profiles'::regclass and attname = 'regions'"
        ).fetchone()
        conn.commit()
    kind = regions_type[0] if regions_type else "?"
    return f"stand-in created in database {dbname!r}: {len(files)} files applied, profiles.regions is {kind}"
