"""Platforms the tests did not shape after our own code: the stand-in's variants (leadgen.standin),
owned by a Supabase-like role, and the end-to-end path a user runs on them.

Supabase's bootstrap (supabase/postgres) demotes ``postgres`` to a non-superuser with BYPASSRLS,
CREATEROLE and CREATEDB that owns the tables it creates; the API roles and ``auth`` belong to
others. :func:`supabase_like_role` creates such a role, :func:`variant_platform` a database it owns
with the platform in a variant's shape, and :func:`run_end_to_end` runs migrate, ``dbt build``,
the ``daily`` flow and the write-back on it as that role.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect
from leadgen.standin import VARIANTS, Variant, init_stand_in
from psycopg import sql

LEADGEN = Path(os.sys.executable).parent / "leadgen"  # type: ignore[attr-defined]
SMALL = {"partners": 60, "leads": 2500, "days": 45, "seed": 11}


@contextmanager
def supabase_like_role(server: Target, name: str) -> Iterator[tuple[str, str]]:
    """A login role like Supabase's ``postgres``: NOSUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB.
    Yields (name, password); dropped at the end with the databases it owns."""
    password = secrets.token_urlsafe(16)
    admin = server.with_database("postgres")
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        verb = "alter" if exists else "create"
        conn.execute(
            sql.SQL(verb + " role {} login nosuperuser bypassrls createrole createdb password {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    try:
        yield name, password
    finally:
        with psycopg.connect(admin.conninfo, autocommit=True) as conn:
            owned = conn.execute(
                "select datname from pg_database "
                "where datdba = (select oid from pg_roles where rolname = %s)",
                (name,),
            ).fetchall()
            for (dbname,) in owned:
                drop = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
                conn.execute(drop)
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def variant_platform(
    make_db: Callable[..., Target], variant: Variant, role: tuple[str, str]
) -> Target:
    """A database owned by ``role`` with the stand-in in ``variant``'s shape; returned as ``role``."""
    name, password = role
    target = make_db(f"v_{variant.name.replace('-', '_')}")
    with connect(target.with_database("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} owner to {}").format(
            sql.Identifier(target.dbname), sql.Identifier(name)))
    init_stand_in(target, variant=variant, owner=name)
    return target.with_user(name, password)


def rows(target: Target, query: str) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def cli(
    target: Target, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``leadgen <args>`` as a user runs it, against ``target`` (libpq variables)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGPASSWORD")}
    env.update(target.env)
    env.update(extra_env or {})
    return subprocess.run(
        [str(LEADGEN), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False,
        timeout=600,
    )


@dataclass
class EndToEnd:
    target: Target
    variant: Variant
    check_before_migrate: subprocess.CompletedProcess[str]
    check_after: subprocess.CompletedProcess[str]


def run_end_to_end(
    target: Target,
    variant: Variant,
    mp: pytest.MonkeyPatch,
    dbt_target_path: Path,
    dbt: Callable[..., subprocess.CompletedProcess[str]],
) -> EndToEnd:
    """check (refused: migrations pending) -> migrate -> generate -> check -> dbt build -> the daily
    flow (MV refresh, build, write-back, summary), all as ``target``'s role. Needs a Prefect API."""
    from leadgen import pipeline
    from leadgen.generate import generate_marketplace
    from leadgen.migrate import apply_migrations

    env = variant.dbt_env()
    for key, value in env.items():
        mp.setenv(key, value)
    before = cli(target, "check", extra_env=env)
    apply_migrations(target)
    generate_marketplace(target, progress=False, **SMALL)
    after = cli(target, "check", extra_env=env)
    mp.setenv("DBT_TARGET_PATH", str(dbt_target_path))
    dbt(target, "build", extra_env=env)
    mp.delenv("DATABASE_URL", raising=False)
    mp.delenv("PGPASSWORD", raising=False)
    for key, value in target.env.items():
        mp.setenv(key, value)
    state = pipeline.daily(return_state=True)
    assert state.is_completed(), state.message
    return EndToEnd(target, variant, before, after)


__all__ = ["SMALL", "VARIANTS", "EndToEnd", "cli", "rows", "run_end_to_end", "supabase_like_role",
           "variant_platform"]
