"""The results table of a run (autoresearch's ``results.tsv``): one row per proposal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.loop.journal import Journal

__all__ = ["results_frame", "write_results_tsv"]


def results_frame(journal: Journal) -> pd.DataFrame:
    """One row per proposal (autoresearch's results table): iteration, status, form, the
    training objective, parameters, the action and rationale."""
    p = journal.proposals()
    fits = journal.fits()
    cand = fits[fits.role.isin(["baseline", "candidate"])]
    best = cand.groupby("form_hash")["value"].max() if not cand.empty else pd.Series(dtype=float)
    forms = journal.forms().set_index("hash")
    rows = []
    for r in p.itertuples():
        h = r.form_hash
        rows.append({
            "iteration": r.iteration, "status": r.status, "form_hash": h or "",
            "terms": forms.terms.get(h, "") if h else "",
            "n_params": int(forms.n_params.get(h, 0)) if h else 0,
            "train_objective": float(best.get(h, np.nan)) if h else np.nan,
            "action": r.action, "proposer": r.proposer,
            "rationale": " ".join(str(r.rationale).split()),
            "reasons": " | ".join(r.reasons),
        })
    return pd.DataFrame(rows, columns=["iteration", "status", "form_hash", "terms", "n_params",
                                       "train_objective", "action", "proposer", "rationale",
                                       "reasons"])

def write_results_tsv(journal: Journal, path: str | Path | None = None) -> Path:
    p = Path(path) if path is not None else journal.folder / "results.tsv"
    results_frame(journal).to_csv(p, sep="\t", index=False, float_format="%.6f")
    return p
