"""The parameter layer: Optuna fits that are fast, cached, warm-started, noise-aware and
distributable (``fit``, ``fit_repeats``, ``stability``), on the training period only (``Split``).
"""

from fireform.fitting.cache import FitCache, fit_key
from fireform.fitting.context import Evaluation, FitContext
from fireform.fitting.fit import fit
from fireform.fitting.inputs import gate_inputs
from fireform.fitting.objective import METRICS, Objective
from fireform.fitting.repeats import Repeats, fit_repeats
from fireform.fitting.result import FitResult
from fireform.fitting.samplers import DEFAULT_SAMPLER, SAMPLERS, SUBSET_SAMPLER, SamplerSpec, make_sampler, search_space
from fireform.fitting.split import HoldoutRead, Split, fitting_active
from fireform.fitting.stability import Stability, perturb, spread_table, stability
from fireform.fitting.study import warm_points

__all__ = [
    "fit", "gate_inputs", "FitResult", "FitContext", "Evaluation", "Objective", "METRICS",
    "FitCache", "fit_key", "warm_points",
    "SAMPLERS", "DEFAULT_SAMPLER", "SUBSET_SAMPLER", "SamplerSpec", "make_sampler", "search_space",
    "Split", "HoldoutRead", "fitting_active",
    "fit_repeats", "Repeats", "stability", "Stability", "perturb", "spread_table",
]
