"""Ignition-limited mechanisms: temperature seasonality, lightning, combined ignition counts.

Facts and sources: each record's references and notes, and the ConFire
structure. Inputs in catalog units: ``tas`` K, ``lightning`` cloud-to-ground flashes km-2 month-1,
``dry_days`` days, ``popd`` persons km-2.
"""

from __future__ import annotations

import numpy as np

from fireform.mechanisms._base import Mechanism, Param, Shape, register
from fireform.mechanisms._math import PI, clip01, sigmoid

__all__ = [
    "temperature_ignition",
    "clm_temperature_limiter",
    "lightning_ignition",
    "dry_lightning_ignition",
    "clm_ignitions",
    "confire_ignition",
]


# -- Archibald air-temperature ignition sigmoid ----------------------------------------------
def temperature_ignition(tas, *, xp=np, t0, k_t):
    """S(T; t0, k_t) = 1/(1 + exp(-k_t (T - t0))), T in K."""
    return sigmoid(k_t * (tas - t0), xp)


register(
    Mechanism(
        id="temperature_ignition",
        name="Air-temperature ignition/seasonality sigmoid (Archibald-style)",
        func=temperature_ignition,
        inputs=("tas",),
        params=(
            Param("t0", 260.0, 310.0, "K", "air temperature at which the factor is 1/2"),
            Param("k_t", 0.05, 1.0, "K-1", "steepness of the sigmoid", log=True),
        ),
        regime="ignition",
        equation="sigmoid(k_t * (tas - t0))",
        references=("Archibald2009", "Li2014", "Kuhn-Regnier2021"),
        notes=(
            "PROPOSAL [A]: Archibald et al. (2009) examine what limits burnt area in southern "
            "Africa (top predictors: tree cover, rainfall of the previous two years, rainfall "
            "seasonality; ignitions were NOT limiting there) and publish no temperature "
            "equation. The sigmoid S(T; T0, k) (T0 ~ 273-300 K, "
            "k ~ 0.05-1 K-1) generalises CLM Li2014's min(1, exp(pi (T - 273.15)/10)) "
            "(see clm_temperature_limiter) and SINFERNO's temperature sigmoid. No literature "
            "parameter values."
        ),
        shape=Shape(monotone={"tas": 1}),
        tag="A",
    )
)


# -- CLM temperature limiter -----------------------------------------------------------------
def clm_temperature_limiter(tas, *, xp=np, t_frz, t_scale):
    """min(1, exp(pi (T - t_frz) / t_scale)); CLM Li2014: t_frz = 273.15 K, t_scale = 10 K."""
    return xp.minimum(1.0, xp.exp(PI * (tas - t_frz) / t_scale))


register(
    Mechanism(
        id="clm_temperature_limiter",
        name="Cold limit on fire occurrence (CLM Li2014)",
        func=clm_temperature_limiter,
        inputs=("tas",),
        params=(
            Param("t_frz", 263.15, 283.15, "K", "temperature above which cold does not limit",
                  default=273.15),
            Param("t_scale", 2.0, 30.0, "K", "e-folding scale (divided by pi) below t_frz",
                  default=10.0),
        ),
        regime="ignition",
        equation="min(1, exp(3.141592653589793 * (tas - t_frz) / t_scale))",
        references=("Li2014", "ctsm"),
        notes=(
            "[S] fire_m contains min(1, exp(SHR_CONST_PI*(forc_t - SHR_CONST_TKFRZ)/10)) in "
            "ESCOMP/CTSM src/biogeochem/CNFireLi2014Mod.F90. CLM applies it to sub-daily air "
            "temperature; here to the monthly mean."
        ),
        shape=Shape(monotone={"tas": 1}),
        tag="S",
    )
)


# -- Lightning ignition ramp -----------------------------------------------------------------
def lightning_ignition(lightning, *, xp=np, l_lo, l_hi):
    """clip((L - l_lo) / (l_hi - l_lo)), L cloud-to-ground flashes km-2 month-1."""
    return clip01((lightning - l_lo) / (l_hi - l_lo), xp)


register(
    Mechanism(
        id="lightning_ignition",
        name="Lightning ignition ramp with saturation (CTEM)",
        func=lightning_ignition,
        inputs=("lightning",),
        params=(
            Param("l_lo", 0.0, 2.0, "km-2 month-1", "flash density below which no fire starts",
                  default=0.25),
            Param("l_hi", 3.0, 100.0, "km-2 month-1", "flash density at which ignitions saturate",
                  log=True, default=10.0),
        ),
        regime="ignition",
        equation="clip((lightning - l_lo) / (l_hi - l_lo))",
        references=("AroraBoer2005",),
        notes=(
            "[S] CTEM converts total flashes to cloud-to-ground "
            "(0.22 exp(0.0059 |lat|)) and ramps the ignition probability linearly over 0.25..10 "
            "flashes km-2 month-1 (defaults). The catalog's lightning is already cloud-to-ground, "
            "so no conversion here. The CTEM source was not re-read for this library."
        ),
        shape=Shape(monotone={"lightning": 1}),
        tag="S",
    )
)


# -- LimFIRE dry lightning -------------------------------------------------------------------
def dry_lightning_ignition(lightning, dry_days, *, xp=np, k_l, c_wet):
    """1 - exp(-k_l L exp(-c_wet (1 - dry_days / 31))): saturating dry-lightning ignitions."""
    dry_l = lightning * xp.exp(-c_wet * (1.0 - dry_days / 31.0))
    return 1.0 - xp.exp(-k_l * dry_l)


