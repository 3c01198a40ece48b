"""Where leadgen's output goes: the terminal gets one line per step, the log file gets everything.

Prefect reads ``logging.yml`` next to this module (the CLI points ``PREFECT_LOGGING_SETTINGS_PATH``
at it). Three destinations:

- the terminal (stderr): records logged at INFO by leadgen's own code (the step lines, with timing;
  its DEBUG lines are detail) and every warning or error; with ``-v`` (``LEADGEN_VERBOSE=1``)
  every record, dbt's node lines included.
  Plain text, no ANSI codes, written to the *current* ``sys.stderr`` so that a Rich progress bar
  (which redirects stderr while it runs) prints log lines above itself instead of over them;
- the log file (``.leadgen/logs/leadgen.log``, or ``LEADGEN_LOG_FILE``): every record, dated;
- Prefect's API (the run's logs in the UI).

dbt nodes appear once each in the file and in Prefect: prefect-dbt forwards dbt's ``START`` line, its
result line and Prefect's own ``Finished in state Completed()`` for every node task; only the result
line (status and timing) is kept.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
LOGGING_YML = PACKAGE_DIR / "logging.yml"
VERBOSE_ENV = "LEADGEN_VERBOSE"
LOG_FILE_ENV = "LEADGEN_LOG_FILE"
_DBT_NODE_TASK = "execute_dbt_node"  # the task function prefect-dbt runs for every dbt node
_DBT_START_LINE = re.compile(r"^\d+ of \d+ START ")


def log_file() -> Path:
    """The log file: ``LEADGEN_LOG_FILE`` or ``<project>/.leadgen/logs/leadgen.log``."""
    configured = os.environ.get(LOG_FILE_ENV)
    return Path(configured) if configured else PACKAGE_DIR.parents[1] / ".leadgen" / "logs" / "leadgen.log"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0", "false")


def interactive() -> bool:
    """A person watches a terminal and no log line streams over it: progress bars make sense."""
    return sys.stdout.isatty() and sys.stderr.isatty() and not verbose()


def use_project_logging() -> None:
    """Make Prefect (imported after this) log through ``logging.yml``; an explicit setting wins."""
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(LOGGING_YML))
    # dbt colours its status words with ANSI codes even when they go to a file or to Prefect.
    os.environ.setdefault("DBT_USE_COLORS", "false")


class DbtNodeOnce(logging.Filter):
    """Keep one line per dbt node: drop its START line and its task's ``Completed`` line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "task_name", None) != _DBT_NODE_TASK:
            return True
        if getattr(record, "task_run_name", None) is None:
            record.task_run_name = "dbt"
        message = record.getMessage()
        if record.levelno <= logging.INFO and message.startswith("Finished in state Completed"):
            return False
        return not _DBT_START_LINE.match(message)


class StepsOnly(logging.Filter):
    """The terminal: leadgen's own lines and anything at WARNING or above (everything with -v)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if verbose() or record.levelno >= logging.WARNING:
            return True
        return record.levelno >= logging.INFO and Path(record.pathname).resolve().is_relative_to(PACKAGE_DIR)


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Plain lines on whatever ``sys.stderr`` is at the moment (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        if not verbose() and record.exc_info:  # the trace is in the log file; -v or --debug shows it
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        super().emit(record)


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """Everything, appended to :func:`log_file` (10 MB, 3 old files kept)."""

    def __init__(self) -> None:
        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=10_000_000, backupCount=3, encoding="utf-8", delay=True)
