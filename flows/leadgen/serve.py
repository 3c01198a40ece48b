"""`leadgen serve`: serve every deployment of prefect.yaml from one process (single-machine install).

The schedules are read from ``prefect.yaml`` (one truth for them); each deployment is served with
``flow.to_deployment(...)`` and ``prefect.serve``, named ``<name>-serve`` (see SERVED_SUFFIX); a
schedule is a ``cron`` or an ``interval`` (seconds), as in ``prefect.yaml``. Scheduling needs a
Prefect server: the CLI starts the local one (``leadgen server start``) unless ``PREFECT_API_URL``
points elsewhere.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from leadgen.config import PROJECT_ROOT

PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
# Served deployments get their own names: stopping `leadgen serve` pauses the deployments it served,
# which would otherwise be the work-pool deployments of the same names (`prefect deploy --all`).
SERVED_SUFFIX = "-serve"


def load_deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The deployments of prefect.yaml, validated by Prefect's own prefect.yaml model."""
    from prefect.cli.deploy._models import PrefectYamlModel

    raw = yaml.safe_load(path.read_text())
    model = PrefectYamlModel.model_validate(raw)
    return [d.model_dump(exclude_unset=True, mode="json") for d in model.deployments]


def _seconds(interval: Any) -> timedelta:
    """An interval as prefect.yaml gives it (seconds) or as Prefect's model dumps it (``PT15S``)."""
    from pydantic import TypeAdapter

    return TypeAdapter(timedelta).validate_python(interval)


def build_deployments(path: Path = PREFECT_YAML) -> list[Any]:
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron, Interval

    deployments = []
    for spec in load_deployment_specs(path):
        flow = load_flow_from_entrypoint(str(PROJECT_ROOT / spec["entrypoint"]))
        schedules = [
            Cron(s["cron"], timezone=s.get("timezone") or "UTC")
            if s.get("cron")
            else Interval(_seconds(s["interval"]), timezone=s.get("timezone") or "UTC")
            for s in spec.get("schedules") or []
            if s.get("cron") or s.get("interval")
        ]
        deployments.append(
            flow.to_deployment(
                name=f"{spec['name']}{SERVED_SUFFIX}",
                description=spec.get("description"),
                tags=spec.get("tags") or [],
                parameters=spec.get("parameters") or {},
                schedules=schedules,
                concurrency_limit=spec.get("concurrency_limit"),
            )
        )
    return deployments


def serve_all(path: Path = PREFECT_YAML) -> None:
    from prefect import serve

    serve(*build_deployments(path))
