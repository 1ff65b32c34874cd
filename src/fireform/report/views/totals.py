"""Annual burned area in Mha per year, global and per region, with interannual variability:
observed vs baseline vs final, training and holdout years."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.report.views.common import figure, plt, save_figure, table
from fireform.report.views.grid import M2_PER_MHA, GridData

__all__ = ["annual_totals", "totals", "draw_totals"]

SOURCES = ("observed", "baseline", "final")


def annual_totals(gd: GridData) -> pd.DataFrame:
    """Tidy: region, period, year, source (observed | baseline | final), Mha (burned that year)."""
    rows = []
    for pname, p in gd.periods.items():
        fields = {"observed": p.obs, **p.model}
        for region, mask in gd.regions.items():
            if not mask.any():
                continue
            w = gd.area[mask][:, None] / M2_PER_MHA
            for src, x in fields.items():
                monthly = np.nansum(x[mask] * w, axis=0)
                for y in np.unique(p.years):
                    rows.append({"region": region, "period": pname, "year": int(y), "source": src,
                                 "Mha": float(monthly[p.years == y].sum())})
    return pd.DataFrame(rows, columns=["region", "period", "year", "source", "Mha"])


def summary(tot: pd.DataFrame) -> pd.DataFrame:
    """Per region and period: mean annual total and IAV (std of the annual totals, ddof 0)."""
    rows = []
    for (region, period), g in tot.groupby(["region", "period"], sort=False):
        lo, hi = g.year.min(), g.year.max()
        row: dict = {"region": region, "period": period, "years": f"{lo}" if lo == hi else f"{lo}-{hi}"}
        for src in SOURCES:
            s = g[g.source == src].Mha
            row[f"{src} Mha/yr"] = float(s.mean()) if len(s) else np.nan
            row[f"{src} IAV"] = float(s.std(ddof=0)) if len(s) > 1 else np.nan  # one year: none
        rows.append(row)
    return pd.DataFrame(rows)


def draw_totals(path: Path, tot: pd.DataFrame, regions: list[str], holdout_years: list[int]) -> Path:
    pyplot = plt()
    cols = 5
    rows = max(1, int(np.ceil(len(regions) / cols)))
    fig, axes = pyplot.subplots(rows, cols, figsize=(14, 2.4 * rows), dpi=80, squeeze=False)
    style = {"observed": ("k-", 1.8), "baseline": ("C0--", 1.0), "final": ("C3-", 1.4)}
    for k, ax in enumerate(axes.ravel()):
        if k >= len(regions):
            ax.axis("off")
            continue
        g = tot[tot.region == regions[k]]
        for src in SOURCES:
            s = g[g.source == src].sort_values("year")
            if not s.empty:
                ax.plot(s.year, s.Mha, style[src][0], lw=style[src][1], marker=".", label=src)
        for y in holdout_years:
            ax.axvspan(y - 0.5, y + 0.5, color="0.9", zorder=0)
        ax.set_title(regions[k], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes.ravel()[0].set_ylabel("Mha / yr", fontsize=8)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle("annual burned area (Mha per year); grey: holdout years", fontsize=10)
    save_figure(fig, path)
    return path


def totals(gd: GridData, out: Path) -> str:
    tot = annual_totals(gd)
    if tot.empty:
        return "<p>No fields: no annual totals.</p>"
    regions = [r for r in gd.regions if r in set(tot.region)]
    hold = sorted(set(tot[tot.period == "holdout"].year))
    draw_totals(out / "totals.png", tot, regions, hold)
    return (figure("totals.png", "annual burned area per region, observed vs baseline vs final",
                   "Each panel is one region's total burned area per year. Look at the level (does "
                   "the final form burn as many hectares as observed?) and at the year-to-year swings "
                   "(interannual variability: do the model's good and bad fire years match the "
                   "observed ones?), especially in the grey holdout years the fit never saw.")
            + table(summary(tot), digits=3,
                    caption="Mean annual total (Mha/yr) and interannual variability (IAV: standard "
                            "deviation of the annual totals, Mha/yr; needs two years or more) per region and period"))
