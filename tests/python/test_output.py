"""What a person sees (issue 14, part 4): `leadgen demo` into a pipe is short, plain text, with the
summary near the top; everything else is in the log file, each dbt node once; `-v` shows it live."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from leadgen import logs
from leadgen.config import PROJECT_ROOT, Target

LEADGEN = str(Path(sys.executable).parent / "leadgen")
SUMMARY_HEADLINE = re.compile(r"^\d{4}-\d{2}-\d{2}: \d+ leads in \d+ segments")  # print_summary's first line
DBT_NODE_LINE = re.compile(r" - (\d+) of (\d+) ")  # dbt's "12 of 175 PASS not_null_x ..." lines


@dataclass(frozen=True)
class Run:
    output: list[str]  # stdout and stderr, interleaved as a terminal would show them
    log: str
    target_path: Path


def _leadgen(
    *args: str, target: Target, log_file: Path, target_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env |= {**target.env, "LEADGEN_LOG_FILE": str(log_file), "DBT_TARGET_PATH": str(target_path),
            "COLUMNS": "80", "TERM": "xterm-256color"}  # what a terminal would set: must not matter in a pipe
    return subprocess.run(
        [LEADGEN, *args], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900, check=False,
    )


@pytest.fixture(scope="module")
def demo(make_db: Callable[..., Target], tmp_path_factory: pytest.TempPathFactory) -> tuple[Target, Run]:
    target = make_db("demo")
    folder = tmp_path_factory.mktemp("output")
    log_file, target_path = folder / "leadgen.log", folder / "target"
    result = _leadgen("demo", "--partners", "60", "--leads", "2000", "--days", "20",
                      target=target, log_file=log_file, target_path=target_path)
    assert result.returncode == 0, result.stdout
    return target, Run(result.stdout.splitlines(), log_file.read_text(), target_path)


@pytest.mark.slow
def test_demo_output_in_a_pipe_has_no_ansi_codes_and_no_wrapping(demo: tuple[Target, Run]) -> None:
    _, run = demo
    text = "\n".join(run.output)
    assert "\x1b" not in text
    generated = [line for line in run.output if line.startswith("generated 2,000 leads")]
    assert len(generated) == 1 and generated[0].endswith(" s)")  # one line, not wrapped at 80 columns
    assert "{" not in generated[0]  # a readable summary, not a dict


@pytest.mark.slow
def test_demo_shows_the_summary_within_40_lines(demo: tuple[Target, Run]) -> None:
    _, run = demo
    headline = next(i for i, line in enumerate(run.output) if SUMMARY_HEADLINE.match(line))
    assert headline < 40, "\n".join(run.output[: headline + 1])
    assert run.output[headline + 1].startswith("Busiest segments on ")
    assert not any("Task run" in line or " START " in line for line in run.output)  # no dbt node lines
    assert not any("WARNING" in line for line in run.output), "\n".join(run.output)  # no spurious warning


@pytest.mark.slow
def test_each_dbt_node_appears_once_in_the_log_file(demo: tuple[Target, Run]) -> None:
    _, run = demo
    results = json.loads((run.target_path / "run_results.json").read_text())["results"]
    # daily runs two dbt builds (the assignment, then the other marts): each numbers its nodes 1..M
    matches = [m for line in run.log.splitlines() if (m := DBT_NODE_LINE.search(line))]
    counts = Counter((int(m.group(1)), int(m.group(2))) for m in matches)
    assert counts and set(counts.values()) == {1}, [n for n, c in counts.items() if c != 1]
    for total in {t for _, t in counts}:
        assert {i for i, t in counts if t == total} == set(range(1, total + 1)), total
    assert len(results) in {t for _, t in counts}  # the last build's nodes
    for result in results:  # and by name: one line per node, START lines and Prefect duplicates gone
        node = re.compile(rf"[ .]{re.escape(result['unique_id'].split('.')[2])} +(\.+ )?\[")
        assert sum(1 for line in run.log.splitlines() if node.search(line)) == 1, result["unique_id"]
    assert "Detected columns with numeric type" not in run.log
    assert "\x1b" not in run.log


@pytest.mark.slow
def test_verbose_shows_the_log_lines_live(demo: tuple[Target, Run], tmp_path: Path) -> None:
    target, _ = demo
    log_file, target_path = tmp_path / "leadgen.log", tmp_path / "target"
    quiet = _leadgen("run", "assign", target=target, log_file=log_file, target_path=target_path)
    loud = _leadgen("-v", "run", "assign", target=target, log_file=log_file, target_path=target_path)
    assert quiet.returncode == loud.returncode == 0, quiet.stdout + loud.stdout
    assert "assign: 0 leads.segment_id values changed" in quiet.stdout.splitlines()[-1]
    assert "Beginning flow run" not in quiet.stdout
    assert "Beginning flow run" in loud.stdout and "Finished in state Completed()" in loud.stdout
    assert log_file.read_text().count("Beginning flow run") == 2  # the file has both runs in full


# --- the filters themselves (fast) ---------------------------------------------------------------
def _record(name: str, message: str, *, level: int = logging.INFO, path: str = "/elsewhere/x.py",
            **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, level, path, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_a_dbt_node_keeps_only_its_result_line() -> None:
    once = logs.DbtNodeOnce()
    node = {"task_name": "execute_dbt_node", "task_run_name": None}
    assert not once.filter(_record("prefect.task_runs", "12 of 175 START test not_null_x ... [RUN]", **node))
    assert not once.filter(_record("prefect.task_runs", "Finished in state Completed()", **node))
    result = _record("prefect.task_runs", "12 of 175 PASS not_null_x ...... [PASS in 0.1s]", **node)
    assert once.filter(result) and result.task_run_name == "dbt"
    failed = _record("prefect.task_runs", "Finished in state Failed('x')", level=logging.ERROR, **node)
    assert once.filter(failed)
    ours = _record("prefect.task_runs", "Finished in state Completed()", task_name="dbt-build")
    assert once.filter(ours)  # leadgen's own tasks keep Prefect's line in the file and the UI


def test_the_terminal_shows_leadgen_lines_and_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.VERBOSE_ENV, raising=False)
    steps = logs.StepsOnly()
    ours = str(logs.PACKAGE_DIR / "pipeline.py")
    assert steps.filter(_record("prefect.task_runs", "write-back: 3 leads", path=ours))
    assert not steps.filter(_record("leadgen.writeback", "batch 3", level=logging.DEBUG, path=ours))
    assert not steps.filter(_record("prefect.flow_runs", "Beginning flow run 'x'"))
    assert steps.filter(_record("prefect.task_runs", "numeric type warning", level=logging.WARNING))
    monkeypatch.setenv(logs.VERBOSE_ENV, "1")
    assert steps.filter(_record("prefect.flow_runs", "Beginning flow run 'x'"))
