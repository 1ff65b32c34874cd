"""Every registered mechanism passes the contract (fireform.testing.contract)."""

from __future__ import annotations

import pytest

import fireform.mechanisms as mechs
from fireform.testing import contract as C

IDS = sorted(mechs.REGISTRY.ids())


@pytest.fixture(params=IDS)
def mech(request):
    return mechs.get(request.param)


def test_record_is_well_formed(mech):
    C.check_record(mech)


def test_references_exist_in_bib(mech):
    C.check_references(mech)


def test_finite_and_in_unit_interval_over_box_and_catalog_ranges(mech):
    C.check_bounded(mech)


def test_broadcasts_static_cells_against_dynamic_cell_months(mech):
    C.check_broadcasting(mech)


def test_equation_text_equals_function(mech):
    C.check_equation(mech)


def test_traces_under_jax_jit(mech):
    C.check_jax(mech)


def test_declared_shape_at_random_draws(mech):
    C.check_shape_random(mech, seed=1)
