"""The run report: static HTML + PNGs, built only from a :class:`~fireform.loop.Run`.

``build_report(run_dir) -> Path`` writes ``<run>/report/index.html`` and its figures;
``build_report(run_dir, self_contained=True)`` writes ``<run>/report/report-single.html``, one
file with every image inlined as a base64 data URI. Each section is a ``<section id=...>`` built
by one view module (``fireform.report.views``); every figure has a caption saying what to look
for. The views drawn on the grid (mean maps, Taylor diagram, totals, biome and GFED tables,
response curves) recompute the fields from the run's spec and fitted parameters
(:mod:`fireform.report.views.grid`); the holdout is read through the split's seal, and only for a
finished run.
"""

from __future__ import annotations

import base64
import re
import string
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from fireform.loop import Run, open_run
from fireform.report import plots
from fireform.report.views import (
    classes,
    formula,
    maps,
    portrait,
    response,
    scores,
    search,
    tables,
    taylor,
    totals,
)
from fireform.report.views.common import esc
from fireform.report.views.grid import GridData, load_grid_data

__all__ = ["build_report", "PUBLISHED", "SECTIONS", "SINGLE_FILE"]

PUBLISHED = scores.PUBLISHED
SINGLE_FILE = "report-single.html"

_TITLES = {
    "spec": "Experiment spec", "inputs": "Input checks", "leaderboard": "Leaderboard",
    "portrait": "Portrait plot", "regions": "Scores per region", "taylor": "Taylor diagram",
    "maps": "Observed and modelled mean maps", "totals": "Annual totals (Mha per year)",
    "residuals": "Residual maps and seasonal cycles", "biomes": "Per WWF biome",
    "gfed": "Per GFED basis region", "response": "Response curves", "params": "Parameters",
    "shapley": "Shapley ablation", "classes": "Equivalence classes", "convergence": "Convergence",
    "lineage": "Form lineage",
    "formula": "Final formula", "deployment": "Deployment check", "decision": "Win decision",
}
SECTIONS = tuple(_TITLES)


def _template(name: str) -> str:
    return resources.files("fireform.report").joinpath("templates", name).read_text()


def _spec(run: Run) -> str:
    text, dropped = formula.spec_toml(run.spec)
    note = (f" The <code>[data]</code> keys of other data sources ({esc(', '.join(dropped))}) are "
            "left out here; they hold their defaults and play no part in this run." if dropped else "")
    return (
        f"<p>Spec <b>{esc(run.name)}</b>, frozen at the start of the run; hash "
        f"<code class=hash>{esc(run.spec_hash)}</code>. Status: <b>{esc(run.status)}</b>"
        f"{' (resumed ' + str(run.resumes) + 'x)' if run.resumes else ''}.{note}</p>"
        f"<pre>{esc(text)}</pre>"
    )


def _formula(run: Run, out: Path) -> str:
    final = run.final
    if final is None:
        return "<p>No final form yet.</p>"
    form = run.form(final.form_hash)
    text, tex = formula.formula_lines(form, final.params)
    png = plots.formula_png(out / "formula.png", tex)
    fig = ("<figure><img src='formula.png' alt='final formula (fitted values)'><figcaption>final "
           "formula, fitted values at 4 significant digits: the burned fraction per month is the "
           "scale times the product of the term factors, each in [0, 1].</figcaption></figure>"
           if png else "")
    return (fig + f"<pre>{esc(chr(10).join(text))}</pre>"
            f"<details><summary>LaTeX</summary><pre class=tex>{esc(chr(10).join(tex))}</pre></details>"
            f"<p>Form <code>{esc(form.hash)}</code>; terms with their equations and search boxes:</p>"
            f"<pre>{esc(form.text())}</pre><h3>Citations</h3>{formula.citations(form)}")


def _params(run: Run) -> str:
    fits = [(lbl, f) for lbl, f in (("baseline", run.baseline), ("final", run.final)) if f is not None]
    return formula.param_table(fits, run.param_spread, **run.param_refit_summary) if fits else "<p>No fits.</p>"


