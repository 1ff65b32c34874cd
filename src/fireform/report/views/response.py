"""Response curves: each final term's factor over its input's observed range (training period),
with the fitted parameters and the term's other inputs at their medians, over the data density
(a histogram of the input in the cell-months that burn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireform.fitting import FitResult
from fireform.forms import Form
from fireform.report.views.common import esc, figure, plt
from fireform.report.views.grid import Period

__all__ = ["curves", "response"]


def curves(form: Form, fit: FitResult, period: Period, n: int = 200) -> list[dict]:
    """One curve per (term, input): x over the input's observed range, the factor y, the input's
    values where it burns (for the histogram), and the medians the other inputs are held at."""
    values = form.term_values(fit.params)
    d = period.drivers
    burns = period.obs > 0
    out = []
    for t in form.terms:
        data = {}
        for name in t.inputs:
            a = np.asarray(d.array(name), dtype=float)
            data[name] = np.broadcast_to(a, period.obs.shape) if a.shape[1] == 1 else a
        med = {k: float(np.nanmedian(v)) for k, v in data.items()}
        for name in t.inputs:
            v = data[name]
            fin = v[np.isfinite(v)]
            if fin.size == 0:
                continue
            lo, hi = float(fin.min()), float(fin.max())
            x = np.linspace(lo, hi, n) if hi > lo else np.array([lo])
            arrays = {k: (x if k == name else np.full_like(x, med[k])) for k in t.inputs}
            with np.errstate(all="ignore"):
                y = np.asarray(t.compute(arrays, values[t.id]), dtype=float) * np.ones_like(x)
            w = v[burns & np.isfinite(v)]
            out.append({"term": t.id, "input": name, "x": x, "y": y, "burning": w,
                        "held": {k: m for k, m in med.items() if k != name}})
    return out


def response(form: Form, fit: FitResult, period: Period, out: Path) -> str:
    cs = curves(form, fit, period)
    if not cs:
        return "<p>The final form has no term with an input.</p>"
    pyplot = plt()
    cols = min(3, len(cs))
    rows = int(np.ceil(len(cs) / cols))
    fig, axes = pyplot.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), dpi=80, squeeze=False)
    for ax, c in zip(axes.ravel(), cs):
        h = ax.twinx()
        if c["burning"].size:
            h.hist(c["burning"], bins=30, range=(c["x"][0], c["x"][-1]), color="0.85", zorder=0)
        h.set_ylabel("burning cell-months", fontsize=7, color="0.5")
        h.tick_params(labelsize=6, colors="0.5")
        ax.set_zorder(h.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(c["x"], c["y"], "C3-", lw=1.8)
        ax.set_title(f"{c['term']}", fontsize=9)
        ax.set_xlabel(c["input"], fontsize=8)
        ax.set_ylabel("factor", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(cs):]:
        ax.axis("off")
    fig.suptitle("response of each final term over its input's observed range (training period)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "response.png")
    pyplot.close(fig)
    held = [f"{c['term']} ({c['input']}): " + ", ".join(f"{k} = {v:.4g}" for k, v in c["held"].items())
            for c in cs if c["held"]]
    note = ("<p>Other inputs held at their training medians: " + esc("; ".join(held)) + ".</p>") if held else ""
    return figure("response.png", "response curves of the final terms with the data density",
                  "Red: the term's multiplicative factor with the fitted parameters; grey: how often "
                  "each input value occurs in cell-months that burn. Trust a curve where the grey "
                  "histogram is tall; a steep or saturated curve over a range with no burning data "
                  "is set by the bounds, not by the data.") + note
