"""Weather / dryness-driven mechanisms: humidity, soil wetness, dryness indices, rain, wind.

Facts and sources: each record's references and notes, the ED2 baseline and the
ConFire structure. Inputs in catalog units: ``rh`` percent, ``soil_moisture`` relative wetness
(0 = wilting, 1 = saturation), ``vpd`` kPa, ``pr`` mm day-1, ``tas`` K, ``wind`` m s-1,
``dryness`` (-1..1, 1 = dry), ``nesterov`` delta degC.
"""

from __future__ import annotations

import numpy as np

from fireform.mechanisms._base import Mechanism, Param, Shape, register
from fireform.mechanisms._math import PI, clip01, sigmoid

__all__ = [
    "rh_limiter",
    "soil_wetness_limiter",
    "ctem_soil_wetness",
    "dryness_sigmoid",
    "nesterov_danger",
    "vpd_flammability",
    "precip_wetting",
    "globfirm_fire_season",
    "ed2_dryness_switch",
    "clm_wind_spread",
    "confire_moisture",
]


# -- Relative-humidity limiter ---------------------------------------------------------------
def rh_limiter(rh, *, xp=np, rh_lo, rh_hi):
    """1 - clip((RH - rh_lo) / (rh_hi - rh_lo)); bounds keep rh_hi > rh_lo."""
    return 1.0 - clip01((rh - rh_lo) / (rh_hi - rh_lo), xp)


register(
    Mechanism(
        id="rh_limiter",
        name="Relative-humidity limiter (CLM / INFERNO ramp)",
        func=rh_limiter,
        inputs=("rh",),
        params=(
            Param("rh_lo", 0.0, 50.0, "percent", "RH below which humidity does not limit fire",
                  default=30.0),
            Param("rh_hi", 55.0, 100.0, "percent", "RH above which fire cannot occur",
                  default=80.0),
        ),
        regime="weather",
        equation="1 - clip((rh - rh_lo) / (rh_hi - rh_lo))",
        references=("Li2012", "Mangeon2016", "ctsm"),
        notes=(
            "[S] 1 - max(0, min(1, (forc_rh - rh_low)/(rh_hgh - rh_low))) in ESCOMP/CTSM "
            "src/biogeochem/CNFireLi2014Mod.F90 (rh_low/rh_hgh from the parameter file; CLM "
            "30/80 %, INFERNO 10/90 %). CLM applies it to sub-daily forcing; "
            "here to monthly mean RH."
        ),
        shape=Shape(monotone={"rh": -1}),
        tag="S",
    )
)


# -- CLM soil-wetness limiter ----------------------------------------------------------------
def soil_wetness_limiter(soil_moisture, *, xp=np, sm_scale):
    """exp(-pi (theta / sm_scale)^2); CLM Li2014: sm_scale = 0.69."""
    return xp.exp(-PI * xp.power(soil_moisture / sm_scale, 2.0))


register(
    Mechanism(
        id="soil_wetness_limiter",
        name="Soil-wetness limiter (CLM Li2014 / GlobFIRM Gaussian)",
        func=soil_wetness_limiter,
        inputs=("soil_moisture",),
        params=(
            Param("sm_scale", 0.1, 2.0, "1", "soil wetness scale of the Gaussian fall-off",
                  log=True, default=0.69),
        ),
        regime="weather",
        equation="exp(-3.141592653589793 * (soil_moisture / sm_scale)^2)",
        references=("Li2012", "Li2014", "ctsm"),
        notes=(
            "[S] fire_m contains exp(-SHR_CONST_PI*(m/0.69)**2) in ESCOMP/CTSM "
            "src/biogeochem/CNFireLi2014Mod.F90, with m = wf, soil water as a fraction of "
            "water-holding capacity in the top 0.05 m. Departure: the catalog's soil_moisture is "
            "root-zone relative wetness, so the scale is fitted (default 0.69 = CLM)."
        ),
        shape=Shape(monotone={"soil_moisture": -1}),
        tag="S",
    )
)


# -- CTEM soil-wetness limiter ---------------------------------------------------------------
def ctem_soil_wetness(soil_moisture, *, xp=np, e_sm):
    """1 - tanh((1.75 theta / e_sm)^2); CTEM: e_sm = 0.3 (root zone) or 0.5 (litter)."""
    return 1.0 - xp.tanh(xp.power(1.75 * soil_moisture / e_sm, 2.0))


