"""``ScoreCard``: the tidy table of one or more scorings (model, period, region, component,
convention, value, units), with helpers to pivot into the published table layout."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fireform.scoring.overall import CONVENTIONS, overall

__all__ = ["ScoreCard", "COLUMNS", "TABLE_COMPONENTS"]

COLUMNS = ["model", "period", "region", "component", "convention", "value", "units", "reason"]
# The published (ILAMB 2.x) table: Bias, RMSE, Seasonal, Spatial, Overall.
TABLE_COMPONENTS = {"bias": "Bias", "rmse": "RMSE", "seasonal": "Seasonal", "spatial": "Spatial"}


@dataclass(frozen=True, eq=False)
class ScoreCard:
    """Rows: one per component score (convention = "component") and one per Overall convention
    (component = "overall")."""

    frame: pd.DataFrame

    @classmethod
    def from_scores(cls, scores, *, model: str, period: str) -> "ScoreCard":
        rows = []
        for region in scores.regions:
            vec = scores.vector(region)
            for comp, val in vec.items():
                rows.append([model, period, region, comp, "component", val, "1",
                             scores.reasons.get((region, comp), "")])
            for conv in CONVENTIONS:
                rows.append([model, period, region, "overall", conv, overall(vec, conv), "1", ""])
        return cls(pd.DataFrame(rows, columns=COLUMNS))

    @classmethod
    def concat(cls, cards) -> "ScoreCard":
        return cls(pd.concat([c.frame for c in cards], ignore_index=True))

    def overall(self, convention: str = "ilamb2", region: str = "global") -> pd.Series:
        f = self.frame
        sel = f[(f.component == "overall") & (f.convention == convention) & (f.region == region)]
        return sel.set_index(["model", "period"])["value"]

    def table(self, *, region: str = "global", period: str | None = None,
              conventions=("ilamb2",)) -> pd.DataFrame:
        """Published layout: one row per model, Bias RMSE Seasonal Spatial then Overall
        columns, sorted by the first convention's Overall (best first)."""
        f = self.frame[self.frame.region == region]
        if period is not None:
            f = f[f.period == period]
        comp = f[(f.convention == "component") & f.component.isin(TABLE_COMPONENTS)]
        t = comp.pivot_table(index="model", columns="component", values="value", sort=False)
        t = t[list(TABLE_COMPONENTS)].rename(columns=TABLE_COMPONENTS)
        for conv in conventions:
            o = f[(f.component == "overall") & (f.convention == conv)].set_index("model")["value"]
            t[f"Overall ({conv})" if len(conventions) > 1 else "Overall"] = o
        return t.sort_values(t.columns[len(TABLE_COMPONENTS)], ascending=False)

    def vectors(self, *, region: str = "global") -> pd.DataFrame:
        """One row per model/period: every component and every convention."""
        f = self.frame[self.frame.region == region]
        key = f.component.where(f.convention == "component", "overall_" + f.convention)
        # dropna=False: a region scored NaN throughout (no cell on this grid) keeps its row
        return f.assign(key=key).pivot_table(index=["model", "period"], columns="key",
                                             values="value", sort=False, dropna=False)

    def to_csv(self, path) -> None:
        self.frame.to_csv(path, index=False)

    def to_json(self, path) -> None:
        self.frame.to_json(path, orient="records", indent=1)
