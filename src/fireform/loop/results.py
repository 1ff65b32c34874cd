"""A run folder's results as objects: ``open_run(path) -> Run``.

Everything a reader of a run wants, without SQL or journal keys: the frozen spec, the status,
the leaderboard (one frame in the :class:`~fireform.scoring.ScoreCard` schema, training and
holdout periods), proposals, fits (as :class:`~fireform.fitting.FitResult`), Shapley tables, the
final form with its parameters and their spread (``param_spread``), the decision and its
per-convention verdict with intervals and the reasons a convention is not decidable
(``verdict``, ``intervals``), the input checks, the deployment check and the residual arrays.
The report is built from a ``Run`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.exceptions import FireformError
from fireform.fitting import FitResult
from fireform.forms import Form
from fireform.loop import identify
from fireform.loop.data import COMPARISON_FIT_ID, COMPARISON_LABEL
from fireform.loop.journal import Journal
from fireform.loop.lock import holder
from fireform.loop.results_table import results_frame
from fireform.loop.spec import Spec
from fireform.loop.uncertainty import PARAM_KEY, interval_frame
from fireform.scoring import CONVENTIONS, overall
from fireform.scoring.card import COLUMNS as CARD_COLUMNS

__all__ = ["Run", "open_run", "Residuals"]


@dataclass(frozen=True)
class Residuals:
    """One fit's residual arrays for one period (packed cells; see ``Run.grid``)."""

    cell_bias: np.ndarray
    cycle_regions: list[str]
    cycle_ref: np.ndarray | None
    cycle_model: np.ndarray | None


def open_run(path: str | Path) -> "Run":
    """The results of the run folder ``path`` (raises FireformError if it holds no journal)."""
    return Run(Path(path))


