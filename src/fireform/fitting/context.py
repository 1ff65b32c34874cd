"""``FitContext``: everything a fit needs that does not depend on the form, built once.

Built per (training drivers, objective): the prepared :class:`~fireform.scoring.Benchmark` of the
training period (reference statistics, region weights), the drivers' content fingerprint (for
cache keys) and, per form, the compiled kernel. Many fits of many forms on the same data (the
Shapley ablation: 2^N subsets) share one context, so a fit's own set-up is one kernel lookup.

``evaluate(form, theta)`` is the objective: kernel(theta) -> Benchmark.score -> Objective.value.
It is thread-safe (the C kernel and the numba scorer release the GIL), which the pipelined fit
loop relies on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from fireform.drivers import add_derived
from fireform.exceptions import FitError, MissingVariableError
from fireform.fitting.objective import Objective
from fireform.fitting.split import training_drivers, years_of
from fireform.forms.kernel import compile_kernel
from fireform.scoring import Benchmark

__all__ = ["FitContext", "Evaluation"]


@dataclass(frozen=True)
class Evaluation:
    """One objective evaluation."""

    value: float  # objective value (non-finite replaced by the worst score)
    raw: float  # the metric as scored (may be NaN)
    seconds: float
    # the full score vector the value was read from (a fit keeps its best trial's, so its
    # FitResult.scores need no second evaluation); None where only 2.x was scored
    scores: object = field(default=None, repr=False, compare=False)


class FitContext:
    """Prepared training data + objective, shared by every fit on them."""

    def __init__(
        self,
        data,
        *,
        objective: Objective | None = None,
        mass_weighting: bool = True,
        backend: str = "auto",
    ) -> None:
        if isinstance(data, FitContext):
            raise TypeError("data is already a FitContext")
        drivers = training_drivers(data)  # a Split gives its training drivers, nothing else
        if drivers.target is None or drivers.target not in drivers:
            raise MissingVariableError(
                f"fitting needs a target variable; these drivers have target={drivers.target!r} "
                f"and hold {', '.join(drivers.variables)}"
            )
        self.objective = objective or Objective()
        self.backend = backend
        self.mass_weighting = bool(mass_weighting)
        self._drivers = drivers
        self._lock = threading.Lock()
        self._kernels: dict[str, object] = {}
        self._level: tuple[np.ndarray, float] | None = None
        self.n_evaluations = 0
        self.benchmark = Benchmark.from_drivers(drivers, mass_weighting=self.mass_weighting)
        if self.objective.region not in self.benchmark.region_labels:
            raise FitError(
                f"objective region {self.objective.region!r} is not among the drivers' regions: "
                f"{', '.join(self.benchmark.region_labels)}"
            )
        self.fingerprint = drivers.fingerprint()
        self.years = years_of(drivers)
        # the input gate's outcome (fitting.inputs): None until the first fit gates these drivers
        self.input_check: dict | None = None

    def mark_checked(self, note: dict | str) -> "FitContext":
        """Record that these training drivers passed the input gate (``note``: its outcome, or
        who gated them) so fits on this context do not check them again."""
        self.input_check = dict(note) if isinstance(note, dict) else {"input_check": str(note)}
        return self

    @classmethod
    def of(cls, data, *, objective: Objective | None = None) -> "FitContext":
        """``data`` itself when it is a context (its objective must match), else a new one."""
        if isinstance(data, FitContext):
            if objective is not None and objective != data.objective:
                raise FitError(
                    f"the FitContext was built for {data.objective}, not {objective}; "
                    "build a context per objective"
                )
            return data
        return cls(data, objective=objective)

    @property
    def drivers(self):
        return self._drivers

    def key(self) -> dict:
        """The data-and-objective part of a fit's cache key."""
        return {
            "fingerprint": self.fingerprint,
            "years": list(self.years),
            "objective": self.objective.key(),
            "mass_weighting": self.mass_weighting,
            "regions": list(self.benchmark.region_labels),
        }

    # -- per form ------------------------------------------------------------------------
    def kernel(self, form):
        """The compiled evaluator of ``form`` on the training drivers (derived inputs added)."""
        k = self._kernels.get(form.hash)
        if k is None:
            with self._lock:
                k = self._kernels.get(form.hash)
                if k is None:
                    k = compile_kernel(form, self._with_inputs(form), backend=self.backend)
                    self._kernels[form.hash] = k
        return k

    def _with_inputs(self, form):
        missing = [n for n in form.inputs if n not in self._drivers]
        if not missing:
            return self._drivers
        # Derived drivers are computed on the training months only (nothing else is here).
        self._drivers = add_derived(self._drivers, missing)
        return self._drivers

    def predict(self, form, theta) -> np.ndarray:
        return self.kernel(form)(form.theta_vector(theta))

    def level_weights(self) -> tuple[np.ndarray, float]:
        """(w, total) for re-levelling a prediction to the reference (``fitting.study.rescaled``):
        w = A_i where the reference is finite, else 0 (cells x months, float64), and total =
        sum_i A_i sum_t obs_it over those months. Built once: a warm start is re-levelled in
        every warm-started fit (256 of them in an 8-term Shapley game), and this half of the
        work does not depend on the form."""
        if self._level is None:
            obs = np.asarray(self.benchmark.obs, dtype=np.float64)
            ok = np.isfinite(obs)
            a = np.asarray(self.benchmark.area, dtype=np.float64)[:, None]
            total = float((a * np.where(ok, obs, 0.0)).sum())
            self._level = (np.where(ok, a, 0.0), total)
        return self._level

    def scores(self, form, theta):
        """The full score vector (every component, every region) of theta on the training data."""
        return self.benchmark.score(self.predict(form, theta))

    def evaluate(self, form, theta) -> Evaluation:
        """The objective at ``theta``. Only the components it reads are scored (2.x alone unless
        it reads an ilamb3 one: the same value, ~1/6 less scoring time); ``scores`` is then None,
        and a fit scores its best trial in full once (``build_result``)."""
        t = time.perf_counter()
        full = self.objective.needs_ilamb3
        s = self.benchmark.score(self.predict(form, theta), ilamb3=full)
        raw = self.objective.raw(s)
        with self._lock:
            self.n_evaluations += 1
        return Evaluation(self.objective.value(s), raw, time.perf_counter() - t, s if full else None)

    def __repr__(self) -> str:
        d = self._drivers
        return (
            f"FitContext({d.n_cells} cells x {d.n_months} months {self.years[0]}..{self.years[-1]}, "
            f"{self.objective.describe()}, fingerprint={self.fingerprint})"
        )
