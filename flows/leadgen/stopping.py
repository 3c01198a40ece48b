"""Stopping a leadgen command: SIGINT (Ctrl-C) and SIGTERM take one path, and it is fast.

* Both signals raise :class:`KeyboardInterrupt` in the main thread (SIGTERM as its subclass
  :class:`Terminated`): dbt handles that by cancelling its open connections (its queries end in
  the database), psycopg cancels a running query, and every ``with`` block (the advisory locks of
  leadgen.locks) unwinds and releases what it holds.
* Around a dbt invocation, :func:`interruptible` re-installs these handlers (Prefect's flow engine
  replaces the SIGTERM one with its own, which dbt does not treat as an interrupt) and re-raises
  the interrupt however dbt or prefect-dbt reported it (prefect-dbt turns it into a ValueError).
* A Prefect flow run that a signal stopped ends Cancelled, not Crashed (:func:`cancel_if_stopped`,
  an ``on_crashed`` hook of every flow).
* The CLI exits 130 (SIGINT) or 143 (SIGTERM); a second signal while it cleans up exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_received: int | None = None
_marked = threading.Event()
_exiting = threading.Lock()  # the flow run's Cancelled state is on the server
# Time the normal unwinding gets after a signal (dbt cancels, the flow's hook marks the run
# Cancelled, the CLI exits); then the watchdog finishes the job.
UNWIND_SECONDS = 2.0
_CRASH_MESSAGES = ("aborted by an interrupt signal", "aborted by a termination signal")


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that everything that cleans up on Ctrl-C does so here."""


def received() -> int | None:
    """The signal that asked this process to stop, if any."""
    return _received


def exit_code(signum: int | None = None) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + (signum or _received or signal.SIGINT)


def _interrupt(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum: int, _frame: FrameType | None) -> None:
    global _received
    if _received is not None:  # a second signal while cleaning up: stop now
        os._exit(exit_code(signum))
    _received = signum
    threading.Thread(target=_watchdog, args=(signum, _current_flow_run_id()), daemon=True).start()
    raise _interrupt(signum)


def _current_flow_run_id() -> Any:
    """The flow run this process is in (signal handlers run in the main thread, in its context)."""
    if "prefect.context" not in sys.modules:
        return None
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context.flow_run.id if context and context.flow_run else None


def _watchdog(signum: int, flow_run_id: Any) -> None:
    """However the unwinding goes (prefect-dbt waiting for its event queue on a busy machine, a
    server that does not answer), the process is gone within 5 s of the signal: dbt has cancelled
    its queries first thing; the run is marked Cancelled here if the flow's hook has not done it;
    exiting closes the lock connections, which releases their advisory locks."""
    time.sleep(UNWIND_SECONDS)
    if flow_run_id is not None and not _marked.is_set():
        with contextlib.suppress(Exception):
            _mark_cancelled(flow_run_id, signum)
    exit_now(exit_code(signum), drain_seconds=0.2)


def _mark_cancelled(flow_run_id: Any, signum: int | None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    name = signal.Signals(signum).name if signum else "a signal"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Cancelled(message=f"stopped by {name}"), force=True)
    _marked.set()


def install() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt / Terminated (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)


@contextmanager
def interruptible() -> Iterator[None]:
    """Our handlers for the duration of the block (e.g. a dbt run inside a Prefect flow run), and
    the interrupt re-raised when a signal arrived during it, whatever the block made of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    before = _received
    for sig in previous:
        signal.signal(sig, _handler)
    try:
        yield
    except BaseException:
        if _received is not None and _received != before:
            raise _interrupt(_received) from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if _received is not None and _received != before:
        raise _interrupt(_received)


def exit_now(code: int, drain_seconds: float = 1.0) -> None:
    """Exit at once after a stop, the last line saying so: Prefect's logs get ``drain_seconds`` to
    reach the server (the run's Cancelled state is already there), instead of its unbounded
    exit-time drain that prints worker dumps when the server is gone."""
    import logging

    if not _exiting.acquire(blocking=False):  # the other thread (CLI or watchdog) is exiting
        time.sleep(30)
    logging.disable(logging.CRITICAL)  # nothing more on the terminal after the last line
    if "prefect" in sys.modules:
        # Logs only: the events worker warns for every event still queued and the state is set.
        with contextlib.suppress(Exception):  # best effort: exiting matters more than log lines
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=drain_seconds)
    # What a normal exit does for multiprocessing locks (dbt's): unlink them, so its resource
    # tracker does not warn about "leaked semaphore objects" after we are gone.
    with contextlib.suppress(Exception):
        import multiprocessing.util

        multiprocessing.util._run_finalizers(0)
    sys.stderr.write(f"leadgen: stopped ({'SIGTERM' if code == 143 else 'SIGINT'})\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cancel_if_stopped(_flow: Any, flow_run: Any, state: Any) -> None:
    """``on_crashed`` hook: a run stopped by a signal is Cancelled (alerts on Crashed stay quiet)."""
    message = str(getattr(state, "message", "") or "")
    if _received is None and not any(m in message for m in _CRASH_MESSAGES):
        return
    _mark_cancelled(flow_run.id, _received)


STOP_HOOKS = [cancel_if_stopped]