register(
    Mechanism(
        id="ctem_soil_wetness",
        name="Soil-wetness limiter (CTEM tanh form)",
        func=ctem_soil_wetness,
        inputs=("soil_moisture",),
        params=(
            Param("e_sm", 0.1, 1.0, "1", "extinction soil wetness scale", default=0.3),
        ),
        regime="weather",
        equation="1 - tanh((1.75 * soil_moisture / e_sm)^2)",
        references=("AroraBoer2005",),
        notes=(
            "[S] (CTEM/CLASSIC: 1 - tanh((1.75 theta/E)^2), E = 0.3 for "
            "the root zone, 0.5 for litter); default e_sm = 0.3 (root zone, matching the "
            "catalog's root-zone soil_moisture). Source file not re-read for this library."
        ),
        shape=Shape(monotone={"soil_moisture": -1}),
        tag="S",
    )
)


# -- Accumulated dryness balance sigmoid (SINFERNO dry_bal) ----------------------------------
def dryness_sigmoid(dryness, *, xp=np, dry0, k_dry):
    """S(d; dry0, k_dry) of the accumulated dryness balance d in [-1, 1]."""
    return sigmoid(k_dry * (dryness - dry0), xp)


register(
    Mechanism(
        id="dryness_sigmoid",
        name="Accumulated dryness-balance sigmoid (SINFERNO dry_bal)",
        func=dryness_sigmoid,
        inputs=("dryness",),
        params=(
            Param("dry0", -1.0, 1.0, "1", "dryness balance at which the factor is 1/2"),
            Param("k_dry", 0.5, 50.0, "1", "steepness of the sigmoid", log=True),
        ),
        regime="weather",
        equation="sigmoid(k_dry * (dryness - dry0))",
        references=("Kuhn-Regnier2021", "pythoninferno"),
        notes=(
            "[S] python-inferno src/python_inferno/dry_bal.py accumulates a dryness balance "
            "in [-1, 1] from rain and VPD, and SINFERNO passes it through a (generalised) "
            "sigmoid. The balance is the derived catalog input `dryness`, a monthly analogue "
            "computed by fireform.drivers.derived.accumulated_dryness (D_t = D_{t-1} + "
            "r (1 - D_{t-1})(1 - exp(-VPD/v0)) - r (1 + D_{t-1})(1 - exp(-P/p0))); this term is "
            "the plain logistic (shape exponent 1). Parameters are fitted in SINFERNO: no "
            "default. Beware a silently wrong derived input (zeros across the Sahel): the input "
            "checks must pass first."
        ),
        shape=Shape(monotone={"dryness": 1}),
        tag="S",
    )
)


# -- Nesterov fire danger (monthly analogue) -------------------------------------------------
def nesterov_danger(nesterov, *, xp=np, alpha_ni):
    """FDI = 1 - exp(-alpha_ni NI) on the monthly Nesterov analogue NI."""
    return 1.0 - xp.exp(-alpha_ni * nesterov)


register(
    Mechanism(
        id="nesterov_danger",
        name="Nesterov-index fire danger 1 - exp(-alpha NI), monthly analogue",
        func=nesterov_danger,
        inputs=("nesterov",),
        params=(
            Param("alpha_ni", 1e-6, 1e-2, "delta_degC-1", "fire-danger coefficient",
                  log=True, default=3.7e-4),
        ),
        regime="weather",
        equation="1 - exp(-alpha_ni * nesterov)",
        references=("Nesterov1949", "Thonicke2010", "fates"),
        notes=(
            "[S] FATES (NGEET/fates fire/SFNesterovMod.F90) accumulates the daily Nesterov index "
            "NI += max(0, (T - T_dew) T) (deg C), reset when rain > 3 mm/day, and uses "
            "FDI = 1 - exp(-alpha NI) with alpha = 3.7e-4 (default; LPJmL-SPITFIRE uses "
            "3.3e-5..6.7e-5). MONTHLY ANALOGUE: the catalog's `nesterov` comes from "
            "fireform.drivers.derived.nesterov_monthly: NI_t = c_t NI_{t-1} + N_t "
            "max(Tmax - Tdew, 0) max(Tmax, 0) (deg C, monthly means), N_t the month's dry days "
            "(< 1 mm), carried over (c_t = 1) only through a month without a wet day. It "
            "approximates the daily index at month end, so the daily alpha is a starting point "
            "only; fit it."
        ),
        shape=Shape(monotone={"nesterov": 1}),
        tag="S",
    )
)


# -- VPD flammability ------------------------------------------------------------------------
def vpd_flammability(vpd, *, xp=np, k_vpd):
    """1 - exp(-k_vpd VPD): saturating flammability in vapour-pressure deficit."""
    return 1.0 - xp.exp(-k_vpd * vpd)


