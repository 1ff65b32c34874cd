"""Taylor diagram of the period-mean maps: standard-deviation ratio and spatial correlation of
the baseline and the final form against the observations, training and holdout periods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.report.views.common import figure, plt, save_figure, table
from fireform.report.views.grid import GridData

__all__ = ["taylor_stats", "taylor", "draw_taylor"]


def taylor_stats(gd: GridData) -> pd.DataFrame:
    """One row per (form, period): std ratio (ddof 0, unweighted over cells, as ILAMB's spatial
    score), Pearson correlation, and centred RMS difference in units of the observed std."""
    rows = []
    for name, p in gd.periods.items():
        ref = np.nanmean(p.obs, axis=1)
        for label, m in p.model.items():
            mod = np.nanmean(m, axis=1)
            ok = np.isfinite(ref) & np.isfinite(mod)
            sr, sm = float(np.std(ref[ok])), float(np.std(mod[ok]))
            r = float(np.corrcoef(ref[ok], mod[ok])[0, 1]) if ok.sum() > 2 and sr > 0 and sm > 0 else np.nan
            ratio = sm / sr if sr > 0 else np.nan
            crmsd = float(np.sqrt(max(0.0, 1 + ratio ** 2 - 2 * ratio * r))) if np.isfinite(r) else np.nan
            rows.append({"form": label, "period": name, "std ratio": ratio, "correlation": r,
                         "centred RMS diff / std obs": crmsd})
    return pd.DataFrame(rows)


def draw_taylor(path: Path, stats: pd.DataFrame) -> Path:
    pyplot = plt()
    fig = pyplot.figure(figsize=(6.2, 5.4), dpi=90)
    ax = fig.add_subplot(111, projection="polar")
    smax = max(1.6, float(np.nanmax(stats["std ratio"])) * 1.15) if not stats.empty else 1.6
    ax.set_thetamin(0)
    ax.set_thetamax(90)
    ax.set_rlim(0, smax)
    corr_ticks = np.array([0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0])
    ax.set_thetagrids(np.degrees(np.arccos(corr_ticks)), [f"{c:g}" for c in corr_ticks])
    th = np.linspace(0, np.pi / 2, 100)
    ax.plot(th, np.ones_like(th), "k--", lw=0.8)  # the observed std
    for rms in (0.25, 0.5, 0.75, 1.0, 1.25):  # centred RMS difference arcs around the reference
        x = 1 + rms * np.cos(np.linspace(0, np.pi, 200))
        y = rms * np.sin(np.linspace(0, np.pi, 200))
        rr, tt = np.hypot(x, y), np.arctan2(y, x)
        keep = (rr <= smax) & (tt <= np.pi / 2)
        ax.plot(tt[keep], rr[keep], color="0.8", lw=0.7)
    ax.plot([0], [1], "k*", ms=14, label="observed")
    colors = {"baseline": "C0", "final": "C3"}
    markers = {"train": "o", "holdout": "s"}
    for r in stats.itertuples(index=False):
        if not (np.isfinite(r[2]) and np.isfinite(r[3])):
            continue
        ax.plot([np.arccos(np.clip(r[3], -1, 1))], [r[2]], markers.get(r[1], "o"),
                color=colors.get(r[0], "C2"), ms=9, label=f"{r[0]}, {r[1]}")
    ax.text(np.radians(50), smax * 1.12, "correlation", rotation=-40, ha="center", fontsize=9)
    ax.text(np.pi / 2, smax * 0.5, "std ratio (model / observed)", rotation=90, ha="right",
            va="center", fontsize=9)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.08), fontsize=8)
    ax.set_title("Taylor diagram of the period-mean maps", fontsize=10, pad=24)
    save_figure(fig, path)
    return path


def taylor(gd: GridData, out: Path) -> str:
    stats = taylor_stats(gd)
    if stats.empty:
        return "<p>No modelled fields: no Taylor diagram.</p>"
    draw_taylor(out / "taylor.png", stats)
    return (figure("taylor.png", "Taylor diagram (baseline and final; circles training, squares holdout)",
                   "The closer a point lies to the black star (std ratio 1, correlation 1), the better "
                   "the form reproduces where fire is: the angle is the spatial correlation of the "
                   "period-mean maps, the radius the ratio of their standard deviations, the grey arcs "
                   "the centred RMS difference. Look for the final form (red) nearer the star than the "
                   "baseline (blue), and for holdout squares near their training circles (no overfit).")
            + table(stats, caption="Taylor statistics of the period-mean maps (cells unweighted, ddof 0)"))
