"""The library's coverage, the registry's behaviour, and literature values of key mechanisms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fireform.mechanisms as mechs
from fireform.exceptions import DuplicateRegistrationError, UnknownNameError
from fireform.mechanisms._base import REGIMES, Registry

REQUIRED = {
    "productivity_hump", "gpp_gating", "temperature_ignition", "hyperarid_suppression",
    "fuel_ramp", "fuel_biomass_hump", "rh_limiter", "soil_wetness_limiter", "dryness_sigmoid",
    "nesterov_danger", "lightning_ignition", "human_ignition_hump", "population_suppression",
    "cropland_suppression", "cropland_fragmentation", "tree_cover_limiter", "vpd_flammability",
    "globfirm_fire_season", "ed2_dryness_switch", "agb_linear",
}


def test_library_covers_every_regime_with_at_least_16_mechanisms():
    assert len(mechs.REGISTRY) >= 16
    assert REQUIRED <= set(mechs.REGISTRY.ids())
    assert {m.regime for m in mechs.REGISTRY} == set(REGIMES)


def test_proposals_are_marked():
    for m in mechs.REGISTRY:
        if m.tag in ("A", "M"):
            assert "PROPOSAL" in m.notes, m.id
    assert mechs.get("productivity_hump").tag == "A"
    assert mechs.get("cropland_suppression").tag == "A"


def test_registry_rejects_duplicates_and_lists_valid_ids_for_unknown():
    reg = Registry()
    m = mechs.get("rh_limiter")
    reg.add(m)
    with pytest.raises(DuplicateRegistrationError, match="rh_limiter"):
        reg.add(m)
    with pytest.raises(DuplicateRegistrationError):
        mechs.register(mechs.get("fuel_ramp"))  # the global registry too
    with pytest.raises(UnknownNameError) as e:
        mechs.get("rh_limitr")
    assert "rh_limiter" in str(e.value) and "gpp_gating" in str(e.value)


# -- literature values: each mechanism at its defaults reproduces the source formula ---------
def _at_defaults(mech_id, *inputs):
    m = mechs.get(mech_id)
    return m(*[np.asarray(x, dtype=float) for x in inputs],
             **{p.name: p.default for p in m.params})


def test_clm_terms_at_defaults_match_ctsm_li2014():
    theta = np.linspace(0, 1, 11)
    np.testing.assert_allclose(_at_defaults("soil_wetness_limiter", theta),
                               np.exp(-math.pi * (theta / 0.69) ** 2), rtol=1e-12)
    rh = np.array([0.0, 30.0, 55.0, 80.0, 100.0])
    np.testing.assert_allclose(_at_defaults("rh_limiter", rh), [1, 1, 0.5, 0, 0], atol=1e-12)
    d = np.array([0.0, 1.0, 16.0, 100.0, 1000.0])
    clm_unsuppressed = 0.01 + 0.98 * np.exp(-0.025 * d)
    np.testing.assert_allclose(0.99 * _at_defaults("population_suppression", d),
                               clm_unsuppressed, rtol=1e-12)
    t = np.array([250.0, 273.15, 300.0])
    np.testing.assert_allclose(_at_defaults("clm_temperature_limiter", t),
                               np.minimum(1, np.exp(math.pi * (t - 273.15) / 10)), rtol=1e-12)
    u = np.array([0.0, 5.0, 40.0])
    np.testing.assert_allclose(11 * _at_defaults("clm_wind_spread", u),
                               1 + 10 * (1 - np.exp(-0.06 * u)), rtol=1e-12)


def test_spitfire_human_ignitions_peak_at_16_persons_per_km2():
    d = np.linspace(0, 200, 200001)
    f = _at_defaults("human_ignition_hump", d)
    assert d[np.argmax(f)] == pytest.approx(16.0, abs=1e-3)
    assert f.max() == pytest.approx(1.0, abs=1e-12)
    # proportional to SPITFIRE's D exp(-0.5 sqrt(D))
    ref = d * np.exp(-0.5 * np.sqrt(d))
    np.testing.assert_allclose(f[1:], ref[1:] / ref.max(), rtol=1e-9)


def test_humps_peak_at_their_optimum():
    m = mechs.get("productivity_hump")
    assert m(np.array(750.0), x_opt=750.0, sigma=0.7) == pytest.approx(1.0)
    assert m(np.array(375.0), x_opt=750.0, sigma=0.7) == pytest.approx(
        m(np.array(1500.0), x_opt=750.0, sigma=0.7))  # symmetric in log space
    decoy = mechs.get("fuel_biomass_hump")
    assert decoy(np.array(3.0), agb_opt=3.0, sigma=1.0) == pytest.approx(1.0)


def test_gpp_gating_is_one_mechanism_of_antecedent_gpp_and_dryness():
    m = mechs.get("gpp_gating")
    assert m.inputs == ("gpp_mean_12m", "vpd")
    p = dict(gpp0=1000.0, k_gpp=0.01, vpd0=1.5, k_vpd=3.0)
    assert m(np.array(1000.0), np.array(1.5), **p) == pytest.approx(0.25)
    # no fuel build-up -> no fire however dry; no dryness -> little fire however productive
    assert m(np.array(0.0), np.array(10.0), **p) < 1e-4
    assert m(np.array(6000.0), np.array(0.0), **p) < 0.02


def test_globfirm_curve_matches_thonicke_2001():
    w = np.linspace(0, 1, 101)
    p = np.exp(-math.pi * (w / 0.3) ** 2)
    s = p - 1
    a = p * np.exp(s / (0.45 * s**3 + 2.83 * s**2 + 2.96 * s + 1.04))
    np.testing.assert_allclose(_at_defaults("globfirm_fire_season", w), a, rtol=1e-12)
    assert _at_defaults("globfirm_fire_season", 0.0) == pytest.approx(1.0)


def test_nesterov_danger_uses_fates_alpha():
    ni = np.array([0.0, 1000.0, 10000.0])
    np.testing.assert_allclose(_at_defaults("nesterov_danger", ni), 1 - np.exp(-3.7e-4 * ni))


def test_hyperarid_suppression_vanishes_in_deserts():
    m = mechs.get("hyperarid_suppression")
    p = dict(pr0=200.0, k_pr=0.02)
    assert m(np.array(0.0), **p) < 0.02 and m(np.array(1000.0), **p) > 0.99