register(
    Mechanism(
        id="vpd_flammability",
        name="Vapour-pressure-deficit flammability (saturating)",
        func=vpd_flammability,
        inputs=("vpd",),
        params=(
            Param("k_vpd", 0.05, 10.0, "kPa-1", "rate at which flammability saturates with VPD",
                  log=True),
        ),
        regime="weather",
        equation="1 - exp(-k_vpd * vpd)",
        references=("Mangeon2016",),
        notes=(
            "PROPOSAL [M]: INFERNO (JULES inferno_mod.F90; Mangeon et al. 2016) makes "
            "flammability grow with saturation vapour pressure times a humidity ramp "
            "(clip(10^Z(T) f_RH fuel (1 - sm) exp(-2 P))), i.e. with atmospheric drying power. "
            "This term condenses that into VPD with a saturating exponential; the form and "
            "k_vpd are ours (no literature value)."
        ),
        shape=Shape(monotone={"vpd": 1}),
        tag="M",
    )
)


# -- INFERNO precipitation wetting -----------------------------------------------------------
def precip_wetting(pr, *, xp=np, c_pr):
    """exp(-c_pr P), P in mm day-1; INFERNO: c_pr = 2."""
    return xp.exp(-c_pr * pr)


register(
    Mechanism(
        id="precip_wetting",
        name="Precipitation wetting of fuel (INFERNO exp(-2 P))",
        func=precip_wetting,
        inputs=("pr",),
        params=(
            Param("c_pr", 0.05, 5.0, "day mm-1", "damping of flammability by current rain",
                  log=True, default=2.0),
        ),
        regime="weather",
        equation="exp(-c_pr * pr)",
        references=("Mangeon2016",),
        notes=(
            "[S] INFERNO flammability carries exp(-2 P), P the "
            "precipitation rate in mm/day (JULES inferno_mod.F90). INFERNO applies it per time "
            "step; here to the monthly mean rate, which damps more weakly than daily rain would."
        ),
        shape=Shape(monotone={"pr": -1}),
        tag="S",
    )
)


# -- GlobFIRM fire-season length -------------------------------------------------------------
def globfirm_fire_season(soil_moisture, *, xp=np, m_e):
    """p = exp(-pi (W / m_e)^2), q = p - 1; A = p exp(q / (0.45 q^3 + 2.83 q^2 + 2.96 q + 1.04))."""
    p = xp.exp(-PI * xp.power(soil_moisture / m_e, 2.0))
    q = p - 1.0
    denom = 0.45 * xp.power(q, 3.0) + 2.83 * xp.power(q, 2.0) + 2.96 * q + 1.04
    return p * xp.exp(q / denom)


_P = "exp(-3.141592653589793 * (soil_moisture / m_e)^2)"
register(
    Mechanism(
        id="globfirm_fire_season",
        name="GlobFIRM fire-season probability and burned-fraction curve (monthly)",
        func=globfirm_fire_season,
        inputs=("soil_moisture",),
        params=(
            Param("m_e", 0.1, 1.0, "1", "moisture of extinction (soil wetness scale)",
                  default=0.3),
        ),
        regime="weather",
        equation=(
            f"{_P} * exp(({_P} - 1) / (0.45 * ({_P} - 1)^3 + 2.83 * ({_P} - 1)^2"
            f" + 2.96 * ({_P} - 1) + 1.04))"
        ),
        references=("Thonicke2001", "lpjml"),
        notes=(
            "[S] (LPJmL src/soil/fire_sum.c; Thonicke et al. 2001): "
            "daily p = exp(-pi (W/m_e)^2), m_e = 0.3; fire-season length s = sum(p)/365; annual "
            "burned fraction A(s) = s exp((s - 1)/(0.45(s-1)^3 + 2.83(s-1)^2 + 2.96(s-1) + 1.04)). "
            "MONTHLY ANALOGUE (departure): p is computed from the month's mean root-zone wetness "
            "and A is applied to p itself, so a month that is dry throughout gets A = p. The "
            "denominator is >= 0.185 on [0, 1] and A is increasing in p (checked numerically)."
        ),
        shape=Shape(monotone={"soil_moisture": -1}),
        tag="S",
    )
)


# -- ED2 dryness switch ----------------------------------------------------------------------
def ed2_dryness_switch(soil_moisture, *, xp=np, theta_fire, k_sw):
    """S(-theta; -theta_fire, k_sw) = 1/(1 + exp(-k_sw (theta_fire - theta))): smooth 1[W < W_F]."""
    return sigmoid(k_sw * (theta_fire - soil_moisture), xp)


