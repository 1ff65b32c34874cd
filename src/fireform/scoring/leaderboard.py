"""Leaderboards: the published TRENDY v14 table re-derived, and ISIMIP3a vs GFED5 per AR6 region.

Reference table: recomputes every convention that can be computed from the published component
rows (Bias, RMSE, Seasonal, Spatial; ILAMB 2.x). The printed components are rounded to 3
decimals, so the Overall recomputed from them can differ from the printed one (computed from
unrounded components) by at most (1+2+1+1) x 0.0005 / 5 = 0.0005; ``reference_table`` reports
the difference and whether it lies within that bound.

ISIMIP3a-AR6: the 43 AR6 land regions act as the cells of one "global" region, each holding a
monthly total (Mha per month), period 2001-01..2019-12 (the span every source covers). What that
changes, deliberately:
- area weights A_i = 1 for every region-cell: the values are already area totals, so mass
  weighting (w_i = the region's mean burned area, on as in 2.x) already weighs regions by how much
  burns; multiplying by the region's area as well would count its size twice;
- the spatial distribution compares the 43 regional period means (n_grid = 43: no masked cells,
  so 2.x's correlation quirk and the plain correlation coincide);
- Bias/RMSE/Seasonal/IAV are per-region time-series scores combined by those weights.
FireCCI5.1 is scored like a model: it is the observational ceiling (what a second observation
scores against GFED5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fireform.drivers.bundles import GLOBAL, load_isimip3a_ar6
from fireform.scoring.card import ScoreCard
from fireform.scoring.overall import CONVENTIONS, overall
from fireform.scoring.prepared import Benchmark

__all__ = ["REFERENCE_TABLE", "reference_table", "isimip3a_ar6_leaderboard"]

# TRENDY v14, burned area vs GFED4.1s, ILAMB 2.x native (ILAMB_SCORING.md).
REFERENCE_TABLE = pd.DataFrame(
    [
        ("ED \"Model C\"", 0.728, 0.506, 0.846, 0.771, 0.6713),
        ("CLASSIC", 0.738, 0.507, 0.782, 0.797, 0.6665),
        ("CLM6.0", 0.759, 0.474, 0.758, 0.838, 0.6606),
        ("CLM-FATES", 0.725, 0.525, 0.802, 0.707, 0.6568),
        ("ED stock", 0.681, 0.489, 0.439, 0.290, 0.4774),
    ],
    columns=["model", "bias", "rmse", "seasonal", "spatial", "published_overall"],
).set_index("model")

ROUNDING_BOUND = (1 + 2 + 1 + 1) * 0.0005 / 5


def reference_table() -> pd.DataFrame:
    """Published components -> Overall under every convention that needs only them."""
    t = REFERENCE_TABLE.copy()
    for conv in ("ilamb2", "worst", "geometric"):
        t[conv] = [overall(row, conv) for row in t[["bias", "rmse", "seasonal", "spatial"]].to_dict("records")]
    t["equal_weights"] = t[["bias", "rmse", "seasonal", "spatial"]].mean(axis=1)
    t["diff_ilamb2_vs_published"] = t["ilamb2"] - t["published_overall"]
    t["printed_precision_match"] = t["ilamb2"].round(4) == t["published_overall"]
    t["within_rounding_bound"] = t["diff_ilamb2_vs_published"].abs() <= ROUNDING_BOUND + 1e-12
    return t


def isimip3a_ar6_leaderboard(data_dir=None, *, period=("2001-01-01", "2019-12-01"),
                             mass_weighting: bool = True) -> tuple[pd.DataFrame, ScoreCard]:
    """Rank the ISIMIP3a models and FireCCI5.1 against GFED5 (AR6 regions as cells)."""
    b = load_isimip3a_ar6(data_dir)
    sl = slice(*period)
    obs = b.obs.loc[sl]
    mods = b.models.loc[sl]
    regions = [r for r in b.regions if r != GLOBAL]
    ref = obs.xs("GFED5", axis=1, level="source")[regions]
    time = ref.index
    bench = Benchmark.prepare(ref.to_numpy().T.astype(float), area=np.ones(len(regions)), time=time,
                              regions={"global": np.ones(len(regions), bool)},
                              mass_weighting=mass_weighting, n_grid=len(regions), calendar="noleap",
                              units="Mha month-1")
    cards = []
    candidates = [(s, mods) for s in b.model_sources] + [
        (s, obs) for s in b.obs_sources if s != "GFED5"]
    for src, frame in candidates:
        x = frame.xs(src, axis=1, level="source").reindex(columns=regions).reindex(time)
        cards.append(bench.card(x.to_numpy().T.astype(float), model=src,
                                period=f"{time[0]:%Y-%m}..{time[-1]:%Y-%m}"))
    card = ScoreCard.concat(cards)
    v = card.vectors(region="global").reset_index(level="period", drop=True)
    cols = ["bias", "rmse", "seasonal", "spatial", "iav", "bias_ilamb3", "rmse_ilamb3",
            "seasonal_ilamb3", "spatial_ilamb3"] + [f"overall_{c}" for c in CONVENTIONS]
    v = v[cols].sort_values("overall_ilamb2", ascending=False)
    v.insert(0, "rank", np.arange(1, len(v) + 1))
    v["kind"] = ["observation" if m in b.obs_sources else "model" for m in v.index]
    return v, card
