"""Declared monotonicity and humps, checked with hypothesis over parameters and base points."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fireform.mechanisms as mechs
from fireform.drivers.catalog import catalog
from fireform.testing import contract as C

MONOTONE = sorted((m.id, n) for m in mechs.REGISTRY for n in m.shape.monotone)
HUMPS = sorted((m.id, n) for m in mechs.REGISTRY for n in m.shape.hump)

_SETTINGS = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def _draw(data, mech, name):
    unit = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(mech.params),
                              max_size=len(mech.params)), label="unit params")
    params = C.unit_to_params(mech, unit)
    cat = catalog()
    base = {
        k: data.draw(st.floats(cat[k].lo, cat[k].hi, allow_nan=False), label=k)
        for k in mech.inputs if k != name
    }
    return params, base


@pytest.mark.parametrize(("mech_id", "name"), MONOTONE, ids=[f"{a}-{b}" for a, b in MONOTONE])
@_SETTINGS
@given(data=st.data())
def test_monotone_in_declared_direction(mech_id, name, data):
    mech = mechs.get(mech_id)
    params, base = _draw(data, mech, name)
    C.check_monotone(mech, name, params, base, n=257)


@pytest.mark.parametrize(("mech_id", "name"), HUMPS, ids=[f"{a}-{b}" for a, b in HUMPS])
@_SETTINGS
@given(data=st.data())
def test_hump_rises_then_falls(mech_id, name, data):
    mech = mechs.get(mech_id)
    params, base = _draw(data, mech, name)
    C.check_hump(mech, name, params, base)


def test_there_are_humps_and_both_directions():
    assert {n for _, n in HUMPS} >= {"npp_mean_12m", "agb", "popd"}
    signs = {s for m in mechs.REGISTRY for s in m.shape.monotone.values()}
    assert signs == {1, -1}
