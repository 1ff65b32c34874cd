"""PNG figures of a Shapley result: share bars (with intervals when sampled) and the pairwise
interaction heatmap. matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["bar_chart", "draw_interactions", "interaction_heatmap", "write_plots"]


def _plt():
    # matplotlib costs ~0.5 s to import: only when a figure is drawn
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def bar_chart(result, path) -> Path:
    """Horizontal bars: each mechanism's share of the total gain (value / (v(all) - v(scale)))."""
    plt = _plt()
    v = result.values.sort_values("value")
    gain = result.total_gain
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(v) + 1.4), dpi=100)
    xerr = None
    if np.isfinite(v["lo"]).all() and gain:
        xerr = np.abs(np.vstack([v["value"] - v["lo"], v["hi"] - v["value"]]) / gain)
    ax.barh(v["player"], v["share"], xerr=xerr, color="C2", capsize=3)
    for y, s in enumerate(v["share"]):
        ax.text(max(s, 0), y, f" {s:.1%}", va="center", fontsize=8)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel(f"share of the total gain ({gain:.4f} over the scale-only form)")
    ax.set_title(f"Shapley shares, form {result.form_hash} ({result.method}, "
                 f"{result.objective.describe().replace('maximize ', '')})", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_interactions(path, inter, players, *, title: str, diagonal=None) -> Path:
    """Symmetric heatmap of pairwise interaction indices from a table with columns a, b, value.

    ``diagonal`` (player -> Shapley value) is written on the diagonal in parentheses; the colour
    scale spans the off-diagonal values only. Shared by ``fireform shapley`` and the run report.
    """
    plt = _plt()
    n = len(players)
    m = np.zeros((n, n))
    idx = {p: i for i, p in enumerate(players)}
    for r in inter.itertuples(index=False):
        if r.a in idx and r.b in idx:
            m[idx[r.a], idx[r.b]] = m[idx[r.b], idx[r.a]] = float(r.value)
    off = m[~np.eye(n, dtype=bool)]
    vmax = float(np.max(np.abs(off))) if off.size and np.max(np.abs(off)) > 0 else 1.0
    fig, ax = plt.subplots(figsize=(0.9 * n + 3, 0.8 * n + 2), dpi=100)
    im = ax.imshow(m, cmap="PuOr", vmin=-vmax, vmax=vmax)
    ax.set_xticks(range(n), players, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), players, fontsize=8)
    for i in range(n):
        for k in range(n):
            if i != k:
                ax.text(k, i, f"{m[i, k]:.3f}", ha="center", va="center", fontsize=7)
            elif diagonal is not None:
                ax.text(k, i, f"({diagonal[players[i]]:.3f})", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="pairwise Shapley interaction index")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def interaction_heatmap(result, path) -> Path:
    """Pairwise Shapley interaction indices of a ShapleyResult (diagonal: the Shapley values)."""
    return draw_interactions(
        path, result.interactions, list(result.players),
        title=f"interactions, form {result.form_hash} (diagonal: Shapley values)",
        diagonal=result.values.set_index("player")["value"],
    )


def write_plots(result, out) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return {"bars": bar_chart(result, out / "shapley_bars.png"),
            "interactions": interaction_heatmap(result, out / "shapley_interactions.png")}
