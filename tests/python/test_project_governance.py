"""Governance (issue 17): the rules of dbt-project-evaluator this project follows, checked on the
manifest of `dbt parse` (no database), plus one check of the documented columns against a built
database. Each rule names its evaluator model; the deliberate exceptions are in README.md,
"Governance" (mart names without fct_/dim_, the assignment mart rejoining its parents).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from leadgen.config import PROJECT_ROOT, Target
from leadgen.db import connect

DBT = str(Path(sys.executable).parent / "dbt")
LAYERS = ("staging", "intermediate", "marts")  # the order a model may read in: never a later layer
PREFIXES = {"staging": "stg_", "intermediate": "int_"}
KEY_TESTS = {"unique", "not_null", "unique_combination"}
CHAINED_VIEWS_LIMIT = 5  # fct_chained_views_dependencies' default threshold
FANOUT_LIMIT = 3  # fct_model_fanout's default: at most 3 direct leaf children
JOINS_LIMIT = 7  # fct_too_many_joins' default
# Deliberate exceptions (README, "Governance"), each with its reason:
EXCEPTIONS = {
    # fct_root_models: MetricFlow's calendar is generated, it reads nothing
    "root": {"metricflow_time_spine"},
    # intermediate reads a mart: the stats mart's own state, kept beside the assignment mart it
    # follows (the day log and the days each segment holds); neither is read by BI
    "later_layer": {"int_lead_segment_days_logged", "int_segment_stats_bounds"},
    # fct_too_many_joins: the rules mart brings every planning and marketing mart together
    "joins": {"segment_actions"},
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`dbt parse` into a directory of this test (no database needed), its manifest.json."""
    target_path = tmp_path_factory.mktemp("parse")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env |= {"DBT_TARGET_PATH": str(target_path), "DBT_PROFILES_DIR": str(PROJECT_ROOT)}
    result = subprocess.run([DBT, "parse"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads((target_path / "manifest.json").read_text())


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}


def _layer(model: dict[str, Any]) -> str:
    return model["fqn"][1]


def _tests_of(manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Generic tests by the model they are attached to."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata") and node.get("attached_node"):
            found[node["attached_node"]].append(node)
    return found


def _tested_keys(manifest: dict[str, Any], unique_id: str) -> list[list[str]]:
    """The keys a model's tests prove: each column with both unique and not_null, and the columns
    of each unique_combination test whose columns are all not_null (fct_missing_primary_key_tests,
    with the project's unique_combination in place of dbt_utils.unique_combination_of_columns)."""
    tests = _tests_of(manifest)[unique_id]
    by_column: dict[str, set[str]] = defaultdict(set)
    for test in tests:
        if test["column_name"]:
            by_column[test["column_name"]].add(test["test_metadata"]["name"])
    keys = [[column] for column, names in by_column.items() if {"unique", "not_null"} <= names]
    for test in tests:
        if test["test_metadata"]["name"] == "unique_combination":
            columns = list(test["test_metadata"]["kwargs"]["columns"])
            if all("not_null" in by_column[c] for c in columns):
                keys.append(columns)
    return keys


def _primary_key(manifest: dict[str, Any], unique_id: str) -> list[str] | None:
    """The first key a model's tests prove (None: no key is tested)."""
    keys = _tested_keys(manifest, unique_id)
    return keys[0] if keys else None


# --- documentation -------------------------------------------------------------------------------
def test_every_model_and_every_column_in_its_yml_is_described(manifest: dict[str, Any]) -> None:
    """fct_undocumented_models, fct_documentation_coverage (100 %), fct_undocumented_public_models
    (stricter: every column as well); the columns a model really has are compared with its yml by
    test_documented_columns_are_the_columns_the_models_have."""
    missing = []
    for model in _models(manifest).values():
        if not model["description"].strip():
            missing.append(f"{model['name']}: no description")
        if not model["columns"]:
            missing.append(f"{model['name']}: no columns in its yml")
        missing += [f"{model['name']}.{c}" for c, col in model["columns"].items()
                    if not col["description"].strip()]
    assert missing == []


def test_every_source_table_is_described(manifest: dict[str, Any]) -> None:
    """fct_undocumented_sources, fct_undocumented_source_tables."""
    assert [s["name"] for s in manifest["sources"].values() if not s["description"].strip()] == []
    assert all(s["source_description"].strip() for s in manifest["sources"].values())


def test_each_model_is_described_in_a_yml_beside_it(manifest: dict[str, Any]) -> None:
    """fct_test_directories / fct_model_directories: a yml per folder, none elsewhere."""
    def folder(path: str) -> PurePosixPath:
        return PurePosixPath(path.split("://", 1)[-1]).parent

    misplaced = [(m["name"], m["patch_path"]) for m in _models(manifest).values()
                 if not m["patch_path"] or folder(m["patch_path"]) != folder(m["original_file_path"])]
    assert misplaced == []


# --- tests ----------------------------------------------------------------------------------------
def test_every_model_has_primary_key_tests(manifest: dict[str, Any]) -> None:
    """fct_missing_primary_key_tests: unique + not_null, or unique_combination + not_null."""
    assert [m["name"] for k, m in _models(manifest).items() if _primary_key(manifest, k) is None] == []


def test_key_tests_over_the_leads_history_check_the_data_test_window(manifest: dict[str, Any]) -> None:
    """The nightly cost follows the recent days, not the history: every key test of a model read
    from the leads (a view over them, or the assignment mart) checks the data-test window."""
    history = {"stg_public__leads", "int_leads_bucketed", "int_leads_resolved", "lead_segment_assignments"}
    unbounded = [
        test["name"] for unique_id, tests in _tests_of(manifest).items()
        if unique_id.split(".")[-1] in history
        for test in tests
        if test["test_metadata"]["name"] in KEY_TESTS
        and "__data_test_window_start__" not in (test["config"].get("where") or "")
    ]
    assert unbounded == []


# --- governance -------------------------------------------------------------------------------
def test_every_model_has_a_group_with_an_owner_and_the_access_of_its_layer(manifest: dict[str, Any]) -> None:
    groups = {g["name"]: g for g in manifest["groups"].values()}
    assert groups and all(g["owner"].get("email") and g["owner"].get("name") for g in groups.values())
    wrong = []
    for model in _models(manifest).values():
        allowed = {"staging": {"protected"}, "intermediate": {"private", "protected"},
                   "marts": {"public"}}[_layer(model)]
        if model["access"] not in allowed or model["group"] not in groups:
            wrong.append((model["name"], model["access"], model["group"]))
    assert wrong == []


def test_public_models_are_contracted_marts_with_an_enforced_primary_key(manifest: dict[str, Any]) -> None:
    """fct_public_models_without_contract, and the key: the contract's primary_key constraint is
    the key the tests prove, and dbt-postgres creates it (a table or incremental model)."""
    problems = []
    for unique_id, model in _models(manifest).items():
        if model["access"] != "public":
            continue
        keys = [c["columns"] for c in model["constraints"] if c["type"] == "primary_key"]
        keys += [[name] for name, col in model["columns"].items()
                 if any(c["type"] == "primary_key" for c in col["constraints"])]
        if not model["contract"]["enforced"]:
            problems.append(f"{model['name']}: contract not enforced")
        if model["config"]["materialized"] not in ("table", "incremental"):
            problems.append(f"{model['name']}: a {model['config']['materialized']} gets no constraint")
        if len(keys) != 1:
            problems.append(f"{model['name']}: {len(keys)} primary_key constraints")
        elif sorted(keys[0]) not in [sorted(k) for k in _tested_keys(manifest, unique_id)]:
            problems.append(f"{model['name']}: primary key {keys[0]} is not the tested key")
    assert problems == []


def test_exposures_read_only_public_models_materialized_as_tables(manifest: dict[str, Any]) -> None:
    """fct_exposures_dependent_on_private_models, fct_exposure_parents_materializations."""
    nodes = manifest["nodes"]
    assert manifest["exposures"]
    wrong = [
        (exposure["name"], parent)
        for exposure in manifest["exposures"].values()
        for parent in exposure["depends_on"]["nodes"]
        if not parent.startswith("model.")
        or nodes[parent]["access"] != "public"
        or nodes[parent]["config"]["materialized"] not in ("table", "incremental")
    ]
    assert wrong == []
    assert all(e["owner"].get("email") for e in manifest["exposures"].values())


# --- structure and modeling -----------------------------------------------------------------------
def test_names_and_folders_follow_the_layers(manifest: dict[str, Any]) -> None:
    """fct_model_naming_conventions with the project's exception: staging is stg_<source>__<table>
    in staging/<source>/, intermediate int_*, marts carry business names (no fct_/dim_, no stg_/int_:
    README.md, "Governance"), lower-case snake case everywhere."""
    wrong = []
    for model in _models(manifest).values():
        name, layer = model["name"], _layer(model)
        if layer not in LAYERS or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            wrong.append(name)
        elif layer == "staging":
            source = model["fqn"][2]
            if not name.startswith(f"stg_{source}__"):
                wrong.append(name)
        elif (layer == "intermediate" and not name.startswith("int_")) or (
            layer == "marts" and name.startswith(tuple(PREFIXES.values()))
        ):
            wrong.append(name)
    assert wrong == []


def test_sources_are_declared_in_the_staging_folder_of_their_name(manifest: dict[str, Any]) -> None:
    """fct_source_directories, fct_duplicate_sources."""
    sources = manifest["sources"].values()
    wrong = [s["unique_id"] for s in sources
             if PurePosixPath(s["original_file_path"]).parent
             != PurePosixPath("models/staging", s["source_name"])]
    assert wrong == []
    relations = [(s["schema"], s["identifier"]) for s in sources]
    assert len(relations) == len(set(relations))


def test_source_appears_only_in_staging_one_source_per_model(manifest: dict[str, Any]) -> None:
    """fct_direct_join_to_source, fct_marts_or_intermediate_dependent_on_source,
    fct_multiple_sources_joined, fct_source_fanout, fct_unused_sources; and the text of no model
    outside staging calls source() (a macro's hidden call would not be in the graph)."""
    models = _models(manifest)
    readers: dict[str, list[str]] = defaultdict(list)
    wrong = []
    for model in models.values():
        sources = [p for p in model["depends_on"]["nodes"] if p.startswith("source.")]
        others = [p for p in model["depends_on"]["nodes"] if not p.startswith("source.")]
        for source in sources:
            readers[source].append(model["name"])
        if _layer(model) == "staging" and (len(sources) != 1 or others):
            wrong.append(f"{model['name']}: staging reads {sources + others}")
        if _layer(model) != "staging" and (sources or "source(" in model["raw_code"]):
            wrong.append(f"{model['name']}: reads a source")
    wrong += [f"{s}: read by {r}" for s, r in readers.items() if len(r) != 1]
    wrong += [f"{s}: unused" for s in manifest["sources"] if s not in readers]
    assert wrong == []


def test_no_model_reads_a_later_layer_and_none_is_a_root(manifest: dict[str, Any]) -> None:
    """fct_staging_dependent_on_staging, fct_staging_dependent_on_marts_or_intermediate,
    fct_root_models; intermediate never reads a mart."""
    models = _models(manifest)
    wrong = []
    for model in models.values():
        parents = model["depends_on"]["nodes"]
        if not parents and model["name"] not in EXCEPTIONS["root"]:
            wrong.append(f"{model['name']}: no parent")
        for parent in parents:
            if parent in models:
                mine, theirs = LAYERS.index(_layer(model)), LAYERS.index(_layer(models[parent]))
                excepted = model["name"] in EXCEPTIONS["later_layer"]
                if (theirs > mine and not excepted) or (theirs == mine == 0):
                    wrong.append(f"{model['name']} reads {models[parent]['name']}")
    assert wrong == []


def test_no_hard_coded_relation_in_a_model(manifest: dict[str, Any]) -> None:
    """fct_hard_coded_references: every relation through ref(), source() or this."""
    relation = re.compile(  # (not `is distinct from a.b`, a comparison)
        r"(?<!distinct )\b(?:from|join)\s+(?!\{\{)(\"?[a-z_][a-z0-9_]*\"?\.\"?[a-z_][a-z0-9_]*)", re.I
    )
    found = [(m["name"], hit) for m in _models(manifest).values()
             for hit in relation.findall(re.sub(r"--[^\n]*", "", m["raw_code"]))]
    assert found == []


def test_dag_shape_limits(manifest: dict[str, Any]) -> None:
    """fct_chained_views_dependencies (< 5 views in a chain), fct_model_fanout (at most 3 direct
    leaf children), fct_too_many_joins (fewer than 7 parents)."""
    models = _models(manifest)
    children: dict[str, set[str]] = defaultdict(set)
    for unique_id, model in models.items():
        for parent in model["depends_on"]["nodes"]:
            children[parent].add(unique_id)
    leaves = {k for k in models if not children[k] & models.keys()}

    @cache
    def views_in_chain(unique_id: str) -> int:
        model = models[unique_id]
        upstream = max((views_in_chain(p) for p in model["depends_on"]["nodes"] if p in models), default=0)
        return upstream + (model["config"]["materialized"] == "view")

    wrong = [f"{models[k]['name']}: {views_in_chain(k)} chained views" for k in models
             if views_in_chain(k) >= CHAINED_VIEWS_LIMIT]
    wrong += [f"{m['name']}: {len(children[k] & leaves)} leaf children" for k, m in models.items()
              if len(children[k] & leaves) > FANOUT_LIMIT]
    wrong += [f"{m['name']}: {len(set(m['depends_on']['nodes']))} parents" for m in models.values()
              if len(set(m["depends_on"]["nodes"])) >= JOINS_LIMIT and m["name"] not in EXCEPTIONS["joins"]]
    assert wrong == []


def test_every_source_table_has_freshness_or_says_why_not(manifest: dict[str, Any]) -> None:
    """fct_sources_without_freshness, with the project's exception: a table with no timestamp that
    says when its data arrived states why in `meta.freshness` ("none: ...")."""
    wrong = []
    for source in manifest["sources"].values():
        freshness = source.get("freshness") or {}
        has = any((freshness.get(k) or {}).get("count") for k in ("warn_after", "error_after"))
        measured = source.get("loaded_at_field") or source.get("loaded_at_query")
        why = str((source.get("meta") or source["config"].get("meta") or {}).get("freshness", ""))
        if has != bool(measured) or has == why.startswith("none: "):
            wrong.append(source["name"])
    assert wrong == []
    checked = {s["name"] for s in manifest["sources"].values()
               if s.get("loaded_at_field") or s.get("loaded_at_query")}
    assert {"leads", "partner_performance_stats", "lead_segments"} <= checked


# --- against a built database -----------------------------------------------------------------
def test_documented_columns_are_the_columns_the_models_have(
    manifest: dict[str, Any], built_platform_db: Target
) -> None:
    """Every column of every built model is in its yml, and nothing else is (a contract does this
    for the marts; this covers the staging and intermediate views too)."""
    with connect(built_platform_db) as conn:
        actual: dict[tuple[str, str], list[str]] = defaultdict(list)
        for schema, table, column in conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema in ('staging', 'intermediate', 'analytics')"
            " order by table_schema, table_name, ordinal_position"
        ):
            actual[(schema, table)].append(column)
    differences = {}
    for model in _models(manifest).values():
        built = actual[(model["schema"], model["alias"])]
        documented = list(model["columns"])
        if sorted(built) != sorted(documented):
            differences[model["name"]] = {"undocumented": sorted(set(built) - set(documented)),
                                          "not in the model": sorted(set(documented) - set(built))}
    assert differences == {}
