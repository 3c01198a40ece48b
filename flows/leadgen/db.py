"""Connections and small SQL helpers shared by the CLI, the flows and the tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from leadgen.config import Target, resolve_target


def connect(target: Target | None = None, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection:
    """A psycopg connection to the resolved database (see leadgen.config)."""
    target = target or resolve_target()
    kwargs.setdefault("connect_timeout", 10)  # a hanging host is an error in seconds, not minutes
    return psycopg.connect(target.conninfo, autocommit=autocommit, **kwargs)


def run_sql_files(conn: psycopg.Connection, files: Iterable[Path]) -> None:
    """Execute whole SQL files in order (each file may hold many statements)."""
    for path in files:
        conn.execute(path.read_text())  # type: ignore[arg-type]


def table_exists(conn: psycopg.Connection, qualified_name: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (qualified_name,)).fetchone()
    return bool(row and row[0])


def create_database(admin: Target, dbname: str, template: str | None = None) -> Target:
    with psycopg.connect(admin.with_database("postgres").conninfo, autocommit=True) as conn:
        query = sql.SQL("create database {}").format(sql.Identifier(dbname))
        if template:
            query = sql.SQL("create database {} template {}").format(
                sql.Identifier(dbname), sql.Identifier(template)
            )
        conn.execute(query)
    return admin.with_database(dbname)


def drop_database(admin: Target, dbname: str) -> None:
    with psycopg.connect(admin.with_database("postgres").conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
