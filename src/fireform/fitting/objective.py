"""``Objective``: the one number the optimizer maximises, named in full.

An objective says *what* is maximised (``metric``: ``"overall"`` or one score component),
*under which convention* (for ``overall``), *where* (``region``) and *when* (always the training
period: an objective has no way to name another period, and :func:`fireform.fitting.fit` only
ever hands it training data). Scores are in [0, 1] and larger is better, so the direction is
always ``maximize``.

    value = Scores.overall(convention, region)        if metric == "overall"
          = Scores.get(metric, region)                otherwise

A value that is not finite (a component undefined for this prediction) is reported as 0.0, the
worst possible score, so the sampler is steered away instead of the trial being dropped; the
trial records that it happened.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from fireform.exceptions import UnknownNameError
from fireform.scoring import COMPONENTS, CONVENTIONS

__all__ = ["Objective", "METRICS", "WORST"]

METRICS: tuple[str, ...] = ("overall", *COMPONENTS)
WORST = 0.0  # the value a non-finite score is replaced by (scores live in [0, 1])


@dataclass(frozen=True)
class Objective:
    """Training-period metric, convention and region the optimizer maximises."""

    metric: str = "overall"
    convention: str = "ilamb2"
    region: str = "global"
    period: str = "train"  # the only period an objective can name
    direction: str = "maximize"  # every fireform score is "larger is better"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise UnknownNameError(f"unknown objective metric {self.metric!r}; valid: {', '.join(METRICS)}")
        if self.convention not in CONVENTIONS:
            raise UnknownNameError(
                f"unknown convention {self.convention!r}; valid: {', '.join(CONVENTIONS)}"
            )
        if self.period != "train":
            raise UnknownNameError(
                f"an objective is evaluated on the training period only; got period={self.period!r} "
                "(holdout years are scored once, by the loop, never by a fit)"
            )
        if self.direction != "maximize":
            raise UnknownNameError(
                f"objective direction must be 'maximize' (scores: larger is better), got {self.direction!r}"
            )

    @property
    def needs_ilamb3(self) -> bool:
        """Whether the value reads an ilamb3 component (otherwise a fit scores 2.x only)."""
        return (self.metric == "overall" and self.convention == "ilamb3") or self.metric.endswith("_ilamb3")

    def raw(self, scores) -> float:
        """The metric as scored (may be NaN)."""
        if self.metric == "overall":
            return float(scores.overall(self.convention, self.region))
        return float(scores.get(self.metric, self.region))

    def value(self, scores) -> float:
        """The metric, with a non-finite value replaced by :data:`WORST`."""
        v = self.raw(scores)
        return v if math.isfinite(v) else WORST

    def key(self) -> dict:
        """What enters a fit's cache key."""
        return asdict(self)

    def describe(self) -> str:
        what = f"overall[{self.convention}]" if self.metric == "overall" else self.metric
        return f"maximize {what} on region {self.region!r}, training period"
