"""Overall-score conventions: the same component vector, several headlines, always side by side.

- ``ilamb2``      (B + 2R + S + D) / 5 — ILAMB 2.x ``Confrontation.computeOverallScore`` with its
                  weights (Bias 1, RMSE 2, Seasonal 1, Spatial 1; IAV skipped for burned area).
                  R is the RMSE score on the benchmark's basis (2.x default: annual cycle), D the
                  2.x spatial score (its correlation quirk) — what the published tables use.
- ``ilamb2_iav``  (B + 2R + S + I + D) / 6 — 2.x's weights with the IAV score switched on.
- ``ilamb3``      mean of ilamb3's own components (``add_overall_score``): bias_ilamb3,
                  rmse_ilamb3 (full series), seasonal_ilamb3 (1 - |shift months|/6), spatial_ilamb3
                  (plain correlation); equal weights over the scores present.
- ``worst``       min(B, R, S, D) of the 2.x components: no component can hide behind another.
- ``geometric``   (B * R^2 * S * D)^(1/5): the 2.x weights in a geometric mean, so one collapsing
                  component drags the headline down multiplicatively.

A NaN component makes every convention that uses it NaN (except ``ilamb3``, which, as ilamb3
does, averages the scores present; a region ilamb3 skips simply has no row there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fireform.exceptions import UnknownNameError

__all__ = ["CONVENTIONS", "overall", "DESCRIPTIONS", "USES", "undefined_components"]

CONVENTIONS: tuple[str, ...] = ("ilamb2", "ilamb2_iav", "ilamb3", "worst", "geometric")

DESCRIPTIONS = {
    "ilamb2": "(B + 2R + S + D)/5, ILAMB 2.x native",
    "ilamb2_iav": "(B + 2R + S + I + D)/6, ILAMB 2.x weights with IAV",
    "ilamb3": "mean of ilamb3's bias, rmse (series), seasonal (linear), spatial (plain)",
    "worst": "min(B, R, S, D)",
    "geometric": "(B R^2 S D)^(1/5)",
}

_W2 = {"bias": 1.0, "rmse": 2.0, "seasonal": 1.0, "spatial": 1.0}

# The components each convention reads (``ilamb3`` is NaN only when all four are).
USES: dict[str, tuple[str, ...]] = {
    "ilamb2": tuple(_W2),
    "ilamb2_iav": (*_W2, "iav"),
    "ilamb3": ("bias_ilamb3", "rmse_ilamb3", "seasonal_ilamb3", "spatial_ilamb3"),
    "worst": tuple(_W2),
    "geometric": tuple(_W2),
}


def undefined_components(vector: Mapping[str, float], convention: str) -> list[str]:
    """The components that make ``overall(vector, convention)`` NaN (empty when it is defined)."""
    if convention not in USES:
        raise UnknownNameError(f"unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    nan = [k for k in USES[convention] if math.isnan(float(vector.get(k, math.nan)))]
    if convention == "ilamb3":
        return nan if len(nan) == len(USES["ilamb3"]) else []
    return nan


def _weighted(v: Mapping[str, float], weights: Mapping[str, float]) -> float:
    vals = [(v[k], w) for k, w in weights.items()]
    if any(math.isnan(x) for x, _ in vals):
        return math.nan
    return sum(x * w for x, w in vals) / sum(w for _, w in vals)


def overall(vector: Mapping[str, float], convention: str = "ilamb2") -> float:
    """The Overall score of a component vector (``Scores.vector``) under a named convention."""
    v = {k: float(x) for k, x in vector.items()}
    if convention == "ilamb2":
        return _weighted(v, _W2)
    if convention == "ilamb2_iav":
        return _weighted(v, {**_W2, "iav": 1.0})
    if convention == "ilamb3":
        xs = [v[k] for k in ("bias_ilamb3", "rmse_ilamb3", "seasonal_ilamb3", "spatial_ilamb3")
              if k in v and not math.isnan(v[k])]
        return sum(xs) / len(xs) if xs else math.nan
    if convention == "worst":
        xs = [v[k] for k in _W2]
        return math.nan if any(math.isnan(x) for x in xs) else min(xs)
    if convention == "geometric":
        xws = [(v[k], w) for k, w in _W2.items()]
        if any(math.isnan(x) for x, _ in xws):
            return math.nan
        if any(x <= 0 for x, _ in xws):
            return 0.0
        return math.exp(sum(w * math.log(x) for x, w in xws) / sum(w for _, w in xws))
    raise UnknownNameError(
        f"unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}"
    )
