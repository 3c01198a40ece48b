"""The `leadgen` command line: one CLI for the database, the generator, migrations and flows.

Errors are printed as one readable line and exit non-zero; `--debug` shows the full trace.
Modules are imported inside the commands so that `leadgen db url` does not pay for Prefect.
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="leadgen: lead segments, capacity and daily stats on PostgreSQL/Supabase (dbt + Prefect).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: embedded PostgreSQL or the one PG*/DATABASE_URL point at.",
                     no_args_is_help=True)
run_app = typer.Typer(help="Run a flow once, now.", no_args_is_help=True)
migrate_app = typer.Typer(
    help="Apply pending migrations (a Prefect flow; --dry-run and status need no Prefect).",
    invoke_without_command=True,
)
app.add_typer(db_app, name="db")
app.add_typer(run_app, name="run")
app.add_typer(migrate_app, name="migrate")
server_app = typer.Typer(help="The local Prefect server (schedules, run history, UI) under .leadgen/prefect.",
                         no_args_is_help=True)
app.add_typer(server_app, name="server")

_DEBUG = False


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every log line live (dbt nodes included).")
    ] = False,
) -> None:
    global _DEBUG
    _DEBUG = debug or bool(os.environ.get("LEADGEN_DEBUG"))
    from leadgen.logs import VERBOSE_ENV, use_project_logging

    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    use_project_logging()  # before anything imports Prefect
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if not os.environ.get("PREFECT_API_URL"):
        # The local server (`leadgen server start`) when it is up: no temporary server per command.
        from leadgen.server import running_api_url

        local = running_api_url()
        if local:
            os.environ["PREFECT_API_URL"] = local
    if not os.environ.get("PREFECT_API_URL"):
        # No Prefect server configured: Prefect starts a temporary one for this command, whose
        # shutdown logs errors about events still in flight. Keep its log to what matters.
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
        # Prefect's default (20 s) is too short for a busy 2-core machine.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


# --- db --------------------------------------------------------------------------------------
@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (reuses a running one)."""
    from leadgen.embedded import EmbeddedPostgres

    status = EmbeddedPostgres.for_project().start()
    typer.echo(f"embedded PostgreSQL {status.describe()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    from leadgen.embedded import EmbeddedPostgres

    stopped = EmbeddedPostgres.for_project().stop()
    typer.echo("stopped" if stopped else "was not running")


@db_app.command("status")
def db_status() -> None:
    """Which database leadgen uses, whether it answers, its platform tables and migrations."""
    from leadgen.config import configured_externally, resolve_target
    from leadgen.embedded import EmbeddedPostgres
    from leadgen.preflight import describe_database

    if not configured_externally():
        status = EmbeddedPostgres.for_project().status()
        typer.echo(f"embedded PostgreSQL {status.describe()}")
        if not status.running:
            return
    target = resolve_target(start_embedded=False)
    typer.echo(f"using {target.url()} (from {target.source})")
    for line in describe_database(target):
        typer.echo(line)


@db_app.command("url")
def db_url() -> None:
    """Print the DSN of the database leadgen uses (starts the embedded one if needed)."""
    from leadgen.config import resolve_target

    typer.echo(resolve_target().url(hide_password=False))


@db_app.command("env")
def db_env() -> None:
    """Print `export PG...` lines: eval "$(leadgen db env)"; dbt build."""
    import shlex

    from leadgen.config import LIBPQ_VARS, resolve_target

    target = resolve_target()
    for key, value in target.env.items():
        typer.echo(f"export {key}={shlex.quote(value)}")
    # A stale PG* variable from the shell must not override the database chosen above.
    stale = [key for key in (*LIBPQ_VARS, "PGSSLMODE") if key not in target.env]
    if stale:
        typer.echo(f"unset {' '.join(stale)}")


@db_app.command("init-stand-in")
def db_init_stand_in(
    regions_as_text: Annotated[
        bool, typer.Option("--regions-as-text", help="Create profiles.regions as comma-separated text.")
    ] = False,
    variant: Annotated[
        str | None,
        typer.Option(help="The platform's shape: standard, text-regions, bigint-enum, integer-noassign."),
    ] = None,
) -> None:
    """Create the stand-in of the existing platform (dev/test only; skipped if public.profiles exists)."""
    from leadgen.standin import init_stand_in

    typer.echo(init_stand_in(regions_as_text=regions_as_text, variant=variant))


# --- server ---------------------------------------------------------------------------------
@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 4200,
) -> None:
    """Start the local Prefect server (reuses a running one); returns when its API answers."""
    from leadgen.server import LocalPrefectServer

    server = LocalPrefectServer.for_project()
    status, started = server.start(port=port)
    typer.echo(f"Prefect server {'started' if started else 'already running'}: {status.describe()}")
    typer.echo(f"log {server.log_file}; leadgen commands use it while it is up")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local Prefect server."""
    from leadgen.server import LocalPrefectServer

    typer.echo("stopped" if LocalPrefectServer.for_project().stop() else "was not running")


@server_app.command("status")
def server_status() -> None:
    """Whether the local Prefect server is up, and its URL."""
    from leadgen.server import LocalPrefectServer

    status = LocalPrefectServer.for_project().status()
    typer.echo(f"Prefect server {status.describe()}")
    if os.environ.get("PREFECT_API_URL") and os.environ["PREFECT_API_URL"] != status.api_url:
        typer.echo(f"(leadgen uses PREFECT_API_URL={os.environ['PREFECT_API_URL']})")


# --- migrate ---------------------------------------------------------------------------------
@migrate_app.callback()
def migrate(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be applied; change nothing.")
    ] = False,
) -> None:
    """Apply pending migrations in order through the Prefect flow `migrate` (see `migrate status`)."""
    if ctx.invoked_subcommand is not None:
        return
    from leadgen.preflight import check_database

    target = check_database()  # an unreachable database is one line, before Prefect starts
    if dry_run:  # read-only: plain Python, no Prefect
        from leadgen.migrate import apply_migrations

        typer.echo(apply_migrations(target, dry_run=True).summary())
        return
    from leadgen.migrate_flow import migrate_flow

    typer.echo(migrate_flow(dry_run=False).summary())


@migrate_app.command("status")
def migrate_status() -> None:
    """Show applied, pending and changed migrations (read-only)."""
    from leadgen.migrate import migration_status
    from leadgen.preflight import check_database

    report = migration_status(check_database())
    for name in report.already_applied:
        typer.echo(f"applied  {name}" + ("  (CHANGED since applied)" if name in report.changed else ""))
    for name in report.pending:
        typer.echo(f"pending  {name}")
    for version in report.unknown:
        typer.echo(f"unknown  {version} (in the history, no file)")
    if report.changed:
        raise typer.Exit(1)


@app.command("check")
def check_command(
    security: Annotated[
        bool, typer.Option("--security", help="Also list the platform's exposures (Supabase linter style).")
    ] = False,
) -> None:
    """Check the database against the source contract, the role's access and the migrations
    (every problem at once, one line each with its fix; exit 2 when there is any)."""
    from leadgen.check import check_platform

    report = check_platform()
    for line in report.lines():
        typer.echo(line)
    if security:
        from leadgen.db import connect
        from leadgen.security import security_findings

        with connect(connect_timeout=10) as conn:
            findings = security_findings(conn)
        for finding in findings:
            typer.echo(finding.line())
        typer.echo(f"security: {len(findings)} findings (reported, not changed: the platform is not ours)")
    if not report.ok:
        raise typer.Exit(2)


# --- generator -------------------------------------------------------------------------------
@app.command("generate")
def generate(
    partners: Annotated[int, typer.Option(help="Number of partners.")] = 400,
    leads: Annotated[int, typer.Option(help="Number of leads.")] = 50_000,
    days: Annotated[int, typer.Option(help="Days of history, ending today (Europe/Amsterdam).")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same marketplace.")] = 42,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Start over: empty the generated data and marts first (stand-in only)."),
    ] = False,
) -> None:
    """Fill the stand-in with a realistic, messy synthetic marketplace."""
    from leadgen.generate import generate_marketplace, start_over
    from leadgen.logs import interactive

    if fresh:
        typer.echo(start_over())
    progress = interactive()
    typer.echo(generate_marketplace(partners=partners, leads=leads, days=days, seed=seed, progress=progress))


# --- flows: run, backfill, serve, demo, docs ------------------------------------------------------
def _parse_day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


@run_app.command("assign")
def run_assign() -> None:
    """Assign new and changed leads to segments, write back leads.segment_id (seconds if nothing is new)."""
    from leadgen.check import require_platform

    require_platform()
    from leadgen.pipeline import assign

    typer.echo(f"assign: {assign()} leads.segment_id values changed")


@run_app.command("check-history")
def run_check_history() -> None:
    """The recount invariants over the whole history (weekly; the nightly build checks recent days)."""
    from leadgen.check import require_platform

    require_platform()
    from leadgen.pipeline import check_history

    check_history()
    typer.echo("check-history: every day of the history is consistent")


@run_app.command("daily")
def run_daily(
    retry: Annotated[
        bool, typer.Option("--retry", help="Re-run only what failed last time (dbt retry).")
    ] = False,
) -> None:
    """Refresh the partner MV, dbt build, write back segments, print the summary."""
    from leadgen.check import require_platform

    require_platform()
    from leadgen.pipeline import daily
    from leadgen.summary import print_summary

    print_summary(daily(retry=retry))


@run_app.command("refresh")
def run_refresh() -> None:
    """Refresh public.partner_performance_stats through its RPC."""
    from leadgen.preflight import check_database

    check_database()
    from leadgen.pipeline import refresh_partner_stats

    result = refresh_partner_stats()
    typer.echo(f"partner_performance_stats: {result.rows} rows in {result.seconds:.2f} s")


@app.command("backfill")
def backfill_command(
    start: Annotated[str, typer.Option("--start", help="First day to rebuild (YYYY-MM-DD, Amsterdam).")],
    end: Annotated[str, typer.Option("--end", help="Last day to rebuild, inclusive (YYYY-MM-DD).")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm a range of more than 366 days (after clipping).")
    ] = False,
) -> None:
    """Recount analytics.lead_generation_stats for a date range, in chunks of 92 days (idempotent).

    A start before the first lead day is moved to it; more than 366 days need --yes."""
    from leadgen.check import require_platform
    from leadgen.config import resolve_target
    from leadgen.logs import interactive
    from leadgen.preflight import (
        MAX_UNCONFIRMED_BACKFILL_DAYS,
        amsterdam_today,
        clip_to_first_lead,
        first_lead_day,
        validate_range,
    )

    start_day, end_day = _parse_day("--start", start), _parse_day("--end", end)
    validate_range(start_day, end_day, amsterdam_today())
    target = resolve_target()
    require_platform(target)
    first_day = first_lead_day(target)
    start_day, note = clip_to_first_lead(start_day, first_day)
    if note:
        typer.echo(f"backfill: {note}")
    if first_day is None or start_day > end_day:
        typer.echo("backfill: 0 days rebuilt")
        return
    n_days = (end_day - start_day).days + 1
    if n_days > MAX_UNCONFIRMED_BACKFILL_DAYS and not yes:
        raise ValueError(
            f"backfill of {n_days} days ({start_day}..{end_day}) is more than "
            f"{MAX_UNCONFIRMED_BACKFILL_DAYS}: add --yes to run it"
        )
    from leadgen.pipeline import backfill

    rebuilt = backfill(start=start_day, end=end_day, progress=interactive())
    typer.echo(f"backfill: {rebuilt} days rebuilt ({start_day}..{end_day})")


@app.command("serve")
def serve_command(
    file: Annotated[
        Path | None, typer.Option("--file", help="Another prefect.yaml (default: the project's).")
    ] = None,
) -> None:
    """Serve every deployment of prefect.yaml (daily 03:00, assign every 10 min) from this process.
    Starts the local Prefect server first unless PREFECT_API_URL points at one."""
    from leadgen.serve import PREFECT_YAML, serve_all

    if not os.environ.get("PREFECT_API_URL"):
        from leadgen.server import LocalPrefectServer

        status, _ = LocalPrefectServer.for_project().start()
        os.environ["PREFECT_API_URL"] = str(status.api_url)
        typer.echo(f"Prefect server {status.describe()}")
    serve_all(file or PREFECT_YAML)


@app.command("demo")
def demo_command(
    fresh: Annotated[bool, typer.Option("--fresh", help="Drop the demo database and start over.")] = False,
    partners: Annotated[int, typer.Option(help="Partners to generate.")] = 400,
    leads: Annotated[int, typer.Option(help="Leads to generate.")] = 150_000,
    days: Annotated[int, typer.Option(help="Days of history to generate.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed of the marketplace.")] = 42,
) -> None:
    """Stand-in, migrations, a synthetic marketplace, the daily flow, a summary and reports/index.html."""
    from leadgen.preflight import check_database

    check_database()
    from leadgen.demo import run_demo

    run_demo(fresh=fresh, partners=partners, leads=leads, days=days, seed=seed)


@app.command("report")
def report_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Output file (default: reports/index.html or LEADGEN_REPORT_PATH)."),
    ] = None,
) -> None:
    """Rewrite the HTML report (reports/index.html) from the marts, now: what to act on, health,
    supply and demand, plans, campaigns, the last 28 days. No dbt run; `run daily` also writes it."""
    from leadgen.preflight import check_database

    target = check_database()
    from leadgen.report import write_report

    typer.echo(f"report: {write_report(target, output)}  (open it in a browser)")


@app.command("docs")
def docs_command(
    port: Annotated[int, typer.Option(help="Port on localhost.")] = 8080,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after generating.")] = True,
) -> None:
    """Generate the dbt docs (dbt docs generate) and serve them on http://127.0.0.1:PORT."""
    from leadgen.check import require_platform
    from leadgen.config import resolve_target

    target = resolve_target()
    require_platform(target)
    from leadgen.dbt_runner import run_dbt

    run_dbt(["docs", "generate"], target)
    if serve:
        typer.echo(f"dbt docs on http://127.0.0.1:{port} (Ctrl-C stops)")
        run_dbt(["docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser"], target)


