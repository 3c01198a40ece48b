"""A failing dbt node is one line that keeps its cause (issue 13): the contract's mismatching
columns, PostgreSQL's DETAIL and HINT.

``fixtures/dbt_messages.json`` holds node messages of a real dbt build (captured once from the tiny
project below); the last two tests build that project again with the installed dbt (plain and in a
Prefect flow), so a dbt upgrade that changes the messages' shape fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from leadgen.config import Target
from leadgen.dbt_messages import one_line
from leadgen.dbt_runner import DbtRunError, run_dbt
from prefect import flow

MESSAGES = json.loads((Path(__file__).parent / "fixtures" / "dbt_messages.json").read_text())

TINY_PROJECT = {
    # The project's own profile (profiles.yml at the root): what the Prefect runner reads too.
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nprofile: leadgen\n"
    "models:\n  tiny:\n    +materialized: table\n",
    "models/contracted.sql": "select 1::bigint as industry_id, 'x'::text as status, now() as created_at\n",
    "models/bad_operator.sql": "select 1 as id where 1 = 'a'::text\n",
    "models/dup_key.sql": '{{ config(post_hook="create unique index on {{ this }} (id)") }}\n'
    "select 1 as id union all select 1\n",
    "models/_models.yml": """models:
  - name: contracted
    config:
      contract: {enforced: true}
    columns:
      - {name: industry_id, data_type: uuid}
      - {name: status, data_type: text}
      - {name: created_at, data_type: date}
      - {name: missing_col, data_type: integer}
""",
}


def test_a_contract_failure_names_each_mismatching_column_with_both_types() -> None:
    line = one_line(MESSAGES["contracted"])
    assert line.startswith("Compilation Error: contract failed: ")
    assert "column created_at: model DATETIMETZ, contract DATE (data type mismatch)" in line
    # uuid: dbt-postgres has no name for its type code
    assert "column industry_id: model LONGINTEGER, contract unknown type_code 2950 (data type mismatch)" \
        in line
    assert "column missing_col: model absent, contract INTEGER (missing in definition)" in line
    assert "column status" not in line  # matching columns are not listed
    assert "macro" not in line and "Please ensure" not in line


def test_a_database_error_keeps_the_message_and_the_hint_but_not_the_sql_excerpt() -> None:
    line = one_line(MESSAGES["bad_operator"])
    assert line == (
        "Database Error: operator does not exist: integer = text; HINT: No operator matches the given "
        "name and argument types. You might need to add explicit type casts."
    )


def test_a_database_error_keeps_its_detail() -> None:
    line = one_line(MESSAGES["dup_key"])
    assert line == (
        'Database Error: could not create unique index "dup_key_id_idx"; DETAIL: Key (id)=(1) is duplicated.'
    )


def test_a_unit_test_diff_is_one_line_without_terminal_colours() -> None:
    line = one_line(MESSAGES["ok_model_doubles"])
    assert line == "actual differs from expected: @@ ,id; +++,1; +++,1; ---,3"


def test_short_and_empty_messages_pass_through() -> None:
    short = "Got 3 results, configured to fail if != 0"
    assert one_line(short) == short
    assert one_line(None) == ""
    assert len(one_line("x " * 5000)) <= 1000


def _tiny_project(root: Path) -> list[str]:
    """The tiny project written under ``root``; the dbt arguments that build it."""
    for name, text in TINY_PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return ["build", "--project-dir", str(root), "--target-path", str(root / "target")]


def _assert_every_cause(message: str) -> None:
    assert "\n" not in message
    assert "model contracted (error): Compilation Error: contract failed: " in message
    assert "column industry_id: model LONGINTEGER, contract " in message
    assert "column missing_col: model absent, contract INTEGER (missing in definition)" in message
    assert "model bad_operator (error): Database Error: operator does not exist: integer = text; HINT: " \
        in message
    assert 'model dup_key (error): Database Error: could not create unique index "dup_key_id_idx"; ' \
        "DETAIL: Key (id)=(1) is duplicated." in message


@pytest.mark.slow
def test_a_failing_dbt_build_raises_one_line_with_every_cause(
    make_db: Callable[..., Target], tmp_path: Path
) -> None:
    with pytest.raises(DbtRunError) as raised:
        run_dbt(_tiny_project(tmp_path), make_db("dbt_messages"))
    _assert_every_cause(str(raised.value))


@pytest.mark.slow
def test_inside_a_prefect_flow_the_error_keeps_every_cause_too(
    make_db: Callable[..., Target], tmp_path: Path, prefect_harness: None
) -> None:
    """In a flow run dbt goes through prefect-dbt's runner (one task per node): same messages."""
    target, args = make_db("dbt_messages_flow"), _tiny_project(tmp_path)

    @flow
    def build_tiny() -> str:
        try:
            run_dbt(args, target)
        except DbtRunError as exc:
            return str(exc)
        return "dbt build succeeded"

    _assert_every_cause(build_tiny())
