"""Samplers and search spaces: Optuna's own, configured from the form's parameter records.

- ``tpe``    :class:`optuna.samplers.TPESampler` with ``multivariate=True`` (the joint Parzen
             estimator; Watanabe 2023, arXiv:2304.11127), ``n_startup_trials=10``; with several
             trials in flight ``constant_liar=True`` (pending trials count as bad) keeps
             concurrent suggestions apart. The published fireform experience used 500-2500 trials.
- ``cmaes``  :class:`optuna.samplers.CmaEsSampler` (needs the ``cmaes`` package); a warm start
             becomes its ``x0``.
- ``random`` :class:`optuna.samplers.RandomSampler`: the control every other sampler must beat.
- ``tpe+cmaes`` multivariate TPE for the first ``tpe_fraction`` (0.4) of the trial budget, then
             a local CMA-ES phase for the rest of the *same* budget:
             :class:`optuna.samplers.CmaEsSampler` started at the best point so far (``x0``) with
             ``sigma0`` (0.05) in Optuna's normalised space (log-transformed where the parameter
             is log, then mapped to [0, 1]), restarted from the best point (population doubled)
             when the best value has not improved for ``restart_patience`` trials (default 4
             generations of the current population; the doubling stops at 8x).
             ``tpe_fraction=0`` gives CMA-ES from the box centre (or the best warm-start
             point) with restarts.
- ``lsq+cmaes`` (the default where jax and cmaes are installed) bounded Gauss-Newton
             (``scipy.optimize.least_squares``, trust-region reflective) multi-start on a smooth
             least-squares surrogate of the ILAMB 2.x objective with a JAX Jacobian
             (:mod:`fireform.fitting.surrogate`, :mod:`fireform.fitting.gradient`): warm points
             first, then a Latin hypercube, until 2 starts agree on the best value (at most 8);
             each end point is an exact-objective trial; then a small-step local CMA-ES
             (``sigma0`` 0.02, restarts with a doubled population) polishes on the exact
             objective for the rest of the budget. Options: ``starts``, ``agree``,
             ``lsq_evals``, ``max_cells``, ``spatial_weight``, ``count_surrogate`` and the
             local phase's ``sigma0``, ``restart_patience``, ``popsize``.

Measured (benchmarks/bench_fit.py; docs/fitting.md has the tables): on noise-free known-truth
targets (1 degree, 2001-2012) ``lsq+cmaes`` reaches 0.99 of the truth's objective in ~50-70
evaluations (surrogate residuals and Jacobians counted) where TPE stops at 0.83 after 1000; on
the noisy 3 degree demo world its 5 seeds agree to < 1e-5 (CMA-ES at equal evaluations: 0.04).

Which to use (measured, 2 shared cores; the full table is in benchmarks/bench_fit.py's output
and the fitting notes). On the 3 degree demo twin (9-parameter truth form, true parameters score
0.938), 4 seeds: ``tpe`` 400 trials 0.790-0.900 (range 0.110); ``tpe+cmaes`` 400 trials
0.828-0.899 (range 0.071); ``cmaes`` 400 trials 0.879-0.909 (0.030); ``cmaes`` 1200-1500 trials
0.935-0.938 (range 0.003, seeds 0-2) at 12-18 s per fit. A TPE phase lands CMA-ES in worse basins
than CMA-ES's own broad start (sigma0 = 1/6 of the box at the centre). ``fit``'s default was
``tpe`` (the published setting, 500-2500 trials) until ``lsq+cmaes`` measured better (above).
The search space is one :class:`optuna.distributions.FloatDistribution` per form parameter,
``[lo, hi]`` with ``log`` from the mechanism's :class:`~fireform.mechanisms._base.Param`.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from fireform.exceptions import FitError, UnknownNameError

if TYPE_CHECKING:
    from fireform.forms import Form

__all__ = ["CachedTPESampler", "SAMPLERS", "DEFAULT_SAMPLER", "SUBSET_SAMPLER", "HYBRID_DEFAULTS",
           "LSQ_HYBRID_DEFAULTS", "hybrid_options", "local_cmaes", "SamplerSpec", "make_sampler",
           "search_space", "cmaes_available", "cma_popsize"]

SAMPLERS: tuple[str, ...] = ("tpe", "cmaes", "random", "tpe+cmaes", "lsq+cmaes")


def _default_sampler() -> str:
    # lsq+cmaes needs jax (its surrogate) and cmaes (its local phase); without them: TPE
    ok = all(importlib.util.find_spec(m) is not None for m in ("jax", "cmaes"))
    return "lsq+cmaes" if ok else "tpe"


DEFAULT_SAMPLER = _default_sampler()  # fit's and the loop's default (measurements: module docstring)
# the Shapley subset fits' default (and the loop's shapley.sampler): local CMA-ES from the
# subsets' optima (docs/ablation.md). Measured at 1 degree, 16 years (docs/fitting.md, "Shapley
# subset fits"): an exact evaluation costs ~20 ms, a local refit ~70 of them; lsq+cmaes pays a
# 1.7 s surrogate compile per coalition and 0.1-0.3 s per Jacobian (11-17 parameters), so even
# one compiled surrogate shared by every coalition would cost more than the whole local refit
SUBSET_SAMPLER = "tpe+cmaes"



def cma_popsize(n_params: int) -> int:
    """CMA-ES's default population for ``n_params`` dimensions: 4 + floor(3 ln n) (Hansen 2016,
    arXiv:1604.00772), the one Optuna's CmaEsSampler uses."""
    return 4 + int(math.floor(3 * math.log(max(int(n_params), 1))))