class Run:
    """A run folder's results (read from its journal; see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._j = Journal(self.path, readonly=True)
        self._row = self._j.run()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, {self.name!r}, status={self.status!r})"

    def close(self) -> None:
        self._j.close()

    # -- the run itself -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self._row["name"])

    @property
    def status(self) -> str:
        """finished | failed | stopped | running (a live writer holds the lock) | interrupted
        (the journal says running but its writer is gone: killed)."""
        s = str(self._j.run()["status"])
        if s == "running" and holder(self.path) is None:
            return "interrupted"
        return s

    @property
    def resumes(self) -> int:
        return int(self._row["resumes"] or 0)

    @property
    def spec_hash(self) -> str:
        return str(self._row["spec_hash"])

    @cached_property
    def spec(self) -> Spec:
        return self._j.frozen_spec()

    @property
    def events(self) -> list[str]:
        return list(self._j.events().line)

    @property
    def stop_reason(self) -> str:
        return str(self._j.get_state("stop_reason", ""))

    @property
    def error(self) -> str | None:
        return self._j.get_state("error")

    # -- search ---------------------------------------------------------------------------------
    @property
    def proposals(self) -> pd.DataFrame:
        return self._j.proposals()

    @property
    def fits(self) -> pd.DataFrame:
        """One row per journaled fit: id, key, role, form_hash, seed, trials, value, ..."""
        return self._j.fits()

    @property
    def results(self) -> pd.DataFrame:
        """The results table (one row per proposal), as in ``results.tsv``."""
        return results_frame(self._j)

    def fit(self, fit_id: int) -> FitResult:
        return self._j.fit_by_id(int(fit_id))

    def form(self, form_hash: str) -> Form:
        return self._j.form(form_hash)

    @property
    def noise(self) -> float:
        return float((self._j.get_state("noise") or {}).get("value", np.nan))

    # -- the forms that matter ------------------------------------------------------------------
    def _baseline_id(self) -> int | None:
        f = self.fits
        rows = f[f.role == "baseline"]
        return None if rows.empty else int(rows.iloc[0].id)

    def _final_id(self) -> int | None:
        fid = self._j.get_state("final_fit")
        return None if fid is None else int(fid)

    @property
    def baseline(self) -> FitResult | None:
        fid = self._baseline_id()
        return None if fid is None else self.fit(fid)

    @property
    def final(self) -> FitResult | None:
        fid = self._final_id()
        return None if fid is None else self.fit(fid)

    @property
    def final_form(self) -> Form | None:
        f = self.final
        return None if f is None else self.form(f.form_hash)

    @property
    def leaderboard_fits(self) -> list[FitResult]:
        ids = self._j.get_state("leaderboard_fits") or []
        if not ids and self.baseline is not None:
            return [self.baseline]
        return [self.fit(int(i)) for i in ids]

    def label(self, fit: FitResult) -> str:
        """baseline | final | baseline = final | pruned | kept (from journal ids and roles: no
        fit record is read back for it)."""
        is_base = fit.id is not None and fit.id == self._baseline_id()
        is_final = fit.id is not None and fit.id == self._final_id()
        if is_base and is_final:
            return "baseline = final"
        if is_base:
            return "baseline"
        if is_final:
            return "final"
        f = self.fits
        return "pruned" if str(f.loc[f.id == fit.id, "role"].iloc[0]) == "pruned" else "kept"

    # -- scores ---------------------------------------------------------------------------------
    def scores(self, fit: FitResult, period: str = "train") -> pd.DataFrame:
        """Tidy: region, component, value."""
        return self._j.scores(fit.id, period)[["region", "component", "value"]]

    def vector(self, fit: FitResult, period: str = "train", region: str = "global") -> dict[str, float]:
        if fit.id is None:
            raise FireformError(f"fit of [{fit.form_hash}] has no journal id: not a fit of this run")
        return self._j.vector(fit.id, period, region)

    # -- the comparison row: the model's own burned area (data.model), scored, never fitted --------
    @property
    def has_comparison(self) -> bool:
        """True when the run scored the model's own burned area (:attr:`comparison_label`)."""
        return not self._j.scores(COMPARISON_FIT_ID).empty

    @property
    def comparison_label(self) -> str:
        return COMPARISON_LABEL

    def comparison_scores(self, period: str = "train") -> pd.DataFrame:
        """Tidy (region, component, value) scores of the model's own burned area (empty when the
        model files held none)."""
        return self._j.scores(COMPARISON_FIT_ID, period)[["region", "component", "value"]]

    def comparison_vector(self, period: str = "train", region: str = "global") -> dict[str, float]:
        return self._j.vector(COMPARISON_FIT_ID, period, region)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """The leaderboard fits' scores in the ScoreCard schema (model = label: terms [hash]),
        every component and every convention, every region, training and holdout periods; the
        comparison row (model = :attr:`comparison_label`) last when the run has one."""
        rows = []
        entries: list[tuple[str, int]] = []
        for fit in self.leaderboard_fits:
            form = self.form(fit.form_hash)
            entries.append((f"{self.label(fit)}: {','.join(form.term_ids)} [{form.hash}]", int(fit.id or 0)))
        if self.has_comparison:
            entries.append((COMPARISON_LABEL, COMPARISON_FIT_ID))
        for model, fid in entries:
            for period in ("train", "holdout"):
                sc = self._j.scores(fid, period)
                for region, g in sc.groupby("region", sort=False):
                    vec = dict(zip(g.component, g.value))
                    rows += [[model, period, region, c, "component", v, "1", ""] for c, v in vec.items()]
                    rows += [[model, period, region, "overall", c, overall(vec, c), "1", ""]
                             for c in CONVENTIONS]
        return pd.DataFrame(rows, columns=CARD_COLUMNS)

    # -- ablation -------------------------------------------------------------------------------
    @property
    def shapley_form_hash(self) -> str | None:
        v = self._j.db.execute("SELECT form_hash FROM shapley WHERE kind = 'values' ORDER BY t DESC LIMIT 1").fetchone()
        return None if v is None else str(v["form_hash"])

    def shapley(self, kind: str = "values") -> pd.DataFrame | None:
        """The latest Shapley table of ``kind``: values, interactions, subsets, regions, components."""
        h = self.shapley_form_hash
        return None if h is None else self._j.shapley(h, kind)

    @property
    def prune(self) -> dict | None:
        return self._j.get_state("prune")

    @property
    def adopted(self) -> list[dict]:
        """Swaps the identification found better than the final form beyond the noise and the run
        took as its incumbent, in order (from/to form hash, fit id, value; noise; terms)."""
        return list(self._j.get_state("adopted") or [])

    # -- identification (fireform.loop.identify) -------------------------------------------------
    @property
    def classes(self) -> pd.DataFrame:
        """Tidy, one row per swap fitted: term, alternative, relation, train_objective, delta
        (swap - final), within_noise, in_class, better, regions_differing (where the swap is
        worse beyond the region's fit noise, comma-separated), fit_id. Empty when not run."""
        return identify.classes_frame(self._j.get_state("equivalence"))

    @property
    def identify_state(self) -> dict:
        """The journaled equivalence step (noise, candidates per term, stop reason) or {}."""
        return self._j.get_state("equivalence") or {}

    @property
    def shapley_robust(self) -> pd.DataFrame | None:
        """term, share, share_high, value, value_high, survives: the final form's Shapley game at
        the spec's Shapley budget and at ``identify.robust_trials_factor`` times it."""
        return identify.robust_frame(self._j.get_state("shapley_robust"))

    @property
    def truth_recovery(self) -> pd.DataFrame | None:
        """On a twin world: true_mechanism, status (in the final form | in the class of <term> |
        not recovered), final_term. None for other data or before identification."""
        return identify.truth_frame(self._j.get_state("equivalence"))

    @property
    def class_label(self) -> str | None:
        """The final form named with its equivalence classes and flags (None without a final)."""
        form = self.final_form
        return None if form is None else identify.decision_fields(self._j, form)["final_label"]

    # -- checks and decision --------------------------------------------------------------------
    @property
    def input_check(self) -> dict | None:
        return self._j.input_check()

    @property
    def unavailable_mechanisms(self) -> pd.DataFrame:
        """Library mechanisms these inputs could not feed (mechanism, missing: inputs it lacks)."""
        m = self._j.get_state("unavailable_mechanisms") or {}
        return pd.DataFrame([{"mechanism": k, "missing": ", ".join(v)} for k, v in sorted(m.items())],
                            columns=["mechanism", "missing"])

    @property
    def derived_inputs(self) -> pd.DataFrame:
        """Drivers derived from model outputs at load (variable, derived_from, formula, assumption)."""
        return pd.DataFrame(self._j.get_state("derived_from_model") or [],
                            columns=["variable", "derived_from", "formula", "assumption"])

    @property
    def deploy(self) -> dict | None:
        return self._j.get_state("deploy")

    @property
    def decision(self) -> dict | None:
        return self._j.get_state("decision")

    @property
    def verdict(self) -> pd.DataFrame:
        """The decision per convention, tidy: convention, baseline, final, difference, and the
        interval bounds of each (``*_lo``, ``*_hi``; NaN without intervals), level, decidable,
        reason (why not decidable; empty otherwise), wins (None when not decidable)."""
        cols = ["convention", "baseline", "final", "difference", "baseline_lo", "baseline_hi", "final_lo",
                "final_hi", "difference_lo", "difference_hi", "level", "decidable", "reason", "wins"]
        dec = self.decision
        rows = []
        for c, r in (dec or {}).get("conventions", {}).items():
            iv = r.get("interval") or {}
            row = {"convention": c, "baseline": r["baseline"], "final": r["final"],
                   "difference": r.get("difference", r.get("margin")), "level": r.get("level"),
                   "decidable": bool(r.get("decidable", r.get("applicable", True))),
                   "reason": r.get("reason", ""), "wins": r.get("wins")}
            for q in ("baseline", "final", "difference"):
                lo, hi = iv.get(q, [np.nan, np.nan])
                row[f"{q}_lo"], row[f"{q}_hi"] = lo, hi
            rows.append(row)
        return pd.DataFrame(rows, columns=cols)

    @property
    def intervals(self) -> pd.DataFrame:
        """The holdout intervals (tidy: convention, quantity baseline | final | difference, point,
        lo, hi, n, seed_min, seed_max, level); empty when none were computed."""
        return interval_frame(self._j.get_state("holdout_intervals"))

    @property
    def interval_method(self) -> dict | None:
        """How the intervals were made: level, replicates, blocks, years, the seed fits' ids."""
        iv = self._j.get_state("holdout_intervals")
        return None if iv is None else {k: v for k, v in iv.items() if k != "rows"}

    @property
    def param_spread(self) -> pd.DataFrame | None:
        """The final form's parameters with their spread over seeds and bootstrapped training
        years and their flags (``fireform.fitting.spread_table``); None when not computed."""
        ps = self._j.get_state(PARAM_KEY)
        return None if not ps or "table" not in ps else pd.DataFrame(ps["table"])

    @property
    def param_refits(self) -> list[dict]:
        """The refits on bootstrapped training years: replicate, years, value, params."""
        return list((self._j.get_state(PARAM_KEY) or {}).get("replicates", []))

    @property
    def param_refit_summary(self) -> dict:
        """refits, trials (each), unmoved (refits that stayed at their warm start)."""
        ps = self._j.get_state(PARAM_KEY) or {}
        return {"refits": len(ps.get("replicates", [])), "trials": ps.get("trials"), "unmoved": ps.get("unmoved", 0)}

    @property
    def holdout_reads(self) -> pd.DataFrame:
        return self._j.holdout_reads()

    # -- residuals ------------------------------------------------------------------------------
    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(lat, lon, iy, ix): the grid and the packed cells' indices on it."""
        parts = [self._j.get_array(f"grid/{k}") for k in ("lat", "lon", "iy", "ix")]
        return None if any(p is None for p in parts) else tuple(parts)  # type: ignore[return-value]

    def residuals(self, fit: FitResult, period: str) -> Residuals | None:
        base = f"resid/{period}/{fit.id}"
        bias = self._j.get_array(f"{base}/cell_bias")
        if bias is None:
            return None
        return Residuals(bias, list(self._j.get_state(f"{base}/cycle_regions") or []),
                         self._j.get_array(f"{base}/cycle_ref"), self._j.get_array(f"{base}/cycle_model"))

    def require_final(self) -> tuple[Form, FitResult]:
        """The final form and its fit, or a FireformError saying the run has none yet."""
        f = self.final
        if f is None:
            raise FireformError(f"run {self.path} has no final form yet (status {self.status})")
        return self.form(f.form_hash), f
