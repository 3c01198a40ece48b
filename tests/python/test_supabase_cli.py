"""The Supabase CLI as a real client of our migrations (issue 13): both directions.

SLOW MODULE (≈ 30 s; the first run also installs the CLI, ≈ 10 s online): the CLI comes from npm
(``supabase@2.117.0``, pinned, into ``.leadgen/npm``, once); without npm or offline the module is
skipped with the reason. The CLI reads migrations from ``<workdir>/supabase/migrations``: a
temporary workdir holds symlinks to our ``migrations/`` files. Its HOME is a temporary directory
too (it writes telemetry there). A plain local server has no TLS, which the CLI only accepts with
``sslmode=disable`` in the URL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect
from leadgen.migrate import MIGRATIONS_DIR, apply_migrations, load_migrations
from leadgen.standin import VARIANTS, init_stand_in
from variant_platforms import supabase_like_role, variant_platform

pytestmark = pytest.mark.slow

CLI_VERSION = "2.117.0"
NPM_PREFIX = Path(os.environ.get("LEADGEN_HOME", PROJECT_ROOT / ".leadgen")).resolve() / "npm"
SHIPPED = [m.version for m in load_migrations()]
# A migration of the platform itself, recorded in the history, whose file only the platform has.
PLATFORM_VERSION, PLATFORM_FILE = "20250101000000", "20250101000000_platform_init.sql"


def _installed_cli() -> Path:
    """The pinned CLI under .leadgen/npm, installed from npm on first use (or a skip with the reason)."""
    binary = NPM_PREFIX / "node_modules" / ".bin" / "supabase"
    if binary.exists():
        found = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
        if found.stdout.strip() == CLI_VERSION:
            return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not installed: cannot install the Supabase CLI {CLI_VERSION}")
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    print(f"\ninstalling the Supabase CLI {CLI_VERSION} from npm into {NPM_PREFIX}", flush=True)
    result = subprocess.run(
        [npm, "i", "-E", f"supabase@{CLI_VERSION}", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0 or not binary.exists():
        tail = " ".join((result.stderr or result.stdout).split())[-300:]
        pytest.skip(f"npm could not install supabase@{CLI_VERSION} (offline?): {tail}")
    return binary


class SupabaseCli:
    def __init__(self, binary: Path, workdir: Path, home: Path) -> None:
        self.binary, self.workdir, self.home = binary, workdir, home

    def __call__(self, target: Target, *args: str) -> subprocess.CompletedProcess[str]:
        sslmode = target.env.get("PGSSLMODE", "disable")
        url = f"{target.url(hide_password=False)}?sslmode={sslmode}"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home), "DO_NOT_TRACK": "1"}
        return subprocess.run(
            [str(self.binary), *args, "--db-url", url, "--workdir", str(self.workdir)],
            cwd=self.workdir, env=env, capture_output=True, text=True, timeout=120, check=False,
        )


def _workdir(root: Path, extra: dict[str, str] | None = None) -> Path:
    """A Supabase project directory: supabase/migrations = our files (symlinks) + ``extra``."""
    migrations = root / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        (migrations / path.name).symlink_to(path)
    for name, text in (extra or {}).items():
        (migrations / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def cli_binary() -> Path:
    return _installed_cli()


@pytest.fixture(scope="module")
def supabase(cli_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> SupabaseCli:
    root = tmp_path_factory.mktemp("supabase_cli")
    return SupabaseCli(cli_binary, _workdir(root / "project"), root)


@pytest.fixture(scope="module")
def migrated_by_leadgen(make_db: Callable[..., Target]) -> Target:
    target = make_db("sbcli_leadgen")
    init_stand_in(target)
    apply_migrations(target)
    return target


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_migration_list_shows_every_leadgen_version_applied_locally_and_remotely(
    supabase: SupabaseCli, migrated_by_leadgen: Target
) -> None:
    result = supabase(migrated_by_leadgen, "migration", "list")
    assert result.returncode == 0, _output(result)
    # Rows of the CLI's table: `local` | `remote` | `time`
    rows = re.findall(r"`(\d{14}|\s*)`\s*\|\s*`(\d{14}|\s*)`\s*\|", result.stdout)
    assert [(local.strip(), remote.strip()) for local, remote in rows] == [(v, v) for v in SHIPPED]


def test_db_push_dry_run_has_nothing_to_push_after_leadgen_migrated(
    supabase: SupabaseCli, migrated_by_leadgen: Target
) -> None:
    result = supabase(migrated_by_leadgen, "db", "push", "--dry-run")
    assert result.returncode == 0, _output(result)
    assert "Remote database is up to date." in _output(result)
    assert "Would push" not in _output(result)


def test_leadgen_accepts_a_database_the_cli_pushed(
    supabase: SupabaseCli, server: Target, make_db: Callable[..., Target], prefect_harness: None,
    tmp_path: Path,
) -> None:
    """The CLI pushes as Supabase's ``postgres`` would: a non-superuser owning the platform."""
    from prefect.settings import PREFECT_API_URL

    with supabase_like_role(server, "leadgen_test_sbcli_owner") as role:
        target = variant_platform(make_db, VARIANTS["standard"], role)
        _push_then_migrate(supabase, target, str(PREFECT_API_URL.value()), tmp_path)


