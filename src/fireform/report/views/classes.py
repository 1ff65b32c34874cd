"""The equivalence classes view: which library relatives of each final term the training data
cannot tell apart from it, where they differ, which Shapley shares survive a better fit, and,
on a twin world, where each true mechanism ended up."""

from __future__ import annotations

import pandas as pd

from fireform.loop import Run
from fireform.report.views.common import esc, table

__all__ = ["classes"]


def _swaps(run: Run, df: pd.DataFrame) -> str:
    st = run.identify_state
    t = df.drop(columns=["fit_id"]).copy()
    t["regions_differing"] = t["regions_differing"].replace("", "none")
    cap = ("Each row is the final form with one term replaced by a library relative (a mechanism "
           "reading one of its raw inputs, or of its regime), refitted with the loop's budget. "
           f"delta = swap minus final training objective; fit noise {st.get('noise', float('nan')):.4f}. "
           "Look for in_class = True: the data do not prefer the chosen term over that alternative, "
           "so the formula could carry either. regions_differing lists the regions where the swap is "
           "worse beyond that region's fit noise: the data that tell them apart. better = True "
           "means the search missed an alternative that fits better.")
    return table(t, caption=cap)


def _robust(run: Run) -> str:
    r = run.shapley_robust
    if r is None:
        why = next((ln.split("| ", 1)[1] for ln in run.events if ln.startswith("fireform robust")),
                   "Shapley robustness not checked")
        return f"<p>{esc(why)}.</p>"
    spec = run.spec
    k = spec.identify.robust_trials_factor
    cap = (f"Shapley shares of the final terms at the Shapley budget and at {k}x it. A term whose "
           f"share falls under the prune share ({spec.shapley.prune_share:g}) or keeps less than "
           f"{spec.identify.robust_min_ratio:g} of its value at the higher budget has survives = "
           "False: its weight came from under-fitted coalitions, not from the data; look for it "
           "and treat the term as doubtful.")
    return table(r, caption=cap)


def _truth(run: Run) -> str:
    t = run.truth_recovery
    if t is None:
        return ""
    missed = t[t.status == "not recovered"]
    optional = t[t.status.str.startswith("optional")]
    verdict = ("Every true mechanism is in the final form or in the equivalence class of a final term."
               + (f" Optional (the data cannot tell whether it is there): {', '.join(optional.true_mechanism)}."
                  if not optional.empty else "")
               if missed.empty else
               f"Not recovered: {', '.join(missed.true_mechanism)} (neither in the final form nor in a "
               "final term's class).")
    return (f"<p class=verdict>{esc(verdict)}</p>"
            + table(t, caption="The twin world's true mechanisms: where each one ended up. A true "
                    "mechanism in a final term's class is one the data cannot tell apart from that "
                    "term; an optional one is a term the data cannot tell is there."))


def classes(run: Run) -> str:
    label = run.class_label
    if label is None:
        return "<p>No final form yet.</p>"
    st = run.identify_state
    if st.get("skipped"):
        return f"<p>Identification skipped: {esc(st['skipped'])}.</p>"
    head = (f"<p>Final form with its equivalence classes: <code>{esc(label)}</code> "
            "(<code>{a ~ b}</code>: the data cannot tell a from b; a trailing <code>?</code>: the "
            "term's Shapley share did not survive a refit at a higher budget; <code>[c]</code>: an "
            "optional term, dropped because the form fits within the fit noise with or without it, "
            "so the data cannot tell whether it is there).</p>")
    df = run.classes
    body = _swaps(run, df) if not df.empty else "<p>No swaps fitted.</p>"
    stopped = f"<p class=skip>{esc(st['stopped'])}.</p>" if st.get("stopped") else ""
    return head + _truth(run) + body + stopped + _robust(run)
