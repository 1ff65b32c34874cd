"""Fit noise: the same fit under several seeds, and how far apart the results land.

Later stages decide whether one form really beats another by comparing a margin with this
spread: a difference inside ``[min, max]`` of the repeats (or within a few ``std``) is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fireform.fitting.context import FitContext
from fireform.fitting.fit import FitResult, fit
from fireform.fitting.objective import Objective
from fireform.scoring import CONVENTIONS

__all__ = ["Repeats", "fit_repeats"]


@dataclass(frozen=True, eq=False)
class Repeats:
    """Per-seed fits: ``frame`` (one row per seed) and the spread of every score column."""

    frame: pd.DataFrame  # seed, value, overall_<convention>..., n_trials, wall_seconds, params
    fits: tuple[FitResult, ...]
    score_columns: tuple[str, ...]

    @property
    def spread(self) -> pd.DataFrame:
        """Tidy: score, mean, std (ddof 1), min, max, range — one row per score column."""
        rows = []
        for c in self.score_columns:
            x = self.frame[c].to_numpy(dtype=float)
            rows.append({
                "score": c, "mean": float(np.mean(x)),
                "std": float(np.std(x, ddof=1)) if x.size > 1 else 0.0,
                "min": float(np.min(x)), "max": float(np.max(x)),
                "range": float(np.max(x) - np.min(x)),
            })
        return pd.DataFrame(rows)

    def _stat(self, col: str = "value") -> pd.Series:
        return self.spread.set_index("score").loc[col]

    @property
    def value_mean(self) -> float:
        return float(self._stat()["mean"])

    @property
    def value_std(self) -> float:
        return float(self._stat()["std"])

    @property
    def value_min(self) -> float:
        return float(self._stat()["min"])

    @property
    def value_max(self) -> float:
        return float(self._stat()["max"])

    @property
    def best(self) -> FitResult:
        return max(self.fits, key=lambda f: f.value)

    def band(self, k: float = 2.0, column: str = "value") -> tuple[float, float]:
        """The fit-noise band: [min(min, mean - k std), max(max, mean + k std)]."""
        s = self._stat(column)
        return (min(s["min"], s["mean"] - k * s["std"]), max(s["max"], s["mean"] + k * s["std"]))


def fit_repeats(
    form,
    data,
    *,
    seeds=(0, 1, 2, 3, 4),
    objective: Objective | None = None,
    **fit_kwargs,
) -> Repeats:
    """``fit`` once per seed on one shared context; ``fit_kwargs`` go to :func:`fit`."""
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds) or not seeds:
        raise ValueError(f"seeds must be distinct and non-empty, got {seeds}")
    ctx = FitContext.of(data, objective=objective)
    fits = tuple(fit(form, ctx, seed=s, **fit_kwargs) for s in seeds)
    rows = []
    for s, f in zip(seeds, fits):
        row = {"seed": s, "value": f.value}
        row.update({f"overall_{c}": f.overall(c) for c in CONVENTIONS})
        row.update({"n_trials": f.n_trials, "wall_seconds": f.wall_seconds})
        row.update(f.params)
        rows.append(row)
    cols = ("value", *(f"overall_{c}" for c in CONVENTIONS))
    return Repeats(pd.DataFrame(rows), fits, cols)
