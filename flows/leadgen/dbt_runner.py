"""Run dbt in-process against a leadgen Target.

- Inside a Prefect flow or task run: prefect-dbt's ``PrefectDbtRunner``, so every dbt node (seed,
  model, test) appears as its own task run, with its logs, in the Prefect run.
- Outside (CLI helpers, tests): dbt's own ``dbtRunner``, logging to the terminal as ``dbt`` does.

The project and ``profiles.yml`` are the project root's; ``profiles.yml`` reads libpq variables,
so the target's ``PG*`` variables are put in the environment for the duration of the call.
``DBT_TARGET_PATH`` (dbt's own variable) moves the artifacts, e.g. per test.

A run that does not succeed raises :class:`DbtRunError` naming every failing node
(``test not_null_x: Got 3 results``); nodes skipped because of them are counted.

Freshness: :func:`source_freshness` runs ``dbt source freshness`` and returns each source's result
(a stale source is a result, not an exception); it writes ``sources.json`` only, so it never
changes what ``dbt retry`` re-runs.

Retry: :func:`retry_failed` runs ``dbt retry``, which reads ``run_results.json`` of the previous
invocation in the target path and re-runs only the nodes that errored or failed plus those that were
skipped because of them, with the previous invocation's arguments.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.contracts.graph.manifest import Manifest

from leadgen.config import PROJECT_ROOT, Target, resolve_target
from leadgen.dbt_messages import one_line
from leadgen.stopping import interruptible

FAILED_STATUSES = {"error", "fail", "runtime error"}


class DbtRunError(RuntimeError):
    """dbt did not succeed; the message names the failing nodes."""


def target_path() -> Path:
    """Where dbt writes its artifacts (``DBT_TARGET_PATH``, relative to the project, or ``target``)."""
    path = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return path if path.is_absolute() else PROJECT_ROOT / path


@contextmanager
def _target_environment(target: Target) -> Iterator[None]:
    """The target's libpq variables (read by profiles.yml) for the duration of the block."""
    keys = {*target.env, "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE"}
    saved = {key: os.environ.get(key) for key in keys}
    for key in keys:
        os.environ.pop(key, None)
    os.environ.update(target.env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _with_project_flags(args: list[str]) -> list[str]:
    extra: list[str] = []
    if "--project-dir" not in args:
        extra += ["--project-dir", str(PROJECT_ROOT)]
    if "--profiles-dir" not in args:
        extra += ["--profiles-dir", str(PROJECT_ROOT)]
    return [*args, *extra]


def _invoke(args: list[str], manifest: Manifest | None = None) -> dbtRunnerResult:
    if manifest is not None or not _in_prefect_run():
        return dbtRunner(manifest=manifest).invoke(_with_project_flags(args))
    from prefect_dbt.core.runner import PrefectDbtRunner
    from prefect_dbt.core.settings import PrefectDbtSettings

    settings = PrefectDbtSettings(
        project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT, target_path=target_path()
    )
    runner = PrefectDbtRunner(settings=settings, raise_on_failure=False, disable_assets=True)
    try:
        return runner.invoke(list(args))
    except ValueError as exc:  # prefect-dbt wraps an exception dbt raised (parse error, no connection)
        raise DbtRunError(f"dbt {' '.join(args)} could not run: {exc}") from exc


def describe_failures(result: dbtRunnerResult) -> list[str]:
    """``<type> <name> (<status>): <message>`` for every failing node of a run."""
    lines: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        if status in FAILED_STATUSES:
            node = node_result.node
            message = one_line(node_result.message)  # the cause kept: contract columns, HINT
            lines.append(f"{node.resource_type} {node.name} ({status}): {message}")
    return lines


def _skipped(result: dbtRunnerResult) -> int:
    return sum(
        1
        for r in getattr(result.result, "results", None) or []
        if str(getattr(r.status, "value", r.status)) == "skipped"
    )


def count_statuses(statuses: Iterable[str], nothing: str = "nothing to do") -> str:
    """``172 pass, 3 success``: how many ended in each status (``nothing`` when there is none)."""
    counts = Counter(statuses)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or nothing


def outcome(result: dbtRunnerResult) -> str:
    """``172 pass, 3 success`` for a run: how many nodes ended in each status."""
    return count_statuses(
        str(getattr(r.status, "value", r.status)) for r in getattr(result.result, "results", None) or []
    )


def run_dbt(
    args: list[str], target: Target | None = None, manifest: Manifest | None = None
) -> dbtRunnerResult:
    """Run ``dbt <args>`` in-process against ``target``; raise :class:`DbtRunError` unless it succeeds.

    ``manifest`` (from :func:`parse`) skips dbt's parsing, which a change of ``--vars`` otherwise
    makes a full re-parse: repeated invocations (the backfill's chunks) cost one parse in all.
    Such a call runs under dbt's own runner, not as per-node Prefect tasks."""
    target = target or resolve_target()
    with _target_environment(target), interruptible():  # Ctrl-C/SIGTERM: dbt cancels its queries
        result = _invoke(list(args), manifest)
    if result.success:
        return result
    command = " ".join(args)
    if result.exception is not None:
        raise DbtRunError(f"dbt {command} could not run: {result.exception}")
    failures = describe_failures(result)
    skipped = _skipped(result)
    detail = "; ".join(failures) if failures else "see the dbt log"
    suffix = f" ({skipped} downstream nodes skipped)" if skipped else ""
    raise DbtRunError(f"dbt {command} failed: {detail}{suffix}")


def parse(target: Target | None = None) -> Manifest:
    """The project's manifest (``dbt parse``), for :func:`run_dbt` calls that should not re-parse."""
    with _target_environment(target or resolve_target()), interruptible():
        result = dbtRunner().invoke(_with_project_flags(["parse"]))
    if not result.success:
        raise DbtRunError(f"dbt parse failed: {result.exception}")
    manifest: Manifest = result.result
    return manifest


@dataclass(frozen=True)
class SourceFreshness:
    """One source's ``dbt source freshness`` result: status ``pass``, ``warn``, ``error`` or
    ``runtime error`` (the check itself could not run), the newest timestamp and its age."""

    source: str  # "public.leads"
    status: str
    max_loaded_at: datetime | None = None
    age_seconds: float | None = None
    message: str = ""

    @property
    def is_stale(self) -> bool:
        return self.status != "pass"

    def describe(self) -> str:
        """``stale source: public.leads, newest 2 days ago`` (or why it could not be checked)."""
        if self.status == "runtime error":
            return f"source freshness of {self.source} not checked: {self.message}"
        if self.max_loaded_at is None or self.max_loaded_at.year == 1:  # dbt's "no row at all"
            return f"stale source: {self.source}, no rows"
        return f"stale source: {self.source}, newest {describe_age(self.age_seconds or 0)} ago"


def describe_age(seconds: float) -> str:
    """An age the way a person says it: ``45 minutes``, ``7 hours``, ``2 days``."""
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def source_freshness(target: Target | None = None) -> list[SourceFreshness]:
    """``dbt source freshness`` against ``target``: every source with a freshness config, stale or
    not. Raises :class:`DbtRunError` only when dbt could not run at all."""
    target = target or resolve_target()
    with _target_environment(target), interruptible():
        result = _invoke(["source", "freshness"])
    node_results = getattr(result.result, "results", None)
    if result.exception is not None or node_results is None:
        raise DbtRunError(f"dbt source freshness could not run: {result.exception}")
    found: list[SourceFreshness] = []
    for r in node_results:
        node = r.node
        found.append(SourceFreshness(
            source=f"{node.source_name}.{node.name}",
            status=str(getattr(r.status, "value", r.status)),
            max_loaded_at=getattr(r, "max_loaded_at", None),
            age_seconds=getattr(r, "age", None),
            message=one_line(getattr(r, "message", None)),
        ))
    return sorted(found, key=lambda f: f.source)


def keep_run_results(label: str) -> None:
    """Copy the last invocation's ``run_results.json`` to ``run_results.<label>.json`` beside it."""
    path = target_path() / "run_results.json"
    if path.exists():
        shutil.copyfile(path, path.with_name(f"run_results.{label}.json"))


def previous_run_failed(command: str = "build") -> bool:
    """Whether the last dbt invocation in the target path was ``command`` and left failed nodes."""
    path = target_path() / "run_results.json"
    if not path.exists():
        return False
    data: dict[str, Any] = json.loads(path.read_text())
    if data.get("args", {}).get("which") != command:
        return False
    return any(r.get("status") in FAILED_STATUSES for r in data.get("results", []))


def previous_failed_selection() -> tuple[list[str], list[str]] | None:
    """(select, exclude) of the last dbt invocation when it was a ``build`` that left failed nodes."""
    if not previous_run_failed("build"):
        return None
    args = json.loads((target_path() / "run_results.json").read_text()).get("args", {})
    return list(args.get("select") or []), list(args.get("exclude") or [])


def retry_failed(target: Target | None = None) -> dbtRunnerResult:
    """``dbt retry``: re-run only what failed (and what it skipped) in the previous invocation."""
    return run_dbt(["retry"], target)
