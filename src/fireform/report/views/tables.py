"""Tables per WWF biome and per GFED basis region (both from the data bundle, $FIREFORM_DATA):
observed, baseline and final burned area in Mha per year, the final form's relative bias and the
spatial correlation of its period-mean map within the group. Skipped, with the reason, when the
bundle is not there or the run's grid is not covered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fireform.drivers import BIOME_NAMES, load_biomes, load_gfed_regions
from fireform.report.views.common import esc, table
from fireform.report.views.grid import M2_PER_MHA, GridData

__all__ = ["biome_codes", "group_table", "biome_table", "gfed_table"]


def _edges(c: np.ndarray) -> np.ndarray:
    if c.size == 1:
        return np.array([c[0] - 0.25, c[0] + 0.25])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def biome_codes(lat: np.ndarray, lon: np.ndarray, iy: np.ndarray, ix: np.ndarray, data_dir=None) -> np.ndarray:
    """The most common WWF biome (1..14) among the 0.5 degree cells inside each packed grid cell
    (0: none, e.g. ocean, lakes, rock and ice, or off the biome grid)."""
    b = load_biomes(data_dir)
    blat, blon = np.asarray(b.lat, float), np.asarray(b.lon, float)
    codes = np.nan_to_num(np.asarray(b.values, float), nan=0).astype(int)
    lon180 = np.where(lon > 180, lon - 360, lon)
    order_y, order_x = np.argsort(lat), np.argsort(lon180)
    ky = np.searchsorted(_edges(lat[order_y]), blat, side="right") - 1
    kx = np.searchsorted(_edges(lon180[order_x]), blon, side="right") - 1
    oky, okx = (ky >= 0) & (ky < lat.size), (kx >= 0) & (kx < lon.size)
    gy = np.where(oky, order_y[np.clip(ky, 0, lat.size - 1)], -1)
    gx = np.where(okx, order_x[np.clip(kx, 0, lon.size - 1)], -1)
    counts = np.zeros((lat.size, lon.size, 15), dtype=np.int32)
    YY, XX = np.meshgrid(gy, gx, indexing="ij")
    ok = (YY >= 0) & (XX >= 0) & (codes >= 1) & (codes <= 14)
    np.add.at(counts, (YY[ok], XX[ok], codes[ok]), 1)
    label = np.where(counts.sum(-1) > 0, counts.argmax(-1), 0)
    return label[iy, ix]


def group_table(gd: GridData, groups: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per group and period (groups: name -> packed bool over the cells)."""
    rows = []
    for pname, p in gd.periods.items():
        nyear = len(np.unique(p.years))
        for name, m in groups.items():
            if not m.any():
                continue
            w = gd.area[m][:, None] / M2_PER_MHA
            row: dict = {"group": name, "period": pname, "cells": int(m.sum())}
            obs = float(np.nansum(p.obs[m] * w)) / nyear
            row["observed Mha/yr"] = obs
            for label in ("baseline", "final"):
                row[f"{label} Mha/yr"] = (float(np.nansum(p.model[label][m] * w)) / nyear
                                          if label in p.model else np.nan)
            row["final bias %"] = 100 * (row["final Mha/yr"] - obs) / obs if obs > 0 else np.nan
            r = np.nan
            if "final" in p.model and m.sum() >= 3:
                a, b = np.nanmean(p.obs[m], axis=1), np.nanmean(p.model["final"][m], axis=1)
                if np.std(a) > 0 and np.std(b) > 0:
                    r = float(np.corrcoef(a, b)[0, 1])
            row["final spatial r"] = r
            rows.append(row)
    return pd.DataFrame(rows)


def _caption(what: str) -> str:
    return (f"Burned area per {what} (Mha per year, mean over the period's years). Look for the "
            "groups where the final form's bias is large or its spatial correlation low: they show "
            "which ecosystems the formula does not yet explain.")


def biome_table(gd: GridData, data_dir=None) -> str:
    try:
        codes = biome_codes(gd.lat, gd.lon, gd.iy, gd.ix, data_dir)
    except Exception as e:  # noqa: BLE001  (the bundle is optional: say why the table is missing)
        return f"<p class=skip>Biome table skipped: {esc(e)}</p>"
    if not (codes > 0).any():
        return "<p class=skip>Biome table skipped: no cell of this run's grid lies on a WWF biome.</p>"
    groups = {f"{c} {BIOME_NAMES[c]}": codes == c for c in sorted(set(codes[codes > 0].tolist()))}
    note = (f"<p>{int((codes > 0).sum())} of {codes.size} cells have a biome (most common 0.5 degree "
            "biome inside the cell); the rest (lakes, rock and ice, off the biome grid) are left out.</p>")
    return note + table(group_table(gd, groups), digits=3, caption=_caption("WWF biome"))


def gfed_table(gd: GridData, data_dir=None) -> str:
    try:
        rs = load_gfed_regions(gd.lat, gd.lon, data_dir=data_dir)
    except Exception as e:  # noqa: BLE001  (the bundle is optional: say why the table is missing)
        return f"<p class=skip>GFED table skipped: {esc(e)}</p>"
    groups = {k: np.asarray(v, bool)[gd.iy, gd.ix] for k, v in rs.masks.items() if k != "global"}
    if not any(m.any() for m in groups.values()):
        return "<p class=skip>GFED table skipped: no cell of this run's grid lies in a GFED basis region.</p>"
    return table(group_table(gd, groups), digits=3, caption=_caption("GFED basis region (van der Werf et al. 2017)"))
