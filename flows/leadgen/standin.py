"""The stand-in of the existing platform (dev, demo and test databases only).

The SQL lives in ``stand_in/NNN_*.sql``; this module applies it in one transaction, and never to a
database that already has ``public.profiles`` (production, or a database set up before).

Real platforms differ from DESIGN.md's table in names and types, so the stand-in comes in
variants (:data:`VARIANTS`) along those dimensions; the project must run on each of them. A
variant's optional-column names are mapped for dbt through :meth:`Variant.dbt_env`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect, run_sql_files, table_exists

STAND_IN_DIR = PROJECT_ROOT / "stand_in"


@dataclass(frozen=True)
class Variant:
    """One plausible shape of the platform (read by stand_in/004_tables.sql and 005)."""

    name: str
    industry_id_type: str = "uuid"  # uuid | bigint | integer | text
    status_type: str = "text"  # text | enum
    regions_type: str = "text[]"  # text[] | text (comma-separated)
    profile_extras: bool = True  # email, names, created_at, lead_industries, lead_locations
    mv_columns: str = "full"  # full | design (only DESIGN.md's columns)
    partner_column: str | None = "partner_id"  # leads' assigned partner; None: no such column

    def settings(self) -> dict[str, str]:
        return {
            "industry_id_type": self.industry_id_type,
            "status_type": self.status_type,
            "regions_type": self.regions_type,
            "profile_extras": "on" if self.profile_extras else "off",
            "mv_columns": self.mv_columns,
            "partner_column": self.partner_column or "none",
        }

    def dbt_env(self) -> dict[str, str]:
        """The environment that names this variant's optional columns for dbt (dbt_project.yml vars)."""
        if self.partner_column in (None, "partner_id"):
            return {}
        return {"LEADGEN_LEADS_ASSIGNED_PARTNER_COLUMN": self.partner_column}

    def describe(self) -> str:
        return (
            f"industries.id {self.industry_id_type}, leads.status {self.status_type}, "
            f"profiles.regions {self.regions_type}, profile extras {'on' if self.profile_extras else 'off'}, "
            f"MV columns {self.mv_columns}, assigned partner {self.partner_column or 'absent'}"
        )


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("standard"),
        Variant("text-regions", regions_type="text"),
        # The Supabase table editor's defaults: bigint identity keys, an enum status; a lean profile,
        # the MV with only DESIGN.md's columns, the assigned partner under another name.
        Variant(
            "bigint-enum",
            industry_id_type="bigint",
            status_type="enum",
            profile_extras=False,
            mv_columns="design",
            partner_column="assigned_partner_id",
        ),
        # Integer industry ids, regions as text, and no assigned partner on the lead at all.
        Variant("integer-noassign", industry_id_type="integer", regions_type="text", partner_column=None),
    )
}


def stand_in_files() -> list[Path]:
    files = sorted(STAND_IN_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    if not files:
        raise FileNotFoundError(f"no stand-in SQL files in {STAND_IN_DIR}")
    return files


# The bootstrap part (roles, schema auth, extensions) is Supabase's own and runs as the connecting
# (super)user; the platform's tables are the database owner's (Supabase: postgres).
BOOTSTRAP_FILES = 3


def init_stand_in(
    target: Target | None = None,
    *,
    regions_as_text: bool = False,
    variant: Variant | str | None = None,
    owner: str | None = None,
) -> str:
    """Create the stand-in objects; a no-op when ``public.profiles`` already exists.

    ``variant`` (a :class:`Variant` or a name of :data:`VARIANTS`; default ``standard``) chooses the
    platform's shape; ``regions_as_text`` is the ``text-regions`` variant. ``owner`` makes that role
    own the platform's tables, as Supabase's ``postgres`` (not a superuser) owns them: the bootstrap
    runs as the connecting superuser, the rest as ``owner``. Returns a one-line summary.
    """
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown stand-in variant {variant!r}; choose from {', '.join(VARIANTS)}")
        variant = VARIANTS[variant]
    variant = variant or VARIANTS["text-regions" if regions_as_text else "standard"]
    with connect(target) as conn:
        dbname = conn.info.dbname
        if table_exists(conn, "public.profiles"):
            return f"stand-in skipped: public.profiles already exists in database {dbname!r}"
        for key, value in variant.settings().items():  # transaction-local, read by the SQL files
            conn.execute("select set_config(%s, %s, true)", (f"leadgen.standin.{key}", value))
        files = stand_in_files()
        run_sql_files(conn, files[:BOOTSTRAP_FILES])
        if owner:
            role = sql.Identifier(owner)
            # what Supabase's bootstrap grants postgres on the schemas it does not own
            conn.execute(sql.SQL("grant usage on schema auth, extensions to {}").format(role))
            conn.execute(sql.SQL("grant all on auth.users to {}").format(role))
            conn.execute(sql.SQL("set local role {}").format(role))
        run_sql_files(conn, files[BOOTSTRAP_FILES:])
        conn.commit()
    return f"stand-in {variant.name!r} created in database {dbname!r} ({variant.describe()})"
