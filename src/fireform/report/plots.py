"""PNG figures of the report, each a function of journal-derived arrays and tables -> a file.

matplotlib with the Agg backend (no display). Every function returns the path it wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fireform.ablation.plots import draw_interactions

__all__ = ["save_figure", "residual_map", "seasonal_cycles", "shapley_bars", "interaction_heatmap", "convergence",
           "formula_png", "verdict_intervals"]


def _plt():
    # matplotlib costs ~0.5 s to import: only when a figure is drawn
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Lay out, write and close ``fig`` (a closed figure frees its memory at once)."""
    fig.tight_layout()
    fig.savefig(path)
    _plt().close(fig)
    return path


def residual_map(path: Path, lat, lon, iy, ix, values, *, title: str) -> Path:
    plt = _plt()
    g = np.full((lat.size, lon.size), np.nan)
    g[iy, ix] = values
    finite = values[np.isfinite(values)]
    vmax = float(np.nanpercentile(np.abs(finite), 98)) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=90)
    m = ax.pcolormesh(lon, lat, g, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="nearest")
    fig.colorbar(m, ax=ax, label="model - reference (period-mean burned fraction / month)")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    save_figure(fig, path)
    return path


def seasonal_cycles(path: Path, regions: list[str], ref: np.ndarray, model: np.ndarray, *,
                    baseline: np.ndarray | None = None, title: str) -> Path:
    plt = _plt()
    n = len(regions)
    cols = 5
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(13, 2.3 * rows), dpi=80, squeeze=False)
    months = np.arange(1, 13)
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.axis("off")
            continue
        ax.plot(months, ref[k], "k-", lw=1.8, label="reference")
        ax.plot(months, model[k], "C3-", lw=1.4, label="final")
        if baseline is not None:
            ax.plot(months, baseline[k], "C0--", lw=1.0, label="baseline")
        ax.set_title(regions[k], fontsize=9)
        ax.set_xticks([1, 4, 7, 10])
        ax.tick_params(labelsize=7)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
    return path


def shapley_bars(path: Path, values: pd.DataFrame, *, title: str) -> Path:
    plt = _plt()
    v = values.sort_values("share")
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(v) + 1.2), dpi=90)
    ax.barh(v["player"].astype(str), v["share"], color="C2")
    for y, s in enumerate(v["share"]):
        ax.text(s, y, f" {s:.1%}", va="center", fontsize=8)
    ax.set_xlabel("share of the total gain over the scale-only form")
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)
    return path


def interaction_heatmap(path: Path, inter: pd.DataFrame, players: list[str], *, title: str) -> Path:
    """The journal's interaction table (columns a, b, value), drawn as ``fireform shapley`` does."""
    cols = list(inter.columns)
    if not {"a", "b", "value"} <= set(cols):  # older journals: first two columns, last value
        inter = inter.rename(columns={cols[0]: "a", cols[1]: "b", cols[-1]: "value"})
    return draw_interactions(path, inter, players, title=title)


def convergence(path: Path, it: np.ndarray, value: np.ndarray, status: list[str], incumbent: np.ndarray,
                noise: float, baseline: float) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=90)
    colors = {"keep": "C2", "discard": "C7", "crash": "C3", "reject": "C1"}
    for s in ("keep", "discard", "crash"):
        sel = np.array([x == s for x in status])
        if sel.any():
            ax.scatter(it[sel], value[sel], c=colors[s], label=s, zorder=3)
    rej = np.array([x == "reject" for x in status])
    if rej.any():
        ax.scatter(it[rej], np.full(rej.sum(), baseline), marker="x", c=colors["reject"], label="reject (no fit)")
    xs = np.concatenate([[0], it])
    inc = np.concatenate([[baseline], incumbent])
    ax.step(xs, inc, where="post", color="k", lw=1.2, label="incumbent")
    ax.fill_between(xs, inc - noise, inc + noise, step="post", color="k", alpha=0.1, label="fit noise")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training objective")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("convergence of the search (training objective only)", fontsize=10)
    save_figure(fig, path)
    return path


def verdict_intervals(path: Path, verdict: pd.DataFrame, *, margin: float, title: str) -> Path:
    """Left: baseline and final holdout Overall per convention with their intervals; right: the
    difference with its interval against the margin. Undecidable conventions are marked."""
    plt = _plt()
    v = verdict.reset_index(drop=True)
    y = np.arange(len(v))[::-1]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 0.55 * len(v) + 1.6), dpi=90, sharey=True)
    for q, off, col in (("baseline", 0.12, "C0"), ("final", -0.12, "C3")):
        x = v[q].to_numpy(float)
        err = np.array([x - v[f"{q}_lo"].to_numpy(float), v[f"{q}_hi"].to_numpy(float) - x])
        err = np.where(np.isfinite(err), np.maximum(err, 0.0), 0.0)
        a1.errorbar(x, y + off, xerr=err, fmt="o", color=col, capsize=3, label=q)
    a1.set_xlabel("holdout Overall score")
    a1.legend(fontsize=8, loc="lower left")
    d = v["difference"].to_numpy(float)
    err = np.array([d - v["difference_lo"].to_numpy(float), v["difference_hi"].to_numpy(float) - d])
    err = np.where(np.isfinite(err), np.maximum(err, 0.0), 0.0)
    cols = ["C2" if w is True else ("C3" if w is False else "C7") for w in v["wins"]]
    for k in range(len(v)):
        if np.isfinite(d[k]):
            a2.errorbar(d[k], y[k], xerr=err[:, k:k + 1], fmt="o", color=cols[k], capsize=3)
        else:
            a2.text(0.0, y[k], "not decidable", va="center", fontsize=8, color="C7")
    a2.axvline(margin, color="k", lw=1.0, ls="--", label=f"margin {margin:g}")
    a2.axvline(0.0, color="k", lw=0.5, alpha=0.4)
    a2.set_xlabel("final - baseline")
    a2.legend(fontsize=8, loc="lower right")
    a1.set_yticks(y)
    a1.set_yticklabels(v["convention"].astype(str))
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
    return path


def formula_png(path: Path, lines: list[str]) -> Path | None:
    """Render mathtext lines (one per term); None when mathtext cannot parse them."""
    plt = _plt()
    fig = plt.figure(figsize=(10, 0.55 * len(lines) + 0.3), dpi=100)
    try:
        for k, s in enumerate(lines):
            fig.text(0.01, 1 - (k + 0.8) / (len(lines) + 0.3), f"${s}$", fontsize=12, va="center")
        fig.savefig(path)
    except Exception:  # noqa: BLE001  (mathtext covers a subset of LaTeX; the source is shown anyway)
        plt.close(fig)
        if Path(path).exists():
            Path(path).unlink()
        return None
    plt.close(fig)
    return path