# options of the hybrid that are not TPE options (defaults documented in the module docstring)
HYBRID_DEFAULTS: dict[str, object] = {"tpe_fraction": 0.4, "sigma0": 0.05, "restart_patience": None,
                                      "popsize": None}
# the local phase of ``lsq+cmaes`` polishes a least-squares optimum: no TPE part, a smaller step
LSQ_HYBRID_DEFAULTS: dict[str, object] = {**HYBRID_DEFAULTS, "tpe_fraction": 0.0, "sigma0": 0.02}


def cmaes_available() -> bool:
    return importlib.util.find_spec("cmaes") is not None


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler by name, seed and options (everything that changes which points it proposes)."""

    name: str = DEFAULT_SAMPLER
    seed: int = 0
    options: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.name not in SAMPLERS:
            raise UnknownNameError(f"unknown sampler {self.name!r}; valid: {', '.join(SAMPLERS)}")
        opts = self.options.items() if isinstance(self.options, Mapping) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in opts)))

    def key(self) -> dict:
        return {"name": self.name, "seed": int(self.seed), "options": [list(o) for o in self.options]}


class CachedTPESampler(optuna.samplers.TPESampler):
    """``TPESampler`` with its history-to-arrays conversion cached per finished trial.

    At every ask TPE converts every past trial's parameters to its internal representation in a
    Python loop (``_get_internal_repr``: trials x parameters calls), about a third of its time at
    500 trials. Finished trials never change, so their rows are cached; running trials (the
    constant liar's) are converted afresh. The arrays, and so every proposal, are identical to
    ``TPESampler``'s (tests/fitting/test_samplers.py). Falls back to the parent if a future Optuna
    renames the hook.
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._rows: dict[tuple, tuple[float, ...] | None] = {}

    def _get_internal_repr(self, trials, search_space, study):
        names = tuple(search_space)
        dists = tuple(search_space.values())
        rows = []
        for t in trials:
            key = (t._trial_id, names)
            row = self._rows.get(key, 0)
            if row == 0:
                params = self._get_params(t, study)
                row = (tuple(d.to_internal_repr(params[n]) for n, d in zip(names, dists))
                       if search_space.keys() <= params.keys() else None)
                if t.state.is_finished():
                    self._rows[key] = row
            if row is not None:
                rows.append(row)
        arr = np.array(rows, dtype=float).reshape(len(rows), len(names))
        return {n: np.ascontiguousarray(arr[:, j]) for j, n in enumerate(names)}


_TPE = (CachedTPESampler if hasattr(optuna.samplers.TPESampler, "_get_internal_repr")
        and hasattr(optuna.samplers.TPESampler, "_get_params") else optuna.samplers.TPESampler)


def search_space(form: Form) -> dict[str, optuna.distributions.BaseDistribution]:
    """One FloatDistribution per parameter, in the form's layout order."""
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for p in form.params:
        if p.log and p.lo <= 0:
            raise FitError(f"parameter {p.name!r}: log scale needs lo > 0, got lo={p.lo}")
        out[p.name] = optuna.distributions.FloatDistribution(float(p.lo), float(p.hi), log=bool(p.log))
    return out


def make_sampler(
    spec: SamplerSpec,
    *,
    in_flight: int = 1,
    x0: Mapping[str, float] | None = None,
) -> optuna.samplers.BaseSampler:
    """A fresh Optuna sampler for ``spec``; ``in_flight`` > 1 turns on TPE's constant liar."""
    opts = dict(spec.options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if spec.name == "lsq+cmaes":  # enqueued least-squares points; fit() switches to local_cmaes
            return optuna.samplers.RandomSampler(seed=spec.seed)
        if spec.name == "tpe+cmaes":  # its first phase; fit() switches to local_cmaes later
            opts = {k: v for k, v in opts.items() if k not in HYBRID_DEFAULTS}
            return make_sampler(SamplerSpec("tpe", spec.seed, tuple(opts.items())), in_flight=in_flight)
        if spec.name == "tpe":
            kw: dict[str, Any] = {"multivariate": True, "n_startup_trials": 10, "constant_liar": in_flight > 1}
            kw.update(opts)
            cls = optuna.samplers.TPESampler if kw.pop("plain", False) else _TPE
            return cls(seed=spec.seed, **kw)
        if spec.name == "cmaes":
            if not cmaes_available():
                raise FitError(
                    "sampler 'cmaes' needs the 'cmaes' package (pip install cmaes), which is not "
                    "installed; use sampler='tpe' or 'random'"
                )
            kw = dict(opts)
            if x0 is not None and "x0" not in kw:
                kw["x0"] = dict(x0)
            kw.setdefault("warn_independent_sampling", False)
            # x0/sigma0 are deprecated in Optuna 4.9 (removal planned for 6.0) but still honoured
            warnings.simplefilter("ignore", FutureWarning)
            return optuna.samplers.CmaEsSampler(seed=spec.seed, **kw)
        return optuna.samplers.RandomSampler(seed=spec.seed, **opts)


def hybrid_options(spec: SamplerSpec) -> dict:
    """The ``tpe+cmaes`` phase settings of ``spec`` (its options over :data:`HYBRID_DEFAULTS`)."""
    out: dict[str, Any] = dict(LSQ_HYBRID_DEFAULTS if spec.name == "lsq+cmaes" else HYBRID_DEFAULTS)
    out.update({k: v for k, v in spec.options if k in HYBRID_DEFAULTS})
    f = float(out["tpe_fraction"])
    if not 0.0 <= f <= 1.0:
        raise FitError(f"sampler option tpe_fraction must be in [0, 1], got {f}")
    if float(out["sigma0"]) <= 0:
        raise FitError(f"sampler option sigma0 must be > 0, got {out['sigma0']}")
    return out


def local_cmaes(*, seed: int, x0: Mapping[str, float] | None, sigma0: float, popsize: int | None,
                tag: str) -> optuna.samplers.CmaEsSampler:
    """A CMA-ES sampler started at ``x0`` with step ``sigma0`` in Optuna's normalised space.

    ``tag`` becomes the prefix of the trial attributes its state is stored under, so a restart
    (a new sampler with another tag) starts afresh instead of restoring its predecessor's state.
    """
    if not cmaes_available():
        raise FitError("sampler 'tpe+cmaes' needs the 'cmaes' package (pip install cmaes) for its "
                       "local phase; use sampler='tpe' or install cmaes")
    with warnings.catch_warnings():
        # x0/sigma0 are deprecated in Optuna 4.9 (removal planned for 6.0) but still honoured.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        s = optuna.samplers.CmaEsSampler(x0=None if x0 is None else dict(x0), sigma0=float(sigma0), seed=int(seed),
                                         popsize=popsize, n_startup_trials=0,
                                         warn_independent_sampling=False)
    s._attr_prefix = f"ff{tag}:"  # Optuna keys its stored state by this prefix
    return s
