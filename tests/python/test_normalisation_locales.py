"""normalize_key and parse_pc4 give the same answers in a C, a C.UTF-8 and an ICU database: their unit
tests (any accent, any Unicode space or zero-width character) run in each."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from leadgen.config import Target
from psycopg import sql

pytestmark = pytest.mark.slow

UNIT_TESTS = (
    "test_parse_pc4_real_world_postcodes",
    "test_normalize_key_is_case_space_dot_hyphen_and_accent_blind",
)


def _database_with_locale(server: Target, name: str, locale: str, icu: str | None = None) -> Target:
    with psycopg.connect(server.with_database("postgres").conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        provider = sql.SQL("")
        if icu:
            provider = sql.SQL(" locale_provider icu icu_locale {}").format(sql.Literal(icu))
        try:
            conn.execute(sql.SQL(
                "create database {} template template0 encoding 'UTF8' lc_collate {} lc_ctype {}{}"
            ).format(sql.Identifier(name), sql.Literal(locale), sql.Literal(locale), provider))
        except psycopg.Error as exc:
            pytest.skip(f"the server has no {icu or locale} locale: {exc.diag.message_primary}")
    return server.with_database(name)


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_normalisation_is_the_same_in_every_locale(
    server: Target, make_db: Callable[..., Target], dbt: Callable[..., object], locale: str
) -> None:
    target = make_db(f"loc_{locale.replace('.', '').replace('-', '').lower()}")
    target = _database_with_locale(server, target.dbname, locale)
    with psycopg.connect(target.conninfo) as conn:
        [(collate,)] = conn.execute("select datcollate from pg_database where datname = current_database()")
    assert collate == locale
    result = dbt(target, "test", "--select", *UNIT_TESTS)
    assert "PASS=2" in result.stdout, result.stdout[-2000:]  # type: ignore[attr-defined]


def test_normalisation_is_the_same_in_an_icu_database(pg15: Target, dbt: Callable[..., object]) -> None:
    """Debian's PostgreSQL 15 has ICU (the embedded 18 is built without it)."""
    target = _database_with_locale(pg15, "leadgen_loc_icu_nl", "C", icu="nl-NL")
    try:
        with psycopg.connect(target.conninfo) as conn:
            [(provider,)] = conn.execute(
                "select datlocprovider from pg_database where datname = current_database()"
            )
        assert provider == "i"
        result = dbt(target, "test", "--select", *UNIT_TESTS)
        assert "PASS=2" in result.stdout, result.stdout[-2000:]  # type: ignore[attr-defined]
    finally:
        with psycopg.connect(pg15.with_database("postgres").conninfo, autocommit=True) as conn:
            conn.execute("drop database if exists leadgen_loc_icu_nl with (force)")