def _grid_views(run: Run, out: Path) -> dict[str, Callable[[], str]]:
    """The views drawn from recomputed fields; each says why it is missing if it cannot be drawn."""
    if run.final is None and run.baseline is None:
        gd: GridData | str = "no fitted form yet"
    else:
        try:
            gd = load_grid_data(run)
        except Exception as e:  # noqa: BLE001  (data gone or moved: the rest of the report stands)
            gd = f"the run's drivers could not be loaded again from its spec: {e}"

    def need(view: Callable[[GridData], str]) -> Callable[[], str]:
        return lambda: (f"<p class=skip>Skipped: {esc(gd)}.</p>" if isinstance(gd, str) else view(gd))

    data_dir = run.spec.data.data_dir
    final = run.final
    return {
        "taylor": need(lambda g: taylor.taylor(g, out)),
        "maps": need(lambda g: maps.mean_maps(g, out)),
        "totals": need(lambda g: totals.totals(g, out)),
        "biomes": need(lambda g: tables.biome_table(g, data_dir)),
        "gfed": need(lambda g: tables.gfed_table(g, data_dir)),
        "response": need(lambda g: "<p>No final form yet.</p>" if final is None else
                         response.response(run.form(final.form_hash), final, g.periods["train"], out)),
    }


def _inline_images(page: str, folder: Path) -> str:
    """Every ``<img src='x.png'>`` of ``folder`` replaced by a base64 data URI."""
    def sub(m: re.Match) -> str:
        data = base64.b64encode((folder / m.group(1)).read_bytes()).decode("ascii")
        return f"<img src='data:image/png;base64,{data}'"
    return re.sub(r"<img src='([^':]+\.png)'", sub, page)


def build_report(run_dir: str | Path, *, self_contained: bool = False,
                 model_cards: Sequence[str | Path] = ()) -> Path:
    """Write the report of the run in ``run_dir`` and return its path: ``report/index.html`` (+
    PNGs), or with ``self_contained`` the single file ``report/report-single.html``.
    ``model_cards``: ScoreCard CSVs of a model's own fire output (``fireform score --out``),
    added to the portrait plot."""
    run = open_run(run_dir)
    try:
        out = run.path / "report"
        out.mkdir(exist_ok=True)
        s = run.spec.split
        periods = {"train": tuple(s.train_years), "holdout": tuple(s.holdout_years)}
        extra = (pd.concat([portrait.read_model_card(p, periods) for p in model_cards], ignore_index=True)
                 if model_cards else None)
        grid = _grid_views(run, out)
        views: dict[str, Callable[[], str]] = {
            "spec": lambda: _spec(run), "inputs": lambda: scores.inputs(run),
            "leaderboard": lambda: scores.leaderboard(run),
            "portrait": lambda: portrait.portrait(run, out, extra),
            "regions": lambda: scores.regions(run), "residuals": lambda: scores.residuals(run, out),
            "params": lambda: _params(run), "shapley": lambda: search.shapley(run, out),
            "classes": lambda: classes.classes(run),
            "convergence": lambda: search.convergence(run, out), "lineage": lambda: search.lineage(run),
            "formula": lambda: _formula(run, out), "deployment": lambda: scores.deployment(run),
            "decision": lambda: scores.decision(run, out), **grid,
        }
        body = "\n".join(f"<section id='{k}'><h2>{_TITLES[k]}</h2>{views[k]()}</section>" for k in SECTIONS)
        nav = " ".join(f"<a href='#{k}'>{_TITLES[k]}</a>" for k in SECTIONS)
        page = string.Template(_template("report.html")).substitute(
            title=esc(f"fireform run {run.name}"), css=_template("report.css"), nav=nav, body=body,
            spec_hash=esc(run.spec_hash), run_dir=esc(str(run.path)))
        if self_contained:
            path = out / SINGLE_FILE
            page = _inline_images(page, out)
        else:
            path = out / "index.html"
        path.write_text(page)
        return path
    finally:
        run.close()
