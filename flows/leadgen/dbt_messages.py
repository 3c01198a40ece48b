"""dbt's multi-line node messages as one line that keeps the cause.

dbt puts the cause of a failure after a header, in a form a plain cut at N characters loses:

* an enforced contract that failed lists the mismatching columns in a table after two lines of
  boilerplate -> ``contract failed: column created_at: model DATETIMETZ, contract DATE (data type
  mismatch); ...``;
* a database error carries PostgreSQL's message, then ``LINE``/caret lines, then ``DETAIL:`` and
  ``HINT:`` -> the message, DETAIL and HINT, without the SQL excerpt or the compiled-code path;
* anything else (a unit-test diff, a data test's count) -> compacted: ANSI colours, macro call
  stacks and blank lines dropped.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# "Database Error in model x (models/x.sql)", "Compilation Error in test y (…)", "Runtime Error …"
_HEADER = re.compile(r"^(?P<kind>[A-Z][A-Za-z]* Error) in \S+ \S+(?: \(.*\))?$")
_CONTRACT = "enforced contract that failed"
_NOISE = (
    re.compile(r"^> (in|called by) "),  # dbt's macro call stack
    re.compile(r"^compiled code at "),
    re.compile(r"^LINE \d+:"),  # PostgreSQL's excerpt of the statement …
    re.compile(r"^\^$"),  # … and the caret under it
)
MAX_LENGTH = 1000  # a line for a log or a terminal, not a report


def _lines(message: str) -> list[str]:
    text = _ANSI.sub("", message).replace("\r", "")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _contract_cause(lines: list[str]) -> str | None:
    """``column c: model X, contract Y (reason)`` per row of dbt's mismatch table."""
    rows = [line for line in lines if line.startswith("|") and line.endswith("|")]
    parsed = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    if len(parsed) < 2 or parsed[0][:1] != ["column_name"]:
        return None
    header = parsed[0]
    columns = []
    for cells in parsed[1:]:
        if set("".join(cells)) <= {"-"}:  # the separator row
            continue
        row = dict(zip(header, cells, strict=False))
        model_type = row.get("definition_type") or "absent"
        contract_type = row.get("contract_type") or "absent"
        columns.append(
            f"column {row.get('column_name', '?')}: model {model_type}, contract {contract_type}"
            f" ({row.get('mismatch_reason', 'mismatch')})"
        )
    return "contract failed: " + "; ".join(columns) if columns else None


def one_line(message: str | None) -> str:
    """The node message as one line with its cause (see the module docstring)."""
    lines = _lines(message or "")
    if not lines:
        return ""
    kind = ""
    header = _HEADER.match(lines[0])
    if header:  # the node is named by the caller already; keep only the kind of error
        kind = header.group("kind") + ": "
        lines = lines[1:]
    if any(_CONTRACT in line for line in lines):
        cause = _contract_cause(lines)
        if cause:
            return _cap(kind + cause)
    kept = [" ".join(line.split()) for line in lines if not any(p.match(line) for p in _NOISE)]
    if kind == "Database Error: " and kept:  # PostgreSQL's message, then only DETAIL and HINT
        kept = [kept[0], *(line for line in kept[1:] if line.startswith(("DETAIL:", "HINT:")))]
    return _cap(kind + _join(kept))


def _join(parts: list[str]) -> str:
    """Parts joined with "; ", except after a part that announces what follows ("…:")."""
    out = ""
    for part in parts:
        out += part if not out else (" " if out.endswith(":") else "; ") + part
    return out


def _cap(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"
