"""The executor contract, as a reusable pytest suite.

Subclass :class:`ExecutorContract`, give it ``make_executor(self)``; pytest collects every
``test_*`` below for that implementation. The contract, for every executor:

- every submitted subset fit comes back from ``next_done`` exactly once, as ``(key, FitResult)``,
  and ``pending`` counts what has not;
- a fit's result does not depend on where it ran: equal to fitting the same task in this process;
- ``close`` may be called twice, and the executor works as a context manager;
- ``describe`` names it.
"""

from __future__ import annotations

import pytest

from fireform.ablation import Executor
from fireform.ablation.tasks import FitSettings, SubsetTask, run_task
from fireform.fitting import FitResult, Objective
from fireform.forms import Form
from fireform.testing.worlds import tiny_drivers

__all__ = ["ExecutorContract", "contract_tasks"]

_TERMS = (("rh_limiter",), ("temperature_ignition",), ("rh_limiter", "temperature_ignition"))


def contract_tasks(drivers) -> list[SubsetTask]:
    """Three small, deterministic subset fits on ``drivers``."""
    settings = FitSettings(trials=6, sampler="random", seed=3, patience=None)
    return [SubsetTask(key="+".join(t), form_json=Form.from_mechanisms(list(t)).to_json(), warm=(),
                       objective=Objective(), settings=settings, data_key=drivers.fingerprint())
            for t in _TERMS]


class ExecutorContract:
    """The contract suite; see the module docstring."""

    def make_executor(self) -> Executor:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    @classmethod
    def drivers(cls):
        return tiny_drivers(years=(2001, 2003))

    def _run_all(self, exe: Executor, drivers) -> dict[str, FitResult]:
        tasks = contract_tasks(drivers)
        exe.bind(drivers, drivers.fingerprint())
        for t in tasks:
            exe.submit(t)
        assert exe.pending == len(tasks)
        out: dict[str, FitResult] = {}
        while exe.pending:
            key, res = exe.next_done()
            assert key not in out, f"{key} came back twice"
            out[key] = res
        return out

    def test_every_task_comes_back_once_with_its_fit(self, drivers):
        with self.make_executor() as exe:
            out = self._run_all(exe, drivers)
        assert set(out) == {t.key for t in contract_tasks(drivers)}
        assert all(isinstance(r, FitResult) and r.n_trials == 6 for r in out.values())

    def test_results_do_not_depend_on_where_a_fit_ran(self, drivers):
        with self.make_executor() as exe:
            out = self._run_all(exe, drivers)
        for t in contract_tasks(drivers):
            here = run_task(t, drivers)
            assert out[t.key].params == here.params and out[t.key].value == here.value

    def test_close_twice_and_describe(self, drivers):
        exe = self.make_executor()
        assert exe.name in exe.describe()
        exe.close()
        exe.close()