register(
    Mechanism(
        id="dry_lightning_ignition",
        name="Dry-lightning ignitions (LimFIRE), saturating",
        func=dry_lightning_ignition,
        inputs=("lightning", "dry_days"),
        params=(
            Param("k_l", 0.01, 10.0, "month km2", "ignitions per dry flash (saturation rate)",
                  log=True),
            Param("c_wet", 0.0, 5.0, "1", "suppression of lightning fires by wet days",
                  default=2.835),
        ),
        regime="ignition",
        equation="1 - exp(-k_l * lightning * exp(-c_wet * (1 - dry_days / 31)))",
        references=("Kelley2019",),
        notes=(
            "[S] LimFIRE dry lightning = 0.8533 CG exp(-2.835 "
            "wet-day fraction) (default c_wet = 2.835; 0.8533 is absorbed into k_l). "
            "Departures: wet-day fraction approximated as 1 - dry_days/31 (dry days have < 1 mm; "
            "short months never reach 1), and ignitions saturate as 1 - exp(-k_l x dry "
            "lightning) to stay in [0, 1] (k_l has no literature value)."
        ),
        shape=Shape(monotone={"lightning": 1, "dry_days": 1}),
        tag="S",
    )
)


# -- CLM ignition counts (lightning + people) ------------------------------------------------
def clm_ignitions(lightning, popd, *, xp=np, eff_l, a_h, i_sat):
    """min(1, (eff_l L + a_h 6.8 D^0.43) / i_sat): CLM natural + human ignitions (km-2 month-1)."""
    ign = eff_l * lightning + a_h * 6.8 * xp.power(popd, 0.43)
    return xp.minimum(1.0, ign / i_sat)


register(
    Mechanism(
        id="clm_ignitions",
        name="Natural + human ignition counts (CLM Li et al.), capped",
        func=clm_ignitions,
        inputs=("lightning", "popd"),
        params=(
            Param("eff_l", 0.05, 1.0, "1", "ignition efficiency of a cloud-to-ground flash",
                  default=0.25),
            Param("a_h", 5e-4, 0.05, "km^-1.14 month-1",
                  "potential human ignition counts (alpha)", log=True, default=0.0035),
            Param("i_sat", 0.05, 50.0, "km-2 month-1",
                  "ignition density at which the factor saturates (normalisation)", log=True),
        ),
        regime="ignition",
        equation="min(1, (eff_l * lightning + a_h * 6.8 * popd^0.43) / i_sat)",
        references=("Li2012", "Li2014", "ctsm"),
        notes=(
            "[S] ESCOMP/CTSM src/biogeochem/CNFireLi2014Mod.F90: lh = alpha 6.8 hdm^0.43 "
            "(per km2 per month, divided there by 30*24 for hours) and "
            "ig = (lh + lnfm/(5.16 + 2.16 cos(3 lat)) 0.25) (1 - fs)(1 - cropf); alpha "
            "(pot_hmn_ign_counts_alpha) comes from the parameter file: 0.0035 (Li2014, "
            "default) or 0.010 (Li2016+). The code's flash efficiency is 0.25 "
            "(Li et al. 2012 state 0.22). Departures: the catalog's lightning is already "
            "cloud-to-ground, so psi(lat) is dropped and eff_l multiplies it directly; the "
            "count is divided by i_sat and capped at 1 (no CLM value - fit it). Suppression "
            "(1 - fs) and cropland (1 - cropf) are separate terms: population_suppression, "
            "cropland_fragmentation."
        ),
        shape=Shape(monotone={"lightning": 1, "popd": 1}),
        tag="S",
    )
)


# -- ConFire ignition control ----------------------------------------------------------------
def confire_ignition(lightning, popd, *, xp=np, h_pop, ig0, k_ig):
    """S(L + h_pop D; ig0, k_ig): ConFire's ignition control on a linear mix of drivers."""
    return sigmoid(k_ig * (lightning + h_pop * popd - ig0), xp)


register(
    Mechanism(
        id="confire_ignition",
        name="ConFire ignition control: sigmoid of lightning + people",
        func=confire_ignition,
        inputs=("lightning", "popd"),
        params=(
            Param("h_pop", 0.0, 1.0, "km-2 month-1 per (person km-2)",
                  "ignitions per person relative to one flash"),
            Param("ig0", 0.0, 20.0, "km-2 month-1", "ignition density at which the control is 1/2"),
            Param("k_ig", 0.05, 10.0, "month km2", "steepness of the ignition control", log=True),
        ),
        regime="ignition",
        equation="sigmoid(k_ig * (lightning + h_pop * popd - ig0))",
        references=("Kelley2019", "confire"),
        notes=(
            "[S] ConFire (douglask3/Bayesian_fire_models fire_model/ConFire.py): a control is "
            "1/(1 + exp(-k (sum_j beta_j x_j + x0))); LimFIRE/ConFire's ignition control mixes "
            "lightning and population density linearly (Kelley et al. 2019). Here beta of "
            "lightning is 1 (absorbed into k_ig). Parameters are fitted in ConFire: no default."
        ),
        shape=Shape(monotone={"lightning": 1, "popd": 1}),
        tag="S",
    )
)
