"""Baseline forms are data: complete, in bounds, JSON-ready, and readable by Form.from_json."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fireform.mechanisms as mechs
from fireform.exceptions import FormError, UnknownNameError
from fireform.mechanisms.baselines import BASELINES, baseline, baseline_names, check_baseline


def test_required_baselines_exist():
    assert {"ed2_stock", "confire_like", "clm_li_like"} <= set(baseline_names())


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_is_complete_json_data(name):
    b = baseline(name)
    check_baseline(b)
    assert json.loads(json.dumps(b)) == b  # plain JSON data, no objects
    keys = mechs.bib_keys()
    assert b["references"] and all(r in keys for r in b["references"])
    assert b["scale"]["lo"] == 1e-5 and b["scale"]["hi"] == 1.0 and b["scale"]["log"] is True


def test_baseline_returns_a_copy_and_unknown_names_list_valid_ones():
    b = baseline("ed2_stock")
    b["defaults"]["agb_linear.agb_max"] = -1.0
    assert BASELINES["ed2_stock"]["defaults"]["agb_linear.agb_max"] == 20.0
    with pytest.raises(UnknownNameError) as e:
        baseline("ed3_stock")
    assert "ed2_stock" in str(e.value) and "clm_li_like" in str(e.value)


def test_check_baseline_rejects_missing_and_out_of_bounds_defaults():
    b = baseline("ed2_stock")
    del b["defaults"]["ed2_dryness_switch.k_sw"]
    with pytest.raises(FormError, match="no default"):
        check_baseline(b)
    b = baseline("ed2_stock")
    b["defaults"]["agb_linear.agb_max"] = 100.0
    with pytest.raises(FormError, match="outside"):
        check_baseline(b)
    b = baseline("ed2_stock")
    b["terms"].append({"mechanism": "no_such_mechanism"})
    with pytest.raises(UnknownNameError):
        check_baseline(b)


def test_ed2_stock_reproduces_fire_parameter_over_12_times_agb_when_dry():
    b = baseline("ed2_stock")
    d = b["defaults"]
    switch, agb_term = mechs.get("ed2_dryness_switch"), mechs.get("agb_linear")
    agb = np.array([0.5, 5.0, 12.0, 19.9])
    dry = switch(np.zeros_like(agb), theta_fire=d["ed2_dryness_switch.theta_fire"],
                 k_sw=d["ed2_dryness_switch.k_sw"])
    wet = switch(np.full_like(agb, 0.3), theta_fire=d["ed2_dryness_switch.theta_fire"],
                 k_sw=d["ed2_dryness_switch.k_sw"])
    bf = b["scale"]["default"] * agb_term(agb, agb_max=d["agb_linear.agb_max"])
    np.testing.assert_allclose(bf, 0.5 / 12.0 * agb, rtol=1e-12)  # FIRE_PARAMETER = 0.5 yr-1
    assert (dry > 0.99).all() and (wet < 1e-30).all()


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_form_from_json_reads_every_baseline_and_evaluates_in_unit_interval(name):
    from fireform.drivers.derived import add_derived
    from fireform.forms.form import Form
    from fireform.testing.worlds import tiny_drivers

    form = Form.from_json(baseline(name))
    assert set(form.term_ids) == {t["mechanism"] for t in BASELINES[name]["terms"]}
    theta = form.default_theta()
    assert dict(zip(form.param_names, theta))["scale"] == BASELINES[name]["scale"]["default"]
    drivers = tiny_drivers()
    derived = [n for n in form.inputs if n not in drivers]
    if derived:
        drivers = add_derived(drivers, derived)
    bf = form.evaluate(theta, drivers)
    assert bf.shape == drivers.array("tas").shape
    assert np.isfinite(bf).all() and (bf >= 0).all() and (bf <= 1).all()
    assert bf.max() > 0  # something burns somewhere in the tiny world
