"""Helpers shared by the views: escaping, numbers, tables, figures with captions, matplotlib."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from fireform.report.plots import _plt as plt  # the one lazy, headless matplotlib
from fireform.report.plots import save_figure

__all__ = ["esc", "num", "sig", "table", "figure", "plt", "save_figure"]


def esc(x) -> str:
    return html.escape(str(x))


def _formatted(x, fmt: str) -> str:
    """``x`` in format ``fmt``; an en dash for missing or non-finite values."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "&ndash;"
    return "&ndash;" if not np.isfinite(v) else format(v, fmt)


def num(x, d: int = 4) -> str:
    """Fixed ``d`` decimals; an en dash for missing or non-finite values."""
    return _formatted(x, f".{d}f")


def sig(x, n: int = 4) -> str:
    """``n`` significant digits ("0.1935", "1.234e-05", "12.5"); an en dash when missing."""
    return _formatted(x, f".{n}g")


def table(df: pd.DataFrame, *, cls: str = "", digits: int = 4, caption: str = "") -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (float, np.floating)):
                cells.append(f"<td class=num>{num(v, digits)}</td>")
            else:
                cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f"<table class='{cls}'>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def figure(rel: str, alt: str, caption: str = "") -> str:
    """An image with its caption: ``alt`` names the figure, ``caption`` says what to look for."""
    cap = esc(alt) + (f". {esc(caption)}" if caption else "")
    return f"<figure><img src='{esc(rel)}' alt='{esc(alt)}'><figcaption>{cap}</figcaption></figure>"


