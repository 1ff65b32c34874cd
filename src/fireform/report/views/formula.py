"""The final formula at 4 significant digits (signs folded: ``x + 0.19``, never ``x - -0.19``),
its citations rendered from BibTeX, the parameter table with bounds and flags, and the spec as
frozen with only the ``[data]`` keys that apply to the run's data source."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import pandas as pd

from fireform.fitting import FitResult
from fireform.forms import Form
from fireform.forms.expr import BinOp, Call, Expr, Name, Neg, Num, to_latex, to_text
from fireform.loop import Spec
from fireform.mechanisms import bib_entries
from fireform.report.views.common import esc, sig, table

__all__ = ["rounded", "formula_lines", "citation", "citations", "param_table", "spec_toml",
           "DATA_KEYS"]


def _round(v: float, digits: int) -> float:
    return float(f"{float(v):.{digits}g}")


def rounded(expr: Expr, values: Mapping[str, float], digits: int = 4) -> Expr:
    """``expr`` with parameter names replaced by their values at ``digits`` significant digits,
    and the signs folded so no ``- -`` or ``+ -`` is printed."""

    def f(e: Expr) -> Expr:
        if isinstance(e, Num):
            return Num(_round(e.value, digits))
        if isinstance(e, Name):
            return Num(_round(values[e.id], digits)) if e.id in values else e
        if isinstance(e, Neg):
            o = f(e.operand)
            if isinstance(o, Num):
                return Num(-o.value)
            return o.operand if isinstance(o, Neg) else Neg(o)
        if isinstance(e, BinOp):
            left, right = f(e.left), f(e.right)
            if e.op in "+-":
                flip = {"+": "-", "-": "+"}[e.op]
                if isinstance(right, Num) and right.value < 0:
                    return BinOp(flip, left, Num(-right.value))
                if isinstance(right, Neg):
                    return BinOp(flip, left, right.operand)
            return BinOp(e.op, left, right)
        assert isinstance(e, Call)
        return Call(e.func, tuple(f(a) for a in e.args))

    return f(expr)


def formula_lines(form: Form, params: Mapping[str, float], digits: int = 4) -> tuple[list[str], list[str]]:
    """(text lines, LaTeX lines): the product, then one line per term, values rounded."""
    values = form.term_values(dict(params))
    scale = sig(params["scale"], digits)
    text = [f"burned_fraction = {' x '.join([scale, *[f'f_{t}' for t in form.term_ids]])}"]

    def tname(tid: str) -> str:
        return r"f_{\mathrm{" + tid.replace("_", r"\_") + "}}"

    if "e" in scale:
        m, _, x = scale.partition("e")
        scale_tex = rf"{m} \times 10^{{{int(x)}}}"
    else:
        scale_tex = scale
    tex = ["F = " + r" \cdot ".join([scale_tex, *[tname(t) for t in form.term_ids]])]
    for t in form.terms:
        e = rounded(t.expr, values[t.id], digits)
        text.append(f"f_{t.id}({', '.join(t.inputs)}) = {to_text(e)}")
        tex.append(f"{tname(t.id)} = {to_latex(e)}")
    return text, tex


def _authors(raw: str) -> str:
    names = [a.strip() for a in re.sub(r"\s+", " ", raw).split(" and ") if a.strip()]
    out = []
    for a in names:
        last, _, first = a.partition(",")
        initials = " ".join(p[0] + "." for p in re.split(r"[\s.]+", first.strip()) if p)
        out.append(f"{last.strip()}, {initials}".rstrip(", ") if first else last.strip())
    if len(out) > 3:
        return f"{out[0]} et al."
    return "; ".join(out)


_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
            "=": "\u0304", ".": "\u0307", "c": "\u0327", "u": "\u0306", "v": "\u030c", "H": "\u030b"}


def _clean(s: str) -> str:
    """BibTeX text as plain Unicode: accents (\\'e -> e acute), \\url{x} -> x, \\& -> &, no braces,
    -- -> en dash."""
    s = re.sub(r"\\url\{([^}]*)\}", r"\1", s)
    s = re.sub(r"\\(['`^\"~=.])\{?([A-Za-z])\}?", lambda m: m.group(2) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\([cuvH])\{([A-Za-z])\}", lambda m: m.group(2) + _ACCENTS[m.group(1)], s)
    s = s.replace("\\&", "&").replace("{", "").replace("}", "").replace("--", "\u2013")
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", s)).strip()


def citation(key: str, entry: Mapping[str, str] | None) -> str:
    """One reference as HTML: authors (year). Title. <i>Journal</i> volume, pages. doi."""
    if not entry:
        return f"{esc(key)} (not in the library's bibliography)"
    venue = _clean(entry.get("journal", entry.get("booktitle", entry.get("howpublished", ""))))
    vol = _clean(entry.get("volume", ""))
    pages = _clean(entry.get("pages", ""))
    doi = entry.get("doi", "")
    parts = [f"{esc(_authors(_clean(entry.get('author', entry.get('editor', key)))))} "
             f"({esc(entry.get('year', 'n.d.'))}). {esc(_clean(entry.get('title', '')))}."]
    if venue.startswith(("http://", "https://")):
        parts.append(f" <a href='{esc(venue)}'>{esc(venue)}</a>")
    elif venue:
        parts.append(f" <i>{esc(venue)}</i>" + (f" {esc(vol)}" if vol else "") + (f", {esc(pages)}" if pages else "") + ".")
    if doi:
        parts.append(f" <a href='https://doi.org/{esc(doi)}'>doi:{esc(doi)}</a>")
    return "".join(parts)


def citations(form: Form) -> str:
    refs = sorted({r for t in form.terms for r in t.references})
    bib = bib_entries()
    items = "".join(f"<li id='ref-{esc(k)}'>{citation(k, bib.get(k))}</li>" for k in refs)
    return f"<ul class=refs>{items}</ul>" if refs else "<p>No references.</p>"


def _range(lo, hi) -> str:
    return "" if lo != lo else f"{sig(lo)} .. {sig(hi)}"  # NaN: not computed


def param_table(fits: list[tuple[str, FitResult]], spread: pd.DataFrame | None = None,
                refits: int = 0, trials: int | None = None, unmoved: int = 0) -> str:
    """Fitted parameters with their box and flags; the final form's rows also show its spread
    (``Run.param_spread``): over its seed fits and over ``refits`` refits on bootstrapped
    training years."""
    sp = spread.set_index("param") if spread is not None and not spread.empty else None
    rows = []
    for label, fit in fits:
        flagged = set(fit.at_bounds())
        for p in fit.form.params:
            s = sp.loc[p.name] if sp is not None and label == "final" and p.name in sp.index else None
            flags = ["AT BOUND"] if p.name in flagged else []
            if s is not None and bool(s["slack"]):
                flags.append(f"SLACK ({s['range_fraction']:.0%} of the box)")
            if s is not None and int(s["boot_at_bound"]):
                flags.append(f"at a bound in {int(s['boot_at_bound'])}/{int(s['n_boot'])} refits")
            rows.append({"form": label, "parameter": p.name, "value": sig(fit.params[p.name]),
                         "lower bound": f"{p.lo:g}", "upper bound": f"{p.hi:g}",
                         "scale": "log" if p.log else "linear", "units": p.units,
                         "seed range": _range(s["seed_min"], s["seed_max"]) if s is not None else "",
                         "bootstrap range": _range(s["boot_min"], s["boot_max"]) if s is not None else "",
                         "flag": ", ".join(flags), "description": p.description})
    spread_note = (" Final form: seed range = the values of its fits with the run's optimizer seeds on "
                   f"the same data (fit noise); bootstrap range = min .. max over {refits} refits"
                   f"{f' of {trials} trials' if trials else ''} on training years redrawn with replacement "
                   "(one-year blocks), each the final fit's own protocol (sampler, warm start): how "
                   "firmly the data and the fitting pin the number"
                   + (f" ({unmoved} of them found nothing better than their warm start: those show the "
                      "start, not the data)" if unmoved else "")
                   + ". SLACK: the value and its refits span more than 25% of the box (log10 for log "
                   "parameters): quote it with its range, not alone." if sp is not None else "")
    return table(pd.DataFrame(rows), cls="params",
                 caption="Fitted parameters (4 significant digits) with their search box. AT BOUND: "
                         "within 0.1% of the box's width of a bound (log10 for log parameters): the "
                         "bound, not the data, set it; widen the box or question the term." + spread_note)


# [data] keys that apply to each data source; the other keys keep their defaults and are hidden.
DATA_KEYS: dict[str, tuple[str, ...]] = {
    "twin": ("source", "res", "years", "seed", "truth", "noise", "derived"),
    "pantanal": ("source", "regions", "data_dir", "derived"),
    "files": ("source", "paths", "mapping", "regions", "data_dir", "derived"),
}


def spec_toml(spec: Spec) -> tuple[str, list[str]]:
    """The frozen spec's TOML (``spec.to_toml()``) with the ``[data]`` keys of other data sources
    left out; returns (text, the keys left out)."""
    keep = DATA_KEYS.get(spec.data.source)
    lines, dropped, section = [], [], ""
    for ln in spec.to_toml().splitlines():
        m = re.match(r"^\[(\w+)\]\s*$", ln)
        if m:
            section = m.group(1)
        key = re.match(r"^(\w+)\s*=", ln)
        if keep is not None and section == "data" and key and key.group(1) not in keep:
            dropped.append(key.group(1))
            continue
        lines.append(ln)
    return "\n".join(lines) + "\n", dropped
