"""Relatives from the mechanism metadata, swapped forms, swap verdicts and class labels."""

import math

import pytest

from fireform.ablation.swaps import class_label, compare_swap, raw_inputs, relatives, swap_form
from fireform.exceptions import FormError
from fireform.forms import Form
from fireform.mechanisms import REGISTRY

FORM = Form.from_mechanisms(["gpp_gating", "temperature_ignition", "hyperarid_suppression", "vpd_flammability"])


def test_raw_inputs_resolve_derived_drivers_to_what_they_are_computed_from():
    assert raw_inputs(["pr_annual"]) == {"pr"}
    assert raw_inputs(["gpp_mean_12m", "vpd"]) == {"gpp", "vpd"}
    assert raw_inputs(["dryness"]) == {"pr", "vpd"}
    assert raw_inputs(["tas"]) == {"tas"}


@pytest.mark.parametrize("term", FORM.term_ids)
def test_every_relative_shares_a_raw_input_or_the_regime_and_none_is_in_the_form(term):
    mine = raw_inputs(FORM.term(term).inputs)
    regime = REGISTRY.get(term).regime
    rel = relatives(FORM, term)
    assert rel, f"{term} has no relative in the library"
    for r in rel:
        m = REGISTRY.get(r.mechanism)
        assert r.mechanism not in FORM.term_ids
        assert set(r.shared_inputs) == mine & raw_inputs(m.inputs)
        assert r.same_regime == (m.regime == regime)
        assert r.shared_inputs or r.same_regime
    # every library mechanism that qualifies is listed (the definition, not a hand list)
    expected = {m.id for m in REGISTRY if m.id not in FORM.term_ids
                and ((mine & raw_inputs(m.inputs)) or m.regime == regime)}
    assert {r.mechanism for r in rel} == expected


def test_relatives_rank_closest_first():
    rel = relatives(FORM, "temperature_ignition")
    # the only other mechanism on temperature alone, in the same regime, comes first
    assert rel[0].mechanism == "clm_temperature_limiter"
    keys = [(-len(r.shared_inputs), not r.same_regime, -r.jaccard) for r in rel]
    assert keys == sorted(keys)
    # hyperarid suppression reads the annual precipitation: the monthly-precipitation mechanism
    # is a relative through the raw driver
    assert "precip_wetting" in [r.mechanism for r in relatives(FORM, "hyperarid_suppression")[:2]]


def test_relatives_leave_out_mechanisms_the_data_cannot_feed():
    have = {"gpp_mean_12m", "vpd", "tas", "pr_annual"}
    rel = relatives(FORM, "temperature_ignition", available=have)
    assert rel and all(set(REGISTRY.get(r.mechanism).inputs) <= have for r in rel)
    assert "confire_moisture" not in [r.mechanism for r in rel]  # needs soil moisture and rh


def test_swap_form_replaces_one_term_and_refuses_a_duplicate():
    s = swap_form(FORM, "temperature_ignition", "clm_temperature_limiter")
    assert set(s.term_ids) == set(FORM.term_ids) - {"temperature_ignition"} | {"clm_temperature_limiter"}
    assert s.hash != FORM.hash
    with pytest.raises(FormError, match="already has 'gpp_gating'"):
        swap_form(FORM, "vpd_flammability", "gpp_gating")


def test_compare_swap_in_class_within_noise_and_regions_that_tell_apart():
    v = compare_swap(0.90, 0.899, 0.002, regional={"global": 0.9, "SHAF": 0.8, "BONA": 0.7},
                     swap_regional={"global": 0.899, "SHAF": 0.75, "BONA": float("nan")},
                     regional_noise={"SHAF": 0.01})
    assert v.in_class and v.within_noise and not v.better
    assert v.regions_differing == ("SHAF",)  # BONA undefined for the swap: cannot tell
    worse = compare_swap(0.90, 0.89, 0.002)
    assert not worse.in_class and not worse.within_noise and math.isclose(worse.delta, -0.01)
    better = compare_swap(0.90, 0.91, 0.002)
    assert better.in_class and better.better and not better.within_noise
    assert not compare_swap(0.9, float("nan"), 0.002).in_class
    with pytest.raises(ValueError, match="fit noise"):
        compare_swap(0.9, 0.9, float("nan"))


def test_class_label_names_classes_and_flags():
    terms = ["gpp_gating", "temperature_ignition", "vpd_flammability"]
    lab = class_label(terms, {"temperature_ignition": ["clm_temperature_limiter", "nesterov_danger"]},
                      flagged=["vpd_flammability"])
    assert lab == ("gpp_gating x {temperature_ignition ~ clm_temperature_limiter ~ nesterov_danger} "
                   "x vpd_flammability?")
    assert class_label(terms, {}) == " x ".join(terms)