@app.command(
    "mf",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mf_command(ctx: typer.Context) -> None:
    """MetricFlow on leadgen's database: `leadgen mf query --saved-query daily_summary`.

    Runs `mf ARGS` (dbt-metricflow) with the database's libpq variables in the project directory,
    after a `dbt parse` against that database: mf reads target/semantic_manifest.json as it finds
    it, and that file names the database it was parsed for.
    """
    import subprocess

    from leadgen.config import LIBPQ_VARS, PROJECT_ROOT, resolve_target

    bin_dir = Path(sys.executable).parent
    args = list(ctx.args)
    if not args or "--help" in args:  # mf's own help; no database needed
        shown = subprocess.run([str(bin_dir / "mf"), *(args or ["--help"])], capture_output=True,
                               text=True, check=False)
        typer.echo("Usage: leadgen mf ARGS  (mf ARGS on leadgen's database, after a dbt parse)\n")
        typer.echo(shown.stdout + shown.stderr, nl=False)
        raise typer.Exit(shown.returncode)
    target = resolve_target()
    env = {k: v for k, v in os.environ.items() if k not in (*LIBPQ_VARS, "PGSSLMODE", "DATABASE_URL")}
    env.update(target.env)
    parsed = subprocess.run(
        [str(bin_dir / "dbt"), "--quiet", "parse", "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--target-path", "target"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if parsed.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {parsed.stdout[-2000:]} {parsed.stderr[-1000:]}")
    ran = subprocess.run([str(bin_dir / "mf"), *args], cwd=PROJECT_ROOT, env=env, check=False)
    raise typer.Exit(ran.returncode)


def _redact(message: str) -> str:
    """No error prints a password, whatever the URL's shape: the configured secrets, a URL's
    user-info password and a ``password=`` pair are masked (libpq echoes a URL it cannot parse)."""
    import re
    from urllib.parse import unquote, urlsplit

    secrets = {os.environ.get("PGPASSWORD", "")}
    url = os.environ.get("DATABASE_URL", "")
    match = re.match(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^/@:]*:(.*)@", url)
    if match:
        secrets |= {match.group(1), unquote(match.group(1))}
    with contextlib.suppress(ValueError):
        secrets.add(urlsplit(url).password or "")
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        message = message.replace(secret, "***")
    message = re.sub(r"(://[^\s:/@]*:)[^\s@]*@", r"\1***@", message)
    return re.sub(r"(?i)(password\s*=\s*)('[^']*'|\S+)", r"\1***", message)


def _stopped(signum: int | None = None) -> None:
    from leadgen import stopping

    stopping.exit_now(stopping.exit_code(signum), drain_seconds=0.5)


def main() -> None:
    from leadgen import stopping

    stopping.install()  # SIGINT and SIGTERM: one fast path (see leadgen.stopping)
    try:
        app()
    except SystemExit:
        if stopping.received() is not None:  # click turned the interrupt into "Aborted!" and exit 1
            _stopped()
        raise
    except KeyboardInterrupt:
        _stopped()
    except BaseException as exc:
        if type(exc).__name__ == "TerminationSignal":  # Prefect's SIGTERM inside a flow run
            _stopped(getattr(exc, "signal", 15))
        if not isinstance(exc, Exception):
            raise
        if stopping.received() is not None:  # whatever the interrupted code raised on its way out
            _stopped()
        from leadgen.locks import OVERLAP_EXIT_CODE, is_refused_overlap

        if is_refused_overlap(exc) and not _DEBUG:
            typer.echo(f"leadgen: skipped: {' '.join(str(exc).split())}", err=True)
            sys.exit(OVERLAP_EXIT_CODE)
        code = getattr(exc, "exit_code", 1)
        if _DEBUG:
            raise
        message = _redact(" ".join(str(exc).split()) or exc.__class__.__name__)
        typer.echo(f"leadgen: error: {message} (run with --debug for the full trace)", err=True)
        sys.exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    main()
