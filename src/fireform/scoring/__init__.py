"""ILAMB-conformant burned-area scoring (``fireform.scoring``).

Entry points: ``Benchmark.prepare`` / ``Benchmark.from_drivers`` -> ``bench.score(pred)``
(fast path: every component, every region, one call) -> ``Scores`` (``vector``, ``overall``,
``to_frame``); ``bench.card(pred, model=, period=)`` -> tidy ``ScoreCard``; ``bench.residuals``.
Formulas: ``components.py`` (the readable reference path) and ``overall.py`` (conventions).
Full notes, including every difference found against ILAMB 2.7.3 and ilamb3 2026.4.20:
``docs/scoring.md``.
"""

from fireform.scoring.card import ScoreCard
from fireform.scoring.components import COMPONENTS, ILAMB3_COMPONENTS, NATIVE_COMPONENTS
from fireform.scoring.files import REGRID_METHODS, score_files
from fireform.scoring.overall import CONVENTIONS, overall
from fireform.scoring.prepared import Benchmark, Scores
from fireform.scoring.residuals import Residuals, residuals
from fireform.scoring.score import score

__all__ = [
    "Benchmark", "Scores", "ScoreCard", "score", "score_files", "REGRID_METHODS", "Residuals", "residuals", "overall",
    "CONVENTIONS", "COMPONENTS", "NATIVE_COMPONENTS", "ILAMB3_COMPONENTS",
]
