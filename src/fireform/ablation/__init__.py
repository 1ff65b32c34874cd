"""Shapley ablation over a form's mechanisms: which terms carry the fitted skill
(``shapley``), and the form without those that do not (``prune``)."""

from fireform.ablation.exact import interaction_indices, shapley_values
from fireform.ablation.executors import DaskExecutor, Executor, LocalExecutor, SerialExecutor, make_executor
from fireform.ablation.plots import write_plots
from fireform.ablation.prune import PruneResult, prune
from fireform.ablation.sampled import Estimate, MemoGame, estimate
from fireform.ablation.shapley import MAX_EXACT, ShapleyResult, shapley

__all__ = [
    "shapley", "ShapleyResult", "write_plots", "MAX_EXACT", "prune", "PruneResult",
    "shapley_values", "interaction_indices", "estimate", "Estimate", "MemoGame",
    "Executor", "SerialExecutor", "LocalExecutor", "DaskExecutor", "make_executor",
]
