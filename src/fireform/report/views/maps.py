"""Observed and modelled mean maps and their difference (final form; training, holdout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fireform.report.views.common import esc, figure, plt, save_figure
from fireform.report.views.grid import GridData

__all__ = ["mean_maps", "draw_mean_maps"]


def draw_mean_maps(path: Path, lat, lon, obs: np.ndarray, mod: np.ndarray, *, title: str) -> Path:
    """Three panels: observed, modelled (same colour scale) and model - observed."""
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(15, 3.6), dpi=80)
    both = np.concatenate([obs[np.isfinite(obs)], mod[np.isfinite(mod)]])
    vmax = float(np.nanpercentile(both, 99)) if both.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    diff = mod - obs
    fd = diff[np.isfinite(diff)]
    dmax = float(np.nanpercentile(np.abs(fd), 98)) if fd.size else 1.0
    dmax = dmax if dmax > 0 else 1.0
    panels = ((obs, "observed", "YlOrRd", 0.0, vmax), (mod, "modelled (final form)", "YlOrRd", 0.0, vmax),
              (diff, "modelled - observed", "RdBu_r", -dmax, dmax))
    for ax, (g, name, cmap, lo, hi) in zip(axes, panels):
        m = ax.pcolormesh(lon, lat, g, cmap=cmap, vmin=lo, vmax=hi, shading="nearest")
        fig.colorbar(m, ax=ax, label="% of cell burned per year", shrink=0.85)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("longitude")
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("latitude")
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path)
    return path


def mean_maps(gd: GridData, out: Path) -> str:
    body = []
    for name, p in gd.periods.items():
        if "final" not in p.model:
            continue
        obs = gd.grid(100 * p.annual_mean(p.obs))
        mod = gd.grid(100 * p.annual_mean(p.model["final"]))
        yrs = np.unique(p.years)
        fname = f"meanmap_{name}.png"
        draw_mean_maps(out / fname, gd.lat, gd.lon, obs, mod,
                       title=f"mean annual burned area, {name} period "
                             f"{yrs[0]}{'' if yrs[0] == yrs[-1] else f'-{yrs[-1]}'}")
        body.append(figure(fname, f"observed and modelled mean maps, {name} period",
                           "Left and middle share one colour scale: the final form should put fire "
                           "where it is observed, at the observed intensity, and none where none "
                           "burns. Right: "
                           "red cells burn too much in the model, blue too little; look for "
                           "coherent regional patterns rather than single cells."))
    if gd.holdout_note:
        body.append(f"<p>{esc(gd.holdout_note)}</p>")
    return "".join(body) or "<p>No final form: no modelled map.</p>"
