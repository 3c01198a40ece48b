"""Which database leadgen talks to: one rule for the CLI, the flows, the tests and dbt.

1. ``DATABASE_URL`` is set -> that database.
2. Any of libpq's ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``/``PGDATABASE`` is set -> libpq's
   own resolution of those variables (so ``eval "$(leadgen db env)"`` and a plain ``psql`` agree).
3. Neither -> the embedded PostgreSQL under ``.leadgen/``, started on demand.

``Target.env`` is the same database as libpq variables, which is what ``profiles.yml`` reads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict, make_conninfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LIBPQ_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
DEFAULT_DATABASE = "leadgen"
_CONNINFO_TO_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
}


@cache
def _project_vars() -> dict[str, object]:
    import yaml

    return dict(yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"])


_ENV_VAR = re.compile(r"""^\{\{\s*env_var\(\s*'([A-Z0-9_]+)'\s*,\s*'([^']*)'\s*\)\s*\}\}$""")


def dbt_var(name: str) -> str:
    """A var of dbt_project.yml, read from there so Python never drifts from the models. A value
    ``{{ env_var('NAME', 'default') }}`` is resolved as dbt resolves it."""
    value = str(_project_vars()[name])
    match = _ENV_VAR.match(value.strip())
    if match:
        return os.environ.get(match.group(1), match.group(2))
    return value


def reporting_timezone() -> str:
    """The calendar of every daily number: dbt's var `timezone`, so the summary, the report and
    backfill validation never drift from the models."""
    return dbt_var("timezone")


@dataclass(frozen=True)
class Target:
    """A resolved database: a libpq conninfo string plus the same as environment variables."""

    conninfo: str
    is_embedded: bool
    source: str  # "DATABASE_URL", "libpq environment" or "embedded"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def dbname(self) -> str:
        return self.env.get("PGDATABASE", DEFAULT_DATABASE)

    def with_database(self, dbname: str) -> Target:
        """The same server, another database (used for throwaway test databases)."""
        params = conninfo_to_dict(self.conninfo)
        params["dbname"] = dbname
        return Target(
            conninfo=make_conninfo(**params),
            is_embedded=self.is_embedded,
            source=self.source,
            env={**self.env, "PGDATABASE": dbname},
        )

    def with_user(self, user: str, password: str | None = None) -> Target:
        """The same database as another role (tests run as a Supabase-like, non-superuser owner)."""
        params = conninfo_to_dict(self.conninfo)
        params["user"] = user
        params.pop("password", None)
        env = {k: v for k, v in self.env.items() if k != "PGPASSWORD"}
        if password:
            params["password"] = password
            env["PGPASSWORD"] = password
        return Target(make_conninfo(**params), self.is_embedded, self.source, {**env, "PGUSER": user})

    def url(self, *, hide_password: bool = True) -> str:
        """The database as a URL; the password is masked unless asked for (`leadgen db url`)."""
        p = conninfo_to_dict(self.conninfo)
        auth = quote(str(p.get("user", "")), safe="")  # an @, : or / in a user or password is data
        if p.get("password"):
            auth += ":***" if hide_password else f":{quote(str(p['password']), safe='')}"
        host, port = str(p.get("host", "localhost")), p.get("port", "5432")
        dbname = quote(str(p.get("dbname", "")), safe="")
        if host.startswith("/"):  # a socket directory goes in the query string
            return f"postgresql://{auth}@:{port}/{dbname}?host={quote(host, safe='')}"
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return f"postgresql://{auth}@{host}:{port}/{dbname}"


def _env_from_conninfo(conninfo: str) -> dict[str, str]:
    params = conninfo_to_dict(conninfo)
    return {env: str(params[key]) for key, env in _CONNINFO_TO_ENV.items() if params.get(key)}


def configured_externally(environ: dict[str, str] | None = None) -> bool:
    environ = dict(os.environ) if environ is None else environ
    return bool(environ.get("DATABASE_URL")) or any(environ.get(v) for v in LIBPQ_VARS)


def resolve_target(start_embedded: bool = True) -> Target:
    """Resolve the database by the rule above; start the embedded server when it is the one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        conninfo = make_conninfo(url)
        return Target(conninfo, False, "DATABASE_URL", _env_from_conninfo(conninfo))
    if any(os.environ.get(v) for v in LIBPQ_VARS):
        params = {
            "host": os.environ.get("PGHOST", "localhost"),
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", os.environ.get("USER", "postgres")),
            "dbname": os.environ.get("PGDATABASE", DEFAULT_DATABASE),
        }
        if os.environ.get("PGPASSWORD"):
            params["password"] = os.environ["PGPASSWORD"]
        conninfo = make_conninfo(**params)
        return Target(conninfo, False, "libpq environment", _env_from_conninfo(conninfo))
    from leadgen.embedded import EmbeddedPostgres

    server = EmbeddedPostgres.for_project()
    if start_embedded:
        server.start()
    conninfo = server.conninfo(DEFAULT_DATABASE)
    return Target(conninfo, True, "embedded", _env_from_conninfo(conninfo))
