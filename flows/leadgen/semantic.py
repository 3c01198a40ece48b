"""The saved queries of the semantic layer (models/marts/_saved_queries.yml), run on leadgen's connection.

MetricFlow writes the SQL of a saved query from ``semantic_manifest.json`` in dbt's target path;
psycopg runs it. The manifest names the database it was parsed for in every relation, and
PostgreSQL refuses a reference to another database, so the database is dropped from them: the SQL
runs on whatever database the connection is on. A manifest that is missing, or older than the
semantic yml, is made first by ``dbt parse`` (dbt_runner.parse), as ``leadgen mf`` does.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from leadgen.config import PROJECT_ROOT, Target

Row = dict[str, Any]
SEMANTIC_YML = ("models/**/_*__semantic.yml", "models/**/_saved_queries.yml")


class _Compiler:
    """A MetricFlow SqlClient that only renders: explain needs the dialect, not a connection."""

    def __init__(self) -> None:
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer

        self.sql_engine_type = SqlEngine.POSTGRES
        self.sql_plan_renderer = PostgresSQLSqlPlanRenderer()

    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("leadgen runs the SQL itself (SavedQueries.run)")

    execute = dry_run = query

    def close(self) -> None:
        pass

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"%({bind_parameter_key})s"


def manifest_path(target: Target) -> Path:
    """dbt's ``semantic_manifest.json``, parsed for ``target`` first when missing or older than the
    semantic yml."""
    from leadgen import dbt_runner  # imports dbt (~1 s): only when a report or summary is made

    path = dbt_runner.target_path() / "semantic_manifest.json"
    yml = [p.stat().st_mtime for pattern in SEMANTIC_YML for p in PROJECT_ROOT.glob(pattern)]
    if not path.exists() or path.stat().st_mtime < max(yml, default=0):
        dbt_runner.parse(target)
    return path


def semantic_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, its relations without a database."""
    manifest: dict[str, Any] = json.loads(path.read_text())
    spines = manifest["project_configuration"].get("time_spines") or []
    for relation in [m["node_relation"] for m in [*manifest["semantic_models"], *spines]]:
        relation["database"] = None
        relation["relation_name"] = f'"{relation["schema_name"]}"."{relation["alias"]}"'
    return manifest


@functools.lru_cache(maxsize=4)
def _engine(path: Path, modified_ns: int) -> Any:
    """One MetricFlow engine per manifest file and version: the daily's summary and report share it."""
    # imported here: MetricFlow takes ~2 s to import, and most leadgen commands never need it
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    manifest = parse_manifest_from_dbt_generated_manifest(json.dumps(semantic_manifest(path)))
    return MetricFlowEngine(semantic_manifest_lookup=SemanticManifestLookup(manifest), sql_client=_Compiler())


class SavedQueries:
    """The saved queries of ``target``'s project, one MetricFlow engine for all of them."""

    def __init__(self, target: Target) -> None:
        path = manifest_path(target).resolve()
        self._engine = _engine(path, path.stat().st_mtime_ns)

    def sql(self, name: str, where: list[str] | None = None) -> tuple[str, dict[str, Any]]:
        """The SQL of saved query ``name`` and its parameters; ``where`` is ANDed with its filters."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        request = MetricFlowQueryRequest.create(saved_query_name=name, where_constraints=where)
        statement = self._engine.explain(request).sql_statement
        return statement.sql, dict(statement.bind_parameter_set.param_dict)

    def run(self, conn: psycopg.Connection[Any], name: str, where: list[str] | None = None) -> list[Row]:
        """The rows of saved query ``name`` in its order, keyed by MetricFlow's column names
        (``segment``, ``segment__branch``, ``leads_generated``); a ``__day`` column is a date."""
        sql, params = self.sql(name, where)
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params or None)  # type: ignore[arg-type]
            rows = cur.fetchall()
        return [
            {k: v.date() if k.endswith("__day") and isinstance(v, datetime) else v for k, v in row.items()}
            for row in rows
        ]
