"""ILAMB-style portrait plot: regions x components for the baseline, the final form and, where
given, a model's own fire output (a ScoreCard CSV from ``fireform score --out``), one panel per
period. Colours follow ILAMB's relative rule per (region, component):
``(x - mean over models) / max(std over models, 0.02)``; the cell text is the absolute score."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.loop import Run
from fireform.report.views.common import figure, plt
from fireform.scoring import overall

__all__ = ["COMPONENTS", "portrait_scores", "relative", "portrait", "read_model_card"]

COMPONENTS = ("bias", "rmse", "seasonal", "spatial", "iav", "overall ilamb2")
MIN_STD = 0.02  # ILAMB's floor on the spread over models


def _vectors(sc: pd.DataFrame) -> list[tuple[str, dict[str, float]]]:
    return [(str(reg), dict(zip(g.component, g.value))) for reg, g in sc.groupby("region", sort=False)]


def read_model_card(path: str | Path, spec_periods: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """A ScoreCard CSV (``fireform score --out card.csv``) as tidy rows (model, period, region,
    component, value); its period goes to the run's period with the same years, else 'train'."""
    card = pd.read_csv(path)
    comp = card[card.convention == "component"]
    names = {f"{y[0]}-{y[-1]}": p for p, y in spec_periods.items()}
    names.update({str(y[0]): p for p, y in spec_periods.items() if y[0] == y[-1]})
    rows = []
    for (model, period), g in comp.groupby(["model", "period"], sort=False):
        to = names.get(str(period), "train")
        label = str(model) if str(period) in names else f"{model} ({period})"
        for reg, v in _vectors(g):
            rows += [{"model": label, "period": to, "region": reg, "component": c, "value": float(x)}
                     for c, x in v.items()]
            rows.append({"model": label, "period": to, "region": reg, "component": "overall ilamb2",
                         "value": overall(v, "ilamb2")})
    return pd.DataFrame(rows)


def portrait_scores(run: Run, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy: model, period, region, component (COMPONENTS), value."""
    rows = []
    scored: list[tuple[str, Callable[[str], pd.DataFrame]]] = [
        (label, functools.partial(run.scores, fit)) for label, fit in
        (("baseline", run.baseline), ("final", run.final)) if fit is not None]
    if run.has_comparison:  # the model's own burned area from the run's model files
        scored.append((run.comparison_label, run.comparison_scores))
    for label, scores in scored:
        for period in ("train", "holdout"):
            for reg, v in _vectors(scores(period)):
                rows += [{"model": label, "period": period, "region": reg, "component": c,
                          "value": float(v.get(c, np.nan))} for c in COMPONENTS[:-1]]
                rows.append({"model": label, "period": period, "region": reg,
                             "component": "overall ilamb2", "value": overall(v, "ilamb2")})
    df = pd.DataFrame(rows, columns=["model", "period", "region", "component", "value"])
    if extra is not None and not extra.empty:
        df = pd.concat([df, extra[extra.component.isin(COMPONENTS)]], ignore_index=True)
    return df


def relative(df: pd.DataFrame) -> pd.Series:
    """ILAMB's portrait colour: (x - mean over models) / max(std over models, 0.02), per
    (period, region, component); std with ddof 0 over the models that have a value."""
    g = df.groupby(["period", "region", "component"])["value"]
    mean = g.transform("mean")
    std = g.transform(lambda s: float(np.nanstd(s)) if s.notna().any() else np.nan)
    return (df.value - mean) / np.maximum(std, MIN_STD)


def _draw(path: Path, df: pd.DataFrame, periods: list[str]) -> Path:
    pyplot = plt()
    models = list(dict.fromkeys(df.model))
    regions = list(dict.fromkeys(df.region))
    if "global" in regions:
        regions = ["global"] + [r for r in regions if r != "global"]
    cols = [(c, m) for c in COMPONENTS for m in models]
    fig, axes = pyplot.subplots(1, len(periods), figsize=(0.42 * len(cols) * len(periods) + 3,
                                                          0.32 * len(regions) + 2.2), dpi=90, squeeze=False)
    rel = df.assign(rel=relative(df))
    im = None
    for ax, period in zip(axes.ravel(), periods):
        d = rel[rel.period == period].set_index(["region", "component", "model"])
        grid = np.full((len(regions), len(cols)), np.nan)
        txt = np.full((len(regions), len(cols)), np.nan)
        for i, reg in enumerate(regions):
            for j, (c, m) in enumerate(cols):
                if (reg, c, m) in d.index:
                    grid[i, j] = d.loc[(reg, c, m), "rel"]
                    txt[i, j] = d.loc[(reg, c, m), "value"]
        im = ax.imshow(grid, cmap="RdBu", vmin=-2, vmax=2, aspect="auto")
        for i in range(len(regions)):
            for j in range(len(cols)):
                if np.isfinite(txt[i, j]):
                    ax.text(j, i, f"{txt[i, j]:.2f}", ha="center", va="center", fontsize=5.5)
        ax.set_xticks(range(len(cols)), [f"{c} | {m}" for c, m in cols], rotation=90, fontsize=7)
        ax.set_yticks(range(len(regions)), regions, fontsize=7)
        for j in range(len(models), len(cols), len(models)):
            ax.axvline(j - 0.5, color="k", lw=1)
        ax.set_title(f"{period} period", fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.7,
                     label="(score - mean over models) / max(std over models, 0.02)")
    fig.savefig(path, bbox_inches="tight")
    pyplot.close(fig)
    return path


def portrait(run: Run, out: Path, extra: pd.DataFrame | None = None) -> str:
    df = portrait_scores(run, extra)
    if df.empty:
        return "<p>No scores: no portrait plot.</p>"
    periods = [p for p in ("train", "holdout") if (df.period == p).any()]
    _draw(out / "portrait.png", df, periods)
    models = ", ".join(dict.fromkeys(df.model))
    note = "" if (extra is not None and not extra.empty) or run.has_comparison else (
        "<p>No model fire output given (<code>fireform report RUN --model-card card.csv</code>, a "
        "ScoreCard from <code>fireform score --out</code>, adds one column per component).</p>")
    return figure("portrait.png", f"portrait plot of {models} per region and component",
                  "Each cell's colour compares the models on that region and component (ILAMB's "
                  "relative rule: blue better than the models' mean, red worse; the 0.02 floor keeps "
                  "near-ties white); the number is the absolute score in [0, 1]. Look for rows where "
                  "the final form is red: regions it serves worse than the baseline.") + note
