"""The identification step of a run: what the training data can and cannot tell apart.

After pruning, for the final form:

1. **Equivalence classes.** Each final term is swapped for its closest library relatives (same
   raw inputs or same regime, from the mechanism metadata: :mod:`fireform.ablation.swaps`), at
   most ``identify.max_swaps_per_term`` of them, and for the ``identify.data_swaps_per_term``
   mechanisms whose swap screens best on the training data (the other terms held at their fitted
   values, the new term's parameters searched: :func:`fireform.agent.context.screen_moves`),
   whatever they read: a stand-in need not share an input (relative humidity can stand in for
   temperature where the two covary); every swapped form is refitted with the loop's
   budget and sampler, warm-started from the final fit (the other terms and the scale at their
   fitted values), through :meth:`RunState.fit` (journaled under role ``swap``: a resumed run
   reads them back, never refits). An alternative whose training objective is not worse than the
   final form's by more than the fit noise joins the term's class. Per region, the swap is
   compared with the region's own fit noise (the spread of the incumbent's repeat fits in that
   region, at least the global noise); the regions where it is worse beyond it are those that
   tell the two apart.
2. **Shapley robustness.** The final form's Shapley game is refitted with
   ``identify.robust_trials_factor`` times ``shapley.trials`` and no early stop (the single
   terms and pairs keep their broad budget, ``min(3 x trials, 450)`` stopped only once CMA-ES
   has converged, so
   only the larger coalitions, the ones a small budget under-fits, are refitted; the rest are
   cache hits). A term whose share falls
   under ``shapley.prune_share`` or which keeps less than ``identify.robust_min_ratio`` of its
   Shapley value is flagged: its share does not survive a better fit.

**Better swaps are adopted.** A swap that fits better than the final form by more than the fit
noise is something the search missed: with ``identify.adopt_rounds`` > 0 the run takes the best
such swap as its incumbent, prunes it (Shapley, share and last-in rules) and identifies again, at
most that many times (:func:`adopt_better`; journal state ``adopted``). Measured on a twin world
whose truth is ``gpp_gating x temperature_ignition x precip_wetting``: the search ended with
``simfire_productivity`` beside humidity and hyperarid terms, and the swap
``simfire_productivity -> gpp_gating`` fitted 0.0119 better.

Journal state ``equivalence`` (swaps, classes, the truth's recovery on a twin world) and
``shapley_robust``; one greppable line per swap (``fireform swap``), then ``fireform classes``
with the final form named with its classes (:func:`class_label`) and ``fireform robust``.
The step stops starting fits after ``identify.wall_minutes`` (of this process) and says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fireform.ablation.swaps import class_label, compare_swap, relatives, swap_form
from fireform.agent.context import screen_moves
from fireform.exceptions import FireformError
from fireform.fitting import FitResult
from fireform.forms import Form, MechanismTerm, params_of
from fireform.loop.ablate import run_shapley, shapley_tables
from fireform.loop.data import truth_form
from fireform.loop.journal import Journal
from fireform.loop.state import RunState, fit_id, fmt
from fireform.scoring import overall

__all__ = ["identify", "adopt_better", "class_label", "decision_fields", "classes_frame", "robust_frame",
           "truth_frame", "CLASS_COLUMNS"]

CLASS_COLUMNS = ["term", "alternative", "relation", "train_objective", "delta", "within_noise", "in_class",
                 "better", "regions_differing", "fit_id"]


def identify(st: RunState, *, adopt: bool = False) -> FitResult | None:
    """Equivalence classes of the final terms, then the Shapley robustness flags (module doc).
    ``adopt``: when a swap fits better than the final form by more than the fit noise, return its
    fit (the best such) before the robustness check, for the run to take it as its incumbent
    (:func:`adopt_better`); otherwise None."""
    spec = st.spec.identify
    j = st.journal
    if not spec.enabled:
        j.put_state("equivalence", {"skipped": "identify.enabled = false"})
        st.say("classes", "skipped by the spec (identify.enabled = false)")
        return None
    t0 = time.monotonic()
    deadline = t0 + spec.wall_minutes * 60.0
    form = j.form(st.final.form_hash)
    eq = _equivalence(st, form, deadline)
    better = [r for r in eq["rows"] if r["better"]]
    if adopt and better:
        best = max(better, key=lambda r: (r["delta"], r["alternative"]))
        return j.fit_by_id(int(best["fit_id"]))
    rob = _robustness(st, form, deadline)
    label = class_label(form.term_ids, classes_of(eq), flagged=flagged_of(rob), optional=eq.get("optional", []))
    n_in = sum(r["in_class"] for r in eq["rows"])
    st.say("classes", f"{label} | {len(eq['rows'])} swaps, {n_in} in a class, noise {eq['noise']:.4f}"
           + (f" | {eq['stopped']}" if eq.get("stopped") else "") + f" | {time.monotonic() - t0:.1f}s")
    return None


def adopt_better(st: RunState, rec: FitResult) -> None:
    """A swap fitted better than the final form beyond the noise: the search missed it, so it
    becomes the incumbent (the run then prunes and identifies again). Journal state
    ``adopted`` lists each adoption."""
    j = st.journal
    old = st.final
    hist = j.get_state("adopted", [])
    terms = list(j.form(rec.form_hash).term_ids)
    row: dict = {"from_hash": old.form_hash, "from_fit": fit_id(old), "from_value": old.value,
           "to_hash": rec.form_hash, "to_fit": fit_id(rec), "to_value": rec.value, "noise": float(st.noise),
           "terms": terms}
    if row not in hist:
        j.put_state("adopted", [*hist, row])
    st.incumbent = rec
    st.say("adopt", f"swap [{rec.form_hash}] {','.join(terms)} obj {fmt(rec.value)} beats the final "
           f"[{old.form_hash}] {fmt(old.value)} by {rec.value - old.value:+.4f} > noise {st.noise:.4f}: "
           "the search missed it; it becomes the incumbent, pruned and identified again")


# -- equivalence classes -----------------------------------------------------------------------
def _regional(j: Journal, fid: int, convention: str) -> dict[str, float]:
    """The objective's convention in every region, from a journaled fit's training scores."""
    sc = j.scores(fid, "train")
    return {str(r): float(overall(dict(zip(g.component, g.value)), convention))
            for r, g in sc.groupby("region", sort=False)}


def _regional_noise(st: RunState, noise: float) -> dict[str, float]:
    """Per region: the sample standard deviation of the incumbent's repeat fits (seeds, same
    budget), at least the global fit noise."""
    j = st.journal
    f = j.fits()
    f = f[(f.form_hash == st.incumbent.form_hash) & (f.trials == st.spec.budget.trials)
          & f.role.isin(["baseline", "candidate", "repeat"])].drop_duplicates("seed")
    if len(f) < 2:
        return {}
    per = [_regional(j, int(i), st.spec.objective.convention) for i in f.id]
    out = {}
    for r in per[0]:
        x = np.array([p.get(r, np.nan) for p in per], dtype=float)
        x = x[np.isfinite(x)]
        out[r] = max(float(x.std(ddof=1)) if x.size > 1 else 0.0, noise)
    return out


def _equivalence(st: RunState, form: Form, deadline: float) -> dict:
    j = st.journal
    spec = st.spec.identify
    conv = st.spec.objective.convention
    final = st.final
    noise = float(st.noise)
    reg_noise = _regional_noise(st, noise)
    # the objective's own region is the global comparison; the others say where they differ
    base_reg = {r: v for r, v in _regional(j, fit_id(final), conv).items() if r != st.spec.objective.region}
    eq: dict = {"final_hash": form.hash, "final_fit": fit_id(final), "final_value": final.value,
                "noise": noise, "regional_noise": reg_noise, "terms": list(form.term_ids), "rows": [],
                "candidates": {}, "definition": "an alternative joins a term's class when the swapped "
                "form's training objective is not worse than the final form's by more than the fit "
                "noise; relatives share a raw input or the regime (fireform.ablation.swaps)"}
    # terms the last-in rule dropped: the form with them fits within the noise of the form without
    eq["optional"] = [c["term"] for c in (j.get_state("prune") or {}).get("covered", [])
                      if c["term"] not in form.term_ids]
    have = set(st.train.variables)
    by_data = _data_relatives(st, form, final.params, spec.data_swaps_per_term)
    for term in form.term_ids:
        cands = [(c.mechanism, c.relation) for c in relatives(form, term, available=have)[:spec.max_swaps_per_term]]
        cands += [(m, rel) for m, rel in by_data.get(term, []) if m not in {c for c, _ in cands}]
        eq["candidates"][term] = [m for m, _ in cands]
        for mech, relation in cands:
            if time.monotonic() > deadline and not eq.get("stopped"):
                eq["stopped"] = _out_of_time(spec)
            sf = swap_form(form, term, mech)
            warm = params_of(final.params, set(form.term_ids) - {term})
            if eq.get("stopped"):
                continue
            try:
                rec, cached = st.fit(sf, role="swap", warm=warm)
            except FireformError as e:
                st.say("swap", f"{term} -> {mech} crash | {type(e).__name__}: {str(e)[:120]}")
                continue
            v = compare_swap(final.value, rec.value, noise, regional=base_reg,
                             swap_regional=_regional(j, fit_id(rec), conv), regional_noise=reg_noise)
            eq["rows"].append({"term": term, "alternative": mech, "relation": relation,
                               "train_objective": rec.value, "delta": v.delta, "within_noise": v.within_noise,
                               "in_class": v.in_class, "better": v.better,
                               "regions_differing": list(v.regions_differing), "fit_id": fit_id(rec),
                               "form_hash": sf.hash})
            j.put_state("equivalence", eq)  # after every swap: a killed step keeps what it measured
            st.say("swap", f"{term} -> {mech} ({relation}) [{sf.hash}] obj {fmt(rec.value)} "
                   f"delta {v.delta:+.4f} noise {noise:.4f} | {'in class' if v.in_class else 'worse'}"
                   + (" (better)" if v.better else "")
                   + (f" | worse in {','.join(v.regions_differing)}" if v.regions_differing else "")
                   + f" | {'cached' if cached else f'{rec.wall_seconds:.1f}s'}")
    _optional_classes(st, form, eq, have, deadline)
    eq["truth"] = _truth(st, form, classes_of(eq), eq["optional"])
    j.put_state("equivalence", eq)
    return eq


def _out_of_time(spec) -> str:
    return f"identify.wall_minutes {spec.wall_minutes:g} spent; later swaps not fitted"


def _optional_classes(st: RunState, form: Form, eq: dict, have: set[str], deadline: float) -> None:
    """The class of each optional term o (dropped by the last-in rule): the final form plus o is
    refitted, then with o replaced by each of its closest library relatives; a relative whose
    form is not worse than the one with o by more than the noise joins o's class (it is as
    optional as o). Rows as for the final terms, ``term`` = ``[o]``."""
    j, spec = st.journal, st.spec.identify
    for o in eq["optional"]:
        if time.monotonic() > deadline:
            eq["stopped"] = _out_of_time(spec)
            return
        with_o = swap_form(form, None, o)
        base, _ = st.fit(with_o, role="swap", warm={**params_of(st.incumbent.params, [o]), **st.final.params})
        for c in relatives(with_o, o, available=have)[:spec.max_swaps_per_term]:
            if time.monotonic() > deadline:
                eq["stopped"] = _out_of_time(spec)
                return
            sf = swap_form(with_o, o, c.mechanism)
            try:
                rec, cached = st.fit(sf, role="swap", warm=params_of(base.params, set(form.term_ids)))
            except FireformError as e:
                st.say("swap", f"[{o}] -> {c.mechanism} crash | {type(e).__name__}: {str(e)[:120]}")
                continue
            v = compare_swap(base.value, rec.value, float(st.noise))
            eq["rows"].append({"term": f"[{o}]", "alternative": c.mechanism, "relation": c.relation,
                               "train_objective": rec.value, "delta": v.delta, "within_noise": v.within_noise,
                               "in_class": v.in_class, "better": False, "regions_differing": [],
                               "fit_id": fit_id(rec), "form_hash": sf.hash})
            j.put_state("equivalence", eq)
            st.say("swap", f"[{o}] -> {c.mechanism} ({c.relation}) [{sf.hash}] obj {fmt(rec.value)} vs with "
                   f"{o} {fmt(base.value)} delta {v.delta:+.4f} | {'as optional' if v.in_class else 'worse'}"
                   + f" | {'cached' if cached else f'{rec.wall_seconds:.1f}s'}")


def _data_relatives(st: RunState, form: Form, params: Mapping[str, float], k: int) -> dict[str, list[tuple[str, str]]]:
    """term -> the ``k`` mechanisms whose swap for it screens best (with the relation in words)."""
    if k <= 0:
        return {}
    o = st.spec.objective
    sc = screen_moves(form, dict(params), st.train, st.bench, convention=o.convention, region=o.region,
                      seed=st.spec.seed, swap_top=10**6)
    sw = sc[sc.action == "swap"].sort_values(["objective", "add"], ascending=[False, True])
    return {t: [(str(r.add), f"the data: swap screens at {r.objective:.4f}") for r in g.head(k).itertuples()]
            for t, g in sw.groupby("remove", sort=False)}


def _truth(st: RunState, form: Form, classes: Mapping[str, list[str]], optional=()) -> list[dict] | None:
    """On a twin world: where each true mechanism ended up (final form, a final term's class, an
    optional term the data cannot tell is there, or not recovered)."""
    d = st.spec.data
    if d.source != "twin":
        return None
    truth = truth_form(d.truth)
    in_form = {t.mechanism.id if isinstance(t, MechanismTerm) else t.id: t.id for t in form.terms}
    rows = []
    for t in truth.terms:
        mid = t.mechanism.id if isinstance(t, MechanismTerm) else t.id
        holder = next((term for term, alts in classes.items() if mid in alts and not term.startswith("[")), None)
        opt_holder = next((term for term, alts in classes.items() if mid in alts and term.startswith("[")), None)
        if mid in in_form:
            status, where = "in the final form", in_form[mid]
        elif holder is not None:
            status, where = f"in the class of {holder}", holder
        elif mid in optional or opt_holder is not None:
            status = "optional: the final form fits within the noise with or without it"
            where = opt_holder or f"[{mid}]"
        else:
            status, where = "not recovered", ""
        rows.append({"true_mechanism": mid, "status": status, "final_term": where})
    return rows


# -- Shapley robustness ------------------------------------------------------------------------
def _robustness(st: RunState, form: Form, deadline: float) -> dict:
    j = st.journal
    spec = st.spec.identify
    sh = st.spec.shapley
    k = spec.robust_trials_factor
    old = j.get_state("shapley_robust")
    if old and old.get("form_hash") == form.hash and old.get("factor") == k and "rows" in old:
        return old
    skip = ("identify.robust_trials_factor = 0" if k == 0 else "shapley disabled" if not sh.enabled
            else f"{len(form.terms)} terms > shapley.max_players" if len(form.terms) > sh.max_players
            else "one term: nothing to share" if len(form.terms) < 2
            else f"identify.wall_minutes {spec.wall_minutes:g} spent" if time.monotonic() > deadline else "")
    if skip:
        out = {"form_hash": form.hash, "factor": k, "skipped": skip}
        j.put_state("shapley_robust", out)
        st.say("robust", f"Shapley robustness not checked: {skip}")
        return out
    t = time.perf_counter()
    trials = sh.trials or st.spec.budget.trials
    base = j.shapley(form.hash, "values")
    if base is None:  # the final form is the pruned one: its game at the Shapley budget first
        base = shapley_tables(run_shapley(st, form, trials, top=st.final.params))["values"]
    # no early stop: the Shapley step stops a coalition after 4 CMA-ES generations without gain,
    # which would end the larger budget where the smaller one ended
    high_res = run_shapley(st, form, k * trials, patience_generations=None, top=st.final.params)
    high = shapley_tables(high_res)["values"]
    b, h = base.set_index("player"), high.set_index("player")
    rows = []
    for p in form.term_ids:
        vb, vh = float(b.at[p, "value"]), float(h.at[p, "value"])
        sb, shh = float(b.at[p, "share"]), float(h.at[p, "share"])
        survives = bool(np.isfinite(shh) and shh >= sh.prune_share and vh >= spec.robust_min_ratio * vb)
        rows.append({"term": p, "share": sb, "share_high": shh, "value": vb, "value_high": vh,
                     "survives": survives})
    out = {"form_hash": form.hash, "factor": k, "trials": trials, "trials_high": k * trials,
           "rows": rows, "fits_run": high_res.fits_run, "wall_seconds": time.perf_counter() - t,
           "rule": f"a term survives when its share stays >= shapley.prune_share {sh.prune_share:g} and it "
                   f"keeps >= {spec.robust_min_ratio:g} of its Shapley value at {k}x the Shapley trials, "
                   "without early stop"}
    j.put_state("shapley_robust", out)
    bad = [str(r["term"]) for r in rows if not r["survives"]]
    st.say("robust", f"Shapley at {k}x trials ({k * trials}): "
           + " ".join(f"{r['term']}={r['share']:.2f}->{r['share_high']:.2f}" for r in rows)
           + f" | {'flagged: ' + ','.join(bad) if bad else 'every share survives'}"
           + f" | {high_res.fits_run} fits ran, {out['wall_seconds']:.1f}s")
    return out


# -- reading the journal state back (decision, Run, report) -----------------------------------
def classes_of(eq: Mapping | None) -> dict[str, list[str]]:
    """term -> alternatives in its class (in the order fitted)."""
    out: dict[str, list[str]] = {}
    for r in (eq or {}).get("rows", []):
        if r["in_class"]:
            out.setdefault(r["term"], []).append(r["alternative"])
    return out


def flagged_of(rob: Mapping | None) -> list[str]:
    return [r["term"] for r in (rob or {}).get("rows", []) if not r["survives"]]


def decision_fields(j: Journal, final_form: Form) -> dict:
    """What the decision adds from this step: the final form named with its classes
    (``final_label``), the classes, the flagged terms (empty when the step did not run for
    this final form)."""
    eq = j.get_state("equivalence") or {}
    rob = j.get_state("shapley_robust") or {}
    mine = eq.get("final_hash") == final_form.hash
    classes = classes_of(eq) if mine else {}
    optional = list(eq.get("optional", [])) if mine else []
    flagged = flagged_of(rob) if rob.get("form_hash") == final_form.hash else []
    return {"final_label": class_label(final_form.term_ids, classes, flagged=flagged, optional=optional),
            "classes": classes, "optional": optional, "shapley_not_robust": flagged}


def classes_frame(eq: Mapping | None) -> pd.DataFrame:
    """Tidy: one row per swap fitted (columns :data:`CLASS_COLUMNS`; regions_differing joined
    by commas)."""
    rows = [{**{c: r.get(c) for c in CLASS_COLUMNS}, "regions_differing": ",".join(r["regions_differing"])}
            for r in (eq or {}).get("rows", [])]
    return pd.DataFrame(rows, columns=CLASS_COLUMNS)


def robust_frame(rob: Mapping | None) -> pd.DataFrame | None:
    """Tidy: term, share, share_high, value, value_high, survives (None when not checked)."""
    if not rob or "rows" not in rob:
        return None
    return pd.DataFrame(rob["rows"], columns=["term", "share", "share_high", "value", "value_high", "survives"])


def truth_frame(eq: Mapping | None) -> pd.DataFrame | None:
    """Tidy: true_mechanism, status, final_term (twin worlds only; None otherwise)."""
    rows = (eq or {}).get("truth")
    return None if rows is None else pd.DataFrame(rows, columns=["true_mechanism", "status", "final_term"])
