"""Form: construction, canonical JSON, hash, layout, structure edits, rendering, evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fireform.exceptions import ExpressionError, FormError, UnknownNameError
from fireform.forms.form import Form, MechanismTerm, NewTerm, Scale
from fireform.mechanisms._base import Param

from .conftest import MECHS

NEW_TERM = {
    "name": "wind_boost",
    "expression": "1 - exp(-b_w*wind)",
    "params": [{"name": "b_w", "lo": 0.01, "hi": 2.0, "units": "s m-1", "description": "rate",
                "log": True}],
    "rationale": "Wind spreads fire; saturating response as in CLM's spread term.",
    "references": ["Li2012"],
}


def _form_json(terms, **kw):
    return {"name": "t", "description": "d", "references": ["x"],
            "scale": {"lo": 1e-4, "hi": 0.5, "log": True}, "terms": terms, **kw}


def test_from_json_and_canonical_round_trip(registry):
    d = _form_json([{"mechanism": "t_temp"}, NEW_TERM, {"mechanism": "t_pop"}],
                   defaults={"t_temp.t0": 290.0})
    f = Form.from_json(d, registry=registry)
    assert f.term_ids == ("t_pop", "t_temp", "wind_boost")  # sorted
    again = Form.from_json(f.to_json(), registry=registry)
    assert again == f and again.to_json() == f.to_json() and again.hash == f.hash
    assert json.loads(f.to_json())["defaults"] == {"t_temp.t0": 290.0}


def test_hash_is_order_and_metadata_independent(registry):
    a = Form.from_json(_form_json([{"mechanism": "t_temp"}, NEW_TERM]), registry=registry)
    b = Form.from_json(_form_json([NEW_TERM, {"mechanism": "t_temp"}], name="other",
                                  description="zzz", references=[]), registry=registry)
    assert a.hash == b.hash and len(a.hash) == 12 and int(a.hash, 16) >= 0
    # the math changes the hash: bounds, expression, scale, terms
    c = Form.from_json(_form_json([{"mechanism": "t_temp"}, {**NEW_TERM, "expression": "1 - exp(-b_w*wind*2)"}]), registry=registry)
    d = Form.from_json({**_form_json([{"mechanism": "t_temp"}, NEW_TERM]), "scale": {"lo": 1e-5, "hi": 0.5}}, registry=registry)
    e = Form.from_json(_form_json([{"mechanism": "t_temp"}]), registry=registry)
    assert len({a.hash, c.hash, d.hash, e.hash}) == 4
    # whitespace in the expression does not change it (canonical text is hashed)
    f = Form.from_json(_form_json([{"mechanism": "t_temp"}, {**NEW_TERM, "expression": "1-exp( -b_w * wind )"}]), registry=registry)
    assert f.hash == a.hash


def test_hash_stable_across_processes(tmp_path):
    """Same hash in a fresh interpreter with a different PYTHONHASHSEED."""
    code = (
        "from fireform.forms.form import Form, NewTerm\n"
        "from fireform.mechanisms._base import Param\n"
        "t = NewTerm('g', 'sigmoid(k*(tas - t0))', (Param('k', 0.05, 1.0, 'K-1', ''), "
        "Param('t0', 270.0, 300.0, 'K', '')), 'r', ('x',))\n"
        "print(Form(terms=(t,)).hash)\n"
    )
    hashes = set()
    for seed in ("12345",):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        hashes.add(r.stdout.strip())
    t = NewTerm("g", "sigmoid(k*(tas - t0))", (Param("k", 0.05, 1.0, "K-1", ""),
                Param("t0", 270.0, 300.0, "K", "")), "r", ("x",))
    hashes.add(Form(terms=(t,)).hash)
    assert len(hashes) == 1


def test_param_layout_and_bounds(registry):
    f = Form.from_json(_form_json([NEW_TERM, {"mechanism": "t_temp"}]), registry=registry)
    assert f.param_names == ["scale", "t_temp.t0", "t_temp.k", "wind_boost.b_w"]
    b = f.bounds
    np.testing.assert_array_equal(b.lo, [1e-4, 270.0, 0.05, 0.01])
    np.testing.assert_array_equal(b.hi, [0.5, 300.0, 1.0, 2.0])
    np.testing.assert_array_equal(b.log, [True, False, True, True])
    assert f.params[1].units == "K" and f.params[1].term == "t_temp"
    th = f.default_theta()
    assert th[1] == 285.0  # the mechanism's literature default
    assert th[2] == pytest.approx(np.sqrt(0.05 * 1.0))  # log-scale midpoint
    assert th[0] == pytest.approx(np.sqrt(1e-4 * 0.5))
    assert np.all((th >= b.lo) & (th <= b.hi))
    assert f.theta_dict(th)["t_temp.t0"] == 285.0
    np.testing.assert_array_equal(f.theta_vector(f.theta_dict(th)), th)


def test_theta_errors(registry):
    f = Form.from_mechanisms(["t_temp"], registry=registry)
    with pytest.raises(FormError, match="has 2 values, the layout has 3"):
        f.theta_vector([1.0, 2.0])
    with pytest.raises(FormError, match="missing"):
        f.theta_vector({"scale": 0.1})


def test_inputs_and_structure_edits(registry):
    f = Form.from_mechanisms(["t_gpp_gate", "t_temp", "t_pop"], registry=registry, name="three")
    assert f.inputs == ("tas", "rh", "popd", "gpp_mean_12m")  # catalog order
    assert f.subset(["t_temp", "t_pop"]).term_ids == ("t_pop", "t_temp")
    assert f.without("t_pop").term_ids == ("t_gpp_gate", "t_temp")
    g = f.with_term(NewTerm.from_dict(NEW_TERM))
    assert "wind_boost" in g.term_ids and "wind" in g.inputs
    with pytest.raises(FormError, match="already has a term"):
        g.with_term(NewTerm.from_dict(NEW_TERM))
    with pytest.raises(UnknownNameError, match="t_pop, t_temp"):
        f.without("t_nope")
    assert Form.from_mechanisms(["t_temp", "t_pop"], registry=registry) == Form.from_mechanisms(["t_pop", "t_temp"], registry=registry)


def test_subset_drops_defaults_of_removed_terms(registry):
    f = Form.from_json(_form_json([{"mechanism": "t_temp"}, {"mechanism": "t_pop"}],
                                  defaults={"t_temp.t0": 290.0, "t_pop.a": 0.02}), registry=registry)
    assert dict(f.without("t_temp").defaults) == {"t_pop.a": 0.02}


def test_alias_for_repeated_mechanism(registry):
    d = _form_json([{"mechanism": "t_temp"}, {"mechanism": "t_temp", "alias": "t_temp_cold"}])
    f = Form.from_json(d, registry=registry)
    assert f.term_ids == ("t_temp", "t_temp_cold")
    assert "t_temp_cold.t0" in f.param_names
    with pytest.raises(FormError, match="duplicate term ids"):
        Form.from_json(_form_json([{"mechanism": "t_temp"}, {"mechanism": "t_temp"}]), registry=registry)


def test_unknown_mechanism_lists_valid_ids(registry):
    with pytest.raises(UnknownNameError, match="unknown mechanism 'nope'.*t_crop, t_dry"):
        Form.from_json(_form_json([{"mechanism": "nope"}]), registry=registry)


def test_unknown_input_names_input_and_catalog(registry):
    bad = {**NEW_TERM, "expression": "1 - exp(-b_w*gdp)"}
    with pytest.raises(ExpressionError, match=r"unknown name 'gdp'.*catalog input.*tas"):
        Form.from_json(_form_json([bad]), registry=registry)
    # an unknown input in a mechanism record is a FormError naming the catalog file
    from dataclasses import replace

    m = replace(MECHS[1], id="t_bad", inputs=("gdp",))
    with pytest.raises(FormError, match=r"input 'gdp' is not in the variable catalog.*catalog.yml"):
        MechanismTerm(m)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"rationale": ""}, "rationale is required"),
        ({"references": []}, "at least one reference"),
        ({"params": [{"name": "b_w", "lo": 0.01}]}, "unbounded"),
        ({"params": [{"name": "b_w", "lo": 0.0, "hi": float("inf")}]}, "finite"),
        ({"params": []}, "unknown name 'b_w'"),
        ({"params": [*NEW_TERM["params"], {"name": "q", "lo": 0, "hi": 1}]}, "declared but not used"),
        ({"expression": "1 - exp(-b_w*wind).real"}, "attribute access"),
        ({"expression": "1 - getattr(wind, b_w)"}, "outside the allowed functions"),
        ({"expression": "wind^12*b_w"}, "absurd exponent"),
        ({"name": "scale"}, "identifier other than 'scale'"),
        ({"name": "bad-name"}, "identifier"),
    ],
)
def test_malformed_new_terms(registry, change, match):
    with pytest.raises(FormError, match=match):
        Form.from_json(_form_json([{**NEW_TERM, **change}]), registry=registry)


def test_malformed_form_structure(registry):
    with pytest.raises(FormError, match="unknown keys"):
        Form.from_json(_form_json([{"mechanism": "t_temp", "evil": 1}]), registry=registry)
    with pytest.raises(FormError, match="'terms' must be a list"):
        Form.from_json({"name": "x"}, registry=registry)
    with pytest.raises(FormError, match="not valid JSON"):
        Form.from_json("{nope", registry=registry)
    with pytest.raises(FormError, match="default for unknown parameter"):
        Form.from_json(_form_json([{"mechanism": "t_temp"}], defaults={"t_temp.zz": 1}), registry=registry)
    with pytest.raises(FormError, match="outside its bounds"):
        Form.from_json(_form_json([{"mechanism": "t_temp"}], defaults={"t_temp.t0": 1000}), registry=registry)
    with pytest.raises(FormError, match="scale"):
        Scale(lo=0.0, hi=1.0, log=True)


def test_text_and_latex(registry):
    f = Form.from_json(_form_json([{"mechanism": "t_temp"}, NEW_TERM]), registry=registry)
    txt = f.text()
    assert f.hash in txt and "sigmoid(k*(tas - t0))" in txt and "[archibald2009]" in txt
    assert "b_w in [0.01, 2] (log) s m-1" in txt
    tex = f.latex()
    assert tex.startswith("\\begin{aligned}") and r"\sigma\left(" in tex and r"f_{\mathrm{wind\_boost}}" in tex
    tex2 = f.latex(f.default_theta())
    assert "285" in tex2 and r"\mathit{t0}" not in tex2


def test_evaluate_matches_hand_computation(registry, drivers):
    f = Form.from_mechanisms(["t_temp", "t_pop"], registry=registry)
    th = {"scale": 0.01, "t_temp.t0": 290.0, "t_temp.k": 0.2, "t_pop.a": 0.03}
    out = f.evaluate(th, drivers)
    tas = drivers.array("tas").astype(float)
    popd = drivers.array("popd").astype(float)
    want = 0.01 / (1 + np.exp(-0.2 * (tas - 290.0))) * (0.01 + 0.98 * np.exp(-0.03 * popd))
    assert out.shape == (drivers.n_cells, drivers.n_months) and out.dtype == np.float64
    np.testing.assert_allclose(out, want, rtol=1e-12)
    # a static-only form still gives (n_cells, n_months)
    assert Form.from_mechanisms(["t_pop"], registry=registry).evaluate(
        {"scale": 0.1, "t_pop.a": 0.01}, drivers).shape == (drivers.n_cells, drivers.n_months)


def test_evaluate_new_term_and_scale_only(registry, drivers):
    f = Form.from_json(_form_json([NEW_TERM]), registry=registry)
    out = f.evaluate([0.2, 0.5], drivers)
    np.testing.assert_allclose(out, 0.2 * (1 - np.exp(-0.5 * drivers.array("wind").astype(float))))
    empty = Form(terms=())
    assert np.all(empty.evaluate([0.3], drivers) == 0.3)


def test_form_file_load(tmp_path, registry):
    p = tmp_path / "f.json"
    p.write_text(json.dumps(_form_json([{"mechanism": "t_temp"}])))
    assert Form.load(p, registry=registry).term_ids == ("t_temp",)
    with pytest.raises(FormError, match="does not exist"):
        Form.load(tmp_path / "missing.json", registry=registry)


def test_library_baselines_load_if_present():
    """Every baseline form shipped with the mechanism library loads and evaluates."""
    from fireform.forms.form import default_registry

    reg = default_registry()
    base = Path(__file__).resolve().parents[2] / "src" / "fireform" / "mechanisms"
    try:
        from fireform.mechanisms import BASELINES
    except ImportError:
        pytest.skip("mechanism baselines not available")
    assert BASELINES, f"no baselines in {base}"
    for name, spec in BASELINES.items():
        f = Form.from_json(spec if not isinstance(spec, Form) else spec.to_dict(), registry=reg)
        assert f.term_ids and np.all(np.isfinite(f.default_theta()))
