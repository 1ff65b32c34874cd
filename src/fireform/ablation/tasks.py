"""One subset fit as a picklable task, and what a worker process keeps between tasks.

A :class:`SubsetTask` names everything a fit needs except the training drivers, which travel
once per worker (a file the local pool's initializer loads, or a Dask ``scatter``): the form
JSON, the warm-start points, the objective and the fit settings, the data key (training
fingerprint) and the cache folder. :func:`run_task` runs it with :func:`fireform.fitting.fit` on
a :class:`~fireform.fitting.FitContext` built once per (data, objective) in the worker process,
so a worker's set-up is paid once, not per subset. With a cache folder the result lands on disk
the moment the fit ends (``FitCache.put`` writes atomically), so a killed worker loses at most
the fit it was running, and a re-run task finds a finished fit in the cache.
"""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import optuna

from fireform.fitting import FitCache, FitContext, fit
from fireform.fitting.samplers import DEFAULT_SAMPLER, cma_popsize  # noqa: F401  (cma_popsize re-exported)
from fireform.forms import Form

if TYPE_CHECKING:
    from fireform.drivers import Drivers
    from fireform.fitting import FitResult, Objective

__all__ = ["FitSettings", "cma_popsize", "SubsetTask", "run_task", "load_worker_drivers", "worker_context"]


@dataclass(frozen=True)
class FitSettings:
    """How every subset is fitted (one setting for all subsets, so values are comparable)."""

    trials: int = 150
    sampler: str = DEFAULT_SAMPLER
    seed: int = 0
    patience: int | None = 40
    sampler_options: tuple[tuple[str, object], ...] = ()
    in_flight: int = 1
    # patience counted in CMA-ES generations (default population 4 + floor(3 ln n) for n
    # parameters): resolved per sub-form into ``patience`` by ``resolved`` before fitting
    patience_generations: int | None = None
    # stop once the last ``converge_generations`` CMA-ES generations all scored within
    # ``converge_tol`` of the best (``fit(converge=...)``): resolved per sub-form into ``converge``
    converge_generations: int | None = None
    converge_tol: float = 1e-4
    converge: tuple[int, float] | None = None

    def resolved(self, n_params: int) -> "FitSettings":
        """These settings for a sub-form of ``n_params`` parameters: ``patience`` =
        ``patience_generations`` x the CMA-ES population, and ``converge`` = (that many trials
        for ``converge_generations``, ``converge_tol``) (each when set)."""
        out = self
        pop = cma_popsize(n_params)
        if out.patience_generations is not None:
            out = replace(out, patience=int(out.patience_generations) * pop, patience_generations=None)
        if out.converge_generations is not None:
            out = replace(out, converge=(int(out.converge_generations) * pop, float(out.converge_tol)),
                          converge_generations=None)
        return out

    def fit_kwargs(self) -> dict:
        kw = {"trials": int(self.trials), "sampler": self.sampler, "seed": int(self.seed),
              "patience": self.patience, "sampler_options": dict(self.sampler_options),
              "in_flight": int(self.in_flight)}
        if self.converge is not None:
            kw["converge"] = self.converge
        return kw


@dataclass(frozen=True)
class SubsetTask:
    key: str  # the subset's label, unique within one Shapley run
    form_json: str
    warm: tuple[dict, ...]
    objective: Objective
    settings: FitSettings
    data_key: str  # training-data fingerprint: selects the worker's FitContext
    cache_root: str | None = None
    extra: dict = field(default_factory=dict)
    warm_exact: tuple[dict, ...] = ()  # evaluated as given (``fit(warm_exact=...)``)


_LOCK = threading.Lock()
_DRIVERS: dict[str, Drivers] = {}
_CONTEXTS: dict[tuple, FitContext] = {}
_CACHES: dict[str, object] = {}


def load_worker_drivers(data_key: str, path: str) -> None:
    """Pool initializer: this worker's training drivers from the pickle the executor wrote
    (its own file, written by this process's parent: not untrusted input)."""
    with open(path, "rb") as f:
        _DRIVERS[data_key] = pickle.load(f)


def worker_context(data_key: str, objective: Objective, drivers: Drivers | None = None) -> FitContext:
    """The process's FitContext for (data, objective), built on first use."""
    k = (data_key, objective)
    with _LOCK:
        ctx = _CONTEXTS.get(k)
        if ctx is None:
            d = drivers if drivers is not None else _DRIVERS.get(data_key)
            if d is None:
                raise RuntimeError(f"worker has no drivers for data {data_key}")
            # the parent gated these drivers before sending them (ablation.shapley._context)
            ctx = FitContext(d, objective=objective).mark_checked("checked by the Shapley caller")
            _CONTEXTS[k] = ctx
        return ctx


def _cache(root: str | None):
    if root is None:
        return None
    with _LOCK:
        c = _CACHES.get(root)
        if c is None:
            c = _CACHES[root] = FitCache(root)
        return c


def run_task(task: SubsetTask, drivers: Drivers | None = None) -> FitResult:
    """Fit one subset (in whichever process runs this) and return its FitResult."""
    ctx = worker_context(task.data_key, task.objective, drivers)
    form = Form.from_json(task.form_json)
    # the study in memory even with a cache folder: a subset fit is seconds long, so resuming one
    # trial by trial is not worth a journal file, which cost 9.5 ms per trial (12.0 against 2.6
    # ms of sampler time, 250 trials of a 5-term coalition); the finished fit is cached on disk,
    # and a killed fit reruns from its seed to the same result
    return fit(form, ctx, warm_start=list(task.warm) or None, warm_exact=list(task.warm_exact) or None,
               cache=_cache(task.cache_root),
               storage=optuna.storages.InMemoryStorage(), **task.settings.fit_kwargs())
