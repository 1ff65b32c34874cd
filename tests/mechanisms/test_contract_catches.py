"""The contract suite fails on broken mechanisms (each check is shown to bite)."""

from __future__ import annotations

import numpy as np
import pytest

from fireform.mechanisms._base import Mechanism, Param, Shape
from fireform.testing import contract as C


def _ok(tas, *, xp=np, t0, k):
    return 1.0 / (1.0 + xp.exp(-k * (tas - t0)))


def _mech(func=_ok, *, equation="sigmoid(k * (tas - t0))", shape=None, inputs=("tas",),
          params=None, notes="test", tag="S", refs=("Archibald2009",), mech_id="good"):
    return Mechanism(
        id=mech_id, name="test", func=func, inputs=inputs,
        params=params or (Param("t0", 260.0, 310.0, "K", "midpoint"),
                          Param("k", 0.05, 1.0, "K-1", "slope", log=True)),
        regime="ignition", equation=equation, references=refs, notes=notes,
        shape=shape or Shape(monotone={"tas": 1}), tag=tag,
    )


def test_a_good_mechanism_passes_everything():
    C.run_contract(_mech())


def test_record_catches_bad_id_unknown_input_and_signature():
    with pytest.raises(C.ContractViolation, match="snake_case"):
        C.check_record(_mech(mech_id="BadId"))
    with pytest.raises(C.ContractViolation, match="not a catalog variable"):
        C.check_record(_mech(inputs=("temperature",), shape=Shape(monotone={"temperature": 1})))

    def no_xp(tas, *, t0, k):
        return tas

    with pytest.raises(C.ContractViolation, match="xp=np"):
        C.check_record(_mech(func=no_xp))
    with pytest.raises(C.ContractViolation, match="declared shape covers"):
        C.check_record(_mech(shape=Shape()))
    with pytest.raises(C.ContractViolation, match="PROPOSAL"):
        C.check_record(_mech(tag="A", notes="a guess"))


def test_references_must_be_in_the_bibliography():
    with pytest.raises(C.ContractViolation, match="NoSuch2099"):
        C.check_references(_mech(refs=("NoSuch2099",)))


def test_bounded_catches_values_above_one_and_nans():
    def too_big(tas, *, xp=np, t0, k):
        return 2.0 / (1.0 + xp.exp(-k * (tas - t0)))

    def nan_at_end(tas, *, xp=np, t0, k):
        return xp.sqrt(tas - 181.0) / xp.sqrt(159.0) * 0 + 0.5  # sqrt of a negative at tas=180

    with pytest.raises(C.ContractViolation, match=r"outside \[0, 1\]"):
        C.check_bounded(_mech(func=too_big, equation="2 * sigmoid(k * (tas - t0))"))
    with pytest.raises(C.ContractViolation, match="invalid"):
        C.check_bounded(_mech(func=nan_at_end))


def test_broadcasting_catches_code_that_assumes_1d_inputs():
    def flattens(tas, cropland, *, xp=np, t0, k):
        return (1.0 - cropland[:, 0]) / (1.0 + xp.exp(-k * (tas - t0)))  # (n,) vs (n, m)

    def drops_months(tas, cropland, *, xp=np, t0, k):
        return (1.0 - cropland) / (1.0 + xp.exp(-k * (tas[:, :1] - t0)))  # keeps month 0 only

    for f in (flattens, drops_months):
        m = _mech(func=f, inputs=("tas", "cropland"),
                  shape=Shape(monotone={"tas": 1, "cropland": -1}),
                  equation="(1 - cropland) * sigmoid(k * (tas - t0))")
        with pytest.raises(C.ContractViolation, match="broadcast"):
            C.check_broadcasting(m)


def test_equation_must_match_function_and_declare_names():
    with pytest.raises(C.ContractViolation, match="equation gives"):
        C.check_equation(_mech(equation="sigmoid(k * (tas - t0 - 1))"))
    with pytest.raises(C.ContractViolation, match="not valid"):
        C.check_equation(_mech(equation="sigmoid(k * (tas - t0)) * foo"))
    with pytest.raises(C.ContractViolation, match="not valid"):
        C.check_equation(_mech(equation="__import__('os')"))
    with pytest.raises(C.ContractViolation, match="equation uses"):
        C.check_equation(_mech(equation="sigmoid(0.5 * (tas - t0))"))


def test_jax_catches_python_branching_on_arrays():
    def branches(tas, *, xp=np, t0, k):
        if float(xp.max(tas)) > t0:  # a Python `if` on array values cannot be traced
            return 1.0 / (1.0 + xp.exp(-k * (tas - t0)))
        return 0.0 * tas

    with pytest.raises(C.ContractViolation, match="does not trace"):
        C.check_jax(_mech(func=branches))


def test_monotone_and_hump_checks_catch_wrong_declarations():
    m = _mech(shape=Shape(monotone={"tas": -1}))
    with pytest.raises(C.ContractViolation, match="declared decreasing"):
        C.check_monotone(m, "tas", {"t0": 285.0, "k": 0.2}, {})
    hump = _mech(shape=Shape(hump=("tas",)))
    with pytest.raises(C.ContractViolation, match="no interior peak"):
        C.check_hump(hump, "tas", {"t0": 285.0, "k": 0.2}, {})

    def two_peaks(tas, *, xp=np, t0, k):
        return 0.5 + 0.5 * xp.sin(k * (tas - t0)) * 0 + 0.49 * xp.cos((tas - 180.0) / 10.0)

    wavy = _mech(func=two_peaks, shape=Shape(hump=("tas",)))
    with pytest.raises(C.ContractViolation, match="not unimodal"):
        C.check_hump(wavy, "tas", {"t0": 285.0, "k": 0.2}, {})


def test_param_draws_cover_the_box_corners_and_stay_in_bounds():
    m = _mech()
    draws = C.param_draws(m, 20, seed=3)
    assert {"t0": 260.0, "k": 0.05} in draws and {"t0": 310.0, "k": 1.0} in draws
    assert {"t0": 260.0, "k": 1.0} in draws
    for d in draws:
        assert 260.0 <= d["t0"] <= 310.0 and 0.05 <= d["k"] <= 1.0
    # log parameters are sampled log-uniformly: the geometric midpoint maps from u = 0.5
    assert C.unit_to_params(m, [0.5, 0.5])["k"] == pytest.approx(np.sqrt(0.05))


def test_input_samples_hit_the_catalog_range_ends():
    m = _mech()
    s = C.input_samples(m, 64)["tas"]
    assert s.min() == 180.0 and s.max() == 340.0
