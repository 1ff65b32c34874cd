"""Every executor against the executor contract (fireform.testing.executors): in this process, a
local process pool, and a real Dask LocalCluster on loopback."""

from __future__ import annotations

from fireform.ablation import DaskExecutor, LocalExecutor, SerialExecutor
from fireform.testing.executors import ExecutorContract


class TestSerial(ExecutorContract):
    def make_executor(self):
        return SerialExecutor()


class TestLocalPool(ExecutorContract):
    def make_executor(self):
        return LocalExecutor(2)


class TestDask(ExecutorContract):
    def make_executor(self):
        return DaskExecutor(workers=2)
