"""The report's views on small hand-made inputs (no run needed)."""

import numpy as np
import pandas as pd
import pytest

from fireform.forms.expr import parse, to_text
from fireform.loop.spec import parse_spec
from fireform.report.views import formula, portrait, tables
from fireform.report.views.grid import GridData, Period


def test_formula_rounds_to_4_digits_and_folds_signs():
    e = formula.rounded(parse("exp(-(x - a) * b) + c - d"), {"a": -0.1912345678, "b": 12.3456789,
                                                            "c": -3.0e-6, "d": -2.0})
    s = to_text(e)
    assert s == "exp(-(x + 0.1912)*12.35) - 3e-06 + 2"
    assert "- -" not in s and "+ -" not in s


def test_citation_is_rendered_from_bibtex():
    html = formula.citation("K", {"author": "Pausas, Juli G. and Ribeiro, Eloi", "year": "2013",
                                  "title": "The global fire--productivity {R}elationship",
                                  "journal": "Global Ecology and Biogeography", "volume": "22",
                                  "pages": "728--736", "doi": "10.1111/geb.12043"})
    assert html.startswith("Pausas, J. G.; Ribeiro, E. (2013). The global fire\u2013productivity Relationship.")
    assert "<i>Global Ecology and Biogeography</i> 22, 728\u2013736." in html and "{" not in html


@pytest.mark.parametrize("source, hidden, shown", [
    ("twin", ["paths", "mapping", "regions"], ["res", "truth", "noise"]),
    ("pantanal", ["res", "truth", "noise", "paths", "mapping"], ["regions"]),
])
def test_spec_shows_only_the_data_keys_of_its_source(source, hidden, shown):
    spec = parse_spec({"name": "s", "data": {"source": source, "years": [2010, 2012]},
                       "split": {"train_years": [2010, 2011], "holdout_years": [2012, 2012]}})
    text, dropped = formula.spec_toml(spec)
    data = text.split("[data]")[1].split("\n\n")[0]
    keys = [ln.split(" =")[0] for ln in data.strip().splitlines()]
    assert set(hidden) <= set(dropped) and not set(hidden) & set(keys) and set(shown) <= set(keys)
    assert "[split]" in text and "[budget]" in text  # the other sections exactly as frozen


def test_portrait_colour_is_ilamb_relative_rule():
    df = pd.DataFrame({"model": ["a", "b", "c", "a", "b"], "period": "train", "region": "global",
                       "component": ["bias"] * 3 + ["rmse"] * 2, "value": [0.5, 0.7, 0.9, 0.60, 0.61]})
    rel = portrait.relative(df).to_numpy()
    std = np.std([0.5, 0.7, 0.9])
    np.testing.assert_allclose(rel[:3], [(0.5 - 0.7) / std, 0, (0.9 - 0.7) / std], atol=1e-12)
    np.testing.assert_allclose(rel[3:], [-0.005 / 0.02, 0.005 / 0.02])  # spread below the 0.02 floor


def _gd(lat, lon):
    iy, ix = [a.ravel() for a in np.meshgrid(np.arange(lat.size), np.arange(lon.size), indexing="ij")]
    n = iy.size
    obs = np.full((n, 12), 0.01)
    p = Period("train", pd.date_range("2001-01-01", periods=12, freq="MS"), obs, {"final": obs * 2}, None)  # type: ignore[arg-type]
    return GridData(lat=lat, lon=lon, iy=iy, ix=ix, area=np.full(n, 1e10), regions={"global": np.ones(n, bool)},
                    periods={"train": p})


def test_biome_table_skipped_with_reason_without_the_bundle(monkeypatch, tmp_path):
    monkeypatch.delenv("FIREFORM_DATA", raising=False)
    out = tables.biome_table(_gd(np.array([-10.0, 10.0]), np.array([20.0, 25.0])), data_dir=None)
    assert out.startswith("<p class=skip>Biome table skipped:") and "FIREFORM_DATA" in out


def test_group_table_totals_in_mha_per_year():
    gd = _gd(np.array([-10.0, 10.0]), np.array([20.0, 25.0]))
    t = tables.group_table(gd, {"all": np.ones(4, bool)})
    # 4 cells of 1 Mha, 1% burned per month for 12 months: 0.48 Mha observed, twice that modelled
    assert t["observed Mha/yr"].iloc[0] == pytest.approx(0.48)
    assert t["final bias %"].iloc[0] == pytest.approx(100.0)


def test_citation_turns_latex_accents_and_urls_into_text():
    html = formula.citation("K", {"author": "Kuhn-R{\\'e}gnier, Alexander", "title": "python-inferno",
                                  "howpublished": "\\url{https://github.com/akuhnregnier/python-inferno}"})
    assert html.startswith("Kuhn-R\u00e9gnier, A. (n.d.). python-inferno.")
    assert "<a href='https://github.com/akuhnregnier/python-inferno'>" in html and "\\url" not in html
