"""Where subset fits run: in this process, a local process pool, or a Dask cluster.

Every executor has the same four verbs, and :func:`fireform.ablation.shapley` drives them the
same way whatever runs underneath (one code path on a laptop and on a cluster):

- ``bind(drivers, data_key)``: ship the training drivers once (pool initializer / Dask scatter);
- ``submit(task)``: queue a :class:`~fireform.ablation.tasks.SubsetTask`;
- ``next_done()``: block until some fit finishes; returns ``(task.key, FitResult)``;
- ``close()``.

Failures: a worker that dies (SIGKILL, OOM, a lost node) takes only its running fits with it.
:class:`LocalExecutor` notices the broken pool, starts a new one and resubmits exactly the fits
that had not returned; Dask reschedules a dead worker's tasks itself, and
:class:`DaskExecutor` resubmits a task that exhausted Dask's own retries (``KilledWorker``) up
to ``resubmit`` more times. Finished fits are never recomputed: each is returned to the driving
process the moment it completes (``next_done``), and with a cache folder it is also on disk
before the worker reports it (the task's ``fit(..., cache=...)``).

Dask, three ways (see docs/ablation.md):

    DaskExecutor(address="tcp://10.0.0.5:8786")            # a running scheduler
    DaskExecutor(scheduler_file="/shared/scheduler.json")  # dask scheduler --scheduler-file
    DaskExecutor(cluster=LocalCluster(n_workers=2))        # or dask_jobqueue.SLURMCluster(...)
    DaskExecutor(workers=2)                                # a LocalCluster of 2 processes
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import tempfile
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from fireform.ablation.tasks import SubsetTask, load_worker_drivers, run_task
from fireform.exceptions import FitError

if TYPE_CHECKING:
    from fireform.drivers import Drivers
    from fireform.fitting import FitResult

__all__ = ["Executor", "SerialExecutor", "LocalExecutor", "DaskExecutor", "make_executor"]


class Executor(ABC):
    """Runs subset fits; see the module docstring for the contract."""

    name = "executor"
    workers = 1
    restarts = 0  # times lost work was resubmitted

    @abstractmethod
    def bind(self, drivers: Drivers, data_key: str) -> None: ...

    @abstractmethod
    def submit(self, task: SubsetTask) -> None: ...

    @abstractmethod
    def next_done(self) -> tuple[str, FitResult]: ...

    @property
    @abstractmethod
    def pending(self) -> int: ...

    def close(self) -> None:  # noqa: B027  (optional hook: most executors hold nothing)
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        return f"{self.name} ({self.workers} workers)"


class SerialExecutor(Executor):
    """Fits one after another in this process (tests, one core, debugging)."""

    name = "serial"

    def __init__(self) -> None:
        self._queue: deque[SubsetTask] = deque()
        self._drivers: Drivers | None = None

    def bind(self, drivers: Drivers, data_key: str) -> None:
        self._drivers = drivers

    def submit(self, task: SubsetTask) -> None:
        self._queue.append(task)

    def next_done(self) -> tuple[str, FitResult]:
        task = self._queue.popleft()
        return task.key, run_task(task, self._drivers)

    @property
    def pending(self) -> int:
        return len(self._queue)


# a killed worker's pool is rebuilt and its fits resubmitted; a pool that breaks this many times
# in a row with no fit finishing is not a killed worker but workers that cannot start
MAX_FRUITLESS_RESTARTS = 3


class LocalExecutor(Executor):
    """A pool of ``workers`` processes on this machine (``spawn``: no fork after threads)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, mp_context: str = "spawn") -> None:
        self.workers = int(workers or os.cpu_count() or 1)
        if self.workers < 1:
            raise FitError(f"workers must be >= 1, got {workers!r}")
        self._ctx = mp_context
        self._pool: ProcessPoolExecutor | None = None
        self._init: tuple | None = None
        self._futs: dict = {}  # future -> task
        self.restarts = 0
        self._fruitless = 0  # pool restarts in a row with no fit returned in between
        self._tmp: tempfile.TemporaryDirectory[str] | None = None  # the folder of the drivers file the workers load

    def _start(self) -> ProcessPoolExecutor:
        if self._init is None:
            raise FitError("LocalExecutor.bind(drivers, data_key) must be called before submit")
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=mp.get_context(self._ctx),
            initializer=load_worker_drivers, initargs=self._init,
        )
        return self._pool

    def bind(self, drivers: Drivers, data_key: str) -> None:
        # the drivers travel as a file, not as initargs: spawn writes a worker's initargs down a
        # pipe while holding the pipe's read end open itself (CPython's popen_spawn_posix), so a
        # worker that dies at start-up (a script without the __main__ guard) left the parent
        # blocked forever writing drivers larger than the pipe buffer
        self.close()
        self._tmp = tempfile.TemporaryDirectory(prefix="fireform-drivers-")
        path = os.path.join(self._tmp.name, "drivers.pkl")
        with open(path, "wb") as f:
            pickle.dump(drivers, f, protocol=pickle.HIGHEST_PROTOCOL)
        self._init = (data_key, path)

    def submit(self, task: SubsetTask) -> None:
        pool = self._pool if self._pool is not None else self._start()
        self._futs[pool.submit(run_task, task)] = task

    def next_done(self) -> tuple[str, FitResult]:
        while True:
            if not self._futs:
                raise FitError("next_done() with nothing submitted")
            done, _ = wait(list(self._futs), return_when=FIRST_COMPLETED)
            broken = False
            for f in sorted(done, key=lambda f: self._futs[f].key):
                exc = f.exception()
                if isinstance(exc, BrokenProcessPool):
                    broken = True
                    continue
                task = self._futs.pop(f)
                if exc is not None:
                    raise exc
                self._fruitless = 0
                return task.key, f.result()
            if broken:
                self._fruitless += 1
                if self._fruitless > MAX_FRUITLESS_RESTARTS:
                    raise FitError(
                        f"the local process pool broke {self._fruitless} times in a row before any "
                        f"fit finished: its worker processes die at start-up. With the "
                        f"'{self._ctx}' start method each worker re-imports the main script, so a "
                        f"script that calls shapley() at module level must guard that call with "
                        f"'if __name__ == \"__main__\":' (or use executor='serial'). Fits already "
                        f"finished are in the fit cache, if one was given.")
                self._restart()

    def _restart(self) -> None:
        """A worker died: new pool, resubmit every fit that has not returned."""
        lost = [t for f, t in self._futs.items() if not (f.done() and f.exception() is None)]
        kept = {f: t for f, t in self._futs.items() if f.done() and f.exception() is None}
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # a broken pool may refuse; it is being replaced anyway
            pass
        pool = self._start()
        self.restarts += 1
        self._futs = dict(kept)
        for t in sorted(lost, key=lambda t: t.key):
            self._futs[pool.submit(run_task, t)] = t

    @property
    def pending(self) -> int:
        return len(self._futs)

    def worker_pids(self) -> list[int]:
        """PIDs of the pool's live worker processes (for tests that kill one)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp, self._init = None, None


class DaskExecutor(Executor):
    """Dask distributed: a scheduler address, a scheduler file, a cluster object (LocalCluster,
    dask_jobqueue.SLURMCluster / PBSCluster, ...), a Client, or a new LocalCluster of ``workers``
    single-threaded processes."""

    name = "dask"

    def __init__(self, *, address: str | None = None, scheduler_file: str | None = None,
                 cluster=None, client=None, workers: int | None = None, resubmit: int = 3,
                 retries: int = 2) -> None:
        # dask.distributed is heavy to import: only for the Dask executor
        from distributed import Client, LocalCluster

        self._own_cluster = None
        if client is not None:
            self.client = client
        elif address is not None:
            self.client = Client(address)
        elif scheduler_file is not None:
            self.client = Client(scheduler_file=str(scheduler_file))
        elif cluster is not None:
            self.client = Client(cluster)
        else:
            n = int(workers or os.cpu_count() or 1)
            self._own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                             dashboard_address=None)
            self.client = Client(self._own_cluster)
        self._own_client = client is None
        self.resubmit = int(resubmit)
        self.retries = int(retries)
        self._data = None
        self._futs: dict = {}  # future -> task
        self._tries: dict[str, int] = {}
        self.restarts = 0

    @property
    def workers(self) -> int:  # type: ignore[override]
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def describe(self) -> str:
        return f"dask at {self.client.scheduler.address} ({self.workers} workers)"

    def bind(self, drivers: Drivers, data_key: str) -> None:
        # Broadcast, but Dask's active memory manager may drop replicas no task waits for, so
        # the data can die with one worker: then next_done scatters it again (_rebind).
        self._drivers, self._data_key = drivers, data_key
        self._data = self.client.scatter(drivers, broadcast=True, hash=False)

    def _rebind(self) -> None:
        """The data was lost with its last holder: scatter again, resubmit what is pending."""
        self.bind(self._drivers, self._data_key)
        lost = sorted(self._futs.values(), key=lambda t: t.key)
        self._futs.clear()
        self.restarts += 1
        for t in lost:
            self._submit(t)

    def _submit(self, task: SubsetTask):
        n = self._tries.get(task.key, 0)
        self._tries[task.key] = n + 1
        fut = self.client.submit(run_task, task, self._data, key=f"ff-fit-{task.key}-{n}",
                                 pure=False, retries=self.retries)
        self._futs[fut] = task

    def submit(self, task: SubsetTask) -> None:
        if self._data is None:
            raise FitError("DaskExecutor.bind(drivers, data_key) must be called before submit")
        self._submit(task)

    def next_done(self) -> tuple[str, FitResult]:
        # dask.distributed, as above
        from distributed import wait as dwait
        from distributed.scheduler import KilledWorker

        while True:
            if not self._futs:
                raise FitError("next_done() with nothing submitted")
            try:
                done = dwait(list(self._futs), return_when="FIRST_COMPLETED").done
            except Exception as e:  # futures cancelled: their input data died with its holders
                if "cancel" not in type(e).__name__.lower() or self.restarts > 2 * self.resubmit:
                    raise
                self._rebind()
                continue
            for f in sorted(done, key=lambda f: self._futs[f].key):
                task = self._futs.pop(f)
                if f.status == "finished":
                    res = f.result()
                    f.release()
                    return task.key, res
                exc = f.exception()
                if isinstance(exc, KilledWorker) and self._tries[task.key] <= self.resubmit:
                    self.restarts += 1
                    self._submit(task)
                    continue
                raise exc

    @property
    def pending(self) -> int:
        return len(self._futs)

    def close(self) -> None:
        for f in list(self._futs):
            f.cancel()
        self._futs.clear()
        if self._own_client:
            self.client.close()
        if self._own_cluster is not None:
            self._own_cluster.close()


def make_executor(executor=None, *, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """An Executor from a name or an address: None/"local" (process pool), "serial", "dask"
    (a LocalCluster), a scheduler address ``tcp://...`` or a scheduler-file path, or an
    Executor (returned as is)."""
    if isinstance(executor, Executor):
        return executor
    if scheduler:
        if "://" in scheduler:
            return DaskExecutor(address=scheduler)
        return DaskExecutor(scheduler_file=scheduler)
    if executor is None or executor == "local":
        if (workers or os.cpu_count() or 1) <= 1:
            return SerialExecutor()
        return LocalExecutor(workers)
    if executor == "serial":
        return SerialExecutor()
    if executor == "dask":
        return DaskExecutor(workers=workers)
    raise FitError(
        f"unknown executor {executor!r}; use 'local', 'serial', 'dask', a scheduler address, or an "
        "Executor instance"
    )
