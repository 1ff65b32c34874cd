"""Sampled Shapley values (and pairwise interactions) with confidence intervals, via shapiq.

For more players than exact enumeration allows, the estimators of shapiq (Muschalik et al.
2024, NeurIPS D&B, "shapiq: Shapley interactions for machine learning"):

- ``permutation``: permutation sampling (Castro et al. 2009), :class:`shapiq.PermutationSamplingSV`;
- ``kernelshap``: KernelSHAP (Lundberg & Lee 2017), :class:`shapiq.KernelSHAP`;
- ``svarm``: stratified SVARM (Kolpaczki et al. 2024, AAAI), :class:`shapiq.SVARM`;

and for the pairwise Shapley interaction index (SII) the matching order-2 estimators
(:class:`~shapiq.PermutationSamplingSII`, :class:`~shapiq.KernelSHAPIQ`, :class:`~shapiq.SVARMIQ`).

Confidence intervals: the estimator is run ``replicates`` times with independent seeds
(``seed, seed+1, ...``), each with ``budget`` coalition evaluations; the estimate is the mean of
the replicates and the interval is mean +- t_{R-1, (1+level)/2} sd / sqrt(R) (a t interval over
independent replicates, valid whatever the estimator's own sampling distribution, by the CLT on
R i.i.d. estimates). The game is memoised, so a coalition drawn by two replicates costs one fit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import t

__all__ = ["METHODS", "Estimate", "estimate", "MemoGame"]

METHODS: tuple[str, ...] = ("permutation", "kernelshap", "svarm")


def _classes(method: str):
    # shapiq imports torch-free but heavy numerics: only for sampled Shapley values
    import shapiq

    sv = {"permutation": shapiq.PermutationSamplingSV, "kernelshap": shapiq.KernelSHAP,
          "svarm": shapiq.SVARM}
    sii = {"permutation": shapiq.PermutationSamplingSII, "kernelshap": shapiq.KernelSHAPIQ,
           "svarm": shapiq.SVARMIQ}
    if method not in sv:
        raise ValueError(f"unknown sampled Shapley method {method!r}; valid: {', '.join(METHODS)}")
    return sv[method], sii[method]


class MemoGame:
    """A shapiq game (bool coalition matrix -> values) over a batch function on bitmasks.

    ``evaluate(masks) -> values`` is called only with masks not seen before (one call per shapiq
    batch, so the caller can fit the whole batch in parallel); ``column`` picks one value per
    mask from what ``evaluate`` stored (a float or an array)."""

    def __init__(self, n: int, evaluate: Callable[[list[int]], Mapping[int, float | np.ndarray]],
                 column=None) -> None:
        self.n = n
        self._eval = evaluate
        self.memo: dict[int, float | np.ndarray] = {}
        self.column = column

    def masks(self, coalitions) -> list[int]:
        c = np.atleast_2d(np.asarray(coalitions, dtype=bool))
        w = 1 << np.arange(self.n, dtype=np.int64)
        return [int(x) for x in (c.astype(np.int64) * w).sum(axis=1)]

    def value(self, mask: int) -> float:
        v = self.memo[mask]
        return float(v if self.column is None else np.asarray(v)[self.column])

    def __call__(self, coalitions) -> np.ndarray:
        ms = self.masks(coalitions)
        new = sorted({m for m in ms if m not in self.memo})
        if new:
            self.memo.update(self._eval(new))
        return np.array([self.value(m) for m in ms], dtype=np.float64)


@dataclass(frozen=True)
class Estimate:
    """Replicate mean and t interval of the Shapley values (n,) and interactions (n, n)."""

    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    se: np.ndarray
    interactions: np.ndarray
    inter_lo: np.ndarray
    inter_hi: np.ndarray
    method: str
    budget: int
    replicates: int
    level: float
    n_coalitions: int  # distinct coalitions evaluated (fits)


def _t(level: float, dof: int) -> float:
    return float(t.ppf(0.5 + level / 2.0, dof))


def _sv(iv, n: int) -> np.ndarray:
    return np.array([float(iv[(i,)]) for i in range(n)])


def _sii(iv, n: int) -> np.ndarray:
    m = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            m[i, j] = m[j, i] = float(iv[(i, j)])
    return m


def estimate(game: MemoGame, *, method: str = "permutation", budget: int = 200,
             replicates: int = 8, level: float = 0.95, seed: int = 0,
             interactions: bool = True) -> Estimate:
    """Sampled SV (and SII) of ``game`` with a replicate t interval (see the module docstring)."""
    if replicates < 2:
        raise ValueError(f"replicates must be >= 2 for an interval, got {replicates}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    sv_cls, sii_cls = _classes(method)
    n = game.n
    svs, siis = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shapiq warns about budgets near 2^n; not an error here
        for r in range(replicates):
            iv = sv_cls(n=n, random_state=seed + r).approximate(int(budget), game)
            svs.append(_sv(iv, n))
            if interactions and n >= 2:
                ivi = sii_cls(n=n, max_order=2, index="SII", random_state=seed + r).approximate(int(budget), game)
                siis.append(_sii(ivi, n))
    sv = np.array(svs)
    q = _t(level, replicates - 1)
    mean, se = sv.mean(axis=0), sv.std(axis=0, ddof=1) / np.sqrt(replicates)
    if siis:
        si = np.array(siis)
        imean, ise = si.mean(axis=0), si.std(axis=0, ddof=1) / np.sqrt(replicates)
    else:
        imean = ise = np.zeros((n, n))
    return Estimate(values=mean, lo=mean - q * se, hi=mean + q * se, se=se, interactions=imean,
                    inter_lo=imean - q * ise, inter_hi=imean + q * ise, method=method,
                    budget=int(budget), replicates=int(replicates), level=float(level),
                    n_coalitions=len(game.memo))
