"""Baseline forms as data: plain dicts in the JSON shape ``fireform.forms.Form.from_json`` reads.

Shape of each form::

    {"name", "description", "references": [bibtex keys], "notes",
     "scale": {"lo", "hi", "log", "default"},
     "terms": [{"mechanism": "<id>"}, ...],
     "defaults": {"<term_id>.<param>": value}}   # term_id = the mechanism id here

Every parameter of every term has a default here, so a baseline is fully specified without
looking up ``Param.default``. Where a value is a literature value the mechanism's own record says
so; values marked "warm start" below are ours.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from fireform.exceptions import FormError, UnknownNameError
from fireform.mechanisms._base import REGISTRY

__all__ = ["BASELINES", "baseline", "baseline_names", "check_baseline"]

# ED2: monthly rate lambda = FIRE_PARAMETER [yr-1 per kgC m-2] x AGB x 1[W < W_F]. The fraction
# burned in a month is lambda / 12 (to first order; ED2 averages monthly rates into an annual
# disturbance rate). With agb_linear = min(1, AGB / agb_max) the ED2 slope becomes the scale:
# scale = FIRE_PARAMETER / 12 x agb_max = 0.5 / 12 x 20 = 0.8333.
_ED2_FIRE_PARAMETER = 0.5  # yr-1 (kgC m-2)-1, ED2IN default
_ED2_AGB_MAX = 20.0  # kgC m-2, our normalisation (see fuel.agb_linear notes)
_ED2_SCALE = _ED2_FIRE_PARAMETER / 12.0 * _ED2_AGB_MAX

ED2_STOCK: dict[str, Any] = {
    "name": "ed2_stock",
    "description": (
        "ED2's stock fire: a soil-water dryness switch times a linear above-ground-biomass "
        "fuel term; no ignitions, no humans, no hump."
    ),
    "references": ["Longo2019", "ed2"],
    "notes": (
        "EDmodel/ED2 ED/src/dynamics/fire.f90 + disturbance.f90: monthly rate lambda = "
        "FIRE_PARAMETER x sum_patches(area x AGB [kgC m-2]) x 1[W < W_F], FIRE_PARAMETER = 0.5 "
        "yr-1 per kgC m-2 (ED2IN default), annual disturbance = mean of monthly rates. "
        "Translation to a monthly burned fraction: lambda / 12 (first order in lambda; the exact "
        "fraction would be 1 - exp(-lambda/12)). agb_linear = min(1, AGB/agb_max) with "
        f"agb_max = {_ED2_AGB_MAX:g} kgC m-2 carries the AGB dependence, so the scale is "
        f"FIRE_PARAMETER/12 x agb_max = {_ED2_SCALE:.6g}: ED2 exactly for AGB <= 20 kgC m-2, "
        "capped above (where ED2 itself would burn > 83% of the cell per month). The switch is "
        "a steep logistic at relative soil wetness 0.01 (our translation of W_F at -1.4 MPa; see "
        "ed2_dryness_switch notes). This is the 'ED stock' row of the published table "
        "(Overall 0.4774, rank 23/24)."
    ),
    "scale": {"lo": 1e-5, "hi": 1.0, "log": True, "default": _ED2_SCALE},
    "terms": [{"mechanism": "ed2_dryness_switch"}, {"mechanism": "agb_linear"}],
    "defaults": {
        "ed2_dryness_switch.theta_fire": 0.01,
        "ed2_dryness_switch.k_sw": 500.0,
        "agb_linear.agb_max": _ED2_AGB_MAX,
    },
}

CONFIRE_LIKE: dict[str, Any] = {
    "name": "confire_like",
    "description": (
        "ConFire/LimFIRE structure: Fmax x S(fuel) x S(moisture) x S(ignitions) x "
        "S(suppression), each control a logistic of a linear mix of drivers."
    ),
    "references": ["Kelley2019", "confire"],
    "notes": (
        "douglask3/Bayesian_fire_models fire_model/ConFire.py: BA = prod_i 1/(1 + exp(-k_i "
        "(sum_j beta_ij x_j + x0_i))), times Fmax (the scale). Fuel = trailing 12-month NPP; "
        "moisture = root-zone soil wetness mixed with dead-fuel EMC; ignitions = lightning + "
        "people; suppression = cropland + people. ConFire's parameters are Bayesian posteriors "
        "fitted per application, so every default here is a warm start of ours, not a published "
        "value."
    ),
    "scale": {"lo": 1e-5, "hi": 1.0, "log": True, "default": 0.3},
    "terms": [
        {"mechanism": "confire_fuel"},
        {"mechanism": "confire_moisture"},
        {"mechanism": "confire_ignition"},
        {"mechanism": "confire_suppression"},
    ],
    "defaults": {
        "confire_fuel.npp0": 300.0,
        "confire_fuel.k_npp": 0.01,
        "confire_moisture.w_emc": 1.0,
        "confire_moisture.m0": 0.3,
        "confire_moisture.k_m": 15.0,
        "confire_ignition.h_pop": 0.01,
        "confire_ignition.ig0": 0.5,
        "confire_ignition.k_ig": 2.0,
        "confire_suppression.s_pop": 0.002,
        "confire_suppression.s0": 0.5,
        "confire_suppression.k_s": 5.0,
    },
}

CLM_LI_LIKE: dict[str, Any] = {
    "name": "clm_li_like",
    "description": (
        "CLM Li et al. (2012-2014) structure as a product: fuel availability x soil wetness x "
        "humidity x cold limit x ignitions (lightning + people) x unsuppressed fraction x "
        "non-crop fraction x wind-driven spread."
    ),
    "references": ["Li2012", "Li2013", "Li2014", "ctsm"],
    "notes": (
        "ESCOMP/CTSM src/biogeochem/CNFireLi2014Mod.F90: nfire = ig x fb x fire_m x lgdp, "
        "fire_m = exp(-pi (wf/0.69)^2) (1 - ramp(RH; 30, 80)) min(1, exp(pi (T - 273.15)/10)), "
        "ig = (alpha 6.8 D^0.43 + 0.25 CG lightning)(0.01 + 0.98 exp(-0.025 D))(1 - f_crop), "
        "burned area per fire proportional to Lb_lf (wind) x (spread rate x duration)^2. "
        "Simplifications: the GDP factors, the btran/RH spread factor, peat, crop and "
        "deforestation fires are left out; ignitions are normalised by i_sat (warm start "
        "1 km-2 month-1, not a CLM value). The scale default (0.1) is a warm start of ours: "
        "CLM's spread-rate x duration constants are per-PFT parameter-file values and do not "
        "translate to one number. Other defaults are the CLM values quoted in each mechanism's "
        "notes."
    ),
    "scale": {"lo": 1e-5, "hi": 1.0, "log": True, "default": 0.1},
    "terms": [
        {"mechanism": "fuel_ramp"},
        {"mechanism": "soil_wetness_limiter"},
        {"mechanism": "rh_limiter"},
        {"mechanism": "clm_temperature_limiter"},
        {"mechanism": "clm_ignitions"},
        {"mechanism": "population_suppression"},
        {"mechanism": "cropland_fragmentation"},
        {"mechanism": "clm_wind_spread"},
    ],
    "defaults": {
        "fuel_ramp.fuel_lo": 105.0,
        "fuel_ramp.fuel_hi": 1050.0,
        "soil_wetness_limiter.sm_scale": 0.69,
        "rh_limiter.rh_lo": 30.0,
        "rh_limiter.rh_hi": 80.0,
        "clm_temperature_limiter.t_frz": 273.15,
        "clm_temperature_limiter.t_scale": 10.0,
        "clm_ignitions.eff_l": 0.25,
        "clm_ignitions.a_h": 0.0035,
        "clm_ignitions.i_sat": 1.0,
        "population_suppression.c_sup": 1.0 / 99.0,  # CLM 0.01 + 0.98 e = 0.99 (c + (1-c) e)
        "population_suppression.k_sup": 0.025,
        "cropland_fragmentation.p_crop": 1.0,
        "clm_wind_spread.c_wind": 0.06,
    },
}

BASELINES: dict[str, dict[str, Any]] = {
    f["name"]: f for f in (ED2_STOCK, CONFIRE_LIKE, CLM_LI_LIKE)
}


def baseline_names() -> list[str]:
    return sorted(BASELINES)


def baseline(name: str) -> dict[str, Any]:
    """A deep copy of the baseline form ``name`` (JSON-ready dict); unknown names list the valid."""
    try:
        return copy.deepcopy(BASELINES[name])
    except KeyError:
        raise UnknownNameError(
            f"unknown baseline form {name!r}; valid baselines: {', '.join(baseline_names())}"
        ) from None


def check_baseline(form: dict[str, Any]) -> None:
    """Raise FormError unless every term is registered and every parameter has a default in
    bounds (UnknownNameError for an unregistered mechanism)."""
    name = form.get("name", "<unnamed>")
    sc = form["scale"]
    if not (sc["lo"] <= sc["default"] <= sc["hi"]):
        raise FormError(
            f"baseline {name!r}: scale default {sc['default']} outside [{sc['lo']}, {sc['hi']}]"
        )
    expected: set[str] = set()
    for term in form["terms"]:
        mech = REGISTRY.get(term["mechanism"])  # raises UnknownNameError with the valid ids
        tid = term.get("alias") or mech.id
        for p in mech.params:
            key = f"{tid}.{p.name}"
            expected.add(key)
            if key not in form["defaults"]:
                raise FormError(f"baseline {name!r}: no default for parameter {key!r}")
            v = form["defaults"][key]
            if not (math.isfinite(v) and p.lo <= v <= p.hi):
                raise FormError(
                    f"baseline {name!r}: default {key} = {v} outside [{p.lo}, {p.hi}] ({p.units})"
                )
    extra = set(form["defaults"]) - expected
    if extra:
        raise FormError(f"baseline {name!r}: defaults for unknown parameters {sorted(extra)}")
