"""Runs computed in the foreground by `python -m ppr warm/tune` keep status like a worker's runs.

The worker's JobHooks write status.json (running with this pid, epoch, progress, losses),
metrics.jsonl, the epoch checkpoint (resume.pt: running the same command again continues)
and the query files. `tracked` adds what the worker's `execute` does around them: the run
folder's lock, SIGTERM as a cancellation, and the ending (done, failed with the error,
cancelled), so the app's Runs page shows a shell run as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ppr.data.store import Dataset
from ppr.errors import InputError
from ppr.jobs.spec import RunSpec
from ppr.jobs.status import read_status, write_status
from ppr.jobs.worker import Cancelled, JobHooks, flock, mark_cancelled, mark_done, mark_failed, sigterm_cancels
from ppr.runs import Run


class ShellHooks(JobHooks):
    """JobHooks for the runs one `python -m ppr <command>` computes (a tune may train its warm run first)."""

    def __init__(self, command: str, spec: RunSpec, ds: Dataset) -> None:
        super().__init__(spec, [a["name"] for a in ds.attributes])
        self.restart = f"running the same `python -m ppr {command}` command again"
        self.started: list[Run] = []
        self.locks = contextlib.ExitStack()

    def start(self, run: Run, max_epochs: int) -> None:
        if not self.locks.enter_context(flock(run.path / ".lock", blocking=False)):
            pid = read_status(run.path).get("pid")
            raise InputError(f"Run {run.id} is being computed by another process (pid {pid}); wait for it, "
                             f"or stop it with `python -m ppr runs cancel {run.id}`.")  # fmt: skip
        self.started.append(run)
        super().start(run, max_epochs)
        write_status(run.path, restart=self.restart, traceback=None, finished=None)

    def settle(self, exc: BaseException | None) -> None:
        """Final status of each started run: done if complete, else failed (an error) or cancelled."""
        for run in self.started:
            if run.is_complete:
                mark_done(run.path)
            elif isinstance(exc, Exception):
                mark_failed(run.path, exc)
            else:
                mark_cancelled(run.path)


@contextlib.contextmanager
def tracked(hooks: ShellHooks) -> Iterator[None]:
    """Compute runs with `hooks` in the block; SIGTERM there is a Ctrl-C (KeyboardInterrupt) that cancels."""
    with hooks.locks:
        try:
            with sigterm_cancels():
                yield
        except BaseException as exc:
            hooks.settle(exc)
            if isinstance(exc, Cancelled):
                raise KeyboardInterrupt("terminated") from exc
            raise
        hooks.settle(None)

