"""Test mechanisms in a private Registry (never the global one), and small drivers."""

from __future__ import annotations

import pytest

from fireform.mechanisms._base import Mechanism, Param, Registry
from fireform.testing.worlds import tiny_drivers


def _gpp_gate(gpp_mean_12m, rh, *, xp, g0, kg, rh50):
    fuel = 1.0 / (1.0 + xp.exp(-kg * (gpp_mean_12m - g0)))
    return fuel * (1.0 - xp.minimum(xp.maximum((rh - 10.0) / (rh50 - 10.0), 0.0), 1.0))


def _temp_sigmoid(tas, *, xp, t0, k):
    return 1.0 / (1.0 + xp.exp(-k * (tas - t0)))


def _pop_suppress(popd, *, xp, a):
    return 0.01 + 0.98 * xp.exp(-a * popd)


def _crop(cropland, *, xp, c):
    return xp.exp(-c * cropland)


def _soil(soil_moisture, *, xp, m):
    return 1.0 - xp.tanh((1.75 * soil_moisture / m) ** 2)


def _fuel_hump(fuel, *, xp, x_opt, sigma):
    return xp.exp(-(xp.log(xp.maximum(fuel, 1e-3) / x_opt) ** 2) / (2.0 * sigma**2))


def _dry(dry_days, *, xp, d0, kd):
    return 1.0 / (1.0 + xp.exp(-kd * (dry_days - d0)))


def _vpd(vpd, *, xp, beta):
    return 1.0 - xp.exp(-beta * xp.sqrt(xp.abs(vpd)))


MECHS = [
    Mechanism(
        id="t_gpp_gate", name="GPP gate", func=_gpp_gate, inputs=("gpp_mean_12m", "rh"),
        params=(Param("g0", 100.0, 2000.0, "g m-2 yr-1", "half point", default=600.0),
                Param("kg", 1e-3, 0.05, "m2 yr g-1", "slope", log=True, default=0.005),
                Param("rh50", 70.0, 100.0, "percent", "upper RH", default=95.0)),
        regime="productivity",
        equation="sigmoid(kg*(gpp_mean_12m - g0))*(1 - clip((rh - 10)/(rh50 - 10)))",
        references=("vanderwerf2008",), notes="test"),
    Mechanism(
        id="t_temp", name="temperature sigmoid", func=_temp_sigmoid, inputs=("tas",),
        params=(Param("t0", 270.0, 300.0, "K", "half point", default=285.0),
                Param("k", 0.05, 1.0, "K-1", "slope", log=True)),
        regime="ignition", equation="sigmoid(k*(tas - t0))", references=("archibald2009",),
        notes="test"),
    Mechanism(
        id="t_pop", name="population suppression", func=_pop_suppress, inputs=("popd",),
        params=(Param("a", 0.005, 0.1, "km2", "slope", log=True),),
        regime="human", equation="0.01 + 0.98*exp(-a*popd)", references=("li2012",), notes="test"),
    Mechanism(
        id="t_crop", name="cropland", func=_crop, inputs=("cropland",),
        params=(Param("c", 0.1, 5.0, "1", "slope"),),
        regime="human", equation="exp(-c*cropland)", references=("andela2017",), notes="test"),
    Mechanism(
        id="t_soil", name="soil wetness", func=_soil, inputs=("soil_moisture",),
        params=(Param("m", 0.2, 1.0, "1", "scale"),),
        regime="weather", equation="1 - tanh((1.75*soil_moisture/m)^2)", references=("ctem",),
        notes="test"),
    Mechanism(
        id="t_hump", name="fuel hump", func=_fuel_hump, inputs=("fuel",),
        params=(Param("x_opt", 50.0, 2000.0, "g m-2", "optimum", log=True),
                Param("sigma", 0.3, 2.0, "1", "width")),
        regime="fuel", equation="exp(-log(max(fuel, 0.001)/x_opt)^2/(2*sigma^2))",
        references=("pausas2013",), notes="test"),
    Mechanism(
        id="t_dry", name="dry days", func=_dry, inputs=("dry_days",),
        params=(Param("d0", 5.0, 25.0, "day", "half point"), Param("kd", 0.05, 2.0, "day-1", "slope")),
        regime="weather", equation="sigmoid(kd*(dry_days - d0))", references=("kelley2019",),
        notes="test"),
    Mechanism(
        id="t_vpd", name="vpd", func=_vpd, inputs=("vpd",),
        params=(Param("beta", 0.1, 5.0, "kPa-0.5", "slope"),),
        regime="weather", equation="1 - exp(-beta*sqrt(abs(vpd)))", references=("mangeon2016",),
        notes="test"),
]
MECH_IDS = [m.id for m in MECHS]


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = Registry()
    for m in MECHS:
        reg.add(m)
    return reg


DERIVED = ["pr_annual", "gpp_mean_12m", "npp_mean_12m", "dryness", "nesterov"]


def with_derived(d):
    """Drivers plus every derived catalog variable (fireform.drivers.derived)."""
    from fireform.drivers.derived import add_derived

    return add_derived(d, DERIVED)


@pytest.fixture(scope="session")
def drivers():
    """tiny_drivers (80 cells x 48 months) with the derived inputs."""
    return with_derived(tiny_drivers())
