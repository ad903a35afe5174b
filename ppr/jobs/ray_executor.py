"""A sweep's runs as Ray tasks (`python -m ppr sweep ... --executor ray`): one task per run.

Each task opens the store at the same home path and takes its run the way the local worker does
(ppr.jobs.worker.take: ppr.runs.pipeline under the run's lock), so the run folders stay the one source of
truth and every reader sees what a local sweep leaves; the driver keeps the sweep's state
(ppr.jobs.worker.work). A cell's task waits for its warm run's task when both are in the dispatch, so the
warm run is trained once and no task holds a CPU while it queues on the warm run's lock. On a cluster the
home must be the same shared path on every node, with this package importable there.

Ray is imported here only, and only when asked for: the library stands without it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs.sweep import package_root
from ppr.jobs.worker import Executor, main_log, take
from ppr.log import Log
from ppr.runs.folder import RunFolder
from ppr.runs.status import raw_status, read_status
from ppr.runs.tracking import Cancelled, mark_failed, sigterm_cancels

INSTALL = "pip install -r requirements-ray.txt"
GRACE_S = 30.0  # how long cancelled tasks get to mark their runs cancelled before they are killed


def load_ray() -> ModuleType:
    """The ray module; an InputError naming the optional requirements file when it is not installed."""
    try:
        import ray
    except ImportError as exc:
        raise InputError(
            f"--executor ray needs Ray, which is not installed ({exc}); `{INSTALL}` installs it."
        ) from None
    return ray


@contextlib.contextmanager
def ray_executor(address: str | None = None, max_workers: int | None = None, log: Log = main_log) -> Iterator[Executor]:
    """An Executor for ppr.jobs.worker.work, connected for the block: to the cluster at `address`, else to a local
    Ray instance with `max_workers` CPUs (default: every core), which the block's end shuts down. A Ray session
    this process already has (a notebook's, a test's) is used as it is and left running."""
    ray = load_ray()
    if address and max_workers:
        raise InputError("--max-workers sets the CPUs of a local Ray instance; with --ray-address the cluster decides.")
    own = not ray.is_initialized()
    if own:
        _connect(ray, address, max_workers, log)
    try:
        yield functools.partial(_run, ray)
    finally:
        if own:
            ray.shutdown()


def _connect(ray: ModuleType, address: str | None, max_workers: int | None, log: Log) -> None:
    with _in_package_root():
        _init(ray, address, max_workers, log)


@contextlib.contextmanager
def _in_package_root() -> Iterator[None]:
    """Ray puts the driver's working directory first on its workers' import path: during the init that is the folder
    holding this ppr package, so the tasks run this process's code, not a checkout under the shell's directory."""
    here = os.getcwd()
    os.chdir(package_root())
    try:
        yield
    finally:
        os.chdir(here)


def _init(ray: ModuleType, address: str | None, max_workers: int | None, log: Log) -> None:
    if not address:
        # 'local': a new instance even when the machine runs a cluster or $RAY_ADDRESS names one
        ray.init(address="local", num_cpus=max_workers or os.cpu_count(), include_dashboard=False)
        return
    log(f"connecting to the Ray cluster at {address}")
    try:
        ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(
            f"Could not connect to the Ray cluster at --ray-address {address!r} ({exc}); check the address "
            "(`ray status` on the head node prints it), or drop --ray-address for a local Ray instance."
        ) from None


def _run(ray: ModuleType, store: Store, run_ids: list[str], log: Log, started: Callable[[], None]) -> list[str]:
    """Dispatch one task per run (a cell after its warm run's task) and gather each run's final state in order.

    Ctrl-C or SIGTERM here, or a run cancelled in its task (`runs cancel RUN`), cancels every outstanding task,
    then raises Cancelled, as either stops the local worker."""
    started()
    with _signals_noted() as stop:
        refs = _dispatch(ray, store, run_ids)
        try:
            states = _gather(ray, store, refs, stop, log)
        except BaseException:
            _cancel(ray, list(refs.values()), log)
            raise
    return [states[rid] for rid in run_ids]


def _dispatch(ray: ModuleType, store: Store, run_ids: list[str]) -> dict[str, Any]:
    """Run id -> its task's reference: one GPU each where the cluster has GPUs (unless the run asks for the CPU),
    else one CPU; a cell's task takes its warm run's result as an argument, so it starts once that one has ended."""
    gpu = ray.cluster_resources().get("GPU", 0) > 0
    task = ray.remote(max_retries=0)(_task)
    refs: dict[str, Any] = {}
    for rid in run_ids:
        device = raw_status(store.runs_dir / rid).get("device") or "auto"
        options = task.options(num_gpus=int(gpu and device != "cpu"), name=f"ppr {rid}")
        refs[rid] = options.remote(str(store.home), rid, refs.get(_warm_of(store, rid)))
    return refs


@contextlib.contextmanager
def _signals_noted() -> Iterator[threading.Event]:
    """SIGTERM and SIGINT (Ctrl-C) set the event instead of raising: raised inside a Ray call, Cancelled would come
    out as a SystemError. Off the main thread nothing is installed."""
    stop = threading.Event()
    try:
        old = {s: signal.signal(s, lambda signum, frame: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        yield stop
        return
    try:
        yield stop
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _task(home: str, run_id: str, after: object = None) -> tuple[str, bool]:
    """One task: take the run in this Ray worker (after its warm run's task, `after`); (its state, whether it was
    cancelled here: SIGTERM to this process, or the driver's ray.cancel)."""
    store = Store(home)
    if not (store.runs_dir / run_id).is_dir():
        raise InputError(
            f"Run folder {store.runs_dir / run_id} is not there on {socket.gethostname()}: on a Ray cluster the store "
            "home must be one shared folder at the same path on every node."
        )
    with sigterm_cancels():
        try:
            return take(store, run_id, main_log), False
        except (Cancelled, KeyboardInterrupt):
            return "cancelled", True


def _warm_of(store: Store, rid: str) -> str | None:
    """The warm run a tuning run starts from (None for a warm run, a counted baseline or an unreadable spec, which
    its task reports as the local worker would)."""
    try:
        spec = RunFolder(store.runs_dir / rid).spec()
    except (InputError, OSError):
        return None
    return spec.warm_run().run_id if spec.needs_warm else None


def _gather(ray: ModuleType, store: Store, refs: dict[str, Any], stop: threading.Event, log: Log) -> dict[str, str]:
    """Run id -> final state, as the tasks end; Cancelled once `stop` is set (looked at every second)."""
    rid_of = {ref: rid for rid, ref in refs.items()}
    states: dict[str, str] = {}
    while rid_of:
        if stop.is_set():
            raise Cancelled()
        ready, _ = ray.wait(list(rid_of), num_returns=1, timeout=1.0)
        for ref in ready:
            rid = rid_of.pop(ref)
            try:
                states[rid], cancelled = ray.get(ref)
            except ray.exceptions.RayError as exc:  # its process died (killed, out of memory), or its warm run's did
                log(f"failed {rid}: {type(exc).__name__}: {exc}")
                if read_status(store.runs_dir / rid)["state"] == "queued":  # never started: say why there
                    mark_failed(store.runs_dir / rid, exc)
                states[rid], cancelled = "failed", False
            if cancelled:
                raise Cancelled()
    return states


def _cancel(ray: ModuleType, refs: list[Any], log: Log) -> None:
    """Stop the outstanding tasks: interrupted first (their runs end cancelled, as under SIGTERM), killed if they
    have not ended after GRACE_S. A Ray that is going down meanwhile (its processes signalled too) is let go."""
    log(f"cancelling {len(refs)} Ray tasks")
    try:
        for ref in refs:
            ray.cancel(ref)
        _, left = ray.wait(refs, num_returns=len(refs), timeout=GRACE_S)
        for ref in left:
            ray.cancel(ref, force=True)
        if left:
            ray.wait(left, num_returns=len(left), timeout=GRACE_S)
    except Exception as exc:
        log(f"Ray stopped while cancelling ({type(exc).__name__}: {exc}); runs it was computing read as stale")