def _push_then_migrate(supabase: SupabaseCli, target: Target, api_url: str, tmp_path: Path) -> None:
    pushed = supabase(target, "db", "push", "--yes")
    assert pushed.returncode == 0, _output(pushed)
    assert all(f"Applying migration {v}_" in _output(pushed) for v in SHIPPED), _output(pushed)
    with connect(target) as conn:
        assert conn.execute("select to_regclass('public.lead_segments') is not null").fetchone() == (True,)
        owner = conn.execute("select pg_get_userbyid(relowner) from pg_class "
                             "where oid = 'supabase_migrations.schema_migrations'::regclass").fetchone()
    assert owner == (target.env["PGUSER"],), "the CLI pushed as another role than the platform's owner"

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    env.update({**target.env, "PREFECT_API_URL": api_url, "DBT_TARGET_PATH": str(tmp_path / "dbt")})
    leadgen = str(Path(sys.executable).parent / "leadgen")
    status = subprocess.run([leadgen, "migrate", "status"], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.split() == [w for m in load_migrations() for w in ("applied", m.filename)]
    migrate = subprocess.run([leadgen, "migrate"], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert f"applied 0, already applied {len(SHIPPED)}" in migrate.stdout
    assert "CHANGED" not in migrate.stdout


def test_the_cli_refuses_a_history_version_without_a_file_until_the_platform_file_is_beside_ours(
    supabase: SupabaseCli, migrated_by_leadgen: Target, make_db: Callable[..., Target], tmp_path: Path
) -> None:
    target = make_db("sbcli_platform", template=migrated_by_leadgen.dbname)
    with connect(target) as conn:
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name, statements) "
            "values (%s, 'platform_init', array['select 1'])",
            (PLATFORM_VERSION,),
        )
        conn.commit()

    refused = supabase(target, "db", "push", "--dry-run")
    assert refused.returncode != 0
    assert "Remote migration versions not found in local migrations directory" in _output(refused)
    assert PLATFORM_VERSION in _output(refused)

    with_platform = SupabaseCli(
        supabase.binary, _workdir(tmp_path / "project", {PLATFORM_FILE: "select 1;\n"}), supabase.home
    )
    accepted = with_platform(target, "db", "push", "--dry-run")
    assert accepted.returncode == 0, _output(accepted)
    assert "Remote database is up to date." in _output(accepted)
    # leadgen itself needs no platform file: it names the version and carries on.
    assert apply_migrations(target).unknown == [PLATFORM_VERSION]


def test_the_cli_wants_include_all_when_the_platform_history_is_newer_than_our_pending_files(
    supabase: SupabaseCli, make_db: Callable[..., Target], tmp_path: Path
) -> None:
    target = make_db("sbcli_later")
    init_stand_in(target)
    later = "20991231000000"
    with connect(target) as conn:
        conn.execute("create schema supabase_migrations")
        conn.execute("create table supabase_migrations.schema_migrations "
                     "(version text primary key, statements text[], name text)")
        conn.execute(
            "insert into supabase_migrations.schema_migrations values (%s, array['select 1'], 'later')",
            (later,),
        )
        conn.commit()
    cli = SupabaseCli(
        supabase.binary, _workdir(tmp_path / "project", {f"{later}_later.sql": "select 1;\n"}), supabase.home
    )
    refused = cli(target, "db", "push", "--dry-run")
    assert refused.returncode != 0
    assert "Found local migration files to be inserted before the last migration" in _output(refused)
    assert "--include-all" in _output(refused)
    assert apply_migrations(target).applied == [m.filename for m in load_migrations()]