register(
    Mechanism(
        id="ed2_dryness_switch",
        name="ED2 soil-water fire switch 1[W < W_F] (smoothed)",
        func=ed2_dryness_switch,
        inputs=("soil_moisture",),
        params=(
            Param("theta_fire", 0.0, 0.6, "1",
                  "relative soil wetness below which fire is switched on", default=0.01),
            Param("k_sw", 5.0, 1000.0, "1", "sharpness of the switch", log=True, default=500.0),
        ),
        regime="weather",
        equation="sigmoid(k_sw * (theta_fire - soil_moisture))",
        references=("Longo2019", "ed2"),
        notes=(
            "[S] ED2 (EDmodel/ED2 ED/src/dynamics/fire.f90; INCLUDE_FIRE = 2, SM_FIRE = -1.4 MPa "
            "in ED/src/init/ed_params.f90 and run/ED2IN): fire happens when "
            "the monthly mean water W (surface + soil above 0.5 m) is below W_F, the water at "
            "soil potential SM_FIRE. Departures: the hard switch is a steep logistic (k_sw = 500 "
            "approximates it; not an ED2 value) and W/W_F become the catalog's root-zone relative "
            "wetness. Translation of the threshold (ours, texture-dependent): with a Clapp-"
            "Hornberger retention curve (b ~ 5, loam) the water content at -1.4 MPa is ~1.4% "
            "above the -1.5 MPa wilting point, i.e. a relative wetness of ~0.01 - hence the "
            "default theta_fire = 0.01."
        ),
        shape=Shape(monotone={"soil_moisture": -1}),
        tag="S",
    )
)


# -- CLM wind: length-to-breadth ratio of the burned ellipse ---------------------------------
def clm_wind_spread(wind, *, xp=np, c_wind):
    """(1 + 10 (1 - exp(-c_wind u))) / 11: CLM's L_B normalised by its maximum 11."""
    return (1.0 + 10.0 * (1.0 - xp.exp(-c_wind * wind))) / 11.0


register(
    Mechanism(
        id="clm_wind_spread",
        name="Wind-driven spread (CLM length-to-breadth ratio)",
        func=clm_wind_spread,
        inputs=("wind",),
        params=(
            Param("c_wind", 0.01, 0.5, "s m-1", "rate at which L_B saturates with wind speed",
                  log=True, default=0.06),
        ),
        regime="weather",
        equation="(1 + 10 * (1 - exp(-c_wind * wind))) / 11",
        references=("Li2012", "ctsm"),
        notes=(
            "[S] Lb_lf = 1 + 10 (1 - exp(-0.06 forc_wind)) in ESCOMP/CTSM "
            "src/biogeochem/CNFireLi2014Mod.F90, and farea_burned is proportional to Lb_lf. "
            "Departure: divided by 11 (its limit) to lie in [0, 1]; the remaining spread-rate x "
            "duration constants of CLM belong in the form's scale."
        ),
        shape=Shape(monotone={"wind": 1}),
        tag="S",
    )
)


# -- ConFire moisture control ----------------------------------------------------------------
def confire_moisture(soil_moisture, tas, rh, *, xp=np, w_emc, m0, k_m):
    """1 - S(m; m0, k_m), m = (theta + w_emc EMC) / (1 + w_emc), EMC = (10 - 0.25 (T - RH))/100."""
    emc = (10.0 - 0.25 * (tas - 273.15 - rh)) / 100.0
    m = (soil_moisture + w_emc * emc) / (1.0 + w_emc)
    return sigmoid(-k_m * (m - m0), xp)


register(
    Mechanism(
        id="confire_moisture",
        name="ConFire moisture control: live (soil) moisture mixed with dead-fuel EMC",
        func=confire_moisture,
        inputs=("soil_moisture", "tas", "rh"),
        params=(
            Param("w_emc", 0.0, 10.0, "1",
                  "weight of dead-fuel equilibrium moisture vs soil wetness"),
            Param("m0", -0.1, 1.0, "1", "mixed moisture at which the control is half closed"),
            Param("k_m", 1.0, 100.0, "1", "steepness of the moisture control", log=True),
        ),
        regime="weather",
        equation=(
            "sigmoid(-k_m * ((soil_moisture + w_emc * (10 - 0.25 * (tas - 273.15 - rh)) / 100)"
            " / (1 + w_emc) - m0))"
        ),
        references=("Kelley2019", "confire"),
        notes=(
            "[S] ConFire (douglask3/Bayesian_fire_models fire_model/ConFire.py; Kelley et al. "
            "2019): moisture limits fire through a decreasing logistic of a weighted mix of live "
            "fuel moisture and dead-fuel equilibrium moisture EMC = (10 - 0.25 (T - RH))/100 "
            "(T in deg C, RH in %). Departures: root-zone soil wetness stands in for live fuel "
            "moisture, the mix is a normalised weighted mean, and ConFire's emc_weighted "
            "wet-day adjustment is omitted. Parameters are fitted in ConFire: no default."
        ),
        shape=Shape(monotone={"soil_moisture": -1, "tas": 1, "rh": -1}),
        tag="S",
    )
)
